//! Rebuilding a workspace's metrics from many events at once (the start-up replay of the
//! event log): the same [`Metrics`] as [`Metrics::record`] for each event, in any order, for a
//! fraction of the cost per event.
//!
//! `Metrics::record` keeps every record packed at all times, so nearly every replayed event
//! (a new day for its user, a new name or day bucket for its account) rebuilds a slice. Here
//! each record is unpacked while the replay runs (`pending.rs`): an event is queued in the
//! partition of each record it counts for (`partition.rs`), applied as an append to the
//! record's marks while the partition is in cache, and the packing happens once per record
//! at the end.

use super::mark::Mark;
use super::names::EventNameId;
use super::partition::Partitioned;
use super::pending::{PendingUsage, PendingUser};
use super::{EventInput, EventKind, Metrics};
use crate::ids::{AccountId, OrganizationId, UserId};

#[derive(Debug, Default)]
pub struct MetricsReplay {
    /// Where the event names are interned, and the records not touched by the replay.
    metrics: Metrics,
    users: Partitioned<UserId, PendingUser>,
    accounts: Partitioned<AccountId, PendingUsage>,
    organizations: Partitioned<OrganizationId, PendingUsage>,
}

impl MetricsReplay {
    /// A replay into `metrics` (empty at start-up): records it already has keep what they
    /// counted and add the replayed events to it.
    pub fn new(metrics: Metrics) -> Self {
        Self {
            metrics,
            ..Self::default()
        }
    }

    /// [`Metrics::record`], deferred to [`Self::finish`].
    pub fn record(&mut self, event: &EventInput<'_>) {
        self.record_named(event, &mut None);
    }

    /// [`Self::record`] with the id of `event.name` cached in `name` by the caller: interned
    /// on the first product event that counts, as `Metrics::record` does, and reused for the
    /// next events of the same name.
    pub fn record_named(&mut self, event: &EventInput<'_>, name: &mut Option<EventNameId>) {
        if !event.counts_for_a_record() {
            return;
        }
        let organization = event.direct_organization();
        let name = match event.kind {
            EventKind::Track => {
                Some(*name.get_or_insert_with(|| self.metrics.names.intern(event.name)))
            }
            EventKind::Activity => None,
        };
        let mark = Mark::new(event.at, name);
        let existing = &mut self.metrics;
        if let Some(id) = event.user {
            self.users.push(id, mark, &mut existing.users);
        }
        if let Some(id) = event.account {
            self.accounts.push(id, mark, &mut existing.accounts);
        }
        if let Some(id) = organization {
            self.organizations
                .push(id, mark, &mut existing.organizations);
        }
    }

    /// The metrics with every replayed event counted, packed as `Metrics::record` packs them.
    pub fn finish(self) -> Metrics {
        let mut metrics = self.metrics;
        self.users.finish_into(&mut metrics.users);
        self.accounts.finish_into(&mut metrics.accounts);
        self.organizations.finish_into(&mut metrics.organizations);
        metrics
    }
}
