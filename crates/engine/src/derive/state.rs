//! The derived state of one workspace and how it is kept current.
//!
//! Every entry point (a trait write, a graph change, an event, the clock) turns what changed
//! into *seeds*: the records whose rules read it, found through the compiled watchers (a field
//! of a record of a model, or a link of a relation kind, and the relation path a rule followed
//! to reach it, walked backwards from the changed record). Seeds are recomputed one record at
//! a time, all of a record's nodes in dependency order; whatever that changes seeds the records
//! that read it in turn, until nothing changes. The configuration's dependency graph is
//! acyclic (checked when compiling), so this terminates.

use std::collections::VecDeque;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};
use serde_json::Value as Json;
use steward_rules::{EvalContext, Program, Record, TimeZone, Timestamp, Type, Value, parse_date};

use super::bulk::Placement;
use super::compile::{Compiled, ModelRules, Node, node_bit};
use super::config::{ChurnedRevenue, Model};
use super::lifecycle::{Facts, Mode, combine, decide, track_allows};
use super::records::{RecordState, RecordStateMut, Records};
use super::schema::{AssignedField, InputKey, LifeField, MESSAGE_FIELDS, Rel};
use super::timers::Timers;
use super::view::{Links, View, World, exists, for_each_neighbor};
use super::{DerivedChange, DerivedView, LifecycleRecord, RecordInput, RecordRef, Status};
use crate::assignments::{AssignmentChange, Assignments, Customer};
use crate::graph::{Graph, GraphChange};
use crate::ids::{AccountId, OrganizationId, UserId};
use crate::metrics::{EventInput, Metrics};
use crate::time::Millis;

/// Lifecycle values of one record.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Life {
    /// Effective status (an account's includes its organization's churn or ignore).
    pub(crate) status: Status,
    pub(crate) own_status: Status,
    /// Sticky churn: the moment the record's own rules first churned it.
    pub(crate) churned_since: Option<Millis>,
    pub(crate) own_churned_at: Option<Millis>,
    pub(crate) churned_at: Option<Millis>,
    pub(crate) mrr: Option<f64>,
    pub(crate) trial_end: Option<Millis>,
    pub(crate) next_renewal: Option<Millis>,
    pub(crate) unconverted: bool,
    pub(crate) deactivated_at: Option<Millis>,
}

/// The derived state of one workspace.
#[derive(Debug, Default)]
pub(crate) struct Derivation {
    compiled: Option<Arc<Compiled>>,
    pub(crate) orgs: Records<OrganizationId>,
    pub(crate) accounts: Records<AccountId>,
    pub(crate) users: Records<UserId>,
    pub(crate) timers: Timers,
    /// Buffers of the last full recomputation, reused by the next.
    pub(crate) placement: Placement,
    /// The latest `now` seen: entry points without a clock (`Engine::apply`) use it.
    pub(crate) now: Millis,
}

/// Links of the records a graph change touches, read before it is applied.
#[derive(Debug, Default)]
pub(crate) struct Before {
    /// The upserted record existed: an upsert of an existing record changes only its
    /// stamps and links, which watchers cover; a new one is computed whole.
    existed: bool,
    account_org: Option<OrganizationId>,
    accounts: Vec<AccountId>,
    orgs: Vec<OrganizationId>,
    users: Vec<UserId>,
    /// Customers whose `owner` link the change moves.
    owner_moved: Vec<RecordRef>,
    /// Customers whose key-role fields the change moves, with those fields' names.
    roles_moved: Vec<(RecordRef, Vec<String>)>,
}

fn customer_ref(customer: Customer) -> RecordRef {
    match customer {
        Customer::Account(id) => RecordRef::Account(id),
        Customer::Organization(id) => RecordRef::Organization(id),
    }
}

impl Before {
    pub(crate) fn capture(
        graph: &Graph,
        assignments: Option<&Assignments>,
        change: &GraphChange,
    ) -> Before {
        let book = assignments.map(|a| &a.key_roles);
        let held = |admin| book.map(|b| b.held_by(admin)).unwrap_or_default();
        match change {
            GraphChange::UpsertOrganization { id, .. } => Before {
                existed: graph.has_organization(*id),
                ..Before::default()
            },
            GraphChange::UpsertAccount { id, .. } => Before {
                existed: graph.has_account(*id),
                account_org: graph.account_organization(*id),
                ..Before::default()
            },
            GraphChange::UpsertUser { id, .. } => Before {
                existed: graph.has_user(*id),
                accounts: graph.user_account_ids(*id).collect(),
                orgs: graph.user_organizations(*id),
                ..Before::default()
            },
            GraphChange::DeleteUser { id } => Before {
                existed: graph.has_user(*id),
                accounts: graph.user_account_ids(*id).collect(),
                orgs: graph.user_organizations(*id),
                owner_moved: assignments
                    .map(|a| a.owners.owned_by(*id))
                    .unwrap_or_default()
                    .into_iter()
                    .map(customer_ref)
                    .collect(),
                ..Before::default()
            },
            GraphChange::DeleteAccount { id } => Before {
                account_org: graph.account_organization(*id),
                users: graph.account_user_ids(*id).collect(),
                ..Before::default()
            },
            GraphChange::DeleteOrganization { id } => Before {
                accounts: graph.organization_account_ids(*id).collect(),
                users: graph.organization_user_ids(*id).collect(),
                ..Before::default()
            },
            GraphChange::Messages(_) => Before::default(),
            GraphChange::Assignment(change) => {
                let roles_moved = match change {
                    AssignmentChange::SetOwner { customer, .. } => {
                        return Before {
                            owner_moved: vec![customer_ref(*customer)],
                            ..Before::default()
                        };
                    }
                    AssignmentChange::SetKeyRole { customer, role, .. } => {
                        vec![(customer_ref(*customer), AssignedField::names(role.as_str()))]
                    }
                    AssignmentChange::ForgetAdmin { admin } => held(*admin)
                        .into_iter()
                        .map(|(c, role)| (customer_ref(c), AssignedField::names(role.as_str())))
                        .collect(),
                    AssignmentChange::ForgetRole { role } => book
                        .map(|b| b.holders_of_role(role.as_str()))
                        .unwrap_or_default()
                        .into_iter()
                        .map(|c| (customer_ref(c), AssignedField::names(role.as_str())))
                        .collect(),
                    AssignmentChange::TeamMember { admin, email } => {
                        let same = assignments.and_then(|a| a.team.get(admin)) == Some(email);
                        if same {
                            Vec::new()
                        } else {
                            held(*admin)
                                .into_iter()
                                .map(|(c, role)| {
                                    (customer_ref(c), vec![format!("keyRoles.{role}.email")])
                                })
                                .collect()
                        }
                    }
                };
                Before {
                    roles_moved,
                    ..Before::default()
                }
            }
        }
    }
}

pub(crate) fn timestamp(at: Millis) -> Timestamp {
    Timestamp::from_millisecond(at.0).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The first millisecond at or after `t`.
fn ceil_millis(t: Timestamp) -> Millis {
    let ns = t.as_nanosecond();
    let ms = ns.div_euclid(1_000_000) + i128::from(ns.rem_euclid(1_000_000) > 0);
    Millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn as_millis(value: &Value, tz: &TimeZone) -> Option<Millis> {
    match value {
        Value::Date(t) => Some(Millis(t.as_millisecond())),
        Value::String(s) => parse_date(s, tz).map(|t| Millis(t.as_millisecond())),
        _ => None,
    }
}

/// A value as the API shows it (dates as ISO-8601 with milliseconds).
pub(crate) fn to_json(value: &Value) -> Json {
    match value {
        Value::Date(t) => Json::String(Millis(t.as_millisecond()).to_iso()),
        other => other.to_json(),
    }
}

/// A record's input as rules read it; dates without an offset are local to `tz`.
fn project(key: &InputKey, ty: Type, input: &RecordInput<'_>, tz: &TimeZone) -> Value {
    let value = match key {
        InputKey::Name => input
            .name
            .map_or(Value::Null, |n| Value::String(n.to_owned())),
        InputKey::Trait(k) => input.traits.get(k).map_or(Value::Null, Value::from_json),
        InputKey::Extra(k) => input
            .extra
            .and_then(|e| e.get(k))
            .map_or(Value::Null, Value::from_json),
    };
    match value {
        Value::String(s) if s.is_empty() => Value::Null,
        Value::List(l) if l.is_empty() => Value::Null,
        // Parsed once here instead of at every evaluation.
        Value::String(s) if ty == Type::Date => parse_date(&s, tz).map_or(Value::Null, Value::Date),
        other => other,
    }
}

fn input_names(key: &InputKey) -> Vec<String> {
    match key {
        InputKey::Name => vec!["name".to_owned()],
        InputKey::Trait(k) => vec![k.clone(), format!("traits.{k}")],
        InputKey::Extra(k) => vec![k.clone()],
    }
}

impl Derivation {
    pub(crate) fn compiled(&self) -> Option<&Arc<Compiled>> {
        self.compiled.as_ref()
    }

    pub(crate) fn has_lifecycle(&self) -> bool {
        self.compiled.as_ref().is_some_and(|c| {
            c.rules(Model::Organization).lifecycle.is_some()
                || c.rules(Model::Account).lifecycle.is_some()
        })
    }

    pub(crate) fn state(&self, record: RecordRef) -> Option<RecordState<'_>> {
        match record {
            RecordRef::Organization(id) => self.orgs.get(&id),
            RecordRef::Account(id) => self.accounts.get(&id),
            RecordRef::User(id) => self.users.get(&id),
        }
    }

    fn state_mut(&mut self, record: RecordRef) -> Option<RecordStateMut<'_>> {
        match record {
            RecordRef::Organization(id) => self.orgs.get_mut(&id),
            RecordRef::Account(id) => self.accounts.get_mut(&id),
            RecordRef::User(id) => self.users.get_mut(&id),
        }
    }

    /// The record's state, fresh if it had none (sized for the installed rules).
    fn ensure(&mut self, record: RecordRef) -> RecordStateMut<'_> {
        match record {
            RecordRef::Organization(id) => self.orgs.get_or_insert(id),
            RecordRef::Account(id) => self.accounts.get_or_insert(id),
            RecordRef::User(id) => self.users.get_or_insert(id),
        }
    }

    /// Forgets a record's state, returning its lifecycle values.
    fn remove(&mut self, record: RecordRef) -> Option<Life> {
        self.timers.schedule(record, None);
        match record {
            RecordRef::Organization(id) => self.orgs.remove(&id),
            RecordRef::Account(id) => self.accounts.remove(&id),
            RecordRef::User(id) => self.users.remove(&id),
        }
    }

    fn persisted(record: RecordRef, life: &Life) -> LifecycleRecord {
        LifecycleRecord {
            record,
            status: life.status,
            churned_since: life.churned_since,
            churned_at: life.churned_at,
            deactivated_at: life.deactivated_at,
            mrr: life.mrr.filter(|_| life.own_status == Status::Churned),
        }
    }

    // ---- entry points --------------------------------------------------------------------

    /// Puts back what storage kept (before `configure`, at start-up).
    pub(crate) fn restore(&mut self, records: &[LifecycleRecord]) {
        for saved in records {
            let life = Life {
                status: saved.status,
                own_status: saved.status,
                churned_since: saved.churned_since,
                own_churned_at: saved.churned_since.and(saved.churned_at),
                churned_at: saved.churned_at,
                deactivated_at: saved.deactivated_at,
                mrr: saved.mrr,
                ..Life::default()
            };
            if let Some(mut state) = self.state_mut(saved.record) {
                state.clear_values();
            }
            *self.ensure(saved.record).life = life;
        }
    }

    /// Every record's persisted state that differs from the default.
    pub(crate) fn snapshot(&self) -> Vec<LifecycleRecord> {
        let mut out: Vec<LifecycleRecord> = self
            .orgs
            .iter_lives()
            .chain(self.accounts.iter_lives())
            .chain(self.users.iter_lives())
            .map(|(r, life)| Self::persisted(r, life))
            .filter(|p| {
                p.status != Status::Subscribed
                    || p.churned_since.is_some()
                    || p.deactivated_at.is_some()
            })
            .collect();
        out.sort_by_key(|p| p.record);
        out
    }

    /// Installs rules (first step of a configuration): keeps formula values under their keys
    /// so unchanged formulas report no change, empties the projection for [`Self::load`], and
    /// drops state the new rules do not need.
    pub(crate) fn install(&mut self, compiled: Compiled, graph: Links<'_>) -> Vec<DerivedChange> {
        let old = self.compiled.take();
        let compiled = Arc::new(compiled);
        let mut out = Vec::new();
        for model in Model::ALL {
            let rules = compiled.rules(model);
            let old_keys: Vec<String> = old
                .as_ref()
                .map(|c| {
                    c.rules(model)
                        .formulas
                        .iter()
                        .map(|f| f.key.clone())
                        .collect()
                })
                .unwrap_or_default();
            let forgotten: Vec<RecordRef> = match model {
                Model::Organization => self.orgs.iter_lives().map(|(r, _)| r).collect::<Vec<_>>(),
                Model::Account => self
                    .accounts
                    .iter_lives()
                    .map(|(r, _)| r)
                    .collect::<Vec<_>>(),
                Model::User => self.users.iter_lives().map(|(r, _)| r).collect::<Vec<_>>(),
            }
            .into_iter()
            .filter(|record| !rules.stateful || !exists(&graph, *record))
            .collect();
            for record in forgotten {
                if let Some(life) = self.remove(record)
                    && Self::persisted(record, &life) != Self::persisted(record, &Life::default())
                {
                    out.push(DerivedChange::Forget { record });
                }
            }
            let keep: Vec<Option<usize>> = rules
                .formulas
                .iter()
                .map(|f| old_keys.iter().position(|k| *k == f.key))
                .collect();
            match model {
                Model::Organization => self.orgs.shape(rules.inputs.len(), &keep),
                Model::Account => self.accounts.shape(rules.inputs.len(), &keep),
                Model::User => self.users.shape(rules.inputs.len(), &keep),
            }
        }
        self.timers.clear();
        self.compiled = Some(compiled);
        out
    }

    /// Projects one record's inputs without evaluating anything (second step).
    pub(crate) fn load(&mut self, input: RecordInput<'_>, graph: Links<'_>) {
        let Some(compiled) = self.compiled.clone() else {
            return;
        };
        let rules = compiled.rules(input.record.model());
        if rules.inputs.is_empty() || !exists(&graph, input.record) {
            return;
        }
        let mut state = self.ensure(input.record);
        for (slot, (key, ty)) in rules.inputs.iter().enumerate() {
            *state.input_mut(slot) = project(key, *ty, &input, &compiled.time_zone);
        }
    }

    pub(crate) fn set_traits(
        &mut self,
        input: RecordInput<'_>,
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        now: Millis,
    ) -> Vec<DerivedChange> {
        self.now = self.now.max(now);
        let Some(compiled) = self.compiled.clone() else {
            return Vec::new();
        };
        let rules = compiled.rules(input.record.model());
        if rules.inputs.is_empty() || !exists(&graph, input.record) {
            return Vec::new();
        }
        let mut state = self.ensure(input.record);
        let mut changed: Vec<String> = Vec::new();
        for (slot, (key, ty)) in rules.inputs.iter().enumerate() {
            let value = project(key, *ty, &input, &compiled.time_zone);
            let current = state.input_mut(slot);
            if *current != value {
                *current = value;
                changed.extend(input_names(key));
            }
        }
        if changed.is_empty() {
            return Vec::new();
        }
        let mut seeds = Vec::new();
        for name in &changed {
            self.dependents(&compiled, graph, input.record, name, false, &mut seeds);
        }
        self.run(graph, metrics, seeds, Mode::Data, now)
    }

    pub(crate) fn graph_changed(
        &mut self,
        change: &GraphChange,
        before: Before,
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        now: Millis,
    ) -> Vec<DerivedChange> {
        self.now = self.now.max(now);
        let Some(compiled) = self.compiled.clone() else {
            return Vec::new();
        };
        let c = &compiled;
        let mut seeds: Vec<(RecordRef, u64)> = Vec::new();
        let mut out = Vec::new();
        let watched = |rel: Rel| c.watchers.edges.contains_key(&rel);
        macro_rules! edge {
            ($rel:expr, $at:expr) => {
                self.edge_dependents(c, graph, $rel, $at, &mut seeds)
            };
        }
        macro_rules! field {
            ($at:expr, $name:expr) => {
                self.dependents(c, graph, $at, $name, false, &mut seeds)
            };
        }
        // An account's or organization's users changed: its user count, and its last
        // messages (the latest over its current users).
        macro_rules! members {
            ($at:expr) => {{
                let at = $at;
                field!(at, "usersCount");
                for name in MESSAGE_FIELDS {
                    field!(at, name);
                }
            }};
        }
        match change {
            GraphChange::UpsertOrganization { id, .. } => {
                let at = RecordRef::Organization(*id);
                if !before.existed {
                    seeds.push((at, ALL_NODES));
                }
                field!(at, "createdAt");
                field!(at, "updatedAt");
            }
            GraphChange::UpsertAccount { id, .. } => {
                let at = RecordRef::Account(*id);
                if !before.existed {
                    seeds.push((at, ALL_NODES));
                }
                field!(at, "createdAt");
                field!(at, "updatedAt");
                let now_org = graph.account_organization(*id);
                if before.account_org != now_org {
                    edge!(Rel::AccountOrganization, at);
                    for org in before.account_org.into_iter().chain(now_org) {
                        let o = RecordRef::Organization(org);
                        edge!(Rel::OrgAccounts, o);
                        edge!(Rel::OrgUsers, o);
                        field!(o, "accountsCount");
                        members!(o);
                        // An organization's usage is its accounts' (at read time).
                        field!(o, "lastSeenTimestamp");
                        field!(o, "firstSeenTimestamp");
                    }
                    if watched(Rel::UserOrganizations) {
                        for user in graph.account_user_ids(*id) {
                            edge!(Rel::UserOrganizations, RecordRef::User(user));
                        }
                    }
                }
            }
            GraphChange::UpsertUser { id, .. } => {
                let at = RecordRef::User(*id);
                if !before.existed {
                    seeds.push((at, ALL_NODES));
                    // Named owner before it existed (an owner trait naming an unknown user).
                    let owned = graph.assignments.map(|a| a.owners.owned_by(*id));
                    for customer in owned.unwrap_or_default() {
                        let customer = customer_ref(customer);
                        edge!(owner_rel(customer), customer);
                    }
                }
                field!(at, "createdAt");
                field!(at, "updatedAt");
                let accounts: Vec<AccountId> = graph.user_account_ids(*id).collect();
                let moved: Vec<AccountId> = symmetric_difference(&before.accounts, &accounts);
                if !moved.is_empty() {
                    edge!(Rel::UserAccounts, at);
                    for account in moved {
                        let a = RecordRef::Account(account);
                        edge!(Rel::AccountUsers, a);
                        members!(a);
                    }
                }
                let orgs = graph.user_organizations(*id);
                let moved = symmetric_difference(&before.orgs, &orgs);
                if !moved.is_empty() {
                    edge!(Rel::UserOrganizations, at);
                    for org in moved {
                        let o = RecordRef::Organization(org);
                        edge!(Rel::OrgUsers, o);
                        members!(o);
                    }
                }
            }
            GraphChange::DeleteOrganization { id } => {
                self.forget(RecordRef::Organization(*id), &mut out);
                for account in &before.accounts {
                    edge!(Rel::AccountOrganization, RecordRef::Account(*account));
                }
                if watched(Rel::UserOrganizations) {
                    for user in &before.users {
                        edge!(Rel::UserOrganizations, RecordRef::User(*user));
                    }
                }
            }
            GraphChange::DeleteAccount { id } => {
                self.forget(RecordRef::Account(*id), &mut out);
                if let Some(org) = before.account_org {
                    let o = RecordRef::Organization(org);
                    edge!(Rel::OrgAccounts, o);
                    edge!(Rel::OrgUsers, o);
                    field!(o, "accountsCount");
                    members!(o);
                    field!(o, "lastSeenTimestamp");
                    field!(o, "firstSeenTimestamp");
                }
                for user in &before.users {
                    edge!(Rel::UserAccounts, RecordRef::User(*user));
                    if watched(Rel::UserOrganizations) {
                        edge!(Rel::UserOrganizations, RecordRef::User(*user));
                    }
                }
            }
            GraphChange::DeleteUser { id } => {
                self.forget(RecordRef::User(*id), &mut out);
                for customer in &before.owner_moved {
                    edge!(owner_rel(*customer), *customer);
                }
                for account in &before.accounts {
                    let a = RecordRef::Account(*account);
                    edge!(Rel::AccountUsers, a);
                    members!(a);
                }
                for org in &before.orgs {
                    let o = RecordRef::Organization(*org);
                    edge!(Rel::OrgUsers, o);
                    members!(o);
                }
            }
            // Seeded by `messages_changed`, which knows the users a message touched.
            GraphChange::Messages(_) => {}
            GraphChange::Assignment(_) => {
                for customer in &before.owner_moved {
                    edge!(owner_rel(*customer), *customer);
                }
                for (customer, names) in &before.roles_moved {
                    for name in names {
                        field!(*customer, name);
                    }
                }
            }
        }
        out.extend(self.run(graph, metrics, seeds, Mode::Data, now));
        out
    }

    fn forget(&mut self, record: RecordRef, out: &mut Vec<DerivedChange>) {
        if self.remove(record).is_some() {
            out.push(DerivedChange::Forget { record });
        }
    }

    /// Whether an event counts in the usage metrics: not from a deactivated user, nor from a
    /// churned or ignored account (or organization, for events without an account), from the
    /// moment of deactivation or churn on (vitally-product §2.1, §2.7). Ignored records count
    /// nothing. Comparing with the event's own time keeps replay at start-up consistent.
    pub(crate) fn counts_event(&self, event: &EventInput<'_>) -> bool {
        let stopped = |life: &Life| match life.status {
            Status::Ignored => true,
            Status::Churned => life.churned_at.is_none_or(|c| event.at >= c),
            _ => false,
        };
        if let Some(user) = event.user
            && let Some(at) = self.users.get(&user).and_then(|s| s.life.deactivated_at)
            && event.at >= at
        {
            return false;
        }
        if let Some(account) = event.account {
            return !self.accounts.get(&account).is_some_and(|s| stopped(s.life));
        }
        if let Some(org) = event.organization {
            return !self.orgs.get(&org).is_some_and(|s| stopped(s.life));
        }
        true
    }

    /// Whether a user counts in user-based metrics (active-user share).
    pub(crate) fn user_active(&self, user: UserId) -> bool {
        self.users
            .get(&user)
            .is_none_or(|s| s.life.deactivated_at.is_none())
    }

    /// After an event was counted: usage fields it moved.
    pub(crate) fn event_recorded(
        &mut self,
        event: &EventInput<'_>,
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        now: Millis,
    ) -> Vec<DerivedChange> {
        let Some(compiled) = self.compiled.clone() else {
            return Vec::new();
        };
        let mut seeds = Vec::new();
        let usage = [
            "lastSeenTimestamp",
            "firstSeenTimestamp",
            "firstKnown",
            "sessions",
        ];
        let mut touched: Vec<RecordRef> = Vec::new();
        touched.extend(event.user.map(RecordRef::User));
        if let Some(account) = event.account {
            touched.push(RecordRef::Account(account));
            touched.extend(
                graph
                    .account_organization(account)
                    .map(RecordRef::Organization),
            );
        } else {
            touched.extend(event.organization.map(RecordRef::Organization));
        }
        for record in touched {
            for name in usage {
                self.dependents(&compiled, graph, record, name, false, &mut seeds);
            }
        }
        if seeds.is_empty() {
            return Vec::new();
        }
        self.now = self.now.max(now);
        self.run(graph, metrics, seeds, Mode::Data, now)
    }

    /// After messages were recorded or deleted: the last-message fields of the users they
    /// touched, of those users' accounts and of their organizations.
    pub(crate) fn messages_changed(
        &mut self,
        users: &[UserId],
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        now: Millis,
    ) -> Vec<DerivedChange> {
        let Some(compiled) = self.compiled.clone() else {
            return Vec::new();
        };
        let mut seeds = Vec::new();
        for user in users {
            let mut touched = vec![RecordRef::User(*user)];
            touched.extend(graph.user_account_ids(*user).map(RecordRef::Account));
            touched.extend(
                graph
                    .user_organizations(*user)
                    .into_iter()
                    .map(RecordRef::Organization),
            );
            for record in touched {
                for name in MESSAGE_FIELDS {
                    self.dependents(&compiled, graph, record, name, false, &mut seeds);
                }
            }
        }
        if seeds.is_empty() {
            return Vec::new();
        }
        self.now = self.now.max(now);
        self.run(graph, metrics, seeds, Mode::Data, now)
    }

    /// Re-evaluates the records whose timers are due at `now`.
    pub(crate) fn advance(
        &mut self,
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        now: Millis,
    ) -> Vec<DerivedChange> {
        self.now = self.now.max(now);
        if self.timers.next().is_none_or(|at| at > now) {
            return Vec::new();
        }
        let due = self.timers.take_due(now);
        let seeds = due.into_iter().map(|r| (r, ALL_NODES)).collect();
        self.run(graph, metrics, seeds, Mode::Data, now)
    }

    pub(crate) fn next_timer(&self) -> Option<Millis> {
        self.timers.next()
    }

    pub(crate) fn timer_count(&self) -> usize {
        self.timers.len()
    }

    pub(crate) fn view(&self, record: RecordRef) -> Option<DerivedView> {
        let compiled = self.compiled.as_ref()?;
        let rules = compiled.rules(record.model());
        if !rules.stateful {
            return None;
        }
        let state = self.state(record);
        let life = state.map(|s| *s.life).unwrap_or_default();
        let lifecycle = self.has_lifecycle() && record.model() != Model::User;
        Some(DerivedView {
            status: lifecycle.then_some(life.status),
            own_status: (lifecycle && record.model() == Model::Account).then_some(life.own_status),
            mrr: life.mrr,
            churned_at: life.churned_at,
            trial_end_date: life.trial_end,
            unconverted_trial: life.unconverted,
            next_renewal_date: life.next_renewal,
            deactivated_at: life.deactivated_at,
            formulas: rules
                .formulas
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let value = state.and_then(|s| s.output(i)).map_or(Json::Null, to_json);
                    (f.key.clone(), value)
                })
                .collect(),
        })
    }

    // ---- propagation ---------------------------------------------------------------------

    /// Adds the records whose rules read `field` of `record`. `own_output`: the field was
    /// just computed by `record` itself, whose own readers already ran after it.
    fn dependents(
        &self,
        compiled: &Compiled,
        graph: Links<'_>,
        record: RecordRef,
        field: &str,
        own_output: bool,
        out: &mut Vec<(RecordRef, u64)>,
    ) {
        let Some(watches) = compiled.watchers.fields[record.model() as usize].get(field) else {
            return;
        };
        for watch in watches {
            if own_output && watch.via.is_empty() && watch.model == record.model() {
                continue;
            }
            inverse_walk(graph, &watch.via, record, watch.nodes, out);
        }
    }

    /// Adds the records whose rules followed a link of kind `rel` starting at `at`.
    fn edge_dependents(
        &self,
        compiled: &Compiled,
        graph: Links<'_>,
        rel: Rel,
        at: RecordRef,
        out: &mut Vec<(RecordRef, u64)>,
    ) {
        for watch in compiled.watchers.edges.get(&rel).into_iter().flatten() {
            inverse_walk(graph, &watch.via, at, watch.nodes, out);
        }
    }

    /// The nodes of a record of `model` that read its own `field`.
    fn local_readers(compiled: &Compiled, model: Model, field: &str) -> u64 {
        compiled.watchers.fields[model as usize]
            .get(field)
            .into_iter()
            .flatten()
            .filter(|w| w.via.is_empty() && w.model == model)
            .fold(0, |mask, w| mask | w.nodes)
    }

    fn run(
        &mut self,
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        seeds: Vec<(RecordRef, u64)>,
        mode: Mode,
        now: Millis,
    ) -> Vec<DerivedChange> {
        let Some(compiled) = self.compiled.clone() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // Records waiting, with the nodes to re-evaluate (a record queued twice merges).
        let mut pending: HashMap<RecordRef, u64> = HashMap::with_capacity(seeds.len());
        let mut queue: VecDeque<RecordRef> = VecDeque::with_capacity(seeds.len());
        let enqueue = |pending: &mut HashMap<RecordRef, u64>,
                       queue: &mut VecDeque<RecordRef>,
                       (record, nodes): (RecordRef, u64)| {
            match pending.get_mut(&record) {
                Some(mask) => *mask |= nodes,
                None => {
                    pending.insert(record, nodes);
                    queue.push_back(record);
                }
            }
        };
        for seed in seeds {
            enqueue(&mut pending, &mut queue, seed);
        }
        let mut changed: Vec<String> = Vec::new();
        let mut next: Vec<(RecordRef, u64)> = Vec::new();
        while let Some(record) = queue.pop_front() {
            let nodes = pending.remove(&record).unwrap_or(ALL_NODES);
            changed.clear();
            self.recompute(
                &compiled,
                graph,
                metrics,
                record,
                nodes,
                mode,
                now,
                &mut out,
                &mut changed,
            );
            next.clear();
            for name in &changed {
                self.dependents(&compiled, graph, record, name, true, &mut next);
            }
            for dependent in next.drain(..) {
                enqueue(&mut pending, &mut queue, dependent);
            }
        }
        out
    }

    /// Recomputes every node of one record, reporting what changed.
    #[allow(clippy::too_many_arguments)]
    fn recompute(
        &mut self,
        compiled: &Compiled,
        graph: Links<'_>,
        metrics: Option<&Metrics>,
        record: RecordRef,
        mut nodes: u64,
        mode: Mode,
        now: Millis,
        out: &mut Vec<DerivedChange>,
        changed: &mut Vec<String>,
    ) {
        let model = record.model();
        let rules = compiled.rules(model);
        if !rules.stateful || !exists(&graph, record) {
            return;
        }
        let before = *self.ensure(record).life;
        let ctx = EvalContext::new(timestamp(now)).with_time_zone(compiled.time_zone.clone());
        for (index, node) in rules.order.iter().enumerate() {
            if nodes & node_bit(index) == 0 {
                continue;
            }
            let life_before = *self.state(record).expect("ensured above").life;
            match *node {
                Node::Formula(i) => {
                    let value = {
                        let view = self.view_of(graph, metrics, record);
                        rules.formulas[i].program.eval(&view, &ctx)
                    };
                    let mut state = self.state_mut(record).expect("ensured above");
                    let current = state.output_mut(i);
                    if *current != value {
                        let key = &rules.formulas[i].key;
                        out.push(DerivedChange::Value {
                            record,
                            key: key.clone(),
                            value: to_json(&value),
                        });
                        changed.push(key.clone());
                        *current = value;
                        nodes |= Self::local_readers(compiled, model, key);
                    }
                }
                Node::Lifecycle => {
                    let previous = self.state(record).map(|s| *s.life).unwrap_or_default();
                    let view = self.view_of(graph, metrics, record);
                    let life = own_lifecycle(rules, &view, previous, model, mode, now, &ctx);
                    *self.state_mut(record).expect("ensured above").life = life;
                }
                Node::Effective => {
                    let RecordRef::Account(id) = record else {
                        continue;
                    };
                    let org = graph
                        .account_organization(id)
                        .and_then(|o| self.orgs.get(&o))
                        .map(|s| *s.life)
                        .unwrap_or_default();
                    let life = self.state_mut(record).expect("ensured above").life;
                    (life.status, life.churned_at) = combine(
                        life.own_status,
                        life.own_churned_at,
                        org.status,
                        org.churned_at,
                    );
                }
                Node::Deactivation => {
                    let matches = {
                        let view = self.view_of(graph, metrics, record);
                        rules
                            .deactivation
                            .as_ref()
                            .is_some_and(|p| p.matches(&view, &ctx))
                    };
                    let life = self.state_mut(record).expect("ensured above").life;
                    life.deactivated_at = if matches {
                        life.deactivated_at.or(Some(now))
                    } else {
                        None
                    };
                }
            }
            // Later nodes of this record that read what this node changed run too.
            let life_after = *self.state(record).expect("ensured above").life;
            if life_after != life_before {
                let mut names = Vec::new();
                report_life(
                    record,
                    &life_before,
                    &life_after,
                    now,
                    &mut Vec::new(),
                    &mut names,
                );
                for name in &names {
                    nodes |= Self::local_readers(compiled, model, name);
                }
                if *node == Node::Lifecycle {
                    // The account's effective status reads its own status and dates.
                    nodes = ALL_NODES;
                }
            }
        }
        let after = *self.state(record).expect("ensured above").life;
        report_life(record, &before, &after, now, out, changed);
        if rules.reads_clock {
            let view = self.view_of(graph, metrics, record);
            let wake = next_wake(clocked(rules), rules, &view, &after, &ctx, now);
            self.timers.schedule(record, wake);
        }
    }

    fn view_of<'a>(
        &'a self,
        graph: Links<'a>,
        metrics: Option<&'a Metrics>,
        record: RecordRef,
    ) -> View<'a> {
        View {
            world: World {
                derivation: self,
                graph,
                metrics,
            },
            record,
        }
    }
}

/// A record's own lifecycle values by its rules, from what it was before (`previous`).
pub(crate) fn own_lifecycle(
    rules: &ModelRules,
    view: &impl Record,
    previous: Life,
    model: Model,
    mode: Mode,
    now: Millis,
    ctx: &EvalContext,
) -> Life {
    let matches = |p: &Option<Program>| p.as_ref().is_some_and(|p| p.matches(view, ctx));
    let date = |p: &Option<Program>| {
        p.as_ref()
            .and_then(|p| as_millis(&p.eval(view, ctx), &ctx.time_zone))
    };
    let mut facts = Facts {
        tracked: true,
        ..Facts::default()
    };
    let mut life = Life {
        deactivated_at: previous.deactivated_at,
        ..Life::default()
    };
    let mut churn_date = None;
    let mut keep_revenue = false;
    if let Some(lc) = &rules.lifecycle {
        keep_revenue = lc.churned_revenue == ChurnedRevenue::KeepLast;
        life.mrr = lc.revenue.iter().find_map(|p| match p.eval(view, ctx) {
            Value::Number(n) => Some(n),
            _ => None,
        });
        facts.has_subscribed_rules = !lc.revenue.is_empty() || lc.paid.is_some();
        facts.paid = facts.has_subscribed_rules
            && (lc.revenue.is_empty() || life.mrr.is_some())
            && lc.paid.as_ref().is_none_or(|p| p.matches(view, ctx));
        facts.tracked = lc
            .track
            .as_ref()
            .is_none_or(|(mode, p)| track_allows(*mode, p.matches(view, ctx)));
        facts.churn_matches = matches(&lc.churn);
        facts.trial_matches = matches(&lc.trial);
        facts.unconverted = lc.unconverted;
        life.trial_end = date(&lc.trial_end);
        facts.trial_end = life.trial_end;
        life.next_renewal = date(&lc.next_renewal);
        churn_date = date(&lc.churn_date);
    }
    let outcome = decide(facts, previous.churned_since, mode, now);
    life.own_status = outcome.status;
    if life.mrr.is_none() && keep_revenue && outcome.status == Status::Churned {
        // A churned customer keeps the revenue it last had (vitally-product §2.3).
        life.mrr = previous.mrr;
    }
    life.churned_since = outcome.churned_since;
    life.unconverted = outcome.unconverted_trial;
    life.own_churned_at = (outcome.status == Status::Churned)
        .then(|| churn_date.or(outcome.churned_since))
        .flatten();
    // Organizations have no parent: their own status is final. Accounts keep the effective
    // one until the `Effective` node recomputes it.
    if model == Model::Account {
        life.status = previous.status;
        life.churned_at = previous.churned_at;
    } else {
        life.status = life.own_status;
        life.churned_at = life.own_churned_at;
    }
    life
}

/// The earliest instant after `now` at which one of the record's values may change by itself.
/// The rules' programs that read the clock.
pub(crate) fn clocked(rules: &ModelRules) -> impl Iterator<Item = &Program> {
    rules.programs().filter(|p| p.dependencies().reads_clock)
}

/// The earliest instant after `now` at which one of the record's values may change by itself;
/// `clocked` are the rules' programs that read the clock ([`clocked`], which a pass over many
/// records finds once).
pub(crate) fn next_wake<'p>(
    clocked: impl Iterator<Item = &'p Program>,
    rules: &ModelRules,
    view: &dyn Record,
    life: &Life,
    ctx: &EvalContext,
    now: Millis,
) -> Option<Millis> {
    let mut wake = clocked
        .filter_map(|p| p.next_change(view, ctx))
        .map(ceil_millis)
        .min();
    let trial_rules = rules.lifecycle.as_ref().is_some_and(|l| l.trial.is_some());
    if trial_rules && let Some(end) = life.trial_end.filter(|end| *end > now) {
        wake = Some(wake.map_or(end, |w| w.min(end)));
    }
    wake.filter(|w| *w > now)
}

/// Reports lifecycle values that changed between `before` and `after`.
pub(crate) fn report_life(
    record: RecordRef,
    before: &Life,
    after: &Life,
    now: Millis,
    out: &mut Vec<DerivedChange>,
    changed: &mut Vec<String>,
) {
    if before.status != after.status {
        out.push(DerivedChange::Status {
            record,
            from: before.status,
            to: after.status,
            at: now,
        });
        changed.push(LifeField::Status.name().to_owned());
    }
    let mut value = |field: LifeField, differs: bool, json: Json| {
        if differs {
            out.push(DerivedChange::Value {
                record,
                key: field.name().to_owned(),
                value: json,
            });
            changed.push(field.name().to_owned());
        }
    };
    let iso = |m: Option<Millis>| m.map_or(Json::Null, |m| Json::String(m.to_iso()));
    value(
        LifeField::OwnStatus,
        before.own_status != after.own_status && record.model() == Model::Account,
        Json::String(after.own_status.as_str().to_owned()),
    );
    value(
        LifeField::Mrr,
        before.mrr != after.mrr,
        after.mrr.map_or(Json::Null, |m| Value::number(m).to_json()),
    );
    value(
        LifeField::ChurnedAt,
        before.churned_at != after.churned_at,
        iso(after.churned_at),
    );
    value(
        LifeField::TrialEndDate,
        before.trial_end != after.trial_end,
        iso(after.trial_end),
    );
    value(
        LifeField::NextRenewalDate,
        before.next_renewal != after.next_renewal,
        iso(after.next_renewal),
    );
    value(
        LifeField::DeactivatedAt,
        before.deactivated_at != after.deactivated_at,
        iso(after.deactivated_at),
    );
    if Derivation::persisted(record, before) != Derivation::persisted(record, after) {
        out.push(DerivedChange::Persist(Derivation::persisted(record, after)));
    }
}

/// The `owner` relation of a customer's model.
fn owner_rel(customer: RecordRef) -> Rel {
    match customer {
        RecordRef::Organization(_) => Rel::OrganizationOwner,
        _ => Rel::AccountOwner,
    }
}

fn symmetric_difference<T: PartialEq + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter()
        .filter(|x| !b.contains(x))
        .chain(b.iter().filter(|x| !a.contains(x)))
        .copied()
        .collect()
}

/// The records that reach `from` along `via`: `via` walked backwards through inverse links.
fn inverse_walk(
    graph: Links<'_>,
    via: &[Rel],
    from: RecordRef,
    nodes: u64,
    out: &mut Vec<(RecordRef, u64)>,
) {
    if via.is_empty() {
        out.push((from, nodes));
        return;
    }
    let mut frontier = vec![from];
    for rel in via.iter().rev() {
        let mut next = Vec::new();
        for record in &frontier {
            for_each_neighbor(graph, *record, rel.inverse(), &mut |n| next.push(n));
        }
        if via.len() > 1 {
            next.sort_unstable();
            next.dedup();
        }
        frontier = next;
    }
    out.extend(frontier.into_iter().map(|r| (r, nodes)));
}

/// Every node of a record.
const ALL_NODES: u64 = u64::MAX;
