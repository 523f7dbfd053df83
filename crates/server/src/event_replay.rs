//! The start-up replay of the event log on both cores: the store scans and decodes rows on
//! the calling thread while a second thread applies them to the engine in batches.

use std::sync::mpsc::sync_channel;

use steward_engine::{Engine, EventBatch, EventBatcher};
use steward_store::Store;

use crate::usage::usage_input;

/// Batches in flight between the two threads: enough to absorb either side's jitter, few
/// enough to bound the memory in between (about 300 KB a batch).
const QUEUED_BATCHES: usize = 8;

/// Counts every stored event in `engine`'s usage metrics ([`Engine::replay_events`], which
/// equals `record_event` for each); answers the engine back and the number of events read.
///
/// The scan blocks the calling thread while the applying thread catches up: this runs at
/// start-up, before the server takes requests.
pub async fn replay_event_log(store: &Store, mut engine: Engine) -> anyhow::Result<(Engine, u64)> {
    let (batches, queued) = sync_channel::<EventBatch>(QUEUED_BATCHES);
    let applier = std::thread::Builder::new()
        .name("event-replay".to_owned())
        .spawn(move || {
            // No derivation rules are installed before the replay (they are configured after
            // it), so no event reports derived changes.
            let _none = engine.replay_events(queued);
            engine
        })?;
    let mut batcher = EventBatcher::new();
    let mut events = 0u64;
    // A send fails only if the applying thread panicked: joining it below reports that.
    let scanned = store
        .for_each_event(&mut |workspace, event| {
            events += 1;
            if let Some(batch) = batcher.push(workspace, &usage_input(event)) {
                let _ = batches.send(batch);
            }
        })
        .await;
    if let Some(batch) = batcher.finish() {
        let _ = batches.send(batch);
    }
    drop(batches);
    let engine = applier
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    scanned?;
    Ok((engine, events))
}
