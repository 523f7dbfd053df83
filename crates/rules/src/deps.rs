//! What an expression reads, and the order formula traits must compute in.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::error::{ErrorCode, RuleError};
use crate::functions::Func;
use crate::ir::Node;
use crate::program::Program;
use crate::types::Scope;

/// Everything a checked expression reads. The engine indexes these to know
/// which stored values a write invalidates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dependencies {
    /// Fields read, each with the relations followed to reach it.
    pub fields: BTreeSet<FieldDependency>,
    /// Relations whose membership matters: adding a user to an account
    /// changes `count(users)` even though no field changed. Every prefix of
    /// a followed path is listed.
    pub relations: BTreeSet<RelationDependency>,
    /// The value depends on the current time (`now()`, `days_since`,
    /// `in last N days`, ...), so it can change without any write; see
    /// [`Program::next_change`].
    pub reads_clock: bool,
}

/// A field read on a record reached through `via`.
///
/// For an account formula `count(users where lastSeenTimestamp in last 30 days)`
/// this is `{ via: ["users"], scope: User, field: "lastSeenTimestamp" }`: a
/// change to a user's `lastSeenTimestamp` must recompute the formula on every
/// account that reaches that user through `users`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FieldDependency {
    /// Relation names followed from the evaluated record; empty for its own fields.
    pub via: Vec<String>,
    /// The kind of record the field is on.
    pub scope: Scope,
    pub field: String,
}

/// A relation path followed from the evaluated record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RelationDependency {
    pub via: Vec<String>,
    /// The kind of the records at the end of the path.
    pub target: Scope,
}

impl Dependencies {
    /// Names of fields read on the evaluated record itself.
    pub fn own_fields(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(|dep| dep.via.is_empty())
            .map(|dep| dep.field.as_str())
    }

    /// Whether a change to `field` on a record of `scope` can affect the value.
    pub fn reads(&self, scope: &Scope, field: &str) -> bool {
        self.fields
            .iter()
            .any(|dep| dep.scope == *scope && dep.field == field)
    }

    pub(crate) fn of(node: &Node, scope: &Scope) -> Dependencies {
        let mut deps = Dependencies::default();
        collect(node, &mut Vec::new(), scope, &mut deps);
        deps
    }
}

fn collect(node: &Node, via: &mut Vec<String>, scope: &Scope, deps: &mut Dependencies) {
    match node {
        Node::Field(slot) => {
            deps.fields.insert(FieldDependency {
                via: via.clone(),
                scope: slot.scope.clone(),
                field: slot.name.clone(),
            });
        }
        Node::Hop { relation, inner } => {
            via.push(relation.name.clone());
            deps.relations.insert(RelationDependency {
                via: via.clone(),
                target: relation.target.clone(),
            });
            collect(inner, via, &relation.target, deps);
            via.pop();
        }
        Node::Aggregate {
            path,
            filter,
            value,
            ..
        } => {
            for relation in path {
                via.push(relation.name.clone());
                deps.relations.insert(RelationDependency {
                    via: via.clone(),
                    target: relation.target.clone(),
                });
            }
            let target = path.last().map_or(scope, |r| &r.target);
            for child in filter.iter().chain(value.iter()) {
                collect(child, via, target, deps);
            }
            via.truncate(via.len() - path.len());
        }
        _ => {
            if matches!(
                node,
                Node::Window(..) | Node::Call(Func::Now | Func::DaysSince | Func::DaysUntil, _)
            ) {
                deps.reads_clock = true;
            }
            for child in node.children() {
                collect(child, via, scope, deps);
            }
        }
    }
}

/// Orders formula traits so each comes after the formulas it reads, or
/// reports a cycle.
///
/// `formulas` pairs each formula trait's name with its checked program; a
/// formula on scope S named `n` is read by any program with a
/// [`FieldDependency`] on `(S, n)` (directly or through relations). Other
/// formula traits must be declared in the [`crate::Schema`] when checking
/// (with their output type, or [`crate::Type::Any`]). Returns indices into
/// `formulas`; ties keep input order.
///
/// ```
/// use steward_rules::{compile_formula, formula_order, Scope};
/// # let schema = steward_rules::memory::MemorySchema::demo();
/// let arr = compile_formula("mrr * 12", &Scope::Account, &schema).unwrap();
/// let big = compile_formula("arr > 1000", &Scope::Account, &schema).unwrap();
/// assert_eq!(formula_order(&[("big", &big), ("arr", &arr)]).unwrap(), vec![1, 0]);
/// ```
pub fn formula_order(formulas: &[(&str, &Program)]) -> Result<Vec<usize>, RuleError> {
    let index: HashMap<(&Scope, &str), usize> = formulas
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (name, program))| ((program.scope(), *name), i))
        .collect();
    let edges: Vec<Vec<usize>> = formulas
        .iter()
        .map(|(_, program)| {
            program
                .dependencies()
                .fields
                .iter()
                .filter_map(|dep| index.get(&(&dep.scope, dep.field.as_str())).copied())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .collect();

    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    let mut marks = vec![Mark::New; formulas.len()];
    let mut order = Vec::with_capacity(formulas.len());
    // Iterative depth-first search: formula sets come from users, so their
    // chains may be long.
    for root in 0..formulas.len() {
        if marks[root] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::Visiting;
        while let Some(&mut (node, ref mut next_edge)) = stack.last_mut() {
            if let Some(&target) = edges[node].get(*next_edge) {
                *next_edge += 1;
                match marks[target] {
                    Mark::New => {
                        marks[target] = Mark::Visiting;
                        stack.push((target, 0));
                    }
                    Mark::Visiting => {
                        let start = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let mut cycle: Vec<usize> =
                            stack[start..].iter().map(|(n, _)| *n).collect();
                        cycle.push(target);
                        return Err(cycle_error(formulas, &cycle));
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

fn cycle_error(formulas: &[(&str, &Program)], cycle: &[usize]) -> RuleError {
    let one_scope = formulas
        .windows(2)
        .all(|pair| pair[0].1.scope() == pair[1].1.scope());
    let names: Vec<String> = cycle
        .iter()
        .map(|&i| {
            let (name, program) = formulas[i];
            if one_scope {
                name.to_owned()
            } else {
                format!("{}.{name}", program.scope())
            }
        })
        .collect();
    RuleError::new(
        ErrorCode::FormulaCycle,
        format!(
            "formula traits depend on each other in a cycle: {}",
            names.join(" -> ")
        ),
    )
}
