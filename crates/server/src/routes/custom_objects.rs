//! `/resources/customObjects`: custom object definitions and their custom fields.
//! Instances are in `custom_object_instances.rs`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use steward_engine::custom_objects::CustomObjectName;
use steward_engine::domain::{FieldError, TraitKey};
use steward_engine::ids::WorkspaceId;
use steward_store::rows::CustomObjectRow;
use steward_store::write::{CustomObjectFields, FieldDefinition, RecordRef, Write, Written};

use super::custom_fields::{TYPES, one_of, options};
use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Body, JsonObject, Member};
use crate::pagination::{listed_envelope, page_request, probe};
use crate::render;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/customObjects", get(list).post(create))
        .route(
            "/resources/customObjects/{id}",
            get(fetch).put(update).patch(update).delete(remove),
        )
}

/// The object `id` names (its id or its name), or a 404.
pub async fn find_or_404(
    state: &AppState,
    ws: WorkspaceId,
    id: &str,
) -> ApiResult<CustomObjectRow> {
    state
        .store
        .find_custom_object(ws, &RecordRef(id.to_owned()))
        .await?
        .ok_or_else(|| ApiError::not_found("custom object"))
}

/// Re-labels an error about `field` of a nested object as `prefix.field`.
fn nested(mut e: ApiError, prefix: &str) -> ApiError {
    if let Some(field) = e.field.take() {
        let root = field.split(['.', '[']).next().unwrap_or(&field).to_owned();
        e.message = e
            .message
            .replace(&format!("`{root}"), &format!("`{prefix}.{root}"));
        e.field = Some(format!("{prefix}.{field}"));
    }
    e
}

/// One definition of `customFields[]`: `{key (or path), label?, type, options?, description?}`,
/// read like a `POST /customFields` body.
pub fn definition(body: &Body) -> ApiResult<FieldDefinition> {
    let key = match (body.string("key")?, body.string("path")?) {
        (Member::Set(k), _) | (_, Member::Set(k)) => {
            TraitKey::parse("key", &k)?.as_str().to_owned()
        }
        _ => return Err(FieldError::missing("key").into()),
    };
    let label = match body.string("label")? {
        Member::Set(l) if !l.trim().is_empty() => l,
        _ => key.clone(),
    };
    let field_type =
        one_of(body, "type", &TYPES)?.ok_or_else(|| ApiError::from(FieldError::missing("type")))?;
    Ok(FieldDefinition {
        key,
        label,
        field_type,
        description: body.string("description")?.into_patch().flatten(),
        options: options(body)?.unwrap_or_else(|| Value::Array(Vec::new())),
    })
}

/// `customFields`: an array of definitions, each key once.
pub(crate) fn definitions(body: &Body) -> ApiResult<Option<Vec<FieldDefinition>>> {
    let items = match body.0.get("customFields") {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(Vec::new())),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::field(
                ErrorCode::InvalidField,
                "customFields",
                "`customFields` must be an array of field definitions",
            ));
        }
    };
    let mut out: Vec<FieldDefinition> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("customFields[{i}]");
        let Value::Object(map) = item else {
            return Err(ApiError::field(
                ErrorCode::InvalidField,
                prefix.clone(),
                format!("`{prefix}` must be an object"),
            ));
        };
        let def = definition(&Body(map.clone())).map_err(|e| nested(e, &prefix))?;
        if out.iter().any(|d| d.key == def.key) {
            return Err(ApiError::field(
                ErrorCode::InvalidField,
                format!("{prefix}.key"),
                format!("`{prefix}.key` {:?} is defined twice", def.key),
            ));
        }
        out.push(def);
    }
    Ok(Some(out))
}

/// A non-blank label, if given.
pub(crate) fn label(body: &Body) -> ApiResult<Option<String>> {
    match body.string("label")? {
        Member::Set(l) if !l.trim().is_empty() => Ok(Some(l)),
        Member::Absent => Ok(None),
        _ => Err(ApiError::field(
            ErrorCode::InvalidField,
            "label",
            "`label` must be a non-blank string",
        )),
    }
}

async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let page = page_request(&query)?;
    let rows = state
        .store
        .list_custom_objects(auth.workspace, &probe(&page))
        .await?;
    Ok(Json(listed_envelope(&page, rows, render::custom_object)))
}

async fn fetch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = find_or_404(&state, auth.workspace, &id).await?;
    Ok(Json(render::custom_object(&row)))
}

/// `{name*, label?, customFields?}`; `name` is the object's API key.
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let name = match body.string("name")? {
        Member::Set(n) => CustomObjectName::parse("name", &n)?,
        _ => return Err(FieldError::missing("name").into()),
    };
    let label = label(&body)?.unwrap_or_else(|| name.as_str().to_owned());
    let fields = definitions(&body)?.unwrap_or_default();
    support::write(
        &state,
        &auth,
        Write::CreateCustomObject {
            name,
            label,
            fields,
        },
    )
    .await
}

/// `{label?, customFields?}`: `customFields` replaces the list (definitions whose key stays
/// keep their id). The name is the object's key and cannot change.
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let current = find_or_404(&state, auth.workspace, &id).await?;
    if let Member::Set(name) = body.string("name")?
        && name != current.name
    {
        return Err(ApiError::field(
            ErrorCode::InvalidField,
            "name",
            "`name` is set on create and cannot be changed",
        ));
    }
    let fields = CustomObjectFields {
        label: label(&body)?,
        fields: definitions(&body)?,
    };
    let target = RecordRef(current.id.to_string());
    support::write(&state, &auth, Write::UpdateCustomObject { target, fields }).await
}

/// Deletes the object with its field definitions and every instance.
async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let target = RecordRef(id.clone());
    let write = Write::DeleteCustomObject {
        target,
        if_empty: false,
    };
    support::delete(&state, &auth, &id, write).await
}

/// `POST /customFields` with `model: "customObjects"`: adds one definition to the object
/// `customObjectId` names, and answers the definition.
pub async fn create_field(state: &AppState, auth: &Auth, body: &Body) -> ApiResult<Json<Value>> {
    let object = match body.string("customObjectId")? {
        Member::Set(o) => o,
        _ => return Err(FieldError::missing("customObjectId").into()),
    };
    let field = definition(body)?;
    let key = field.key.clone();
    auth.require_write()?;
    let write = Write::AddCustomObjectField {
        object: RecordRef(object),
        field,
    };
    match state.writer.write(auth.workspace, write).await?.written {
        Written::CustomObject(row) => {
            let def = row
                .fields
                .iter()
                .find(|f| f.key == key)
                .ok_or_else(|| ApiError::internal("the added field is missing"))?;
            Ok(Json(render::custom_object_field(def, row.id)))
        }
        other => Err(ApiError::internal(format!(
            "unexpected write result {other:?}"
        ))),
    }
}

/// `GET /customFields?model=customObjects&customObjectId=`: the object's definitions, a bare
/// array sorted by label.
pub async fn list_fields(
    state: &AppState,
    auth: &Auth,
    query: &std::collections::HashMap<String, String>,
) -> ApiResult<Json<Value>> {
    let Some(object) = query.get("customObjectId") else {
        return Err(ApiError::field(
            ErrorCode::InvalidQuery,
            "customObjectId",
            "`customObjectId` is required with model=customObjects",
        ));
    };
    let row = state
        .store
        .find_custom_object(auth.workspace, &RecordRef(object.clone()))
        .await?
        .ok_or_else(|| ApiError::not_found("custom object"))?;
    Ok(Json(Value::Array(
        row.fields
            .iter()
            .map(|f| render::custom_object_field(f, row.id))
            .collect(),
    )))
}
