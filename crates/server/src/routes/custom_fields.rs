//! `/resources/customFields`: custom trait definitions.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use steward_engine::domain::{FieldError, TraitKey};
use steward_engine::ids::CustomFieldId;
use steward_store::write::{CustomFieldFields, Write};

use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Body, JsonObject, Member};
use crate::render;

/// The record kinds custom traits can be defined on.
pub const MODELS: [&str; 3] = ["organizations", "accounts", "users"];
/// The value types a custom trait can have.
pub const TYPES: [&str; 8] = [
    "string",
    "number",
    "boolean",
    "date",
    "textarea",
    "picklist",
    "multiselect",
    "teamMember",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/customFields", get(list).post(create))
        .route(
            "/resources/customFields/{id}",
            get(fetch).put(update).patch(update).delete(remove),
        )
}

fn field_id(raw: &str) -> ApiResult<CustomFieldId> {
    raw.parse().map_err(|_| ApiError::not_found("custom field"))
}

pub(super) fn one_of(body: &Body, field: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
    match body.string(field)? {
        Member::Set(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
        Member::Absent => Ok(None),
        _ => Err(ApiError::field(
            ErrorCode::InvalidField,
            field,
            format!("`{field}` must be one of {}", allowed.join(", ")),
        )),
    }
}

/// `[{"label": "...", "value": "..."}]`; values must be unique strings.
pub(super) fn options(body: &Body) -> ApiResult<Option<Value>> {
    let Some(raw) = body.0.get("options") else {
        return Ok(None);
    };
    let invalid = |m: &str| ApiError::field(ErrorCode::InvalidField, "options", m.to_owned());
    let items = match raw {
        Value::Null => return Ok(Some(json!([]))),
        Value::Array(items) => items,
        _ => return Err(invalid("`options` must be an array of {label, value}")),
    };
    let mut values = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let value = item.get("value").and_then(Value::as_str);
        let label = item.get("label").and_then(Value::as_str).or(value);
        match (label, value) {
            (Some(label), Some(value)) if values.insert(value.to_owned()) => {
                out.push(json!({"label": label, "value": value}))
            }
            (Some(_), Some(value)) => {
                return Err(invalid(&format!(
                    "`options[{i}].value` {value:?} appears twice"
                )));
            }
            _ => {
                return Err(invalid(&format!(
                    "`options[{i}]` needs a string `value` (and optionally `label`)"
                )));
            }
        }
    }
    Ok(Some(Value::Array(out)))
}

/// Bare array sorted by label, as Vitally's `GET /customFields?model=`.
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    if query.get("model").map(String::as_str) == Some(steward_store::custom_objects::MODEL) {
        return super::custom_objects::list_fields(&state, &auth, &query).await;
    }
    let model = match query.get("model") {
        Some(m) if MODELS.contains(&m.as_str()) => Some(m.as_str()),
        Some(_) => {
            return Err(ApiError::field(
                ErrorCode::InvalidQuery,
                "model",
                format!("`model` must be one of {}", MODELS.join(", ")),
            ));
        }
        None => None,
    };
    let rows = state
        .store
        .list_custom_fields(auth.workspace, model)
        .await?;
    Ok(Json(Value::Array(
        rows.iter().map(render::custom_field).collect(),
    )))
}

async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    if body.0.get("model").and_then(Value::as_str) == Some(steward_store::custom_objects::MODEL) {
        return super::custom_objects::create_field(&state, &auth, &body).await;
    }
    let model = one_of(&body, "model", &MODELS)?
        .ok_or_else(|| ApiError::from(FieldError::missing("model")))?;
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
    let field_type = one_of(&body, "type", &TYPES)?
        .ok_or_else(|| ApiError::from(FieldError::missing("type")))?;
    let options = options(&body)?.unwrap_or_else(|| json!([]));
    let description = body.string("description")?.into_patch().flatten();
    support::write(
        &state,
        &auth,
        Write::CreateCustomField {
            model,
            key,
            label,
            field_type,
            description,
            options,
        },
    )
    .await
}

async fn fetch(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let row = state
        .store
        .find_custom_field(auth.workspace, field_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("custom field"))?;
    Ok(Json(render::custom_field(&row)))
}

async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let target = field_id(&id)?;
    let label = match body.string("label")? {
        Member::Set(l) if !l.trim().is_empty() => Some(l),
        Member::Absent => None,
        _ => {
            return Err(ApiError::field(
                ErrorCode::InvalidField,
                "label",
                "`label` must not be blank",
            ));
        }
    };
    let fields = CustomFieldFields {
        label,
        field_type: one_of(&body, "type", &TYPES)?,
        description: body.string("description")?.into_patch(),
        options: options(&body)?,
    };
    support::write(&state, &auth, Write::UpdateCustomField { target, fields }).await
}

async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let target = field_id(&id)?;
    support::delete(&state, &auth, &id, Write::DeleteCustomField { target }).await
}
