//! The statements of event ingestion on PostgreSQL: one statement per step whatever the row
//! count, with every column bound as one array (`UNNEST` / `= ANY`), so a request of hundreds
//! of events costs a handful of round trips. `sqlite_write.rs` has the same functions for
//! SQLite.

use std::collections::{HashMap, HashSet};

use sqlx::{AssertSqlSafe, PgConnection, Row as _};
use steward_engine::ids::WorkspaceId;
use steward_engine::time::Millis;
use uuid::Uuid;

use crate::bench::BenchValue;
use crate::write::RecordedEvent;

type SqlResult<T> = std::result::Result<T, sqlx::Error>;

/// Records the message ids; returns the ones not seen before in the workspace.
pub(crate) async fn fresh_message_ids(
    conn: &mut PgConnection,
    ws: WorkspaceId,
    now: Millis,
    ids: &[&str],
) -> SqlResult<HashSet<String>> {
    let rows = sqlx::query(
        "INSERT INTO messages (workspace_id, message_id, received_at) \
         SELECT $1, m, $2 FROM UNNEST($3::text[]) AS m ON CONFLICT DO NOTHING RETURNING message_id",
    )
    .bind(ws.0)
    .bind(now.0)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get::<String, _>(0)).collect()
}

/// `(external id -> id)` of the given external ids in `table` (a fixed table name).
pub(crate) async fn ids_by_external(
    conn: &mut PgConnection,
    table: &'static str,
    ws: WorkspaceId,
    external_ids: &[&str],
) -> SqlResult<HashMap<String, Uuid>> {
    let sql = format!(
        "SELECT external_id, id FROM {table} WHERE workspace_id = $1 AND external_id = ANY($2)"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(ws.0)
        .bind(external_ids)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<Uuid, _>(1)?)))
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

/// Appends events to the log.
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
    let properties: Vec<String> = events.iter().map(RecordedEvent::properties_text).collect();
    sqlx::query(
        "INSERT INTO events (id, workspace_id, kind, name, user_id, account_id, organization_id, occurred_at, received_at, properties) \
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
