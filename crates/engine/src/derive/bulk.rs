//! Full recomputation (rule edits, `reprocess`, `recompute`) as column passes.
//!
//! Incremental upkeep (`state.rs`) recomputes record by record through a queue, finding
//! records by id. When every record is recomputed, the configuration's evaluation order
//! (`Compiled::order`, every node after the nodes it reads, across models) allows something
//! cheaper: each node once over all records of its model, in that order. A node then reads
//! only values that are already final, so each record's values are computed exactly once, no
//! queue is needed, and the records are walked by graph slot: links are followed through the
//! graph's slots and states are found by position, without hashing ids.
//!
//! A column is evaluated in parallel (`threads()` scoped threads over slices of the
//! records), reading a frozen state; the results are then written, and changes reported, in
//! record order by one thread. Each value depends only on what it reads, never on which
//! thread computed it, so the outcome is the same whatever the thread count.

use std::sync::OnceLock;

use steward_rules::{EvalContext, FieldRef, Record, RelationRef, Value};

use super::compile::Node;
use super::config::Model;
use super::lifecycle::{Mode, combine};
use super::records::{RecordId, Records};
use super::schema::Rel;
use super::state::{
    Derivation, Life, RecordState, next_wake, own_lifecycle, report_life, timestamp, to_json,
};
use super::view::{World, field_ref, field_value};
use super::{DerivedChange, RecordRef};
use crate::graph::{Graph, Slot};
use crate::metrics::Metrics;
use crate::time::Millis;

/// No state at this slot.
const NONE: u32 = u32::MAX;

/// Columns shorter than this are evaluated on the calling thread.
const PARALLEL_MIN: usize = 4096;

/// Threads for column passes: `STEWARD_ENGINE_THREADS` if set, else the machine's cores.
pub(crate) fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("STEWARD_ENGINE_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    })
}

/// `f` of every slot, in order, on up to `threads` threads.
fn par_map<T: Send>(threads: usize, slots: &[Slot], f: impl Fn(Slot) -> T + Sync) -> Vec<T> {
    if threads <= 1 || slots.len() < PARALLEL_MIN {
        return slots.iter().map(|s| f(*s)).collect();
    }
    let chunk = slots.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let mut parts = slots.chunks(chunk);
        let first = parts.next().unwrap_or_default();
        let handles: Vec<_> = parts
            .map(|part| scope.spawn(move || part.iter().map(|s| f(*s)).collect::<Vec<T>>()))
            .collect();
        let mut out: Vec<T> = Vec::with_capacity(slots.len());
        out.extend(first.iter().map(|s| f(*s)));
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// The record at a graph slot.
fn record_at(graph: &Graph, model: Model, slot: Slot) -> RecordRef {
    match model {
        Model::Organization => RecordRef::Organization(graph.organization_at(slot)),
        Model::Account => RecordRef::Account(graph.account_at(slot)),
        Model::User => RecordRef::User(graph.user_at(slot)),
    }
}

/// Everything a column reads: the derivation as it stands, and where each slot's state is.
struct Pass<'a> {
    world: World<'a>,
    /// By model: graph slot -> position of its state (`NONE`: it has none).
    positions: &'a [Vec<u32>; 3],
}

impl<'a> Pass<'a> {
    fn state(&self, model: Model, slot: Slot) -> Option<&'a RecordState> {
        let position = *self.positions[model as usize].get(slot as usize)?;
        if position == NONE {
            return None;
        }
        let d = self.world.derivation;
        let states = match model {
            Model::Organization => d.orgs.states(),
            Model::Account => d.accounts.states(),
            Model::User => d.users.states(),
        };
        states.get(position as usize)
    }

    fn view(&'a self, model: Model, slot: Slot) -> SlotView<'a> {
        SlotView {
            pass: self,
            model,
            slot,
        }
    }
}

/// A record as the rules see it during a pass, by graph slot.
#[derive(Clone, Copy)]
struct SlotView<'a> {
    pass: &'a Pass<'a>,
    model: Model,
    slot: Slot,
}

impl Record for SlotView<'_> {
    fn get(&self, field: FieldRef<'_>) -> Value {
        let pass = self.pass;
        field_value(
            &pass.world,
            pass.state(self.model, self.slot),
            || record_at(pass.world.graph, self.model, self.slot),
            field.id,
        )
    }

    fn get_ref(&self, field: FieldRef<'_>) -> Option<&Value> {
        let pass = self.pass;
        field_ref(&pass.world, pass.state(self.model, self.slot), field.id)
    }

    fn related(&self, relation: RelationRef<'_>, visit: &mut dyn FnMut(&dyn Record)) {
        let graph = self.pass.world.graph;
        let mut go = |model: Model, slot: Slot| visit(&self.pass.view(model, slot));
        match (self.model, Rel::from_id(relation.id)) {
            (Model::Organization, Rel::OrgAccounts) => graph
                .organization_account_slots(self.slot)
                .for_each(|s| go(Model::Account, s)),
            (Model::Organization, Rel::OrgUsers) => graph
                .organization_user_slots(self.slot)
                .for_each(|s| go(Model::User, s)),
            (Model::Account, Rel::AccountOrganization) => {
                if let Some(s) = graph.account_organization_slot(self.slot) {
                    go(Model::Organization, s);
                }
            }
            (Model::Account, Rel::AccountUsers) => graph
                .account_user_slots(self.slot)
                .for_each(|s| go(Model::User, s)),
            (Model::User, Rel::UserAccounts) => graph
                .user_account_slots(self.slot)
                .iter()
                .for_each(|s| go(Model::Account, *s)),
            (Model::User, Rel::UserOrganizations) => graph
                .user_organization_slots(self.slot)
                .into_iter()
                .for_each(|s| go(Model::Organization, s)),
            _ => {}
        }
    }
}

/// Gives every live record of the graph a state; returns where each slot's state is and the
/// live slots in order.
fn place<Id: RecordId>(
    records: &mut Records<Id>,
    bound: usize,
    live: impl Iterator<Item = (Slot, Id)>,
    fresh: impl Fn() -> RecordState,
) -> (Vec<u32>, Vec<Slot>) {
    let mut positions = vec![NONE; bound];
    let mut slots = Vec::with_capacity(bound);
    for (slot, id) in live {
        positions[slot as usize] = records.position_or_insert_with(id, &fresh);
        slots.push(slot);
    }
    (positions, slots)
}

impl Derivation {
    /// The states of one model, by position.
    fn states_of(&mut self, model: Model) -> &mut [RecordState] {
        match model {
            Model::Organization => self.orgs.states_mut(),
            Model::Account => self.accounts.states_mut(),
            Model::User => self.users.states_mut(),
        }
    }

    /// Re-evaluates every record (start-up, rule changes, reprocessing), column by column.
    pub(crate) fn recompute_all(
        &mut self,
        graph: &Graph,
        metrics: Option<&Metrics>,
        mode: Mode,
        now: Millis,
    ) -> Vec<DerivedChange> {
        self.recompute_columns(graph, metrics, mode, now, threads())
    }

    pub(crate) fn recompute_columns(
        &mut self,
        graph: &Graph,
        metrics: Option<&Metrics>,
        mode: Mode,
        now: Millis,
        threads: usize,
    ) -> Vec<DerivedChange> {
        self.now = self.now.max(now);
        let Some(compiled) = self.compiled().cloned() else {
            return Vec::new();
        };
        let ctx = EvalContext::new(timestamp(now));
        let bounds = graph.slot_bounds();
        let mut positions: [Vec<u32>; 3] = Default::default();
        let mut live: [Vec<Slot>; 3] = Default::default();
        for model in Model::ALL {
            let rules = compiled.rules(model);
            let m = model as usize;
            if !rules.stateful {
                continue;
            }
            let fresh = || RecordState {
                inputs: vec![Value::Null; rules.inputs.len()].into_boxed_slice(),
                outputs: vec![Value::Null; rules.formulas.len()].into_boxed_slice(),
                life: Life::default(),
            };
            (positions[m], live[m]) = match model {
                Model::Organization => {
                    place(&mut self.orgs, bounds[m], graph.organization_slots(), fresh)
                }
                Model::Account => {
                    place(&mut self.accounts, bounds[m], graph.account_slots(), fresh)
                }
                Model::User => place(&mut self.users, bounds[m], graph.user_slots(), fresh),
            };
        }
        let life_before: [Vec<Life>; 3] = Model::ALL.map(|model| {
            let m = model as usize;
            let states = self.states_of(model);
            live[m]
                .iter()
                .map(|s| states[positions[m][*s as usize] as usize].life)
                .collect()
        });

        let mut out = Vec::new();
        for &(model, node) in &compiled.order {
            let m = model as usize;
            let rules = compiled.rules(model);
            let (slots, at) = (&live[m], &positions[m]);
            let pass = Pass {
                world: World {
                    derivation: self,
                    graph,
                    metrics,
                },
                positions: &positions,
            };
            match node {
                Node::Formula(i) => {
                    let program = &rules.formulas[i].program;
                    let values = par_map(threads, slots, |slot| {
                        program.eval(&pass.view(model, slot), &ctx)
                    });
                    let key = &rules.formulas[i].key;
                    let states = self.states_of(model);
                    for (slot, value) in slots.iter().zip(values) {
                        let state = &mut states[at[*slot as usize] as usize];
                        if state.outputs[i] != value {
                            out.push(DerivedChange::Value {
                                record: record_at(graph, model, *slot),
                                key: key.clone(),
                                value: to_json(&value),
                            });
                            state.outputs[i] = value;
                        }
                    }
                }
                Node::Lifecycle => {
                    let lives = par_map(threads, slots, |slot| {
                        let previous = pass.state(model, slot).map(|s| s.life).unwrap_or_default();
                        let view = pass.view(model, slot);
                        own_lifecycle(rules, &view, previous, model, mode, now, &ctx)
                    });
                    let states = self.states_of(model);
                    for (slot, life) in slots.iter().zip(lives) {
                        states[at[*slot as usize] as usize].life = life;
                    }
                }
                Node::Effective => {
                    if model != Model::Account {
                        continue;
                    }
                    let orgs = self.orgs.states();
                    let accounts = self.accounts.states_mut();
                    for slot in slots {
                        let org = graph
                            .account_organization_slot(*slot)
                            .and_then(|o| positions[Model::Organization as usize].get(o as usize))
                            .filter(|p| **p != NONE)
                            .map(|p| orgs[*p as usize].life)
                            .unwrap_or_default();
                        let life = &mut accounts[at[*slot as usize] as usize].life;
                        (life.status, life.churned_at) = combine(
                            life.own_status,
                            life.own_churned_at,
                            org.status,
                            org.churned_at,
                        );
                    }
                }
                Node::Deactivation => {
                    let Some(program) = &rules.deactivation else {
                        continue;
                    };
                    let matches = par_map(threads, slots, |slot| {
                        program.matches(&pass.view(model, slot), &ctx)
                    });
                    let states = self.states_of(model);
                    for (slot, matches) in slots.iter().zip(matches) {
                        let life = &mut states[at[*slot as usize] as usize].life;
                        life.deactivated_at = if matches {
                            life.deactivated_at.or(Some(now))
                        } else {
                            None
                        };
                    }
                }
            }
        }

        let mut names = Vec::new();
        for model in Model::ALL {
            let m = model as usize;
            let rules = compiled.rules(model);
            let (slots, at) = (&live[m], &positions[m]);
            {
                let states = self.states_of(model);
                for (slot, before) in slots.iter().zip(&life_before[m]) {
                    let after = states[at[*slot as usize] as usize].life;
                    if after != *before {
                        let record = record_at(graph, model, *slot);
                        report_life(record, before, &after, now, &mut out, &mut names);
                        names.clear();
                    }
                }
            }
            if rules.reads_clock {
                let pass = Pass {
                    world: World {
                        derivation: self,
                        graph,
                        metrics,
                    },
                    positions: &positions,
                };
                let wakes = par_map(threads, slots, |slot| {
                    let life = pass.state(model, slot).map(|s| s.life).unwrap_or_default();
                    next_wake(rules, &pass.view(model, slot), &life, &ctx, now)
                });
                for (slot, wake) in slots.iter().zip(wakes) {
                    self.timers.schedule(record_at(graph, model, *slot), wake);
                }
            }
        }
        out
    }
}
