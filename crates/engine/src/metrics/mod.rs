//! Product-usage metrics (Vitally's default metrics), maintained one event at a time.
//!
//! Per user: first known, last seen, sessions (distinct UTC days with activity) and, per event
//! name, the all-time total, the last and previous 30 days and the last time seen. Per account:
//! the same event counters over the events attributed to it, first/last seen, and the share of
//! its users active in the last 30 days. Per organization: the sum over the accounts it has *at
//! read time* plus events sent to the organization directly, so moving an account moves its
//! history.
//!
//! # Time
//!
//! Events may arrive late and in any order: an event counts by its own timestamp. First/last
//! times, totals and sessions are exact whatever the order. The rolling windows are computed at
//! read time from per-day counts, so they move with `now` without new events:
//!
//! - **last 30 days**: events with `day(now) - 30 < day(at) <= day(now)`;
//! - **previous 30 days**: events with `day(now) - 60 < day(at) <= day(now) - 30`;
//! - events on a UTC day after `now`'s count in neither window (they do count in totals);
//! - a user is **active** when they have activity on a day of the last-30-days window.
//!
//! where `day(t)` is the UTC day number `floor(t / 86_400_000)`. These are the instant windows
//! `now - 30d < at <= now` and `now - 60d < at <= now - 30d` taken at day resolution: the window
//! edges are UTC midnights, so the last 30 days are today (all of it) and the 29 days before.
//! Exact instant edges would need every event's timestamp for 60 days; counts per day are what
//! keep a record at a few bytes per active day.
//!
//! Day counts are kept for the 67 days up to a record's latest event (60 days of windows plus 7
//! of slack) and dropped as that moves on. Windows are therefore exact for any read whose `now`
//! is no more than 7 days before the record's latest event, which holds for every read at the
//! real time as long as the ingestion layer does not accept events from more than 7 days in the
//! future. Days are stored as 16-bit day numbers: day counts and sessions cover 1970-01-01 to
//! 2149-06-05 (times outside are clamped for sessions and get no day count).
//!
//! # Memory
//!
//! Event names are interned per workspace ([`EventNameId`]). A record's counters live in one
//! packed allocation (24 bytes a name plus 4 bytes a day bucket, see `tallies.rs`); a user's
//! active days in another (2 bytes a day, or one bit a day when denser, see `day_set.rs`).
//! A user with two event names on five days costs about 180 bytes including its hash-table slot
//! (see the memory test in `tests.rs`).
//!
//! # Replay
//!
//! At start-up the metrics are rebuilt from the event log. [`MetricsReplay`] takes the events
//! in bulk and gives the same `Metrics` as [`Metrics::record`] for each (the metrics do not
//! depend on the order of events, so neither does the replay): records stay unpacked while
//! events are appended to them, and are packed once at the end (`replay.rs`, `pending.rs`).

mod bytes;
mod day;
mod day_set;
mod mark;
mod names;
mod partition;
mod pending;
mod read;
mod replay;
mod seen;
mod tallies;
mod tally_merge;
mod types;
mod usage;

#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod tests;

use foldhash::HashMap;

pub use names::EventNameId;
pub use replay::MetricsReplay;
pub use seen::Seen;
pub use types::{
    AccountMetrics, EventInput, EventKind, EventStats, MetricsBytes, OrganizationMetrics,
    UserMetrics,
};

use crate::ids::{AccountId, OrganizationId, UserId};
use names::EventNames;
use usage::{Usage, UserUsage};

/// The usage metrics of one workspace.
#[derive(Debug, Default)]
#[cfg_attr(test, derive(PartialEq))]
pub struct Metrics {
    names: EventNames,
    users: HashMap<UserId, UserUsage>,
    accounts: HashMap<AccountId, Usage>,
    /// Events sent to an organization without an account.
    organizations: HashMap<OrganizationId, Usage>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one event for its user, its account, and its organization if it names no account.
    pub fn record(&mut self, event: &EventInput<'_>) {
        if !event.counts_for_a_record() {
            return;
        }
        let org = event.direct_organization();
        let name = match event.kind {
            EventKind::Track => Some(self.names.intern(event.name)),
            EventKind::Activity => None,
        };
        let at = event.at;
        if let Some(id) = event.user {
            match self.users.get_mut(&id) {
                Some(user) => user.record(at, name),
                None => {
                    self.users.insert(id, UserUsage::new(at, name));
                }
            }
        }
        if let Some(id) = event.account {
            record_into(&mut self.accounts, id, at, name);
        }
        if let Some(id) = org {
            record_into(&mut self.organizations, id, at, name);
        }
    }

    /// Drops a deleted user's metrics (the counts it added to its accounts stay there).
    pub fn forget_user(&mut self, id: UserId) {
        self.users.remove(&id);
    }

    /// Drops a deleted account's metrics.
    pub fn forget_account(&mut self, id: AccountId) {
        self.accounts.remove(&id);
    }

    /// Drops the events sent directly to a deleted organization.
    pub fn forget_organization(&mut self, id: OrganizationId) {
        self.organizations.remove(&id);
    }

    /// The id of an event name, if any event ever had it.
    pub fn event_name_id(&self, name: &str) -> Option<EventNameId> {
        self.names.get(name)
    }

    /// Estimated heap bytes, by record kind: each record kind's hash table plus what its
    /// entries own. Allocator overhead is not counted (as in `Graph::heap_bytes`).
    pub fn heap_bytes(&self) -> MetricsBytes {
        fn table<K, V>(map: &HashMap<K, V>, owned: impl Fn(&V) -> usize) -> usize {
            bytes::table_bytes(map.capacity(), std::mem::size_of::<(K, V)>())
                + map.values().map(owned).sum::<usize>()
        }
        MetricsBytes {
            users: table(&self.users, UserUsage::heap_bytes),
            accounts: table(&self.accounts, Usage::heap_bytes),
            organizations: table(&self.organizations, Usage::heap_bytes),
            names: self.names.heap_bytes(),
        }
    }
}

fn record_into<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Usage>,
    id: K,
    at: crate::time::Millis,
    name: Option<EventNameId>,
) {
    match map.get_mut(&id) {
        Some(usage) => usage.record(at, name),
        None => {
            map.insert(id, Usage::new(at, name));
        }
    }
}
