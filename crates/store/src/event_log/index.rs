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
/// Kept as a few *segments*, each sorted by record: a commit sorts its own entries into a new
/// segment (one sort of a few hundred pairs, instead of a hash-table insert and a vector push
/// per entry at a random place, which cost the single writer more than the chunk's insert),
/// and segments of similar size merge, so there are about log2(entries / commit size) of them.
/// A record's entries are a binary search in each.
#[derive(Debug, Default)]
pub(crate) struct OwnerIndex {
    /// Oldest (largest) first; each sorted by owner.
    segments: Vec<Vec<(Uuid, Entry)>>,
    entries: usize,
}

impl OwnerIndex {
    /// Adds the entries of one commit (or one chunk).
    pub(crate) fn add_all(&mut self, mut entries: Vec<(Uuid, Entry)>) {
        if entries.is_empty() {
            return;
        }
        self.entries += entries.len();
        entries.sort_unstable_by_key(|(owner, _)| *owner);
        self.segments.push(entries);
        // Like a binary counter: a segment at least half its elder's size merges into it.
        while let [.., elder, newer] = &self.segments[..] {
            if newer.len() * 2 < elder.len() {
                break;
            }
            let newer = self.segments.pop().expect("two segments");
            let elder = self.segments.pop().expect("two segments");
            self.segments.push(merge(elder, newer));
        }
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// `owner`'s entries, in no particular order.
    pub(crate) fn of(&self, owner: Uuid) -> impl Iterator<Item = Entry> + '_ {
        self.segments.iter().flat_map(move |segment| {
            let start = segment.partition_point(|(o, _)| *o < owner);
            segment[start..]
                .iter()
                .take_while(move |(o, _)| *o == owner)
                .map(|(_, e)| *e)
        })
    }

    pub(crate) fn forget(&mut self, owner: Uuid) {
        for segment in &mut self.segments {
            let before = segment.len();
            segment.retain(|(o, _)| *o != owner);
            self.entries -= before - segment.len();
        }
        self.segments.retain(|s| !s.is_empty());
    }

    pub(crate) fn clear(&mut self) {
        self.segments.clear();
        self.entries = 0;
    }

    /// Every record's entries as one run each, in record order.
    pub(crate) fn runs(&self) -> Vec<Run> {
        let mut all: Vec<(Uuid, Entry)> = self.segments.concat();
        // By record, then newest first.
        all.sort_unstable_by(|(a, x), (b, y)| a.cmp(b).then(y.cmp(x)));
        all.chunk_by(|(a, _), (b, _)| a == b)
            .map(|group| {
                let sorted: Vec<Entry> = group.iter().map(|(_, e)| *e).collect();
                Run {
                    owner: group[0].0,
                    min_at: sorted.last().map_or(0, |e| e.at),
                    max_at: sorted.first().map_or(0, |e| e.at),
                    count: sorted.len() as i64,
                    bytes: encode_run(&sorted),
                }
            })
            .collect()
    }
}

/// Two segments sorted by owner as one.
fn merge(a: Vec<(Uuid, Entry)>, b: Vec<(Uuid, Entry)>) -> Vec<(Uuid, Entry)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0 <= y.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
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
pub(crate) fn encode_run(entries: &[Entry]) -> Vec<u8> {
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
            proptest::collection::vec((0u128..20, 0i64..1000), 0..40), 0..60,
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
            proptest::prop_assert!(index.segments.len() <= 2 + total.max(1).ilog2() as usize);
            for owner in 0..20u128 {
                let mut found: Vec<Entry> = index.of(Uuid::from_u128(owner)).collect();
                found.sort_unstable();
                let mut want = expected.get(&owner).cloned().unwrap_or_default();
                want.sort_unstable();
                proptest::prop_assert_eq!(found, want);
            }
        }
    }
}
