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
pub mod file;
pub mod import_filters;
pub mod roles;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};

/// This engineer's part of a workspace configuration file, as `steward config export/apply`
/// will hold it beside formulas and lifecycle:
/// `{"roles": {...RolesConfig}, "importFilters": [{...ImportFilter}]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolesAndSources {
    #[serde(default)]
    pub roles: roles::RolesConfig,
    #[serde(default)]
    pub import_filters: Vec<import_filters::ImportFilter>,
}

impl RolesAndSources {
    /// Every problem of every part, with paths from this object (`importFilters[1].source`).
    /// Whether a source names an existing API key is for whoever applies the file to check.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errors: Vec<ConfigError> = Vec::new();
        if let Err(e) = self.roles.validate() {
            errors.extend(
                e.into_iter()
                    .map(|e| ConfigError::new(join("roles", &e.path), e.message)),
            );
        }
        for (i, filter) in self.import_filters.iter().enumerate() {
            let path = format!("importFilters[{i}]");
            if let Err(e) = filter.validate() {
                errors.extend(
                    e.into_iter()
                        .map(|e| ConfigError::new(join(&path, &e.path), e.message)),
                );
            }
            if self.import_filters[..i]
                .iter()
                .any(|f| f.source == filter.source)
            {
                errors.push(ConfigError::new(
                    join(&path, "source"),
                    format!("source `{}` has two filters", filter.source),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_whole_section_reports_every_error_with_its_path() {
        let source = format!("apiKey:{}", steward_engine::ids::ApiKeyId::generate());
        let section: RolesAndSources = serde_json::from_value(json!({
            "roles": {"keyRoleTraits": [{"role": "nope", "model": "accounts", "trait": "x"}]},
            "importFilters": [
                {"source": source, "accounts": {"field": "plan", "op": "is", "value": "pro"}},
                {"source": source, "organizations": {"field": "x", "op": "bogus"}}
            ]
        }))
        .unwrap();
        let paths: Vec<String> = section
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "roles.keyRoleTraits[0].role",
                "importFilters[1].organizations.op",
                "importFilters[1].source"
            ]
        );
        assert!(RolesAndSources::default().validate().is_ok());
    }
}
