//! First and last activity only: what list pages show on every record, without the cost of
//! the per-name windows and active-user shares.

use super::Metrics;
use crate::graph::Graph;
use crate::ids::{AccountId, OrganizationId, UserId};
use crate::page::{PageRequest, SortBy};
use crate::time::Millis;

/// First and last activity of a record; both `None` when it has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub first: Option<Millis>,
    pub last: Option<Millis>,
}

impl Seen {
    fn add(&mut self, first: Millis, last: Millis) {
        self.first = Some(self.first.map_or(first, |f| f.min(first)));
        self.last = Some(self.last.map_or(last, |l| l.max(last)));
    }
}

impl Metrics {
    pub fn user_seen(&self, id: UserId) -> Seen {
        let mut seen = Seen::default();
        if let Some(user) = self.users.get(&id) {
            seen.add(user.usage.first, user.usage.last);
        }
        seen
    }

    /// Distinct UTC days with activity (`sessions`); 0 for a user never seen.
    pub fn user_sessions(&self, id: UserId) -> u32 {
        self.users.get(&id).map_or(0, |u| u.days.len())
    }

    pub fn account_seen(&self, id: AccountId) -> Seen {
        let mut seen = Seen::default();
        if let Some(usage) = self.accounts.get(&id) {
            seen.add(usage.first, usage.last);
        }
        seen
    }

    /// Over the organization's current accounts and the events sent to it directly.
    pub fn organization_seen(&self, id: OrganizationId, graph: &Graph) -> Seen {
        let mut seen = Seen::default();
        if let Some(usage) = self.organizations.get(&id) {
            seen.add(usage.first, usage.last);
        }
        let all = PageRequest {
            sort: SortBy::UpdatedAt,
            limit: usize::MAX,
            after: None,
        };
        for account in graph.organization_accounts_page(id, &all) {
            if let Some(usage) = self.accounts.get(&AccountId(account.id)) {
                seen.add(usage.first, usage.last);
            }
        }
        seen
    }
}
