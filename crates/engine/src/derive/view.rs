//! A record as the rules evaluator sees it: projected inputs, computed values, lifecycle
//! fields, graph timestamps and counts, usage metrics; related records through the graph.

use steward_rules::{FieldRef, Record, RelationRef, Timestamp, Value};

use std::sync::LazyLock;

use super::records::RecordState;
use super::schema::{Builtin, FieldSource, HolderAttr, LifeField, Rel, decode_field};
use super::state::{Derivation, Life};
use super::{RecordRef, Status};
use crate::assignments::{Assignments, Customer};
use crate::conversations::Messages;
use crate::graph::{Graph, Slot};
use crate::metrics::Metrics;
use crate::time::Millis;

pub(crate) fn date(at: Option<Millis>) -> Value {
    at.and_then(|t| Timestamp::from_millisecond(t.0).ok())
        .map_or(Value::Null, Value::Date)
}

/// The links between records: the hierarchy, and owners and key roles beside it.
#[derive(Clone, Copy)]
pub(crate) struct Links<'a> {
    pub(crate) graph: &'a Graph,
    pub(crate) assignments: Option<&'a Assignments>,
    /// Conversations' messages (the last inbound / outbound message fields).
    pub(crate) messages: Option<&'a Messages>,
}

impl std::ops::Deref for Links<'_> {
    type Target = Graph;

    fn deref(&self) -> &Graph {
        self.graph
    }
}

/// Everything a record's rules may read, borrowed for one evaluation.
#[derive(Clone, Copy)]
pub(crate) struct World<'a> {
    pub(crate) derivation: &'a Derivation,
    pub(crate) graph: Links<'a>,
    pub(crate) metrics: Option<&'a Metrics>,
}

#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) world: World<'a>,
    pub(crate) record: RecordRef,
}

impl<'a> View<'a> {
    fn state(&self) -> Option<RecordState<'a>> {
        self.world.derivation.state(self.record)
    }
}

/// A record's value of `field` (a schema field id), from its state (`None`: it keeps none).
pub(crate) fn field_value(
    world: &World<'_>,
    state: Option<RecordState<'_>>,
    record: impl FnOnce() -> RecordRef,
    field: u32,
) -> Value {
    let (source, index) = decode_field(field);
    match source {
        FieldSource::Input => state
            .and_then(|s| s.input(index))
            .cloned()
            .unwrap_or(Value::Null),
        FieldSource::Formula => state
            .and_then(|s| s.output(index))
            .cloned()
            .unwrap_or(Value::Null),
        FieldSource::Lifecycle => match LifeField::ALL.get(index) {
            Some(f) => lifecycle(
                state.map(|s| *s.life).unwrap_or_default(),
                world.derivation.has_lifecycle(),
                *f,
            ),
            None => Value::Null,
        },
        FieldSource::Builtin => match Builtin::ALL.get(index) {
            Some(b) => builtin(world.graph, world.metrics, record(), *b),
            None => Value::Null,
        },
        FieldSource::Assigned => assigned(world, record(), index),
    }
}

/// A record's value of `field` by reference, where the state holds it (or it is a status):
/// evaluation then reads it without a copy.
pub(crate) fn field_ref<'s>(
    world: &World<'_>,
    state: Option<RecordState<'s>>,
    field: u32,
) -> Option<&'s Value> {
    let (source, index) = decode_field(field);
    match source {
        FieldSource::Input => state?.input(index),
        FieldSource::Formula => state?.output(index),
        FieldSource::Lifecycle => {
            let life = state.map(|s| *s.life).unwrap_or_default();
            match LifeField::ALL.get(index)? {
                LifeField::Status if world.derivation.has_lifecycle() => {
                    Some(status_value(life.status))
                }
                LifeField::OwnStatus if world.derivation.has_lifecycle() => {
                    Some(status_value(life.own_status))
                }
                _ => None,
            }
        }
        FieldSource::Builtin | FieldSource::Assigned => None,
    }
}

/// A key-role field of a record (`slot`: its assigned-field slot): who holds the role on it,
/// or their e-mail.
fn assigned(world: &World<'_>, record: RecordRef, slot: usize) -> Value {
    let Some(field) = world
        .derivation
        .compiled()
        .and_then(|c| c.assigned.get(slot))
    else {
        return Value::Null;
    };
    let Some(customer) = customer(record) else {
        return Value::Null;
    };
    let Some(assignments) = world.graph.assignments else {
        return Value::Null;
    };
    let Some(admin) = assignments.key_roles.holder(customer, &field.role) else {
        return Value::Null;
    };
    match field.attr {
        HolderAttr::Id => Value::String(admin.0.to_string()),
        HolderAttr::Email => assignments
            .team
            .get(&admin)
            .map_or(Value::Null, |e| Value::String(e.clone())),
    }
}

/// A status as the rules read it, shared.
fn status_value(status: Status) -> &'static Value {
    static VALUES: LazyLock<[Value; 4]> = LazyLock::new(|| {
        [
            Status::Subscribed,
            Status::Trial,
            Status::Churned,
            Status::Ignored,
        ]
        .map(|s| Value::String(s.as_str().to_owned()))
    });
    &VALUES[status as usize]
}

fn builtin(
    links: Links<'_>,
    metrics: Option<&Metrics>,
    record: RecordRef,
    builtin: Builtin,
) -> Value {
    let graph = links.graph;
    let stamps = match record {
        RecordRef::Organization(id) => graph.organization_stamps(id),
        RecordRef::Account(id) => graph.account_stamps(id),
        RecordRef::User(id) => graph.user_stamps(id),
    };
    let seen = || {
        metrics.map(|m| match record {
            RecordRef::Organization(id) => m.organization_seen(id, graph),
            RecordRef::Account(id) => m.account_seen(id),
            RecordRef::User(id) => m.user_seen(id),
        })
    };
    match builtin {
        Builtin::CreatedAt => date(stamps.map(|s| s.0)),
        Builtin::UpdatedAt => date(stamps.map(|s| s.1)),
        Builtin::LastSeenTimestamp => date(seen().and_then(|s| s.last)),
        Builtin::FirstSeen => date(seen().and_then(|s| s.first)),
        Builtin::LastInboundMessage | Builtin::LastOutboundMessage => {
            let last = links
                .messages
                .map(|m| m.of(record, graph))
                .unwrap_or_default();
            date(if builtin == Builtin::LastInboundMessage {
                last.inbound
            } else {
                last.outbound
            })
        }
        Builtin::Sessions => match (record, metrics) {
            (RecordRef::User(id), Some(m)) => Value::number(f64::from(m.user_sessions(id))),
            _ => Value::Number(0.0),
        },
        Builtin::UsersCount => Value::number(match record {
            RecordRef::Organization(id) => graph.organization_users_count(id) as f64,
            RecordRef::Account(id) => graph.account_users_count(id) as f64,
            RecordRef::User(_) => return Value::Null,
        }),
        Builtin::AccountsCount => match record {
            RecordRef::Organization(id) => {
                Value::number(graph.organization_accounts_count(id) as f64)
            }
            _ => Value::Null,
        },
    }
}

fn lifecycle(life: Life, has_status: bool, field: LifeField) -> Value {
    match field {
        LifeField::Status if has_status => Value::String(life.status.as_str().to_owned()),
        LifeField::OwnStatus if has_status => Value::String(life.own_status.as_str().to_owned()),
        LifeField::Status | LifeField::OwnStatus => Value::Null,
        LifeField::Mrr => life.mrr.map_or(Value::Null, Value::number),
        LifeField::ChurnedAt => date(life.churned_at),
        LifeField::TrialEndDate => date(life.trial_end),
        LifeField::NextRenewalDate => date(life.next_renewal),
        LifeField::DeactivatedAt => date(life.deactivated_at),
    }
}

impl Record for View<'_> {
    fn get(&self, field: FieldRef<'_>) -> Value {
        field_value(&self.world, self.state(), || self.record, field.id)
    }

    fn get_ref(&self, field: FieldRef<'_>) -> Option<&Value> {
        field_ref(&self.world, self.state(), field.id)
    }

    fn related(&self, relation: RelationRef<'_>, visit: &mut dyn FnMut(&dyn Record)) {
        let rel = Rel::from_id(relation.id);
        for_each_neighbor(self.world.graph, self.record, rel, &mut |record| {
            visit(&View {
                world: self.world,
                record,
            });
        });
    }
}

/// The customer (for key roles and owners) a record is, if it is one.
pub(crate) fn customer(record: RecordRef) -> Option<Customer> {
    match record {
        RecordRef::Organization(id) => Some(Customer::Organization(id)),
        RecordRef::Account(id) => Some(Customer::Account(id)),
        RecordRef::User(_) => None,
    }
}

/// Slots in ascending order: the order aggregations visit a record's organizations,
/// accounts and users in, record by record (here and in `bulk.rs`) and in one pass over all
/// of them (`rollup.rs`), so that sums add in the same order and agree bit for bit.
pub(crate) fn ascending(slots: impl Iterator<Item = Slot>) -> Vec<Slot> {
    let mut slots: Vec<Slot> = slots.collect();
    slots.sort_unstable();
    slots
}

/// Calls `visit` with each record linked to `record` by `rel` (nothing when `rel` does not
/// start at the record's model).
pub(crate) fn for_each_neighbor(
    links: Links<'_>,
    record: RecordRef,
    rel: Rel,
    visit: &mut dyn FnMut(RecordRef),
) {
    let graph = links.graph;
    let owners = links.assignments.map(|a| &a.owners);
    match (record, rel) {
        (RecordRef::Account(_), Rel::AccountOwner)
        | (RecordRef::Organization(_), Rel::OrganizationOwner) => {
            if let (Some(owners), Some(customer)) = (owners, customer(record))
                && let Some(user) = owners.of(customer)
                && graph.has_user(user)
            {
                visit(RecordRef::User(user));
            }
        }
        (RecordRef::User(id), Rel::OwnedAccounts | Rel::OwnedOrganizations) => {
            let mut owned: Vec<Customer> = owners.map(|o| o.owned_by(id)).unwrap_or_default();
            owned.sort_unstable();
            for customer in owned {
                match (customer, rel) {
                    (Customer::Account(a), Rel::OwnedAccounts) => visit(RecordRef::Account(a)),
                    (Customer::Organization(o), Rel::OwnedOrganizations) => {
                        visit(RecordRef::Organization(o))
                    }
                    _ => {}
                }
            }
        }
        (RecordRef::Organization(id), Rel::OrgAccounts) => {
            let slots = graph.organization_slot(id).into_iter();
            slots
                .flat_map(|s| ascending(graph.organization_account_slots(s)))
                .for_each(|a| visit(RecordRef::Account(graph.account_at(a))));
        }
        (RecordRef::Organization(id), Rel::OrgUsers) => {
            let slots = graph.organization_slot(id).into_iter();
            slots
                .flat_map(|s| ascending(graph.organization_user_slots(s)))
                .for_each(|u| visit(RecordRef::User(graph.user_at(u))));
        }
        (RecordRef::Account(id), Rel::AccountOrganization) => {
            if let Some(o) = graph.account_organization(id) {
                visit(RecordRef::Organization(o));
            }
        }
        (RecordRef::Account(id), Rel::AccountUsers) => {
            let slots = graph.account_slot(id).into_iter();
            slots
                .flat_map(|s| ascending(graph.account_user_slots(s)))
                .for_each(|u| visit(RecordRef::User(graph.user_at(u))));
        }
        (RecordRef::User(id), Rel::UserAccounts) => graph
            .user_account_ids(id)
            .for_each(|a| visit(RecordRef::Account(a))),
        (RecordRef::User(id), Rel::UserOrganizations) => graph
            .user_organizations(id)
            .into_iter()
            .for_each(|o| visit(RecordRef::Organization(o))),
        _ => {}
    }
}

/// Whether the record exists in the graph.
pub(crate) fn exists(graph: &Graph, record: RecordRef) -> bool {
    match record {
        RecordRef::Organization(id) => graph.has_organization(id),
        RecordRef::Account(id) => graph.has_account(id),
        RecordRef::User(id) => graph.has_user(id),
    }
}
