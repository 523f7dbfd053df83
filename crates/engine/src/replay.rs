//! The start-up replay of the event log: [`Engine::record_event`] for many events at once.

use foldhash::{HashMap, HashMapExt};

use crate::derive::DerivedChange;
use crate::engine::Engine;
use crate::event_batch::EventBatch;
use crate::ids::WorkspaceId;
use crate::metrics::{EventNameId, MetricsReplay};

/// How the events of one workspace of a batch are taken.
#[derive(Clone, Copy)]
enum Target {
    /// Through `record_event`: the workspace has derivation rules, which every event may move.
    OneByOne,
    /// Into the workspace's [`MetricsReplay`] (`slot`, once an event counts), skipping the
    /// events the derivation's restored lifecycle state does not count when `filtered`.
    Replay { filtered: bool, slot: Option<usize> },
}

impl Engine {
    /// Counts the events of `batches` in the usage metrics exactly as [`Self::record_event`]
    /// for each would (the metrics do not depend on the order of events), at a fraction of the
    /// cost per event: records stay unpacked until every batch is in (see
    /// `metrics/replay.rs`). The engine's metrics are complete when this returns.
    ///
    /// As with `record_event`, events the derivation does not count are skipped (deactivated
    /// users, churned or ignored accounts: at start-up, from the state [`Self::restore`] put
    /// back). A workspace with derivation rules installed takes its events one by one through
    /// `record_event`, since each may move derived values; at start-up rules are configured
    /// after the replay, so none does. Answers the derived changes those reported.
    pub fn replay_events(
        &mut self,
        batches: impl IntoIterator<Item = EventBatch>,
    ) -> Vec<(WorkspaceId, Vec<DerivedChange>)> {
        let mut replays: Vec<(WorkspaceId, MetricsReplay)> = Vec::new();
        let mut slots: HashMap<WorkspaceId, usize> = HashMap::new();
        let mut reported = Vec::new();
        for batch in batches {
            let workspaces = batch.workspaces();
            let mut targets: Vec<Target> = workspaces.iter().map(|ws| self.target(*ws)).collect();
            // Each name of the batch is interned once per workspace, when first counted.
            let mut names: Vec<Vec<Option<EventNameId>>> =
                vec![vec![None; batch.name_count()]; workspaces.len()];
            for entry in batch.entries() {
                let ws = workspaces[entry.workspace];
                let slot = match &mut targets[entry.workspace] {
                    Target::OneByOne => {
                        let changes = self.record_event(ws, &entry.input);
                        if !changes.is_empty() {
                            reported.push((ws, changes));
                        }
                        continue;
                    }
                    Target::Replay { filtered, slot } => {
                        if *filtered
                            && self
                                .derivations
                                .get(&ws)
                                .is_some_and(|d| !d.counts_event(&entry.input))
                        {
                            continue;
                        }
                        *slot.get_or_insert_with(|| {
                            *slots.entry(ws).or_insert_with(|| {
                                let metrics = self.metrics.remove(&ws).unwrap_or_default();
                                replays.push((ws, MetricsReplay::new(metrics)));
                                replays.len() - 1
                            })
                        })
                    }
                };
                let name = &mut names[entry.workspace][entry.name];
                replays[slot].1.record_named(&entry.input, name);
            }
        }
        for (ws, replay) in replays {
            self.metrics.insert(ws, replay.finish());
        }
        reported
    }

    fn target(&self, workspace: WorkspaceId) -> Target {
        match self.derivations.get(&workspace) {
            Some(d) if d.compiled().is_some() => Target::OneByOne,
            derivation => Target::Replay {
                filtered: derivation.is_some(),
                slot: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};
    use uuid::Uuid;

    use super::*;
    use crate::derive::{
        DerivationConfig, LifecycleRecord, RecordInput, RecordRef, SchemaInput, Status, compile,
    };
    use crate::event_batch::EventBatcher;
    use crate::graph::GraphChange;
    use crate::ids::{AccountId, OrganizationId, UserId};
    use crate::metrics::{EventInput, EventKind};
    use crate::time::Millis;

    const DAY: i64 = 86_400_000;
    /// 2024-01-01T00:00:00Z.
    const T0: i64 = 1_704_067_200_000;

    fn ws(i: u128) -> WorkspaceId {
        WorkspaceId(Uuid::from_u128(i))
    }

    fn usr(i: u64) -> UserId {
        UserId(Uuid::from_u128(0x3_0000 + u128::from(i)))
    }

    fn acc(i: u64) -> AccountId {
        AccountId(Uuid::from_u128(0x2_0000 + u128::from(i)))
    }

    fn org(i: u64) -> OrganizationId {
        OrganizationId(Uuid::from_u128(0x1_0000 + u128::from(i)))
    }

    const NAMES: [&str; 3] = ["login", "export", "invite"];

    /// Events of three workspaces, interleaved, over 100 days (deterministic).
    fn events() -> Vec<(WorkspaceId, EventInput<'static>)> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        (0..10_000)
            .map(|_| {
                let user = next(5);
                let account = next(4);
                let direct = next(6) == 0;
                let event = EventInput {
                    at: Millis(T0 + next(100 * DAY as u64) as i64),
                    kind: if next(5) == 0 {
                        EventKind::Activity
                    } else {
                        EventKind::Track
                    },
                    name: NAMES[next(3) as usize],
                    user: (user < 4).then(|| usr(user)),
                    account: (!direct && account < 3).then(|| acc(account)),
                    organization: Some(org(next(3))),
                };
                (ws(1 + u128::from(next(3))), event)
            })
            .collect()
    }

    /// Workspace 1 plain; 2 with restored lifecycle state (user 1 deactivated on day 30,
    /// account 1 churned on day 50, organization 2 ignored); 3 with a formula on sessions.
    fn engine() -> Engine {
        let mut engine = Engine::new();
        let restored = |record, status, churned_at, deactivated_at| LifecycleRecord {
            record,
            status,
            churned_since: churned_at,
            churned_at,
            deactivated_at,
            mrr: None,
        };
        engine.restore(
            ws(2),
            &[
                restored(
                    RecordRef::User(usr(1)),
                    Status::Subscribed,
                    None,
                    Some(Millis(T0 + 30 * DAY)),
                ),
                restored(
                    RecordRef::Account(acc(1)),
                    Status::Churned,
                    Some(Millis(T0 + 50 * DAY)),
                    None,
                ),
                restored(RecordRef::Organization(org(2)), Status::Ignored, None, None),
            ],
        );
        let t = Millis(0);
        for u in 0..4 {
            engine.apply(
                ws(3),
                &GraphChange::UpsertUser {
                    id: usr(u),
                    accounts: vec![],
                    organizations: vec![],
                    created_at: t,
                    updated_at: t,
                },
            );
        }
        let config: DerivationConfig = serde_json::from_value(json!({
            "formulas": [{"model": "user", "key": "visits", "label": "visits", "expression": "sessions"}]
        }))
        .expect("config");
        let schema = SchemaInput {
            custom_fields: vec![],
            extra_fields: vec![],
            any_key_role: false,
        };
        let traits = Map::new();
        let records: Vec<RecordInput<'_>> = (0..4)
            .map(|u| RecordInput {
                record: RecordRef::User(usr(u)),
                name: None,
                traits: &traits,
                extra: None,
            })
            .collect();
        let compiled = compile(&config, &schema).expect("compiles");
        engine.configure(ws(3), compiled, records, Millis(T0));
        engine
    }

    #[test]
    fn replaying_equals_recording_each_event() {
        let events = events();
        let mut one_by_one = engine();
        let mut expected = Vec::new();
        for (ws, event) in &events {
            let changes = one_by_one.record_event(*ws, event);
            if !changes.is_empty() {
                expected.push((*ws, changes));
            }
        }
        let mut batcher = EventBatcher::new();
        let mut batches: Vec<EventBatch> = events
            .iter()
            .filter_map(|(ws, event)| batcher.push(*ws, event))
            .collect();
        batches.extend(batcher.finish());
        assert!(batches.len() > 1);
        let mut replayed = engine();
        let reported = replayed.replay_events(batches);

        for w in 1..=3 {
            assert_eq!(
                replayed.metrics(ws(w)),
                one_by_one.metrics(ws(w)),
                "workspace {w}"
            );
        }
        assert!(!expected.is_empty());
        assert_eq!(format!("{reported:?}"), format!("{expected:?}"));
        // The restored state filtered something out in workspace 2.
        let m = replayed.metrics(ws(2)).unwrap();
        let seen = m.user_seen(usr(1)).last.unwrap();
        assert!(seen < Millis(T0 + 30 * DAY));
        assert!(replayed.metrics(ws(4)).is_none());
    }
}
