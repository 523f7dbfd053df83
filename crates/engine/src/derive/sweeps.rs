//! Which nodes of the evaluation order a full recomputation (`bulk.rs`) runs in one pass.
//!
//! Each pass over a model's records costs a walk of every record and every column it reads,
//! whatever it computes, so consecutive nodes of the order are taken together where that
//! cannot change a result: consecutive formulas (and users' deactivation) of one model when
//! none reads what an earlier one computes (a pass reads values as they stood before it), and
//! consecutive rollups of one model over the same children (one pass over the children) on
//! the same condition. `Compiled::order` keeps a model's nodes together where it can.

use steward_rules::Program;

use super::compile::{Compiled, Node};
use super::config::Model;
use super::rollup::one_pass_relation;
use super::schema::Rel;

/// One pass of a full recomputation.
#[derive(Debug, PartialEq)]
pub(crate) enum Sweep {
    /// Formulas and deactivation of one model: one pass over its records.
    Records(Model, Vec<Node>),
    /// Rollup formulas of one model (by formula slot) over the same relation: one pass over
    /// the children it leads to.
    Rollups(Model, Rel, Vec<usize>),
    /// A lifecycle or effective status node on its own.
    Single(Model, Node),
}

/// The value a node computes, as rules name it.
fn output(compiled: &Compiled, model: Model, node: Node) -> &str {
    match node {
        Node::Formula(i) => &compiled.rules(model).formulas[i].key,
        _ => "deactivatedAt",
    }
}

fn programs(compiled: &Compiled, model: Model, node: Node) -> Vec<&Program> {
    let rules = compiled.rules(model);
    match node {
        Node::Formula(i) => vec![&rules.formulas[i].program],
        Node::Deactivation => rules.deactivation.iter().collect(),
        Node::Lifecycle | Node::Effective => Vec::new(),
    }
}

/// Whether `node` reads nothing the `earlier` nodes of the same model compute.
fn independent(compiled: &Compiled, model: Model, earlier: &[Node], node: Node) -> bool {
    let scope = model.scope();
    programs(compiled, model, node).iter().all(|program| {
        earlier.iter().all(|e| {
            !program
                .dependencies()
                .reads(&scope, output(compiled, model, *e))
        })
    })
}

/// The evaluation order cut into passes.
pub(crate) fn sweeps(compiled: &Compiled) -> Vec<Sweep> {
    let mut out: Vec<Sweep> = Vec::new();
    for &(model, node) in &compiled.order {
        let rollup = match node {
            Node::Formula(i) => {
                one_pass_relation(model, &compiled.rules(model).formulas[i].program)
            }
            _ => None,
        };
        let joined = match (out.last_mut(), node, rollup) {
            (Some(Sweep::Rollups(m, rel, formulas)), Node::Formula(i), Some(r))
                if *m == model && *rel == r =>
            {
                let earlier: Vec<Node> = formulas.iter().map(|f| Node::Formula(*f)).collect();
                let fits = independent(compiled, model, &earlier, node);
                fits.then(|| formulas.push(i)).is_some()
            }
            (Some(Sweep::Records(m, nodes)), Node::Formula(_) | Node::Deactivation, None)
                if *m == model =>
            {
                let fits = independent(compiled, model, nodes, node);
                fits.then(|| nodes.push(node)).is_some()
            }
            _ => false,
        };
        if joined {
            continue;
        }
        out.push(match (node, rollup) {
            (Node::Formula(i), Some(rel)) => Sweep::Rollups(model, rel, vec![i]),
            (Node::Formula(_) | Node::Deactivation, _) => Sweep::Records(model, vec![node]),
            _ => Sweep::Single(model, node),
        });
    }
    out
}
