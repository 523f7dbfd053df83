//! Rebuilding the engine's customer graph from storage at start-up.
//!
//! One load, two row sources: PostgreSQL streams rows through sqlx; SQLite steps them on the
//! calling thread (see `sqlite_bulk`), because sqlx's per-row hand-off would dominate a
//! million-user start-up.

use std::collections::HashMap;

use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::time::Millis;
use steward_engine::{Engine, GraphChange};
use uuid::Uuid;

use crate::error::{Result, StoreError};

/// A row of a bulk query, read by column position.
pub(crate) trait BulkRow {
    fn uuid(&self, col: usize) -> Option<Uuid>;
    fn i64(&self, col: usize) -> i64;
    fn text(&self, col: usize) -> Option<String>;
    /// A blob borrowed from the row (NULL as `None`).
    fn blob(&self, col: usize) -> Option<&[u8]>;
}

/// Something that runs a query and shows each row to a callback.
pub(crate) trait BulkSource {
    async fn for_each(
        &mut self,
        sql: &str,
        visit: &mut (dyn FnMut(&dyn BulkRow) -> Result<()> + Send),
    ) -> Result<()>;
}

pub(crate) fn required(row: &dyn BulkRow, col: usize) -> Result<Uuid> {
    row.uuid(col)
        .ok_or_else(|| StoreError::Corrupt(format!("expected a UUID in column {col}")))
}

/// Each workspace's numbers of organizations, accounts and users, to pre-size tables with.
pub(crate) async fn workspace_sizes(
    source: &mut impl BulkSource,
) -> Result<Vec<(WorkspaceId, [usize; 3])>> {
    let mut sizes = Vec::new();
    source
        .for_each(
            "SELECT w.id, (SELECT COUNT(*) FROM organizations o WHERE o.workspace_id = w.id), \
             (SELECT COUNT(*) FROM accounts a WHERE a.workspace_id = w.id), \
             (SELECT COUNT(*) FROM users u WHERE u.workspace_id = w.id) FROM workspaces w",
            &mut |r| {
                let counts = [1, 2, 3].map(|col| r.i64(col) as usize);
                sizes.push((WorkspaceId(required(r, 0)?), counts));
                Ok(())
            },
        )
        .await?;
    Ok(sizes)
}

pub(crate) async fn load_engine(source: &mut impl BulkSource, engine: &mut Engine) -> Result<()> {
    let started = std::time::Instant::now();
    engine.begin_bulk_load();
    let loaded = load_graphs(source, engine, started).await;
    // Also after a failed load, so the engine is never left without its list orders.
    engine.finish_bulk_load();
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "engine: list orders built"
    );
    loaded
}

async fn load_graphs(
    source: &mut impl BulkSource,
    engine: &mut Engine,
    started: std::time::Instant,
) -> Result<()> {
    // Pre-size each workspace's tables: a million users would otherwise rehash ~20 times.
    for (ws, [orgs, accounts, users]) in workspace_sizes(source).await? {
        engine.graph_mut(ws).reserve(orgs, accounts, users);
    }

    source
        .for_each(
            "SELECT workspace_id, id, created_at, updated_at FROM organizations",
            &mut |r| {
                engine.apply(
                    WorkspaceId(required(r, 0)?),
                    &GraphChange::UpsertOrganization {
                        id: OrganizationId(required(r, 1)?),
                        created_at: Millis(r.i64(2)),
                        updated_at: Millis(r.i64(3)),
                    },
                );
                Ok(())
            },
        )
        .await?;

    source
        .for_each(
            "SELECT workspace_id, id, organization_id, created_at, updated_at FROM accounts",
            &mut |r| {
                engine.apply(
                    WorkspaceId(required(r, 0)?),
                    &GraphChange::UpsertAccount {
                        id: AccountId(required(r, 1)?),
                        organization: r.uuid(2).map(OrganizationId),
                        created_at: Millis(r.i64(3)),
                        updated_at: Millis(r.i64(4)),
                    },
                );
                Ok(())
            },
        )
        .await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "engine: organizations and accounts loaded"
    );

    // Direct organization links are rare; hold them while users stream past.
    let mut direct: HashMap<Uuid, Vec<OrganizationId>> = HashMap::new();
    source
        .for_each(
            "SELECT user_id, organization_id FROM organization_users ORDER BY user_id, position",
            &mut |r| {
                direct
                    .entry(required(r, 0)?)
                    .or_default()
                    .push(OrganizationId(required(r, 1)?));
                Ok(())
            },
        )
        .await?;

    // One row per (user, account) link, grouped by user, links in the order they were made.
    let mut current: Option<(WorkspaceId, UserId, Millis, Millis, Vec<AccountId>)> = None;
    let mut flush =
        |engine: &mut Engine, user: (WorkspaceId, UserId, Millis, Millis, Vec<AccountId>)| {
            let (ws, id, created_at, updated_at, accounts) = user;
            let organizations = direct.remove(&id.0).unwrap_or_default();
            engine.apply(
                ws,
                &GraphChange::UpsertUser {
                    id,
                    accounts,
                    organizations,
                    created_at,
                    updated_at,
                },
            );
        };
    source
        .for_each(
            "SELECT u.workspace_id, u.id, u.created_at, u.updated_at, au.account_id \
             FROM users u LEFT JOIN account_users au ON au.user_id = u.id ORDER BY u.id, au.position",
            &mut |r| {
                let id = UserId(required(r, 1)?);
                let account = r.uuid(4).map(AccountId);
                match &mut current {
                    Some(user) if user.1 == id => user.4.extend(account),
                    _ => {
                        if let Some(done) = current.take() {
                            flush(engine, done);
                        }
                        current = Some((WorkspaceId(required(r, 0)?), id, Millis(r.i64(2)), Millis(r.i64(3)), account.into_iter().collect()));
                    }
                }
                Ok(())
            },
        )
        .await?;
    if let Some(done) = current.take() {
        flush(engine, done);
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "engine: users loaded"
    );
    Ok(())
}

/// What [`for_each_chunk`] shows each chunk to: `(seq, workspace, received_at, body)`.
pub(crate) type ChunkVisitor<'a> =
    dyn FnMut(i64, WorkspaceId, Millis, &[u8]) -> Result<()> + Send + 'a;

/// Every chunk of the event log in order: `(seq, workspace, received_at, body)`, the body
/// borrowed from the row.
pub(crate) async fn for_each_chunk(
    source: &mut impl BulkSource,
    visit: &mut ChunkVisitor<'_>,
) -> Result<()> {
    source
        .for_each(
            "SELECT seq, workspace_id, received_at, body FROM event_chunks ORDER BY seq",
            &mut |r| {
                visit(
                    r.i64(0),
                    WorkspaceId(required(r, 1)?),
                    Millis(r.i64(2)),
                    r.blob(3).unwrap_or_default(),
                )
            },
        )
        .await
}

// ---- the two sources ------------------------------------------------------------------------

impl BulkRow for crate::sqlite_bulk::Row {
    fn uuid(&self, col: usize) -> Option<Uuid> {
        crate::sqlite_bulk::Row::uuid(self, col as i32)
    }

    fn text(&self, col: usize) -> Option<String> {
        crate::sqlite_bulk::Row::text(self, col as i32)
    }

    fn i64(&self, col: usize) -> i64 {
        crate::sqlite_bulk::Row::i64(self, col as i32)
    }

    fn blob(&self, col: usize) -> Option<&[u8]> {
        crate::sqlite_bulk::Row::blob(self, col as i32)
    }
}

impl BulkSource for sqlx::SqliteConnection {
    async fn for_each(
        &mut self,
        sql: &str,
        visit: &mut (dyn FnMut(&dyn BulkRow) -> Result<()> + Send),
    ) -> Result<()> {
        crate::sqlite_bulk::for_each_row(self, sql, |row| visit(row)).await
    }
}

impl BulkRow for sqlx::postgres::PgRow {
    fn uuid(&self, col: usize) -> Option<Uuid> {
        use sqlx::Row;
        self.try_get::<Option<Uuid>, _>(col).ok().flatten()
    }

    fn i64(&self, col: usize) -> i64 {
        use sqlx::Row;
        self.try_get::<i64, _>(col).unwrap_or_default()
    }

    fn text(&self, col: usize) -> Option<String> {
        use sqlx::Row;
        self.try_get::<Option<String>, _>(col).ok().flatten()
    }

    fn blob(&self, col: usize) -> Option<&[u8]> {
        use sqlx::Row;
        self.try_get::<Option<&[u8]>, _>(col).ok().flatten()
    }
}

impl BulkSource for sqlx::PgConnection {
    async fn for_each(
        &mut self,
        sql: &str,
        visit: &mut (dyn FnMut(&dyn BulkRow) -> Result<()> + Send),
    ) -> Result<()> {
        use futures::TryStreamExt;
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).fetch(&mut *self);
        while let Some(row) = rows.try_next().await? {
            visit(&row)?;
        }
        Ok(())
    }
}

/// Which table a streamed record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordTable {
    Organizations,
    Accounts,
    Users,
}

/// One record as [`for_each_record`] streams it.
#[derive(Clone, Copy, Debug)]
pub struct StreamedRecord<'a> {
    pub table: RecordTable,
    pub id: Uuid,
    pub name: &'a str,
    /// The traits as JSON text.
    pub traits: &'a str,
    /// Users only: their e-mail and join date (rules read them as `email`, `joinedAt`).
    pub email: Option<&'a str>,
    pub joined_at: Option<steward_engine::time::Millis>,
}

/// Every organization, account and user of a workspace with its name and traits (JSON text),
/// in that order: what derived values are computed from when they are (re)configured.
pub(crate) async fn for_each_record(
    source: &mut impl BulkSource,
    workspace_literal: &str,
    visit: &mut (dyn FnMut(StreamedRecord<'_>) -> Result<()> + Send),
) -> Result<()> {
    let literal = workspace_literal;
    for (table, name, columns) in [
        (RecordTable::Organizations, "organizations", ""),
        (RecordTable::Accounts, "accounts", ""),
        (
            RecordTable::Users,
            "users",
            ", email, CAST(joined_at AS TEXT)",
        ),
    ] {
        let sql =
            format!("SELECT id, name, traits{columns} FROM {name} WHERE workspace_id = {literal}");
        source
            .for_each(&sql, &mut |r| {
                let id = required(r, 0)?;
                let record_name = r.text(1).unwrap_or_default();
                let traits = r.text(2).unwrap_or_else(|| "{}".to_owned());
                let (email, joined_at) = if table == RecordTable::Users {
                    let joined = r.text(4).and_then(|t| t.parse::<i64>().ok());
                    (r.text(3), joined.map(steward_engine::time::Millis))
                } else {
                    (None, None)
                };
                visit(StreamedRecord {
                    table,
                    id,
                    name: &record_name,
                    traits: &traits,
                    email: email.as_deref(),
                    joined_at,
                })
            })
            .await?;
    }
    Ok(())
}
