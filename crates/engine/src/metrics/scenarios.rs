//! End-to-end behaviour of [`Metrics`]: windows, late events, sessions, roll-ups over a graph,
//! deletions and retention.

use uuid::Uuid;

use super::day::{KEEP_DAYS, MS_PER_DAY};
use super::{AccountMetrics, EventInput, EventKind, EventStats, Metrics};
use crate::graph::{Graph, GraphChange};
use crate::ids::{AccountId, OrganizationId, UserId};
use crate::time::Millis;

const DAY: i64 = MS_PER_DAY;
const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;

fn org(i: u128) -> OrganizationId {
    OrganizationId(Uuid::from_u128(0x1_0000 + i))
}

fn acc(i: u128) -> AccountId {
    AccountId(Uuid::from_u128(0x2_0000 + i))
}

fn usr(i: u128) -> UserId {
    UserId(Uuid::from_u128(0x3_0000 + i))
}

fn track(at: i64, name: &str) -> EventInput<'_> {
    EventInput {
        at: Millis(at),
        kind: EventKind::Track,
        name,
        user: None,
        account: None,
        organization: None,
    }
}

fn page(at: i64) -> EventInput<'static> {
    EventInput {
        kind: EventKind::Activity,
        ..track(at, "Getting Started")
    }
}

fn by(mut e: EventInput<'_>, user: Option<u128>, account: Option<u128>) -> EventInput<'_> {
    e.user = user.map(usr);
    e.account = account.map(acc);
    e
}

fn stats(events: &[(String, EventStats)], name: &str) -> EventStats {
    events
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| *s)
        .unwrap_or_default()
}

fn windows(events: &[(String, EventStats)], name: &str) -> (u64, u64, u64) {
    let s = stats(events, name);
    (s.total, s.last_30_days, s.previous_30_days)
}

/// Orgs 1 and 2; accounts 1 and 2 in org 1, account 3 in org 2; users 1, 2 in account 1, user
/// 3 in accounts 1 and 3, user 4 directly in org 2.
fn graph() -> Graph {
    let mut g = Graph::new();
    let t = Millis(0);
    for o in [1, 2] {
        g.apply(&GraphChange::UpsertOrganization {
            id: org(o),
            created_at: t,
            updated_at: t,
        });
    }
    for (a, o) in [(1, 1), (2, 1), (3, 2)] {
        g.apply(&GraphChange::UpsertAccount {
            id: acc(a),
            organization: Some(org(o)),
            created_at: t,
            updated_at: t,
        });
    }
    for (u, accounts, orgs) in [
        (1, vec![1], vec![]),
        (2, vec![1], vec![]),
        (3, vec![1, 3], vec![]),
        (4, vec![], vec![2]),
    ] {
        g.apply(&GraphChange::UpsertUser {
            id: usr(u),
            accounts: accounts.into_iter().map(acc).collect(),
            organizations: orgs.into_iter().map(org).collect(),
            created_at: t,
            updated_at: t,
        });
    }
    g
}

#[test]
fn window_edges_match_instants_when_now_ends_its_day() {
    // The last millisecond of a UTC day: day windows and instant windows agree exactly.
    let now = T0 + 100 * DAY - 1;
    let mut m = Metrics::new();
    for age in [
        0,
        29 * DAY + 23 * HOUR + 59 * MINUTE, // last 30
        30 * DAY,                           // previous 30 (the edge is exclusive)
        30 * DAY + 1,                       // previous 30
        60 * DAY - 1,                       // previous 30
        60 * DAY,                           // neither
    ] {
        m.record(&by(track(now - age, "e"), None, Some(1)));
    }
    let a = m.account(acc(1), &Graph::new(), Millis(now));
    assert_eq!(windows(&a.events, "e"), (6, 2, 3));
}

#[test]
fn window_edges_are_utc_midnights() {
    // Now is the first millisecond of a day: an event 29d23h59m earlier is on day(now) - 30,
    // so it is in the previous window; anything later today counts as last 30 days.
    let now = T0 + 100 * DAY;
    let mut m = Metrics::new();
    m.record(&by(
        track(now - (29 * DAY + 23 * HOUR + 59 * MINUTE), "e"),
        None,
        Some(1),
    ));
    m.record(&by(track(now - 29 * DAY, "e"), None, Some(1)));
    m.record(&by(track(now + DAY - 1, "e"), None, Some(1)));
    m.record(&by(track(now + DAY, "e"), None, Some(1))); // tomorrow: in neither window
    let a = m.account(acc(1), &Graph::new(), Millis(now));
    assert_eq!(windows(&a.events, "e"), (4, 2, 1));
}

#[test]
fn windows_roll_over_with_time_alone() {
    let g = graph();
    let mut m = Metrics::new();
    for h in 0..3 {
        m.record(&by(track(T0 + h * HOUR, "login"), Some(1), Some(1)));
    }
    let read = |days: i64| m.account(acc(1), &g, Millis(T0 + days * DAY));
    assert_eq!(windows(&read(0).events, "login"), (3, 3, 0));
    assert_eq!(windows(&read(29).events, "login"), (3, 3, 0));
    assert_eq!(windows(&read(30).events, "login"), (3, 0, 3));
    assert_eq!(windows(&read(59).events, "login"), (3, 0, 3));
    assert_eq!(windows(&read(60).events, "login"), (3, 0, 0));
    assert_eq!(windows(&read(-1).events, "login"), (3, 0, 0));
    // One of three users active, until the activity leaves the window.
    assert_eq!(read(29).active_users_30d, 1);
    assert_eq!(read(29).active_users_share_30d, Some(1.0 / 3.0));
    assert_eq!(read(30).active_users_share_30d, Some(0.0));
    let user = m.user(usr(1), Millis(T0 + 45 * DAY)).unwrap();
    assert_eq!(windows(&user.events, "login"), (3, 0, 3));
    assert_eq!(
        stats(&user.events, "login").last_seen_at,
        Some(Millis(T0 + 2 * HOUR))
    );
}

#[test]
fn late_events_move_first_known_and_add_a_session_once() {
    let mut m = Metrics::new();
    m.record(&by(track(T0 + 10 * DAY, "a"), Some(1), None));
    m.record(&by(track(T0 + 10 * DAY + HOUR, "a"), Some(1), None));
    let u = m.user(usr(1), Millis(T0 + 10 * DAY)).unwrap();
    assert_eq!(
        (u.sessions, u.first_known, u.last_seen),
        (
            1,
            Some(Millis(T0 + 10 * DAY)),
            Some(Millis(T0 + 10 * DAY + HOUR))
        )
    );

    // A late event on a new past day: one more session, first known moves, last seen stays.
    m.record(&by(track(T0 + 5 * DAY + 3 * HOUR, "b"), Some(1), None));
    let u = m.user(usr(1), Millis(T0 + 10 * DAY)).unwrap();
    assert_eq!(u.sessions, 2);
    assert_eq!(u.first_known, Some(Millis(T0 + 5 * DAY + 3 * HOUR)));
    assert_eq!(u.last_seen, Some(Millis(T0 + 10 * DAY + HOUR)));

    // The same past day again (earlier in it): no new session, first known moves again.
    m.record(&by(track(T0 + 5 * DAY, "b"), Some(1), None));
    let u = m.user(usr(1), Millis(T0 + 10 * DAY)).unwrap();
    assert_eq!(u.sessions, 2);
    assert_eq!(u.first_known, Some(Millis(T0 + 5 * DAY)));
    assert_eq!(
        stats(&u.events, "b").last_seen_at,
        Some(Millis(T0 + 5 * DAY + 3 * HOUR))
    );
    assert_eq!(
        u.events.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
}

#[test]
fn sessions_count_utc_days_not_events() {
    let mut m = Metrics::new();
    // 23:59:59.999 and the next millisecond are two days; many events on one day are one.
    m.record(&by(page(T0 + DAY - 1), Some(1), None));
    m.record(&by(page(T0 + DAY), Some(1), None));
    for h in 0..24 {
        m.record(&by(track(T0 + DAY + h * HOUR, "x"), Some(1), None));
    }
    assert_eq!(m.user(usr(1), Millis(T0)).unwrap().sessions, 2);
}

#[test]
fn activity_moves_seen_times_and_sessions_but_counts_no_event() {
    let g = graph();
    let mut m = Metrics::new();
    m.record(&by(track(T0 + DAY, "report"), Some(1), Some(1)));
    m.record(&by(page(T0 + 3 * DAY), Some(1), Some(1)));
    m.record(&by(page(T0), Some(2), Some(1)));
    let now = Millis(T0 + 3 * DAY);
    let u1 = m.user(usr(1), now).unwrap();
    assert_eq!((u1.sessions, u1.last_seen), (2, Some(Millis(T0 + 3 * DAY))));
    assert_eq!(u1.events.len(), 1);
    let u2 = m.user(usr(2), now).unwrap();
    assert_eq!(
        (u2.sessions, u2.first_known, u2.events.len()),
        (1, Some(Millis(T0)), 0)
    );
    let a = m.account(acc(1), &g, now);
    assert_eq!(
        (a.first_seen, a.last_seen),
        (Some(Millis(T0)), Some(Millis(T0 + 3 * DAY)))
    );
    assert_eq!(a.events.len(), 1);
    assert_eq!((a.active_users_30d, a.users), (2, 3));
    assert_eq!(m.event_name_id("Getting Started"), None);
}

#[test]
fn organizations_sum_their_accounts_and_direct_events() {
    let g = graph();
    let mut m = Metrics::new();
    let now = Millis(T0 + 40 * DAY);
    m.record(&by(track(T0 + 39 * DAY, "e"), Some(1), Some(1)));
    m.record(&by(track(T0 + 5 * DAY, "e"), Some(3), Some(2)));
    m.record(&by(track(T0 + 20 * DAY, "f"), None, Some(2)));
    m.record(&by(track(T0 + 39 * DAY, "e"), None, Some(3))); // account 3 is in org 2
    // Sent to org 1 without an account: counts for org 1 directly.
    m.record(&EventInput {
        organization: Some(org(1)),
        ..track(T0 + 2 * DAY, "e")
    });
    // Names both an account and an organization: counts through the account only.
    m.record(&EventInput {
        organization: Some(org(2)),
        ..by(track(T0 + 3 * DAY, "g"), None, Some(1))
    });
    let o1 = m.organization(org(1), &g, now);
    assert_eq!(o1.first_seen, Some(Millis(T0 + 2 * DAY)));
    assert_eq!(o1.last_seen, Some(Millis(T0 + 39 * DAY)));
    assert_eq!(
        o1.events,
        vec![
            (
                "e".to_owned(),
                EventStats {
                    total: 3,
                    last_30_days: 1,
                    previous_30_days: 2,
                    last_seen_at: Some(Millis(T0 + 39 * DAY))
                }
            ),
            (
                "f".to_owned(),
                EventStats {
                    total: 1,
                    last_30_days: 1,
                    previous_30_days: 0,
                    last_seen_at: Some(Millis(T0 + 20 * DAY))
                }
            ),
            (
                "g".to_owned(),
                EventStats {
                    total: 1,
                    last_30_days: 0,
                    previous_30_days: 1,
                    last_seen_at: Some(Millis(T0 + 3 * DAY))
                }
            ),
        ]
    );
    // Org 1's users are 1, 2, 3 (through account 1); 1 was active at day 39, 3 only at day 5.
    assert_eq!((o1.active_users_30d, o1.users), (1, 3));
    let o2 = m.organization(org(2), &g, now);
    assert_eq!(windows(&o2.events, "e"), (1, 1, 0));
    assert_eq!(windows(&o2.events, "g"), (0, 0, 0));
    // Org 2's users: 3 (through account 3) and 4 (direct); user 3 was last seen at day 5.
    assert_eq!((o2.active_users_30d, o2.users), (0, 2));
    assert_eq!(o2.active_users_share_30d, Some(0.0));
}

#[test]
fn moving_an_account_moves_its_history() {
    let mut g = graph();
    let mut m = Metrics::new();
    let now = Millis(T0 + DAY);
    m.record(&by(track(T0, "e"), Some(1), Some(1)));
    m.record(&by(track(T0, "e"), None, Some(3)));
    assert_eq!(
        windows(&m.organization(org(1), &g, now).events, "e"),
        (1, 1, 0)
    );
    assert_eq!(
        windows(&m.organization(org(2), &g, now).events, "e"),
        (1, 1, 0)
    );
    g.apply(&GraphChange::UpsertAccount {
        id: acc(1),
        organization: Some(org(2)),
        created_at: Millis(0),
        updated_at: Millis(1),
    });
    let o1 = m.organization(org(1), &g, now);
    let o2 = m.organization(org(2), &g, now);
    assert_eq!(windows(&o2.events, "e"), (2, 2, 0));
    assert_eq!(o2.first_seen, Some(Millis(T0)));
    // Org 1 keeps only account 2, which has no events and no users.
    assert_eq!(
        o1,
        AccountMetrics {
            first_seen: None,
            last_seen: None,
            events: vec![],
            active_users_share_30d: None,
            active_users_30d: 0,
            users: 0,
        }
    );
    // Org 2 now has users 1, 2, 3 (account 1) and 4; user 1 is active.
    assert_eq!((o2.active_users_30d, o2.users), (1, 4));
}

#[test]
fn forgetting_records_removes_them() {
    let g = graph();
    let mut m = Metrics::new();
    let now = Millis(T0);
    m.record(&by(track(T0, "e"), Some(1), Some(1)));
    m.record(&EventInput {
        organization: Some(org(1)),
        ..track(T0, "e")
    });
    let before = m.heap_bytes();
    m.forget_user(usr(1));
    assert_eq!(m.user(usr(1), now), None);
    // The account keeps the user's events, but the user no longer counts as active.
    let a = m.account(acc(1), &g, now);
    assert_eq!(
        (windows(&a.events, "e"), a.active_users_30d),
        ((1, 1, 0), 0)
    );
    m.forget_account(acc(1));
    assert_eq!(m.account(acc(1), &g, now).events, vec![]);
    assert_eq!(
        windows(&m.organization(org(1), &g, now).events, "e"),
        (1, 1, 0)
    );
    m.forget_organization(org(1));
    assert_eq!(m.organization(org(1), &g, now).first_seen, None);
    let after = m.heap_bytes();
    assert!(after.users < before.users);
    // Forgetting unknown records is harmless.
    m.forget_user(usr(9));
    m.forget_account(acc(9));
    m.forget_organization(org(9));
}

#[test]
fn events_without_a_record_are_ignored() {
    let mut m = Metrics::new();
    m.record(&track(T0, "orphan"));
    assert_eq!(m.event_name_id("orphan"), None);
    assert_eq!(m.heap_bytes().total(), 0);
}

#[test]
fn interning_reuses_ids_across_records() {
    let mut m = Metrics::new();
    for u in 0..50 {
        m.record(&by(track(T0 + u as i64, "a"), Some(u), Some(u % 3)));
        m.record(&by(track(T0, "b"), Some(u), None));
    }
    let a = m.event_name_id("a").unwrap();
    let b = m.event_name_id("b").unwrap();
    assert_ne!(a, b);
    assert_eq!(m.names.len(), 2);
}

#[test]
fn pruning_keeps_totals_and_last_seen_exact() {
    let mut m = Metrics::new();
    // One event a day for 400 days, delivered newest first, so most arrive after their bucket
    // would already have been dropped.
    for d in (0..400).rev() {
        m.record(&by(track(T0 + d * DAY, "e"), Some(1), Some(1)));
    }
    let now = Millis(T0 + 399 * DAY);
    let user = m.user(usr(1), now).unwrap();
    let e = stats(&user.events, "e");
    assert_eq!((e.total, e.last_30_days, e.previous_30_days), (400, 30, 30));
    assert_eq!(e.last_seen_at, Some(now));
    assert_eq!(user.sessions, 400);
    assert_eq!(user.first_known, Some(Millis(T0)));
    // Only the retained days hold buckets.
    let buckets = m.accounts[&acc(1)]
        .tallies
        .iter()
        .next()
        .unwrap()
        .bucket_days()
        .len();
    assert_eq!(buckets as i64, KEEP_DAYS);
    // Reading 7 days before the latest event is still exact.
    let early = m.account(acc(1), &Graph::new(), Millis(T0 + 392 * DAY));
    assert_eq!(windows(&early.events, "e"), (400, 30, 30));
}

#[test]
fn accounts_without_users_have_no_share() {
    let m = Metrics::new();
    let a = m.account(acc(7), &Graph::new(), Millis(T0));
    assert_eq!(
        (a.active_users_share_30d, a.users, a.first_seen),
        (None, 0, None)
    );
}
