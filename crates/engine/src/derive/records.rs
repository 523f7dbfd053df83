//! The derived state of one model's records: dense, so full recomputations walk it as
//! columns (`bulk.rs`), with an id index for the incremental entry points.

use foldhash::{HashMap, HashMapExt};

use super::RecordRef;
use super::state::RecordState;
use crate::ids::{AccountId, OrganizationId, UserId};

/// An id of a record kind whose derived state is kept.
pub(crate) trait RecordId: Copy + Eq + std::hash::Hash {
    fn record(self) -> RecordRef;
}

impl RecordId for OrganizationId {
    fn record(self) -> RecordRef {
        RecordRef::Organization(self)
    }
}

impl RecordId for AccountId {
    fn record(self) -> RecordRef {
        RecordRef::Account(self)
    }
}

impl RecordId for UserId {
    fn record(self) -> RecordRef {
        RecordRef::User(self)
    }
}

/// States stored densely (removal swaps the last one in), found by id through an index.
#[derive(Debug)]
pub(crate) struct Records<Id> {
    index: HashMap<Id, u32>,
    ids: Vec<Id>,
    states: Vec<RecordState>,
}

impl<Id> Default for Records<Id> {
    fn default() -> Self {
        Self {
            index: HashMap::new(),
            ids: Vec::new(),
            states: Vec::new(),
        }
    }
}

impl<Id: RecordId> Records<Id> {
    /// The dense position of a record's state.
    pub(crate) fn position(&self, id: &Id) -> Option<u32> {
        self.index.get(id).copied()
    }

    pub(crate) fn get(&self, id: &Id) -> Option<&RecordState> {
        self.position(id).map(|i| &self.states[i as usize])
    }

    pub(crate) fn get_mut(&mut self, id: &Id) -> Option<&mut RecordState> {
        let i = self.position(id)?;
        Some(&mut self.states[i as usize])
    }

    /// The record's position, inserting `fresh()` first when it has no state.
    pub(crate) fn position_or_insert_with(
        &mut self,
        id: Id,
        fresh: impl FnOnce() -> RecordState,
    ) -> u32 {
        if let Some(i) = self.position(&id) {
            return i;
        }
        let i = u32::try_from(self.states.len()).expect("fewer than 2^32 records");
        self.index.insert(id, i);
        self.ids.push(id);
        self.states.push(fresh());
        i
    }

    pub(crate) fn get_or_insert_with(
        &mut self,
        id: Id,
        fresh: impl FnOnce() -> RecordState,
    ) -> &mut RecordState {
        let i = self.position_or_insert_with(id, fresh);
        &mut self.states[i as usize]
    }

    /// Sets a record's state, replacing any it had.
    pub(crate) fn insert(&mut self, id: Id, state: RecordState) {
        match self.position(&id) {
            Some(i) => self.states[i as usize] = state,
            None => {
                self.get_or_insert_with(id, || state);
            }
        }
    }

    pub(crate) fn remove(&mut self, id: &Id) -> Option<RecordState> {
        let i = self.index.remove(id)? as usize;
        self.ids.swap_remove(i);
        let state = self.states.swap_remove(i);
        if let Some(moved) = self.ids.get(i) {
            self.index.insert(*moved, i as u32);
        }
        Some(state)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (RecordRef, &RecordState)> {
        self.ids.iter().map(|id| id.record()).zip(&self.states)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (RecordRef, &mut RecordState)> {
        self.ids.iter().map(|id| id.record()).zip(&mut self.states)
    }

    /// Every state, by dense position.
    pub(crate) fn states(&self) -> &[RecordState] {
        &self.states
    }

    pub(crate) fn states_mut(&mut self) -> &mut [RecordState] {
        &mut self.states
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    fn state(mrr: f64) -> RecordState {
        let mut s = RecordState::default();
        s.life.mrr = Some(mrr);
        s
    }

    #[test]
    fn removal_keeps_every_other_record_findable() {
        let mut records: Records<UserId> = Records::default();
        for n in 0..5 {
            records.insert(user(n), state(n as f64));
        }
        assert_eq!(
            records.remove(&user(1)).map(|s| s.life.mrr),
            Some(Some(1.0))
        );
        assert!(records.remove(&user(1)).is_none());
        assert_eq!(
            records.remove(&user(4)).map(|s| s.life.mrr),
            Some(Some(4.0))
        );
        for n in [0, 2, 3] {
            assert_eq!(
                records.get(&user(n)).map(|s| s.life.mrr),
                Some(Some(n as f64))
            );
        }
        records.insert(user(2), state(20.0));
        assert_eq!(records.get(&user(2)).map(|s| s.life.mrr), Some(Some(20.0)));
        assert_eq!(records.iter().count(), 3);
    }
}
