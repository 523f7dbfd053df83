//! The single writer: every write goes through one task.
//!
//! Requests send their write here and wait for the answer. The task takes everything queued
//! (up to [`MAX_BATCH`]) and applies it in one storage transaction (group commit). Before that
//! transaction commits, the engine applies the batch and computes every derived value it moves,
//! and what storage keeps of those (lifecycle state, status history) is written **in the same
//! transaction**: a write and the history entries it causes are durable together or not at all.
//!
//! The engine never shows uncommitted data: from the moment the writer starts changing it until
//! the commit is over, it holds the *visibility gate* (`AppState::gate`) for writing, and
//! every reader of the engine takes the gate for reading first
//! ([`crate::app::AppState::engine`]). So readers wait for the fraction of a millisecond of a
//! commit, asynchronously (no thread blocks on it). Nor does anything that could still be
//! lost leave the process: a reader of the engine waits until the commits it holds are
//! durable, as every storage read does. Should the commit fail after the engine was
//! changed, the engine is rebuilt from storage before the gate opens again (what start-up
//! does), so it never keeps what storage lost.
//!
//! A commit's fsync does not hold the writer up: once a batch is committed and in the engine,
//! a task of its own opens the gate, waits until the batch is durable
//! (`steward_store::Durable`) and answers, while the writer applies the next batches (their
//! commits wait for the gate, not for the disk).
//! And where a batch's workspaces derive nothing, it commits first and the engine applies it
//! while the commit syncs ([`engine_stage`]).
//!
//! Between durability and the answers the batch's task drops the cached bodies of every record
//! the batch changed (`body_cache`), so no read after an acknowledged write sees the old one.
//!
//! Besides writes, jobs may ask for an engine step that commits with their write ([`Then`]):
//! installing a new derivation configuration, reprocessing, moving time-based rules.

mod engine_stage;

use std::sync::{Arc, RwLock};

use steward_engine::DerivedChange;
use steward_engine::derive::SchemaInput;
use steward_engine::ids::WorkspaceId;
use steward_engine::time::Millis;
use steward_engine::{Clock, Engine};
use steward_store::write::{Outcome, Write, WriteError};
use steward_store::{PendingBatch, Store};
use tokio::sync::{mpsc, oneshot};

use crate::body_cache::BodyCache;
use crate::derived::{self, Input};
use crate::error::{ApiError, ErrorCode};
use crate::trait_types::Definitions;

const MAX_BATCH: usize = 512;
const QUEUE: usize = 4096;

/// An engine step that commits with the job's write.
#[derive(Debug)]
pub enum Then {
    /// Install this derivation configuration (`None`: none), compiled against `schema`,
    /// computing every record's values. Runs in a batch of its own (it reads every record).
    Configure {
        config: Option<serde_json::Value>,
        schema: SchemaInput,
    },
    /// Apply the current lifecycle rules to every record, churned ones included.
    Reprocess,
    /// Move the time-based rules that are due.
    Advance,
}

/// What a job's write did, and what its [`Then`] step reported.
#[derive(Debug)]
pub struct Done {
    pub outcome: Outcome,
    pub derived: Vec<DerivedChange>,
}

struct Job {
    workspace: WorkspaceId,
    write: Write,
    then: Option<Then>,
    reply: oneshot::Sender<Result<Done, ApiError>>,
}

/// A handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// What the writer task works with.
struct Context {
    store: Store,
    engine: Arc<RwLock<Engine>>,
    gate: Arc<tokio::sync::RwLock<()>>,
    clock: Arc<dyn Clock>,
    answers: engine_stage::Answers,
}

impl Writer {
    pub fn spawn(
        store: Store,
        engine: Arc<RwLock<Engine>>,
        gate: Arc<tokio::sync::RwLock<()>>,
        clock: Arc<dyn Clock>,
        definitions: Arc<Definitions>,
        bodies: Arc<BodyCache>,
    ) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let answers = engine_stage::Answers {
            bodies,
            definitions,
        };
        let context = Context {
            store,
            engine,
            gate,
            clock,
            answers,
        };
        tokio::spawn(run(context, queue));
        Self { jobs }
    }

    /// Applies one write; returns once it is durable and visible in the engine.
    pub async fn write(&self, workspace: WorkspaceId, write: Write) -> Result<Outcome, ApiError> {
        self.submit(workspace, write, None).await.map(|d| d.outcome)
    }

    /// Applies one write and then `then`, committed together.
    pub async fn write_then(
        &self,
        workspace: WorkspaceId,
        write: Write,
        then: Then,
    ) -> Result<Done, ApiError> {
        self.submit(workspace, write, Some(then)).await
    }

    async fn submit(
        &self,
        workspace: WorkspaceId,
        write: Write,
        then: Option<Then>,
    ) -> Result<Done, ApiError> {
        let (reply, answer) = oneshot::channel();
        let gone = || ApiError::new(ErrorCode::Unavailable, "the server is shutting down");
        self.jobs
            .send(Job {
                workspace,
                write,
                then,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// The longest a batch waits for more jobs (see [`gather`]).
const MAX_GATHER: std::time::Duration = std::time::Duration::from_millis(10);

/// Group commit's gathering step. The clients answered by one commit send their next requests
/// at about the same moment, but each is parsed first, so they reach the queue spread over a
/// few milliseconds (more on a busy machine). Taking only what is queued at once would start a commit with the first
/// of them and leave the rest waiting a whole commit (alternating batches of one and of
/// three). So when the last commit was slow (durable commits cost milliseconds: an fsync) and
/// fewer jobs are here than it carried, wait a little (a fraction of that commit's time, at
/// most [`MAX_GATHER`]) for the others.
///
/// Not where commits sync beside the writer (SQLite on a file): there the writer's next batch
/// already overlaps the last one's fsync, and time spent waiting is time the one writer does
/// nothing (measured: 6% more events a second, and a shorter tail, without the wait).
async fn gather(
    queue: &mut mpsc::Receiver<Job>,
    jobs: &mut Vec<Job>,
    last_size: usize,
    last_took: std::time::Duration,
) {
    let wait = (last_took / 4).min(MAX_GATHER);
    if jobs.len() >= last_size || wait < std::time::Duration::from_micros(100) {
        return;
    }
    let deadline = tokio::time::Instant::now() + wait;
    while jobs.len() < last_size {
        let more = tokio::time::timeout_at(deadline, queue.recv_many(jobs, MAX_BATCH - jobs.len()));
        match more.await {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}

async fn run(context: Context, mut queue: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let (mut last_size, mut last_took) = (0, std::time::Duration::ZERO);
    let syncs_beside = context.store.syncs_beside_the_writer();
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let arrived = jobs.len();
        let gathering = std::time::Instant::now();
        if !syncs_beside {
            gather(&mut queue, &mut jobs, last_size, last_took).await;
        }
        let started = std::time::Instant::now();
        tracing::debug!(
            arrived,
            jobs = jobs.len(),
            gathered_us = (started - gathering).as_micros() as u64,
            "batch starts"
        );
        last_size = jobs.len();
        // A configuration reads every record as committed: it goes in a batch of its own.
        while !jobs.is_empty() {
            let alone = matches!(jobs[0].then, Some(Then::Configure { .. }));
            let end = if alone {
                1
            } else {
                jobs.iter()
                    .position(|j| matches!(j.then, Some(Then::Configure { .. })))
                    .unwrap_or(jobs.len())
            };
            let batch: Vec<Job> = jobs.drain(..end).collect();
            process(&context, batch).await;
        }
        last_took = started.elapsed();
    }
}

fn internal(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Internal, message)
}

/// What a job brings to the engine step, read before the gate closes.
#[derive(Default)]
struct Prepared {
    /// Whether the job's workspace derives values.
    derived: bool,
    /// The traits of the records the write touched (derived workspaces only).
    inputs: Vec<(steward_engine::RecordRef, Input)>,
    /// A configuration to install, with every record.
    configure: Option<derived::Loaded>,
}

async fn process(context: &Context, jobs: Vec<Job>) {
    let (mut writes, mut steps, mut replies) = (Vec::new(), Vec::new(), Vec::new());
    for job in jobs {
        writes.push((job.workspace, job.write));
        steps.push(job.then);
        replies.push(job.reply);
    }
    let now = context.clock.now();
    let began = std::time::Instant::now();
    let (mut pending, results) = match context.store.begin_batch(now, &writes).await {
        Ok(started) => {
            tracing::debug!(us = began.elapsed().as_micros() as u64, "batch written");
            started
        }
        Err(cause) => {
            tracing::error!(%cause, writes = writes.len(), "write transaction failed; nothing was written");
            refuse(replies);
            return;
        }
    };
    match prepare(context, &mut pending, &writes, &steps, &results).await {
        Ok(prepared) => {
            commit(
                context, pending, writes, steps, results, replies, prepared, now,
            )
            .await
        }
        Err(cause) => {
            // Nothing reached the engine: dropping the batch rolls it back.
            tracing::error!(
                ?cause,
                "derived values could not be prepared; nothing was written"
            );
            drop(pending);
            refuse(replies);
        }
    }
}

/// Reads what derived values need, inside the open batch and without any lock.
async fn prepare(
    context: &Context,
    pending: &mut PendingBatch,
    writes: &[(WorkspaceId, Write)],
    steps: &[Option<Then>],
    results: &[Result<Outcome, WriteError>],
) -> Result<Vec<Prepared>, ApiError> {
    let derived: Vec<bool> = {
        let engine = context.engine.read().expect("engine lock");
        writes
            .iter()
            .map(|(ws, _)| engine.is_derived(*ws))
            .collect()
    };
    let mut out = Vec::with_capacity(writes.len());
    for (i, ((ws, _), result)) in writes.iter().zip(results).enumerate() {
        let mut prepared = Prepared {
            derived: derived[i],
            ..Prepared::default()
        };
        if let Ok(outcome) = result {
            if derived[i] {
                prepared.inputs = derived::inputs(pending, *ws, outcome).await?;
            }
            if matches!(steps[i], Some(Then::Configure { .. })) {
                prepared.configure = Some(derived::load(&context.store, *ws).await?);
            }
        }
        out.push(prepared);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn commit(
    context: &Context,
    pending: PendingBatch,
    writes: Vec<(WorkspaceId, Write)>,
    steps: Vec<Option<Then>>,
    results: Vec<Result<Outcome, WriteError>>,
    replies: Vec<engine_stage::Reply>,
    prepared: Vec<Prepared>,
    now: Millis,
) {
    // From here until the commit is durable, readers of the engine wait.
    let waiting = std::time::Instant::now();
    let gate = context.gate.clone().write_owned().await;
    let applying = std::time::Instant::now();
    // Where no workspace of the batch derives values and no step runs, the engine reports
    // nothing storage keeps: the batch commits first and the engine stage applies it while
    // this task writes the next batch.
    let independent = steps.iter().all(Option::is_none) && prepared.iter().all(|p| !p.derived);
    if independent {
        let committed = pending.commit_leaving_index().await;
        tracing::debug!(
            gate_us = (applying - waiting).as_micros() as u64,
            commit_us = applying.elapsed().as_micros() as u64,
            "batch committed"
        );
        match committed {
            Ok((durable, index)) => {
                engine_stage::apply_committed(
                    &context.engine,
                    &context.answers,
                    gate,
                    index,
                    durable,
                    writes,
                    results,
                    replies,
                    now,
                );
            }
            Err(cause) => {
                // The engine never saw the batch: nothing to undo.
                tracing::error!(%cause, writes = writes.len(), "write transaction failed; nothing was written");
                drop(gate);
                refuse(replies);
            }
        }
        return;
    }
    let applied = apply(context, &writes, &steps, &results, &prepared, now);
    let committing = std::time::Instant::now();
    let (reported, step_reports) = match applied {
        Ok(applied) => applied,
        Err(cause) => {
            // A configuration that no longer compiles: refused before the engine changed.
            drop(pending);
            drop(gate);
            for reply in replies {
                let _ = reply.send(Err(ApiError::new(cause.code, cause.message.clone())));
            }
            return;
        }
    };
    let mut pending = pending;
    let mut stored = Ok(());
    for ((ws, _), changes) in writes.iter().zip(&reported) {
        if stored.is_ok() && derived::persistable(changes) {
            stored = pending.derived(*ws, now, changes).await;
        }
    }
    let stored = match stored {
        Ok(()) => pending.commit_visible().await,
        Err(cause) => Err(cause),
    };
    tracing::debug!(
        gate_us = (applying - waiting).as_micros() as u64,
        engine_us = (committing - applying).as_micros() as u64,
        commit_us = committing.elapsed().as_micros() as u64,
        "batch committed after the engine"
    );
    match stored {
        Ok(durable) => context.answers.when_durable(
            gate,
            durable,
            None,
            &writes,
            results,
            replies,
            step_reports,
        ),
        Err(cause) => {
            tracing::error!(%cause, writes = writes.len(), "write transaction failed; nothing was written");
            rebuild(context).await;
            drop(gate);
            refuse(replies);
        }
    }
}

/// Answers every job of a batch that could not be stored.
fn refuse(replies: Vec<engine_stage::Reply>) {
    for reply in replies {
        let _ = reply.send(Err(internal(
            "the write could not be stored; nothing was written",
        )));
    }
}

/// Applies a batch to the engine (the gate is held): its graph changes and events, then the
/// traits of what it touched, then the jobs' steps. Answers, per job, every derived change (to
/// store) and what its step reported.
#[allow(clippy::type_complexity)]
fn apply(
    context: &Context,
    writes: &[(WorkspaceId, Write)],
    steps: &[Option<Then>],
    results: &[Result<Outcome, WriteError>],
    prepared: &[Prepared],
    now: Millis,
) -> Result<(Vec<Vec<DerivedChange>>, Vec<Vec<DerivedChange>>), ApiError> {
    let mut engine = context.engine.write().expect("engine lock");
    // Compiled first: a configuration that fails leaves the engine as it was.
    let mut compiled = Vec::with_capacity(writes.len());
    for ((ws, _), step) in writes.iter().zip(steps) {
        compiled.push(match step {
            Some(Then::Configure { config, schema }) => {
                Some(derived::compile_or_empty(*ws, config.as_ref(), schema)?)
            }
            _ => None,
        });
    }
    let mut reported = engine_stage::record(&mut engine, writes, results, now);
    // Derived values follow the records the writes touched, before anyone hears back: a
    // write returns with every dependent value recomputed.
    for (((ws, _), ready), out) in writes.iter().zip(prepared).zip(&mut reported) {
        out.extend(derived::refresh(&mut engine, *ws, &ready.inputs, now));
    }
    let mut step_reports = Vec::with_capacity(writes.len());
    for i in 0..writes.len() {
        let ws = writes[i].0;
        let step = match (&steps[i], results[i].is_ok()) {
            (_, false) | (None, _) => Vec::new(),
            (Some(Then::Configure { .. }), true) => {
                match (compiled[i].take(), &prepared[i].configure) {
                    (Some(compiled), Some(loaded)) => {
                        derived::install_compiled(&mut engine, ws, compiled, loaded, now)
                    }
                    _ => Vec::new(),
                }
            }
            (Some(Then::Reprocess), true) => engine.reprocess(ws, now),
            (Some(Then::Advance), true) => engine.advance(ws, now),
        };
        reported[i].extend(step.iter().cloned());
        step_reports.push(step);
    }
    Ok((reported, step_reports))
}

/// After a failed commit: the engine may hold what storage lost, so it is rebuilt from storage
/// (the gate is held). If even that fails, the process stops rather than serve data storage
/// does not have; a restart rebuilds it.
async fn rebuild(context: &Context) {
    match crate::app::load_engine(&context.store, context.clock.now()).await {
        Ok((engine, _)) => *context.engine.write().expect("engine lock") = engine,
        Err(cause) => {
            tracing::error!(%cause, "the engine could not be rebuilt after a failed commit; stopping");
            std::process::exit(70);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn job() -> Job {
        Job {
            workspace: WorkspaceId::generate(),
            write: Write::Ingest(Vec::new()),
            then: None,
            reply: oneshot::channel().0,
        }
    }

    /// Three jobs, the second and third arriving a millisecond apart (tokio's timer resolution).
    async fn queue_of_three() -> (mpsc::Receiver<Job>, Vec<Job>) {
        let (send, mut queue) = mpsc::channel(8);
        send.send(job()).await.unwrap();
        tokio::spawn(async move {
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                send.send(job()).await.unwrap();
            }
        });
        let mut jobs = Vec::new();
        queue.recv_many(&mut jobs, MAX_BATCH).await;
        (queue, jobs)
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_slow_commit_a_batch_waits_for_as_many_jobs_as_the_last_one() {
        let (mut queue, mut jobs) = queue_of_three().await;
        gather(&mut queue, &mut jobs, 3, Duration::from_millis(40)).await;
        assert_eq!(jobs.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_fast_commit_a_batch_starts_with_what_is_queued() {
        let (mut queue, mut jobs) = queue_of_three().await;
        gather(&mut queue, &mut jobs, 3, Duration::from_micros(300)).await;
        assert_eq!(jobs.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_is_bounded() {
        let (mut queue, mut jobs) = queue_of_three().await;
        let started = tokio::time::Instant::now();
        gather(&mut queue, &mut jobs, 10, Duration::from_secs(1)).await;
        assert_eq!(jobs.len(), 3);
        assert!(started.elapsed() <= MAX_GATHER + Duration::from_millis(1));
    }
}
