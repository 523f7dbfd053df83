//! The statements of event ingestion on SQLite, stepped through the raw handle.
//!
//! Ingestion writes and looks up hundreds of rows per request. Through sqlx each of those is
//! either a statement of its own (a channel round trip to sqlx's worker thread, ~10 µs) or
//! one multi-row statement, whose binding is quadratic in its parameter count (sqlx looks up
//! every parameter's name, and SQLite walks a list to answer). Here each statement is
//! prepared once per call and stepped once per row on the writer's thread, inside the
//! transaction sqlx opened: a few microseconds a row. `pg_write.rs` has the same functions
//! for PostgreSQL.

use std::collections::HashMap;
use std::ffi::{CString, c_int};
use std::ptr;

use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;
use steward_engine::ids::WorkspaceId;
use uuid::Uuid;

use crate::bench::BenchValue;
use crate::event_log::index::Run;
use crate::sqlite_bulk::Row;
use crate::write::RecordedEvent;

type SqlResult<T> = std::result::Result<T, sqlx::Error>;

/// A prepared statement on a locked raw handle; finalized on drop.
struct Statement {
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
}

fn failure(db: *mut ffi::sqlite3, what: &str) -> sqlx::Error {
    // SAFETY: `db` is the live, locked handle; the message is copied out at once.
    let message = unsafe { std::ffi::CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
        .to_string_lossy()
        .into_owned();
    sqlx::Error::Protocol(format!("sqlite {what}: {message}"))
}

impl Statement {
    /// SAFETY (for callers): `db` must stay locked to the caller until the statement drops.
    fn prepare(db: *mut ffi::sqlite3, sql: &str) -> SqlResult<Self> {
        let text = CString::new(sql).map_err(|_| sqlx::Error::Protocol("SQL with NUL".into()))?;
        let mut stmt = ptr::null_mut();
        // SAFETY: `db` is live and locked (see above); `text` outlives the call.
        let rc =
            unsafe { ffi::sqlite3_prepare_v2(db, text.as_ptr(), -1, &mut stmt, ptr::null_mut()) };
        if rc != ffi::SQLITE_OK {
            return Err(failure(db, "prepare"));
        }
        Ok(Self { db, stmt })
    }

    fn check(&self, rc: c_int) -> SqlResult<()> {
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(failure(self.db, "bind"))
        }
    }

    fn bind_i64(&mut self, index: c_int, value: i64) -> SqlResult<()> {
        // SAFETY: a live statement; SQLite checks the index.
        self.check(unsafe { ffi::sqlite3_bind_int64(self.stmt, index, value) })
    }

    fn bind_text(&mut self, index: c_int, value: &str) -> SqlResult<()> {
        // SAFETY: SQLITE_TRANSIENT makes SQLite copy the bytes before returning.
        self.check(unsafe {
            ffi::sqlite3_bind_text(
                self.stmt,
                index,
                value.as_ptr().cast(),
                value.len() as c_int,
                ffi::SQLITE_TRANSIENT(),
            )
        })
    }

    fn bind_blob(&mut self, index: c_int, value: &[u8]) -> SqlResult<()> {
        // SAFETY: SQLITE_TRANSIENT makes SQLite copy the bytes before returning.
        self.check(unsafe {
            ffi::sqlite3_bind_blob(
                self.stmt,
                index,
                value.as_ptr().cast(),
                value.len() as c_int,
                ffi::SQLITE_TRANSIENT(),
            )
        })
    }

    /// A UUID as the 16-byte blob sqlx stores; `None` binds NULL.
    fn bind_uuid(&mut self, index: c_int, value: Option<Uuid>) -> SqlResult<()> {
        let Some(value) = value else {
            // SAFETY: a live statement.
            return self.check(unsafe { ffi::sqlite3_bind_null(self.stmt, index) });
        };
        // SAFETY: SQLITE_TRANSIENT makes SQLite copy the 16 bytes before returning.
        self.check(unsafe {
            ffi::sqlite3_bind_blob(
                self.stmt,
                index,
                value.as_bytes().as_ptr().cast(),
                16,
                ffi::SQLITE_TRANSIENT(),
            )
        })
    }

    /// Steps the statement to its end, calling `visit` for each row, then resets it (keeping
    /// it prepared for the next bindings).
    fn run(&mut self, mut visit: impl FnMut(&Row)) -> SqlResult<()> {
        let row = Row::new(self.stmt);
        let result = loop {
            // SAFETY: a live statement with all parameters bound.
            match unsafe { ffi::sqlite3_step(self.stmt) } {
                ffi::SQLITE_ROW => visit(&row),
                ffi::SQLITE_DONE => break Ok(()),
                _ => break Err(failure(self.db, "step")),
            }
        };
        // SAFETY: a live statement; reset keeps its bindings, which the next use overwrites.
        unsafe { ffi::sqlite3_reset(self.stmt) };
        result
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: finalized exactly once, while the handle is still locked.
        unsafe { ffi::sqlite3_finalize(self.stmt) };
    }
}

/// Runs `work` with the connection's raw handle locked to it.
async fn with_handle<T>(
    conn: &mut SqliteConnection,
    work: impl FnOnce(*mut ffi::sqlite3) -> SqlResult<T>,
) -> SqlResult<T> {
    let mut handle = conn.lock_handle().await?;
    work(handle.as_raw_handle().as_ptr())
}

/// `(external id -> (id, parent))` of the given external ids in `table` (a fixed table
/// name); `parent` is a fixed column (an account's `organization_id`) or `NULL`.
pub(crate) async fn ids_by_external(
    conn: &mut SqliteConnection,
    table: &'static str,
    parent: &'static str,
    ws: WorkspaceId,
    external_ids: &[&str],
) -> SqlResult<HashMap<String, (Uuid, Option<Uuid>)>> {
    with_handle(conn, |db| {
        let sql = format!(
            "SELECT id, {parent} FROM {table} WHERE workspace_id = ?1 AND external_id = ?2"
        );
        let mut select = Statement::prepare(db, &sql)?;
        select.bind_uuid(1, Some(ws.0))?;
        let mut out = HashMap::with_capacity(external_ids.len());
        for external_id in external_ids {
            select.bind_text(2, external_id)?;
            let mut found = None;
            select.run(|row| found = row.uuid(0).map(|id| (id, row.uuid(1))))?;
            if let Some(found) = found {
                out.insert((*external_id).to_owned(), found);
            }
        }
        Ok(out)
    })
    .await
}

/// Each user's most recently linked account (users with none are left out).
pub(crate) async fn latest_accounts(
    conn: &mut SqliteConnection,
    users: &[Uuid],
) -> SqlResult<HashMap<Uuid, Uuid>> {
    with_handle(conn, |db| {
        let mut select = Statement::prepare(
            db,
            "SELECT account_id FROM account_users WHERE user_id = ?1 ORDER BY position DESC LIMIT 1",
        )?;
        let mut out = HashMap::with_capacity(users.len());
        for user in users {
            select.bind_uuid(1, Some(*user))?;
            let mut found = None;
            select.run(|row| found = row.uuid(0))?;
            if let Some(account) = found {
                out.insert(*user, account);
            }
        }
        Ok(out)
    })
    .await
}

/// Each existing account's organization.
pub(crate) async fn organizations_of(
    conn: &mut SqliteConnection,
    accounts: &[Uuid],
) -> SqlResult<HashMap<Uuid, Option<Uuid>>> {
    with_handle(conn, |db| {
        let mut select =
            Statement::prepare(db, "SELECT organization_id FROM accounts WHERE id = ?1")?;
        let mut out = HashMap::with_capacity(accounts.len());
        for account in accounts {
            select.bind_uuid(1, Some(*account))?;
            select.run(|row| {
                out.insert(*account, row.uuid(0));
            })?;
        }
        Ok(out)
    })
    .await
}

/// Inserts events one row each into the per-event table of the ingestion benchmark's baseline.
pub(crate) async fn insert_events(
    conn: &mut SqliteConnection,
    ws: WorkspaceId,
    events: &[RecordedEvent],
) -> SqlResult<()> {
    with_handle(conn, |db| {
        let mut insert = Statement::prepare(
            db,
            "INSERT INTO bench_events (id, workspace_id, kind, name, user_id, account_id, organization_id, occurred_at, received_at, properties) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        insert.bind_uuid(2, Some(ws.0))?;
        for event in events {
            insert.bind_uuid(1, Some(event.id))?;
            insert.bind_text(3, event.kind.as_str())?;
            insert.bind_text(4, &event.name)?;
            insert.bind_uuid(5, event.user.map(|u| u.0))?;
            insert.bind_uuid(6, event.account.map(|a| a.0))?;
            insert.bind_uuid(7, event.organization.map(|o| o.0))?;
            insert.bind_i64(8, event.at.0)?;
            insert.bind_i64(9, event.received_at.0)?;
            insert.bind_text(10, event.properties_text())?;
            insert.run(|_| {})?;
        }
        Ok(())
    })
    .await
}

/// Writes one flush of the event log's owner index: a run row per record.
pub(crate) async fn insert_event_runs(
    conn: &mut SqliteConnection,
    run: i64,
    runs: &[Run],
) -> SqlResult<()> {
    with_handle(conn, |db| {
        let mut insert = Statement::prepare(
            db,
            "INSERT INTO event_runs (owner_id, run, min_at, max_at, events, entries) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        insert.bind_i64(2, run)?;
        for r in runs {
            insert.bind_uuid(1, Some(r.owner))?;
            insert.bind_i64(3, r.min_at)?;
            insert.bind_i64(4, r.max_at)?;
            insert.bind_i64(5, r.count)?;
            insert.bind_blob(6, &r.bytes)?;
            insert.run(|_| {})?;
        }
        Ok(())
    })
    .await
}

/// Inserts rows of `width` values into `table (cols)`, one prepared statement stepped per
/// row: the bulk loads of the benchmarks.
pub(crate) async fn insert_rows(
    conn: &mut SqliteConnection,
    table: &str,
    cols: &str,
    width: usize,
    rows: &[Vec<BenchValue>],
) -> SqlResult<()> {
    with_handle(conn, |db| {
        let placeholders: Vec<String> = (1..=width).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({cols}) VALUES ({})",
            placeholders.join(", ")
        );
        let mut insert = Statement::prepare(db, &sql)?;
        for row in rows {
            for (i, value) in row.iter().enumerate() {
                let index = i as c_int + 1;
                match value {
                    BenchValue::Id(u) => insert.bind_uuid(index, Some(*u))?,
                    BenchValue::OptId(u) => insert.bind_uuid(index, *u)?,
                    BenchValue::Int(n) => insert.bind_i64(index, *n)?,
                    BenchValue::Text(t) => insert.bind_text(index, t)?,
                    BenchValue::Bool(b) => insert.bind_i64(index, i64::from(*b))?,
                }
            }
            insert.run(|_| {})?;
        }
        Ok(())
    })
    .await
}

/// The write connection while a batch is open: its transaction is begun and committed on the
/// raw handle rather than through sqlx's `Transaction`, so that the commit and the batch's
/// chunk inserts are one round trip to the connection's worker thread, not two.
///
/// Dropped before its commit (a batch given up), it closes the connection, which rolls the
/// transaction back, rather than hand an open transaction back to the pool.
pub(crate) struct BatchTx(Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>);

impl std::ops::Deref for BatchTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.0.as_ref().expect("an open batch")
    }
}

impl std::ops::DerefMut for BatchTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.0.as_mut().expect("an open batch")
    }
}

impl Drop for BatchTx {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

fn exec(db: *mut ffi::sqlite3, sql: &str) -> SqlResult<()> {
    let text = CString::new(sql).map_err(|_| sqlx::Error::Protocol("SQL with NUL".into()))?;
    // SAFETY: `db` is live and locked to the caller; no callback.
    let rc =
        unsafe { ffi::sqlite3_exec(db, text.as_ptr(), None, ptr::null_mut(), ptr::null_mut()) };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(failure(db, sql))
    }
}

/// Appends chunks of the event log.
pub(crate) async fn insert_chunks(
    conn: &mut SqliteConnection,
    chunks: &[crate::event_log::ChunkRow],
) -> SqlResult<()> {
    with_handle(conn, |db| chunks_inserted(db, chunks)).await
}

fn chunks_inserted(db: *mut ffi::sqlite3, chunks: &[crate::event_log::ChunkRow]) -> SqlResult<()> {
    if chunks.is_empty() {
        return Ok(());
    }
    let mut insert = Statement::prepare(
        db,
        "INSERT INTO event_chunks (seq, workspace_id, received_at, events, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for chunk in chunks {
        insert.bind_i64(1, chunk.seq)?;
        insert.bind_uuid(2, Some(chunk.workspace.0))?;
        insert.bind_i64(3, chunk.received_at.0)?;
        insert.bind_i64(4, chunk.events)?;
        insert.bind_blob(5, &chunk.body)?;
        insert.run(|_| {})?;
    }
    Ok(())
}

/// Takes the write connection and begins a batch (`IMMEDIATE`: the write lock up front). A
/// batch dropped without its commit left its transaction open: it is rolled back first.
pub(crate) async fn open_batch(pool: &sqlx::SqlitePool) -> SqlResult<BatchTx> {
    let mut conn = pool.acquire().await?;
    with_handle(&mut conn, |db| {
        // SAFETY: `db` is live and locked to this call.
        if unsafe { ffi::sqlite3_get_autocommit(db) } == 0 {
            exec(db, "ROLLBACK")?;
        }
        exec(db, "BEGIN IMMEDIATE")
    })
    .await?;
    Ok(BatchTx(Some(conn)))
}

/// Inserts a batch's chunks and commits it, in one session on the handle. After a failed
/// commit the connection is closed (see [`BatchTx`]).
pub(crate) async fn finish_batch(
    mut batch: BatchTx,
    chunks: &[crate::event_log::ChunkRow],
) -> SqlResult<()> {
    with_handle(&mut batch, |db| {
        chunks_inserted(db, chunks)?;
        exec(db, "COMMIT")
    })
    .await?;
    // Committed: the connection goes back to the pool.
    batch.0.take();
    Ok(())
}
