//! Durable commits on SQLite without the single writer waiting for the disk.
//!
//! A durable commit costs an fsync of the write-ahead log: most of a millisecond here, and
//! with `synchronous=FULL` SQLite does it inside `COMMIT`, so the one writer sat idle for it
//! on every batch. Instead the write connection runs with `synchronous=NORMAL` (a commit
//! appends its pages to the WAL and returns) and
//! [`PendingBatch::commit_visible`](crate::PendingBatch::commit_visible) starts an `fdatasync`
//! of the WAL on a blocking thread at once, handing back a [`Durable`] that resolves when it is
//! done. The writer answers a batch only then, and writes the next batch meanwhile.
//!
//! What stays true:
//! - **An acknowledged write survives a power cut**: it is answered after the fsync of the WAL
//!   that holds it (which covers every earlier commit too: the WAL is one file, appended to).
//! - **No reader sees a commit that could still be lost.** Every read from storage, once done,
//!   waits until the last commit that had *started* is durable ([`WalSync::settled`]): a read
//!   that saw a commit ends after that commit started. State kept outside storage that holds
//!   a commit from the moment it ends (the server's engine) is read the same way: after
//!   [`Store::durable_through`](crate::Store::durable_through) its
//!   [`Store::commit_mark`](crate::Store::commit_mark).
//! - **Checkpoints stay safe**: with `synchronous=NORMAL` SQLite still syncs the WAL before it
//!   copies pages into the database, and the database before the WAL is reused.
//! - **A failed fsync ends the process.** The kernel may have dropped the pages it could not
//!   write, so no retry can tell what survived; answering the batch, or anything after it,
//!   would risk acknowledging a write that is gone (PostgreSQL panics for the same reason).
//!   At the next start SQLite recovers what the disk holds.
//!
//! Checkpoints mostly leave the writer's path too. SQLite checkpoints inside the commit that
//! takes the WAL past 1,000 pages: copying them into the database and two fsyncs, several
//! milliseconds of a commit every few dozen. Here a connection of its own checkpoints
//! (`PASSIVE`: it never blocks the writer) whenever commits went on for [`CHECKPOINT_EVERY`]
//! since the last one. That alone never lets the WAL start over (new commits keep arriving
//! while it copies, so it never copies everything) and the file would grow for as long as
//! writes go on; so the write connection still checkpoints itself, less often
//! ([`WRITER_CHECKPOINT_PAGES`]), finding most pages already copied: its checkpoint is short,
//! and the WAL restarts from its beginning after it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Connection, SqliteConnection, sqlite::SqliteConnectOptions};
use tokio::sync::{mpsc, watch};

/// How often, at most, the WAL is checkpointed while commits go on.
pub(crate) const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// The write connection's own checkpoint threshold, in pages of WAL.
pub(crate) const WRITER_CHECKPOINT_PAGES: &str = "4000";

/// The write-ahead log of one SQLite database, and how far it is known durable.
#[derive(Debug)]
pub(crate) struct WalSync {
    wal: PathBuf,
    /// The number of the last commit started on the write connection (commits are numbered
    /// in the order they run: there is one write connection).
    started: AtomicU64,
    /// Every commit up to this number is durable.
    durable: watch::Sender<u64>,
    /// How many fsyncs ran (for tests).
    syncs: AtomicU64,
    /// Asks the checkpointer for a checkpoint; `None` once closed.
    checkpoints: std::sync::Mutex<Option<mpsc::Sender<()>>>,
    /// When a checkpoint was last asked for, in ms since `opened`.
    asked_at: AtomicU64,
    opened: Instant,
}

impl WalSync {
    /// For the database file `db` (its WAL is `db` + `-wal`), with a checkpointer on a
    /// connection of its own, opened with `options`.
    pub(crate) async fn open(db: &Path, options: SqliteConnectOptions) -> crate::Result<Self> {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let (ask, asked) = mpsc::channel(1);
        let connection = SqliteConnection::connect_with(&options).await?;
        tokio::spawn(checkpointer(connection, asked));
        Ok(Self {
            wal: PathBuf::from(wal),
            started: AtomicU64::new(0),
            durable: watch::Sender::new(0),
            syncs: AtomicU64::new(0),
            checkpoints: std::sync::Mutex::new(Some(ask)),
            asked_at: AtomicU64::new(0),
            opened: Instant::now(),
        })
    }

    /// Stops the checkpointer (its connection closes).
    pub(crate) fn close(&self) {
        self.checkpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    /// Numbers a commit about to run on the write connection; call before `COMMIT`.
    pub(crate) fn begin(&self) -> u64 {
        self.started.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Starts making commit `seq` durable (on a blocking thread), whether or not anyone waits.
    pub(crate) fn sync(self: &Arc<Self>, seq: u64) -> Durable {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.sync_now(seq));
        Durable {
            sync: Some((self.clone(), seq)),
        }
    }

    fn sync_now(&self, seq: u64) {
        if *self.durable.borrow() >= seq {
            return;
        }
        let synced = match std::fs::File::open(&self.wal) {
            Ok(file) => file.sync_data(),
            // No WAL: the last connection closed, which checkpoints it into the database
            // and syncs that first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(cause) = synced {
            tracing::error!(%cause, wal = %self.wal.display(), "fsync of the write-ahead log failed; stopping so that no lost write is acknowledged");
            std::process::abort();
        }
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.durable
            .send_modify(|durable| *durable = (*durable).max(seq));
        self.ask_for_checkpoint();
    }

    fn ask_for_checkpoint(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        let asked = self.asked_at.load(Ordering::Relaxed);
        if now.saturating_sub(asked) < CHECKPOINT_EVERY.as_millis() as u64
            || self
                .asked_at
                .compare_exchange(asked, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Some(ask) = &*self.checkpoints.lock().unwrap_or_else(|p| p.into_inner()) {
            // Full: one is asked for already.
            let _ = ask.try_send(());
        }
    }

    /// Waits until every commit started so far is durable.
    pub(crate) async fn settled(&self) {
        self.durable_through(self.started()).await;
    }

    /// The number of the last commit started.
    pub(crate) fn started(&self) -> u64 {
        self.started.load(Ordering::SeqCst)
    }

    /// Waits until commit `seq` and every one before it are durable.
    pub(crate) async fn durable_through(&self, seq: u64) {
        if *self.durable.borrow() >= seq {
            return;
        }
        let mut durable = self.durable.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = durable.wait_for(|d| *d >= seq).await;
    }

    pub(crate) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

/// A committed batch on its way to disk (see the module docs).
#[must_use = "a commit is acknowledged only once it is durable"]
#[derive(Debug)]
pub struct Durable {
    /// `None`: durable already (PostgreSQL, or a database with no file).
    sync: Option<(Arc<WalSync>, u64)>,
}

impl Durable {
    pub(crate) fn now() -> Self {
        Self { sync: None }
    }

    /// Resolves once the commit survives a power cut.
    pub async fn wait(self) {
        if let Some((wal, seq)) = self.sync {
            wal.durable_through(seq).await;
        }
    }
}

/// Checkpoints the WAL whenever asked, until the store closes.
async fn checkpointer(mut connection: SqliteConnection, mut asked: mpsc::Receiver<()>) {
    while asked.recv().await.is_some() {
        if let Err(cause) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut connection)
            .await
        {
            // The write connection's backstop checkpoints instead.
            tracing::warn!(%cause, "checkpoint of the write-ahead log failed");
        }
    }
    let _ = connection.close().await;
}
