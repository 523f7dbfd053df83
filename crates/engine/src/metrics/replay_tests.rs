//! The bulk replay against `Metrics::record` one event at a time: the same metrics, down to
//! the packed bytes, over events in any order and at any time.

use proptest::prelude::*;

use super::day::{MAX_DAY, MS_PER_DAY};
use super::tests::{ACCOUNTS, Event, Hierarchy, NAMES, ORGS, T0, USERS, acc, hierarchy, org, usr};
use super::{EventInput, Metrics, MetricsReplay};
use crate::graph::Graph;
use crate::time::Millis;

/// Times around the bucket horizon and well beyond it: mostly 200 days from `T0`, some years
/// before (older than any window), some far after (future events), around 1970 (negative
/// times) and around 2149 (the end of compact days).
fn time() -> impl Strategy<Value = i64> {
    let end_of_days = i64::from(MAX_DAY) * MS_PER_DAY;
    prop_oneof![
        8 => T0..T0 + 200 * MS_PER_DAY,
        1 => T0 - 3 * 365 * MS_PER_DAY..T0,
        1 => T0 + 200 * MS_PER_DAY..T0 + 500 * MS_PER_DAY,
        1 => -80 * MS_PER_DAY..80 * MS_PER_DAY,
        1 => end_of_days - 80 * MS_PER_DAY..end_of_days + 80 * MS_PER_DAY,
    ]
}

/// An event and how many times it is sent (bursts fill a day bucket past 65535).
fn event() -> impl Strategy<Value = (Event, u32)> {
    (
        time(),
        prop::bool::weighted(0.8),
        0..NAMES.len(),
        prop::option::of(0..USERS),
        prop::option::weighted(0.6, 0..ACCOUNTS),
        prop::option::weighted(0.4, 0..ORGS),
        prop_oneof![160 => Just(1u32), 16 => 2..6u32, 1 => 65_530..65_545u32],
    )
        .prop_map(|(at, track, name, user, account, org, times)| {
            let event = Event {
                at,
                track,
                name,
                user,
                account,
                org,
            };
            (event, times)
        })
}

/// The events, each repeated `times`, in an order given by `seed`.
fn shuffled(events: &[(Event, u32)], seed: u64) -> Vec<EventInput<'static>> {
    let mut out: Vec<EventInput<'static>> = events
        .iter()
        .flat_map(|(e, times)| std::iter::repeat_n(e.input(), *times as usize))
        .collect();
    let mut state = seed | 1;
    for i in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.swap(i, (state % (i as u64 + 1)) as usize);
    }
    out
}

/// Every read of every record at `now` must agree.
fn assert_same_reads(a: &Metrics, b: &Metrics, g: &Graph, now: Millis) {
    for u in 0..USERS {
        assert_eq!(
            a.user(usr(u), now),
            b.user(usr(u), now),
            "user {u} at {now:?}"
        );
        assert_eq!(a.user_seen(usr(u)), b.user_seen(usr(u)));
        assert_eq!(a.user_sessions(usr(u)), b.user_sessions(usr(u)));
    }
    for i in 0..ACCOUNTS {
        assert_eq!(
            a.account(acc(i), g, now),
            b.account(acc(i), g, now),
            "account {i}"
        );
        assert_eq!(a.account_seen(acc(i)), b.account_seen(acc(i)));
    }
    for o in 0..ORGS {
        assert_eq!(
            a.organization(org(o), g, now),
            b.organization(org(o), g, now)
        );
        assert_eq!(
            a.organization_seen(org(o), g),
            b.organization_seen(org(o), g)
        );
    }
    for name in NAMES {
        assert_eq!(a.event_name_id(name), b.event_name_id(name));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Recorded one by one or replayed in bulk (from empty, or on top of metrics that already
    /// counted some of the events), then with some users deleted: the same metrics, packed
    /// the same, and every read at several `now`s the same.
    #[test]
    fn replay_equals_recording_one_by_one(
        h in hierarchy(),
        events in prop::collection::vec(event(), 0..60),
        seed in any::<u64>(),
        recorded_first in 0usize..100,
        deleted in prop::collection::btree_set(0..USERS, 0..3),
    ) {
        let inputs = shuffled(&events, seed);
        let mut one_by_one = Metrics::new();
        for e in &inputs {
            one_by_one.record(e);
        }

        let mut replay = MetricsReplay::new(Metrics::new());
        for e in &inputs {
            replay.record(e);
        }
        let mut replayed = replay.finish();

        // A replay on top of metrics that counted a prefix of the events one by one.
        let split = inputs.len() * recorded_first / 100;
        let mut before = Metrics::new();
        for e in &inputs[..split] {
            before.record(e);
        }
        let mut replay = MetricsReplay::new(before);
        for e in &inputs[split..] {
            replay.record(e);
        }
        let mut continued = replay.finish();

        for u in &deleted {
            for m in [&mut one_by_one, &mut replayed, &mut continued] {
                m.forget_user(usr(*u));
            }
        }
        prop_assert_eq!(&replayed, &one_by_one);
        prop_assert_eq!(replayed.heap_bytes(), one_by_one.heap_bytes());
        prop_assert_eq!(&continued, &one_by_one);

        let g: Graph = Hierarchy::graph(&h);
        let latest = events.iter().map(|(e, _)| e.at).max().unwrap_or(T0);
        for now in [latest, latest - 7 * MS_PER_DAY, latest + 45 * MS_PER_DAY, T0, T0 - 400 * MS_PER_DAY] {
            assert_same_reads(&replayed, &one_by_one, &g, Millis(now));
            assert_same_reads(&continued, &one_by_one, &g, Millis(now));
        }
    }
}

#[test]
fn an_empty_replay_changes_nothing() {
    let mut m = Metrics::new();
    m.record(
        &Event {
            at: T0,
            track: true,
            name: 0,
            user: Some(1),
            account: Some(2),
            org: Some(0),
        }
        .input(),
    );
    let bytes = m.heap_bytes();
    let replayed = MetricsReplay::new(m).finish();
    assert_eq!(replayed.heap_bytes(), bytes);
    assert!(replayed.user(usr(1), Millis(T0)).is_some());
}
