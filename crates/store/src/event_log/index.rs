//! Which events belong to which record: the owner index of the event log.
//!
//! An entry names one event by its time and its position in the log (`key = seq << 16 |
//! index`), so entries sort as the API pages events: newest first by time, then by id. Each
//! event has an entry under its user, its account and its organization.
//!
//! Entries of recent chunks live in memory ([`OwnerIndex`]); past a size they are flushed to
//! storage as *runs*, one row per record holding its entries sorted newest first (see
//! [`encode_run`]). Ingestion therefore never updates a per-event B-tree: a commit appends one
//! chunk row, and a flush writes one row per record that had events since the last flush.

use uuid::Uuid;

use crate::error::{Result, StoreError};

/// One event under one record: newest-first order is descending `(at, key)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Entry {
    pub(crate) at: i64,
    pub(crate) key: u64,
}

impl Entry {
    pub(crate) fn new(at: i64, seq: i64, index: usize) -> Self {
        Self {
            at,
            key: ((seq as u64) << 16) | index as u64,
        }
    }

    pub(crate) fn seq(&self) -> i64 {
        (self.key >> 16) as i64
    }

    pub(crate) fn index(&self) -> usize {
        (self.key & 0xffff) as usize
    }
}

/// The entries of the chunks not yet flushed, by record.
///
/// Kept as a few *segments*, each sorted by record and then newest first: a commit sorts its
/// own entries into a new segment (one sort of a few hundred pairs, instead of a hash-table
/// insert and a vector push per entry at a random place, which cost the single writer more than
/// the chunk's insert). Segments merge in tiers: once [`FANOUT`] of about the same size gather,
/// they merge into one, so an entry is copied about log₈(entries / commit size) times (three
/// at the flush size; pairwise merging copied it nine times, streaming megabytes through the
/// cache on every commit), and there are at most a few dozen segments. A record's entries are
/// a binary search in each, and a flush merges the segments into runs without sorting
/// anything again. Records are compared as `u128` (the order of their UUIDs' bytes), a
/// register compare rather than a `memcmp`.
/// How many segments of a tier merge into one.
const FANOUT: usize = 8;

#[derive(Debug, Default)]
pub(crate) struct OwnerIndex {
    /// Oldest (largest) first; each in [`Owned`] order.
    segments: Vec<Vec<Owned>>,
    entries: usize,
}

/// An entry under its record; ordered by record, then newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Owned {
    owner: u128,
    entry: Entry,
}

impl Owned {
    fn order(&self) -> (u128, std::cmp::Reverse<Entry>) {
        (self.owner, std::cmp::Reverse(self.entry))
    }
}

impl OwnerIndex {
    /// Adds the entries of one commit (or one chunk).
    pub(crate) fn add_all(&mut self, entries: Vec<(Uuid, Entry)>) {
        if entries.is_empty() {
            return;
        }
        self.entries += entries.len();
        let mut segment: Vec<Owned> = entries
            .into_iter()
            .map(|(owner, entry)| Owned {
                owner: owner.as_u128(),
                entry,
            })
            .collect();
        segment.sort_unstable_by_key(Owned::order);
        self.segments.push(segment);
        // The newest FANOUT segments merge once those after the first of them hold at least as
        // much as it does: FANOUT commits make a segment, FANOUT of those the next tier, ...
        while self.segments.len() >= FANOUT {
            let first = self.segments.len() - FANOUT;
            let after: usize = self.segments[first + 1..].iter().map(Vec::len).sum();
            if after < self.segments[first].len() {
                break;
            }
            let merged = merge_all(&self.segments[first..]);
            self.segments.truncate(first);
            self.segments.push(merged);
        }
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// `owner`'s entries, newest first within each segment.
    pub(crate) fn of(&self, owner: Uuid) -> impl Iterator<Item = Entry> + '_ {
        let owner = owner.as_u128();
        self.segments.iter().flat_map(move |segment| {
            let start = segment.partition_point(|o| o.owner < owner);
            segment[start..]
                .iter()
                .take_while(move |o| o.owner == owner)
                .map(|o| o.entry)
        })
    }

    pub(crate) fn forget(&mut self, owner: Uuid) {
        let owner = owner.as_u128();
        for segment in &mut self.segments {
            let before = segment.len();
            segment.retain(|o| o.owner != owner);
            self.entries -= before - segment.len();
        }
        self.segments.retain(|s| !s.is_empty());
    }

    pub(crate) fn clear(&mut self) {
        self.segments.clear();
        self.entries = 0;
    }

    /// Drops the entries of the chunks through `through` (flushed to runs).
    pub(crate) fn flushed(&mut self, through: i64) {
        for segment in &mut self.segments {
            let before = segment.len();
            segment.retain(|o| o.entry.seq() > through);
            self.entries -= before - segment.len();
        }
        self.segments.retain(|s| !s.is_empty());
    }

    /// Every record's entries as one run each, in record order.
    pub(crate) fn runs(&self) -> Vec<Run> {
        // Newest (smallest) segments first: each merge roughly doubles what it carries.
        let mut all = Vec::with_capacity(self.entries);
        for segment in self.segments.iter().rev() {
            merge_into(&mut all, segment);
        }
        all.chunk_by(|a, b| a.owner == b.owner)
            .map(|group| Run {
                owner: Uuid::from_u128(group[0].owner),
                min_at: group.last().map_or(0, |o| o.entry.at),
                max_at: group.first().map_or(0, |o| o.entry.at),
                count: group.len() as i64,
                bytes: encode_run(group.iter().map(|o| &o.entry)),
            })
            .collect()
    }
}

/// Merges sorted segments (each in [`Owned`] order) into one, each entry copied once.
fn merge_all(segments: &[Vec<Owned>]) -> Vec<Owned> {
    let mut out = Vec::with_capacity(segments.iter().map(Vec::len).sum());
    let mut heads: Vec<&[Owned]> = segments
        .iter()
        .filter(|s| !s.is_empty())
        .map(Vec::as_slice)
        .collect();
    while heads.len() > 1 {
        let mut best = 0;
        for i in 1..heads.len() {
            if heads[i][0].order() < heads[best][0].order() {
                best = i;
            }
        }
        out.push(heads[best][0]);
        heads[best] = &heads[best][1..];
        if heads[best].is_empty() {
            heads.swap_remove(best);
        }
    }
    if let Some(last) = heads.first() {
        out.extend_from_slice(last);
    }
    out
}

/// Merges `from` into `into` (both in [`Owned`] order), in place from the back: no new
/// allocation to fault in and zero (that was a quarter of a commit's indexing).
fn merge_into(into: &mut Vec<Owned>, from: &[Owned]) {
    let Some(&filler) = from.first() else { return };
    let (mut i, mut j) = (into.len(), from.len());
    into.resize(i + j, filler);
    let mut k = i + j;
    while j > 0 {
        k -= 1;
        if i > 0 && into[i - 1].order() > from[j - 1].order() {
            i -= 1;
            into[k] = into[i];
        } else {
            j -= 1;
            into[k] = from[j];
        }
    }
}

/// One record's entries from one flush, as stored.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub(crate) owner: Uuid,
    pub(crate) min_at: i64,
    pub(crate) max_at: i64,
    pub(crate) count: i64,
    pub(crate) bytes: Vec<u8>,
}

/// Entries as 16 bytes each (`at`, `key`, little-endian).
pub(crate) fn encode_run<'a>(entries: impl ExactSizeIterator<Item = &'a Entry>) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 16);
    for e in entries {
        out.extend_from_slice(&e.at.to_le_bytes());
        out.extend_from_slice(&e.key.to_le_bytes());
    }
    out
}

pub(crate) fn decode_run(bytes: &[u8], out: &mut Vec<Entry>) -> Result<()> {
    if !bytes.len().is_multiple_of(16) {
        return Err(StoreError::Corrupt("event index run: bad length".into()));
    }
    out.extend(bytes.chunks_exact(16).map(|c| Entry {
        at: i64::from_le_bytes(c[..8].try_into().expect("8 bytes")),
        key: u64::from_le_bytes(c[8..].try_into().expect("8 bytes")),
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_hold_each_owners_entries_newest_first() {
        let mut index = OwnerIndex::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        index.add_all(vec![(a, Entry::new(10, 1, 0)), (a, Entry::new(30, 1, 1))]);
        index.add_all(vec![(b, Entry::new(20, 2, 0)), (a, Entry::new(30, 2, 5))]);
        assert_eq!(index.entries(), 4);
        let runs = index.runs();
        assert_eq!(runs.len(), 2);
        let mut back = Vec::new();
        decode_run(&runs[0].bytes, &mut back).unwrap();
        assert_eq!(
            back,
            vec![
                Entry::new(30, 2, 5),
                Entry::new(30, 1, 1),
                Entry::new(10, 1, 0)
            ]
        );
        assert_eq!((runs[0].min_at, runs[0].max_at, runs[0].count), (10, 30, 3));
        assert_eq!(back[0].seq(), 2);
        assert_eq!(back[0].index(), 5);
        index.forget(a);
        assert_eq!(index.entries(), 1);
        assert_eq!(index.of(b).collect::<Vec<_>>(), vec![Entry::new(20, 2, 0)]);
    }

    proptest::proptest! {
        /// Whatever the sizes of the commits, a record's entries are exactly those added for it,
        /// and segments stay few.
        #[test]
        fn segments_find_every_entry(commits in proptest::collection::vec(
            proptest::collection::vec((0u128..20, 0i64..50), 0..40), 0..200,
        )) {
            let mut index = OwnerIndex::default();
            let mut expected: std::collections::BTreeMap<u128, Vec<Entry>> = Default::default();
            for (seq, commit) in commits.iter().enumerate() {
                let entries: Vec<(Uuid, Entry)> = commit
                    .iter()
                    .enumerate()
                    .map(|(i, (owner, at))| (Uuid::from_u128(*owner), Entry::new(*at, seq as i64, i)))
                    .collect();
                for (owner, entry) in &entries {
                    expected.entry(owner.as_u128()).or_default().push(*entry);
                }
                index.add_all(entries);
            }
            let total: usize = expected.values().map(Vec::len).sum();
            proptest::prop_assert_eq!(index.entries(), total);
            // FANOUT - 1 per tier at most, tiers growing by FANOUT from the smallest commit.
            proptest::prop_assert!(index.segments.len() < FANOUT * (2 + total.max(1).ilog(FANOUT) as usize));
            for segment in &index.segments {
                proptest::prop_assert!(segment.is_sorted_by_key(Owned::order));
            }
            for owner in 0..20u128 {
                let mut found: Vec<Entry> = index.of(Uuid::from_u128(owner)).collect();
                found.sort_unstable();
                let mut want = expected.get(&owner).cloned().unwrap_or_default();
                want.sort_unstable();
                proptest::prop_assert_eq!(found, want);
            }
            // A flush holds every record's entries once, records in order, newest first.
            let runs = index.runs();
            proptest::prop_assert_eq!(runs.len(), expected.len());
            for (run, (owner, entries)) in runs.iter().zip(&expected) {
                proptest::prop_assert_eq!(run.owner.as_u128(), *owner);
                let mut back = Vec::new();
                decode_run(&run.bytes, &mut back).unwrap();
                let mut want = entries.clone();
                want.sort_unstable_by(|a, b| b.cmp(a));
                proptest::prop_assert_eq!((run.min_at, run.max_at), (want[want.len() - 1].at, want[0].at));
                proptest::prop_assert_eq!(back, want);
            }
        }
    }
}
