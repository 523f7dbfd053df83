//! What a batch changed in the resident records, gathered from its writes' outcomes before it
//! commits (see the module docs of `resident`).
//!
//! A write answers with the row it wrote; every other record it created, changed or deleted
//! shows only as a graph change (a parent created on the way, accounts detached from a deleted
//! organization, users an ingestion created). Those are *refreshed*: read back by id inside the
//! batch's transaction. Per record only the last thing the batch did counts.

use foldhash::{HashMap, HashSet};
use steward_engine::GraphChange;
use steward_engine::ids::WorkspaceId;
use uuid::Uuid;

use super::codec::{Kind, ResidentRow, external_id};
use crate::write::{Outcome, Written};

/// What the batch leaves a record as.
#[derive(Debug)]
pub(crate) enum Staged {
    Put(Box<[u8]>),
    Removed,
    /// Changed by the batch in a way no outcome shows: read it back.
    Refresh,
}

/// A batch's changes to the resident records, in the making.
#[derive(Debug, Default)]
pub(crate) struct Staging {
    records: HashMap<(Kind, WorkspaceId, Uuid), Staged>,
    /// The external ids of the records put, for the batch's later writes to find them.
    externals: HashMap<(Kind, WorkspaceId, Box<str>), Uuid>,
    /// Kinds with records to refresh: their external ids are unknown until read back.
    refreshing: HashSet<(Kind, WorkspaceId)>,
}

fn encoded<R: ResidentRow>(row: &R) -> Box<[u8]> {
    let mut bytes = Vec::with_capacity(96);
    row.encode(&mut bytes);
    bytes.into_boxed_slice()
}

impl Staging {
    /// One write that succeeded, in batch order.
    pub(crate) fn outcome(&mut self, ws: WorkspaceId, outcome: &Outcome) {
        for change in &outcome.changes {
            let (kind, id, staged) = match change {
                GraphChange::UpsertOrganization { id, .. } => {
                    (Kind::Organization, id.0, Staged::Refresh)
                }
                GraphChange::UpsertAccount { id, .. } => (Kind::Account, id.0, Staged::Refresh),
                GraphChange::UpsertUser { id, .. } => (Kind::User, id.0, Staged::Refresh),
                GraphChange::DeleteOrganization { id } => {
                    (Kind::Organization, id.0, Staged::Removed)
                }
                GraphChange::DeleteAccount { id } => (Kind::Account, id.0, Staged::Removed),
                GraphChange::DeleteUser { id } => (Kind::User, id.0, Staged::Removed),
                GraphChange::Assignment(_) | GraphChange::Messages(_) => continue,
            };
            if matches!(staged, Staged::Refresh) {
                self.refreshing.insert((kind, ws));
            }
            self.records.insert((kind, ws, id), staged);
        }
        // The row the write answers with is its record's state when the write ended, so it
        // replaces a refresh of the same record the write's own changes asked for.
        let written = match &outcome.written {
            Written::Organization(row) => (Kind::Organization, row.id(), encoded(row)),
            Written::Account(row) => (Kind::Account, row.id(), encoded(row)),
            Written::User(row) => (Kind::User, row.id(), encoded(row)),
            _ => return,
        };
        let (kind, id, bytes) = written;
        if let Some(external) = external_id(&bytes) {
            self.externals.insert((kind, ws, external.into()), id);
        }
        self.records.insert((kind, ws, id), Staged::Put(bytes));
    }

    /// What the batch so far did to a record, if anything.
    pub(crate) fn state(&self, kind: Kind, ws: WorkspaceId, id: Uuid) -> Option<&Staged> {
        self.records.get(&(kind, ws, id))
    }

    /// The record the batch so far put under this external id.
    pub(crate) fn external(&self, kind: Kind, ws: WorkspaceId, external_id: &str) -> Option<Uuid> {
        self.externals.get(&(kind, ws, external_id.into())).copied()
    }

    /// Whether records of this kind changed in ways only the database knows yet (so a
    /// record may exist under an external id memory does not know).
    pub(crate) fn refreshing(&self, kind: Kind, ws: WorkspaceId) -> bool {
        self.refreshing.contains(&(kind, ws))
    }

    /// The records to read back, by workspace and kind.
    pub(crate) fn refreshes(&self) -> Vec<(WorkspaceId, Kind, Vec<Uuid>)> {
        let mut groups: HashMap<(WorkspaceId, Kind), Vec<Uuid>> = HashMap::default();
        for ((kind, ws, id), staged) in &self.records {
            if matches!(staged, Staged::Refresh) {
                groups.entry((*ws, *kind)).or_default().push(*id);
            }
        }
        groups
            .into_iter()
            .map(|((ws, kind), ids)| (ws, kind, ids))
            .collect()
    }

    /// The rows read back for `ids` (one kind); an id with no row was deleted.
    pub(crate) fn refreshed<R: ResidentRow>(&mut self, ws: WorkspaceId, ids: &[Uuid], rows: &[R]) {
        for id in ids {
            self.records.insert((R::KIND, ws, *id), Staged::Removed);
        }
        for row in rows {
            self.records
                .insert((R::KIND, ws, row.id()), Staged::Put(encoded(row)));
        }
    }

    /// What the commit applies; refreshes must have been read back.
    pub(crate) fn into_commit(self) -> ResidentCommit {
        let mut commit = ResidentCommit::default();
        for ((kind, ws, id), staged) in self.records {
            let bytes = match staged {
                Staged::Put(bytes) => Some(bytes),
                Staged::Removed => None,
                Staged::Refresh => unreachable!("refreshes are read back before the commit"),
            };
            commit.by_kind[kind.index()].push((ws, id, bytes));
        }
        commit
    }
}

/// A batch's changes, applied once it committed: per kind, each record's bytes, or `None`
/// for a record removed.
#[derive(Debug, Default)]
pub(crate) struct ResidentCommit {
    by_kind: [KindCommit; 3],
}

/// One kind's part of a [`ResidentCommit`].
pub(crate) type KindCommit = Vec<(WorkspaceId, Uuid, Option<Box<[u8]>>)>;

impl ResidentCommit {
    /// Organizations, accounts, users.
    pub(crate) fn into_parts(self) -> [KindCommit; 3] {
        self.by_kind
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_kind.iter().all(Vec::is_empty)
    }
}
