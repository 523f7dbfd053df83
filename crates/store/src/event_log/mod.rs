//! The event log: append-only chunks, an owner index, and replay detection.
//!
//! # Why chunks
//!
//! Ingestion is sustained and durable: a request is answered once its events are committed.
//! Stored one row per event, every event costs a B-tree insert per index (by user, account,
//! organization, and the replay table by message id), each at a random place; at a hundred
//! events a commit that is hundreds of dirty pages written per commit, and the disk, not the
//! CPU, sets the pace. So one commit appends **one row per workspace**: a *chunk* holding every
//! event and message key that commit ingested, in a compact binary form (`chunk.rs`). A commit
//! writes a few pages, in order.
//!
//! # Reading it back
//!
//! - **Start-up** scans the chunks in order (sequential reads, no per-row decoding of JSON) to
//!   rebuild the usage metrics, and with them this module's in-memory state.
//! - **A record's events** (`GET …/:id/events`) come from the owner index (`index.rs`): entries
//!   of recent chunks in memory, older ones in *runs* flushed to storage (one row per record
//!   per flush, written in key order). A page merges the two, then reads the chunks its events
//!   are in.
//! - **Deleting** a user, account or organization stores a *tombstone*; reading a chunk treats
//!   references to a buried record as absent (a deleted account also takes its organization
//!   off its events, as before), and an event left with no record is gone. Chunks are never
//!   rewritten.
//!
//! # Replays
//!
//! Each message's key (`MessageKey`: a hash of workspace and message id) is stored in its
//! chunk. The keys of the last [`REPLAY_WINDOW`] are held in memory, rebuilt at start-up from
//! the chunks: a message whose key was seen in the window is a replay and changes nothing. The
//! window is Segment's own (about a day): retries and replayed batches arrive within it, and
//! keeping every key forever would cost memory or a random B-tree insert per message.

pub(crate) mod chunk;
pub(crate) mod index;
#[cfg(test)]
mod legacy_tests;

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use foldhash::HashMap;
use steward_engine::ids::WorkspaceId;
use steward_engine::time::Millis;
use uuid::Uuid;

use chunk::{ChunkEvent, MessageKey};
use index::{Entry, OwnerIndex, Run};

/// How long a message key is remembered for replay detection.
pub const REPLAY_WINDOW: Millis = Millis(24 * 3_600_000);

/// Unflushed index entries past which a commit flushes them to runs (32 MB of entries). A flush
/// writes a row per record with events since the last one, each at a random place in the runs'
/// B-tree; the fewer flushes, the fewer rows per event (a flush of 262,144 entries was a fifth
/// of the writer's time at 100,000 events/s).
pub(crate) const FLUSH_AT: usize = 1 << 20;

/// The log's in-memory state: rebuilt from storage, changed only after a commit.
#[derive(Debug)]
pub(crate) struct EventLog {
    state: Mutex<LogState>,
    /// [`FLUSH_AT`], lower in tests that want flushes.
    flush_at: AtomicUsize,
}

impl Default for EventLog {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            flush_at: AtomicUsize::new(FLUSH_AT),
        }
    }
}

#[derive(Debug, Default)]
struct LogState {
    built: bool,
    next_seq: i64,
    flushed_through: i64,
    /// Message keys received in the replay window, with when.
    recent: RecentKeys,
    /// When `recent` was last pruned.
    pruned_at: i64,
    unflushed: OwnerIndex,
    /// The last chunk whose entries are in `unflushed` (or flushed): a flush covers these.
    indexed_through: i64,
    /// Whether a committed batch's [`IndexUpdate`] is yet to be applied.
    update_due: bool,
    /// Whether that update holds a flush: until it is applied, the flushed entries are still
    /// here and must not be planned again.
    flush_due: bool,
    buried: HashSet<Uuid>,
}

/// A chunk a batch appends, inserted with the batch's commit.
#[derive(Debug)]
pub(crate) struct ChunkRow {
    pub(crate) seq: i64,
    pub(crate) workspace: WorkspaceId,
    pub(crate) received_at: Millis,
    pub(crate) events: i64,
    pub(crate) body: Vec<u8>,
}

impl ChunkRow {
    /// Chunk `seq` of `workspace` holding `events` and the `messages` received with them.
    pub(crate) fn encode(
        seq: i64,
        workspace: WorkspaceId,
        received_at: Millis,
        messages: &[MessageKey],
        events: &[&crate::write::RecordedEvent],
    ) -> Self {
        Self {
            seq,
            workspace,
            received_at,
            events: events.len() as i64,
            body: chunk::encode(received_at, messages, events),
        }
    }
}

/// What a committed batch changes in the log's state.
#[derive(Debug, Default)]
pub(crate) struct LogCommit {
    /// The batch's chunks, inserted by its commit (in the same round trip on SQLite).
    pub(crate) chunks: Vec<ChunkRow>,
    pub(crate) messages: Vec<MessageKey>,
    pub(crate) entries: Vec<(Uuid, Entry)>,
    pub(crate) flushed_through: Option<i64>,
    pub(crate) forgotten: Vec<Uuid>,
    pub(crate) now: i64,
}

/// What a committed batch adds to the owner index: its events' entries, the flush it wrote
/// and the records it deleted. Applied when dropped (or by [`IndexUpdate::apply`]).
///
/// The message keys a batch commits are learnt at once (the next batch's replay check needs
/// them), but the index only serves event pages, so the single writer can leave it to another
/// thread: the update must be applied in commit order, before the next batch commits.
/// A flush covers only the chunks already indexed (`indexed_through`), so one planned while
/// an update is still due loses nothing: the entries it did not see stay unflushed.
#[derive(Debug)]
pub struct IndexUpdate {
    log: Option<std::sync::Arc<EventLog>>,
    entries: Vec<(Uuid, Entry)>,
    flushed_through: Option<i64>,
    forgotten: Vec<Uuid>,
    last_seq: Option<i64>,
}

impl IndexUpdate {
    /// Adds the batch's entries to the index (what dropping it does).
    pub fn apply(self) {}
}

impl Drop for IndexUpdate {
    fn drop(&mut self) {
        if let Some(log) = self.log.take() {
            log.indexed(self);
        }
    }
}

/// The message keys of a batch being applied: which messages are new, and, per write, the keys
/// its chunk must store.
#[derive(Debug, Default)]
pub(crate) struct BatchKeys {
    /// Keys of the batch's writes that succeeded.
    accepted: foldhash::HashSet<MessageKey>,
    /// Fresh keys of the write being applied.
    pending: Vec<MessageKey>,
    per_write: Vec<Vec<MessageKey>>,
}

impl BatchKeys {
    /// Whether each message of an ingestion write is new: not seen in the replay window, not
    /// in an earlier write of the batch, not earlier in the same request.
    pub(crate) fn fresh(
        &mut self,
        log: &EventLog,
        ws: WorkspaceId,
        ops: &[crate::write::IngestOp],
    ) -> Vec<bool> {
        self.pending.clear();
        let mut this_request: foldhash::HashSet<MessageKey> =
            HashSet::with_capacity_and_hasher(ops.len(), Default::default());
        let state = log.state();
        ops.iter()
            .map(|op| {
                let key = op.message_id.key(ws);
                let fresh = !self.accepted.contains(&key)
                    && !state.recent.contains_key(&recent_key(key))
                    && this_request.insert(key);
                if fresh {
                    self.pending.push(key);
                }
                fresh
            })
            .collect()
    }

    /// Closes the write being applied: its keys count if it succeeded.
    pub(crate) fn settle(&mut self, succeeded: bool) {
        let keys = std::mem::take(&mut self.pending);
        if succeeded {
            self.accepted.extend(keys.iter().copied());
            self.per_write.push(keys);
        } else {
            self.per_write.push(Vec::new());
        }
    }

    /// Each write's keys, in batch order.
    pub(crate) fn by_write(self) -> Vec<Vec<MessageKey>> {
        self.per_write
    }
}

/// Takes references to deleted records off an event; `false` when nothing is left.
pub(crate) fn bury(event: &mut ChunkEvent<'_>, buried: impl Fn(Uuid) -> bool) -> bool {
    let gone = |id: Option<Uuid>| id.is_some_and(&buried);
    if gone(event.user) {
        event.user = None;
    }
    if gone(event.account) {
        event.account = None;
        event.organization = None;
    }
    if gone(event.organization) {
        event.organization = None;
    }
    event.user.is_some() || event.account.is_some() || event.organization.is_some()
}

/// The message keys of the replay window: 64 of their 128 bits, with the second they were
/// received, 16 bytes an entry instead of 32 (a day of 100 events a second is 8.6 million
/// keys; with the table's spare room 170–300 MB). Two messages share 64 bits by chance with probability n / 2⁶⁴ for a window of n
/// keys: at 1,000 events a second all day, one new message in 2·10¹¹ would be taken for a
/// replay. Chunks keep all 128 bits.
type RecentKeys = HashMap<u64, u32>;

/// A message key as [`RecentKeys`] holds it.
fn recent_key(key: MessageKey) -> u64 {
    key.0 as u64
}

/// A time in milliseconds as [`RecentKeys`] holds it: seconds since 1970.
fn recent_second(millis: i64) -> u32 {
    (millis.max(0) / 1000).min(i64::from(u32::MAX)) as u32
}

/// Forgets message keys received before the replay window, at most once an hour of log time.
fn prune(recent: &mut RecentKeys, pruned_at: &mut i64, now: i64) {
    if now - *pruned_at > 3_600_000 {
        let horizon = recent_second(now - REPLAY_WINDOW.0);
        recent.retain(|_, at| *at > horizon);
        *pruned_at = now;
    }
}

/// The index entries of an event: one under each record it belongs to.
pub(crate) fn owners_of(event: &ChunkEvent<'_>) -> impl Iterator<Item = Uuid> {
    [event.user, event.account, event.organization]
        .into_iter()
        .flatten()
}

impl EventLog {
    fn state(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_built(&self) -> bool {
        self.state().built
    }

    /// Installs state rebuilt from storage.
    pub(crate) fn install(&self, rebuilt: Rebuild) {
        let mut state = self.state();
        *state = LogState {
            built: true,
            next_seq: rebuilt.last_seq + 1,
            flushed_through: rebuilt.flushed_through,
            pruned_at: rebuilt.latest_received,
            recent: rebuilt.recent,
            unflushed: rebuilt.unflushed,
            indexed_through: rebuilt.last_seq,
            update_due: false,
            flush_due: false,
            buried: rebuilt.buried,
        };
    }

    /// Reserves `n` consecutive chunk numbers; answers the first. Numbers of a batch that
    /// rolls back are skipped, never reused.
    pub(crate) fn reserve(&self, n: usize) -> i64 {
        let mut state = self.state();
        let first = state.next_seq;
        state.next_seq += n as i64;
        first
    }

    /// Forgets the in-memory state: the next use rebuilds it from storage (after storage
    /// was changed behind the log's back, as the benchmarks' bulk loads do).
    pub(crate) fn invalidate(&self) {
        self.state().built = false;
    }

    /// Flushes the index once this many entries are unflushed (tests).
    #[cfg(feature = "test-support")]
    pub(crate) fn set_flush_at(&self, entries: usize) {
        self.flush_at.store(entries, Ordering::Relaxed);
    }

    /// Whether a record was deleted (its references in chunks read as absent).
    pub(crate) fn is_buried(&self, id: Uuid) -> bool {
        self.state().buried.contains(&id)
    }

    /// The unflushed entries of these records.
    pub(crate) fn unflushed_of(&self, owners: &[Uuid]) -> Vec<Entry> {
        let state = self.state();
        owners.iter().flat_map(|o| state.unflushed.of(*o)).collect()
    }

    /// When the unflushed entries are many: the runs to write and the last chunk they cover
    /// (the last one indexed: a batch whose update is still due is left to the next flush).
    pub(crate) fn flush_plan(&self) -> Option<(i64, Vec<Run>)> {
        let flush_at = self.flush_at.load(Ordering::Relaxed);
        let state = self.state();
        (!state.flush_due && state.unflushed.entries() >= flush_at.max(1))
            .then(|| (state.indexed_through, state.unflushed.runs()))
    }

    /// Learns what a batch committed: its message keys at once, its index entries when the
    /// returned update is applied.
    pub(crate) fn committed(self: &std::sync::Arc<Self>, commit: LogCommit) -> IndexUpdate {
        let mut state = self.state();
        debug_assert!(
            !state.update_due,
            "a batch committed before the last one's index update was applied"
        );
        for key in commit.messages {
            state
                .recent
                .insert(recent_key(key), recent_second(commit.now));
        }
        let LogState {
            recent, pruned_at, ..
        } = &mut *state;
        prune(recent, pruned_at, commit.now);
        state.update_due = true;
        state.flush_due = commit.flushed_through.is_some();
        IndexUpdate {
            log: Some(self.clone()),
            last_seq: commit.chunks.iter().map(|c| c.seq).max(),
            entries: commit.entries,
            flushed_through: commit.flushed_through,
            forgotten: commit.forgotten,
        }
    }

    fn indexed(&self, update: &mut IndexUpdate) {
        let mut state = self.state();
        if let Some(through) = update.flushed_through {
            // The flush covered every entry of the chunks through `through`.
            state.unflushed.flushed(through);
            state.flushed_through = through;
        }
        for owner in &update.forgotten {
            state.unflushed.forget(*owner);
            state.buried.insert(*owner);
        }
        state.unflushed.add_all(std::mem::take(&mut update.entries));
        if let Some(last) = update.last_seq {
            state.indexed_through = state.indexed_through.max(last);
        }
        state.update_due = false;
        state.flush_due = false;
    }
}

/// The log's state rebuilt from a scan of every chunk in order.
#[derive(Debug, Default)]
pub(crate) struct Rebuild {
    last_seq: i64,
    flushed_through: i64,
    latest_received: i64,
    pruned_at: i64,
    recent: RecentKeys,
    unflushed: OwnerIndex,
    pub(crate) buried: HashSet<Uuid>,
}

impl Rebuild {
    pub(crate) fn new(flushed_through: i64, buried: HashSet<Uuid>) -> Self {
        Self {
            flushed_through,
            buried,
            ..Self::default()
        }
    }

    /// Takes in one chunk; `visit` sees each of its events still tied to a record.
    pub(crate) fn chunk(
        &mut self,
        seq: i64,
        received_at: Millis,
        bytes: &[u8],
        visit: &mut dyn FnMut(&ChunkEvent<'_>),
    ) -> crate::error::Result<()> {
        let mut chunk = chunk::Chunk::open(bytes, received_at)?;
        self.last_seq = self.last_seq.max(seq);
        self.latest_received = self.latest_received.max(received_at.0);
        // Chunks come in order of receipt: keys fall out of the window as the scan moves on.
        prune(&mut self.recent, &mut self.pruned_at, received_at.0);
        for key in &chunk.messages {
            self.recent
                .insert(recent_key(*key), recent_second(received_at.0));
        }
        let indexed = seq > self.flushed_through;
        let mut index = 0;
        let mut entries = Vec::new();
        while let Some(mut event) = chunk.next_event()? {
            if self.buried.is_empty() || bury(&mut event, |id| self.buried.contains(&id)) {
                if indexed {
                    let entry = Entry::new(event.at.0, seq, index);
                    entries.extend(owners_of(&event).map(|owner| (owner, entry)));
                }
                visit(&event);
            }
            index += 1;
        }
        self.unflushed.add_all(entries);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_of(seq: i64, flushed_through: Option<i64>) -> LogCommit {
        let owner = Uuid::from_u128(seq as u128);
        LogCommit {
            chunks: vec![ChunkRow::encode(
                seq,
                WorkspaceId(Uuid::nil()),
                Millis(0),
                &[],
                &[],
            )],
            entries: vec![(owner, Entry::new(seq, seq, 0))],
            flushed_through,
            ..LogCommit::default()
        }
    }

    #[test]
    fn a_flush_waits_for_the_update_of_the_last_one_and_covers_only_what_is_indexed() {
        let log = std::sync::Arc::new(EventLog::default());
        log.install(Rebuild::default());
        log.flush_at.store(2, Ordering::Relaxed);
        log.committed(commit_of(1, None)).apply();
        log.committed(commit_of(2, None)).apply();
        let (through, runs) = log.flush_plan().expect("two entries are due");
        assert_eq!((through, runs.len()), (2, 2));
        // The flushing batch is committed, its update not yet applied.
        let flushing = log.committed(commit_of(3, Some(through)));
        assert!(
            log.flush_plan().is_none(),
            "the same entries, flushed twice"
        );
        flushing.apply();
        assert_eq!(log.unflushed_of(&[Uuid::from_u128(1)]), vec![]);
        assert_eq!(log.unflushed_of(&[Uuid::from_u128(3)]).len(), 1);
        log.committed(commit_of(4, None)).apply();
        // A flush planned while the last batch's update is due leaves its entries unflushed.
        let pending = log.committed(commit_of(5, None));
        let (through, runs) = log.flush_plan().expect("two entries are due");
        assert_eq!((through, runs.len()), (4, 2));
        pending.apply();
        log.committed(commit_of(6, Some(through))).apply();
        assert_eq!(log.unflushed_of(&[Uuid::from_u128(4)]), vec![]);
        assert_eq!(
            log.unflushed_of(&[Uuid::from_u128(5)]).len(),
            1,
            "not in the flush"
        );
        assert_eq!(log.unflushed_of(&[Uuid::from_u128(6)]).len(), 1);
    }
}
