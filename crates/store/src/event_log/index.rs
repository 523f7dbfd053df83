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

use foldhash::HashMap;
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
#[derive(Debug, Default)]
pub(crate) struct OwnerIndex {
    by_owner: HashMap<Uuid, Vec<Entry>>,
    entries: usize,
}

impl OwnerIndex {
    pub(crate) fn add(&mut self, owner: Uuid, entry: Entry) {
        self.by_owner.entry(owner).or_default().push(entry);
        self.entries += 1;
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    pub(crate) fn of(&self, owner: Uuid) -> &[Entry] {
        self.by_owner.get(&owner).map_or(&[], Vec::as_slice)
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

    /// Every record's entries as one run each: `(owner, min_at, max_at, run bytes)`.
    pub(crate) fn runs(&self) -> Vec<Run> {
        let mut runs: Vec<Run> = self
            .by_owner
            .iter()
            .map(|(owner, entries)| {
                let mut sorted = entries.clone();
                sorted.sort_unstable_by(|a, b| b.cmp(a));
                Run {
                    owner: *owner,
                    min_at: sorted.last().map_or(0, |e| e.at),
                    max_at: sorted.first().map_or(0, |e| e.at),
                    count: sorted.len() as i64,
                    bytes: encode_run(&sorted),
                }
            })
            .collect();
        // Inserted in key order, they fill the runs table's B-tree from left to right.
        runs.sort_unstable_by_key(|r| r.owner);
        runs
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
        index.add(a, Entry::new(10, 1, 0));
        index.add(a, Entry::new(30, 1, 1));
        index.add(b, Entry::new(20, 2, 0));
        index.add(a, Entry::new(30, 2, 5));
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
    }
}
