//! A page of one record's events, newest first, read from the event log's owner index and
//! chunks (see `event_log/mod.rs`).

use std::collections::HashMap;

use steward_engine::ids::WorkspaceId;
use steward_engine::page::PageKey;
use steward_engine::time::Millis;
use uuid::Uuid;

use crate::error::Result;
use crate::event_log::chunk::{Chunk, ChunkEvent, event_id, event_position};
use crate::event_log::index::{Entry, decode_run};
use crate::event_log::{bury, owners_of};
use crate::write::RecordedEvent;
use crate::{EventOwner, Inner, Store, postgres, sqlite};

/// Which events a listing shows, after deleted records are taken off them.
struct Belongs {
    owner: Uuid,
    /// An organization's listing also shows the events of the accounts it has now.
    accounts: Vec<Uuid>,
}

impl Belongs {
    fn holds(&self, event: &ChunkEvent<'_>) -> bool {
        owners_of(event).any(|id| id == self.owner)
            || event.account.is_some_and(|a| self.accounts.contains(&a))
    }
}

/// A decoded chunk, kept for the page being built.
struct Read {
    workspace: Uuid,
    received_at: Millis,
    body: Vec<u8>,
}

pub(crate) async fn list(
    store: &Store,
    ws: WorkspaceId,
    owner: EventOwner,
    limit: usize,
    after: Option<PageKey>,
) -> Result<Vec<RecordedEvent>> {
    let belongs = match owner {
        EventOwner::User(u) => Belongs {
            owner: u.0,
            accounts: Vec::new(),
        },
        EventOwner::Account(a) => Belongs {
            owner: a.0,
            accounts: Vec::new(),
        },
        EventOwner::Organization(o) => Belongs {
            owner: o.0,
            accounts: match &store.inner {
                Inner::Sqlite(pool) => sqlite::organization_account_ids(pool, ws, o).await?,
                Inner::Postgres(pool) => postgres::organization_account_ids(pool, ws, o).await?,
            },
        },
    };
    let mut owners = vec![belongs.owner];
    owners.extend(&belongs.accounts);
    let mut entries = store.log.unflushed_of(&owners);
    let runs = match &store.inner {
        Inner::Sqlite(pool) => sqlite::event_runs_of(pool, &owners).await?,
        Inner::Postgres(pool) => postgres::event_runs_of(pool, &owners).await?,
    };
    for run in &runs {
        decode_run(run, &mut entries)?;
    }
    // The cursor is the last event shown: its time and id (ids sort as log positions).
    if let Some(after) = after {
        let Some((seq, index)) = event_position(after.id) else {
            return Ok(Vec::new());
        };
        let cursor = Entry::new(after.at.0, seq, index);
        entries.retain(|e| *e < cursor);
    }
    entries.sort_unstable_by(|a, b| b.cmp(a));
    entries.dedup();

    let mut chunks: HashMap<i64, Read> = HashMap::new();
    let mut out = Vec::with_capacity(limit);
    let mut next = 0;
    while out.len() < limit && next < entries.len() {
        // Read the chunks of the next few candidates at once; most candidates are shown.
        let window = &entries[next..(next + 2 * (limit - out.len()) + 8).min(entries.len())];
        let mut missing: Vec<i64> = window
            .iter()
            .map(Entry::seq)
            .filter(|s| !chunks.contains_key(s))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let read = match &store.inner {
            Inner::Sqlite(pool) => sqlite::event_chunks_by_seq(pool, &missing).await?,
            Inner::Postgres(pool) => postgres::event_chunks_by_seq(pool, &missing).await?,
        };
        for (seq, workspace, received_at, body) in read {
            chunks.insert(
                seq,
                Read {
                    workspace,
                    received_at: Millis(received_at),
                    body,
                },
            );
        }
        // Each chunk of the window is decoded once, keeping the events the window names.
        let mut shown = shown_events(window, &chunks, ws, &belongs, store)?;
        for entry in window {
            next += 1;
            if let Some(event) = shown.remove(&entry.key) {
                out.push(event);
                if out.len() == limit {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// The events of `window` a listing shows, by index key: each chunk they are in decoded once,
/// deleted records taken off, events no longer belonging to the listing left out.
fn shown_events(
    window: &[Entry],
    chunks: &HashMap<i64, Read>,
    ws: WorkspaceId,
    belongs: &Belongs,
    store: &Store,
) -> Result<HashMap<u64, RecordedEvent>> {
    let mut wanted: HashMap<i64, Vec<usize>> = HashMap::new();
    for entry in window {
        wanted.entry(entry.seq()).or_default().push(entry.index());
    }
    let mut shown = HashMap::with_capacity(window.len());
    for (seq, mut indexes) in wanted {
        let Some(read) = chunks.get(&seq).filter(|r| r.workspace == ws.0) else {
            continue;
        };
        indexes.sort_unstable();
        let mut chunk = Chunk::open(&read.body, read.received_at)?;
        let mut index = 0;
        for want in indexes {
            let mut found = None;
            while index <= want {
                found = chunk.next_event()?;
                index += 1;
            }
            let Some(mut event) = found else { break };
            if bury(&mut event, |id| store.log.is_buried(id)) && belongs.holds(&event) {
                let id = event_id(seq, want);
                shown.insert(
                    Entry::new(event.at.0, seq, want).key,
                    event.recorded(id, read.received_at)?,
                );
            }
        }
    }
    Ok(shown)
}
