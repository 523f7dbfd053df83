//! Durability: what SQLite acknowledged is there after reopening the directory.

use serde_json::json;
use steward_engine::Engine;
use steward_engine::ids::ApiKeyId;
use steward_engine::page::{PageRequest, SortBy};
use steward_store::Store;
use steward_store::rows::{ApiKeyRow, KeyRole};
use steward_store::test_support::{Backend, backends};
use steward_store::write::Write;

use crate::support::*;

#[tokio::test]
async fn sqlite_directory_survives_reopen() {
    // Only SQLite has a directory to reopen; the loop keeps the suite's shape.
    for backend in backends().into_iter().filter(|b| *b == Backend::Sqlite) {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Engine::new();
        let (ws, key, before, migrations) = {
            let s = Store::open_sqlite_dir(dir.path()).await.unwrap();
            assert_eq!(s.backend(), "sqlite");
            let ws = s.create_workspace("acme", T0).await.unwrap().id;
            let key = ApiKeyRow {
                id: ApiKeyId::generate(),
                workspace_id: ws,
                key_hash: vec![1, 2, 3],
                prefix: "sk_".into(),
                label: None,
                role: KeyRole::Admin,
                created_at: T0,
            };
            s.create_api_key(&key).await.unwrap();
            ok(
                &s,
                &mut e,
                T0,
                ws,
                upsert_org("o", json!({"deep": {"a": [1, 2.5, "x"]}})),
            )
            .await;
            ok(&s, &mut e, T0, ws, upsert_account("a", Some("o"))).await;
            ok(&s, &mut e, T0, ws, upsert_user("u", &["a"], &["o"])).await;
            let admin = Write::CreateAdmin {
                name: name("Ann"),
                email: email("ann@x.io"),
                license_status: "active".into(),
            };
            apply(&s, T0, ws, admin).await.unwrap();
            let before = (
                all_orgs(&s, ws).await,
                all_accounts(&s, ws).await,
                all_users(&s, ws).await,
            );
            let migrations = s.migrations_applied().await.unwrap();
            s.close().await;
            (ws, key, before, migrations)
        };
        let s = Store::open_sqlite_dir(dir.path()).await.unwrap();
        assert_eq!(
            s.migrations_applied().await.unwrap(),
            migrations,
            "{backend:?}: no re-run"
        );
        assert_eq!(s.find_workspace("acme").await.unwrap().unwrap().id, ws);
        assert_eq!(s.find_api_key(&[1, 2, 3]).await.unwrap(), Some(key));
        let after = (
            all_orgs(&s, ws).await,
            all_accounts(&s, ws).await,
            all_users(&s, ws).await,
        );
        assert_eq!(after, before);
        let admins = s
            .list_admins(ws, &PageRequest::first(SortBy::UpdatedAt, 10))
            .await
            .unwrap();
        assert_eq!(admins.len(), 1);
        assert_engine_matches_store(&s, ws, &e, "reopened").await;
        s.close().await;
    }
}
