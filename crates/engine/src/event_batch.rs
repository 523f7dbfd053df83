//! Events copied out of storage rows in batches, so the start-up replay can apply them on
//! another thread than the one scanning the event log (see `Engine::replay_events`).
//!
//! A storage row is borrowed only for the duration of a callback; a batch owns what the
//! engine needs of a few thousand rows. Workspaces and event names are interned per batch
//! (one copy of each name a batch, not one a row), so a batch allocates a handful of times
//! whatever its size.

use foldhash::{HashMap, HashMapExt};

use crate::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use crate::metrics::{EventInput, EventKind};
use crate::time::Millis;

/// Events a batch holds: large enough that handing batches between threads costs nothing
/// per event, small enough (about 300 KB) to stay in cache between the two threads.
const BATCH_EVENTS: usize = 4096;

/// Events of one or more workspaces, owned.
#[derive(Debug, Default)]
pub struct EventBatch {
    workspaces: Vec<WorkspaceId>,
    names: Vec<Box<str>>,
    events: Vec<BatchedEvent>,
}

#[derive(Clone, Copy, Debug)]
struct BatchedEvent {
    at: Millis,
    user: Option<UserId>,
    account: Option<AccountId>,
    organization: Option<OrganizationId>,
    /// Index into the batch's workspaces.
    workspace: u32,
    /// Index into the batch's names.
    name: u32,
    kind: EventKind,
}

/// One event of a batch as the engine takes it.
pub(crate) struct BatchEntry<'a> {
    /// Index into [`EventBatch::workspaces`].
    pub(crate) workspace: usize,
    /// Index into [`EventBatch::names`] (the same for every event of that name).
    pub(crate) name: usize,
    pub(crate) input: EventInput<'a>,
}

impl EventBatch {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The distinct workspaces of the batch's events.
    pub(crate) fn workspaces(&self) -> &[WorkspaceId] {
        &self.workspaces
    }

    /// The number of distinct event names in the batch.
    pub(crate) fn name_count(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = BatchEntry<'_>> + '_ {
        self.events.iter().map(|e| BatchEntry {
            workspace: e.workspace as usize,
            name: e.name as usize,
            input: EventInput {
                at: e.at,
                kind: e.kind,
                name: &self.names[e.name as usize],
                user: e.user,
                account: e.account,
                organization: e.organization,
            },
        })
    }
}

/// Fills batches from borrowed events: the scanning side of the replay.
#[derive(Debug)]
pub struct EventBatcher {
    batch: EventBatch,
    /// The batch's names, by text (moved into the batch when it is handed out).
    names: HashMap<Box<str>, u32>,
}

impl Default for EventBatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBatcher {
    pub fn new() -> Self {
        Self {
            batch: EventBatch {
                events: Vec::with_capacity(BATCH_EVENTS),
                ..EventBatch::default()
            },
            names: HashMap::new(),
        }
    }

    /// Copies one event; answers a full batch when this event completes one.
    pub fn push(&mut self, workspace: WorkspaceId, event: &EventInput<'_>) -> Option<EventBatch> {
        let workspaces = &mut self.batch.workspaces;
        // Events come grouped by workspace in practice: the last one is the likely match.
        let ws = match workspaces.iter().rposition(|w| *w == workspace) {
            Some(i) => i,
            None => {
                workspaces.push(workspace);
                workspaces.len() - 1
            }
        };
        let name = match self.names.get(event.name) {
            Some(id) => *id,
            None => {
                let id = self.names.len() as u32;
                self.names.insert(event.name.into(), id);
                id
            }
        };
        self.batch.events.push(BatchedEvent {
            at: event.at,
            user: event.user,
            account: event.account,
            organization: event.organization,
            workspace: ws as u32,
            name,
            kind: event.kind,
        });
        (self.batch.events.len() >= BATCH_EVENTS).then(|| self.take())
    }

    /// The last, partly filled batch (`None` when it is empty).
    pub fn finish(mut self) -> Option<EventBatch> {
        (!self.batch.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> EventBatch {
        let mut names = vec![Box::<str>::default(); self.names.len()];
        for (name, id) in self.names.drain() {
            names[id as usize] = name;
        }
        let batch = std::mem::replace(
            &mut self.batch,
            EventBatch {
                events: Vec::with_capacity(BATCH_EVENTS),
                ..EventBatch::default()
            },
        );
        EventBatch { names, ..batch }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn event(name: &str, at: i64) -> EventInput<'_> {
        EventInput {
            at: Millis(at),
            kind: EventKind::Track,
            name,
            user: Some(UserId(Uuid::from_u128(7))),
            account: None,
            organization: Some(OrganizationId(Uuid::from_u128(9))),
        }
    }

    #[test]
    fn batches_give_back_what_was_pushed() {
        let (a, b) = (
            WorkspaceId(Uuid::from_u128(1)),
            WorkspaceId(Uuid::from_u128(2)),
        );
        let mut batcher = EventBatcher::new();
        let pushed = [
            (a, "login", 5),
            (b, "export", 6),
            (a, "login", -7),
            (a, "x", 8),
        ];
        for (ws, name, at) in pushed {
            assert!(batcher.push(ws, &event(name, at)).is_none());
        }
        let batch = batcher.finish().unwrap();
        assert_eq!(batch.len(), 4);
        assert_eq!(batch.workspaces(), &[a, b]);
        assert_eq!(batch.name_count(), 3);
        let got: Vec<_> = batch
            .entries()
            .map(|e| (batch.workspaces()[e.workspace], e.input))
            .collect();
        let want: Vec<_> = pushed
            .iter()
            .map(|(ws, n, at)| (*ws, event(n, *at)))
            .collect();
        assert_eq!(got, want);
        let names: Vec<usize> = batch.entries().map(|e| e.name).collect();
        assert_eq!(names[0], names[2]);
    }

    #[test]
    fn a_full_batch_is_handed_out_and_the_next_starts_empty() {
        let ws = WorkspaceId(Uuid::from_u128(1));
        let mut batcher = EventBatcher::new();
        let mut full = Vec::new();
        for i in 0..BATCH_EVENTS as i64 + 3 {
            full.extend(batcher.push(ws, &event(if i % 2 == 0 { "a" } else { "b" }, i)));
        }
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].len(), BATCH_EVENTS);
        assert_eq!(full[0].name_count(), 2);
        let rest = batcher.finish().unwrap();
        assert_eq!(rest.len(), 3);
        assert_eq!(
            rest.entries().next().unwrap().input.at,
            Millis(BATCH_EVENTS as i64)
        );
        assert!(EventBatcher::new().finish().is_none());
    }
}
