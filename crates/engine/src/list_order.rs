//! Every record of one kind in list order, for both sorts: the top-level lists
//! (`GET /resources/users` and the like) take their page keys from here, as sub-lists take
//! theirs from the graph's links, so a page costs a range walk instead of an index scan in
//! storage.
//!
//! Two ordered maps of [`PageKey`]s (24 bytes each) to the record's graph slot (4 bytes), so
//! a page's reads go to the graph's nodes (and the read cache's entries) by slot instead of
//! through a hash index. At start-up they are built in one go from sorted keys, which packs
//! the B-tree's nodes full; afterwards each write moves one key.

use std::collections::BTreeMap;
use std::ops::Bound;

use uuid::Uuid;

use crate::graph::Slot;
use crate::page::{PageKey, PageRequest, RecordSlot, SlotKey, SortBy};
use crate::time::Millis;

#[derive(Debug, Default)]
pub(crate) struct ListOrder {
    by_updated: BTreeMap<PageKey, Slot>,
    by_created: BTreeMap<PageKey, Slot>,
}

/// B-tree nodes hold up to 11 keys and 11 values; a leaf of 24-byte keys and 4-byte slots
/// takes 328 bytes. Charged as if three quarters full on average: bulk-built nodes are full,
/// nodes split by later writes are half full.
const BYTES_PER_KEY: usize = 328 * 4 / (11 * 3);

impl ListOrder {
    pub(crate) fn insert(&mut self, id: Uuid, slot: Slot, created_at: Millis, updated_at: Millis) {
        self.by_updated.insert(PageKey { at: updated_at, id }, slot);
        self.by_created.insert(PageKey { at: created_at, id }, slot);
    }

    pub(crate) fn remove(&mut self, id: Uuid, created_at: Millis, updated_at: Millis) {
        self.by_updated.remove(&PageKey { at: updated_at, id });
        self.by_created.remove(&PageKey { at: created_at, id });
    }

    /// Replaces the whole order at once (start-up).
    pub(crate) fn rebuild(&mut self, records: impl Iterator<Item = (Uuid, Slot, Millis, Millis)>) {
        let mut updated = Vec::new();
        let mut created = Vec::new();
        for (id, slot, created_at, updated_at) in records {
            updated.push((PageKey { at: updated_at, id }, slot));
            created.push((PageKey { at: created_at, id }, slot));
        }
        // Collecting sorted keys into a map bulk-builds it with full nodes.
        updated.sort_unstable();
        created.sort_unstable();
        self.by_updated = updated.into_iter().collect();
        self.by_created = created.into_iter().collect();
    }

    /// Up to `page.limit` keys after `page.after`, greatest first.
    pub(crate) fn page(&self, page: &PageRequest) -> Vec<SlotKey> {
        let set = match page.sort {
            SortBy::UpdatedAt => &self.by_updated,
            SortBy::CreatedAt => &self.by_created,
        };
        let upper = match page.after {
            Some(after) => Bound::Excluded(after),
            None => Bound::Unbounded,
        };
        // Sized up front: a range of a B-tree gives no size hint, and growing the vector
        // from empty costs a page of 101 keys seven reallocations.
        let mut keys = Vec::with_capacity(page.limit.min(1024));
        keys.extend(
            set.range((Bound::Unbounded, upper))
                .rev()
                .take(page.limit)
                .map(|(key, slot)| SlotKey {
                    key: *key,
                    slot: RecordSlot(*slot),
                }),
        );
        keys
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        (self.by_updated.len() + self.by_created.len()) * BYTES_PER_KEY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn pages_run_newest_first_and_start_after_the_cursor() {
        let mut order = ListOrder::default();
        for n in 0..10u128 {
            order.insert(
                id(n),
                n as Slot,
                Millis(100 - n as i64),
                Millis(n as i64 / 2),
            );
        }
        let first = order.page(&PageRequest::first(SortBy::UpdatedAt, 3));
        let ats: Vec<i64> = first.iter().map(|k| k.key.at.0).collect();
        assert_eq!(ats, [4, 4, 3]);
        assert_eq!(first[0].key.id, id(9), "ties broken by id, greatest first");
        assert_eq!(
            first[0].slot,
            RecordSlot(9),
            "each key carries its record's slot"
        );
        let next = order.page(&PageRequest {
            after: first.last().map(|k| k.key),
            ..PageRequest::first(SortBy::UpdatedAt, 100)
        });
        assert_eq!(next.len(), 7);
        assert!(next.iter().all(|k| k.key < first[2].key));
        let by_created = order.page(&PageRequest::first(SortBy::CreatedAt, 1));
        assert_eq!(by_created[0].key.id, id(0));
    }

    #[test]
    fn an_update_moves_the_key_and_a_rebuild_matches_inserts() {
        let mut order = ListOrder::default();
        order.insert(id(1), 1, Millis(1), Millis(1));
        order.insert(id(2), 2, Millis(2), Millis(2));
        order.remove(id(1), Millis(1), Millis(1));
        order.insert(id(1), 1, Millis(1), Millis(3));
        let page = order.page(&PageRequest::first(SortBy::UpdatedAt, 10));
        assert_eq!(
            page.iter().map(|k| k.key.id).collect::<Vec<_>>(),
            [id(1), id(2)]
        );
        let mut rebuilt = ListOrder::default();
        rebuilt.rebuild(
            [
                (id(2), 2, Millis(2), Millis(2)),
                (id(1), 1, Millis(1), Millis(3)),
            ]
            .into_iter(),
        );
        for sort in [SortBy::UpdatedAt, SortBy::CreatedAt] {
            let all = PageRequest::first(sort, 10);
            assert_eq!(rebuilt.page(&all), order.page(&all));
        }
    }
}
