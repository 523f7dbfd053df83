//! The derived state of one model's records, stored as columns by the record's position:
//! one array per projected input, one per formula value, one of lifecycle values. Full recomputations (`bulk.rs`) then sweep memory in order
//! instead of chasing a pointer per record; the incremental entry points find a record's
//! position through an id index.

use foldhash::{HashMap, HashMapExt};
use steward_rules::Value;

use super::RecordRef;
use super::state::Life;
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

/// One record's derived state, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordState<'a> {
    /// Projected inputs, one column per input slot of the model.
    inputs: &'a [Vec<Value>],
    /// Formula values, one column per formula slot of the model.
    outputs: &'a [Vec<Value>],
    position: usize,
    pub(crate) life: &'a Life,
}

impl<'a> RecordState<'a> {
    /// The input at the model's input slot `slot`.
    #[inline]
    pub(crate) fn input(&self, slot: usize) -> Option<&'a Value> {
        Some(&self.inputs.get(slot)?[self.position])
    }

    /// The value of the model's formula at slot `slot`.
    #[inline]
    pub(crate) fn output(&self, slot: usize) -> Option<&'a Value> {
        Some(&self.outputs.get(slot)?[self.position])
    }
}

/// One record's derived state, to change.
#[derive(Debug)]
pub(crate) struct RecordStateMut<'a> {
    inputs: &'a mut [Vec<Value>],
    outputs: &'a mut [Vec<Value>],
    position: usize,
    pub(crate) life: &'a mut Life,
}

impl RecordStateMut<'_> {
    /// The input at input slot `slot`, which the model's rules must have.
    pub(crate) fn input_mut(&mut self, slot: usize) -> &mut Value {
        &mut self.inputs[slot][self.position]
    }

    /// The formula value at formula slot `slot`, which the model's rules must have.
    pub(crate) fn output_mut(&mut self, slot: usize) -> &mut Value {
        &mut self.outputs[slot][self.position]
    }

    /// Unsets every input and formula value.
    pub(crate) fn clear_values(&mut self) {
        for column in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            column[self.position] = Value::Null;
        }
    }
}

/// States stored densely (removal moves the last record into the gap), found by id. Inputs
/// and formula values are kept a column per slot, so a pass over one column of every record
/// (`bulk.rs`) reads only that column's memory.
#[derive(Debug)]
pub(crate) struct Records<Id> {
    index: HashMap<Id, u32>,
    ids: Vec<Id>,
    /// By input slot (the model's rules decide how many: [`Records::shape`]), by position.
    inputs: Vec<Vec<Value>>,
    /// By formula slot, by position.
    outputs: Vec<Vec<Value>>,
    lives: Vec<Life>,
}

impl<Id> Default for Records<Id> {
    fn default() -> Self {
        Self {
            index: HashMap::new(),
            ids: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            lives: Vec::new(),
        }
    }
}

impl<Id: RecordId> Records<Id> {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The dense position of a record's state.
    pub(crate) fn position(&self, id: &Id) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The id of the record stored at a position.
    pub(crate) fn id_at(&self, position: usize) -> Option<Id> {
        self.ids.get(position).copied()
    }

    /// The state at a position (which must hold a record).
    pub(crate) fn state_at(&self, position: u32) -> RecordState<'_> {
        let position = position as usize;
        RecordState {
            inputs: &self.inputs,
            outputs: &self.outputs,
            position,
            life: &self.lives[position],
        }
    }

    pub(crate) fn state_at_mut(&mut self, position: u32) -> RecordStateMut<'_> {
        let position = position as usize;
        RecordStateMut {
            inputs: &mut self.inputs,
            outputs: &mut self.outputs,
            position,
            life: &mut self.lives[position],
        }
    }

    /// An input of the record at a position.
    #[inline]
    pub(crate) fn input_at(&self, position: u32, slot: usize) -> Option<&Value> {
        Some(&self.inputs.get(slot)?[position as usize])
    }

    /// A formula value of the record at a position.
    #[inline]
    pub(crate) fn output_at(&self, position: u32, slot: usize) -> Option<&Value> {
        Some(&self.outputs.get(slot)?[position as usize])
    }

    /// An input of every record, by position.
    pub(crate) fn input_column(&self, slot: usize) -> Option<&[Value]> {
        self.inputs.get(slot).map(Vec::as_slice)
    }

    /// A formula's values of every record, by position.
    pub(crate) fn output_column(&self, slot: usize) -> Option<&[Value]> {
        self.outputs.get(slot).map(Vec::as_slice)
    }

    /// The record stored at a position, and its state.
    pub(crate) fn at(&self, position: u32) -> (RecordRef, RecordState<'_>) {
        (
            self.ids[position as usize].record(),
            self.state_at(position),
        )
    }

    /// A formula value at a position, to change.
    pub(crate) fn output_mut(&mut self, position: u32, slot: usize) -> &mut Value {
        &mut self.outputs[slot][position as usize]
    }

    pub(crate) fn life_mut(&mut self, position: u32) -> &mut Life {
        &mut self.lives[position as usize]
    }

    /// Every record's lifecycle values, by position.
    pub(crate) fn lives(&self) -> &[Life] {
        &self.lives
    }

    pub(crate) fn get(&self, id: &Id) -> Option<RecordState<'_>> {
        self.position(id).map(|i| self.state_at(i))
    }

    pub(crate) fn get_mut(&mut self, id: &Id) -> Option<RecordStateMut<'_>> {
        let i = self.position(id)?;
        Some(self.state_at_mut(i))
    }

    /// The record's position, giving it a fresh state (nothing set) when it has none.
    pub(crate) fn position_or_insert(&mut self, id: Id) -> u32 {
        if let Some(i) = self.position(&id) {
            return i;
        }
        let i = u32::try_from(self.ids.len()).expect("fewer than 2^32 records");
        self.index.insert(id, i);
        self.ids.push(id);
        for column in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            column.push(Value::Null);
        }
        self.lives.push(Life::default());
        i
    }

    pub(crate) fn get_or_insert(&mut self, id: Id) -> RecordStateMut<'_> {
        let i = self.position_or_insert(id);
        self.state_at_mut(i)
    }

    /// Removes a record's state, returning its lifecycle values.
    pub(crate) fn remove(&mut self, id: &Id) -> Option<Life> {
        let i = self.index.remove(id)? as usize;
        self.ids.swap_remove(i);
        for column in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            column.swap_remove(i);
        }
        let life = self.lives.swap_remove(i);
        if let Some(moved) = self.ids.get(i) {
            self.index.insert(*moved, i as u32);
        }
        Some(life)
    }

    /// Sizes every record's state for new rules: inputs all unset (to be projected again);
    /// formula value `j` taken from the old slot `keep[j]` (`None`: unset).
    pub(crate) fn shape(&mut self, inputs: usize, keep: &[Option<usize>]) {
        let len = self.ids.len();
        self.inputs = (0..inputs).map(|_| vec![Value::Null; len]).collect();
        let mut old: Vec<Option<Vec<Value>>> = std::mem::take(&mut self.outputs)
            .into_iter()
            .map(Some)
            .collect();
        self.outputs = keep
            .iter()
            .map(|slot| {
                slot.and_then(|s| old.get_mut(s)?.take())
                    .unwrap_or_else(|| vec![Value::Null; len])
            })
            .collect();
    }

    /// Every record with its lifecycle values.
    pub(crate) fn iter_lives(&self) -> impl Iterator<Item = (RecordRef, &Life)> {
        self.ids.iter().map(|id| id.record()).zip(&self.lives)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    fn insert(records: &mut Records<UserId>, n: u128) {
        let state = records.get_or_insert(user(n));
        state.life.mrr = Some(n as f64);
        let mut state = state;
        *state.input_mut(0) = Value::Number(n as f64);
        *state.output_mut(1) = Value::Number(-(n as f64));
    }

    fn check(records: &Records<UserId>, n: u128) {
        let state = records.get(&user(n)).expect("present");
        assert_eq!(state.life.mrr, Some(n as f64));
        assert_eq!(state.input(0), Some(&Value::Number(n as f64)));
        assert_eq!(state.input(1), None);
        assert_eq!(state.output(0), Some(&Value::Null));
        assert_eq!(state.output(1), Some(&Value::Number(-(n as f64))));
    }

    #[test]
    fn removal_keeps_every_other_record_findable() {
        let mut records: Records<UserId> = Records::default();
        records.shape(1, &[None, None]);
        for n in 0..5 {
            insert(&mut records, n);
        }
        assert_eq!(records.remove(&user(1)).map(|l| l.mrr), Some(Some(1.0)));
        assert!(records.remove(&user(1)).is_none());
        assert_eq!(records.remove(&user(4)).map(|l| l.mrr), Some(Some(4.0)));
        assert_eq!(records.len(), 3);
        for n in [0, 2, 3] {
            check(&records, n);
        }
        insert(&mut records, 7);
        check(&records, 7);
        assert_eq!(records.iter_lives().count(), 4);
    }

    #[test]
    fn reshaping_keeps_formula_values_by_slot() {
        let mut records: Records<UserId> = Records::default();
        records.shape(1, &[None, None]);
        insert(&mut records, 3);
        insert(&mut records, 4);
        // The old second formula becomes the first; a new one is unset; inputs are cleared.
        records.shape(2, &[Some(1), None]);
        for n in [3, 4] {
            let state = records.get(&user(n)).expect("present");
            assert_eq!(state.input(0), Some(&Value::Null));
            assert_eq!(state.input(1), Some(&Value::Null));
            assert_eq!(state.output(0), Some(&Value::Number(-(n as f64))));
            assert_eq!(state.output(1), Some(&Value::Null));
        }
    }
}
