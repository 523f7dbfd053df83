//! Steward's durable record: base data, the event log (see `event_log`), histories and, later,
//! the outbox.
//!
//! One [`Store`] type fronts two backends, SQLite (embedded, the default) and PostgreSQL. Every
//! operation is written once (see `ops.rs`) and instantiated for both; the conformance suite in
//! `tests/` runs every operation against both.
//!
//! Writes go through [`Store::apply_batch`]: the server funnels all writes through one writer
//! task that groups concurrent requests into one transaction (group commit), so each write is
//! durable when acknowledged while the cost of the commit is shared. On SQLite the fsync of a
//! commit runs beside the next batch's writes (see `durable.rs`).

/// Calls the same-named operation of whichever backend is in use.
/// Answers once what it read is durable (see `durable.rs`). Defined before the modules, so
/// that those with operations of their own (`conversations`, `custom_objects`) use it too.
macro_rules! dispatch {
    ($self:ident . $op:ident ( $($arg:expr),* )) => {{
        let out = match &$self.inner {
            Inner::Sqlite(pool) => sqlite::$op(pool, $($arg),*).await,
            Inner::Postgres(pool) => postgres::$op(pool, $($arg),*).await,
        };
        $self.settle(out).await
    }};
}

pub mod assign;
pub mod bench;
mod conversation_ops;
pub mod conversations;
mod custom_object_ops;
mod durable;
pub use durable::Durable;
pub mod custom_objects;
mod error;
mod event_log;
mod event_pages;
mod known_ids;
pub use event_log::{IndexUpdate, REPLAY_WINDOW};
mod lifecycle_ops;
mod load;
pub use load::{RecordTable, StreamedRecord};
mod migrations;
mod ops;
mod pg_write;
mod postgres;
mod resident;
mod roles_ops;
pub mod rows;
mod sql;
mod sqlite;
mod sqlite_bulk;
mod sqlite_read;
mod sqlite_reads;
mod sqlite_write;
mod varint;
pub mod write;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use steward_engine::Engine;
use steward_engine::ids::{AdminId, CustomFieldId, WorkspaceId};
use steward_engine::page::PageRequest;
use steward_engine::time::Millis;
use uuid::Uuid;

pub use error::{Result, StoreError};
use migrations::Dialect;
use rows::*;
use write::{Outcome, RecordRef, Write, WriteError};

/// Whose events to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOwner {
    User(steward_engine::ids::UserId),
    Account(steward_engine::ids::AccountId),
    /// The organization's own events and its accounts' events.
    Organization(steward_engine::ids::OrganizationId),
}

/// A batch of writes applied in a transaction not yet committed (see [`Store::begin_batch`]).
/// Dropping it rolls the batch back. One batch is open at a time (it holds the store's turn).
pub struct PendingBatch {
    tx: PendingTx,
    log: Arc<event_log::EventLog>,
    log_commit: event_log::LogCommit,
    known: Arc<known_ids::KnownIds>,
    ids_commit: known_ids::IdsCommit,
    /// What the batch changed in the resident records, applied once it commits.
    resident: Option<(Arc<resident::Resident>, resident::ResidentCommit)>,
    /// The WAL the commit is synced to (SQLite on a file; see `durable.rs`).
    wal: Option<Arc<durable::WalSync>>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

enum PendingTx {
    Sqlite(sqlite_write::BatchTx),
    Postgres(pg_write::BatchTx),
}

/// A record as a pending batch left it: what derived values are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingRecord {
    pub name: String,
    pub traits: steward_engine::domain::Traits,
    /// Users only.
    pub email: Option<String>,
    pub joined_at: Option<Millis>,
}

impl PendingBatch {
    /// A record's current name and traits, seeing the batch's own writes.
    pub async fn record(
        &mut self,
        ws: WorkspaceId,
        record: steward_engine::RecordRef,
    ) -> Result<Option<PendingRecord>> {
        match &mut self.tx {
            PendingTx::Sqlite(tx) => sqlite::pending_record(tx, ws, record).await,
            PendingTx::Postgres(tx) => postgres::pending_record(tx, ws, record).await,
        }
    }

    /// Stores what derived values reported (lifecycle state, status history) with the batch.
    pub async fn derived(
        &mut self,
        ws: WorkspaceId,
        now: Millis,
        changes: &[steward_engine::DerivedChange],
    ) -> Result<()> {
        match &mut self.tx {
            PendingTx::Sqlite(tx) => sqlite::pending_derived(tx, ws, now, changes).await,
            PendingTx::Postgres(tx) => postgres::pending_derived(tx, ws, now, changes).await,
        }
    }

    /// Commits the batch: its writes and whatever was added to it become durable together.
    pub async fn commit(self) -> Result<()> {
        self.commit_visible().await?.wait().await;
        Ok(())
    }

    /// Commits the batch without waiting for the disk: the next batch may start at once, and
    /// the returned [`Durable`] resolves once this one survives a power cut (see
    /// `durable.rs`); nothing may acknowledge it before. Storage reads wait for it too.
    pub async fn commit_visible(self) -> Result<Durable> {
        let (durable, index) = self.commit_leaving_index().await?;
        index.apply();
        Ok(durable)
    }

    /// As [`PendingBatch::commit_visible`], but the event log's owner index learns the batch's
    /// events only when the returned [`IndexUpdate`] is applied (or dropped), which the caller
    /// may leave to another thread: it must be applied before the next batch commits, and
    /// before the batch is acknowledged (event pages read the index).
    pub async fn commit_leaving_index(self) -> Result<(Durable, IndexUpdate)> {
        let seq = self.wal.as_ref().map(|wal| wal.begin());
        let chunks = &self.log_commit.chunks;
        let committed = match self.tx {
            PendingTx::Sqlite(tx) => sqlite_write::finish_batch(tx, chunks).await,
            PendingTx::Postgres(tx) => pg_write::finish_batch(tx, chunks).await,
        };
        let durable = match (&self.wal, seq) {
            (Some(wal), Some(seq)) => wal.sync(seq),
            _ => Durable::now(),
        };
        if let Err(cause) = committed {
            // Nothing to keep, but readers wait for every numbered commit.
            durable.wait().await;
            return Err(cause.into());
        }
        let index = self.log.committed(self.log_commit);
        self.known.committed(self.ids_commit);
        if let Some((resident, commit)) = self.resident {
            resident.apply(commit);
        }
        Ok((durable, index))
    }
}

/// The storage backend in use.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Inner,
    /// The SQLite database file, for the direct read path (`sqlite_reads`).
    sqlite_file: Option<Arc<PathBuf>>,
    /// SQLite's one write connection (see [`Store::open_sqlite`]); `None` in memory.
    sqlite_writer: Option<sqlite::Pool>,
    /// The event log's in-memory state (see `event_log`).
    log: Arc<event_log::EventLog>,
    /// Held by the one batch in progress: the event log numbers chunks and learns what a
    /// batch committed in batch order.
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Records ingestion resolved by external id (see `known_ids`).
    known: Arc<known_ids::KnownIds>,
    /// The write connection's WAL, synced after its commits (see `durable.rs`).
    wal: Option<Arc<durable::WalSync>>,
    /// Every record kept in memory once the engine is loaded (see `resident`); PostgreSQL's
    /// default.
    resident: Option<Arc<resident::Resident>>,
}

#[derive(Clone, Debug)]
enum Inner {
    Sqlite(sqlite::Pool),
    Postgres(postgres::Pool),
}

/// As [`dispatch!`], for the hot write paths: on SQLite they take the one write connection.
/// Durable when it returns, like every other commit (see `durable.rs`).
macro_rules! dispatch_write {
    ($self:ident . $op:ident ( $($arg:expr),* )) => {{
        let out = match &$self.inner {
            Inner::Sqlite(pool) => sqlite::$op($self.sqlite_writer.as_ref().unwrap_or(pool), $($arg),*).await,
            Inner::Postgres(pool) => postgres::$op(pool, $($arg),*).await,
        };
        if let Some(wal) = &$self.wal {
            wal.sync(wal.begin()).wait().await;
        }
        out
    }};
}

/// The SQLite VFS every connection uses: `unix` with the file locked for this process.
pub(crate) const EXCLUSIVE_VFS: &str = "unix-excl";

/// Fails at once, with a clear error, when another process holds the database file (the lock
/// is taken by a connection's first read). Without this a second server or a CLI command
/// would wait out the busy timeout and then fail with "database is locked".
/// Returns the connection that took the lock: the hold lasts while any connection of this
/// process has the file open, so keep it until the store's own connections are open.
async fn claim_sqlite_file(
    file: &Path,
    options: &SqliteConnectOptions,
) -> Result<sqlx::SqliteConnection> {
    use sqlx::Connection;
    // Long enough for this process's own connections to let go of a lock they hold; another
    // process's hold on the file does not end.
    let probe = options.clone().busy_timeout(Duration::from_millis(250));
    let outcome = async {
        let mut connection = sqlx::SqliteConnection::connect_with(&probe).await?;
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .execute(&mut connection)
            .await?;
        Ok(connection)
    }
    .await;
    match outcome {
        // SQLITE_BUSY, in its primary or an extended form.
        Err(sqlx::Error::Database(e))
            if e.code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff)
                == Some(5) =>
        {
            Err(StoreError::InUse(file.display().to_string()))
        }
        other => Ok(other?),
    }
}

impl Store {
    /// The embedded default: `steward.db` in `dir`, created if missing.
    pub async fn open_sqlite_dir(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Corrupt(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let options = SqliteConnectOptions::new().filename(dir.join("steward.db"));
        Self::open_sqlite(options).await
    }

    /// Opens a `postgres://` / `postgresql://` URL, or a `sqlite:` URL.
    pub async fn open_url(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                // sqlx pings every connection it hands out: a second round trip for each
                // query, which halved single-record reads. Only a connection that sat idle
                // may have died with the server unnoticed (HikariCP skips its check within
                // 500 ms of last use too); a busy one's failure shows in its own query.
                .test_before_acquire(false)
                .before_acquire(|connection, meta| {
                    Box::pin(async move {
                        if meta.idle_for > Duration::from_millis(500) {
                            sqlx::Connection::ping(connection).await?;
                        }
                        Ok(true)
                    })
                })
                .connect(url)
                .await?;
            let store = Self {
                inner: Inner::Postgres(pool),
                sqlite_file: None,
                sqlite_writer: None,
                log: Arc::default(),
                turn: Arc::default(),
                known: Arc::default(),
                wal: None,
                resident: Some(Arc::default()),
            };
            store.migrate().await?;
            Ok(store)
        } else if url.starts_with("sqlite:") {
            Self::open_sqlite(SqliteConnectOptions::from_str(url)?).await
        } else {
            Err(StoreError::Corrupt(format!(
                "unsupported database URL (expected postgres:// or sqlite:): {}",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }

    async fn open_sqlite(options: SqliteConnectOptions) -> Result<Self> {
        let file = Arc::new(options.get_filename().to_path_buf());
        // WAL lets readers run beside the writer; synchronous=FULL makes every acknowledged
        // commit survive a power cut, and group commit keeps that affordable.
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // One process owns the file: two servers on one data directory would each keep
            // an engine blind to the other's writes. Holding the file's lock for the process
            // also keeps the WAL index in this process's memory, so the readers' and the
            // writer's WAL locks are taken in memory instead of by `fcntl` on a shared file
            // (two system calls a read, a tenth of a single-record GET). Every connection
            // must use this VFS (see `sqlite_read.rs`).
            .vfs(EXCLUSIVE_VFS)
            // Map the file rather than read it page by page (see sqlite_read.rs).
            .pragma("mmap_size", "17179869184");
        let claim = if !file.as_os_str().is_empty() && file.as_os_str() != ":memory:" {
            Some(claim_sqlite_file(&file, &options).await?)
        } else {
            None
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            // A ping is a round trip to the connection's worker thread; a connection to a file
            // does not go bad the way a network one does.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        if let Some(claim) = claim {
            use sqlx::Connection;
            claim.close().await?;
        }
        // An in-memory database has no file another connection could open: sqlx path only.
        let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
        let mut store = Self {
            inner: Inner::Sqlite(pool),
            sqlite_file: (!in_memory).then_some(file),
            sqlite_writer: None,
            log: Arc::default(),
            turn: Arc::default(),
            known: Arc::default(),
            wal: None,
            resident: None,
        };
        store.migrate().await?;
        if !in_memory {
            // Writes take one connection of their own. In WAL mode a connection drops its whole
            // page cache whenever another connection has written since its last transaction;
            // with writes spread over the pool, every ingestion commit started cold and read
            // its index pages back (4x the time of the inserts). One writer keeps them warm,
            // with a cache big enough for the event indexes' hot leaves (64 MiB). Its commits
            // do not wait for the disk: each is synced after, beside the next batch's writes
            // (see `durable.rs`).
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                // A ping before every batch is a round trip to the connection's worker thread
                // for nothing: the one connection is never idle long enough to go bad.
                .test_before_acquire(false)
                .connect_with(
                    options
                        .clone()
                        .pragma("cache_size", "-65536")
                        .pragma("wal_autocheckpoint", durable::WRITER_CHECKPOINT_PAGES)
                        .synchronous(SqliteSynchronous::Normal),
                )
                .await?;
            store.sqlite_writer = Some(writer);
            let file = store.sqlite_file.clone().expect("a database file");
            store.wal = Some(Arc::new(durable::WalSync::open(&file, options).await?));
        }
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(pool) => migrations::migrator(Dialect::Sqlite).run(pool).await?,
            Inner::Postgres(pool) => migrations::migrator(Dialect::Postgres).run(pool).await?,
        }
        dispatch!(self.convert_legacy_events())
    }

    /// `out`, once every commit that had started is durable: what a read saw cannot be lost.
    async fn settle<T>(&self, out: T) -> T {
        self.settled().await;
        out
    }

    /// Waits until every commit started so far is durable.
    async fn settled(&self) {
        if let Some(wal) = &self.wal {
            wal.settled().await;
        }
    }

    /// A mark for what has been committed so far, durable or not: whoever read state that
    /// commits shape outside storage (the server's engine holds a batch from its commit on)
    /// waits for [`Store::durable_through`] this mark before passing what it read on, so that
    /// nothing a power cut could still take back leaves the process. Always 0 where commits
    /// are durable when they end (PostgreSQL, in-memory SQLite).
    pub fn commit_mark(&self) -> u64 {
        self.wal.as_ref().map_or(0, |wal| wal.started())
    }

    /// Waits until every commit up to `mark` ([`Store::commit_mark`]) is durable.
    pub async fn durable_through(&self, mark: u64) {
        if let Some(wal) = &self.wal {
            wal.durable_through(mark).await;
        }
    }

    /// Whether commits are synced beside the writer, answered once durable (SQLite on a file;
    /// see `durable.rs`), rather than inside the commit.
    pub fn syncs_beside_the_writer(&self) -> bool {
        self.wal.is_some()
    }

    /// How many times the write connection's WAL was synced (SQLite on a file; tests).
    pub fn wal_syncs(&self) -> u64 {
        self.wal.as_ref().map_or(0, |wal| wal.syncs())
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.inner {
            Inner::Sqlite(_) => "sqlite",
            Inner::Postgres(_) => "postgres",
        }
    }

    /// Keeps every organization, account and user in memory once [`Store::load_engine`] has
    /// run, answering single-record and by-id reads from there (see `resident`): on by
    /// default for PostgreSQL, where each such read is otherwise a round trip, off for SQLite.
    pub fn with_resident_records(mut self, on: bool) -> Self {
        self.resident = on.then(Arc::default);
        self
    }

    /// Heap bytes of the resident records (organizations, accounts, users); `None` when
    /// records are not kept in memory.
    pub fn resident_heap_bytes(&self) -> Option<[usize; 3]> {
        self.resident.as_ref().map(|r| r.heap_bytes())
    }

    /// The resident records, once loaded.
    fn serving_resident(&self) -> Option<&resident::Resident> {
        self.resident.as_deref().filter(|r| r.serving())
    }

    pub async fn close(&self) {
        match &self.inner {
            Inner::Sqlite(pool) => {
                if let Some(writer) = &self.sqlite_writer {
                    writer.close().await;
                }
                if let Some(wal) = &self.wal {
                    wal.close();
                }
                pool.close().await
            }
            Inner::Postgres(pool) => pool.close().await,
        }
    }

    /// Writes a consistent copy of the embedded database to `path`, a file that must not
    /// exist yet (SQLite's `VACUUM INTO`: one read transaction, so writes go on beside it).
    /// PostgreSQL has its own tools (`pg_dump`).
    pub async fn backup_into(&self, path: &Path) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(pool) => {
                let target = path.to_str().ok_or_else(|| {
                    StoreError::Corrupt(format!("backup path {} is not UTF-8", path.display()))
                })?;
                sqlx::query("VACUUM INTO ?")
                    .bind(target)
                    .execute(pool)
                    .await?;
                Ok(())
            }
            Inner::Postgres(_) => Err(StoreError::Unsupported(
                "backups of PostgreSQL are PostgreSQL's own (pg_dump)".to_owned(),
            )),
        }
    }

    pub async fn migrations_applied(&self) -> Result<i64> {
        dispatch!(self.migrations_applied())
    }

    // ---- workspaces and keys ------------------------------------------------------------------

    pub async fn create_workspace(&self, name: &str, now: Millis) -> Result<WorkspaceRow> {
        dispatch!(self.create_workspace(name, now))
    }

    pub async fn find_workspace(&self, name: &str) -> Result<Option<WorkspaceRow>> {
        dispatch!(self.find_workspace(name))
    }

    /// Workspaces sorted by name (byte order, the same on every backend).
    pub async fn list_workspaces(&self) -> Result<Vec<WorkspaceRow>> {
        let mut rows = dispatch!(self.list_workspaces())?;
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(rows)
    }

    pub async fn create_api_key(&self, key: &ApiKeyRow) -> Result<()> {
        dispatch!(self.create_api_key(key))
    }

    pub async fn find_api_key(&self, key_hash: &[u8]) -> Result<Option<ApiKeyRow>> {
        dispatch!(self.find_api_key(key_hash))
    }

    // ---- reads ------------------------------------------------------------------------------

    pub async fn find_organization(
        &self,
        ws: WorkspaceId,
        r: &RecordRef,
    ) -> Result<Option<OrganizationRow>> {
        if let Some(resident) = self.serving_resident() {
            return self.settle(resident.find::<OrganizationRow>(ws, r)).await;
        }
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::find(file, &sqlite_reads::ORGS, ws, r))
                .await;
        }
        dispatch!(self.find_organization(ws, r))
    }

    pub async fn find_account(&self, ws: WorkspaceId, r: &RecordRef) -> Result<Option<AccountRow>> {
        if let Some(resident) = self.serving_resident() {
            return self.settle(resident.find::<AccountRow>(ws, r)).await;
        }
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::find(file, &sqlite_reads::ACCOUNTS, ws, r))
                .await;
        }
        dispatch!(self.find_account(ws, r))
    }

    pub async fn find_user(&self, ws: WorkspaceId, r: &RecordRef) -> Result<Option<UserRow>> {
        if let Some(resident) = self.serving_resident() {
            return self.settle(resident.find::<UserRow>(ws, r)).await;
        }
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::find(file, &sqlite_reads::USERS, ws, r))
                .await;
        }
        dispatch!(self.find_user(ws, r))
    }

    pub async fn find_admin(&self, ws: WorkspaceId, id: AdminId) -> Result<Option<AdminRow>> {
        dispatch!(self.find_admin(ws, id))
    }

    pub async fn find_custom_field(
        &self,
        ws: WorkspaceId,
        id: CustomFieldId,
    ) -> Result<Option<CustomFieldRow>> {
        dispatch!(self.find_custom_field(ws, id))
    }

    pub async fn list_organizations(
        &self,
        ws: WorkspaceId,
        page: &PageRequest,
    ) -> Result<Vec<OrganizationRow>> {
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::list(file, &sqlite_reads::ORGS, ws, page))
                .await;
        }
        dispatch!(self.list_organizations(ws, page))
    }

    pub async fn list_accounts(
        &self,
        ws: WorkspaceId,
        page: &PageRequest,
    ) -> Result<Vec<AccountRow>> {
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::list(file, &sqlite_reads::ACCOUNTS, ws, page))
                .await;
        }
        dispatch!(self.list_accounts(ws, page))
    }

    pub async fn list_users(&self, ws: WorkspaceId, page: &PageRequest) -> Result<Vec<UserRow>> {
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::list(file, &sqlite_reads::USERS, ws, page))
                .await;
        }
        dispatch!(self.list_users(ws, page))
    }

    pub async fn list_admins(&self, ws: WorkspaceId, page: &PageRequest) -> Result<Vec<AdminRow>> {
        dispatch!(self.list_admins(ws, page))
    }

    /// Custom trait definitions, sorted by label (as Vitally's `/customFields`).
    pub async fn list_custom_fields(
        &self,
        ws: WorkspaceId,
        model: Option<&str>,
    ) -> Result<Vec<CustomFieldRow>> {
        // Sorted here, not by the database: PostgreSQL's order depends on the server's
        // collation, and the API must answer the same on every backend.
        let mut rows = dispatch!(self.list_custom_fields(ws, model))?;
        rows.sort_by(|a, b| a.label.cmp(&b.label).then(a.id.cmp(&b.id)));
        Ok(rows)
    }

    /// Records by id, in the order given; ids that do not exist are left out.
    pub async fn organizations_by_ids(
        &self,
        ws: WorkspaceId,
        ids: &[Uuid],
    ) -> Result<Vec<OrganizationRow>> {
        if let Some(resident) = self.serving_resident() {
            return self
                .settle(resident.by_ids::<OrganizationRow>(ws, ids))
                .await;
        }
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::by_ids(file, &sqlite_reads::ORGS, ws, ids))
                .await;
        }
        dispatch!(self.organizations_by_ids(ws, ids))
    }

    pub async fn accounts_by_ids(&self, ws: WorkspaceId, ids: &[Uuid]) -> Result<Vec<AccountRow>> {
        if let Some(resident) = self.serving_resident() {
            return self.settle(resident.by_ids::<AccountRow>(ws, ids)).await;
        }
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::by_ids(file, &sqlite_reads::ACCOUNTS, ws, ids))
                .await;
        }
        dispatch!(self.accounts_by_ids(ws, ids))
    }

    pub async fn users_by_ids(&self, ws: WorkspaceId, ids: &[Uuid]) -> Result<Vec<UserRow>> {
        if let Some(resident) = self.serving_resident() {
            return self.settle(resident.by_ids::<UserRow>(ws, ids)).await;
        }
        if let Some(file) = &self.sqlite_file {
            return self
                .settle(sqlite_reads::by_ids(file, &sqlite_reads::USERS, ws, ids))
                .await;
        }
        dispatch!(self.users_by_ids(ws, ids))
    }

    /// Users whose e-mail is `email_norm` (already lower-cased).
    pub async fn users_by_email(&self, ws: WorkspaceId, email_norm: &str) -> Result<Vec<UserRow>> {
        dispatch!(self.users_by_email(ws, email_norm))
    }

    /// Users whose e-mail domain is `domain` or a subdomain of it.
    pub async fn users_by_email_domain(
        &self,
        ws: WorkspaceId,
        domain: &str,
    ) -> Result<Vec<UserRow>> {
        dispatch!(self.users_by_email_domain(ws, domain))
    }

    pub async fn admin_by_email(
        &self,
        ws: WorkspaceId,
        email_norm: &str,
    ) -> Result<Option<AdminRow>> {
        dispatch!(self.admin_by_email(ws, email_norm))
    }

    /// A page of a record's events, newest first; `limit` as asked (callers add one to learn
    /// whether another page follows).
    pub async fn list_events(
        &self,
        ws: WorkspaceId,
        owner: EventOwner,
        limit: usize,
        after: Option<steward_engine::page::PageKey>,
    ) -> Result<Vec<write::RecordedEvent>> {
        self.ensure_event_log().await?;
        let page = event_pages::list(self, ws, owner, limit, after).await;
        self.settle(page).await
    }

    /// Every stored event of a record still tied to one, in log order (engine rebuild). The
    /// scan also rebuilds the event log's in-memory state.
    pub async fn for_each_event(
        &self,
        visit: &mut (dyn FnMut(WorkspaceId, &write::EventUsage<'_>) + Send),
    ) -> Result<()> {
        let _turn = self.turn.lock().await;
        self.rebuild_event_log(visit).await
    }

    async fn rebuild_event_log(
        &self,
        visit: &mut (dyn FnMut(WorkspaceId, &write::EventUsage<'_>) + Send),
    ) -> Result<()> {
        let flushed = dispatch!(self.event_log_flushed_through())?;
        let buried = dispatch!(self.event_tombstones())?;
        let mut rebuild = event_log::Rebuild::new(flushed, buried);
        let mut chunk = |seq: i64, ws: WorkspaceId, received: Millis, body: &[u8]| {
            rebuild.chunk(seq, received, body, &mut |event| {
                visit(ws, &event.usage(received))
            })
        };
        match &self.inner {
            Inner::Sqlite(pool) => {
                load::for_each_chunk(&mut *pool.acquire().await?, &mut chunk).await?
            }
            Inner::Postgres(pool) => {
                load::for_each_chunk(&mut *pool.acquire().await?, &mut chunk).await?
            }
        }
        self.log.install(rebuild);
        Ok(())
    }

    /// Builds the event log's in-memory state if nothing has yet (a store used without an
    /// engine, as in the storage tests).
    async fn ensure_event_log(&self) -> Result<()> {
        if self.log.is_built() {
            return Ok(());
        }
        let _turn = self.turn.lock().await;
        if !self.log.is_built() {
            self.rebuild_event_log(&mut |_, _| {}).await?;
        }
        Ok(())
    }

    // ---- the engine -------------------------------------------------------------------------

    /// Every organization, account and user of a workspace with its name and traits (JSON
    /// text): the input of derived values when they are (re)configured.
    pub async fn for_each_record(
        &self,
        ws: WorkspaceId,
        visit: &mut (dyn FnMut(load::StreamedRecord<'_>) -> Result<()> + Send),
    ) -> Result<()> {
        // The id is a UUID (no quotes can occur), so it can be inlined as a literal.
        match &self.inner {
            Inner::Sqlite(pool) => {
                let literal = format!("X'{}'", ws.0.simple());
                load::for_each_record(&mut *pool.acquire().await?, &literal, visit).await
            }
            Inner::Postgres(pool) => {
                let literal = format!("'{}'::uuid", ws.0);
                load::for_each_record(&mut *pool.acquire().await?, &literal, visit).await
            }
        }
    }

    /// Rebuilds the customer graph of every workspace from the durable record.
    /// With resident records (see `resident`), also fills them, on a connection and a task
    /// of their own beside the graph's load.
    pub async fn load_engine(&self, engine: &mut Engine) -> Result<()> {
        // No batch commits while the resident records' tables are scanned.
        let _turn = match &self.resident {
            Some(_) => Some(self.turn.lock().await),
            None => None,
        };
        let resident_load = self.resident.clone().map(|resident| {
            let inner = self.inner.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                match &inner {
                    Inner::Sqlite(pool) => {
                        resident::load::load(&mut *pool.acquire().await?, &resident).await?
                    }
                    Inner::Postgres(pool) => {
                        resident::load::load(&mut *pool.acquire().await?, &resident).await?
                    }
                }
                tracing::debug!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "resident records loaded"
                );
                Ok::<_, StoreError>(())
            })
        });
        let graph = match &self.inner {
            Inner::Sqlite(pool) => load::load_engine(&mut *pool.acquire().await?, engine).await,
            Inner::Postgres(pool) => load::load_engine(&mut *pool.acquire().await?, engine).await,
        };
        if let Some(load) = resident_load {
            load.await
                .map_err(|e| StoreError::Corrupt(format!("loading resident records: {e}")))??;
        }
        graph?;
        // Key roles and owners: a few rows per customer at most, so plain queries.
        for (ws, change) in dispatch!(self.load_assignments())? {
            engine.apply(ws, &steward_engine::GraphChange::Assignment(change));
        }
        // Conversations' messages: direction, timestamp and users of each.
        for (ws, change) in dispatch!(self.load_messages())? {
            engine.apply(ws, &change);
        }
        Ok(())
    }

    // ---- key roles, owners, configuration (roles_ops.rs) ----------------------------------

    /// Every persisted lifecycle state (sticky churn, first-match dates), for start-up.
    pub async fn lifecycle_states(
        &self,
    ) -> Result<Vec<(WorkspaceId, steward_engine::derive::LifecycleRecord)>> {
        dispatch!(self.lifecycle_states())
    }

    /// A record's lifecycle status transitions, oldest first: `(from, to, at)`.
    pub async fn status_history(
        &self,
        ws: WorkspaceId,
        record: uuid::Uuid,
    ) -> Result<Vec<(String, String, steward_engine::time::Millis)>> {
        dispatch!(self.status_history(ws, record))
    }

    /// Every configuration document of a workspace, `(name, value)`, sorted by name.
    pub async fn config_documents(
        &self,
        ws: WorkspaceId,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        let mut docs = dispatch!(self.config_documents(ws))?;
        docs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(docs)
    }

    /// The workspace's API keys (hashes included; never show those), oldest first.
    pub async fn list_api_keys(&self, ws: WorkspaceId) -> Result<Vec<ApiKeyRow>> {
        dispatch!(self.list_api_keys(ws))
    }

    // ---- benchmarks -------------------------------------------------------------------------

    /// Bulk-loads synthetic data (see [`bench::SyntheticData`]); benchmarks only.
    pub async fn bench_seed(
        &self,
        ws: WorkspaceId,
        data: &bench::SyntheticData,
        now: Millis,
    ) -> Result<()> {
        dispatch!(self.bench_seed(ws, data, now))
    }

    /// One single-row insert transaction: the baseline write benchmarks compare against.
    pub async fn bench_raw_insert(
        &self,
        ws: WorkspaceId,
        external_id: &str,
        now: Millis,
    ) -> Result<()> {
        dispatch_write!(self.bench_raw_insert(ws, external_id, now))
    }

    /// One transaction appending these events the way ingestion does, without anything else
    /// ingestion does: the raw-insert baseline of the ingestion benchmark.
    pub async fn bench_raw_events(
        &self,
        ws: WorkspaceId,
        events: &[write::RecordedEvent],
    ) -> Result<()> {
        dispatch_write!(self.bench_raw_events(ws, events))
    }

    /// Bulk-loads synthetic events (see [`bench::SyntheticData`]); benchmarks only.
    pub async fn bench_seed_events(
        &self,
        ws: WorkspaceId,
        data: &bench::SyntheticData,
        count: usize,
        now: Millis,
    ) -> Result<()> {
        dispatch!(self.bench_seed_events(ws, data, count, now))?;
        self.log.invalidate();
        Ok(())
    }

    // ---- writes -----------------------------------------------------------------------------

    /// Applies writes in one transaction (see the crate docs). One result per write, in order.
    /// [`Store::apply_batch`] without the commit: the writes are applied in an open
    /// transaction, which the caller extends (derived state computed from them, read back
    /// through [`PendingBatch::record`]) and then commits, or drops to roll everything back.
    pub async fn begin_batch(
        &self,
        now: Millis,
        batch: &[(WorkspaceId, Write)],
    ) -> Result<(PendingBatch, Vec<std::result::Result<Outcome, WriteError>>)> {
        self.ensure_event_log().await?;
        let turn = self.turn.clone().lock_owned().await;
        let log = &*self.log;
        let known = &*self.known;
        let resident = self.resident.as_deref();
        let (tx, results, log_commit, ids_commit, staged) = match &self.inner {
            Inner::Sqlite(pool) => {
                let pool = self.sqlite_writer.as_ref().unwrap_or(pool);
                let (tx, results, log, ids, staged) =
                    sqlite::begin_batch(pool, now, batch, log, known, resident).await?;
                (PendingTx::Sqlite(tx), results, log, ids, staged)
            }
            Inner::Postgres(pool) => {
                let (tx, results, log, ids, staged) =
                    postgres::begin_batch(pool, now, batch, log, known, resident).await?;
                (PendingTx::Postgres(tx), results, log, ids, staged)
            }
        };
        let pending = PendingBatch {
            tx,
            log: self.log.clone(),
            log_commit,
            known: self.known.clone(),
            ids_commit,
            resident: self
                .resident
                .clone()
                .zip(staged.filter(|commit| !commit.is_empty())),
            wal: self.wal.clone(),
            _turn: turn,
        };
        Ok((pending, results))
    }

    pub async fn apply_batch(
        &self,
        now: Millis,
        batch: &[(WorkspaceId, Write)],
    ) -> Result<Vec<std::result::Result<Outcome, WriteError>>> {
        let (pending, results) = self.begin_batch(now, batch).await?;
        pending.commit().await?;
        Ok(results)
    }
}

#[cfg(feature = "test-support")]
impl Store {
    /// Flushes the event log's index whenever this many entries are unflushed, so that tests
    /// cover flushed runs without writing a quarter of a million events.
    pub fn set_event_index_flush_at(&self, entries: usize) {
        self.log.set_flush_at(entries);
    }
}

#[cfg(feature = "test-support")]
pub mod test_support;
