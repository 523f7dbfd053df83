//! Keyset pagination of every list, without concurrent writes.

use serde_json::json;
use steward_engine::Engine;
use steward_engine::page::{PageKey, PageRequest, SortBy};
use steward_engine::time::Millis;
use steward_store::rows::Listed;
use steward_store::test_support::backends;
use steward_store::write::Write;

use crate::support::*;

fn at(ms: i64) -> Millis {
    Millis(T0.0 + ms)
}

/// Walks `$method` with every limit in 1..=7 and both sorts; each walk must return exactly
/// the records of `$expected`, in descending (sort value, id) order.
macro_rules! check_walks {
    ($store:expr, $ws:expr, $method:ident, $expected:expr, $ctx:expr) => {{
        let expected = &$expected;
        for sort in [SortBy::CreatedAt, SortBy::UpdatedAt] {
            let mut want: Vec<PageKey> =
                expected.iter().map(|r| Listed::page_key(r, sort)).collect();
            want.sort_by(|a, b| b.cmp(a));
            for limit in 1..=7 {
                let mut page = PageRequest::first(sort, limit);
                let mut got = Vec::new();
                let mut pages = 0;
                loop {
                    let rows = $store.$method($ws, &page).await.unwrap();
                    assert!(rows.len() <= limit, "{}: page longer than the limit", $ctx);
                    pages += 1;
                    assert!(pages <= want.len() + 2, "{}: the walk does not end", $ctx);
                    let Some(last) = rows.last() else { break };
                    page.after = Some(Listed::page_key(last, sort));
                    got.extend(rows.iter().map(|r| Listed::page_key(r, sort)));
                }
                assert_eq!(
                    got,
                    want,
                    "{}: {} {sort:?} limit {limit}",
                    $ctx,
                    stringify!($method)
                );
            }
        }
    }};
}

#[tokio::test]
async fn every_list_walks_every_record_once_in_order() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        // Several records share each millisecond, so ties are broken by id; some are updated
        // later so that the two sorts differ.
        for i in 0..9i64 {
            let now = at(i / 3);
            ok(s, &mut e, now, ws, upsert_org(&format!("o{i}"), json!({}))).await;
            ok(s, &mut e, now, ws, upsert_account(&format!("a{i}"), None)).await;
            ok(s, &mut e, now, ws, upsert_user(&format!("u{i}"), &[], &[])).await;
            let admin = Write::CreateAdmin {
                name: name("A"),
                email: email(&format!("admin{i}@x.io")),
                license_status: "active".into(),
            };
            apply(s, now, ws, admin).await.unwrap();
        }
        for i in [1i64, 4, 8, 5] {
            let now = at(10 + i % 2);
            ok(
                s,
                &mut e,
                now,
                ws,
                upsert_org(&format!("o{i}"), json!({"v": i})),
            )
            .await;
            ok(
                s,
                &mut e,
                now,
                ws,
                upsert_account(&format!("a{i}"), Some("o0")),
            )
            .await;
            ok(
                s,
                &mut e,
                now,
                ws,
                upsert_user(&format!("u{i}"), &[&format!("a{i}")], &[]),
            )
            .await;
        }
        let ctx = format!("{backend:?}");
        let orgs = all_orgs(s, ws).await;
        let accounts = all_accounts(s, ws).await;
        let users = all_users(s, ws).await;
        assert_eq!((orgs.len(), accounts.len(), users.len()), (9, 9, 9));
        let admins = s
            .list_admins(ws, &PageRequest::first(SortBy::CreatedAt, 100))
            .await
            .unwrap();
        assert_eq!(admins.len(), 9);
        check_walks!(s, ws, list_organizations, orgs, ctx);
        check_walks!(s, ws, list_accounts, accounts, ctx);
        check_walks!(s, ws, list_users, users, ctx);
        check_walks!(s, ws, list_admins, admins, ctx);

        // A cursor that names no record still works: it is a position, not a record.
        let after = PageKey {
            at: at(0),
            id: uuid::Uuid::max(),
        };
        let page = PageRequest {
            sort: SortBy::CreatedAt,
            limit: 100,
            after: Some(after),
        };
        assert_eq!(
            s.list_users(ws, &page).await.unwrap().len(),
            3,
            "{backend:?}"
        );
    }
}
