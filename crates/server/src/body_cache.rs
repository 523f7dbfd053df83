//! A bounded cache of record templates (the stored part of a record's JSON, see `template`),
//! so that reading a hot record costs a hash lookup and a copy instead of a storage read and a
//! render. A page of 100 cached accounts renders in a few microseconds.
//!
//! **Correct under writes.** The single writer calls [`BodyCache::forget`] with every record a
//! committed batch changed, before it answers anyone. A reader that fetched records from
//! storage inserts their templates only if nothing was forgotten since it took
//! [`BodyCache::generation`] (before its storage read), so a template read before a commit
//! can never be inserted after that commit's invalidation.
//!
//! **Bounded.** What the cache holds is charged at what it occupies: each template's allocation
//! as the allocator rounds it, and the entry table, hash index and tables by slot at their
//! allocated capacity (not at what their entries use: a vector or hash table that has just
//! doubled is up to half empty). Past the budget, entries are evicted in CLOCK order (an entry
//! read since the hand last passed it gets a second chance), also when one of the tables grows.
//! Lookups take the read lock only: the reference bit is an atomic. A budget of zero turns the
//! cache off.
//!
//! **Found by graph slot.** Entries are also kept in a table per kind and workspace indexed by
//! the record's slot in the engine's graph ([`RecordSlot`]), which list pages carry: a page
//! finds its 100 entries by indexing instead of 100 hash probes, each a cache miss or two. A
//! slot is only a hint (the graph reuses the slots of deleted records), so an entry found by
//! slot is checked against the id, and the hash index answers when the slot does not.

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use foldhash::fast::RandomState;
use steward_engine::GraphChange;
use steward_engine::ids::WorkspaceId;
use steward_engine::page::RecordSlot;
use uuid::Uuid;

use crate::template::Template;

/// The record kinds whose bodies are cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyKind {
    Organization,
    Account,
    User,
}

impl BodyKind {
    /// The record a committed change rewrote (or deleted); `None` for changes templates do
    /// not hold (key roles and owners are filled in from the engine at every read).
    pub fn changed_by(change: &GraphChange) -> Option<(BodyKind, Uuid)> {
        Some(match change {
            GraphChange::UpsertOrganization { id, .. } | GraphChange::DeleteOrganization { id } => {
                (BodyKind::Organization, id.0)
            }
            GraphChange::UpsertAccount { id, .. } | GraphChange::DeleteAccount { id } => {
                (BodyKind::Account, id.0)
            }
            GraphChange::UpsertUser { id, .. } | GraphChange::DeleteUser { id } => {
                (BodyKind::User, id.0)
            }
            GraphChange::Assignment(_) | GraphChange::Messages(_) => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    kind: BodyKind,
    workspace: WorkspaceId,
    id: Uuid,
}

struct Slot {
    key: Key,
    /// Where the engine's graph held the record when it was cached.
    place: RecordSlot,
    template: Template,
    /// Read since the clock hand last passed.
    referenced: AtomicBool,
}

/// In a table by graph slot: no entry.
const NO_ENTRY: u32 = u32::MAX;

#[derive(Default)]
struct Entries {
    /// Each entry's position in `slots` (hashbrown's own map, for its `allocation_size`).
    index: hashbrown::HashMap<Key, u32, RandomState>,
    /// Per kind and workspace, the position in `slots` of the entry cached for each graph
    /// slot, or [`NO_ENTRY`].
    by_place: hashbrown::HashMap<(BodyKind, WorkspaceId), Vec<u32>, RandomState>,
    slots: Vec<Slot>,
    hand: usize,
    /// The templates' allocations, as charged by [`BodyCache::charge`].
    text: usize,
    /// The tables by slot's allocated capacity, in bytes.
    tables: usize,
}

/// What the cache holds, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub entries: usize,
    /// Estimated heap bytes: the templates, their allocations and the index.
    pub bytes: usize,
    pub budget: usize,
}

pub struct BodyCache {
    budget: usize,
    entries: RwLock<Entries>,
    /// Bumped by every [`BodyCache::forget`].
    generation: AtomicU64,
}

/// The bytes an allocator hands out for a request of `bytes`: a size-class allocator
/// (mimalloc, the binary's) rounds small requests to 16 bytes and larger ones to one of four
/// classes per doubling, so a 520-byte template takes 640. An upper bound for glibc's
/// allocator too (16-byte steps and an 8-byte header).
fn allocated(bytes: usize) -> usize {
    let words = bytes.div_ceil(8).max(1);
    let words = if words <= 8 {
        words.next_multiple_of(2)
    } else {
        let top = usize::BITS - 1 - (words - 1).leading_zeros();
        words.next_multiple_of(1 << (top - 2))
    };
    words * 8
}

impl BodyCache {
    /// What a template is charged: its one shared allocation (contents and the two reference
    /// counts), as allocated. The tables around the entries are charged by their capacity
    /// ([`Entries::footprint`]).
    fn charge(template: &Template) -> usize {
        allocated(2 * std::mem::size_of::<usize>() + template.heap_len())
    }
}

impl BodyCache {
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            budget: budget_bytes,
            entries: RwLock::new(Entries::default()),
            generation: AtomicU64::new(0),
        }
    }

    /// Take before reading records from storage; pass to [`BodyCache::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Calls `read` with the cached templates of these records (ids with their graph slots),
    /// in order (`None` where not cached), under the cache's read lock. The read path renders
    /// from here: no `Arc` is cloned, so readers on different cores never bounce a hot
    /// record's reference count between them. `read` must not block (the writer waits for it
    /// to forget a record).
    pub fn with_many<R>(
        &self,
        kind: BodyKind,
        workspace: WorkspaceId,
        records: impl Iterator<Item = (Uuid, RecordSlot)>,
        read: impl FnOnce(&[Option<&Template>]) -> R,
    ) -> R {
        if self.budget == 0 {
            let none: Vec<Option<&Template>> = records.map(|_| None).collect();
            return read(&none);
        }
        let entries = self.entries.read().expect("body cache lock");
        let table = entries.table(kind, workspace);
        let found: Vec<Option<&Template>> = records
            .map(|(id, place)| {
                let key = Key {
                    kind,
                    workspace,
                    id,
                };
                entries.lookup(table, key, place)
            })
            .collect();
        read(&found)
    }

    /// The cached templates of these records (ids with their graph slots), in order (`None`
    /// where not cached).
    pub fn get_many(
        &self,
        kind: BodyKind,
        workspace: WorkspaceId,
        records: impl Iterator<Item = (Uuid, RecordSlot)>,
    ) -> Vec<Option<Template>> {
        if self.budget == 0 {
            return records.map(|_| None).collect();
        }
        let entries = self.entries.read().expect("body cache lock");
        let table = entries.table(kind, workspace);
        records
            .map(|(id, place)| {
                let key = Key {
                    kind,
                    workspace,
                    id,
                };
                entries.lookup(table, key, place).cloned()
            })
            .collect()
    }

    /// Caches templates read from storage (with each record's graph slot, or
    /// [`RecordSlot::UNKNOWN`]), unless a write was forgotten since `generation`.
    pub fn insert(
        &self,
        kind: BodyKind,
        workspace: WorkspaceId,
        templates: impl IntoIterator<Item = (Uuid, RecordSlot, Template)>,
        generation: u64,
    ) {
        if self.budget == 0 {
            return;
        }
        let mut entries = self.entries.write().expect("body cache lock");
        // Under the lock `forget` takes too, so a newer generation is seen here.
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        for (id, place, template) in templates {
            let charge = Self::charge(&template);
            if charge > self.budget {
                continue;
            }
            let key = Key {
                kind,
                workspace,
                id,
            };
            entries.remove(&key);
            // Room for the template with the tables as they are...
            while entries.footprint() + charge > self.budget && !entries.slots.is_empty() {
                entries.evict_one();
            }
            let at = u32::try_from(entries.slots.len()).expect("fewer than 4 billion records");
            entries.slots.push(Slot {
                key,
                place,
                template,
                referenced: AtomicBool::new(true),
            });
            entries.index.insert(key, at);
            entries.text += charge;
            entries.place(key, place, at);
            // ...and for what a table took if it grew to hold it (capacity is not given back,
            // so this happens once per doubling). Tables too big for the budget even empty
            // are let go.
            while entries.footprint() > self.budget {
                if entries.slots.is_empty() {
                    *entries = Entries::default();
                    break;
                }
                entries.evict_one();
            }
        }
    }

    /// Drops the templates of records a committed batch changed. The writer calls this after
    /// the commit and before answering.
    pub fn forget(&self, changed: impl IntoIterator<Item = (WorkspaceId, BodyKind, Uuid)>) {
        let mut changed = changed.into_iter().peekable();
        if self.budget == 0 || changed.peek().is_none() {
            return;
        }
        let mut entries = self.entries.write().expect("body cache lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        for (workspace, kind, id) in changed {
            entries.remove(&Key {
                kind,
                workspace,
                id,
            });
        }
    }

    /// What the cache holds, charged as the budget charges it.
    pub fn stats(&self) -> CacheStats {
        let entries = self.entries.read().expect("body cache lock");
        CacheStats {
            entries: entries.slots.len(),
            bytes: entries.footprint(),
            budget: self.budget,
        }
    }
}

impl Entries {
    /// Heap bytes held, against the budget: the templates, and every table at its allocated
    /// capacity.
    fn footprint(&self) -> usize {
        self.text
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.index.allocation_size()
            + self.by_place.allocation_size()
            + self.tables
    }

    /// The table by graph slot of one kind in one workspace (one hash probe for a whole page).
    fn table(&self, kind: BodyKind, workspace: WorkspaceId) -> Option<&[u32]> {
        self.by_place.get(&(kind, workspace)).map(Vec::as_slice)
    }

    /// The template cached under `key`, marked as read: found through `table` when `place`
    /// holds this record's entry, else through the hash index.
    fn lookup(&self, table: Option<&[u32]>, key: Key, place: RecordSlot) -> Option<&Template> {
        let placed = place
            .index()
            .and_then(|i| table?.get(i).copied())
            .filter(|&at| at != NO_ENTRY && self.slots[at as usize].key == key);
        let at = match placed {
            Some(at) => at,
            None => *self.index.get(&key)?,
        } as usize;
        let slot = &self.slots[at];
        // Only write the bit when it changes: readers on other cores keep the line shared.
        if !slot.referenced.load(Ordering::Relaxed) {
            slot.referenced.store(true, Ordering::Relaxed);
        }
        Some(&slot.template)
    }

    fn remove(&mut self, key: &Key) {
        if let Some(at) = self.index.remove(key) {
            self.remove_slot(at as usize);
        }
    }

    /// Records that the entry at `at` is `key`'s, whose graph slot is `place`. The table
    /// grows to the highest slot cached (4 bytes a record of the graph, charged).
    fn place(&mut self, key: Key, place: RecordSlot, at: u32) {
        let Some(i) = place.index() else {
            return;
        };
        let table = self.by_place.entry((key.kind, key.workspace)).or_default();
        if table.len() <= i {
            let before = table.capacity();
            table.resize(i + 1, NO_ENTRY);
            self.tables += (table.capacity() - before) * std::mem::size_of::<u32>();
        }
        table[i] = at;
    }

    /// Points `key`'s graph slot at `to` (or at no entry), if it still points at `from`.
    fn replace_place(&mut self, key: Key, place: RecordSlot, from: usize, to: u32) {
        let Some(i) = place.index() else {
            return;
        };
        if let Some(at) = self
            .by_place
            .get_mut(&(key.kind, key.workspace))
            .and_then(|table| table.get_mut(i))
            && *at as usize == from
        {
            *at = to;
        }
    }

    /// Removes the slot at `at`; the last slot takes its place.
    fn remove_slot(&mut self, at: usize) {
        let last = self.slots.len() - 1;
        let removed = self.slots.swap_remove(at);
        self.index.remove(&removed.key);
        self.replace_place(removed.key, removed.place, at, NO_ENTRY);
        self.text -= BodyCache::charge(&removed.template);
        if let Some(moved) = self.slots.get(at) {
            let (key, place) = (moved.key, moved.place);
            self.index.insert(key, at as u32);
            self.replace_place(key, place, last, at as u32);
        }
    }

    /// CLOCK: clears reference bits until it finds an entry not read since the last pass.
    fn evict_one(&mut self) {
        loop {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            if self.slots[self.hand]
                .referenced
                .swap(false, Ordering::Relaxed)
            {
                self.hand += 1;
            } else {
                self.remove_slot(self.hand);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::TemplateBuilder;

    impl BodyCache {
        /// One record's template (reads render through [`BodyCache::with_many`] instead).
        fn get(&self, kind: BodyKind, workspace: WorkspaceId, id: Uuid) -> Option<Template> {
            self.get_many(kind, workspace, std::iter::once((id, NOWHERE)))
                .pop()
                .flatten()
        }
    }

    fn template(text: &str) -> Template {
        let mut b = TemplateBuilder::default();
        b.members().str("t", text);
        b.finish()
    }

    fn text(t: &Template) -> String {
        let mut out = Vec::new();
        t.write(&mut out, |_, _| {});
        String::from_utf8(out).unwrap()
    }

    const WS: WorkspaceId = WorkspaceId(Uuid::from_u128(7));
    /// Cached without a graph slot: found through the hash index only.
    const NOWHERE: RecordSlot = RecordSlot::UNKNOWN;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn hits_are_per_kind_and_workspace() {
        let cache = BodyCache::new(1 << 20);
        let g = cache.generation();
        cache.insert(BodyKind::User, WS, [(id(1), NOWHERE, template("a"))], g);
        assert_eq!(
            text(&cache.get(BodyKind::User, WS, id(1)).unwrap()),
            r#"{"t":"a"}"#
        );
        assert!(cache.get(BodyKind::Account, WS, id(1)).is_none());
        assert!(
            cache
                .get(BodyKind::User, WorkspaceId(id(8)), id(1))
                .is_none()
        );
    }

    #[test]
    fn a_forgotten_record_is_gone_and_reads_from_before_cannot_put_it_back() {
        let cache = BodyCache::new(1 << 20);
        let g = cache.generation();
        cache.insert(BodyKind::User, WS, [(id(1), NOWHERE, template("old"))], g);
        // A reader starts (takes the generation) and reads the old row from storage...
        let reader = cache.generation();
        // ...the writer commits a change to the record and forgets it...
        cache.forget([(WS, BodyKind::User, id(1))]);
        assert!(cache.get(BodyKind::User, WS, id(1)).is_none());
        // ...and the reader's late insert of what it read is refused.
        cache.insert(
            BodyKind::User,
            WS,
            [(id(1), NOWHERE, template("old"))],
            reader,
        );
        assert!(cache.get(BodyKind::User, WS, id(1)).is_none());
        // A reader that started after the write caches the new body.
        let after = cache.generation();
        cache.insert(
            BodyKind::User,
            WS,
            [(id(1), NOWHERE, template("new"))],
            after,
        );
        assert_eq!(
            text(&cache.get(BodyKind::User, WS, id(1)).unwrap()),
            r#"{"t":"new"}"#
        );
    }

    #[test]
    fn forgetting_follows_every_kind_of_graph_change() {
        use steward_engine::ids::{AccountId, OrganizationId, UserId};
        let cache = BodyCache::new(1 << 20);
        let g = cache.generation();
        for kind in [BodyKind::Organization, BodyKind::Account, BodyKind::User] {
            cache.insert(kind, WS, [(id(1), NOWHERE, template("x"))], g);
        }
        let changes = [
            GraphChange::DeleteOrganization {
                id: OrganizationId(id(1)),
            },
            GraphChange::UpsertAccount {
                id: AccountId(id(1)),
                organization: None,
                created_at: Default::default(),
                updated_at: Default::default(),
            },
            GraphChange::DeleteUser { id: UserId(id(1)) },
        ];
        cache.forget(changes.iter().filter_map(|c| {
            let (kind, id) = BodyKind::changed_by(c)?;
            Some((WS, kind, id))
        }));
        assert_eq!(cache.stats().entries, 0);
    }

    /// The budget that holds exactly these entries: what a cache with room to spare charges
    /// for them (its tables at the capacity they grew to).
    fn budget_for(entries: impl IntoIterator<Item = (Uuid, RecordSlot, Template)>) -> usize {
        let roomy = BodyCache::new(1 << 30);
        for entry in entries {
            roomy.insert(BodyKind::Account, WS, [entry], roomy.generation());
        }
        roomy.stats().bytes
    }

    #[test]
    fn stays_within_budget_and_keeps_what_is_read() {
        let entry = |n: u128| (id(n), NOWHERE, template(&format!("{n:04}")));
        // Room for ten entries, and for the tables as an eleventh leaves them.
        let cache = BodyCache::new(budget_for((0..10).map(entry)));
        let g = cache.generation();
        for n in 0..10 {
            cache.insert(BodyKind::Account, WS, [entry(n)], g);
        }
        assert_eq!(cache.stats().entries, 10);
        // Every entry starts referenced; one pass of the hand clears them, then 0 goes.
        cache.insert(
            BodyKind::Account,
            WS,
            [(id(10), NOWHERE, template("0010"))],
            g,
        );
        assert_eq!(cache.stats().entries, 10);
        assert!(cache.get(BodyKind::Account, WS, id(0)).is_none());
        // Entry 5 is read; the next evictions pass over it.
        cache.get(BodyKind::Account, WS, id(5)).unwrap();
        for n in 11..20 {
            cache.insert(
                BodyKind::Account,
                WS,
                [(id(n), NOWHERE, template(&format!("{n:04}")))],
                g,
            );
        }
        assert!(cache.get(BodyKind::Account, WS, id(5)).is_some());
        let stats = cache.stats();
        assert_eq!(stats.entries, 10);
        assert!(stats.bytes <= stats.budget);
        // Every index entry still points at its own slot.
        let entries = cache.entries.read().unwrap();
        for (key, at) in &entries.index {
            assert_eq!(entries.slots[*at as usize].key, *key);
        }
        assert_eq!(entries.index.len(), entries.slots.len());
    }

    /// What `with_many` finds for these records, as text.
    fn found(cache: &BodyCache, records: &[(Uuid, RecordSlot)]) -> Vec<Option<String>> {
        cache.with_many(BodyKind::Account, WS, records.iter().copied(), |found| {
            found.iter().map(|t| t.map(text)).collect()
        })
    }

    #[test]
    fn entries_are_found_by_graph_slot_and_a_stale_slot_is_not_trusted() {
        let place = RecordSlot::at;
        let entry = |n: u128| (id(n), place(n as u32), template(&format!("{n:04}")));
        // Room for three entries and the table by slot (which grows to six below).
        let cache = BodyCache::new(budget_for((0..3).map(entry)) + 6 * 4);
        let g = cache.generation();
        cache.insert(BodyKind::Account, WS, (0..3).map(entry), g);
        let hit = |n: u128| Some(text(&template(&format!("{n:04}"))));
        assert_eq!(
            found(&cache, &[(id(2), place(2)), (id(0), place(0))]),
            [hit(2), hit(0)]
        );
        // Another record's slot, or none: the hash index answers.
        assert_eq!(
            found(&cache, &[(id(1), place(2)), (id(1), NOWHERE)]),
            [hit(1), hit(1)]
        );
        // A record now in a slot another record was cached under is not given its body.
        assert_eq!(found(&cache, &[(id(9), place(1))]), [None]);
        // Forgetting entry 0 moves the last entry into its position; both stay findable.
        cache.forget([(WS, BodyKind::Account, id(0))]);
        assert_eq!(
            found(
                &cache,
                &[(id(0), place(0)), (id(2), place(2)), (id(1), place(1))]
            ),
            [None, hit(2), hit(1)]
        );
        // Evictions keep the table pointing at the right entries.
        for n in 3..6 {
            cache.insert(BodyKind::Account, WS, [entry(n)], g + 1);
        }
        let entries = cache.entries.read().unwrap();
        for (kind_ws, table) in &entries.by_place {
            for (i, &at) in table.iter().enumerate() {
                if at != NO_ENTRY {
                    let slot = &entries.slots[at as usize];
                    assert_eq!((slot.key.kind, slot.key.workspace), *kind_ws);
                    assert_eq!(slot.place, place(i as u32));
                }
            }
        }
        for (at, slot) in entries.slots.iter().enumerate() {
            let i = slot.place.index().unwrap();
            assert_eq!(entries.table(slot.key.kind, WS).unwrap()[i] as usize, at);
        }
    }

    /// The fault this was written for: 136k entries charged 74 MB against a 64 MiB budget,
    /// as each entry was charged its share of the entry table by length while the table had
    /// doubled to 262,144 entries (and the hash index likewise by entry, not by bucket).
    #[test]
    fn tables_that_double_stay_within_the_budget() {
        let budget = 4 << 20;
        let cache = BodyCache::new(budget);
        for n in 0..60_000u128 {
            let text = "x".repeat(40 + (n as usize * 7) % 60);
            let entry = (id(n), RecordSlot::at(n as u32), template(&text));
            cache.insert(BodyKind::User, WS, [entry], cache.generation());
            if n % 1000 == 999 {
                assert!(cache.stats().bytes <= budget, "over budget at {n}");
            }
        }
        let stats = cache.stats();
        let entries = cache.entries.read().unwrap();
        // The charge is what the tables hold, at capacity, and the templates as allocated.
        let text: usize = entries
            .slots
            .iter()
            .map(|s| BodyCache::charge(&s.template))
            .sum();
        let tables: usize = entries.by_place.values().map(|t| t.capacity() * 4).sum();
        assert_eq!(
            stats.bytes,
            text + entries.slots.capacity() * std::mem::size_of::<Slot>()
                + entries.index.allocation_size()
                + entries.by_place.allocation_size()
                + tables
        );
        // The budget is used, not wasted on eviction.
        assert!(stats.bytes > budget * 3 / 4, "{stats:?}");
    }

    #[test]
    fn tables_too_big_for_the_budget_are_let_go() {
        let cache = BodyCache::new(4096);
        // The table by slot for slot 2000 alone takes 8 KB.
        let entry = (id(1), RecordSlot::at(2000), template("x"));
        cache.insert(BodyKind::User, WS, [entry], cache.generation());
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.bytes), (0, 0));
        cache.insert(BodyKind::User, WS, [(id(2), NOWHERE, template("y"))], 0);
        assert_eq!(cache.stats().entries, 1);
    }

    #[test]
    fn allocations_are_charged_by_size_class() {
        assert_eq!(allocated(1), 16);
        assert_eq!(allocated(64), 64);
        assert_eq!(allocated(65), 80);
        assert_eq!(allocated(520), 640);
        assert_eq!(allocated(512), 512);
        for n in 1..10_000 {
            assert!(allocated(n) >= n && allocated(n) <= n + n / 4 + 16, "{n}");
        }
    }

    #[test]
    fn a_zero_budget_caches_nothing() {
        let cache = BodyCache::new(0);
        cache.insert(
            BodyKind::User,
            WS,
            [(id(1), NOWHERE, template("a"))],
            cache.generation(),
        );
        assert!(cache.get(BodyKind::User, WS, id(1)).is_none());
    }
}
