//! Records as JSON, in the shape of Vitally's REST API.

use serde_json::{Value, json};
use steward_engine::ids::WorkspaceId;
use steward_engine::metrics::{Metrics, Seen};
use steward_engine::time::Millis;
use steward_engine::{Assignments, Customer, Engine, Graph, LastMessages, Messages, RecordRef};
use steward_store::rows::{AccountRow, AdminRow, CustomFieldRow, OrganizationRow, UserRow};

/// What rendering reads from the engine for one workspace, at one moment.
pub struct View<'a> {
    pub graph: Option<&'a Graph>,
    pub metrics: Option<&'a Metrics>,
    /// Key roles and owners.
    pub assignments: Option<&'a Assignments>,
    /// The engine, in workspaces with derived values (formula traits, lifecycle).
    pub derived: Option<(&'a Engine, WorkspaceId)>,
    /// Conversations' messages (last inbound / outbound message).
    pub messages: Option<&'a Messages>,
    pub now: Millis,
}

impl<'a> View<'a> {
    pub fn of(engine: &'a Engine, workspace: WorkspaceId, now: Millis) -> Self {
        Self {
            graph: engine.graph(workspace),
            metrics: engine.metrics(workspace),
            assignments: engine.assignments(workspace),
            derived: engine.is_derived(workspace).then_some((engine, workspace)),
            messages: engine.messages(workspace),
            now,
        }
    }

    /// A record's latest inbound and outbound message (an account's or organization's over
    /// its current users).
    pub fn last_messages(&self, record: RecordRef) -> LastMessages {
        match (self.messages, self.graph) {
            (Some(messages), Some(graph)) => messages.of(record, graph),
            _ => LastMessages::default(),
        }
    }
}

/// `lastInboundMessageTimestamp` and `lastOutboundMessageTimestamp` (read-only, as Vitally's).
fn add_last_messages(object: &mut Value, view: &View<'_>, record: RecordRef) {
    let last = view.last_messages(record);
    if let Some(map) = object.as_object_mut() {
        map.insert("lastInboundMessageTimestamp".into(), iso(last.inbound));
        map.insert("lastOutboundMessageTimestamp".into(), iso(last.outbound));
    }
}

/// Derived data comes from the engine; a workspace with no records yet has no graph.
fn with_graph<T>(view: &View<'_>, f: impl FnOnce(&Graph) -> T, default: T) -> T {
    view.graph.map_or(default, f)
}

fn seen(view: &View<'_>, f: impl FnOnce(&Metrics, Option<&Graph>) -> Seen) -> Seen {
    view.metrics.map(|m| f(m, view.graph)).unwrap_or_default()
}

fn iso(t: Option<Millis>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_iso()))
}

/// A record's derived values (docs/derivation.md), in workspaces that configure them: formula
/// traits join `traits`; accounts and organizations carry `lifecycleStatus`, `mrr`,
/// `churnedAt`, `trialEndDate` and `nextRenewalDate`, users `deactivatedAt`.
fn add_derived(object: &mut Value, view: &View<'_>, record: RecordRef) {
    let Some((engine, workspace)) = view.derived else {
        return;
    };
    let Some(derived) = engine.derived(workspace, record) else {
        return;
    };
    let Some(map) = object.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(traits)) = map.get_mut("traits") {
        for (key, value) in &derived.formulas {
            traits.insert(key.clone(), value.clone());
        }
    }
    if let RecordRef::User(_) = record {
        map.insert("deactivatedAt".into(), iso(derived.deactivated_at));
        return;
    }
    map.insert(
        "lifecycleStatus".into(),
        json!(derived.status.map(|s| s.as_str())),
    );
    map.insert("mrr".into(), json!(derived.mrr));
    map.insert("churnedAt".into(), iso(derived.churned_at));
    map.insert("trialEndDate".into(), iso(derived.trial_end_date));
    map.insert("nextRenewalDate".into(), iso(derived.next_renewal_date));
}

pub fn organization(row: &OrganizationRow, graph: &View<'_>) -> Value {
    let seen = seen(graph, |m, g| {
        g.map(|g| m.organization_seen(row.id, g))
            .unwrap_or_default()
    });
    let mut v = json!({
        "firstSeenTimestamp": iso(seen.first),
        "lastSeenTimestamp": iso(seen.last),
        "id": row.id,
        "externalId": row.external_id,
        "name": row.name,
        "traits": row.traits,
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
        "accountsCount": with_graph(graph, |g| g.organization_accounts_count(row.id), 0),
        "usersCount": with_graph(graph, |g| g.organization_users_count(row.id), 0),
    });
    let customer = Customer::Organization(row.id);
    crate::assign::render::add(&mut v, graph.assignments, customer, "organizationOwnerId");
    add_last_messages(&mut v, graph, RecordRef::Organization(row.id));
    add_derived(&mut v, graph, RecordRef::Organization(row.id));
    v
}

pub fn account(row: &AccountRow, graph: &View<'_>) -> Value {
    let seen = seen(graph, |m, _| m.account_seen(row.id));
    let mut v = json!({
        "firstSeenTimestamp": iso(seen.first),
        "lastSeenTimestamp": iso(seen.last),
        "id": row.id,
        "externalId": row.external_id,
        "name": row.name,
        "traits": row.traits,
        "organizationId": row.organization_id,
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
        "usersCount": with_graph(graph, |g| g.account_users_count(row.id), 0),
    });
    crate::assign::render::add(
        &mut v,
        graph.assignments,
        Customer::Account(row.id),
        "accountOwnerId",
    );
    add_last_messages(&mut v, graph, RecordRef::Account(row.id));
    add_derived(&mut v, graph, RecordRef::Account(row.id));
    v
}

pub fn user(row: &UserRow, graph: &View<'_>) -> Value {
    let seen = seen(graph, |m, _| m.user_seen(row.id));
    let mut v = json!({
        "firstKnown": iso(seen.first),
        "lastSeenTimestamp": iso(seen.last),
        "id": row.id,
        "externalId": row.external_id,
        "name": row.name,
        "email": row.email,
        "avatar": row.avatar,
        "traits": row.traits,
        "joinDate": row.joined_at.map(|j| j.to_iso()),
        "unsubscribedFromConversations": row.unsubscribed,
        "accountIds": with_graph(graph, |g| g.user_accounts(row.id), Vec::new()),
        "organizationIds": with_graph(graph, |g| g.user_organizations(row.id), Vec::new()),
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
    });
    add_last_messages(&mut v, graph, RecordRef::User(row.id));
    add_derived(&mut v, graph, RecordRef::User(row.id));
    v
}

pub fn admin(row: &AdminRow) -> Value {
    json!({
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "licenseStatus": row.license_status,
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
    })
}

pub fn custom_field(row: &CustomFieldRow) -> Value {
    let mut v = json!({
        "id": row.id,
        "model": row.model,
        "key": row.key,
        "path": row.key,
        "label": row.label,
        "type": row.field_type,
        "description": row.description,
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
    });
    if row.options.as_array().is_some_and(|o| !o.is_empty()) {
        v["options"] = row.options.clone();
    }
    v
}

/// A custom object's field definition: a custom field that also names its object.
pub fn custom_object_field(
    row: &CustomFieldRow,
    object: steward_engine::ids::CustomObjectId,
) -> Value {
    let mut v = custom_field(row);
    v["customObjectId"] = json!(object);
    v
}

/// A custom object. Steward syncs no integrations into objects, so `syncActive` is false.
pub fn custom_object(row: &steward_store::rows::CustomObjectRow) -> Value {
    json!({
        "id": row.id,
        "name": row.name,
        "label": row.label,
        "syncActive": false,
        "customFields": row.fields.iter().map(|f| custom_object_field(f, row.id)).collect::<Vec<_>>(),
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
    })
}

/// A custom object instance. `customerId` is Vitally's name for the account link;
/// `accountId` repeats it under the name the rest of Steward's API uses.
pub fn custom_object_instance(row: &steward_store::rows::CustomObjectInstanceRow) -> Value {
    json!({
        "id": row.id,
        "externalId": row.external_id,
        "name": row.name,
        "customObjectId": row.custom_object_id,
        "customerId": row.account_id,
        "accountId": row.account_id,
        "organizationId": row.organization_id,
        "traits": row.traits,
        "archivedAt": iso(row.archived_at),
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
    })
}

/// A message participant: `{"type": "user"|"admin", "id": <Steward id>}`.
fn participant(p: &steward_store::rows::Participant) -> Value {
    json!({"type": p.kind.as_str(), "id": p.id})
}

fn participants(list: &[steward_store::rows::Participant]) -> Vec<Value> {
    list.iter().map(participant).collect()
}

/// A message, as Vitally's: `type` is `inbound` (from a user) or `outbound` (from a team
/// member).
pub fn message(row: &steward_store::rows::MessageRow) -> Value {
    json!({
        "id": row.id,
        "type": row.direction.as_str(),
        "externalId": row.external_id,
        "externalUrl": row.external_url,
        "conversationId": row.conversation_id,
        "message": row.body,
        "timestamp": row.sent_at.to_iso(),
        "from": participant(&row.from),
        "to": participants(&row.to),
        "cc": participants(&row.cc),
        "bcc": participants(&row.bcc),
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
    })
}

/// A conversation; `messages` only where the row carries them (lists leave them out, as
/// Vitally's). Steward records conversations through the API only: `status` is always
/// `open`, `rating` null and `source` `api`.
pub fn conversation(row: &steward_store::rows::ConversationRow) -> Value {
    let mut v = json!({
        "id": row.id,
        "externalId": row.external_id,
        "externalUrl": row.external_url,
        "subject": row.subject,
        "traits": row.traits,
        "accounts": row.accounts,
        "users": row.users,
        "admins": row.admins,
        "status": "open",
        "rating": null,
        "source": "api",
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
    });
    if let Some(messages) = &row.messages {
        v["messages"] = Value::Array(messages.iter().map(message).collect());
    }
    v
}
