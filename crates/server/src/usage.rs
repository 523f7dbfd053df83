//! Stored events as the engine's usage metrics take them.

use steward_engine::metrics::{EventInput, EventKind as MetricKind};
use steward_engine::time::Millis;
use steward_store::write::{EventKind, EventUsage, RecordedEvent};

/// How far past its arrival an event's own timestamp may count. Client clocks run ahead;
/// one event from far in the future would otherwise distort a record's windows.
const MAX_AHEAD_MS: i64 = 24 * 60 * 60 * 1000;

pub fn event_input(event: &RecordedEvent) -> EventInput<'_> {
    usage_input(&event.usage())
}

pub fn usage_input<'a>(event: &EventUsage<'a>) -> EventInput<'a> {
    EventInput {
        at: Millis(event.at.0.min(event.received_at.0 + MAX_AHEAD_MS)),
        kind: match event.kind {
            EventKind::Track => MetricKind::Track,
            EventKind::Page | EventKind::Screen => MetricKind::Activity,
        },
        name: event.name,
        user: event.user,
        account: event.account,
        organization: event.organization,
    }
}
