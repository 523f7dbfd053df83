//! Custom object instances: `/resources/customObjects/:id/instances[...]`, and the instances
//! of one object under an account or organization.
//!
//! Instances are archived, not erased, by DELETE (`archivedAt`); lists show the live ones, or
//! only the archived ones with `archived=true`. Posting an archived instance's externalId again
//! restores it: the source system says the record exists.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use steward_engine::ids::WorkspaceId;
use steward_engine::page::{PageRequest, SortBy};
use steward_store::custom_objects::InstanceScope;
use steward_store::rows::{CustomObjectInstanceRow, CustomObjectRow, Listed};
use steward_store::write::{InstanceFields, RecordRef, Write};

use super::custom_objects::find_or_404 as find_object;
use super::records::find_or_404;
use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Body, JsonObject};
use crate::pagination::{listed_envelope, page_request, probe};
use crate::render;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/resources/customObjects/{id}/instances",
            get(list).post(create),
        )
        .route(
            "/resources/customObjects/{id}/instances/search",
            get(search),
        )
        .route(
            "/resources/customObjects/{id}/instances/{instanceId}",
            get(fetch).put(update).patch(update).delete(remove),
        )
        .route(
            "/resources/accounts/{id}/customObjects/{objectId}/instances",
            get(of_account),
        )
        .route(
            "/resources/organizations/{id}/customObjects/{objectId}/instances",
            get(of_organization),
        )
}

/// Most matches a search answers (it is not paged: a bare array, as Vitally's).
const SEARCH_LIMIT: usize = 100;

async fn find_instance_or_404(
    state: &AppState,
    ws: WorkspaceId,
    object: &CustomObjectRow,
    id: &str,
) -> ApiResult<CustomObjectInstanceRow> {
    state
        .store
        .find_custom_object_instance(ws, object.id, &RecordRef(id.to_owned()))
        .await?
        .ok_or_else(|| ApiError::not_found("custom object instance"))
}

/// The account link: Vitally calls it `customerId`; `accountId` is accepted as well.
fn account_link(body: &Body) -> ApiResult<(Option<Option<RecordRef>>, &'static str)> {
    let customer = body.record_ref("customerId")?.into_patch();
    let account = body.record_ref("accountId")?.into_patch();
    match (customer, account) {
        (None, a) => Ok((a, "accountId")),
        (c, None) => Ok((c, "customerId")),
        (c, a) if c == a => Ok((c, "customerId")),
        _ => Err(ApiError::field(
            ErrorCode::InvalidField,
            "accountId",
            "`accountId` and `customerId` name the same link and disagree; send one",
        )),
    }
}

fn fields(body: &Body) -> ApiResult<InstanceFields> {
    let (account, account_field) = account_link(body)?;
    Ok(InstanceFields {
        name: body.optional_name("name")?,
        traits: body.traits("traits")?,
        account,
        organization: body.record_ref("organizationId")?.into_patch(),
        external_id: None,
        account_field,
        ..InstanceFields::default()
    })
}

fn missing_parent(field: &str) -> ApiError {
    ApiError::field(
        ErrorCode::MissingField,
        field,
        format!("`{field}` or `organizationId` is required"),
    )
}

/// `{name*, customerId? | accountId?, organizationId?, externalId?, traits?}`: at least one
/// parent. With an externalId the instance is created or updated (upsert).
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Path(object): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let object = find_object(&state, auth.workspace, &object).await?;
    let mut fields = fields(&body)?;
    fields.name = Some(body.required_name("name")?);
    let external_id = match body.0.get("externalId") {
        None | Some(Value::Null) => None,
        Some(_) => Some(body.required_external_id("externalId")?),
    };
    if !matches!(fields.account, Some(Some(_))) && !matches!(fields.organization, Some(Some(_))) {
        return Err(missing_parent("customerId"));
    }
    let write = Write::UpsertCustomObjectInstance {
        object: RecordRef(object.id.to_string()),
        external_id,
        fields,
    };
    support::write(&state, &auth, write).await
}

/// `{name?, externalId?, traits?, customerId?, organizationId?}`; a parent set to null is
/// detached, but one must remain.
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path((object, instance)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let object = find_object(&state, auth.workspace, &object).await?;
    let current = find_instance_or_404(&state, auth.workspace, &object, &instance).await?;
    let mut fields = fields(&body)?;
    if let Some(Value::String(_) | Value::Number(_)) = body.0.get("externalId") {
        fields.external_id = Some(body.required_external_id("externalId")?);
    }
    let has_account = fields
        .account
        .as_ref()
        .map_or(current.account_id.is_some(), Option::is_some);
    let has_org = fields
        .organization
        .as_ref()
        .map_or(current.organization_id.is_some(), Option::is_some);
    if !has_account && !has_org {
        return Err(ApiError::field(
            ErrorCode::InvalidField,
            fields.account_field(),
            format!(
                "an instance keeps `{}` or `organizationId`; this update would detach both",
                fields.account_field()
            ),
        ));
    }
    let write = Write::UpdateCustomObjectInstance {
        object: RecordRef(object.id.to_string()),
        target: RecordRef(current.id.to_string()),
        fields,
    };
    support::write(&state, &auth, write).await
}

async fn fetch(
    State(state): State<AppState>,
    auth: Auth,
    Path((object, instance)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let object = find_object(&state, auth.workspace, &object).await?;
    let row = find_instance_or_404(&state, auth.workspace, &object, &instance).await?;
    Ok(Json(render::custom_object_instance(&row)))
}

/// Archives the instance (sets `archivedAt`); archiving twice changes nothing.
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path((object, instance)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let object = find_object(&state, auth.workspace, &object).await?;
    let write = Write::ArchiveCustomObjectInstance {
        object: RecordRef(object.id.to_string()),
        target: RecordRef(instance.clone()),
    };
    support::delete(&state, &auth, &instance, write).await
}

/// A page of `object`'s instances in `scope` (live ones, or archived ones with `archived`).
async fn page(
    state: &AppState,
    ws: WorkspaceId,
    object: &CustomObjectRow,
    scope: InstanceScope,
    params: &Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&params.0)?;
    let archived = params.flag("archived")?;
    let rows = state
        .store
        .list_custom_object_instances(ws, object.id, scope, archived, &probe(&page))
        .await?;
    Ok(Json(listed_envelope(
        &page,
        rows,
        render::custom_object_instance,
    )))
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(object): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let object = find_object(&state, auth.workspace, &object).await?;
    page(&state, auth.workspace, &object, InstanceScope::All, &params).await
}

async fn of_account(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, object)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let account = find_or_404::<super::accounts::Accounts>(&state, auth.workspace, id).await?;
    let object = find_object(&state, auth.workspace, &object).await?;
    let scope = InstanceScope::Account(account.id);
    page(&state, auth.workspace, &object, scope, &params).await
}

async fn of_organization(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, object)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let org =
        find_or_404::<super::organizations::Organizations>(&state, auth.workspace, id).await?;
    let object = find_object(&state, auth.workspace, &object).await?;
    let scope = InstanceScope::Organization(org.id);
    page(&state, auth.workspace, &object, scope, &params).await
}

/// Exactly one of `id`, `externalId`, `customerId` (or `accountId`), `organizationId`, or the
/// pair `customFieldId` (the field's id or key) + `customFieldValue`. Answers a bare array of
/// at most 100 instances, as Vitally's search; parent and field searches see live instances
/// only (or archived ones with `archived=true`).
async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Path(object): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let ws = auth.workspace;
    let object = find_object(&state, ws, &object).await?;
    let q = &params.0;
    let archived = params.flag("archived")?;
    let asked: Vec<&str> = [
        "id",
        "externalId",
        "customerId",
        "accountId",
        "organizationId",
        "customFieldId",
    ]
    .into_iter()
    .filter(|k| q.contains_key(*k))
    .collect();
    let [key] = asked.as_slice() else {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "give exactly one of `id`, `externalId`, `customerId`, `organizationId`, `customFieldId` (with `customFieldValue`)",
        ));
    };
    let value = q[*key].clone();
    let rows: Vec<CustomObjectInstanceRow> = match *key {
        "id" | "externalId" => state
            .store
            .find_custom_object_instance(ws, object.id, &RecordRef(value))
            .await?
            .into_iter()
            .collect(),
        "customerId" | "accountId" => {
            match state.store.find_account(ws, &RecordRef(value)).await? {
                Some(a) => {
                    first_page(&state, ws, &object, InstanceScope::Account(a.id), archived).await?
                }
                None => Vec::new(),
            }
        }
        "organizationId" => match state.store.find_organization(ws, &RecordRef(value)).await? {
            Some(o) => {
                first_page(
                    &state,
                    ws,
                    &object,
                    InstanceScope::Organization(o.id),
                    archived,
                )
                .await?
            }
            None => Vec::new(),
        },
        _ => by_field(&state, ws, &object, q, archived).await?,
    };
    Ok(Json(Value::Array(
        rows.iter().map(render::custom_object_instance).collect(),
    )))
}

async fn first_page(
    state: &AppState,
    ws: WorkspaceId,
    object: &CustomObjectRow,
    scope: InstanceScope,
    archived: bool,
) -> ApiResult<Vec<CustomObjectInstanceRow>> {
    let page = PageRequest::first(SortBy::UpdatedAt, SEARCH_LIMIT);
    Ok(state
        .store
        .list_custom_object_instances(ws, object.id, scope, archived, &page)
        .await?)
}

/// Instances whose trait `customFieldId` equals `customFieldValue` (a string compares with
/// the value's text; a multi-select matches when it contains the value). Walks the object's
/// instances newest first.
async fn by_field(
    state: &AppState,
    ws: WorkspaceId,
    object: &CustomObjectRow,
    q: &HashMap<String, String>,
    archived: bool,
) -> ApiResult<Vec<CustomObjectInstanceRow>> {
    let wanted = &q["customFieldId"];
    let field = object
        .fields
        .iter()
        .find(|f| f.id.to_string() == *wanted || f.key == *wanted)
        .ok_or_else(|| {
            ApiError::field(
                ErrorCode::InvalidQuery,
                "customFieldId",
                format!("`customFieldId` names no custom field of `{}`", object.name),
            )
        })?;
    let value = q.get("customFieldValue").ok_or_else(|| {
        ApiError::field(
            ErrorCode::InvalidQuery,
            "customFieldValue",
            "`customFieldValue` is required with `customFieldId`",
        )
    })?;
    let matches = |v: &Value| match v {
        Value::String(s) => s == value,
        Value::Array(items) => items.iter().any(|i| i.as_str() == Some(value.as_str())),
        Value::Null => false,
        // Numbers and booleans: the query text read as JSON.
        other => value.parse::<Value>().ok().as_ref() == Some(other),
    };
    let mut found = Vec::new();
    let mut page = PageRequest::first(SortBy::UpdatedAt, 500);
    loop {
        let rows = state
            .store
            .list_custom_object_instances(ws, object.id, InstanceScope::All, archived, &page)
            .await?;
        let Some(last) = rows.last() else { break };
        page.after = Some(last.page_key(page.sort));
        let done = rows.len() < page.limit;
        found.extend(
            rows.into_iter()
                .filter(|r| r.traits.get(&field.key).is_some_and(matches)),
        );
        if done || found.len() >= SEARCH_LIMIT {
            break;
        }
    }
    found.truncate(SEARCH_LIMIT);
    Ok(found)
}
