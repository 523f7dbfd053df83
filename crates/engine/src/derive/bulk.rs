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

use std::borrow::Cow;
use std::sync::OnceLock;

use steward_rules::{EvalContext, FieldRef, Kernel, Program, Record, RelationRef, Rollup, Value};

use super::compile::Node;
use super::config::Model;
use super::lifecycle::{Mode, combine};
use super::records::{RecordId, RecordState, Records};
use super::rollup::rollup_columns;
use super::schema::{FieldSource, Rel, decode_field};
use super::state::{
    Derivation, Life, clocked, next_wake, own_lifecycle, report_life, timestamp, to_json,
};
use super::sweeps::{Sweep, sweeps};
use super::view::{Links, World, ascending, customer, field_ref, field_value};
use super::{DerivedChange, RecordRef};
use crate::graph::{Graph, Slot};
use crate::metrics::Metrics;
use crate::time::Millis;

/// No state at this slot.
pub(super) const NONE: u32 = u32::MAX;

/// Columns shorter than this are evaluated on the calling thread.
pub(super) const PARALLEL_MIN: usize = 4096;

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

/// Slots a thread takes at a time: small enough that a thread the machine's other work
/// holds back does not keep the others waiting, large enough that taking one costs nothing.
const BLOCK: usize = 8192;

/// `f` of every slot on up to `threads` threads; the `Some` answers with their slots, in slot
/// order. Columns are compared with what is stored while they are evaluated, so a column that
/// changes nothing (the usual reprocess) writes nothing.
pub(super) fn par_changes<T: Send>(
    threads: usize,
    slots: &[Slot],
    f: impl Fn(Slot) -> Option<T> + Sync,
) -> Vec<(Slot, T)> {
    let blocks = par_blocks(threads, slots, |part, out| {
        out.extend(part.iter().filter_map(|slot| f(*slot).map(|t| (*slot, t))))
    });
    match <[_; 1]>::try_from(blocks) {
        Ok([only]) => only,
        Err(blocks) => blocks.into_iter().flatten().collect(),
    }
}

/// `f` over consecutive blocks of `slots` ([`BLOCK`] at most) on up to `threads` threads,
/// each block writing into a vector of its own; the vectors in slot order.
pub(super) fn par_blocks<T: Send>(
    threads: usize,
    slots: &[Slot],
    f: impl Fn(&[Slot], &mut Vec<T>) + Sync,
) -> Vec<Vec<T>> {
    let run = |part: &[Slot]| {
        let mut out = Vec::new();
        f(part, &mut out);
        out
    };
    // In blocks even on one thread: a block's buffer stays small (a large allocation would
    // make the allocator sweep every small chunk freed since the last one).
    let threads = if slots.len() < PARALLEL_MIN {
        1
    } else {
        threads
    };
    par_map(threads, slots.chunks(BLOCK), run)
}

/// `f` of every item on up to `threads` threads, each taking the next item when it is done
/// with one (so a thread the machine's other work holds back does not keep the others
/// waiting); the answers in item order.
pub(super) fn par_map<I, T: Send>(
    threads: usize,
    items: I,
    f: impl Fn(I::Item) -> T + Sync,
) -> Vec<T>
where
    I: Iterator + Send,
    I::Item: Send,
{
    if threads <= 1 {
        return items.map(f).collect();
    }
    let items = std::sync::Mutex::new(items.enumerate());
    let work = || {
        let mut done: Vec<(usize, T)> = Vec::new();
        loop {
            let next = items.lock().map_or(None, |mut items| items.next());
            let Some((index, item)) = next else {
                return done;
            };
            done.push((index, f(item)));
        }
    };
    let mut parts: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut parts = work();
        for handle in handles {
            match handle.join() {
                Ok(more) => parts.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        parts
    });
    parts.sort_unstable_by_key(|(index, _)| *index);
    parts.into_iter().map(|(_, part)| part).collect()
}

/// The live slots of a model, ascending.
fn graph_slots(graph: &Graph, model: Model) -> Vec<Slot> {
    match model {
        Model::Organization => graph.organization_slots().map(|(s, _)| s).collect(),
        Model::Account => graph.account_slots().map(|(s, _)| s).collect(),
        Model::User => graph.user_slots().map(|(s, _)| s).collect(),
    }
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
pub(super) struct Pass<'a> {
    pub(super) world: World<'a>,
    /// By model: graph slot -> position of its state (`NONE`: it has none).
    positions: &'a [Vec<u32>; 3],
}

impl<'a> Pass<'a> {
    /// Where a slot's state is (`NONE`: it has none).
    #[inline]
    fn position(&self, model: Model, slot: Slot) -> u32 {
        self.positions[model as usize]
            .get(slot as usize)
            .copied()
            .unwrap_or(NONE)
    }

    fn state_at(&self, model: Model, position: u32) -> Option<RecordState<'a>> {
        if position == NONE {
            return None;
        }
        let d = self.world.derivation;
        Some(match model {
            Model::Organization => d.orgs.state_at(position),
            Model::Account => d.accounts.state_at(position),
            Model::User => d.users.state_at(position),
        })
    }

    fn state(&self, model: Model, slot: Slot) -> Option<RecordState<'a>> {
        self.state_at(model, self.position(model, slot))
    }

    pub(super) fn view(&'a self, model: Model, slot: Slot) -> SlotView<'a> {
        SlotView {
            pass: self,
            model,
            slot,
            position: self.position(model, slot),
        }
    }

    /// The column of a model's records (by position) that `kernel` reads: one of their
    /// projected inputs or formula values. `None` when its field is kept elsewhere (lifecycle
    /// values, links, assignments) or the model keeps no state.
    pub(super) fn column(&self, model: Model, kernel: &Kernel) -> Option<&'a [Value]> {
        if self.positions[model as usize].is_empty() {
            return None;
        }
        let d = self.world.derivation;
        match (model, decode_field(kernel.field().id)) {
            (Model::Organization, (FieldSource::Input, i)) => d.orgs.input_column(i),
            (Model::Account, (FieldSource::Input, i)) => d.accounts.input_column(i),
            (Model::User, (FieldSource::Input, i)) => d.users.input_column(i),
            (Model::Organization, (FieldSource::Formula, i)) => d.orgs.output_column(i),
            (Model::Account, (FieldSource::Formula, i)) => d.accounts.output_column(i),
            (Model::User, (FieldSource::Formula, i)) => d.users.output_column(i),
            _ => None,
        }
    }
}

/// A record as the rules see it during a pass, by graph slot.
#[derive(Clone, Copy)]
pub(super) struct SlotView<'a> {
    pass: &'a Pass<'a>,
    model: Model,
    slot: Slot,
    /// Where its state is (`NONE`: it has none).
    position: u32,
}

impl SlotView<'_> {
    /// Where its state is (`NONE`: it has none).
    pub(super) fn position(&self) -> u32 {
        self.position
    }
}

impl Record for SlotView<'_> {
    fn get(&self, field: FieldRef<'_>) -> Value {
        let pass = self.pass;
        field_value(
            &pass.world,
            pass.state_at(self.model, self.position),
            || record_at(&pass.world.graph, self.model, self.slot),
            field.id,
        )
    }

    #[inline]
    fn get_ref(&self, field: FieldRef<'_>) -> Option<&Value> {
        let pass = self.pass;
        let (source, index) = decode_field(field.id);
        if !matches!(source, FieldSource::Input | FieldSource::Formula) {
            return field_ref(
                &pass.world,
                pass.state_at(self.model, self.position),
                field.id,
            );
        }
        let position = self.position;
        if position == NONE {
            return None;
        }
        let d = pass.world.derivation;
        match (self.model, source) {
            (Model::Organization, FieldSource::Input) => d.orgs.input_at(position, index),
            (Model::Account, FieldSource::Input) => d.accounts.input_at(position, index),
            (Model::User, FieldSource::Input) => d.users.input_at(position, index),
            (Model::Organization, _) => d.orgs.output_at(position, index),
            (Model::Account, _) => d.accounts.output_at(position, index),
            (Model::User, _) => d.users.output_at(position, index),
        }
    }

    fn related(&self, relation: RelationRef<'_>, visit: &mut dyn FnMut(&dyn Record)) {
        let graph = self.pass.world.graph;
        let mut go = |model: Model, slot: Slot| visit(&self.pass.view(model, slot));
        match (self.model, Rel::from_id(relation.id)) {
            (Model::Organization, Rel::OrgAccounts) => {
                ascending(graph.organization_account_slots(self.slot))
                    .into_iter()
                    .for_each(|s| go(Model::Account, s))
            }
            (Model::Organization, Rel::OrgUsers) => {
                ascending(graph.organization_user_slots(self.slot))
                    .into_iter()
                    .for_each(|s| go(Model::User, s))
            }
            (Model::Account, Rel::AccountOrganization) => {
                if let Some(s) = graph.account_organization_slot(self.slot) {
                    go(Model::Organization, s);
                }
            }
            (Model::Account, Rel::AccountUsers) => ascending(graph.account_user_slots(self.slot))
                .into_iter()
                .for_each(|s| go(Model::User, s)),
            (Model::User, Rel::UserAccounts) => graph
                .user_account_slots(self.slot)
                .iter()
                .for_each(|s| go(Model::Account, *s)),
            (Model::User, Rel::UserOrganizations) => graph
                .user_organization_slots(self.slot)
                .into_iter()
                .for_each(|s| go(Model::Organization, s)),
            (Model::Account, Rel::AccountOwner) | (Model::Organization, Rel::OrganizationOwner) => {
                // Owners live beside the graph, by id: one lookup to the owner's slot.
                let owner = graph
                    .assignments
                    .zip(customer(record_at(&graph, self.model, self.slot)));
                if let Some((assignments, customer)) = owner
                    && let Some(user) = assignments.owners.of(customer)
                    && let Some(s) = graph.user_slot(user)
                {
                    go(Model::User, s);
                }
            }
            _ => {}
        }
    }
}

/// A program evaluated in a pass: from the column its kernel reads where it has one (no record
/// view, no field lookup), else on the record.
struct PassProgram<'a> {
    program: Option<&'a Program>,
    kernel: Option<(&'a Kernel, &'a [Value])>,
}

impl<'a> PassProgram<'a> {
    fn of(pass: &Pass<'a>, model: Model, program: Option<&'a Program>) -> Self {
        let kernel = program
            .and_then(Program::kernel)
            .and_then(|k| Some((k, pass.column(model, k)?)));
        PassProgram { program, kernel }
    }

    /// The column's value at the view's position, when the kernel reads one.
    fn raw(&self, view: &SlotView<'_>) -> Option<(&'a Kernel, &'a Value)> {
        let (kernel, column) = self.kernel?;
        Some((kernel, column.get(view.position as usize)?))
    }

    /// The program's value (null without a program).
    fn eval(&self, view: &SlotView<'_>, ctx: &EvalContext) -> Value {
        match (self.raw(view), self.program) {
            (Some((kernel, raw)), _) => kernel.apply(raw, ctx),
            (None, Some(program)) => program.eval(view, ctx),
            (None, None) => Value::Null,
        }
    }

    /// Whether the program matches (never without a program).
    fn matches(&self, view: &SlotView<'_>, ctx: &EvalContext) -> bool {
        match (self.raw(view), self.program) {
            (Some((kernel, raw)), _) => kernel.matches(raw, ctx),
            (None, Some(program)) => program.matches(view, ctx),
            (None, None) => false,
        }
    }
}

/// Gives every live record of the graph a state; returns where each slot's state is and the
/// live slots in order.
fn place<Id: RecordId>(
    records: &mut Records<Id>,
    bound: usize,
    live: impl Iterator<Item = (Slot, Id)>,
    positions: &mut Vec<u32>,
    slots: &mut Vec<Slot>,
) {
    positions.clear();
    positions.resize(bound, NONE);
    slots.clear();
    // States are usually stored in the graph's order (both follow the order records were
    // loaded in): while they are, a record's position is found without hashing its id.
    let mut in_order = true;
    for (slot, id) in live {
        let next = slots.len();
        in_order = in_order && records.id_at(next) == Some(id);
        positions[slot as usize] = if in_order {
            next as u32
        } else {
            records.position_or_insert(id)
        };
        slots.push(slot);
    }
}

/// Where each graph slot's state is, and the live slots, by model: kept between passes so
/// that a pass does not allocate (and fault in) them again.
#[derive(Debug, Default)]
pub(crate) struct Placement {
    positions: [Vec<u32>; 3],
    live: [Vec<Slot>; 3],
}

/// A value a pass computed that differs from the stored one.
enum Change {
    Value(Value),
    Deactivated(Option<Millis>),
    Life(Life),
}

impl Derivation {
    /// Accounts' status and churnedAt after their organization's churn or ignore, recording
    /// the lifecycle values of those that change in `before`.
    fn effective_statuses(
        &mut self,
        graph: Links<'_>,
        positions: &[Vec<u32>; 3],
        slots: &[Slot],
        before: &mut Vec<(u32, Life)>,
    ) {
        let orgs = self.orgs.lives();
        let accounts = &mut self.accounts;
        for slot in slots {
            let org = graph
                .account_organization_slot(*slot)
                .and_then(|o| positions[Model::Organization as usize].get(o as usize))
                .filter(|p| **p != NONE)
                .map(|p| orgs[*p as usize])
                .unwrap_or_default();
            let position = positions[Model::Account as usize][*slot as usize];
            let life = accounts.life_mut(position);
            let effective = combine(
                life.own_status,
                life.own_churned_at,
                org.status,
                org.churned_at,
            );
            if (life.status, life.churned_at) != effective {
                before.push((position, *life));
                (life.status, life.churned_at) = effective;
            }
        }
    }

    fn pass<'a>(
        &'a self,
        graph: Links<'a>,
        metrics: Option<&'a Metrics>,
        positions: &'a [Vec<u32>; 3],
    ) -> Pass<'a> {
        Pass {
            world: World {
                derivation: self,
                graph,
                metrics,
            },
            positions,
        }
    }

    fn output_mut(&mut self, model: Model, position: u32, slot: usize) -> &mut Value {
        match model {
            Model::Organization => self.orgs.output_mut(position, slot),
            Model::Account => self.accounts.output_mut(position, slot),
            Model::User => self.users.output_mut(position, slot),
        }
    }

    fn life_mut(&mut self, model: Model, position: u32) -> &mut Life {
        match model {
            Model::Organization => self.orgs.life_mut(position),
            Model::Account => self.accounts.life_mut(position),
            Model::User => self.users.life_mut(position),
        }
    }

    /// Re-evaluates every record (start-up, rule changes, reprocessing), column by column.
    pub(crate) fn recompute_all(
        &mut self,
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        mode: Mode,
        now: Millis,
    ) -> Vec<DerivedChange> {
        self.recompute_columns(graph, metrics, mode, now, threads())
    }

    pub(crate) fn recompute_columns(
        &mut self,
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        mode: Mode,
        now: Millis,
        threads: usize,
    ) -> Vec<DerivedChange> {
        self.now = self.now.max(now);
        let Some(compiled) = self.compiled().cloned() else {
            return Vec::new();
        };
        let ctx = EvalContext::new(timestamp(now)).with_time_zone(compiled.time_zone.clone());
        let bounds = graph.slot_bounds();
        let Placement {
            mut positions,
            mut live,
        } = std::mem::take(&mut self.placement);
        for model in Model::ALL {
            let m = model as usize;
            let (at, slots) = (&mut positions[m], &mut live[m]);
            if !compiled.rules(model).stateful {
                at.clear();
                slots.clear();
                continue;
            }
            match model {
                Model::Organization => place(
                    &mut self.orgs,
                    bounds[m],
                    graph.organization_slots(),
                    at,
                    slots,
                ),
                Model::Account => place(
                    &mut self.accounts,
                    bounds[m],
                    graph.account_slots(),
                    at,
                    slots,
                ),
                Model::User => place(&mut self.users, bounds[m], graph.user_slots(), at, slots),
            }
        }
        // Lifecycle values as they were before this pass, of the records whose values changed
        // (by model and position), to report what changed at the end.
        let mut life_before: [Vec<(u32, Life)>; 3] = Default::default();
        let mut out = Vec::new();
        for sweep in sweeps(&compiled) {
            let (model, nodes) = match &sweep {
                Sweep::Records(model, nodes) => (*model, nodes.clone()),
                Sweep::Rollups(model, _, formulas) => {
                    (*model, formulas.iter().map(|i| Node::Formula(*i)).collect())
                }
                Sweep::Single(model, node) => (*model, vec![*node]),
            };
            let m = model as usize;
            let rules = compiled.rules(model);
            let (slots, at) = (&live[m], &positions[m]);
            let pass = self.pass(graph, metrics, &positions);
            let changed: Vec<(Slot, Vec<(usize, Change)>)> = match &sweep {
                Sweep::Records(..) => {
                    // Each node's program, and the column its kernel reads where it has one.
                    let programs: Vec<PassProgram<'_>> = nodes
                        .iter()
                        .map(|node| {
                            let program = match *node {
                                Node::Formula(i) => Some(&rules.formulas[i].program),
                                _ => rules.deactivation.as_ref(),
                            };
                            PassProgram::of(&pass, model, program)
                        })
                        .collect();
                    par_changes(threads, slots, |slot| {
                        let view = pass.view(model, slot);
                        let state = pass.state_at(model, view.position);
                        // Allocates only for a record whose values change.
                        let mut changes = Vec::new();
                        for (n, (node, program)) in nodes.iter().zip(&programs).enumerate() {
                            match *node {
                                Node::Formula(i) => {
                                    let value = program.eval(&view, &ctx);
                                    if state.and_then(|s| s.output(i)) != Some(&value) {
                                        changes.push((n, Change::Value(value)));
                                    }
                                }
                                _ => {
                                    let was = state.and_then(|s| s.life.deactivated_at);
                                    let is =
                                        program.matches(&view, &ctx).then(|| was.unwrap_or(now));
                                    if is != was {
                                        changes.push((n, Change::Deactivated(is)));
                                    }
                                }
                            }
                        }
                        (!changes.is_empty()).then_some(changes)
                    })
                }
                Sweep::Rollups(_, rel, formulas) => {
                    let rollups: Vec<Rollup<'_>> = formulas
                        .iter()
                        .filter_map(|i| rules.formulas[*i].program.rollup())
                        .collect();
                    let children = |child: Model| match live[child as usize].as_slice() {
                        [] => Cow::Owned(graph_slots(&graph, child)),
                        slots => Cow::Borrowed(slots),
                    };
                    let sums =
                        rollup_columns(&pass, &rollups, (model, *rel), children, &ctx, threads);
                    par_changes(threads, slots, |slot| {
                        let state = pass.state(model, slot);
                        let mut changes = Vec::new();
                        for (n, (i, sums)) in formulas.iter().zip(&sums).enumerate() {
                            let value = sums[slot as usize].finish();
                            if state.and_then(|s| s.output(*i)) != Some(&value) {
                                changes.push((n, Change::Value(value)));
                            }
                        }
                        (!changes.is_empty()).then_some(changes)
                    })
                }
                Sweep::Single(_, Node::Lifecycle) => par_changes(threads, slots, |slot| {
                    let previous = pass.state(model, slot).map(|s| *s.life).unwrap_or_default();
                    let view = pass.view(model, slot);
                    let life = own_lifecycle(rules, &view, previous, model, mode, now, &ctx);
                    (life != previous).then(|| vec![(0, Change::Life(life))])
                }),
                Sweep::Single(..) => {
                    if model == Model::Account {
                        self.effective_statuses(graph, &positions, slots, &mut life_before[m]);
                    }
                    continue;
                }
            };
            // Reported node by node, each in record order, whatever the passes.
            let mut by_node: Vec<Vec<(Slot, Change)>> = nodes.iter().map(|_| Vec::new()).collect();
            for (slot, changes) in changed {
                for (n, change) in changes {
                    by_node[n].push((slot, change));
                }
            }
            for (node, changes) in nodes.iter().zip(by_node) {
                for (slot, change) in changes {
                    let position = at[slot as usize];
                    match (change, *node) {
                        (Change::Value(value), Node::Formula(i)) => {
                            out.push(DerivedChange::Value {
                                record: record_at(&graph, model, slot),
                                key: rules.formulas[i].key.clone(),
                                value: to_json(&value),
                            });
                            *self.output_mut(model, position, i) = value;
                        }
                        (Change::Deactivated(at), _) => {
                            let life = self.life_mut(model, position);
                            life_before[m].push((position, *life));
                            life.deactivated_at = at;
                        }
                        (Change::Life(life), _) => {
                            let current = self.life_mut(model, position);
                            life_before[m].push((position, *current));
                            *current = life;
                        }
                        (Change::Value(_), _) => {}
                    }
                }
            }
        }
        let mut names = Vec::new();
        for model in Model::ALL {
            let m = model as usize;
            let rules = compiled.rules(model);
            let slots = &live[m];
            let changed = &mut life_before[m];
            // A record's first entry holds its values from before the pass.
            changed.sort_by_key(|(position, _)| *position);
            changed.dedup_by_key(|(position, _)| *position);
            for (position, before) in changed.iter() {
                let (record, after) = match model {
                    Model::Organization => self.orgs.at(*position),
                    Model::Account => self.accounts.at(*position),
                    Model::User => self.users.at(*position),
                };
                report_life(record, before, after.life, now, &mut out, &mut names);
                names.clear();
            }
            if rules.reads_clock {
                let pass = self.pass(graph, metrics, &positions);
                let timers = &self.timers;
                let clocked: Vec<&Program> = clocked(rules).collect();
                let changed = par_changes(threads, slots, |slot| {
                    let view = pass.view(model, slot);
                    let life = pass.state_at(model, view.position).map(|s| *s.life);
                    let life = life.unwrap_or_default();
                    let clocked = clocked.iter().copied();
                    let wake = next_wake(clocked, rules, &view, &life, &ctx, now);
                    let record = record_at(&graph, model, slot);
                    (timers.due(record) != wake).then_some((record, wake))
                });
                for (_, (record, wake)) in changed {
                    self.timers.schedule(record, wake);
                }
            }
        }
        self.placement = Placement { positions, live };
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value as Json, json};
    use uuid::Uuid;

    use super::*;
    use crate::assignments::{AssignmentChange, Assignments, Customer, RoleKey};
    use crate::derive::{
        CustomFieldInput, DerivationConfig, FieldType, RecordInput, SchemaInput, compile,
        key_role_fields, user_column_fields,
    };
    use crate::graph::GraphChange;
    use crate::ids::{AccountId, AdminId, OrganizationId, UserId};

    const ORGS: u128 = 60;
    const ACCOUNTS: u128 = 1_200;
    const USERS: u128 = 12_000;

    fn org(i: u128) -> OrganizationId {
        OrganizationId(Uuid::from_u128(1 << 64 | i))
    }
    fn account(i: u128) -> AccountId {
        AccountId(Uuid::from_u128(2 << 64 | i))
    }
    fn user(i: u128) -> UserId {
        UserId(Uuid::from_u128(3 << 64 | i))
    }

    fn mix(i: u128) -> u64 {
        let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn graph(now: Millis) -> Graph {
        let mut graph = Graph::new();
        for i in 0..ORGS {
            graph.apply(&GraphChange::UpsertOrganization {
                id: org(i),
                created_at: now,
                updated_at: now,
            });
        }
        for i in 0..ACCOUNTS {
            graph.apply(&GraphChange::UpsertAccount {
                id: account(i),
                organization: (i % 10 != 9).then(|| org(i % ORGS)),
                created_at: now,
                updated_at: now,
            });
        }
        for i in 0..USERS {
            let mut accounts = vec![account(i % ACCOUNTS)];
            if i % 7 == 0 {
                accounts.push(account((i / 7) % ACCOUNTS));
            }
            accounts.dedup();
            graph.apply(&GraphChange::UpsertUser {
                id: user(i),
                accounts,
                organizations: if i % 11 == 0 {
                    vec![org(i % ORGS)]
                } else {
                    Vec::new()
                },
                created_at: now,
                updated_at: Millis(now.0 - (i as i64 % 40) * 86_400_000),
            });
        }
        graph
    }

    /// Owners (some naming a user who does not exist), CSMs and some team members' e-mails.
    fn assignments() -> Assignments {
        let admin = |i: u128| AdminId(Uuid::from_u128(4 << 64 | i));
        let mut a = Assignments::default();
        let mut apply = |change| a.apply(&change);
        for i in 0..ACCOUNTS {
            if i % 3 != 0 {
                let owner = (i * 7) % (USERS + 50);
                apply(AssignmentChange::SetOwner {
                    customer: Customer::Account(account(i)),
                    user: Some(user(owner)),
                });
            }
            if i % 4 != 1 {
                apply(AssignmentChange::SetKeyRole {
                    customer: Customer::Account(account(i)),
                    role: RoleKey::csm(),
                    admin: Some(admin(i % 13)),
                });
            }
        }
        for i in 0..ORGS {
            if i % 2 == 0 {
                apply(AssignmentChange::SetOwner {
                    customer: Customer::Organization(org(i)),
                    user: Some(user(i * 11)),
                });
            }
            if i % 3 != 0 {
                apply(AssignmentChange::SetKeyRole {
                    customer: Customer::Organization(org(i)),
                    role: RoleKey::account_executive(),
                    admin: Some(admin(i % 5)),
                });
            }
        }
        for i in 0..10 {
            apply(AssignmentChange::TeamMember {
                admin: admin(i),
                email: format!("csm{i}@team.example"),
            });
        }
        a
    }

    /// Users' columns: `joinedAt`, a date without an offset (read in the rules' time zone).
    fn extra(record: RecordRef) -> Option<Map<String, Json>> {
        let RecordRef::User(_) = record else {
            return None;
        };
        let r = mix(record.uuid().as_u128() + 1);
        if r.is_multiple_of(5) {
            return None;
        }
        let joined = format!("2023-{:02}-{:02}", 9 + r % 3, 1 + (r >> 4) % 28);
        json!({ "joinedAt": joined }).as_object().cloned()
    }

    fn traits(record: RecordRef) -> Map<String, Json> {
        let r = mix(record.uuid().as_u128());
        let map = match record {
            RecordRef::Organization(_) => {
                json!({"canceled": r.is_multiple_of(9), "test": r.is_multiple_of(23)})
            }
            RecordRef::Account(_) => json!({
                "amount": if r.is_multiple_of(6) { Json::Null } else { json!((r % 1000) as f64 / 7.0) },
                "plan": (["starter", "pro", "test", ""][(r >> 8) as usize % 4]),
                "isTrial": (r >> 12).is_multiple_of(4),
                "canceled": (r >> 16).is_multiple_of(15),
            }),
            RecordRef::User(_) => json!({
                "seats": (r % 9) as f64 / 3.0,
                "role": (["admin", "member", "viewer"][(r >> 8) as usize % 3]),
                "email": format!("u{}@{}", r % 1000, ["a.example", "us.example"][(r >> 12) as usize % 2]),
            }),
        };
        map.as_object().cloned().unwrap_or_default()
    }

    fn compiled() -> crate::derive::Compiled {
        let field = CustomFieldInput::new;
        let schema = SchemaInput {
            custom_fields: vec![
                field(Model::Account, "amount", FieldType::Number),
                field(Model::Account, "plan", FieldType::String),
                field(Model::Account, "isTrial", FieldType::Boolean),
                field(Model::Account, "canceled", FieldType::Boolean),
                field(Model::Organization, "canceled", FieldType::Boolean),
                field(Model::Organization, "test", FieldType::Boolean),
                field(Model::User, "seats", FieldType::Number),
                field(Model::User, "role", FieldType::String),
                field(Model::User, "email", FieldType::String),
            ],
            extra_fields: key_role_fields(["csm", "accountExecutive"])
                .into_iter()
                .chain(user_column_fields())
                .collect(),
            any_key_role: false,
        };
        let f = |model: &str, key: &str, e: &str| json!({"model": model, "key": key, "label": key, "expression": e});
        let config: DerivationConfig = serde_json::from_value(json!({
            "formulas": [
                f("user", "seats2", "seats * 2"),
                f("user", "isAdmin", "role == \"admin\""),
                f("user", "fresh", "updatedAt in last 20 days"),
                f("user", "orgCount", "count(organizations)"),
                f("user", "joinedRecently", "joinedAt in last 45 days"),
                f("user", "joinedDays", "days_since(joinedAt)"),
                f("account", "arr", "amount * 12"),
                f("account", "planUpper", "upper(plan)"),
                f("account", "seatTotal", "sum(users, seats)"),
                f("account", "admins", "count(users where isAdmin)"),
                f("account", "avgSeats", "avg(users, seats2)"),
                f("account", "orgArr", "organization.totalArr"),
                f("account", "ownerSeats", "owner.seats2"),
                f("account", "ownerFresh", "owner.joinedRecently"),
                f("account", "csmEmail", "keyRoles.csm.email"),
                f("account", "csm", "csmId"),
                f("organization", "totalArr", "sum(accounts, arr)"),
                f("organization", "churned", "count(accounts where ownStatus == \"churned\")"),
                f("organization", "maxSeats", "max(users, seats)"),
                f("organization", "ownerAdmin", "owner.isAdmin"),
                f("organization", "ae", "keyRoles.accountExecutive.email")
            ],
            "lifecycle": {
                "organizations": {
                    "churnCondition": "canceled == true",
                    "track": {"mode": "exclude", "condition": "test == true"}
                },
                "accounts": {
                    "revenueTraits": ["amount"],
                    "paidCondition": "isTrial != true",
                    "trialCondition": "isTrial == true",
                    "churnCondition": "canceled == true || seatTotal > 40",
                    "track": {"mode": "exclude", "condition": "plan == \"test\""}
                }
            },
            "userDeactivation": "ends_with(email, \"@us.example\") && !isAdmin",
            "timeZone": "America/New_York"
        }))
        .expect("config");
        compile(&config, &schema).expect("compiles")
    }

    fn records(graph: &Graph) -> Vec<RecordRef> {
        graph
            .organization_ids()
            .map(RecordRef::Organization)
            .chain(graph.account_ids().map(RecordRef::Account))
            .chain(graph.user_ids().map(RecordRef::User))
            .collect()
    }

    /// Configured in one column pass on `threads` threads.
    fn configured(
        graph: Links<'_>,
        now: Millis,
        threads: usize,
    ) -> (Derivation, Vec<DerivedChange>) {
        let mut d = Derivation::default();
        d.install(compiled(), graph);
        for record in records(&graph) {
            let traits = traits(record);
            let extra = extra(record);
            d.load(
                RecordInput {
                    record,
                    name: None,
                    traits: &traits,
                    extra: extra.as_ref(),
                },
                graph,
            );
        }
        let out = d.recompute_columns(graph, None, Mode::Rules, now, threads);
        (d, out)
    }

    #[test]
    fn column_passes_agree_whatever_the_threads_and_with_incremental_upkeep() {
        let now = Millis(1_700_000_000_000);
        let graph = graph(now);
        let assignments = assignments();
        let links = Links {
            graph: &graph,
            assignments: Some(&assignments),
            messages: None,
        };
        let (one, one_out) = configured(links, now, 1);
        let (three, three_out) = configured(links, now, 3);
        assert_eq!(one_out, three_out, "the same changes, in the same order");
        // Record by record, as writes come in.
        let mut incremental = Derivation::default();
        incremental.install(compiled(), links);
        incremental.recompute_columns(links, None, Mode::Rules, now, 1);
        for record in records(&graph) {
            let traits = traits(record);
            let extra = extra(record);
            let input = RecordInput {
                record,
                name: None,
                traits: &traits,
                extra: extra.as_ref(),
            };
            incremental.set_traits(input, links, None, now);
        }
        let mut statuses = std::collections::BTreeMap::new();
        for record in records(&graph) {
            let view = one.view(record);
            assert_eq!(view, three.view(record), "{record:?}");
            assert_eq!(view, incremental.view(record), "{record:?}");
            *statuses.entry(view.and_then(|v| v.status)).or_insert(0) += 1;
        }
        assert!(
            statuses.len() >= 4,
            "the data exercises the rules: {statuses:?}"
        );
        // Owner, key-role and column fields are exercised too: some set, some null.
        for (model, key) in [
            (Model::Account, "ownerSeats"),
            (Model::Account, "ownerFresh"),
            (Model::Account, "csmEmail"),
            (Model::Account, "csm"),
            (Model::Organization, "ownerAdmin"),
            (Model::Organization, "ae"),
            (Model::User, "joinedDays"),
        ] {
            let values: Vec<Json> = records(&graph)
                .into_iter()
                .filter(|r| r.model() == model)
                .filter_map(|r| {
                    let view = one.view(r)?;
                    view.formulas
                        .into_iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v)
                })
                .collect();
            assert!(values.iter().any(Json::is_null), "{key}: some null");
            assert!(values.iter().any(|v| !v.is_null()), "{key}: some set");
        }
        assert_eq!(one.snapshot(), incremental.snapshot());
        // Nothing left to change, on any thread count.
        let mut again = three;
        let changes = again.recompute_columns(links, None, Mode::Data, now, 2);
        assert!(changes.is_empty(), "{changes:?}");
    }
}
