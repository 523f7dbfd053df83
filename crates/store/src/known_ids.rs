//! Records ingestion has already resolved by external id, so that the next event naming them
//! costs a hash lookup instead of an index query.
//!
//! Every ingested event names its user and account by external id. Looking each up in the
//! `(workspace_id, external_id)` index was a third of the writer's time, so the store
//! remembers what it resolved: external id → id, and each account's organization.
//!
//! # Why it stays correct
//!
//! - An external id never changes while its record lives (no statement updates
//!   `external_id`), so an entry can only go stale by a **delete**, and an account's
//!   organization only by a **move**. Every write reports both through its graph changes
//!   (`DeleteUser`/`DeleteAccount`/`DeleteOrganization`, `UpsertAccount` with the new
//!   organization), which the batch reads after each write it applied.
//! - A delete clears everything at once (deletes are rare; clearing is obviously safe, even if
//!   the batch later rolls back). A move is applied when the batch commits.
//! - Entries learnt inside a batch (looked up or created in its transaction) join only when
//!   the batch commits, and only from writes that succeeded: a rolled-back write or batch
//!   leaves nothing behind.
//! - Within a batch, an account moved by an earlier write, or earlier in the same write, takes
//!   the organization that write gave it.
//! - One batch runs at a time (`Store::turn`), so nothing else reads or changes the entries
//!   between a lookup and the commit.
//!
//! Keys are the workspace, the kind and the external id itself (no hash that could collide).
//!
//! # Memory
//!
//! At most [`GENERATION`] entries are added before the older generation is dropped: recently
//! used records stay (a hit in the old generation moves to the new one), and the whole costs
//! at most about 2 × [`GENERATION`] entries of roughly 100 bytes.

use std::sync::Mutex;

use foldhash::HashMap;
use steward_engine::GraphChange;
use steward_engine::domain::ExternalId;
use steward_engine::ids::WorkspaceId;
use uuid::Uuid;

/// Entries a generation takes before the older one is dropped.
pub(crate) const GENERATION: usize = 131_072;

/// Which table an external id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum Kind {
    User,
    Account,
    Organization,
}

/// A resolved record: its id and, for an account, its organization.
pub(crate) type Resolved = (Uuid, Option<Uuid>);

/// One resolved record.
#[derive(Debug)]
struct Known {
    ws: WorkspaceId,
    kind: Kind,
    external_id: Box<str>,
    resolved: Resolved,
}

/// The hash entries are kept under: the workspace, the kind and the external id.
fn hash_of(ws: WorkspaceId, kind: Kind, external_id: &str) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut hasher = foldhash::fast::FixedState::with_seed(0x5741_5244).build_hasher();
    ws.0.as_u128().hash(&mut hasher);
    (kind as u8).hash(&mut hasher);
    external_id.hash(&mut hasher);
    hasher.finish()
}

/// Entries under their hash, computed once per lookup (one probe finds the id and, for an
/// account, its organization).
#[derive(Debug, Default)]
struct Generation {
    known: hashbrown::HashTable<(u64, Known)>,
    /// Each cached account's hash, to apply moves.
    accounts: HashMap<Uuid, u64>,
}

/// Whether a table entry is the one `(hash, ws, kind, external_id)` names.
fn names<'a>(
    hash: u64,
    ws: WorkspaceId,
    kind: Kind,
    external_id: &'a str,
) -> impl Fn(&(u64, Known)) -> bool + 'a {
    move |(h, k)| *h == hash && k.kind == kind && k.ws == ws && *k.external_id == *external_id
}

impl Generation {
    fn get(&self, hash: u64, ws: WorkspaceId, kind: Kind, external_id: &str) -> Option<Resolved> {
        self.known
            .find(hash, names(hash, ws, kind, external_id))
            .map(|(_, k)| k.resolved)
    }

    fn insert(
        &mut self,
        hash: u64,
        ws: WorkspaceId,
        kind: Kind,
        external_id: &str,
        resolved: Resolved,
    ) {
        let entry = self
            .known
            .entry(hash, names(hash, ws, kind, external_id), |(h, _)| *h);
        match entry {
            hashbrown::hash_table::Entry::Occupied(mut found) => {
                found.get_mut().1.resolved = resolved
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert((
                    hash,
                    Known {
                        ws,
                        kind,
                        external_id: external_id.into(),
                        resolved,
                    },
                ));
            }
        }
        if kind == Kind::Account {
            self.accounts.insert(resolved.0, hash);
        }
    }

    fn entries(&self) -> usize {
        self.known.len()
    }

    fn moved(&mut self, account: Uuid, org: Option<Uuid>) {
        let Some(&hash) = self.accounts.get(&account) else {
            return;
        };
        if let Some((_, k)) = self.known.find_mut(hash, |(h, k)| {
            *h == hash && k.kind == Kind::Account && k.resolved.0 == account
        }) {
            k.resolved.1 = org;
        }
    }
}

#[derive(Debug, Default)]
struct Generations {
    hot: Generation,
    cold: Generation,
}

impl Generations {
    fn get(&mut self, ws: WorkspaceId, kind: Kind, external_id: &str) -> Option<Resolved> {
        let hash = hash_of(ws, kind, external_id);
        if let Some(resolved) = self.hot.get(hash, ws, kind, external_id) {
            return Some(resolved);
        }
        let resolved = self.cold.get(hash, ws, kind, external_id)?;
        self.insert_hashed(hash, ws, kind, external_id, resolved);
        Some(resolved)
    }

    fn insert(&mut self, ws: WorkspaceId, kind: Kind, external_id: &str, resolved: Resolved) {
        self.insert_hashed(
            hash_of(ws, kind, external_id),
            ws,
            kind,
            external_id,
            resolved,
        );
    }

    fn insert_hashed(
        &mut self,
        hash: u64,
        ws: WorkspaceId,
        kind: Kind,
        external_id: &str,
        resolved: Resolved,
    ) {
        if self.hot.entries() >= GENERATION {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(hash, ws, kind, external_id, resolved);
    }

    fn moved(&mut self, account: Uuid, org: Option<Uuid>) {
        self.hot.moved(account, org);
        self.cold.moved(account, org);
    }
}

/// The store's resolved records, shared by the batches (one at a time).
#[derive(Debug, Default)]
pub(crate) struct KnownIds {
    state: Mutex<Generations>,
}

impl KnownIds {
    fn state(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets everything (after bulk loads, and when a batch deletes records).
    pub(crate) fn clear(&self) {
        *self.state() = Generations::default();
    }

    /// Takes in what a committed batch learnt.
    pub(crate) fn committed(&self, commit: IdsCommit) {
        if commit.learnt.is_empty() && commit.moves.is_empty() {
            return;
        }
        let mut state = self.state();
        for (ws, kind, external_id, resolved) in commit.learnt {
            state.insert(ws, kind, &external_id, resolved);
        }
        for (account, org) in commit.moves {
            state.moved(account, org);
        }
    }

    /// The count of entries held, for tests.
    #[cfg(test)]
    fn len(&self) -> usize {
        let state = self.state();
        state.hot.entries() + state.cold.entries()
    }
}

/// What a committed batch hands to [`KnownIds::committed`].
#[derive(Debug, Default)]
pub(crate) struct IdsCommit {
    learnt: Vec<(WorkspaceId, Kind, Box<str>, Resolved)>,
    /// Accounts' organizations as the batch left them.
    moves: HashMap<Uuid, Option<Uuid>>,
}

/// A batch's view of the resolved records: lookups see the batch's own moves; what it learns
/// waits for the commit.
#[derive(Debug)]
pub(crate) struct BatchIds<'a> {
    known: &'a KnownIds,
    /// Learnt by the write being applied.
    learning: Vec<(WorkspaceId, Kind, Box<str>, Resolved)>,
    commit: IdsCommit,
}

impl<'a> BatchIds<'a> {
    pub(crate) fn new(known: &'a KnownIds) -> Self {
        Self {
            known,
            learning: Vec::new(),
            commit: IdsCommit::default(),
        }
    }

    /// The record `external_id` names, if known; `this_write` are the graph changes the write
    /// being applied has made so far.
    #[cfg(test)]
    fn get(
        &self,
        ws: WorkspaceId,
        kind: Kind,
        external_id: &str,
        this_write: &[GraphChange],
    ) -> Option<Resolved> {
        let wanted = ExternalId::parse("externalId", external_id).expect("a valid external id");
        let mut found = foldhash::HashMap::default();
        let mut missing = Vec::new();
        self.resolve(ws, kind, [&wanted], this_write, &mut found, &mut missing);
        found.get(external_id).copied()
    }

    /// Resolves `wanted` (repeats allowed) into `found`, listing the unknown ones in `missing`
    /// once each; `this_write` are the graph changes the write being applied has made so far.
    pub(crate) fn resolve<'e>(
        &self,
        ws: WorkspaceId,
        kind: Kind,
        wanted: impl IntoIterator<Item = &'e ExternalId>,
        this_write: &[GraphChange],
        found: &mut foldhash::HashMap<&'e str, Resolved>,
        missing: &mut Vec<&'e ExternalId>,
    ) {
        let mut state = self.known.state();
        for wanted in wanted {
            let external_id = wanted.as_str();
            let std::collections::hash_map::Entry::Vacant(slot) = found.entry(external_id) else {
                continue;
            };
            match state.get(ws, kind, external_id) {
                Some((id, org)) => {
                    let org = match kind {
                        Kind::Account => self.organization_now(id, org, this_write),
                        _ => org,
                    };
                    slot.insert((id, org));
                }
                None => missing.push(wanted),
            }
        }
        missing.sort_unstable();
        missing.dedup();
    }

    /// An account's organization as this batch left it so far.
    fn organization_now(
        &self,
        account: Uuid,
        known: Option<Uuid>,
        this_write: &[GraphChange],
    ) -> Option<Uuid> {
        let mut org = self.commit.moves.get(&account).copied().unwrap_or(known);
        for change in this_write {
            if let GraphChange::UpsertAccount {
                id, organization, ..
            } = change
                && id.0 == account
            {
                org = organization.map(|o| o.0);
            }
        }
        org
    }

    /// Remembers a record the write being applied looked up or created.
    pub(crate) fn learn(
        &mut self,
        ws: WorkspaceId,
        kind: Kind,
        external_id: &str,
        resolved: Resolved,
    ) {
        self.learning.push((ws, kind, external_id.into(), resolved));
    }

    /// Closes the write being applied: what it learnt counts if it succeeded (`changes` are
    /// its graph changes); a delete forgets everything.
    pub(crate) fn settle(&mut self, changes: Option<&[GraphChange]>) {
        let learnt = std::mem::take(&mut self.learning);
        let Some(changes) = changes else { return };
        self.commit.learnt.extend(learnt);
        for change in changes {
            match change {
                GraphChange::UpsertAccount {
                    id, organization, ..
                } => {
                    self.commit.moves.insert(id.0, organization.map(|o| o.0));
                }
                GraphChange::DeleteUser { .. }
                | GraphChange::DeleteAccount { .. }
                | GraphChange::DeleteOrganization { .. } => {
                    self.known.clear();
                    self.commit = IdsCommit::default();
                }
                GraphChange::UpsertOrganization { .. }
                | GraphChange::UpsertUser { .. }
                | GraphChange::Assignment(_)
                | GraphChange::Messages(_) => {}
            }
        }
    }

    /// What the batch hands over when it commits.
    pub(crate) fn into_commit(self) -> IdsCommit {
        self.commit
    }
}

#[cfg(test)]
mod tests {
    use steward_engine::ids::{AccountId, OrganizationId, UserId};
    use steward_engine::time::Millis;

    use super::*;

    fn ws() -> WorkspaceId {
        WorkspaceId(Uuid::from_u128(1))
    }

    fn moved(account: Uuid, org: Option<Uuid>) -> GraphChange {
        GraphChange::UpsertAccount {
            id: AccountId(account),
            organization: org.map(OrganizationId),
            created_at: Millis(0),
            updated_at: Millis(0),
        }
    }

    /// Commits a batch of one successful write that learnt `records`.
    fn commit_all(known: &KnownIds, records: impl IntoIterator<Item = (Kind, String, Resolved)>) {
        let mut batch = BatchIds::new(known);
        for (kind, ext, resolved) in records {
            batch.learn(ws(), kind, &ext, resolved);
        }
        batch.settle(Some(&[]));
        known.committed(batch.into_commit());
    }

    fn commit_learning(known: &KnownIds, kind: Kind, ext: &str, resolved: Resolved) {
        commit_all(known, [(kind, ext.to_owned(), resolved)]);
    }

    #[test]
    fn learnt_records_count_only_from_committed_successful_writes() {
        let known = KnownIds::default();
        let user = Uuid::from_u128(7);
        let mut batch = BatchIds::new(&known);
        batch.learn(ws(), Kind::User, "u1", (user, None));
        batch.settle(None);
        batch.learn(ws(), Kind::User, "u2", (user, None));
        batch.settle(Some(&[]));
        assert_eq!(
            batch.get(ws(), Kind::User, "u2", &[]),
            None,
            "not before the commit"
        );
        drop(batch);
        assert_eq!(known.len(), 0, "a dropped batch leaves nothing");

        let mut batch = BatchIds::new(&known);
        batch.learn(ws(), Kind::User, "u1", (user, None));
        batch.settle(None);
        batch.learn(ws(), Kind::User, "u2", (user, None));
        batch.settle(Some(&[]));
        known.committed(batch.into_commit());
        let batch = BatchIds::new(&known);
        assert_eq!(
            batch.get(ws(), Kind::User, "u1", &[]),
            None,
            "its write failed"
        );
        assert_eq!(batch.get(ws(), Kind::User, "u2", &[]), Some((user, None)));
        assert_eq!(
            batch.get(ws(), Kind::Account, "u2", &[]),
            None,
            "kinds apart"
        );
        let other = WorkspaceId(Uuid::from_u128(2));
        assert_eq!(
            batch.get(other, Kind::User, "u2", &[]),
            None,
            "workspaces apart"
        );
    }

    #[test]
    fn moves_apply_within_the_batch_and_at_its_commit() {
        let known = KnownIds::default();
        let (account, x, y) = (Uuid::from_u128(1), Uuid::from_u128(10), Uuid::from_u128(11));
        commit_learning(&known, Kind::Account, "a", (account, Some(x)));

        let mut batch = BatchIds::new(&known);
        assert_eq!(
            batch.get(ws(), Kind::Account, "a", &[]),
            Some((account, Some(x)))
        );
        let this_write = [moved(account, Some(y))];
        assert_eq!(
            batch.get(ws(), Kind::Account, "a", &this_write),
            Some((account, Some(y))),
            "moved earlier in the same write"
        );
        batch.settle(Some(&this_write));
        assert_eq!(
            batch.get(ws(), Kind::Account, "a", &[]),
            Some((account, Some(y))),
            "moved by an earlier write"
        );
        batch.settle(Some(&[moved(account, None)]));
        assert_eq!(
            batch.get(ws(), Kind::Account, "a", &[]),
            Some((account, None))
        );
        drop(batch);
        assert_eq!(
            BatchIds::new(&known).get(ws(), Kind::Account, "a", &[]),
            Some((account, Some(x))),
            "a rolled-back batch moved nothing"
        );

        let mut batch = BatchIds::new(&known);
        batch.settle(Some(&[moved(account, Some(y))]));
        known.committed(batch.into_commit());
        assert_eq!(
            BatchIds::new(&known).get(ws(), Kind::Account, "a", &[]),
            Some((account, Some(y)))
        );
    }

    #[test]
    fn a_delete_forgets_everything_even_when_the_batch_rolls_back() {
        let known = KnownIds::default();
        let user = Uuid::from_u128(3);
        commit_learning(&known, Kind::User, "u", (user, None));
        let mut batch = BatchIds::new(&known);
        batch.learn(ws(), Kind::User, "v", (Uuid::from_u128(4), None));
        batch.settle(Some(&[]));
        batch.settle(Some(&[GraphChange::DeleteUser { id: UserId(user) }]));
        assert_eq!(batch.get(ws(), Kind::User, "u", &[]), None);
        drop(batch);
        assert_eq!(known.len(), 0);
    }

    /// Commits users `{prefix}{i}` for `i` in `range`, with ids of their own.
    fn commit_users(known: &KnownIds, prefix: &str, range: std::ops::Range<usize>) {
        commit_all(
            known,
            range.map(|i| {
                let id = Uuid::from_u128((u128::from(prefix.as_bytes()[0]) << 64) | i as u128);
                (Kind::User, format!("{prefix}{i}"), (id, None))
            }),
        );
    }

    #[test]
    fn the_old_generation_goes_but_a_hit_moves_an_entry_forward() {
        let known = KnownIds::default();
        let first = Uuid::from_u128(1);
        commit_learning(&known, Kind::User, "first", (first, None));
        commit_users(&known, "u", 1..GENERATION);
        // The hot generation is full: the next entry starts a new one.
        commit_learning(&known, Kind::User, "next", (Uuid::from_u128(2), None));
        assert_eq!(
            BatchIds::new(&known).get(ws(), Kind::User, "first", &[]),
            Some((first, None)),
            "found in the old generation, and moved forward"
        );
        commit_users(&known, "w", 0..GENERATION);
        assert_eq!(
            BatchIds::new(&known).get(ws(), Kind::User, "u5", &[]),
            None,
            "dropped"
        );
        assert!(known.len() <= 2 * GENERATION);
    }
}
