//! A workspace's whole configuration as one document, to review and version as code:
//! `GET /resources/config` (and `steward config export`) answers it, `PUT /resources/config`
//! (and `steward config apply FILE`) makes the workspace match it.
//!
//! The file is declarative: what it lists is what the workspace has afterwards. Custom fields
//! it leaves out are deleted (the traits themselves stay, untyped), as are import filters of
//! sources it leaves out. A file with any problem is refused whole, with every problem named
//! by its path; a valid one is written in one transaction.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use steward_engine::RoleKey;
use steward_engine::ids::WorkspaceId;
use steward_store::assign::ConfigWrite;
use steward_store::rows::CustomFieldRow;
use steward_store::write::{CustomFieldFields, FieldDefinition, Write};

use super::cache::ROLES;
use super::import_filters::{ImportFilter, Source};
use super::roles::RolesConfig;
use super::{ConfigError, RolesAndSources};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::routes::custom_fields::MODELS;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    /// `[{model, key, label, type, description?, options?}]`, as `POST /customFields` takes.
    #[serde(default)]
    pub custom_fields: Vec<Value>,
    #[serde(default)]
    pub roles: RolesConfig,
    #[serde(default)]
    pub import_filters: Vec<ImportFilter>,
    /// Formula traits, rollups, lifecycle and user deactivation rules (docs/derivation.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivation: Option<Value>,
}

/// A custom field as the file lists it.
#[derive(Clone, Debug, PartialEq)]
struct FieldEntry {
    model: String,
    definition: FieldDefinition,
}

fn field_json(row: &CustomFieldRow) -> Value {
    let mut v = Map::new();
    v.insert("model".into(), row.model.clone().into());
    v.insert("key".into(), row.key.clone().into());
    v.insert("label".into(), row.label.clone().into());
    v.insert("type".into(), row.field_type.clone().into());
    if let Some(d) = &row.description {
        v.insert("description".into(), d.clone().into());
    }
    if row.options.as_array().is_some_and(|o| !o.is_empty()) {
        v.insert("options".into(), row.options.clone());
    }
    Value::Object(v)
}

/// The workspace's configuration as a file, in a stable order (so that exports diff well).
pub async fn export(state: &AppState, ws: WorkspaceId) -> ApiResult<ConfigFile> {
    let mut fields = state.store.list_custom_fields(ws, None).await?;
    fields.sort_by(|a, b| (&a.model, &a.key).cmp(&(&b.model, &b.key)));
    let config = state.config.get(&state.store, ws).await?;
    let mut import_filters: Vec<ImportFilter> =
        config.filters.values().map(|f| f.config.clone()).collect();
    import_filters.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(ConfigFile {
        custom_fields: fields.iter().map(field_json).collect(),
        roles: config.roles.clone(),
        import_filters,
        derivation: crate::derived::stored(&state.store, ws).await?,
    })
}

/// Reads one `customFields[i]` entry; errors carry paths from the entry.
fn field_entry(item: &Value) -> Result<FieldEntry, ConfigError> {
    let Value::Object(map) = item else {
        return Err(ConfigError::new("", "must be an object"));
    };
    let model = match map.get("model").and_then(Value::as_str) {
        Some(m) if MODELS.contains(&m) => m.to_owned(),
        _ => {
            return Err(ConfigError::new(
                "model",
                format!("must be one of {}", MODELS.join(", ")),
            ));
        }
    };
    let mut rest = map.clone();
    rest.remove("model");
    let definition = crate::routes::custom_objects::definition(&Body(rest))
        .map_err(|e| ConfigError::new(e.field.clone().unwrap_or_default(), e.message))?;
    Ok(FieldEntry { model, definition })
}

/// Every problem of the file, with its path.
async fn check(
    state: &AppState,
    ws: WorkspaceId,
    file: &ConfigFile,
) -> ApiResult<Result<Vec<FieldEntry>, Vec<ConfigError>>> {
    let mut errors = Vec::new();
    let mut fields = Vec::with_capacity(file.custom_fields.len());
    let mut seen = HashSet::new();
    for (i, item) in file.custom_fields.iter().enumerate() {
        let path = format!("customFields[{i}]");
        match field_entry(item) {
            Ok(entry) => {
                if !seen.insert((entry.model.clone(), entry.definition.key.clone())) {
                    errors.push(ConfigError::new(
                        format!("{path}.key"),
                        format!(
                            "{:?} is defined twice on {}",
                            entry.definition.key, entry.model
                        ),
                    ));
                }
                fields.push(entry);
            }
            Err(e) => errors.push(ConfigError::new(super::join(&path, &e.path), e.message)),
        }
    }
    let section = RolesAndSources {
        roles: file.roles.clone(),
        import_filters: file.import_filters.clone(),
    };
    if let Err(e) = section.validate() {
        errors.extend(e);
    }
    let keys = state.store.list_api_keys(ws).await?;
    for (i, filter) in file.import_filters.iter().enumerate() {
        let known = match Source::parse(&filter.source) {
            Some(Source::ApiKey(id)) => keys.iter().any(|k| k.id == id),
            None => false,
        };
        if !known {
            errors.push(ConfigError::new(
                format!("importFilters[{i}].source"),
                format!("`{}` is not an API key of this workspace", filter.source),
            ));
        }
    }
    if let Some(derivation) = &file.derivation {
        // Rules are checked against the fields the file defines, not the current ones.
        let schema = crate::derived::schema(
            fields.iter().map(|f| {
                (
                    f.model.as_str(),
                    f.definition.key.as_str(),
                    f.definition.field_type.as_str(),
                )
            }),
            file.roles.key_roles.iter().map(|r| r.key.as_str()),
        );
        if let Err(problems) = crate::derived::compile(derivation, &schema) {
            errors.extend(
                problems
                    .into_iter()
                    .map(|e| ConfigError::new(super::join("derivation", &e.path), e.message)),
            );
        }
    }
    Ok(if errors.is_empty() {
        Ok(fields)
    } else {
        Err(errors)
    })
}

/// The writes that turn the workspace's configuration into the file's.
async fn writes_for(
    state: &AppState,
    ws: WorkspaceId,
    file: &ConfigFile,
    fields: Vec<FieldEntry>,
) -> ApiResult<Vec<Write>> {
    let mut writes = Vec::new();
    let mut existing: BTreeMap<(String, String), CustomFieldRow> = state
        .store
        .list_custom_fields(ws, None)
        .await?
        .into_iter()
        .map(|row| ((row.model.clone(), row.key.clone()), row))
        .collect();
    for FieldEntry { model, definition } in fields {
        match existing.remove(&(model.clone(), definition.key.clone())) {
            Some(row) => {
                let same = row.label == definition.label
                    && row.field_type == definition.field_type
                    && row.description == definition.description
                    && row.options == definition.options;
                if !same {
                    writes.push(Write::UpdateCustomField {
                        target: row.id,
                        fields: CustomFieldFields {
                            label: Some(definition.label),
                            field_type: Some(definition.field_type),
                            description: Some(definition.description),
                            options: Some(definition.options),
                        },
                    });
                }
            }
            None => writes.push(Write::CreateCustomField {
                model,
                key: definition.key,
                label: definition.label,
                field_type: definition.field_type,
                description: definition.description,
                options: definition.options,
            }),
        }
    }
    writes.extend(
        existing
            .into_values()
            .map(|row| Write::DeleteCustomField { target: row.id }),
    );

    let roles = file
        .roles
        .key_roles
        .iter()
        .filter_map(|r| RoleKey::parse("key", &r.key).ok())
        .collect();
    writes.push(Write::Config(ConfigWrite::PutRoles {
        name: ROLES.to_owned(),
        value: serde_json::to_value(&file.roles).map_err(ApiError::internal)?,
        roles,
    }));

    let current = state.config.get(&state.store, ws).await?;
    let mut kept = HashSet::new();
    for filter in &file.import_filters {
        if let Some(source) = Source::parse(&filter.source) {
            kept.insert(source);
            let mut filter = filter.clone();
            filter.source = source.as_string();
            writes.push(Write::Config(ConfigWrite::Put {
                name: source.document_name(),
                value: serde_json::to_value(&filter).map_err(ApiError::internal)?,
            }));
        }
    }
    writes.extend(
        current
            .filters
            .keys()
            .filter(|source| !kept.contains(*source))
            .map(|source| {
                Write::Config(ConfigWrite::Delete {
                    name: source.document_name(),
                })
            }),
    );
    writes.push(Write::Config(match &file.derivation {
        Some(value) => ConfigWrite::Put {
            name: crate::derived::DOCUMENT.to_owned(),
            value: value.clone(),
        },
        None => ConfigWrite::Delete {
            name: crate::derived::DOCUMENT.to_owned(),
        },
    }));
    Ok(writes)
}

/// Makes the workspace's configuration the file's, all or nothing; answers the new export.
pub async fn apply(state: &AppState, ws: WorkspaceId, file: ConfigFile) -> ApiResult<ConfigFile> {
    let fields = check(state, ws, &file)
        .await?
        .map_err(|errors| super::into_api_error("", errors))?;
    let writes = writes_for(state, ws, &file, fields).await?;
    let result = state.writer.write(ws, Write::All(writes)).await;
    state.config.forget(ws);
    result?;
    crate::derived::configure(
        &state.store,
        &state.engine,
        ws,
        file.derivation.as_ref(),
        state.clock.now(),
    )
    .await?;
    export(state, ws).await
}
