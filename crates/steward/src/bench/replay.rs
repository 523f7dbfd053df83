//! The engine's part of the metrics rebuild alone, with no storage: synthetic events (100k
//! users in 10k accounts, 20 event names, 90 days) applied one by one through
//! `Engine::record_event` (the replay before the bulk path), through `MetricsReplay` (the bulk
//! path's metrics alone), through `Engine::replay_events` with the events copied into batches
//! on the same thread, and with the batches filled on one thread and applied on another (as
//! `load_engine` does with the store's scan).

use std::sync::mpsc::sync_channel;
use std::time::Instant;

use serde_json::{Value, json};
use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::metrics::{EventInput, EventKind, MetricsReplay};
use steward_engine::{Engine, EventBatcher, Metrics, Millis};
use uuid::Uuid;

const USERS: u64 = 100_000;
const ACCOUNTS: u64 = 10_000;
const NAMES: u64 = 20;
const DAYS: u64 = 90;
const DAY_MS: u64 = 86_400_000;

/// The synthetic event log: event `i` is a function of `i` alone, so every run sees the same
/// events without holding them.
struct Synthetic {
    workspace: WorkspaceId,
    names: Vec<String>,
    now: i64,
}

impl Synthetic {
    fn event(&self, i: u64) -> EventInput<'_> {
        let h = splitmix(i);
        let user = h % USERS;
        let account = user % ACCOUNTS;
        EventInput {
            at: Millis(self.now - ((h >> 32) % (DAYS * DAY_MS)) as i64),
            // One event in ten is a page view: activity without a counter.
            kind: if (h >> 24).is_multiple_of(10) {
                EventKind::Activity
            } else {
                EventKind::Track
            },
            name: &self.names[((h >> 17) % NAMES) as usize],
            user: Some(UserId(Uuid::from_u64_pair(1, user))),
            account: Some(AccountId(Uuid::from_u64_pair(2, account))),
            organization: Some(OrganizationId(Uuid::from_u64_pair(3, account / 10))),
        }
    }
}

fn splitmix(i: u64) -> u64 {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn ns_per_event(started: Instant, events: u64) -> f64 {
    started.elapsed().as_nanos() as f64 / events as f64
}

pub fn run(events: usize, now: Millis) -> Value {
    let n = events as u64;
    let log = Synthetic {
        workspace: WorkspaceId(Uuid::from_u64_pair(9, 9)),
        names: (0..NAMES).map(|i| format!("Feature {i}")).collect(),
        now: now.0,
    };
    println!(
        "\nmetrics apply, engine only: {n} synthetic events, {USERS} users in {ACCOUNTS} accounts, {NAMES} names, {DAYS} days"
    );

    let t = Instant::now();
    let mut engine = Engine::new();
    for i in 0..n {
        engine.record_event(log.workspace, &log.event(i));
    }
    let one_by_one = ns_per_event(t, n);
    let sequential = engine.metrics(log.workspace).map(Metrics::heap_bytes);
    drop(engine);

    let t = Instant::now();
    let mut replay = MetricsReplay::new(Metrics::new());
    for i in 0..n {
        replay.record(&log.event(i));
    }
    let metrics = replay.finish();
    let metrics_only = ns_per_event(t, n);
    let bulk = metrics.heap_bytes();
    drop(metrics);

    let t = Instant::now();
    let mut batcher = EventBatcher::new();
    for i in 0..n {
        batcher.push(log.workspace, &log.event(i));
    }
    let batching = ns_per_event(t, n);

    let t = Instant::now();
    let mut engine = Engine::new();
    let (mut i, mut batcher) = (0, Some(EventBatcher::new()));
    engine.replay_events(std::iter::from_fn(|| {
        while i < n {
            let full = batcher.as_mut()?.push(log.workspace, &log.event(i));
            i += 1;
            if full.is_some() {
                return full;
            }
        }
        batcher.take()?.finish()
    }));
    let one_thread = ns_per_event(t, n);
    drop(engine);

    let t = Instant::now();
    let (sender, queued) = sync_channel(8);
    let applier = std::thread::spawn(move || {
        let mut engine = Engine::new();
        engine.replay_events(queued);
        engine
    });
    let mut batcher = EventBatcher::new();
    for i in 0..n {
        if let Some(batch) = batcher.push(log.workspace, &log.event(i)) {
            sender.send(batch).expect("applier alive");
        }
    }
    sender.send(batcher.finish().unwrap_or_default()).ok();
    drop(sender);
    let engine = applier.join().expect("applier");
    let two_threads = ns_per_event(t, n);
    let same = sequential == Some(bulk)
        && engine.metrics(log.workspace).map(Metrics::heap_bytes) == sequential;
    drop(engine);

    let per_user = bulk.users as f64 / USERS as f64;
    let per_account = bulk.accounts as f64 / ACCOUNTS as f64;
    println!(
        "record_event one by one {one_by_one:.0} ns/event | bulk: metrics alone {metrics_only:.0} ns/event, copying into batches {batching:.0} ns/event, replay_events with batching on one thread {one_thread:.0} ns/event, on two threads {two_threads:.0} ns/event (wall) | heap {per_user:.0} B per user, {per_account:.0} B per account, same as one by one: {}",
        same
    );
    json!({"metrics_apply": {"events": n, "record_event_ns": one_by_one, "replay_metrics_ns": metrics_only,
        "batching_ns": batching, "replay_one_thread_ns": one_thread, "replay_two_threads_ns": two_threads,
        "bytes_per_user": per_user, "bytes_per_account": per_account}})
}
