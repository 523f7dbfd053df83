//! The bulk replay against `Metrics::record` one event at a time: the same metrics, down to
//! the packed bytes, over events in any order and at any time.

use proptest::prelude::*;
use uuid::Uuid;

use super::day::{MAX_DAY, MS_PER_DAY};
use super::{EventInput, EventKind, Metrics, MetricsReplay};
use crate::graph::{Graph, GraphChange};
use crate::ids::{AccountId, OrganizationId, UserId};
use crate::time::Millis;

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;
const NAMES: [&str; 4] = ["login", "export", "invite", "Login"];
const USERS: u8 = 6;
const ACCOUNTS: u8 = 4;
const ORGS: u8 = 3;

fn org(i: u8) -> OrganizationId {
    OrganizationId(Uuid::from_u128(0x1_0000 + u128::from(i)))
}

fn acc(i: u8) -> AccountId {
    AccountId(Uuid::from_u128(0x2_0000 + u128::from(i)))
}

fn usr(i: u8) -> UserId {
    UserId(Uuid::from_u128(0x3_0000 + u128::from(i)))
}

#[derive(Clone, Debug)]
struct Event {
    at: i64,
    track: bool,
    name: usize,
    user: Option<u8>,
    account: Option<u8>,
    org: Option<u8>,
    /// How many times the event is sent (bursts fill a day bucket past 65535).
    times: u32,
}

impl Event {
    fn input(&self) -> EventInput<'static> {
        EventInput {
            at: Millis(self.at),
            kind: if self.track {
                EventKind::Track
            } else {
                EventKind::Activity
            },
            name: NAMES[self.name],
            user: self.user.map(usr),
            account: self.account.map(acc),
            organization: self.org.map(org),
        }
    }
}

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

fn event() -> impl Strategy<Value = Event> {
    (
        time(),
        prop::bool::weighted(0.8),
        0..NAMES.len(),
        prop::option::of(0..USERS),
        prop::option::weighted(0.6, 0..ACCOUNTS),
        prop::option::weighted(0.4, 0..ORGS),
        prop_oneof![160 => Just(1u32), 16 => 2..6u32, 1 => 65_530..65_545u32],
    )
        .prop_map(|(at, track, name, user, account, org, times)| Event {
            at,
            track,
            name,
            user,
            account,
            org,
            times,
        })
}

/// The events, each repeated `times`, in an order given by `seed`.
fn shuffled(events: &[Event], seed: u64) -> Vec<EventInput<'static>> {
    let mut out: Vec<EventInput<'static>> = events
        .iter()
        .flat_map(|e| std::iter::repeat_n(e.input(), e.times as usize))
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

/// Account `a` in organization `a % 3` (the last one in none), user `u` in account `u % 4`.
fn graph() -> Graph {
    let mut g = Graph::new();
    let t = Millis(0);
    for o in 0..ORGS {
        g.apply(&GraphChange::UpsertOrganization {
            id: org(o),
            created_at: t,
            updated_at: t,
        });
    }
    for a in 0..ACCOUNTS {
        g.apply(&GraphChange::UpsertAccount {
            id: acc(a),
            organization: (a + 1 < ACCOUNTS).then(|| org(a % ORGS)),
            created_at: t,
            updated_at: t,
        });
    }
    for u in 0..USERS {
        g.apply(&GraphChange::UpsertUser {
            id: usr(u),
            accounts: vec![acc(u % ACCOUNTS)],
            organizations: if u == 0 { vec![org(2)] } else { vec![] },
            created_at: t,
            updated_at: t,
        });
    }
    g
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

        let g = graph();
        let latest = events.iter().map(|e| e.at).max().unwrap_or(T0);
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
            times: 1,
        }
        .input(),
    );
    let bytes = m.heap_bytes();
    let replayed = MetricsReplay::new(m).finish();
    assert_eq!(replayed.heap_bytes(), bytes);
    assert!(replayed.user(usr(1), Millis(T0)).is_some());
}
