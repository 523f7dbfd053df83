//! Resident records (every organization, account and user kept in memory, PostgreSQL's
//! default) answer exactly as the database does, after every batch of a random workload that
//! creates, moves, detaches and deletes records, some of them only through ingestion.

use std::collections::{BTreeMap, BTreeSet};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::json;
use steward_engine::Engine;
use steward_engine::ids::WorkspaceId;
use steward_engine::time::Millis;
use steward_store::Store;
use steward_store::test_support::backends;
use steward_store::write::{
    AccountFields, EventKind, EventWrite, IngestAction, IngestOp, Properties, Write, WriteError,
};
use uuid::Uuid;

use crate::model::{ACCOUNTS, Batch, ORGS, USERS, batch};
use crate::support::*;

fn workload(seed: u8, batches: usize) -> Vec<Batch> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    proptest::collection::vec(batch(4), batches)
        .new_tree(&mut runner)
        .unwrap()
        .current()
}

/// An event naming a user and an account by external id: ingestion creates them if missing,
/// and the batch answers with no row for either.
fn track(n: usize) -> Write {
    Write::Ingest(vec![IngestOp {
        message_id: format!("m:{n}").into(),
        actions: vec![IngestAction::Event(EventWrite {
            kind: EventKind::Track,
            name: "Opened".to_owned(),
            user: Some(ext(&format!("u{}", n % (usize::from(USERS) + 2)))),
            account: Some(ext(&format!("a{}", n % (usize::from(ACCOUNTS) + 2)))),
            organization: None,
            at: Millis(T0.0 + n as i64),
            properties: Properties::from_map(json!({}).as_object().unwrap()),
        })],
    }])
}

/// Every external id the workload can use, including the ones only ingestion makes.
fn external_ids() -> Vec<String> {
    let mut out = Vec::new();
    out.extend((0..ORGS).map(|i| format!("o{i}")));
    out.extend((0..ACCOUNTS + 2).map(|i| format!("a{i}")));
    out.extend((0..USERS + 2).map(|i| format!("u{i}")));
    out
}

/// Asserts that `resident` (records in memory) answers every by-id and by-reference read as
/// `database` (the same database, nothing in memory) does.
async fn assert_same_reads(
    resident: &Store,
    database: &Store,
    ws: WorkspaceId,
    seen: &mut BTreeSet<Uuid>,
    context: &str,
) {
    let ids = ids(database, ws).await;
    seen.extend(ids.orgs.iter().map(|i| i.0));
    seen.extend(ids.accounts.iter().map(|i| i.0));
    seen.extend(ids.users.iter().map(|i| i.0));
    // Every id ever seen, deleted ones included, in one order.
    let all: Vec<Uuid> = seen.iter().copied().collect();
    assert_eq!(
        resident.organizations_by_ids(ws, &all).await.unwrap(),
        database.organizations_by_ids(ws, &all).await.unwrap(),
        "{context}: organizations by id"
    );
    assert_eq!(
        resident.accounts_by_ids(ws, &all).await.unwrap(),
        database.accounts_by_ids(ws, &all).await.unwrap(),
        "{context}: accounts by id"
    );
    assert_eq!(
        resident.users_by_ids(ws, &all).await.unwrap(),
        database.users_by_ids(ws, &all).await.unwrap(),
        "{context}: users by id"
    );
    let refs = external_ids()
        .into_iter()
        .chain(all.iter().map(Uuid::to_string));
    for r in refs {
        let r = rref(&r);
        assert_eq!(
            resident.find_organization(ws, &r).await.unwrap(),
            database.find_organization(ws, &r).await.unwrap(),
            "{context}: organization {r:?}"
        );
        assert_eq!(
            resident.find_account(ws, &r).await.unwrap(),
            database.find_account(ws, &r).await.unwrap(),
            "{context}: account {r:?}"
        );
        assert_eq!(
            resident.find_user(ws, &r).await.unwrap(),
            database.find_user(ws, &r).await.unwrap(),
            "{context}: user {r:?}"
        );
    }
}

/// Every record by external id, without Steward's ids (which differ between two stores):
/// what the writes made, for comparing two runs of one workload.
async fn snapshot(store: &Store, ws: WorkspaceId) -> BTreeMap<String, String> {
    let orgs = all_orgs(store, ws).await;
    let org_external: BTreeMap<Uuid, String> = orgs
        .iter()
        .map(|o| (o.id.0, o.external_id.clone()))
        .collect();
    let mut out = BTreeMap::new();
    for o in orgs {
        let shown = format!(
            "{} {:?} {:?} {:?}",
            o.name, o.traits, o.created_at, o.updated_at
        );
        out.insert(format!("org {}", o.external_id), shown);
    }
    for a in all_accounts(store, ws).await {
        let org = a.organization_id.map(|o| org_external[&o.0].clone());
        let shown = format!(
            "{} {:?} {org:?} {:?} {:?}",
            a.name, a.traits, a.created_at, a.updated_at
        );
        out.insert(format!("account {}", a.external_id), shown);
    }
    for u in all_users(store, ws).await {
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?} {} {:?} {:?}",
            u.name,
            u.email,
            u.avatar,
            u.traits,
            u.joined_at,
            u.unsubscribed,
            u.created_at,
            u.updated_at
        );
        out.insert(format!("user {}", u.external_id), shown);
    }
    out
}

/// Applies a batch; only references to records that do not exist may be refused.
async fn apply_writes(store: &Store, now: Millis, writes: &[(WorkspaceId, Write)]) {
    let results = store.apply_batch(now, writes).await.unwrap();
    for (result, (_, write)) in results.iter().zip(writes) {
        match result {
            Ok(_) | Err(WriteError::NotFound(_)) => {}
            Err(e) => panic!("{write:?} failed: {e}"),
        }
    }
}

/// Writes read the records they change from memory too (the committed record with what the
/// batch staged over it): they must write what writes reading the database write. Checked
/// against a second store doing the same with nothing in memory.
#[tokio::test]
async fn resident_records_answer_as_the_database_after_every_batch() {
    for backend in backends() {
        for seed in [3u8, 4] {
            let (t, ws) = setup(backend).await;
            // Records written before the load come from the load.
            apply(&t.store, T0, ws, upsert_org("o0", json!({"tier": "gold"})))
                .await
                .unwrap();
            let store = t.store.clone().with_resident_records(true);
            store.load_engine(&mut Engine::new()).await.unwrap();
            let database = t.reopen().await.with_resident_records(false);
            let (plain, plain_ws) = setup(backend).await;
            let plain_store = plain.store.clone().with_resident_records(false);
            apply(
                &plain_store,
                T0,
                plain_ws,
                upsert_org("o0", json!({"tier": "gold"})),
            )
            .await
            .unwrap();
            let mut seen = BTreeSet::new();
            let mut clock = T0;
            for (n, (tick, ops)) in workload(seed, 30).iter().enumerate() {
                clock.0 += i64::from(*tick);
                let mut writes: Vec<(WorkspaceId, Write)> =
                    ops.iter().map(|op| (ws, op.write())).collect();
                if n % 3 == 0 {
                    writes.insert(n % writes.len(), (ws, track(n)));
                }
                apply_writes(&store, clock, &writes).await;
                let plain_writes: Vec<(WorkspaceId, Write)> =
                    writes.iter().map(|(_, w)| (plain_ws, w.clone())).collect();
                apply_writes(&plain_store, clock, &plain_writes).await;
                let context = format!("{backend:?} seed {seed} batch {n}: {writes:?}");
                assert_same_reads(&store, &database, ws, &mut seen, &context).await;
                assert_eq!(
                    snapshot(&database, ws).await,
                    snapshot(&plain_store, plain_ws).await,
                    "{context}: what the writes made, with and without resident records"
                );
            }
            assert!(seen.len() > 10, "the workload made records");
            let [orgs, accounts, users] = store.resident_heap_bytes().unwrap();
            assert!(orgs > 0 && accounts > 0 && users > 0);
        }
    }
}

/// A write reading from memory sees what earlier writes of its batch did to records they did
/// not answer with: accounts a deleted organization detached, records ingestion created.
#[tokio::test]
async fn writes_in_a_batch_see_what_earlier_writes_did_beside_their_answer() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let store = t.store.clone().with_resident_records(true);
        store.load_engine(&mut Engine::new()).await.unwrap();
        apply(&store, T0, ws, upsert_org("o", json!({})))
            .await
            .unwrap();
        apply(&store, T0, ws, upsert_account("a", Some("o")))
            .await
            .unwrap();
        let renamed = |external: &str| Write::UpsertAccount {
            external_id: ext(external),
            fields: AccountFields {
                name: Some(name("Renamed")),
                ..AccountFields::default()
            },
        };
        let batch = [
            (
                ws,
                Write::DeleteOrganization {
                    target: rref("o"),
                    cascade: false,
                },
            ),
            (ws, renamed("a")),
            (ws, track(3)),
            (ws, renamed("a3")),
        ];
        let results = store.apply_batch(Millis(T0.0 + 1), &batch).await.unwrap();
        let outcomes: Vec<_> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{backend:?}: {e}")))
            .collect();
        let detached = as_account(&outcomes[1].written);
        assert_eq!(detached.organization_id, None, "{backend:?}");
        let ingested = as_account(&outcomes[3].written);
        assert!(
            !outcomes[3].created,
            "{backend:?}: a3 was made by ingestion"
        );
        let database = t.reopen().await.with_resident_records(false);
        for (external, row) in [("a", detached), ("a3", ingested)] {
            assert_eq!(
                database.find_account(ws, &rref(external)).await.unwrap(),
                Some(row.clone()),
                "{backend:?}"
            );
            assert_eq!(
                store.find_account(ws, &rref(external)).await.unwrap(),
                Some(row),
                "{backend:?}"
            );
        }
    }
}
