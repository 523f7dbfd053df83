//! Storage of lifecycle state and status history, written once for both backends like
//! `ops.rs` (expanded right after `backend_ops!` in `sqlite.rs` and `postgres.rs`).

macro_rules! lifecycle_ops {
    () => {
        use steward_engine::derive::{DerivedChange, LifecycleRecord};


        /// Persists what the engine reported: sticky state upserted or forgotten, status
        /// transitions appended to the history. Derived values themselves are not stored.
        async fn apply_derived(conn: &mut Conn, ws: WorkspaceId, now: Millis, changes: &[DerivedChange]) -> std::result::Result<Outcome, WriteError> {
            for change in changes {
                match change {
                    DerivedChange::Persist(state) => {
                        let text = serde_json::to_string(state).map_err(|e| WriteError::Conflict(e.to_string()))?;
                        sqlx::query(
                            "INSERT INTO lifecycle_state (workspace_id, record_id, state) VALUES ($1, $2, $3) \
                             ON CONFLICT (workspace_id, record_id) DO UPDATE SET state = excluded.state",
                        )
                        .bind(ws.0).bind(state.record.uuid()).bind(text)
                        .execute(&mut *conn).await?;
                    }
                    DerivedChange::Forget { record } => {
                        sqlx::query("DELETE FROM lifecycle_state WHERE workspace_id = $1 AND record_id = $2")
                            .bind(ws.0).bind(record.uuid()).execute(&mut *conn).await?;
                    }
                    DerivedChange::Status { record, from, to, at } => {
                        sqlx::query(
                            "INSERT INTO lifecycle_history (workspace_id, record_id, from_status, to_status, at, recorded_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(ws.0).bind(record.uuid()).bind(from.as_str()).bind(to.as_str())
                        .bind(at.0).bind(now.0)
                        .execute(&mut *conn).await?;
                    }
                    DerivedChange::Value { .. } => {}
                }
            }
            Ok(Outcome { written: Written::Config, created: false, changes: Vec::new(), events: Vec::new() })
        }

        /// [`apply_derived`] inside an open batch (see `begin_batch`).
        pub(crate) async fn pending_derived(conn: &mut Conn, ws: WorkspaceId, now: Millis, changes: &[DerivedChange]) -> Result<()> {
            apply_derived(conn, ws, now, changes).await.map(|_| ()).map_err(|e| match e {
                WriteError::Database(e) => StoreError::from(e),
                other => StoreError::Corrupt(format!("lifecycle state: {other}")),
            })
        }

        /// Every persisted lifecycle state, for the engine at start-up.
        pub(crate) async fn lifecycle_states(pool: &Pool) -> Result<Vec<(WorkspaceId, LifecycleRecord)>> {
            let rows = sqlx::query("SELECT workspace_id, state FROM lifecycle_state").fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let text: String = r.try_get("state")?;
                    let state = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("lifecycle state: {e}")))?;
                    Ok((WorkspaceId(r.try_get("workspace_id")?), state))
                })
                .collect()
        }

        /// A record's status transitions, oldest first: `(from, to, at)`.
        pub(crate) async fn status_history(pool: &Pool, ws: WorkspaceId, record: Uuid) -> Result<Vec<(String, String, Millis)>> {
            let rows = sqlx::query(
                "SELECT from_status, to_status, at FROM lifecycle_history WHERE workspace_id = $1 AND record_id = $2 ORDER BY at, recorded_at",
            )
            .bind(ws.0).bind(record).fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok((r.try_get("from_status")?, r.try_get("to_status")?, Millis(r.try_get("at")?))))
                .collect()
        }
    };
}

pub(crate) use lifecycle_ops;
