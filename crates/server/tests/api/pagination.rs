use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use serde_json::{Value, json};
use steward_store::test_support::Backend;

use super::helpers::{TestApp, spawn};
use crate::on_every_backend;

fn ext_ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["externalId"].as_str().unwrap().to_owned())
        .collect()
}

on_every_backend!(pages_cover_every_record_once_in_order, |app| {
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "big", "name": "Big"}),
    )
    .await;
    for i in 0..23 {
        app.clock.advance_ms(if i % 3 == 0 { 0 } else { 7 }); // some ties, broken by id
        app.ok_post("/resources/accounts", json!({"externalId": format!("a{i}"), "name": format!("A{i}"), "organizationId": "big"})).await;
        app.ok_post(
            "/resources/users",
            json!({"externalId": format!("u{i}"), "accountIds": [format!("a{i}")]}),
        )
        .await;
    }
    for sort in ["updatedAt", "createdAt"] {
        for limit in [1, 4, 23, 100] {
            for path in [
                format!("/resources/accounts?sortBy={sort}"),
                format!("/resources/organizations/big/accounts?sortBy={sort}"),
                format!("/resources/users?sortBy={sort}"),
                format!("/resources/organizations/big/users?sortBy={sort}"),
            ] {
                let items = app.walk(&path, limit).await;
                let ids = ext_ids(&items);
                assert_eq!(ids.len(), 23, "{path} limit {limit}");
                assert_eq!(
                    ids.iter().collect::<HashSet<_>>().len(),
                    23,
                    "{path}: repeats"
                );
                let stamps: Vec<&str> = items.iter().map(|v| v[sort].as_str().unwrap()).collect();
                assert!(
                    stamps.windows(2).all(|w| w[0] >= w[1]),
                    "{path}: newest first"
                );
            }
        }
    }
    let page = app.ok_get("/resources/accounts?limit=23").await;
    assert!(page["next"].is_null(), "exactly one page: no next");
    let (status, _) = app
        .get(&format!(
            "/resources/accounts?sortBy=updatedAt&from={}",
            app.ok_get("/resources/accounts?sortBy=createdAt&limit=1")
                .await["next"]
                .as_str()
                .unwrap()
        ))
        .await;
    assert_eq!(status, 400, "a createdAt cursor is refused for updatedAt");
});

#[derive(Clone, Debug)]
enum Op {
    Create(u8),
    Touch(u8),
    Delete(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..40).prop_map(Op::Create),
        (0u8..40).prop_map(Op::Touch),
        (0u8..40).prop_map(Op::Delete)
    ]
}

async fn apply(
    app: &TestApp,
    op: &Op,
    touched: &mut HashSet<String>,
    deleted: &mut HashSet<String>,
) {
    app.clock.advance_ms(3);
    match op {
        Op::Create(n) => {
            let id = format!("n{n}");
            let (status, _) = app
                .post(
                    "/resources/accounts",
                    json!({"externalId": id, "name": "new"}),
                )
                .await;
            assert_eq!(status, 200);
            touched.insert(id);
        }
        Op::Touch(n) => {
            let id = format!("a{n}");
            if app
                .put(
                    &format!("/resources/accounts/{id}"),
                    json!({"traits": {"touch": app.clock_now()}}),
                )
                .await
                .0
                == 200
            {
                touched.insert(id);
            }
        }
        Op::Delete(n) => {
            let id = format!("a{n}");
            if app.delete(&format!("/resources/accounts/{id}")).await.0 == 200 {
                deleted.insert(id);
            }
        }
    }
}

impl TestApp {
    fn clock_now(&self) -> i64 {
        use steward_engine::Clock;
        self.clock.now().0
    }
}

/// Paging while others write: with sortBy=createdAt every record that lived through the walk
/// comes exactly once; with sortBy=updatedAt nothing comes twice and every record that was not
/// modified comes exactly once (a modified record moves to the front, as in Vitally: use
/// createdAt for complete exports).
async fn walk_while_writing(app: &TestApp, sort: &str, limit: usize, ops: &[Op]) {
    let mut touched = HashSet::new();
    let mut deleted = HashSet::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut next: Option<String> = None;
    let mut ops = ops.iter();
    loop {
        let url = match &next {
            Some(c) => format!("/resources/accounts?sortBy={sort}&limit={limit}&from={c}"),
            None => format!("/resources/accounts?sortBy={sort}&limit={limit}"),
        };
        let page = app.ok_get(&url).await;
        for id in ext_ids(page["results"].as_array().unwrap()) {
            *seen.entry(id).or_default() += 1;
        }
        for op in ops.by_ref().take(2) {
            apply(app, op, &mut touched, &mut deleted).await;
        }
        match page["next"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "{sort}: a record came twice: {seen:?}"
    );
    for i in 0..30 {
        let id = format!("a{i}");
        let must_appear = !deleted.contains(&id) && (sort == "createdAt" || !touched.contains(&id));
        if must_appear {
            assert_eq!(seen.get(&id), Some(&1), "{sort}: {id} skipped");
        }
    }
}

async fn seeded_app(backend: Backend) -> TestApp {
    let app = spawn(backend).await;
    for i in 0..30 {
        app.clock.advance_ms(if i % 4 == 0 { 0 } else { 5 });
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": format!("a{i}"), "name": format!("A{i}")}),
        )
        .await;
    }
    app
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn paging_while_writing_never_repeats_or_skips(ops in proptest::collection::vec(op(), 0..30), limit in 1usize..9, by_created in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let app = seeded_app(Backend::Sqlite).await;
            walk_while_writing(&app, if by_created { "createdAt" } else { "updatedAt" }, limit, &ops).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_while_writing_fixed_cases() {
    for backend in steward_store::test_support::backends() {
        let ops = [
            Op::Touch(29),
            Op::Delete(28),
            Op::Create(1),
            Op::Touch(0),
            Op::Touch(3),
            Op::Delete(5),
            Op::Create(2),
            Op::Touch(10),
        ];
        walk_while_writing(&seeded_app(backend).await, "createdAt", 3, &ops).await;
        walk_while_writing(&seeded_app(backend).await, "updatedAt", 4, &ops).await;
    }
}
