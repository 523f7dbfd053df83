//! Records as JSON, in the shape of Vitally's REST API.

use serde_json::{Value, json};
use steward_engine::Graph;
use steward_store::rows::{AccountRow, AdminRow, CustomFieldRow, OrganizationRow, UserRow};

/// Derived data comes from the engine; a workspace with no records yet has no graph.
fn with_graph<T>(graph: Option<&Graph>, f: impl FnOnce(&Graph) -> T, default: T) -> T {
    graph.map_or(default, f)
}

pub fn organization(row: &OrganizationRow, graph: Option<&Graph>) -> Value {
    json!({
        "id": row.id,
        "externalId": row.external_id,
        "name": row.name,
        "traits": row.traits,
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
        "accountsCount": with_graph(graph, |g| g.organization_accounts_count(row.id), 0),
        "usersCount": with_graph(graph, |g| g.organization_users_count(row.id), 0),
    })
}

pub fn account(row: &AccountRow, graph: Option<&Graph>) -> Value {
    json!({
        "id": row.id,
        "externalId": row.external_id,
        "name": row.name,
        "traits": row.traits,
        "organizationId": row.organization_id,
        "createdAt": row.created_at.to_iso(),
        "updatedAt": row.updated_at.to_iso(),
        "usersCount": with_graph(graph, |g| g.account_users_count(row.id), 0),
    })
}

pub fn user(row: &UserRow, graph: Option<&Graph>) -> Value {
    json!({
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
    })
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
