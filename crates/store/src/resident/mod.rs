//! Records resident in memory: every organization, account and user of every workspace, kept
//! as compact bytes (see `codec.rs`), so that reading one costs a hash lookup instead of a
//! round trip to the database.
//!
//! # Why
//!
//! On PostgreSQL a single-record read is a round trip to another process: on two cores about
//! 250 µs of CPU between Steward and PostgreSQL, where the whole HTTP exchange costs 30. No
//! cache that fills on reads helps a workload that reads records at random. SQLite does not
//! need this (its reads are in-process, from the mapped file), so it is on for PostgreSQL and
//! off for SQLite unless asked for ([`crate::Store::with_resident_records`]).
//!
//! # Why it stays correct
//!
//! - It is filled at start-up by [`crate::Store::load_engine`] while holding the store's turn,
//!   so no batch commits while it loads; until then reads go to the database.
//! - Only the store's batches write these tables (the engine already assumes one process owns
//!   the database). Each batch reports every record it changed: the row a write answers with,
//!   and a graph change for every other record it created, changed or deleted. Rows a batch
//!   changed without answering with them are read back inside its transaction
//!   (`staging.rs`). What the batch staged is applied once its commit succeeded, before the
//!   batch is acknowledged and before the server's body cache forgets the records, so a read
//!   after an acknowledged write sees it.
//! - A batch rolled back stages nothing; a write refused inside a batch stages nothing.

mod codec;
pub(crate) mod load;
mod staging;

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use foldhash::HashMap;
use foldhash::fast::RandomState;
use std::hash::BuildHasher;
use steward_engine::ids::WorkspaceId;
use uuid::Uuid;

pub(crate) use codec::{AccountParts, Kind, OrganizationParts, ResidentRow, UserParts};
use staging::Staged;
pub(crate) use staging::{ResidentCommit, Staging};

use crate::error::{Result, StoreError};
use crate::write::RecordRef;

/// How a write names the record it reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lookup<'a> {
    External(&'a str),
    /// Steward's id, else the external id.
    Ref(&'a RecordRef),
}

/// Every resident record, by kind.
#[derive(Debug, Default)]
pub(crate) struct Resident {
    /// Filled and kept up to date: reads may be answered from memory.
    serving: AtomicBool,
    kinds: [RwLock<Workspaces>; 3],
}

#[derive(Debug, Default)]
struct Workspaces(HashMap<WorkspaceId, Table>);

/// One kind of record of one workspace.
#[derive(Default)]
struct Table {
    by_id: hashbrown::HashMap<Uuid, Box<[u8]>, RandomState>,
    /// Ids by the hash of their external id (checked against the record's bytes).
    by_external: hashbrown::HashTable<Uuid>,
    hasher: RandomState,
    /// The records' bytes as the allocator holds them.
    record_bytes: usize,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("records", &self.by_id.len())
            .finish()
    }
}

/// What an allocation of `len` bytes occupies (glibc: 8 bytes of header, 16-byte steps,
/// 32 at least).
fn allocated(len: usize) -> usize {
    (len + 8).div_ceil(16).max(2) * 16
}

fn unreadable(kind: Kind, id: Uuid) -> StoreError {
    StoreError::Corrupt(format!("resident {kind:?} {id} cannot be read back"))
}

/// How the external-id index rehashes an entry when it grows: by its record's external id.
fn rehash<'a>(
    by_id: &'a hashbrown::HashMap<Uuid, Box<[u8]>, RandomState>,
    hasher: &'a RandomState,
) -> impl Fn(&Uuid) -> u64 + 'a {
    move |id| {
        by_id
            .get(id)
            .and_then(|b| codec::external_id(b))
            .map_or(0, |e| hasher.hash_one(e))
    }
}

impl Table {
    fn external_hash(&self, external_id: &str) -> u64 {
        self.hasher.hash_one(external_id)
    }

    fn find_external(&self, external_id: &str) -> Option<Uuid> {
        let by_id = &self.by_id;
        self.by_external
            .find(self.external_hash(external_id), |id| {
                by_id.get(id).and_then(|b| codec::external_id(b)) == Some(external_id)
            })
            .copied()
    }

    fn remove(&mut self, id: Uuid) {
        let Some(bytes) = self.by_id.remove(&id) else {
            return;
        };
        self.record_bytes -= allocated(bytes.len());
        if let Some(external) = codec::external_id(&bytes) {
            let hash = self.external_hash(external);
            if let Ok(entry) = self.by_external.find_entry(hash, |other| *other == id) {
                entry.remove();
            }
        }
    }

    fn put(&mut self, id: Uuid, bytes: Box<[u8]>) {
        // External ids do not change, but the index must not depend on it.
        self.remove(id);
        if let Some(external) = codec::external_id(&bytes) {
            let hash = self.external_hash(external);
            self.by_external
                .insert_unique(hash, id, rehash(&self.by_id, &self.hasher));
        }
        self.record_bytes += allocated(bytes.len());
        self.by_id.insert(id, bytes);
    }

    fn heap_bytes(&self) -> usize {
        // hashbrown: a power-of-two number of buckets, at most 7/8 full, a control byte each.
        fn buckets(capacity: usize) -> usize {
            if capacity == 0 {
                0
            } else {
                (capacity * 8 / 7).next_power_of_two()
            }
        }
        let ids = buckets(self.by_id.capacity());
        let externals = buckets(self.by_external.capacity());
        ids * (16 + 16 + 1) + externals * (16 + 1) + self.record_bytes
    }
}

impl Resident {
    /// Whether reads may be answered from memory.
    pub(crate) fn serving(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    /// A record by Steward's id, else by external id (as the database's `find_by_ref`).
    pub(crate) fn find<R: ResidentRow>(&self, ws: WorkspaceId, r: &RecordRef) -> Result<Option<R>> {
        let kinds = self.kinds[R::KIND.index()]
            .read()
            .expect("resident records lock");
        let Some(table) = kinds.0.get(&ws) else {
            return Ok(None);
        };
        let found = r
            .as_uuid()
            .filter(|id| table.by_id.contains_key(id))
            .or_else(|| table.find_external(&r.0));
        let Some(id) = found else {
            return Ok(None);
        };
        let bytes = &table.by_id[&id];
        R::decode(id, bytes)
            .map(Some)
            .ok_or_else(|| unreadable(R::KIND, id))
    }

    /// The records with these ids, in the order given; ids that do not exist are left out.
    pub(crate) fn by_ids<R: ResidentRow>(&self, ws: WorkspaceId, ids: &[Uuid]) -> Result<Vec<R>> {
        let kinds = self.kinds[R::KIND.index()]
            .read()
            .expect("resident records lock");
        let Some(table) = kinds.0.get(&ws) else {
            return Ok(Vec::new());
        };
        ids.iter()
            .filter_map(|id| table.by_id.get(id).map(|bytes| (*id, bytes)))
            .map(|(id, bytes)| R::decode(id, bytes).ok_or_else(|| unreadable(R::KIND, id)))
            .collect()
    }

    /// A record as the batch in progress sees it: `Some(found)` when memory can tell (the
    /// committed record with what the batch so far staged over it), `None` when only the
    /// database can (a record the batch changed without showing how). As the database's
    /// `find_by_external` / `find_by_ref` inside the batch's transaction.
    pub(crate) fn existing<R: ResidentRow>(
        &self,
        staging: &Staging,
        ws: WorkspaceId,
        lookup: Lookup<'_>,
    ) -> Option<Option<R>> {
        let kinds = self.kinds[R::KIND.index()]
            .read()
            .expect("resident records lock");
        let table = kinds.0.get(&ws);
        let by_id = |id: Uuid| -> Option<Option<R>> {
            let bytes = match staging.state(R::KIND, ws, id) {
                Some(Staged::Put(bytes)) => bytes,
                Some(Staged::Removed) => return Some(None),
                Some(Staged::Refresh) => return None,
                None => match table.and_then(|t| t.by_id.get(&id)) {
                    Some(bytes) => bytes,
                    // Every record a batch creates is staged.
                    None => return Some(None),
                },
            };
            // Unreadable bytes would be a bug; the database still knows.
            R::decode(id, bytes).map(Some)
        };
        let external = match lookup {
            Lookup::External(external) => external,
            Lookup::Ref(r) => {
                if let Some(id) = r.as_uuid()
                    && let found @ Some(_) = by_id(id)?
                {
                    return Some(found);
                }
                &r.0
            }
        };
        if let Some(id) = staging.external(R::KIND, ws, external) {
            return by_id(id);
        }
        if let Some(id) = table.and_then(|t| t.find_external(external)) {
            return by_id(id);
        }
        if staging.refreshing(R::KIND, ws) {
            return None;
        }
        Some(None)
    }

    /// Applies what a committed batch staged.
    pub(crate) fn apply(&self, commit: ResidentCommit) {
        for (kind, ops) in Kind::ALL.into_iter().zip(commit.into_parts()) {
            if ops.is_empty() {
                continue;
            }
            let mut kinds = self.kinds[kind.index()]
                .write()
                .expect("resident records lock");
            for (ws, id, bytes) in ops {
                let table = kinds.0.entry(ws).or_default();
                match bytes {
                    Some(bytes) => table.put(id, bytes),
                    None => table.remove(id),
                }
            }
        }
    }

    /// Empties the tables for a load; reads go to the database until [`Resident::loaded`].
    pub(crate) fn clear(&self) {
        self.serving.store(false, Ordering::Release);
        for kind in &self.kinds {
            kind.write().expect("resident records lock").0.clear();
        }
    }

    /// Adds one record during a load.
    pub(crate) fn load(&self, kind: Kind, ws: WorkspaceId, id: Uuid, bytes: Box<[u8]>) {
        let mut kinds = self.kinds[kind.index()]
            .write()
            .expect("resident records lock");
        kinds.0.entry(ws).or_default().put(id, bytes);
    }

    /// Pre-sizes a workspace's tables for a load.
    pub(crate) fn reserve(&self, kind: Kind, ws: WorkspaceId, records: usize) {
        let mut kinds = self.kinds[kind.index()]
            .write()
            .expect("resident records lock");
        let table = kinds.0.entry(ws).or_default();
        table.by_id.reserve(records);
        table
            .by_external
            .reserve(records, rehash(&table.by_id, &table.hasher));
    }

    /// The load is complete: reads are answered from memory from now on.
    pub(crate) fn loaded(&self) {
        self.serving.store(true, Ordering::Release);
    }

    /// Heap bytes held, by kind (organizations, accounts, users).
    pub(crate) fn heap_bytes(&self) -> [usize; 3] {
        Kind::ALL.map(|kind| {
            let kinds = self.kinds[kind.index()]
                .read()
                .expect("resident records lock");
            kinds.0.values().map(Table::heap_bytes).sum()
        })
    }
}
