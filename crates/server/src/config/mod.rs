//! Workspace configuration as typed documents: serde types with camelCase JSON, each with a
//! `validate` that returns every error with its path, so one `steward config export/apply`
//! file can later hold them beside formula and lifecycle configuration.
//!
//! - [`roles::RolesConfig`]: custom key roles and trait mappings (key roles, owners);
//! - [`import_filters::ImportFilter`]: which organizations and accounts a source may create.
//!
//! They are stored as JSON documents (`workspace_config`) and cached per workspace
//! ([`cache::ConfigCache`]).

pub mod cache;
pub mod import_filters;
pub mod roles;

use crate::error::{ApiError, ErrorCode};

/// One problem in a configuration document, at a JSON path (`keyRoleTraits[1].role`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Joins a path and a member (`""` + `a` = `a`, `a` + `b` = `a.b`).
pub fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_owned()
    } else {
        format!("{path}.{member}")
    }
}

/// A 400 naming the first field at fault, with every problem in the message.
pub fn into_api_error(prefix: &str, errors: Vec<ConfigError>) -> ApiError {
    let field = errors
        .first()
        .map(|e| join(prefix, &e.path))
        .unwrap_or_default();
    let message = errors
        .iter()
        .map(|e| format!("{}: {}", join(prefix, &e.path), e.message))
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::field(ErrorCode::InvalidField, field, message)
}

/// Reads a JSON body into a config type; serde's message names the member at fault.
pub fn from_json<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| {
        let field = if prefix.is_empty() { "body" } else { prefix };
        ApiError::field(ErrorCode::InvalidField, field, format!("`{field}`: {e}"))
    })
}
