//! The writer's second stage: applying committed batches to the engine, and answering them.
//!
//! A batch whose workspaces derive nothing and that runs no step needs nothing back from the
//! engine before it commits. So the writer commits it first and then applies it here, while
//! its WAL fsync runs (before, the fsync started only after the engine step). The writer took
//! the visibility gate before the commit and it stays held until the engine and the event
//! index hold the batch, as for every other batch. The writer's next commit waits for that
//! gate, so batches reach the engine, and the event index, in commit order.
//! (A thread of its own for this stage, working while the next batch is written, was tried:
//! on two cores it made batches smaller and was no faster.)

use std::sync::{Arc, RwLock};

use steward_engine::ids::WorkspaceId;
use steward_engine::time::Millis;
use steward_engine::{DerivedChange, Engine};
use steward_store::write::{Outcome, Write, WriteError};
use steward_store::{Durable, IndexUpdate};
use tokio::sync::{OwnedRwLockWriteGuard, oneshot};

use super::Done;
use crate::body_cache::{BodyCache, BodyKind};
use crate::error::ApiError;
use crate::trait_types::Definitions;

pub(super) type Reply = oneshot::Sender<Result<Done, ApiError>>;

/// Applies a committed batch to the engine and answers it once durable.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_committed(
    engine: &RwLock<Engine>,
    answers: &Answers,
    gate: OwnedRwLockWriteGuard<()>,
    index: IndexUpdate,
    durable: Durable,
    writes: Vec<(WorkspaceId, Write)>,
    results: Vec<Result<Outcome, WriteError>>,
    replies: Vec<Reply>,
    now: Millis,
) {
    {
        let mut engine = engine.write().expect("engine lock");
        // Nothing the engine reports here is stored: no workspace derives values.
        let _ = record(&mut engine, &writes, &results, now);
    }
    let step_reports = vec![Vec::new(); writes.len()];
    answers.when_durable(
        gate,
        durable,
        Some(index),
        &writes,
        results,
        replies,
        step_reports,
    );
}

/// A batch's graph changes and events, applied to the engine; per write, what it reported.
pub(super) fn record(
    engine: &mut Engine,
    writes: &[(WorkspaceId, Write)],
    results: &[Result<Outcome, WriteError>],
    now: Millis,
) -> Vec<Vec<DerivedChange>> {
    let mut reported: Vec<Vec<DerivedChange>> = vec![Vec::new(); writes.len()];
    for (((ws, _), result), out) in writes.iter().zip(results).zip(&mut reported) {
        if let Ok(outcome) = result {
            for change in &outcome.changes {
                out.extend(engine.apply_at(*ws, change, now));
            }
            for event in &outcome.events {
                out.extend(engine.record_event(*ws, &crate::usage::event_input(event)));
            }
        }
    }
    reported
}

/// Answers batches once they are durable.
pub(super) struct Answers {
    pub(super) bodies: Arc<BodyCache>,
    pub(super) definitions: Arc<Definitions>,
}

impl Answers {
    /// Applies the batch's event index update (off the writer's path; the writer's next commit
    /// waits for the gate, so updates stay in commit order), drops the cached bodies of what
    /// the batch changed and opens the gate, then, once `durable` resolves, answers each job
    /// (its result, and what its step reported).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn when_durable(
        &self,
        gate: OwnedRwLockWriteGuard<()>,
        durable: Durable,
        index: Option<IndexUpdate>,
        writes: &[(WorkspaceId, Write)],
        results: Vec<Result<Outcome, WriteError>>,
        replies: Vec<Reply>,
        step_reports: Vec<Vec<DerivedChange>>,
    ) {
        let changed: Vec<(WorkspaceId, BodyKind, uuid::Uuid)> = writes
            .iter()
            .zip(&results)
            .flat_map(|((workspace, _), result)| {
                let changes = result.as_ref().map_or(&[][..], |o| &o.changes[..]);
                changes.iter().filter_map(|change| {
                    let (kind, id) = BodyKind::changed_by(change)?;
                    Some((*workspace, kind, id))
                })
            })
            .collect();
        let redefined: Vec<WorkspaceId> = writes
            .iter()
            .zip(&results)
            .filter(|((_, write), result)| {
                result.is_ok() && crate::trait_types::changes_definitions(write)
            })
            .map(|((workspace, _), _)| *workspace)
            .collect();
        let (bodies, definitions) = (self.bodies.clone(), self.definitions.clone());
        tokio::spawn(async move {
            // While the disk syncs, and before the gate opens: event pages read the index, and
            // the next batch's update must come after this one's.
            drop(index);
            // Cached bodies of what changed go before anyone can read the batch.
            bodies.forget(changed);
            for workspace in redefined {
                definitions.forget(workspace);
            }
            // The gate opens once the engine holds the batch, not once the disk does: the
            // writer's next commit need not wait for this one's fsync. Readers of the engine
            // wait for it to be durable before they read (`AppState::engine`).
            drop(gate);
            durable.wait().await;
            for ((reply, result), derived) in replies.into_iter().zip(results).zip(step_reports) {
                let done = result
                    .map(|outcome| Done { outcome, derived })
                    .map_err(ApiError::from);
                let _ = reply.send(done);
            }
        });
    }
}
