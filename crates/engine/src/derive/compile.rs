//! Checking a [`DerivationConfig`] against the workspace's fields, once, into the programs
//! and dependency indexes the engine runs on every write.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use foldhash::{HashMap, HashMapExt};
use serde::Serialize;
use steward_rules::{Expr, ExprKind, Filter, Program, RuleError, Span, TimeZone, Type, parse};

use super::config::{
    ChurnedRevenue, Condition, DerivationConfig, LifecycleRules, Model, TrackMode,
    UnconvertedTrials,
};
use super::schema::{AssignedField, DerivedSchema, InputKey, LifeField, Rel, SchemaInput};

/// One problem in a configuration, named by its path (`formulas[2].expression`,
/// `lifecycle.accounts.churnCondition.all[0].value`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    pub path: String,
    /// The rules crate's error code (`unknown_field`, `formula_cycle`, ...) or `invalid_config`.
    pub code: &'static str,
    pub message: String,
    /// Byte range in the expression text at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Range<usize>>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn rule_error(path: &str, error: RuleError) -> ConfigError {
    let path = match &error.path {
        Some(inner) => format!("{path}.{inner}"),
        None => path.to_owned(),
    };
    ConfigError {
        path,
        code: error.code.as_str(),
        message: error.message,
        span: error.span,
    }
}

fn config_error(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        code: "invalid_config",
        message: message.into(),
        span: None,
    }
}

/// A node of the derivation: one group of values computed together for a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Node {
    Formula(usize),
    /// Own status, mrr, dates (organizations and accounts; an organization's status is final).
    Lifecycle,
    /// An account's status and churnedAt after its organization's churn or ignore.
    Effective,
    /// A user's deactivatedAt.
    Deactivation,
}

#[derive(Debug)]
pub(crate) struct CompiledFormula {
    pub(crate) key: String,
    pub(crate) program: Program,
}

#[derive(Debug)]
pub(crate) struct CompiledLifecycle {
    pub(crate) revenue: Vec<Program>,
    pub(crate) paid: Option<Program>,
    pub(crate) trial: Option<Program>,
    pub(crate) trial_end: Option<Program>,
    pub(crate) unconverted: UnconvertedTrials,
    pub(crate) churned_revenue: ChurnedRevenue,
    pub(crate) churn: Option<Program>,
    pub(crate) churn_date: Option<Program>,
    pub(crate) track: Option<(TrackMode, Program)>,
    pub(crate) next_renewal: Option<Program>,
}

impl CompiledLifecycle {
    fn programs(&self) -> impl Iterator<Item = &Program> {
        self.revenue
            .iter()
            .chain(&self.paid)
            .chain(&self.trial)
            .chain(&self.trial_end)
            .chain(&self.churn)
            .chain(&self.churn_date)
            .chain(self.track.as_ref().map(|(_, p)| p))
            .chain(&self.next_renewal)
    }
}

/// The rules of one model.
#[derive(Debug, Default)]
pub(crate) struct ModelRules {
    /// The trait keys (and `name`) rules read on this model, by projection slot.
    pub(crate) inputs: Vec<(InputKey, Type)>,
    pub(crate) formulas: Vec<CompiledFormula>,
    pub(crate) lifecycle: Option<CompiledLifecycle>,
    pub(crate) deactivation: Option<Program>,
    /// Evaluation order of this model's nodes within one record.
    pub(crate) order: Vec<Node>,
    /// Whether records of this model keep derived state at all.
    pub(crate) stateful: bool,
    /// Whether some value may change with time alone (records then keep a timer).
    pub(crate) reads_clock: bool,
}

impl ModelRules {
    pub(crate) fn programs(&self) -> impl Iterator<Item = &Program> {
        self.formulas
            .iter()
            .map(|f| &f.program)
            .chain(self.lifecycle.iter().flat_map(CompiledLifecycle::programs))
            .chain(&self.deactivation)
    }

    fn compute_reads_clock(&self) -> bool {
        self.programs().any(|p| p.dependencies().reads_clock)
            || self
                .lifecycle
                .as_ref()
                .is_some_and(|l| l.trial.is_some() && l.trial_end.is_some())
    }
}

/// Who must be re-evaluated when something on a record changes: the records of `model` that
/// reach the changed record along `via` (empty: the record itself).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Watch {
    pub(crate) model: Model,
    pub(crate) via: Vec<Rel>,
    /// Which of the dependent record's nodes read it (bits by evaluation order).
    pub(crate) nodes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Watchers {
    /// A field of a record of a model changed: by model, then field name.
    pub(crate) fields: [HashMap<String, Vec<Watch>>; 3],
    /// A link of this relation kind changed at its source record.
    pub(crate) edges: HashMap<Rel, Vec<Watch>>,
}

/// A checked configuration, ready for [`crate::Engine::configure`].
#[derive(Debug)]
pub struct Compiled {
    pub(crate) config: DerivationConfig,
    pub(crate) models: [ModelRules; 3],
    pub(crate) watchers: Watchers,
    /// Every node of every model, each after the nodes it reads (full recomputations run
    /// them in this order, one column at a time).
    pub(crate) order: Vec<(Model, Node)>,
    /// Key-role fields rules read, by slot.
    pub(crate) assigned: Vec<AssignedField>,
    /// The zone rules are evaluated in.
    pub(crate) time_zone: TimeZone,
}

impl Compiled {
    /// The configuration it was compiled from.
    pub fn config(&self) -> &DerivationConfig {
        &self.config
    }

    /// Whether `configure` needs the traits of this model's records (the projection).
    pub fn reads_inputs_of(&self, model: Model) -> bool {
        !self.models[model as usize].inputs.is_empty()
    }

    /// Whether nothing is configured: the engine then keeps no derived state.
    pub fn is_empty(&self) -> bool {
        self.models.iter().all(|m| !m.stateful)
    }

    pub(crate) fn rules(&self, model: Model) -> &ModelRules {
        &self.models[model as usize]
    }
}

fn condition_program(
    condition: &Condition,
    model: Model,
    schema: &DerivedSchema,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<Program> {
    let scope = model.scope();
    let result = match condition {
        Condition::Text(text) => parse(text).and_then(|e| Program::filter(&e, &scope, schema)),
        Condition::Filter(json) => Filter::from_json(json).and_then(|f| f.compile(&scope, schema)),
    };
    result.map_err(|e| errors.push(rule_error(path, e))).ok()
}

/// A program reading one named field of the record, checked to have one of `types`.
fn trait_program(
    name: &str,
    model: Model,
    schema: &DerivedSchema,
    path: &str,
    want: Type,
    errors: &mut Vec<ConfigError>,
) -> Option<Program> {
    let expr = Expr::new(
        ExprKind::Path(vec![name.to_owned()]),
        Span::new(0, name.len()),
    );
    match Program::formula(&expr, &model.scope(), schema) {
        Ok(program) if want.accepts(program.ty()) => Some(program),
        Ok(program) => {
            errors.push(config_error(
                path,
                format!("`{name}` is a {}; this needs a {want} trait", program.ty()),
            ));
            None
        }
        Err(e) => {
            errors.push(rule_error(path, e));
            None
        }
    }
}

fn lifecycle_program(
    rules: &LifecycleRules,
    model: Model,
    schema: &DerivedSchema,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<CompiledLifecycle> {
    if rules.is_empty() {
        return None;
    }
    let cond = |c: &Option<Condition>, name: &str, errors: &mut Vec<ConfigError>| {
        c.as_ref()
            .and_then(|c| condition_program(c, model, schema, &format!("{path}.{name}"), errors))
    };
    let date = |t: &Option<String>, name: &str, errors: &mut Vec<ConfigError>| {
        t.as_ref().and_then(|t| {
            trait_program(
                t,
                model,
                schema,
                &format!("{path}.{name}"),
                Type::Date,
                errors,
            )
        })
    };
    let revenue = rules
        .revenue_traits
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            trait_program(
                t,
                model,
                schema,
                &format!("{path}.revenueTraits[{i}]"),
                Type::Number,
                errors,
            )
        })
        .collect();
    Some(CompiledLifecycle {
        revenue,
        paid: cond(&rules.paid_condition, "paidCondition", errors),
        trial: cond(&rules.trial_condition, "trialCondition", errors),
        trial_end: date(&rules.trial_end_date_trait, "trialEndDateTrait", errors),
        unconverted: rules.unconverted_trials,
        churned_revenue: rules.churned_revenue,
        churn: cond(&rules.churn_condition, "churnCondition", errors),
        churn_date: date(&rules.churn_date_trait, "churnDateTrait", errors),
        track: rules.track.as_ref().and_then(|t| {
            condition_program(
                &t.condition,
                model,
                schema,
                &format!("{path}.track.condition"),
                errors,
            )
            .map(|p| (t.mode, p))
        }),
        next_renewal: date(
            &rules.next_renewal_date_trait,
            "nextRenewalDateTrait",
            errors,
        ),
    })
}

/// Checks a configuration against the workspace's fields. Reports every problem, each with its
/// path, or none.
pub fn compile(
    config: &DerivationConfig,
    input: &SchemaInput,
) -> Result<Compiled, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut schema = DerivedSchema::new(input);
    let time_zone = match config.time_zone.as_deref() {
        None => TimeZone::UTC,
        Some(name) => TimeZone::get(name).unwrap_or_else(|_| {
            errors.push(config_error(
                "timeZone",
                format!(
                    "unknown time zone {name:?}; use an IANA name such as \"America/New_York\" or \"UTC\""
                ),
            ));
            TimeZone::UTC
        }),
    };

    // Keys first: a formula may read any other, whatever the order.
    let mut formula_slot: Vec<Option<usize>> = Vec::with_capacity(config.formulas.len());
    for (i, formula) in config.formulas.iter().enumerate() {
        let path = format!("formulas[{i}].key");
        let model = formula.model as usize;
        let key = formula.key.as_str();
        if key.is_empty() || key.chars().any(char::is_control) || key.contains('`') {
            errors.push(config_error(
                path,
                "a formula key is 1 or more printable characters, without backticks",
            ));
            formula_slot.push(None);
        } else if schema.is_taken(formula.model, key) {
            errors.push(config_error(
                path,
                format!(
                    "`{key}` is already a field of {}s; pick another key",
                    formula.model.as_str()
                ),
            ));
            formula_slot.push(None);
        } else if schema.formulas[model].iter().any(|(k, _)| k == key) {
            errors.push(config_error(
                path,
                format!(
                    "another {} formula already has the key `{key}`",
                    formula.model.as_str()
                ),
            ));
            formula_slot.push(None);
        } else {
            schema.formulas[model].push((key.to_owned(), Type::Any));
            formula_slot.push(Some(schema.formulas[model].len() - 1));
        }
    }
    let parsed: Vec<Option<Expr>> = config
        .formulas
        .iter()
        .enumerate()
        .map(|(i, f)| {
            parse(&f.expression)
                .map_err(|e| errors.push(rule_error(&format!("formulas[{i}].expression"), e)))
                .ok()
        })
        .collect();

    // Formula types: start untyped, then give each formula the type its expression has, until
    // nothing changes (chains of formulas settle in at most one pass per formula).
    let mut programs: Vec<Option<Program>> = Vec::new();
    let mut formula_errors = Vec::new();
    for _ in 0..=config.formulas.len() {
        programs.clear();
        formula_errors.clear();
        let mut changed = false;
        for (i, formula) in config.formulas.iter().enumerate() {
            let Some(expr) = &parsed[i] else {
                programs.push(None);
                continue;
            };
            match Program::formula(expr, &formula.model.scope(), &schema) {
                Ok(program) => {
                    if let Some(slot) = formula_slot[i] {
                        let ty = &mut schema.formulas[formula.model as usize][slot].1;
                        if *ty != program.ty() {
                            *ty = program.ty();
                            changed = true;
                        }
                    }
                    programs.push(Some(program));
                }
                Err(e) => {
                    formula_errors.push(rule_error(&format!("formulas[{i}].expression"), e));
                    programs.push(None);
                }
            }
        }
        if !changed {
            break;
        }
    }
    errors.extend(formula_errors);

    let org_life = lifecycle_program(
        &config.lifecycle.organizations,
        Model::Organization,
        &schema,
        "lifecycle.organizations",
        &mut errors,
    );
    let account_life = lifecycle_program(
        &config.lifecycle.accounts,
        Model::Account,
        &schema,
        "lifecycle.accounts",
        &mut errors,
    );
    let deactivation = config
        .user_deactivation
        .as_ref()
        .and_then(|c| condition_program(c, Model::User, &schema, "userDeactivation", &mut errors));
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut models: [ModelRules; 3] = Default::default();
    for ((formula, program), slot) in config.formulas.iter().zip(programs).zip(&formula_slot) {
        if let (Some(program), Some(_)) = (program, slot) {
            models[formula.model as usize]
                .formulas
                .push(CompiledFormula {
                    key: formula.key.clone(),
                    program,
                });
        }
    }
    let any_life = org_life.is_some() || account_life.is_some();
    models[Model::Organization as usize].lifecycle = org_life;
    models[Model::Account as usize].lifecycle = account_life;
    models[Model::User as usize].deactivation = deactivation;
    let inputs = schema.take_inputs();
    for model in Model::ALL {
        let rules = &mut models[model as usize];
        rules.inputs = inputs[model as usize].clone();
        rules.reads_clock = rules.compute_reads_clock();
        rules.stateful = !rules.formulas.is_empty()
            || !rules.inputs.is_empty()
            || rules.deactivation.is_some()
            || (any_life && model != Model::User);
    }
    let order = evaluation_order(config, &models)?;
    for model in Model::ALL {
        models[model as usize].order = order
            .iter()
            .filter(|(m, _)| *m == model)
            .map(|(_, n)| *n)
            .collect();
    }
    let watchers = watchers(&models, any_life);
    Ok(Compiled {
        config: config.clone(),
        models,
        watchers,
        order,
        assigned: schema.take_assigned(),
        time_zone,
    })
}

/// The node of `model` that produces `field`, if a derived one does.
fn producer(models: &[ModelRules; 3], model: Model, field: &str) -> Option<Node> {
    if let Some(i) = models[model as usize]
        .formulas
        .iter()
        .position(|f| f.key == field)
    {
        return Some(Node::Formula(i));
    }
    let life = LifeField::ALL.into_iter().find(|f| f.name() == field)?;
    Some(match (model, life) {
        (Model::User, LifeField::DeactivatedAt) => Node::Deactivation,
        (Model::User, _) => return None,
        (Model::Account, LifeField::Status | LifeField::ChurnedAt) => Node::Effective,
        _ => Node::Lifecycle,
    })
}

fn node_programs(models: &[ModelRules; 3], model: Model, node: Node) -> Vec<&Program> {
    let rules = &models[model as usize];
    match node {
        Node::Formula(i) => vec![&rules.formulas[i].program],
        Node::Lifecycle => rules
            .lifecycle
            .iter()
            .flat_map(CompiledLifecycle::programs)
            .collect(),
        Node::Effective => Vec::new(),
        Node::Deactivation => rules.deactivation.iter().collect(),
    }
}

fn node_label(models: &[ModelRules; 3], model: Model, node: Node) -> String {
    match node {
        Node::Formula(i) => format!(
            "{}.{}",
            model.as_str(),
            models[model as usize].formulas[i].key
        ),
        Node::Lifecycle if model == Model::Account => "account lifecycle rules".to_owned(),
        Node::Lifecycle => "organization lifecycle rules".to_owned(),
        Node::Effective => "account.status".to_owned(),
        Node::Deactivation => "userDeactivation".to_owned(),
    }
}

fn node_path(
    config: &DerivationConfig,
    models: &[ModelRules; 3],
    model: Model,
    node: Node,
) -> String {
    match node {
        Node::Formula(i) => {
            let key = &models[model as usize].formulas[i].key;
            let index = config
                .formulas
                .iter()
                .position(|f| f.model == model && f.key == *key)
                .unwrap_or(0);
            format!("formulas[{index}].expression")
        }
        Node::Lifecycle | Node::Effective if model == Model::Account => {
            "lifecycle.accounts".to_owned()
        }
        Node::Lifecycle | Node::Effective => "lifecycle.organizations".to_owned(),
        Node::Deactivation => "userDeactivation".to_owned(),
    }
}

/// Orders every node after the nodes it reads, or reports a cycle.
fn evaluation_order(
    config: &DerivationConfig,
    models: &[ModelRules; 3],
) -> Result<Vec<(Model, Node)>, Vec<ConfigError>> {
    let any_life = models.iter().any(|m| m.lifecycle.is_some());
    let mut nodes: Vec<(Model, Node)> = Vec::new();
    for model in Model::ALL {
        let rules = &models[model as usize];
        nodes.extend((0..rules.formulas.len()).map(|i| (model, Node::Formula(i))));
        if any_life && model != Model::User {
            nodes.push((model, Node::Lifecycle));
        }
        if any_life && model == Model::Account {
            nodes.push((model, Node::Effective));
        }
        if rules.deactivation.is_some() {
            nodes.push((model, Node::Deactivation));
        }
    }
    let index: BTreeMap<(Model, Node), usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let edges: Vec<BTreeSet<usize>> = nodes
        .iter()
        .map(|&(model, node)| {
            let mut reads: BTreeSet<usize> = BTreeSet::new();
            for program in node_programs(models, model, node) {
                for dep in &program.dependencies().fields {
                    let Some(target) = Model::of_scope(&dep.scope) else {
                        continue;
                    };
                    if let Some(n) = producer(models, target, &dep.field)
                        && let Some(i) = index.get(&(target, n))
                    {
                        reads.insert(*i);
                    }
                }
            }
            if node == Node::Effective {
                reads.extend(index.get(&(Model::Account, Node::Lifecycle)));
                reads.extend(index.get(&(Model::Organization, Node::Lifecycle)));
            }
            reads
        })
        .collect();

    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    let edges: Vec<Vec<usize>> = edges.into_iter().map(|e| e.into_iter().collect()).collect();
    let mut marks = vec![Mark::New; nodes.len()];
    for root in 0..nodes.len() {
        if marks[root] != Mark::New {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        marks[root] = Mark::Visiting;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&target) = edges[node].get(*next) {
                *next += 1;
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
                        let names: Vec<String> = cycle
                            .iter()
                            .map(|&i| node_label(models, nodes[i].0, nodes[i].1))
                            .collect();
                        let through_org = cycle
                            .iter()
                            .any(|&i| nodes[i] == (Model::Account, Node::Effective))
                            && cycle
                                .iter()
                                .any(|&i| nodes[i] == (Model::Organization, Node::Lifecycle));
                        let hint = if through_org {
                            " (an account's `status` includes its organization's churn; organization rules read `ownStatus` instead)"
                        } else {
                            ""
                        };
                        let (model, node) = nodes[target];
                        return Err(vec![ConfigError {
                            path: node_path(config, models, model, node),
                            code: "formula_cycle",
                            message: format!(
                                "rules depend on each other in a cycle: {}{hint}",
                                names.join(" -> ")
                            ),
                            span: None,
                        }]);
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    Ok(grouped_order(&nodes, &edges))
}

/// An evaluation order of an acyclic configuration (every node after the nodes it reads)
/// that keeps a model's nodes together where it can, users first, then accounts: full
/// recomputations (`bulk.rs`) run consecutive nodes of one model in one pass over its records
/// and rollups of the same children in one pass over them.
fn grouped_order(nodes: &[(Model, Node)], edges: &[Vec<usize>]) -> Vec<(Model, Node)> {
    let n = nodes.len();
    let mut unread: Vec<usize> = edges.iter().map(Vec::len).collect();
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (node, reads) in edges.iter().enumerate() {
        for &read in reads {
            readers[read].push(node);
        }
    }
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut last: Option<Model> = None;
    while let Some(next) = (0..n)
        .filter(|&i| !done[i] && unread[i] == 0)
        .min_by_key(|&i| {
            let (model, _) = nodes[i];
            (Some(model) != last, std::cmp::Reverse(model as usize), i)
        })
    {
        done[next] = true;
        order.push(nodes[next]);
        last = Some(nodes[next].0);
        for &reader in &readers[next] {
            unread[reader] -= 1;
        }
    }
    order
}

/// Resolves relation names along a dependency path from `from`.
fn rel_path(from: Model, via: &[String]) -> Option<Vec<Rel>> {
    let mut at = from;
    let mut out = Vec::with_capacity(via.len());
    for name in via {
        let rel = Rel::find(at, name)?;
        out.push(rel);
        at = rel.target();
    }
    Some(out)
}

/// The bit of the node at `index` in its model's evaluation order; nodes past 63 share the
/// last bit (their records then re-evaluate all of them).
pub(crate) fn node_bit(index: usize) -> u64 {
    1u64 << index.min(63)
}

fn watchers(models: &[ModelRules; 3], any_life: bool) -> Watchers {
    type Watching = BTreeMap<(Model, Vec<Rel>), u64>;
    let mut fields: BTreeMap<(Model, String), Watching> = BTreeMap::new();
    let mut edges: BTreeMap<Rel, Watching> = BTreeMap::new();
    for model in Model::ALL {
        let rules = &models[model as usize];
        for (index, node) in rules.order.iter().enumerate() {
            let bit = node_bit(index);
            for program in node_programs(models, model, *node) {
                let deps = program.dependencies();
                for dep in &deps.fields {
                    let (Some(target), Some(via)) =
                        (Model::of_scope(&dep.scope), rel_path(model, &dep.via))
                    else {
                        continue;
                    };
                    *fields
                        .entry((target, dep.field.clone()))
                        .or_default()
                        .entry((model, via))
                        .or_default() |= bit;
                }
                for dep in &deps.relations {
                    let Some(mut via) = rel_path(model, &dep.via) else {
                        continue;
                    };
                    let Some(last) = via.pop() else {
                        continue;
                    };
                    *edges
                        .entry(last)
                        .or_default()
                        .entry((model, via))
                        .or_default() |= bit;
                }
            }
        }
    }
    let effective = models[Model::Account as usize]
        .order
        .iter()
        .position(|n| *n == Node::Effective);
    if any_life && let Some(index) = effective {
        // An account's effective status follows its organization's.
        let bit = node_bit(index);
        for field in [LifeField::Status, LifeField::ChurnedAt] {
            *fields
                .entry((Model::Organization, field.name().to_owned()))
                .or_default()
                .entry((Model::Account, vec![Rel::AccountOrganization]))
                .or_default() |= bit;
        }
        *edges
            .entry(Rel::AccountOrganization)
            .or_default()
            .entry((Model::Account, Vec::new()))
            .or_default() |= bit;
    }
    let list = |watching: Watching| -> Vec<Watch> {
        watching
            .into_iter()
            .map(|((model, via), nodes)| Watch { model, via, nodes })
            .collect()
    };
    let mut out = Watchers {
        fields: [HashMap::new(), HashMap::new(), HashMap::new()],
        edges: HashMap::new(),
    };
    for ((model, field), watching) in fields {
        out.fields[model as usize].insert(field, list(watching));
    }
    out.edges
        .extend(edges.into_iter().map(|(k, v)| (k, list(v))));
    out
}
