//! The derived state of one model's records, stored as columns: every record's projected
//! inputs in one array, its formula values in another, its lifecycle values in a third, all
//! by the record's position. Full recomputations (`bulk.rs`) then sweep memory in order
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
    /// Projected inputs, by the model's input slot.
    pub(crate) inputs: &'a [Value],
    /// Formula values, by the model's formula slot.
    pub(crate) outputs: &'a [Value],
    pub(crate) life: &'a Life,
}

/// One record's derived state, to change.
#[derive(Debug)]
pub(crate) struct RecordStateMut<'a> {
    pub(crate) inputs: &'a mut [Value],
    pub(crate) outputs: &'a mut [Value],
    pub(crate) life: &'a mut Life,
}

/// States stored densely (removal moves the last record into the gap), found by id.
#[derive(Debug)]
pub(crate) struct Records<Id> {
    index: HashMap<Id, u32>,
    ids: Vec<Id>,
    /// Inputs and formula values a record has (the model's rules decide: [`Records::shape`]).
    inputs_per_record: usize,
    outputs_per_record: usize,
    /// `inputs_per_record` values a record, by position.
    inputs: Vec<Value>,
    outputs: Vec<Value>,
    lives: Vec<Life>,
}

impl<Id> Default for Records<Id> {
    fn default() -> Self {
        Self {
            index: HashMap::new(),
            ids: Vec::new(),
            inputs_per_record: 0,
            outputs_per_record: 0,
            inputs: Vec::new(),
            outputs: Vec::new(),
            lives: Vec::new(),
        }
    }
}

/// Removes the `i`th of `n`-value chunks by moving the last chunk into its place.
fn swap_remove_chunk(values: &mut Vec<Value>, n: usize, i: usize) {
    let last = values.len() / n.max(1);
    if n == 0 || last == 0 {
        return;
    }
    for k in 0..n {
        values.swap(i * n + k, (last - 1) * n + k);
    }
    values.truncate((last - 1) * n);
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
        let i = position as usize;
        let (n, m) = (self.inputs_per_record, self.outputs_per_record);
        RecordState {
            inputs: &self.inputs[i * n..(i + 1) * n],
            outputs: &self.outputs[i * m..(i + 1) * m],
            life: &self.lives[i],
        }
    }

    pub(crate) fn state_at_mut(&mut self, position: u32) -> RecordStateMut<'_> {
        let i = position as usize;
        let (n, m) = (self.inputs_per_record, self.outputs_per_record);
        RecordStateMut {
            inputs: &mut self.inputs[i * n..(i + 1) * n],
            outputs: &mut self.outputs[i * m..(i + 1) * m],
            life: &mut self.lives[i],
        }
    }

    /// An input of the record at a position.
    #[inline]
    pub(crate) fn input_at(&self, position: u32, slot: usize) -> Option<&Value> {
        let n = self.inputs_per_record;
        (slot < n).then(|| &self.inputs[position as usize * n + slot])
    }

    /// A formula value of the record at a position.
    #[inline]
    pub(crate) fn output_at(&self, position: u32, slot: usize) -> Option<&Value> {
        let n = self.outputs_per_record;
        (slot < n).then(|| &self.outputs[position as usize * n + slot])
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
        &mut self.outputs[position as usize * self.outputs_per_record + slot]
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
        let (n, m) = (self.inputs_per_record, self.outputs_per_record);
        self.inputs.resize(self.inputs.len() + n, Value::Null);
        self.outputs.resize(self.outputs.len() + m, Value::Null);
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
        swap_remove_chunk(&mut self.inputs, self.inputs_per_record, i);
        swap_remove_chunk(&mut self.outputs, self.outputs_per_record, i);
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
        self.inputs = vec![Value::Null; len * inputs];
        self.inputs_per_record = inputs;
        let old = std::mem::take(&mut self.outputs);
        let old_m = self.outputs_per_record;
        let mut old = old.into_iter();
        let mut outputs = Vec::with_capacity(len * keep.len());
        let mut chunk: Vec<Value> = Vec::with_capacity(old_m);
        for _ in 0..len {
            chunk.clear();
            chunk.extend(old.by_ref().take(old_m));
            outputs.extend(keep.iter().map(|slot| {
                slot.and_then(|s| chunk.get_mut(s))
                    .map_or(Value::Null, |v| std::mem::replace(v, Value::Null))
            }));
        }
        self.outputs = outputs;
        self.outputs_per_record = keep.len();
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
        state.inputs[0] = Value::Number(n as f64);
        state.outputs[1] = Value::Number(-(n as f64));
    }

    fn check(records: &Records<UserId>, n: u128) {
        let state = records.get(&user(n)).expect("present");
        assert_eq!(state.life.mrr, Some(n as f64));
        assert_eq!(state.inputs, &[Value::Number(n as f64)]);
        assert_eq!(state.outputs, &[Value::Null, Value::Number(-(n as f64))]);
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
            assert_eq!(state.inputs, &[Value::Null, Value::Null]);
            assert_eq!(state.outputs, &[Value::Number(-(n as f64)), Value::Null]);
        }
    }
}
