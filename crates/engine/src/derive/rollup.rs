//! Rollup formulas (`sum(users, seats)`, `count(accounts where ...)`) in full
//! recomputations, as one pass over the children instead of a walk of each parent's children.
//!
//! Walking parent by parent visits each child through its parent's link set, a random read
//! per child; here the children are read in slot order (their columns sequentially), what
//! each contributes is evaluated on every core, and the contributions are then added into
//! their parents' accumulators by one thread, in child slot order. Record-by-record
//! evaluation visits a parent's children in that same order (`view::ascending`), so sums add
//! up in the same order and both agree bit for bit.

use steward_rules::{Accumulator, Contribution, EvalContext, Program, Rollup};

use super::bulk::{Pass, par_blocks};
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
pub(super) fn rollup_columns<'c>(
    pass: &Pass<'_>,
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
    // What each child adds to which rollup of which parent: evaluated and looked up on every
    // core.
    let blocks = par_blocks(threads, &children, |part, out| {
        // Most children count towards one parent: grown once, not by doubling.
        out.reserve(part.len() * rollups.len());
        for slot in part {
            let view = pass.view(child, *slot);
            for (r, rollup) in rollups.iter().enumerate() {
                let c = rollup.contribution(&view, ctx);
                if c == Contribution::Skip {
                    continue;
                }
                let mut add = |p: Slot| out.push((p, r as u32, c));
                match rel {
                    Rel::AccountUsers => {
                        graph.user_account_slots(*slot).iter().for_each(|a| add(*a))
                    }
                    Rel::OrgAccounts => graph
                        .account_organization_slot(*slot)
                        .into_iter()
                        .for_each(add),
                    _ => graph.for_each_user_organization_slot(*slot, add),
                }
            }
        }
    });
    let mut sums: Vec<Vec<Accumulator>> = rollups
        .iter()
        .map(|r| vec![r.accumulator(); bound])
        .collect();
    for (parent, r, c) in blocks.iter().flatten() {
        sums[*r as usize][*parent as usize].add(*c);
    }
    sums
}
