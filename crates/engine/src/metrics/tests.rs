//! The incremental metrics against a brute-force recomputation, and the memory budget.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use uuid::Uuid;

use super::day::{EXACT_READ_SLACK_DAYS, MS_PER_DAY};
use super::{AccountMetrics, EventInput, EventKind, EventStats, Metrics, UserMetrics};
use crate::graph::{Graph, GraphChange};
use crate::ids::{AccountId, OrganizationId, UserId};
use crate::time::Millis;

/// 2024-01-01T00:00:00Z.
pub(super) const T0: i64 = 1_704_067_200_000;
pub(super) const NAMES: [&str; 4] = ["login", "export", "invite", "Login"];
pub(super) const USERS: u8 = 6;
pub(super) const ACCOUNTS: u8 = 4;
pub(super) const ORGS: u8 = 3;

pub(super) fn org(i: u8) -> OrganizationId {
    OrganizationId(Uuid::from_u128(0x1_0000 + u128::from(i)))
}

pub(super) fn acc(i: u8) -> AccountId {
    AccountId(Uuid::from_u128(0x2_0000 + u128::from(i)))
}

pub(super) fn usr(i: u8) -> UserId {
    UserId(Uuid::from_u128(0x3_0000 + u128::from(i)))
}

#[derive(Clone, Debug)]
pub(super) struct Event {
    pub(super) at: i64,
    pub(super) track: bool,
    pub(super) name: usize,
    pub(super) user: Option<u8>,
    pub(super) account: Option<u8>,
    pub(super) org: Option<u8>,
}

impl Event {
    pub(super) fn input(&self) -> EventInput<'static> {
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

/// Who belongs where: each account's organization, each user's accounts and direct orgs.
#[derive(Clone, Debug)]
pub(super) struct Hierarchy {
    account_org: Vec<Option<u8>>,
    user_accounts: Vec<BTreeSet<u8>>,
    user_orgs: Vec<BTreeSet<u8>>,
}

impl Hierarchy {
    pub(super) fn graph(&self) -> Graph {
        let mut g = Graph::new();
        let t = Millis(0);
        for o in 0..ORGS {
            g.apply(&GraphChange::UpsertOrganization {
                id: org(o),
                created_at: t,
                updated_at: t,
            });
        }
        for (a, o) in self.account_org.iter().enumerate() {
            g.apply(&GraphChange::UpsertAccount {
                id: acc(a as u8),
                organization: o.map(org),
                created_at: t,
                updated_at: t,
            });
        }
        for u in 0..USERS as usize {
            g.apply(&GraphChange::UpsertUser {
                id: usr(u as u8),
                accounts: self.user_accounts[u].iter().map(|a| acc(*a)).collect(),
                organizations: self.user_orgs[u].iter().map(|o| org(*o)).collect(),
                created_at: t,
                updated_at: t,
            });
        }
        g
    }

    fn account_users(&self, a: u8) -> BTreeSet<u8> {
        (0..USERS)
            .filter(|u| self.user_accounts[*u as usize].contains(&a))
            .collect()
    }

    fn org_users(&self, o: u8) -> BTreeSet<u8> {
        (0..USERS)
            .filter(|u| {
                self.user_orgs[*u as usize].contains(&o)
                    || self.user_accounts[*u as usize]
                        .iter()
                        .any(|a| self.account_org[*a as usize] == Some(o))
            })
            .collect()
    }
}

// ---- brute force ------------------------------------------------------------------------------

fn day(at: i64) -> i64 {
    at.div_euclid(MS_PER_DAY)
}

/// The metrics of a set of events, straight from the definitions.
struct Expected {
    first: Option<Millis>,
    last: Option<Millis>,
    days: BTreeSet<i64>,
    events: Vec<(String, EventStats)>,
}

fn expected<'a>(events: impl Iterator<Item = &'a Event>, now: i64) -> Expected {
    let today = day(now);
    let mut out = Expected {
        first: None,
        last: None,
        days: BTreeSet::new(),
        events: Vec::new(),
    };
    let mut by_name: BTreeMap<&str, EventStats> = BTreeMap::new();
    for e in events {
        out.first = Some(out.first.map_or(Millis(e.at), |f| f.min(Millis(e.at))));
        out.last = Some(out.last.map_or(Millis(e.at), |l| l.max(Millis(e.at))));
        out.days.insert(day(e.at));
        if !e.track {
            continue;
        }
        let s = by_name.entry(NAMES[e.name]).or_default();
        s.total += 1;
        s.last_seen_at = s.last_seen_at.max(Some(Millis(e.at)));
        let age = today - day(e.at);
        if (0..30).contains(&age) {
            s.last_30_days += 1;
        } else if (30..60).contains(&age) {
            s.previous_30_days += 1;
        }
    }
    out.events = by_name
        .into_iter()
        .map(|(n, s)| (n.to_owned(), s))
        .collect();
    out
}

fn expected_user(events: &[Event], u: u8, now: i64) -> Option<UserMetrics> {
    let e = expected(events.iter().filter(|e| e.user == Some(u)), now);
    e.first.map(|_| UserMetrics {
        first_known: e.first,
        last_seen: e.last,
        sessions: e.days.len() as u32,
        events: e.events,
    })
}

fn active(events: &[Event], u: u8, now: i64) -> bool {
    let today = day(now);
    events
        .iter()
        .any(|e| e.user == Some(u) && (0..30).contains(&(today - day(e.at))))
}

fn expected_rollup(
    events: &[Event],
    belongs: impl Fn(&Event) -> bool,
    users: BTreeSet<u8>,
    now: i64,
) -> AccountMetrics {
    let e = expected(events.iter().filter(|e| belongs(e)), now);
    let active_users = users.iter().filter(|u| active(events, **u, now)).count();
    AccountMetrics {
        first_seen: e.first,
        last_seen: e.last,
        events: e.events,
        active_users_share_30d: (!users.is_empty())
            .then(|| active_users as f64 / users.len() as f64),
        active_users_30d: active_users as u32,
        users: users.len() as u32,
    }
}

// ---- strategies -------------------------------------------------------------------------------

pub(super) fn hierarchy() -> impl Strategy<Value = Hierarchy> {
    (
        prop::collection::vec(prop::option::of(0..ORGS), ACCOUNTS as usize),
        prop::collection::vec(
            prop::collection::btree_set(0..ACCOUNTS, 0..3),
            USERS as usize,
        ),
        prop::collection::vec(prop::collection::btree_set(0..ORGS, 0..2), USERS as usize),
    )
        .prop_map(|(account_org, user_accounts, user_orgs)| Hierarchy {
            account_org,
            user_accounts,
            user_orgs,
        })
}

fn event() -> impl Strategy<Value = Event> {
    (
        0..200 * MS_PER_DAY,
        prop::bool::weighted(0.8),
        0..NAMES.len(),
        prop::option::of(0..USERS),
        prop::option::weighted(0.7, 0..ACCOUNTS),
        prop::option::weighted(0.3, 0..ORGS),
    )
        .prop_map(|(offset, track, name, user, account, org)| Event {
            at: T0 + offset,
            track,
            name,
            user,
            account,
            org,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Events with random times over 200 days, applied in random order, read at random times
    /// from 7 days before the latest event to 130 days after it: every metric of every user,
    /// account and organization equals the recomputation from the full list of events.
    #[test]
    fn metrics_match_a_recomputation_from_all_events(
        h in hierarchy(),
        events in prop::collection::vec(event(), 0..120),
        order in any::<u64>(),
        reads in prop::collection::vec(
            prop_oneof![0..MS_PER_DAY, 0..137 * MS_PER_DAY, 60 * MS_PER_DAY..69 * MS_PER_DAY],
            1..4,
        ),
    ) {
        // Apply in an order unrelated to time (shuffled by a seed).
        let mut applied = events.clone();
        let mut state = order | 1;
        for i in (1..applied.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            applied.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut m = Metrics::new();
        for e in &applied {
            m.record(&e.input());
        }
        let g = h.graph();
        let latest = events.iter().map(|e| e.at).max().unwrap_or(T0);
        for offset in reads {
            let now = latest - EXACT_READ_SLACK_DAYS * MS_PER_DAY + offset;
            for u in 0..USERS {
                prop_assert_eq!(m.user(usr(u), Millis(now)), expected_user(&events, u, now), "user {} at {:?}", u, Millis(now));
            }
            for a in 0..ACCOUNTS {
                let want = expected_rollup(&events, |e| e.account == Some(a), h.account_users(a), now);
                prop_assert_eq!(m.account(acc(a), &g, Millis(now)), want, "account {} at {:?}", a, Millis(now));
            }
            for o in 0..ORGS {
                let belongs = |e: &Event| match e.account {
                    Some(a) => h.account_org[a as usize] == Some(o),
                    None => e.org == Some(o),
                };
                let want = expected_rollup(&events, belongs, h.org_users(o), now);
                prop_assert_eq!(m.organization(org(o), &g, Millis(now)), want, "org {} at {:?}", o, Millis(now));
            }
        }
    }
}

/// Heap bytes a user costs in `Metrics` when 100k users each send `events(user)`.
fn bytes_per_user(events: impl Fn(UserId) -> Vec<EventInput<'static>>) -> usize {
    const N: u32 = 100_000;
    let mut m = Metrics::new();
    let mut id = [0u8; 16];
    for u in 0..N {
        id[..4].copy_from_slice(&u.to_le_bytes());
        for e in events(UserId(Uuid::from_bytes(id))) {
            m.record(&e);
        }
    }
    let first = m
        .user(UserId(Uuid::from_bytes([0; 16])), Millis(T0))
        .unwrap();
    assert_eq!((first.sessions, first.events.len()), (5, 2));
    m.heap_bytes().users / N as usize
}

fn track(user: UserId, day: i64, name: &'static str) -> EventInput<'static> {
    EventInput {
        at: Millis(T0 + day * MS_PER_DAY),
        kind: EventKind::Track,
        name,
        user: Some(user),
        account: None,
        organization: None,
    }
}

/// 100k users with two event names on five days each, hash-table slots included.
#[test]
fn users_stay_within_the_memory_budget() {
    /// The documented bound for the worst shape below (see the module docs).
    const BUDGET: usize = 190;
    const NAMES: [&str; 2] = ["login", "report exported"];
    // Worst shape: both names on each of the five days (ten day buckets).
    let both = bytes_per_user(|u| {
        (0..5)
            .flat_map(|d| NAMES.map(|n| track(u, d * 3, n)))
            .collect()
    });
    // One of the two names a day (five day buckets).
    let one = bytes_per_user(|u| {
        (0..5)
            .map(|d| track(u, d * 3, NAMES[d as usize % 2]))
            .collect()
    });
    println!(
        "metrics memory: {both} bytes/user with both names every day, {one} with one name a day"
    );
    assert!(both < BUDGET, "{both} bytes a user, budget {BUDGET}");
    assert!(one < both);
}

/// Accounts keep day buckets for 67 days only: 500 accounts with ten names a day for 200 days
/// cost what 67 days do.
#[test]
fn account_memory_is_bounded_by_retention() {
    const ACCOUNTS: u32 = 500;
    let names: Vec<String> = (0..10).map(|i| format!("event {i}")).collect();
    let mut m = Metrics::new();
    for a in 0..ACCOUNTS {
        let account = AccountId(Uuid::from_u128(u128::from(a)));
        for d in 0..200 {
            for name in &names {
                m.record(&EventInput {
                    at: Millis(T0 + d * MS_PER_DAY),
                    kind: EventKind::Track,
                    name,
                    user: None,
                    account: Some(account),
                    organization: None,
                });
            }
        }
    }
    let per_account = m.heap_bytes().accounts / ACCOUNTS as usize;
    println!("metrics memory: {per_account} bytes/account with 10 names a day for 200 days");
    // 24 bytes a name, 4 bytes a retained day and name, plus the table slot.
    let counters = 10 * (24 + 4 * super::day::KEEP_DAYS as usize);
    assert!(per_account >= counters && per_account < counters + 120);
}
