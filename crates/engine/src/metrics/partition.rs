//! The replay's records, split into partitions by id so that applying events stays in cache.
//!
//! Replayed events come in log order, which is random with respect to records: applied as
//! they come, each event misses the cache on its record's hash slot, its pending state and
//! the tail of its marks (three or four trips to memory, most of the cost of an event).
//! Instead an event is appended to its partition's queue (a sequential write), and a
//! partition applies its queue once it holds [`QUEUED`] events: its records (a
//! [`PARTITIONS`]th of them) are touched several times each while they are in cache.

use std::hash::Hash;

use foldhash::HashMap;
use uuid::Uuid;

use super::mark::Mark;
use crate::ids::{AccountId, OrganizationId, UserId};
use crate::time::Millis;

/// Partitions: with 100k users, about 400 a partition, whose pending state (about 1.5 KB a
/// user with 100 events) fits in a core's L2 cache.
const PARTITIONS: usize = 256;
/// Events a partition queues before applying them: about five per record at 100k users,
/// 28 bytes each (15 MB of queues for a record kind).
const QUEUED: usize = 2048;

/// The id of a record kind, for picking its partition.
pub(crate) trait RecordKey: Copy + Eq + Hash {
    fn uuid(&self) -> Uuid;
}

impl RecordKey for UserId {
    fn uuid(&self) -> Uuid {
        self.0
    }
}

impl RecordKey for AccountId {
    fn uuid(&self) -> Uuid {
        self.0
    }
}

impl RecordKey for OrganizationId {
    fn uuid(&self) -> Uuid {
        self.0
    }
}

/// A record's state while the replay runs, and the packed state it ends as.
pub(crate) trait Pending: Sized {
    type Packed;
    /// A record whose first event is at `at` (recorded next).
    fn new(at: Millis) -> Self;
    /// A record that had metrics before the replay.
    fn unpack(packed: Self::Packed) -> Self;
    fn record(&mut self, mark: Mark, scratch: &mut Scratch);
    fn finish(self, scratch: &mut Scratch) -> Self::Packed;
}

/// Buffers the records of a kind share for merging, so that a merge allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) words: Vec<u32>,
    pub(crate) days: Vec<u16>,
    pub(crate) merged_days: Vec<u16>,
}

#[derive(Debug)]
struct Partition<K, P> {
    queued: Vec<(K, Mark)>,
    records: HashMap<K, P>,
}

impl<K, P> Default for Partition<K, P> {
    fn default() -> Self {
        Self {
            queued: Vec::new(),
            records: HashMap::default(),
        }
    }
}

impl<K: RecordKey, P: Pending> Partition<K, P> {
    fn apply(&mut self, existing: &mut HashMap<K, P::Packed>, scratch: &mut Scratch) {
        for (id, mark) in self.queued.drain(..) {
            self.records
                .entry(id)
                .or_insert_with(|| match existing.remove(&id) {
                    Some(packed) => P::unpack(packed),
                    None => P::new(mark.at()),
                })
                .record(mark, scratch);
        }
    }
}

/// The pending records of one kind.
#[derive(Debug)]
pub(crate) struct Partitioned<K, P> {
    partitions: Vec<Partition<K, P>>,
    scratch: Scratch,
}

impl<K, P> Default for Partitioned<K, P> {
    fn default() -> Self {
        Self {
            partitions: Vec::new(),
            scratch: Scratch::default(),
        }
    }
}

impl<K: RecordKey, P: Pending> Partitioned<K, P> {
    /// Queues one event of record `id`; records `existing` had before the replay are taken
    /// from it when their first event is applied.
    #[inline]
    pub(crate) fn push(&mut self, id: K, mark: Mark, existing: &mut HashMap<K, P::Packed>) {
        if self.partitions.is_empty() {
            self.partitions.resize_with(PARTITIONS, Partition::default);
        }
        let part = &mut self.partitions[partition_of(id.uuid())];
        if part.queued.capacity() == 0 {
            part.queued.reserve_exact(QUEUED);
        }
        part.queued.push((id, mark));
        if part.queued.len() == QUEUED {
            part.apply(existing, &mut self.scratch);
        }
    }

    /// Applies what is still queued and moves every record, packed, into `existing`.
    pub(crate) fn finish_into(self, existing: &mut HashMap<K, P::Packed>) {
        let (mut partitions, mut scratch) = (self.partitions, self.scratch);
        for part in &mut partitions {
            part.apply(existing, &mut scratch);
        }
        existing.reserve(partitions.iter().map(|p| p.records.len()).sum());
        for part in partitions {
            for (id, pending) in part.records {
                existing.insert(id, pending.finish(&mut scratch));
            }
        }
    }
}

/// Mixes all of the id's bits (v7 UUIDs start with a timestamp; bulk-made ids may differ in
/// their last bits only) into a partition number.
fn partition_of(id: Uuid) -> usize {
    let (hi, lo) = id.as_u64_pair();
    let mixed = (hi ^ lo.rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> (64 - PARTITIONS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_spread_over_every_partition() {
        let mut seen = vec![0u32; PARTITIONS];
        for i in 0..PARTITIONS as u64 * 64 {
            seen[partition_of(Uuid::from_u64_pair(1, i))] += 1;
            seen[partition_of(Uuid::from_u64_pair(i << 16, 7))] += 1;
        }
        assert!(seen.iter().all(|n| (64..=192).contains(n)), "{seen:?}");
    }
}
