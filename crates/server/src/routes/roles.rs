//! Configuration of key roles, trait mappings and import filters:
//!
//! - `GET /keyRoles`, `POST /keyRoles`, `DELETE /keyRoles/{key}`: the workspace's roles;
//! - `GET|PUT /config/roles`: the whole roles document (custom roles and trait mappings);
//! - `GET /importFilters`, `GET|PUT|DELETE /importFilters/{source}`: import filters;
//! - `GET /apiKeys`: the workspace's keys (ids name import filter sources).
//!
//! Reads take any key; writes an admin key. Every write goes through the single writer and
//! then drops the workspace's cached configuration.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use steward_engine::RoleKey;
use steward_engine::ids::WorkspaceId;
use steward_store::assign::ConfigWrite;
use steward_store::write::Write;

use crate::app::AppState;
use crate::auth::Auth;
use crate::config::cache::ROLES;
use crate::config::import_filters::{ImportFilter, Source};
use crate::config::roles::{KeyRoleDef, RolesConfig};
use crate::config::{self, ConfigError};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::JsonObject;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/keyRoles", get(list_roles).post(create_role))
        .route(
            "/resources/keyRoles/{key}",
            axum::routing::delete(delete_role),
        )
        .route("/resources/config/roles", get(get_roles).put(put_roles))
        .route("/resources/importFilters", get(list_filters))
        .route(
            "/resources/importFilters/{source}",
            get(get_filter).put(put_filter).delete(delete_filter),
        )
        .route("/resources/apiKeys", get(list_keys))
}

// ---- key roles ---------------------------------------------------------------------------

fn roles_json(roles: &RolesConfig) -> Value {
    roles
        .roles()
        .into_iter()
        .map(|(key, label, builtin)| json!({"key": key, "label": label, "builtIn": builtin}))
        .collect()
}

async fn list_roles(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let config = state.config.get(&state.store, auth.workspace).await?;
    Ok(Json(roles_json(&config.roles)))
}

/// Stores a new roles document (validated), deleting assignments of removed roles.
async fn save_roles(state: &AppState, ws: WorkspaceId, roles: &RolesConfig) -> ApiResult<()> {
    roles
        .validate()
        .map_err(|e| config::into_api_error("", e))?;
    let keys = roles
        .key_roles
        .iter()
        .filter_map(|r| RoleKey::parse("key", &r.key).ok())
        .collect();
    let value = serde_json::to_value(roles).map_err(ApiError::internal)?;
    let write = Write::Config(ConfigWrite::PutRoles {
        name: ROLES.to_owned(),
        value,
        roles: keys,
    });
    let result = state.writer.write(ws, write).await;
    state.config.forget(ws);
    result.map(|_| ())
}

async fn create_role(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let def: KeyRoleDef = config::from_json(Value::Object(body.0), "")?;
    let mut roles = state
        .config
        .get(&state.store, auth.workspace)
        .await?
        .roles
        .clone();
    if roles.has_role(&def.key) && !RoleKey::parse("key", &def.key).is_ok_and(|k| k.is_builtin()) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("a key role `{}` already exists", def.key),
        ));
    }
    roles.key_roles.push(def.clone());
    // Errors name the member of this body, not of the whole document.
    let position = roles.key_roles.len() - 1;
    let prefix = format!("keyRoles[{position}].");
    roles.validate().map_err(|errors| {
        let errors = errors
            .into_iter()
            .map(|e| ConfigError::new(e.path.strip_prefix(&prefix).unwrap_or(&e.path), e.message))
            .collect();
        config::into_api_error("", errors)
    })?;
    save_roles(&state, auth.workspace, &roles).await?;
    Ok(Json(
        json!({"key": def.key, "label": def.label, "builtIn": false}),
    ))
}

async fn delete_role(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    if RoleKey::parse("key", &key).is_ok_and(|k| k.is_builtin()) {
        return Err(ApiError::field(
            ErrorCode::InvalidField,
            "key",
            format!("`{key}` is a built-in role and cannot be removed"),
        ));
    }
    let mut roles = state
        .config
        .get(&state.store, auth.workspace)
        .await?
        .roles
        .clone();
    let before = roles.key_roles.len();
    roles.key_roles.retain(|r| r.key != key);
    if roles.key_roles.len() == before {
        return Err(ApiError::not_found("key role"));
    }
    // Its trait mappings go with it.
    roles.key_role_traits.retain(|m| m.role != key);
    save_roles(&state, auth.workspace, &roles).await?;
    Ok(Json(json!({"key": key, "deleted": true})))
}

async fn get_roles(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let config = state.config.get(&state.store, auth.workspace).await?;
    Ok(Json(
        serde_json::to_value(&config.roles).map_err(ApiError::internal)?,
    ))
}

async fn put_roles(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let roles: RolesConfig = config::from_json(Value::Object(body.0), "")?;
    save_roles(&state, auth.workspace, &roles).await?;
    Ok(Json(
        serde_json::to_value(&roles).map_err(ApiError::internal)?,
    ))
}

// ---- import filters ----------------------------------------------------------------------

fn filter_json(
    state: &AppState,
    ws: WorkspaceId,
    source: Source,
    filter: Option<&ImportFilter>,
) -> Value {
    let mut v = json!({
        "source": source.as_string(),
        "organizations": filter.and_then(|f| f.organizations.clone()),
        "accounts": filter.and_then(|f| f.accounts.clone()),
    });
    v["ignored"] = json!(state.config.ignored(ws, source));
    v
}

/// The source a path names; it must be a key of this workspace.
async fn source_of(state: &AppState, ws: WorkspaceId, raw: &str) -> ApiResult<Source> {
    let not_found = || ApiError::not_found("API key");
    let source = Source::parse(raw).ok_or_else(not_found)?;
    let Source::ApiKey(id) = source;
    let keys = state.store.list_api_keys(ws).await?;
    keys.iter()
        .any(|k| k.id == id)
        .then_some(source)
        .ok_or_else(not_found)
}

async fn list_filters(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let config = state.config.get(&state.store, auth.workspace).await?;
    let mut filters: Vec<_> = config.filters.values().collect();
    filters.sort_by_key(|f| f.source.as_string());
    Ok(Json(
        filters
            .into_iter()
            .map(|f| filter_json(&state, auth.workspace, f.source, Some(&f.config)))
            .collect(),
    ))
}

async fn get_filter(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let source = source_of(&state, auth.workspace, &raw).await?;
    let config = state.config.get(&state.store, auth.workspace).await?;
    let filter = config.filters.get(&source).map(|f| &f.config);
    Ok(Json(filter_json(&state, auth.workspace, source, filter)))
}

async fn put_filter(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let source = source_of(&state, auth.workspace, &raw).await?;
    let mut body = body.0;
    if let Some(given) = body.remove("source")
        && given.as_str().and_then(Source::parse) != Some(source)
    {
        return Err(ApiError::field(
            ErrorCode::InvalidField,
            "source",
            "`source` must be the one in the path (or left out)",
        ));
    }
    body.insert("source".into(), json!(source.as_string()));
    let filter: ImportFilter = config::from_json(Value::Object(body), "")?;
    filter
        .validate()
        .map_err(|e| config::into_api_error("", e))?;
    let value = serde_json::to_value(&filter).map_err(ApiError::internal)?;
    let write = Write::Config(ConfigWrite::Put {
        name: source.document_name(),
        value,
    });
    let result = state.writer.write(auth.workspace, write).await;
    state.config.forget(auth.workspace);
    result?;
    Ok(Json(filter_json(
        &state,
        auth.workspace,
        source,
        Some(&filter),
    )))
}

async fn delete_filter(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let source = source_of(&state, auth.workspace, &raw).await?;
    let write = Write::Config(ConfigWrite::Delete {
        name: source.document_name(),
    });
    let result = state.writer.write(auth.workspace, write).await;
    state.config.forget(auth.workspace);
    result?;
    Ok(Json(json!({"source": source.as_string(), "deleted": true})))
}

// ---- API keys ----------------------------------------------------------------------------

async fn list_keys(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let keys = state.store.list_api_keys(auth.workspace).await?;
    Ok(Json(
        keys.iter()
            .map(|k| {
                json!({
                    "id": k.id,
                    "source": Source::ApiKey(k.id).as_string(),
                    "prefix": k.prefix,
                    "label": k.label,
                    "role": k.role.as_str(),
                    "createdAt": k.created_at.to_iso(),
                })
            })
            .collect(),
    ))
}
