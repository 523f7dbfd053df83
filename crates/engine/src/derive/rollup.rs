//! Rollup formulas (`sum(users, seats)`, `count(accounts where ...)`) in full
//! recomputations, as one pass over the children instead of a walk of each parent's children.
//!
//! Walking parent by parent visits each child through its parent's link set, a random read
//! per child; here the children are read in slot order (their columns sequentially). Their
//! links to their parents are read on every core; then the parents are cut into ranges, and one
//! thread per range reads the links in child slot order and adds what the children of its
//! parents contribute into their accumulators (no contribution is stored, and no thread adds
//! into another's parents). Record-by-record evaluation visits a parent's children in that
//! same order (`view::ascending`), so sums add up in the same order and both agree bit for bit.
//! Where a rollup's filter and value are kernels (`sum(users, seats)`, `count(users where
//! isAdmin)`), contributions are computed from the children's columns (`Rollup::contribution_of`).

use steward_rules::{Accumulator, Contribution, EvalContext, Kernel, Program, Rollup, Value};

use super::bulk::{NONE, PARALLEL_MIN, Pass, par_blocks, par_map};
use super::config::Model;
use super::schema::Rel;
use crate::graph::Slot;

/// The children's model of the relations from parents to children that a child can follow
/// back; `None` for the others (to-one relations, a user's accounts, owners).
fn child_model(parent: Model, rel: Rel) -> Option<Model> {
    match (parent, rel) {
        (Model::Organization, Rel::OrgAccounts) => Some(Model::Account),
        (Model::Organization, Rel::OrgUsers) | (Model::Account, Rel::AccountUsers) => {
            Some(Model::User)
        }
        _ => None,
    }
}

/// The relation a rollup formula of `parent` follows, when it is computed in one pass over
/// the children (`None`: record by record).
pub(super) fn one_pass_relation(parent: Model, program: &Program) -> Option<Rel> {
    let rel = Rel::from_id(program.rollup()?.relation().id);
    child_model(parent, rel).map(|_| rel)
}

/// Every parent's accumulated rollups along `rel` (each of `rollups`, by the parent's graph
/// slot), in one pass over the children. `children(model)` are the live slots of a model,
/// ascending.
pub(super) fn rollup_columns<'a, 'c>(
    pass: &Pass<'a>,
    rollups: &[Rollup<'_>],
    (parent, rel): (Model, Rel),
    children: impl FnOnce(Model) -> std::borrow::Cow<'c, [Slot]>,
    ctx: &EvalContext,
    threads: usize,
) -> Vec<Vec<Accumulator>> {
    let Some(child) = child_model(parent, rel) else {
        return Vec::new();
    };
    let children = children(child);
    let graph = pass.world.graph;
    let bound = graph.slot_bounds()[parent as usize];
    // Each child with each of its parents, in child slot order: read on every core.
    let links = par_blocks(threads, &children, |part, out| {
        // Most children count towards one parent: grown once, not by doubling.
        out.reserve(part.len());
        for slot in part {
            let mut add = |p: Slot| out.push((*slot, p));
            match rel {
                Rel::AccountUsers => graph.user_account_slots(*slot).iter().for_each(|a| add(*a)),
                Rel::OrgAccounts => graph
                    .account_organization_slot(*slot)
                    .into_iter()
                    .for_each(add),
                _ => graph.for_each_user_organization_slot(*slot, add),
            }
        }
    });
    let mut sums: Vec<Vec<Accumulator>> = rollups
        .iter()
        .map(|r| vec![r.accumulator(); bound])
        .collect();
    // The parents cut into ranges, each range's accumulators added to by one thread: it reads
    // the links in child order and evaluates what the children of its parents contribute.
    let ranges = if threads > 1 && children.len() >= PARALLEL_MIN {
        threads * 2
    } else {
        1
    };
    let width = bound.div_ceil(ranges).max(1);
    let mut parts: Vec<Vec<&mut [Accumulator]>> = (0..ranges).map(|_| Vec::new()).collect();
    for column in &mut sums {
        for (part, range) in parts.iter_mut().zip(column.chunks_mut(width)) {
            part.push(range);
        }
    }
    // Where every part of every rollup is a kernel over a column of the children, contributions
    // are computed from the columns.
    let columns: Option<Vec<[Option<&[Value]>; 2]>> = rollups
        .iter()
        .map(|rollup| {
            let column = |kernel: Option<&Kernel>| match kernel {
                None => Some(None),
                Some(kernel) => pass.column(child, kernel).map(Some),
            };
            let [filter, value] = rollup.kernels()?;
            Some([column(filter)?, column(value)?])
        })
        .collect();
    let starts = (0..ranges).map(|k| k * width);
    par_map(
        threads,
        parts.into_iter().zip(starts),
        |(mut part, start)| {
            let end = start + width;
            let mut contributions: Vec<Contribution> = Vec::with_capacity(rollups.len());
            let mut last = None;
            for (slot, p) in links.iter().flatten() {
                let p = *p as usize;
                if p < start || p >= end {
                    continue;
                }
                if last != Some(*slot) {
                    contributions.clear();
                    let view = pass.view(child, *slot);
                    let position = view.position();
                    match &columns {
                        Some(columns) if position != NONE => {
                            let at =
                                |column: Option<&'a [Value]>| column.map(|c| &c[position as usize]);
                            contributions.extend(
                                rollups
                                    .iter()
                                    .zip(columns)
                                    .map(|(r, [f, v])| r.contribution_of(at(*f), at(*v), ctx)),
                            );
                        }
                        _ => {
                            contributions.extend(rollups.iter().map(|r| r.contribution(&view, ctx)))
                        }
                    }
                    last = Some(*slot);
                }
                for (sums, c) in part.iter_mut().zip(&contributions) {
                    sums[p - start].add(*c);
                }
            }
        },
    );
    sums
}
