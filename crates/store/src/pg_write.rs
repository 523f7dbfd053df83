//! The statements of event ingestion on PostgreSQL: one statement per step whatever the row
//! count, with every column bound as one array (`UNNEST` / `= ANY`), so a request of hundreds
//! of events costs a handful of round trips. `sqlite_write.rs` has the same functions for
//! SQLite.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, PgConnection, Row as _};
use steward_engine::ids::WorkspaceId;
use uuid::Uuid;

use crate::bench::BenchValue;
use crate::event_log::index::Run;
use crate::write::RecordedEvent;

type SqlResult<T> = std::result::Result<T, sqlx::Error>;

/// `(external id -> (id, parent))` of the given external ids in `table` (a fixed table
/// name); `parent` is a fixed column (an account's `organization_id`) or `NULL`.
pub(crate) async fn ids_by_external(
    conn: &mut PgConnection,
    table: &'static str,
    parent: &'static str,
    ws: WorkspaceId,
    external_ids: &[&str],
) -> SqlResult<HashMap<String, (Uuid, Option<Uuid>)>> {
    let sql = format!(
        "SELECT external_id, id, {parent}::uuid FROM {table} WHERE workspace_id = $1 AND external_id = ANY($2)"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(ws.0)
        .bind(external_ids)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let id = (r.try_get::<Uuid, _>(1)?, r.try_get::<Option<Uuid>, _>(2)?);
            Ok((r.try_get::<String, _>(0)?, id))
        })
        .collect()
}

/// Each user's most recently linked account (users with none are left out).
pub(crate) async fn latest_accounts(
    conn: &mut PgConnection,
    users: &[Uuid],
) -> SqlResult<HashMap<Uuid, Uuid>> {
    let rows = sqlx::query(
        "SELECT DISTINCT ON (user_id) user_id, account_id FROM account_users \
         WHERE user_id = ANY($1) ORDER BY user_id, position DESC",
    )
    .bind(users)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<Uuid, _>(0)?, r.try_get::<Uuid, _>(1)?)))
        .collect()
}

/// Each existing account's organization.
pub(crate) async fn organizations_of(
    conn: &mut PgConnection,
    accounts: &[Uuid],
) -> SqlResult<HashMap<Uuid, Option<Uuid>>> {
    let rows = sqlx::query("SELECT id, organization_id FROM accounts WHERE id = ANY($1)")
        .bind(accounts)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<Uuid, _>(0)?, r.try_get::<Option<Uuid>, _>(1)?)))
        .collect()
}

/// Inserts events one row each into the per-event table of the ingestion benchmark's baseline.
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    events: &[RecordedEvent],
) -> SqlResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    let users: Vec<Option<Uuid>> = events.iter().map(|e| e.user.map(|u| u.0)).collect();
    let accounts: Vec<Option<Uuid>> = events.iter().map(|e| e.account.map(|a| a.0)).collect();
    let orgs: Vec<Option<Uuid>> = events.iter().map(|e| e.organization.map(|o| o.0)).collect();
    let at: Vec<i64> = events.iter().map(|e| e.at.0).collect();
    let received: Vec<i64> = events.iter().map(|e| e.received_at.0).collect();
    let properties: Vec<&str> = events.iter().map(RecordedEvent::properties_text).collect();
    sqlx::query(
        "INSERT INTO bench_events (id, workspace_id, kind, name, user_id, account_id, organization_id, occurred_at, received_at, properties) \
         SELECT id, $1, kind, name, user_id, account_id, organization_id, occurred_at, received_at, properties \
         FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[], $8::bigint[], $9::bigint[], $10::text[]) \
         AS e(id, kind, name, user_id, account_id, organization_id, occurred_at, received_at, properties)",
    )
    .bind(ws.0)
    .bind(ids)
    .bind(kinds)
    .bind(names)
    .bind(users)
    .bind(accounts)
    .bind(orgs)
    .bind(at)
    .bind(received)
    .bind(properties)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts rows of `width` values into `table (cols)` with multi-row `VALUES`, 400 rows a
/// statement: the bulk loads of the benchmarks.
pub(crate) async fn insert_rows(
    conn: &mut PgConnection,
    table: &str,
    cols: &str,
    width: usize,
    rows: &[Vec<BenchValue>],
) -> SqlResult<()> {
    for chunk in rows.chunks(400) {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|r| {
                let params: Vec<String> =
                    (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let sql = format!("INSERT INTO {table} ({cols}) VALUES {}", tuples.join(", "));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in chunk.iter().flatten() {
            query = match value {
                BenchValue::Id(u) => query.bind(*u),
                BenchValue::OptId(u) => query.bind(*u),
                BenchValue::Int(i) => query.bind(*i),
                BenchValue::Text(t) => query.bind(t.clone()),
                BenchValue::Bool(b) => query.bind(*b),
            };
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes one flush of the event log's owner index: a run row per record, one statement.
pub(crate) async fn insert_event_runs(
    conn: &mut PgConnection,
    run: i64,
    runs: &[Run],
) -> SqlResult<()> {
    for part in runs.chunks(10_000) {
        let owners: Vec<Uuid> = part.iter().map(|r| r.owner).collect();
        let min_at: Vec<i64> = part.iter().map(|r| r.min_at).collect();
        let max_at: Vec<i64> = part.iter().map(|r| r.max_at).collect();
        let counts: Vec<i64> = part.iter().map(|r| r.count).collect();
        let entries: Vec<&[u8]> = part.iter().map(|r| r.bytes.as_slice()).collect();
        sqlx::query(
            "INSERT INTO event_runs (owner_id, run, min_at, max_at, events, entries) \
             SELECT o, $1, mi, ma, n, e FROM UNNEST($2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bytea[]) AS t(o, mi, ma, n, e)",
        )
        .bind(run)
        .bind(&owners)
        .bind(&min_at)
        .bind(&max_at)
        .bind(&counts)
        .bind(&entries)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A batch's open transaction.
pub(crate) type BatchTx = sqlx::Transaction<'static, sqlx::Postgres>;

pub(crate) async fn open_batch(pool: &sqlx::PgPool) -> SqlResult<BatchTx> {
    pool.begin().await
}

/// Inserts a batch's chunks, then commits it.
pub(crate) async fn finish_batch(
    mut tx: BatchTx,
    chunks: &[crate::event_log::ChunkRow],
) -> SqlResult<()> {
    insert_chunks(&mut tx, chunks).await?;
    tx.commit().await
}

/// Appends chunks of the event log.
pub(crate) async fn insert_chunks(
    conn: &mut PgConnection,
    chunks: &[crate::event_log::ChunkRow],
) -> SqlResult<()> {
    for chunk in chunks {
        sqlx::query("INSERT INTO event_chunks (seq, workspace_id, received_at, events, body) VALUES ($1, $2, $3, $4, $5)")
            .bind(chunk.seq)
            .bind(chunk.workspace.0)
            .bind(chunk.received_at.0)
            .bind(chunk.events)
            .bind(&chunk.body)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
