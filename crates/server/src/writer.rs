//! The single writer: every write goes through one task.
//!
//! Requests send their write here and wait for the answer. The task takes everything queued
//! (up to [`MAX_BATCH`]) and applies it in one storage transaction (group commit), then applies
//! the committed changes to the engine, then answers. So storage and engine always change in
//! the same order, the engine never shows uncommitted data, and an acknowledged write is on
//! disk. Between the commit and the answers it also drops the cached bodies of every record
//! the batch changed (`body_cache`), so no read after an acknowledged write sees the old one.

use std::sync::{Arc, RwLock};

use steward_engine::DerivedChange;
use steward_engine::ids::WorkspaceId;
use steward_engine::{Clock, Engine};
use steward_store::Store;
use steward_store::write::{Outcome, Write};
use tokio::sync::{mpsc, oneshot};

use crate::body_cache::{BodyCache, BodyKind};
use crate::error::{ApiError, ErrorCode};
use crate::trait_types::Definitions;

const MAX_BATCH: usize = 512;
const QUEUE: usize = 4096;

struct Job {
    workspace: WorkspaceId,
    write: Write,
    reply: oneshot::Sender<Result<Outcome, ApiError>>,
}

/// A handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(
        store: Store,
        engine: Arc<RwLock<Engine>>,
        clock: Arc<dyn Clock>,
        definitions: Arc<Definitions>,
        bodies: Arc<BodyCache>,
    ) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, engine, clock, definitions, bodies, queue));
        Self { jobs }
    }

    /// Applies one write; returns once it is durable and visible in the engine.
    pub async fn write(&self, workspace: WorkspaceId, write: Write) -> Result<Outcome, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                workspace,
                write,
                reply,
            })
            .await
            .map_err(|_| ApiError::new(ErrorCode::Unavailable, "the server is shutting down"))?;
        answer
            .await
            .map_err(|_| ApiError::new(ErrorCode::Unavailable, "the server is shutting down"))?
    }
}

async fn run(
    store: Store,
    engine: Arc<RwLock<Engine>>,
    clock: Arc<dyn Clock>,
    definitions: Arc<Definitions>,
    bodies: Arc<BodyCache>,
    mut queue: mpsc::Receiver<Job>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (batch, replies): (Vec<(WorkspaceId, Write)>, Vec<_>) = jobs
            .drain(..)
            .map(|j| ((j.workspace, j.write), j.reply))
            .unzip();
        match store.apply_batch(clock.now(), &batch).await {
            Ok(results) => {
                // Cached bodies of what changed go before anyone hears of the commit.
                bodies.forget(
                    batch
                        .iter()
                        .zip(&results)
                        .flat_map(|((workspace, _), result)| {
                            let changes = result.as_ref().map_or(&[][..], |o| &o.changes[..]);
                            changes.iter().filter_map(|change| {
                                let (kind, id) = BodyKind::changed_by(change)?;
                                Some((*workspace, kind, id))
                            })
                        }),
                );
                let now = clock.now();
                // What derived values report (status transitions, sticky state), per workspace.
                let mut derived: Vec<(WorkspaceId, Vec<DerivedChange>)> = Vec::new();
                {
                    let mut engine = engine.write().expect("engine lock");
                    for ((workspace, _), result) in batch.iter().zip(&results) {
                        if let Ok(outcome) = result {
                            let mut reported = Vec::new();
                            for change in &outcome.changes {
                                reported.extend(engine.apply_at(*workspace, change, now));
                            }
                            for event in &outcome.events {
                                reported.extend(
                                    engine.record_event(
                                        *workspace,
                                        &crate::usage::event_input(event),
                                    ),
                                );
                            }
                            derived.push((*workspace, reported));
                        }
                    }
                }
                for ((workspace, write), result) in batch.iter().zip(&results) {
                    if result.is_ok() && crate::trait_types::changes_definitions(write) {
                        definitions.forget(*workspace);
                    }
                }
                // Derived values follow the records the writes touched, before anyone hears
                // back: a write returns with every dependent value recomputed.
                for ((workspace, _), result) in batch.iter().zip(&results) {
                    if let Ok(outcome) = result {
                        match crate::derived::refresh(&store, &engine, *workspace, outcome, now)
                            .await
                        {
                            Ok(reported) => derived.push((*workspace, reported)),
                            Err(cause) => {
                                tracing::error!(?cause, "derived values could not follow a write")
                            }
                        }
                    }
                }
                crate::derived::persist(&store, now, derived).await;
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result.map_err(ApiError::from));
                }
            }
            Err(cause) => {
                tracing::error!(%cause, writes = batch.len(), "write transaction failed; nothing was written");
                for reply in replies {
                    let _ = reply.send(Err(ApiError::new(
                        ErrorCode::Internal,
                        "the write could not be stored; nothing was written",
                    )));
                }
            }
        }
    }
}
