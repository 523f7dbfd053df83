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
/// A vector per record, appended to in commit order and sorted only when read: a page sorts
/// what it gathers anyway, and a flush sorts each record's entries once. Adding a commit's
/// entries costs a hash probe and a push each. (Kept sorted instead, as tiers of merged
/// segments, a commit cost six times as much: the merges copied every entry a few times over.)
/// The index is updated beside the single writer (see [`super::IndexUpdate`]).
#[derive(Debug, Default)]
pub(crate) struct OwnerIndex {
    by_owner: foldhash::HashMap<Uuid, Vec<Entry>>,
    entries: usize,
}

impl OwnerIndex {
    /// Adds the entries of one commit (or one chunk).
    pub(crate) fn add_all(&mut self, entries: Vec<(Uuid, Entry)>) {
        self.entries += entries.len();
        for (owner, entry) in entries {
            self.by_owner.entry(owner).or_default().push(entry);
        }
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// `owner`'s entries, in no particular order.
    pub(crate) fn of(&self, owner: Uuid) -> impl Iterator<Item = Entry> + '_ {
        self.by_owner.get(&owner).into_iter().flatten().copied()
    }

    pub(crate) fn forget(&mut self, owner: Uuid) {
        if let Some(gone) = self.by_owner.remove(&owner) {
            self.entries -= gone.len();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.by_owner.clear();
        self.entries = 0;
    }

    /// Drops the entries of the chunks through `through` (flushed to runs).
    pub(crate) fn flushed(&mut self, through: i64) {
        let mut left = 0;
        self.by_owner.retain(|_, entries| {
            entries.retain(|e| e.seq() > through);
            left += entries.len();
            !entries.is_empty()
        });
        self.entries = left;
    }

    /// Every record's entries as one run each, in record order, newest first within a run.
    pub(crate) fn runs(&self) -> Vec<Run> {
        let mut owners: Vec<(&Uuid, &Vec<Entry>)> = self.by_owner.iter().collect();
        owners.sort_unstable_by_key(|(owner, _)| **owner);
        let mut sorted = Vec::new();
        owners
            .into_iter()
            .map(|(owner, entries)| {
                sorted.clear();
                sorted.extend_from_slice(entries);
                sorted.sort_unstable_by(|a, b| b.cmp(a));
                Run {
                    owner: *owner,
                    min_at: sorted.last().map_or(0, |e| e.at),
                    max_at: sorted.first().map_or(0, |e| e.at),
                    count: sorted.len() as i64,
                    bytes: encode_run(sorted.iter()),
                }
            })
            .collect()
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
        index.add_all(vec![(b, Entry::new(5, 3, 0))]);
        index.flushed(2);
        assert_eq!(index.entries(), 1);
        assert_eq!(index.of(b).collect::<Vec<_>>(), vec![Entry::new(5, 3, 0)]);
    }

    proptest::proptest! {
        /// Whatever the sizes of the commits, a record's entries are exactly those added for it.
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
