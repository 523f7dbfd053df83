//! The read cache's budget against the heap it really holds, counted by the allocator: the
//! cache once charged 74 MB against a 64 MiB budget (its tables by length, not capacity).
//! Alone in its own test binary, and only the test's own thread is counted: the harness's
//! threads allocate too (once made the first comparison fail).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use steward_engine::ids::WorkspaceId;
use steward_engine::page::RecordSlot;
use steward_server::body_cache::{BodyCache, BodyKind};
use steward_server::template::TemplateBuilder;
use uuid::Uuid;

/// The system allocator, counting the bytes the counted thread asked for and not yet freed.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTED.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn the_heap_the_cache_holds_stays_within_its_budget() {
    COUNTED.with(|c| c.set(true));
    let budget = 8 << 20;
    let ws = WorkspaceId(Uuid::from_u128(7));
    let before = LIVE.load(Ordering::Relaxed);
    let cache = BodyCache::new(budget);
    let mut highest = 0;
    // Users of 150 to 650 bytes, about twice what fits: tables double, entries are evicted.
    for n in 0..60_000u32 {
        let mut b = TemplateBuilder::default();
        b.hole();
        b.members()
            .str("name", &"x".repeat(150 + (n as usize * 37) % 500));
        b.hole();
        let entry = (
            Uuid::from_u128(u128::from(n) + 1),
            RecordSlot::at(n),
            b.finish(),
        );
        cache.insert(BodyKind::User, ws, [entry], cache.generation());
        let held = LIVE.load(Ordering::Relaxed) - before;
        highest = highest.max(held);
        let charged = cache.stats().bytes;
        // The charge covers what is held (the allocator's rounding too, which this count
        // does not see), and is not far above it.
        assert!(held <= charged, "{held} held, {charged} charged at {n}");
        assert!(
            charged <= held + held / 4,
            "{held} held, {charged} charged at {n}"
        );
    }
    let stats = cache.stats();
    assert!(stats.bytes <= budget, "{stats:?}");
    assert!(
        stats.entries > 10_000 && stats.entries < 60_000,
        "{stats:?}"
    );
    // Between inserts, that is: a table that grows holds its old and new allocation for a
    // moment.
    assert!(highest <= budget * 3 / 2, "{highest}");
    drop(cache);
    assert_eq!(LIVE.load(Ordering::Relaxed), before);
}
