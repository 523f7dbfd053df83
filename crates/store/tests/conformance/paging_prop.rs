//! Paging while others write: keyset pages never repeat a record, and never skip one that
//! stayed put (for `createdAt`: existed for the whole walk; for `updatedAt`: also unmodified).

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use steward_engine::Engine;
use steward_engine::ids::WorkspaceId;
use steward_engine::page::{PageKey, PageRequest, SortBy};
use steward_engine::time::Millis;
use steward_store::Store;
use steward_store::rows::Listed;
use steward_store::test_support::{Backend, backends};
use uuid::Uuid;

use crate::model::{Batch, apply_batch, batch};
use crate::support::*;

#[derive(Clone, Copy, Debug)]
enum List {
    Users,
    Accounts,
}

#[derive(Clone, Debug)]
struct Scenario {
    list: List,
    sort: SortBy,
    limit: usize,
    /// Committed before the walk starts.
    setup: Vec<Batch>,
    /// One batch is committed after each page.
    during: Vec<Batch>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop_oneof![Just(List::Users), Just(List::Accounts)],
        prop_oneof![Just(SortBy::CreatedAt), Just(SortBy::UpdatedAt)],
        1..5usize,
        proptest::collection::vec(batch(5), 6..14),
        proptest::collection::vec(batch(3), 0..20),
    )
        .prop_map(|(list, sort, limit, setup, during)| Scenario {
            list,
            sort,
            limit,
            setup,
            during,
        })
}

async fn page(store: &Store, ws: WorkspaceId, list: List, req: &PageRequest) -> Vec<PageKey> {
    match list {
        List::Users => store
            .list_users(ws, req)
            .await
            .unwrap()
            .iter()
            .map(|r| r.page_key(req.sort))
            .collect(),
        List::Accounts => store
            .list_accounts(ws, req)
            .await
            .unwrap()
            .iter()
            .map(|r| r.page_key(req.sort))
            .collect(),
    }
}

/// id -> updated_at of every record of the list.
async fn snapshot(store: &Store, ws: WorkspaceId, list: List) -> HashMap<Uuid, Millis> {
    match list {
        List::Users => all_users(store, ws)
            .await
            .into_iter()
            .map(|r| (r.id.0, r.updated_at))
            .collect(),
        List::Accounts => all_accounts(store, ws)
            .await
            .into_iter()
            .map(|r| (r.id.0, r.updated_at))
            .collect(),
    }
}

async fn run(backend: Backend, sc: &Scenario) {
    let (t, ws) = setup(backend).await;
    let s = &t.store;
    let mut engine = Engine::new();
    let mut clock = T0;
    for b in &sc.setup {
        apply_batch(s, &mut engine, ws, &mut clock, b).await;
    }
    let before = snapshot(s, ws, sc.list).await;

    let mut req = PageRequest::first(sc.sort, sc.limit);
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut previous: Option<PageKey> = None;
    let mut during = sc.during.iter();
    let mut pages = 0;
    loop {
        let keys = page(s, ws, sc.list, &req).await;
        assert!(keys.len() <= sc.limit);
        pages += 1;
        assert!(pages < 1000, "the walk does not end");
        for key in &keys {
            assert!(
                seen.insert(key.id),
                "{backend:?}: {:?} returned twice",
                key.id
            );
            if let Some(p) = previous {
                assert!(*key < p, "{backend:?}: keys must strictly descend");
            }
            previous = Some(*key);
        }
        let Some(last) = keys.last() else { break };
        req.after = Some(*last);
        if let Some(b) = during.next() {
            apply_batch(s, &mut engine, ws, &mut clock, b).await;
        }
    }
    let after = snapshot(s, ws, sc.list).await;

    for (id, updated_before) in &before {
        let Some(updated_after) = after.get(id) else {
            continue; // deleted during the walk
        };
        let must_appear = match sc.sort {
            SortBy::CreatedAt => true,
            SortBy::UpdatedAt => updated_before == updated_after,
        };
        if must_appear {
            assert!(
                seen.contains(id),
                "{backend:?}: {id} stayed put but was skipped"
            );
        }
    }
    assert_engine_matches_store(s, ws, &engine, &format!("{backend:?} after the walk")).await;
    s.close().await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(Config { cases: 24, max_shrink_iters: 200, ..Config::default() })]

    #[test]
    fn paging_under_concurrent_writes_sqlite(sc in scenario()) {
        runtime().block_on(run(Backend::Sqlite, &sc));
    }
}

/// The same walk on every backend (PostgreSQL included) with a few fixed-seed scenarios.
#[test]
fn paging_under_concurrent_writes_fixed_seeds() {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    // Every (list, sort) pair, with random workloads.
    let scenarios: Vec<Scenario> = (0..4)
        .map(|i| Scenario {
            list: if i % 2 == 0 {
                List::Users
            } else {
                List::Accounts
            },
            sort: if i < 2 {
                SortBy::CreatedAt
            } else {
                SortBy::UpdatedAt
            },
            ..scenario().new_tree(&mut runner).unwrap().current()
        })
        .collect();
    let rt = runtime();
    for backend in backends() {
        for sc in &scenarios {
            rt.block_on(run(backend, sc));
        }
    }
}
