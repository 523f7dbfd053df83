//! Rollup formulas (`sum(users, seats)`, `count(accounts where ...)`) in full
//! recomputations, as one pass over the children instead of a walk of each parent's children.
//!
//! Walking parent by parent visits each child through its parent's link set, a random read
//! per child; here the children are read in slot order (their columns sequentially), what
//! each contributes is evaluated on every core, and the contributions are then added into
//! their parents' accumulators by one thread, in child slot order. Record-by-record
//! evaluation visits a parent's children in that same order (`view::ascending`), so sums add
//! up in the same order and both agree bit for bit.

use steward_rules::{Accumulator, Contribution, EvalContext, Rollup};

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

/// Every parent's accumulated rollup, by the parent's graph slot (`bound`: one past the
/// highest); `None` when the rollup follows a relation this does not handle, which is then
/// evaluated record by record. `children(model)` are the live slots of a model, ascending.
pub(super) fn rollup_column<'c>(
    pass: &Pass<'_>,
    rollup: &Rollup<'_>,
    parent: Model,
    bound: usize,
    children: impl FnOnce(Model) -> std::borrow::Cow<'c, [Slot]>,
    ctx: &EvalContext,
    threads: usize,
) -> Option<Vec<Accumulator>> {
    let rel = Rel::from_id(rollup.relation().id);
    let child = child_model(parent, rel)?;
    let children = children(child);
    let graph = pass.world.graph;
    // What each child adds, to which parent: evaluated and looked up on every core.
    let blocks = par_blocks(threads, &children, |part, out| {
        // Most children count towards one parent: grown once, not by doubling.
        out.reserve(part.len());
        for slot in part {
            let c = rollup.contribution(&pass.view(child, *slot), ctx);
            if c == Contribution::Skip {
                continue;
            }
            match rel {
                Rel::AccountUsers => {
                    out.extend(graph.user_account_slots(*slot).iter().map(|a| (*a, c)))
                }
                Rel::OrgAccounts => {
                    out.extend(graph.account_organization_slot(*slot).map(|o| (o, c)))
                }
                _ => graph.for_each_user_organization_slot(*slot, |o| out.push((o, c))),
            }
        }
    });
    let mut sums = vec![rollup.accumulator(); bound];
    for (parent, c) in blocks.iter().flatten() {
        sums[*parent as usize].add(*c);
    }
    Some(sums)
}
