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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::derive::{
        CustomFieldInput, DerivationConfig, FieldType, SchemaInput, compile, config::Model,
    };

    fn compiled() -> Compiled {
        let field = CustomFieldInput::new;
        let schema = SchemaInput {
            custom_fields: vec![
                field(Model::User, "seats", FieldType::Number),
                field(Model::User, "email", FieldType::String),
            ],
            ..SchemaInput::default()
        };
        let f = |model: &str, key: &str, e: &str| json!({"model": model, "key": key, "label": key, "expression": e});
        let config: DerivationConfig = serde_json::from_value(json!({
            "formulas": [
                f("account", "seatTotal", "sum(users, seats)"),
                f("user", "double", "seats * 2"),
                f("user", "plusOne", "double + 1"),
                f("account", "userCount", "count(users)"),
                f("account", "doubles", "sum(users, double)"),
                f("user", "half", "seats / 2"),
                f("account", "big", "seatTotal > 10")
            ],
            "userDeactivation": "ends_with(email, \"@gone.example\")"
        }))
        .expect("config");
        compile(&config, &schema).expect("compiles")
    }

    #[test]
    fn passes_take_independent_nodes_of_a_model_together() {
        let compiled = compiled();
        let sweeps = sweeps(&compiled);
        let formula = |model: Model, key: &str| {
            let i = compiled
                .rules(model)
                .formulas
                .iter()
                .position(|f| f.key == key)
                .expect("formula");
            Node::Formula(i)
        };
        let records_with = |node: Node| {
            sweeps.iter().position(|s| match s {
                Sweep::Records(Model::User, nodes) => nodes.contains(&node),
                _ => false,
            })
        };
        // `plusOne` reads `double`, so it waits for a later pass.
        let double = records_with(formula(Model::User, "double"));
        assert!(double.is_some(), "{sweeps:?}");
        assert!(records_with(formula(Model::User, "half")).is_some());
        assert!(records_with(Node::Deactivation).is_some());
        let plus_one = records_with(formula(Model::User, "plusOne"));
        assert!(plus_one.is_some() && plus_one != double, "{sweeps:?}");
        // The three rollups over users in one pass over them.
        let rollups: Vec<&Sweep> = sweeps
            .iter()
            .filter(|s| matches!(s, Sweep::Rollups(..)))
            .collect();
        let [Sweep::Rollups(Model::Account, Rel::AccountUsers, formulas)] = rollups.as_slice()
        else {
            panic!("one rollup pass: {sweeps:?}");
        };
        assert_eq!(formulas.len(), 3, "{sweeps:?}");
        // Every node exactly once.
        let count: usize = sweeps
            .iter()
            .map(|s| match s {
                Sweep::Records(_, nodes) => nodes.len(),
                Sweep::Rollups(_, _, formulas) => formulas.len(),
                Sweep::Single(..) => 1,
            })
            .sum();
        assert_eq!(count, compiled.order.len());
    }
}
