//! A workspace's whole configuration as one document, to review and version as code:
//! `GET /resources/config` (and `steward config export`) answers it, `PUT /resources/config`
//! (and `steward config apply FILE`) makes the workspace match it.
//!
//! The file is declarative: what it lists is what the workspace has afterwards. Custom fields
//! it leaves out are deleted (the traits themselves stay, untyped), as are import filters of
//! sources it leaves out and custom objects without live instances (an object the file leaves
//! out that still has instances refuses the file: it never deletes customer data by omission). A file with any problem is refused whole, with every problem named
//! by its path; a valid one is written in one transaction.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use steward_engine::RoleKey;
use steward_engine::custom_objects::CustomObjectName;
use steward_engine::derive::SchemaInput;
use steward_engine::ids::WorkspaceId;
use steward_engine::page::{PageRequest, SortBy};
use steward_store::assign::ConfigWrite;
use steward_store::custom_objects::InstanceScope;
use steward_store::rows::{CustomFieldRow, CustomObjectRow, Listed};
use steward_store::write::{
    CustomFieldFields, CustomObjectFields, FieldDefinition, RecordRef, Write,
};

use super::cache::ROLES;
use super::import_filters::{ImportFilter, Source};
use super::roles::RolesConfig;
use super::{ConfigError, RolesAndSources};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Member};
use crate::routes::custom_fields::MODELS;
use crate::routes::custom_objects;

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
    /// `[{name, label?, customFields?}]`, as `POST /customObjects` takes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_objects: Vec<Value>,
    /// Formula traits, rollups, lifecycle and user deactivation rules (docs/derivation.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivation: Option<Value>,
}

/// A custom object as the file lists it.
#[derive(Clone, Debug, PartialEq)]
struct ObjectEntry {
    name: String,
    label: String,
    fields: Vec<FieldDefinition>,
}

/// What the file checks to: custom fields and custom objects.
struct Checked {
    fields: Vec<FieldEntry>,
    objects: Vec<ObjectEntry>,
}

/// Every custom object of the workspace, by name.
async fn all_objects(
    state: &AppState,
    ws: WorkspaceId,
) -> ApiResult<BTreeMap<String, CustomObjectRow>> {
    let mut out = BTreeMap::new();
    let mut page = PageRequest::first(SortBy::CreatedAt, PageRequest::MAX_LIMIT);
    loop {
        let rows = state.store.list_custom_objects(ws, &page).await?;
        let Some(last) = rows.last() else { break };
        page.after = Some(last.page_key(SortBy::CreatedAt));
        let full = rows.len() == page.limit;
        out.extend(rows.into_iter().map(|r| (r.name.clone(), r)));
        if !full {
            break;
        }
    }
    Ok(out)
}

fn object_json(row: &CustomObjectRow) -> Value {
    let mut fields: Vec<&CustomFieldRow> = row.fields.iter().collect();
    fields.sort_by(|a, b| a.key.cmp(&b.key));
    let fields = fields
        .into_iter()
        .map(|f| {
            let mut v = field_json(f);
            if let Value::Object(map) = &mut v {
                map.remove("model");
            }
            v
        })
        .collect();
    let mut v = Map::new();
    v.insert("name".into(), row.name.clone().into());
    v.insert("label".into(), row.label.clone().into());
    v.insert("customFields".into(), Value::Array(fields));
    Value::Object(v)
}

/// Reads one `customObjects[i]` entry; errors carry paths from the entry.
fn object_entry(item: &Value) -> Result<ObjectEntry, ConfigError> {
    let Value::Object(map) = item else {
        return Err(ConfigError::new("", "must be an object"));
    };
    if let Some(unknown) = map
        .keys()
        .find(|k| !["name", "label", "customFields"].contains(&k.as_str()))
    {
        return Err(ConfigError::new(
            unknown.as_str(),
            "unknown member (a custom object has `name`, `label`, `customFields`)",
        ));
    }
    let body = Body(map.clone());
    let problem = |e: ApiError| ConfigError::new(e.field.unwrap_or_default(), e.message);
    let name = match body.string("name").map_err(problem)? {
        Member::Set(n) => CustomObjectName::parse("name", &n)
            .map_err(|e| ConfigError::new("name", e.message))?
            .as_str()
            .to_owned(),
        _ => return Err(ConfigError::new("name", "`name` is required")),
    };
    let label = custom_objects::label(&body)
        .map_err(problem)?
        .unwrap_or_else(|| name.clone());
    let fields = custom_objects::definitions(&body)
        .map_err(problem)?
        .unwrap_or_default();
    Ok(ObjectEntry {
        name,
        label,
        fields,
    })
}

/// The file's custom objects, and for objects it leaves out, whether they may go: an object
/// with live (not archived) instances is not deleted by a file.
async fn check_objects(
    state: &AppState,
    ws: WorkspaceId,
    file: &ConfigFile,
    errors: &mut Vec<ConfigError>,
) -> ApiResult<Vec<ObjectEntry>> {
    let mut objects: Vec<ObjectEntry> = Vec::with_capacity(file.custom_objects.len());
    for (i, item) in file.custom_objects.iter().enumerate() {
        let path = format!("customObjects[{i}]");
        match object_entry(item) {
            Ok(entry) if objects.iter().any(|o| o.name == entry.name) => {
                errors.push(ConfigError::new(
                    format!("{path}.name"),
                    format!("custom object {:?} is defined twice", entry.name),
                ));
            }
            Ok(entry) => objects.push(entry),
            Err(e) => errors.push(ConfigError::new(super::join(&path, &e.path), e.message)),
        }
    }
    for (name, row) in all_objects(state, ws).await? {
        if objects.iter().any(|o| o.name == name) {
            continue;
        }
        let first = PageRequest::first(SortBy::CreatedAt, 1);
        let live = state
            .store
            .list_custom_object_instances(ws, row.id, InstanceScope::All, false, &first)
            .await?;
        if !live.is_empty() {
            errors.push(ConfigError::new(
                "customObjects",
                format!(
                    "custom object {name:?} is not in the file but has instances; keep it in the file, or archive or delete its instances first"
                ),
            ));
        }
    }
    Ok(objects)
}

/// The writes that make the workspace's custom objects the file's.
async fn object_writes(
    state: &AppState,
    ws: WorkspaceId,
    objects: Vec<ObjectEntry>,
) -> ApiResult<Vec<Write>> {
    let mut existing = all_objects(state, ws).await?;
    let mut writes = Vec::new();
    for object in objects {
        match existing.remove(&object.name) {
            Some(row) => {
                let mut current: Vec<FieldDefinition> =
                    row.fields.iter().map(definition_of).collect();
                let mut wanted = object.fields.clone();
                current.sort_by(|a, b| a.key.cmp(&b.key));
                wanted.sort_by(|a, b| a.key.cmp(&b.key));
                if row.label != object.label || current != wanted {
                    writes.push(Write::UpdateCustomObject {
                        target: RecordRef(row.id.to_string()),
                        fields: CustomObjectFields {
                            label: Some(object.label),
                            fields: Some(object.fields),
                        },
                    });
                }
            }
            None => writes.push(Write::CreateCustomObject {
                name: CustomObjectName::parse("name", &object.name).map_err(ApiError::from)?,
                label: object.label,
                fields: object.fields,
            }),
        }
    }
    writes.extend(existing.into_values().map(|row| Write::DeleteCustomObject {
        target: RecordRef(row.id.to_string()),
        if_empty: true,
    }));
    Ok(writes)
}

fn definition_of(row: &CustomFieldRow) -> FieldDefinition {
    FieldDefinition {
        key: row.key.clone(),
        label: row.label.clone(),
        field_type: row.field_type.clone(),
        description: row.description.clone(),
        options: row.options.clone(),
    }
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
        custom_objects: all_objects(state, ws)
            .await?
            .values()
            .map(object_json)
            .collect(),
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

/// The schema the file's rules are checked against: its custom fields and roles.
fn file_schema_of(fields: &[FieldEntry], file: &ConfigFile) -> SchemaInput {
    crate::derived::schema(
        fields.iter().map(|f| {
            (
                f.model.as_str(),
                f.definition.key.as_str(),
                f.definition.field_type.as_str(),
            )
        }),
        file.roles.key_roles.iter().map(|r| r.key.as_str()),
    )
}

fn file_schema(checked: &Checked, file: &ConfigFile) -> SchemaInput {
    file_schema_of(&checked.fields, file)
}

/// Every problem of the file, with its path.
async fn check(
    state: &AppState,
    ws: WorkspaceId,
    file: &ConfigFile,
) -> ApiResult<Result<Checked, Vec<ConfigError>>> {
    let mut errors = Vec::new();
    let objects = check_objects(state, ws, file, &mut errors).await?;
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
        let schema = file_schema_of(&fields, file);
        if let Err(problems) = crate::derived::compile(derivation, &schema) {
            errors.extend(
                problems
                    .into_iter()
                    .map(|e| ConfigError::new(super::join("derivation", &e.path), e.message)),
            );
        }
    }
    Ok(if errors.is_empty() {
        Ok(Checked { fields, objects })
    } else {
        Err(errors)
    })
}

/// The writes that turn the workspace's configuration into the file's.
async fn writes_for(
    state: &AppState,
    ws: WorkspaceId,
    file: &ConfigFile,
    checked: Checked,
) -> ApiResult<Vec<Write>> {
    let Checked { fields, objects } = checked;
    let mut writes = object_writes(state, ws, objects).await?;
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
    let checked = check(state, ws, &file)
        .await?
        .map_err(|errors| super::into_api_error("", errors))?;
    let schema = file_schema(&checked, &file);
    let writes = writes_for(state, ws, &file, checked).await?;
    // The rules are installed in the engine with the file, in the same transaction: the
    // status transitions a rule edit causes are stored with it.
    let then = crate::writer::Then::Configure {
        config: file.derivation.clone(),
        schema,
    };
    let result = state.writer.write_then(ws, Write::All(writes), then).await;
    state.config.forget(ws);
    result?;
    export(state, ws).await
}
