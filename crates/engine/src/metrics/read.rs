//! Reading metrics at a given `now`: windows, roll-ups over the graph, active-user shares.

use std::collections::BTreeMap;

use super::Metrics;
use super::day::day_index;
use super::names::EventNameId;
use super::types::{AccountMetrics, EventStats, OrganizationMetrics, UserMetrics};
use super::usage::Usage;
use crate::graph::Graph;
use crate::ids::{AccountId, OrganizationId, UserId};
use crate::page::{PageKey, PageRequest, SortBy};
use crate::time::Millis;

/// Every key of a graph list, in no particular order of interest.
const ALL: PageRequest = PageRequest {
    sort: SortBy::UpdatedAt,
    limit: usize::MAX,
    after: None,
};

/// The sum of several records' usage.
#[derive(Default)]
struct Rollup {
    first: Option<Millis>,
    last: Option<Millis>,
    events: BTreeMap<EventNameId, EventStats>,
}

impl Rollup {
    fn add(&mut self, usage: &Usage, today: i64) {
        self.first = Some(self.first.map_or(usage.first, |f| f.min(usage.first)));
        self.last = Some(self.last.map_or(usage.last, |l| l.max(usage.last)));
        for tally in usage.tallies.iter() {
            let (last_30, previous_30) = tally.windows(today);
            let stats = self.events.entry(tally.name).or_default();
            stats.total += tally.total;
            stats.last_30_days += last_30;
            stats.previous_30_days += previous_30;
            stats.last_seen_at = stats.last_seen_at.max(Some(tally.last_seen_at));
        }
    }
}

impl Metrics {
    /// A user's metrics at `now`; `None` if the user was never active.
    pub fn user(&self, id: UserId, now: Millis) -> Option<UserMetrics> {
        let user = self.users.get(&id)?;
        let mut rollup = Rollup::default();
        rollup.add(&user.usage, day_index(now));
        Some(UserMetrics {
            first_known: rollup.first,
            last_seen: rollup.last,
            sessions: user.days.len(),
            events: self.named(rollup.events),
        })
    }

    /// An account's metrics at `now`, with the active share over its users in `graph`.
    pub fn account(&self, id: AccountId, graph: &Graph, now: Millis) -> AccountMetrics {
        self.account_counting(id, graph, now, &|_| true)
    }

    /// [`Self::account`] over the users `counted` accepts only (deactivated users are left
    /// out of user-based metrics: see `Engine::account_metrics`).
    pub fn account_counting(
        &self,
        id: AccountId,
        graph: &Graph,
        now: Millis,
        counted: &dyn Fn(UserId) -> bool,
    ) -> AccountMetrics {
        let today = day_index(now);
        let mut rollup = Rollup::default();
        if let Some(usage) = self.accounts.get(&id) {
            rollup.add(usage, today);
        }
        self.finish(rollup, &graph.account_users_page(id, &ALL), today, counted)
    }

    /// An organization's metrics at `now`: its accounts in `graph` now, plus events sent to the
    /// organization directly; the active share is over its distinct users.
    pub fn organization(
        &self,
        id: OrganizationId,
        graph: &Graph,
        now: Millis,
    ) -> OrganizationMetrics {
        self.organization_counting(id, graph, now, &|_| true)
    }

    /// [`Self::organization`] over the users `counted` accepts only.
    pub fn organization_counting(
        &self,
        id: OrganizationId,
        graph: &Graph,
        now: Millis,
        counted: &dyn Fn(UserId) -> bool,
    ) -> OrganizationMetrics {
        let today = day_index(now);
        let mut rollup = Rollup::default();
        if let Some(usage) = self.organizations.get(&id) {
            rollup.add(usage, today);
        }
        for account in graph.organization_accounts_page(id, &ALL) {
            if let Some(usage) = self.accounts.get(&AccountId(account.id)) {
                rollup.add(usage, today);
            }
        }
        self.finish(
            rollup,
            &graph.organization_users_page(id, &ALL),
            today,
            counted,
        )
    }

    fn finish(
        &self,
        rollup: Rollup,
        users: &[PageKey],
        today: i64,
        counted: &dyn Fn(UserId) -> bool,
    ) -> AccountMetrics {
        let users: Vec<PageKey> = users
            .iter()
            .filter(|k| counted(UserId(k.id)))
            .copied()
            .collect();
        let active = users
            .iter()
            .filter(|k| {
                self.users
                    .get(&UserId(k.id))
                    .is_some_and(|u| u.active_in_last_30(today))
            })
            .count();
        let share = (!users.is_empty()).then(|| active as f64 / users.len() as f64);
        AccountMetrics {
            first_seen: rollup.first,
            last_seen: rollup.last,
            events: self.named(rollup.events),
            active_users_share_30d: share,
            active_users_30d: active as u32,
            users: users.len() as u32,
        }
    }

    /// Counters keyed by name, sorted by name.
    fn named(&self, events: BTreeMap<EventNameId, EventStats>) -> Vec<(String, EventStats)> {
        let mut out: Vec<(String, EventStats)> = events
            .into_iter()
            .map(|(id, stats)| (self.names.name(id).to_owned(), stats))
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
