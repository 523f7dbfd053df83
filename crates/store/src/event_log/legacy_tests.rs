//! A database from before chunks (migration 6, one row per event) opens with its events moved
//! into chunks, listed and replayed as before.

use steward_engine::ids::{UserId, WorkspaceId};
use steward_engine::time::Millis;
use uuid::Uuid;

use crate::migrations::{Dialect, migrator_through};
use crate::{EventOwner, Store};

#[tokio::test]
async fn rows_of_the_per_event_log_move_into_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("steward.db");
    let (ws, user) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        migrator_through(Dialect::Sqlite, 6)
            .run(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES (?1, 'acme', 0)")
            .bind(ws)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO users (id, workspace_id, external_id, name, traits, unsubscribed, created_at, updated_at) \
             VALUES (?1, ?2, 'u', 'U', '{}', 0, 0, 0)",
        )
        .bind(user)
        .bind(ws)
        .execute(&pool)
        .await
        .unwrap();
        for (n, at) in [(1, 3_000), (2, 1_000), (3, 2_000)] {
            sqlx::query(
                "INSERT INTO events (id, workspace_id, kind, name, user_id, occurred_at, received_at, properties) \
                 VALUES (?1, ?2, 'track', ?3, ?4, ?5, 5000, ?6)",
            )
            .bind(Uuid::now_v7())
            .bind(ws)
            .bind(format!("E{n}"))
            .bind(user)
            .bind(at)
            .bind(format!(r#"{{"n":{n}}}"#))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
    let events = store
        .list_events(WorkspaceId(ws), EventOwner::User(UserId(user)), 10, None)
        .await
        .unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["E1", "E3", "E2"]);
    assert_eq!(events[0].properties.to_map()["n"], 1);
    assert_eq!(events[0].received_at, Millis(5_000));
    let mut replayed = 0;
    store
        .for_each_event(&mut |_, _| replayed += 1)
        .await
        .unwrap();
    assert_eq!(replayed, 3);
}
