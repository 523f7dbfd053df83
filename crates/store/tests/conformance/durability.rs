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

/// A pending batch: the writes and the derived state added to it commit together, or not at
/// all (the server's writer stores status history this way).
#[tokio::test]
async fn a_pending_batch_commits_derived_state_with_its_writes() {
    use steward_engine::derive::{DerivedChange, LifecycleRecord, RecordRef, Status};
    use steward_engine::ids::WorkspaceId;
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let transition = |id| {
            vec![
                DerivedChange::Status {
                    record: RecordRef::Account(id),
                    from: Status::Subscribed,
                    to: Status::Churned,
                    at: T0,
                },
                DerivedChange::Persist(LifecycleRecord {
                    record: RecordRef::Account(id),
                    status: Status::Churned,
                    churned_since: Some(T0),
                    churned_at: Some(T0),
                    deactivated_at: None,
                    mrr: Some(10.0),
                }),
            ]
        };
        // Dropped without a commit: neither the write nor the history is there.
        {
            let (mut pending, results) = s
                .begin_batch(T0, &[(ws, upsert_account("a", None))])
                .await
                .unwrap();
            let id = as_account(&results[0].as_ref().unwrap().written).id;
            let seen = pending
                .record(ws, RecordRef::Account(id))
                .await
                .unwrap()
                .expect("the batch sees its own write");
            assert_eq!(seen.name, "a");
            pending.derived(ws, T0, &transition(id)).await.unwrap();
        }
        assert!(all_accounts(s, ws).await.is_empty(), "{backend:?}");
        let ours = |states: Vec<(WorkspaceId, LifecycleRecord)>| -> Vec<LifecycleRecord> {
            states
                .into_iter()
                .filter(|(w, _)| *w == ws)
                .map(|(_, r)| r)
                .collect()
        };
        assert!(ours(s.lifecycle_states().await.unwrap()).is_empty());
        // Committed: both.
        let (mut pending, results) = s
            .begin_batch(T0, &[(ws, upsert_account("a", None))])
            .await
            .unwrap();
        let id = as_account(&results[0].as_ref().unwrap().written).id;
        pending.derived(ws, T0, &transition(id)).await.unwrap();
        pending.commit().await.unwrap();
        assert_eq!(all_accounts(s, ws).await.len(), 1);
        let history = s.status_history(ws, id.0).await.unwrap();
        assert_eq!(history.len(), 1, "{backend:?}");
        let states = ours(s.lifecycle_states().await.unwrap());
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].mrr, Some(10.0));
    }
}

/// On SQLite the write connection does not sync inside `COMMIT`: every batch is synced after
/// it, acknowledged only then, and reads wait for it (see `durable.rs`).
#[tokio::test]
async fn sqlite_commits_are_synced_before_they_count() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let ws = s.create_workspace("acme", T0).await.unwrap().id;
    let mut e = Engine::new();
    let before = s.wal_syncs();
    ok(&s, &mut e, T0, ws, upsert_org("o", json!({}))).await;
    assert!(s.wal_syncs() > before, "an applied batch was synced");

    let before = s.wal_syncs();
    let (pending, results) = s
        .begin_batch(T0, &[(ws, upsert_account("a", Some("o")))])
        .await
        .unwrap();
    assert!(results[0].is_ok());
    let durable = pending.commit_visible().await.unwrap();
    // A read answers once what it saw is durable.
    let found = s.find_account(ws, &rref("a")).await.unwrap();
    assert!(found.is_some());
    assert!(s.wal_syncs() > before, "the read waited for the sync");
    durable.wait().await;

    // What the server's engine shows of a commit waits on its mark.
    let mark = s.commit_mark();
    let (pending, _) = s
        .begin_batch(T0, &[(ws, upsert_account("b", Some("o")))])
        .await
        .unwrap();
    let before = s.wal_syncs();
    let durable = pending.commit_visible().await.unwrap();
    let after = s.commit_mark();
    assert!(after > mark, "a commit moves the mark");
    s.durable_through(after).await;
    assert!(
        s.wal_syncs() > before,
        "the wait ended with the commit's sync"
    );
    durable.wait().await;
    s.close().await;
}

/// Where commits are durable when they end (PostgreSQL), there is nothing to wait for.
#[tokio::test]
async fn postgres_commits_need_no_mark() {
    for backend in backends().into_iter().filter(|b| *b == Backend::Postgres) {
        let (t, ws) = setup(backend).await;
        let mut e = Engine::new();
        ok(&t.store, &mut e, T0, ws, upsert_org("o", json!({}))).await;
        assert_eq!(t.store.commit_mark(), 0);
        t.store.durable_through(0).await;
    }
}

#[tokio::test]
async fn backups_copy_the_embedded_database_and_postgres_points_to_pg_dump() {
    for backend in backends() {
        let t = steward_store::test_support::fresh(backend).await;
        let s = &t.store;
        let ws = s.create_workspace("acme", T0).await.unwrap().id;
        let mut e = Engine::new();
        ok(s, &mut e, T0, ws, upsert_org("o", json!({"tier": "gold"}))).await;
        let copy = tempfile::tempdir().unwrap();
        let file = copy.path().join("steward.db");
        match backend {
            Backend::Sqlite => {
                s.backup_into(&file).await.unwrap();
                // The copy is a database Steward opens, with the same records; a second
                // backup never overwrites it.
                assert!(s.backup_into(&file).await.is_err());
                let restored = Store::open_sqlite_dir(copy.path()).await.unwrap();
                assert_eq!(all_orgs(&restored, ws).await, all_orgs(s, ws).await);
                assert_eq!(restored.list_workspaces().await.unwrap().len(), 1);
                restored.close().await;
            }
            Backend::Postgres => {
                let err = s.backup_into(&file).await.unwrap_err();
                assert!(err.to_string().contains("pg_dump"), "{err}");
                assert!(!file.exists());
            }
        }
    }
}
