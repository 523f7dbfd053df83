//! Trait values are checked against the workspace's custom field definitions before a write:
//! a trait with a definition must have a value of its type (`null` deletes, always allowed).
//! Traits without a definition are free-form, as data from integrations usually is.

use serde_json::Value;
use steward_engine::domain::TraitPatch;
use steward_engine::ids::WorkspaceId;
use steward_store::rows::CustomFieldRow;
use steward_store::write::{IngestAction, Write};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use steward_store::Store;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::parse_instant;

/// The custom field definitions of each workspace, kept in memory so that checking a write
/// costs no query. The writer forgets a workspace's entry whenever one of its definitions
/// changes; a generation counter keeps a load that raced with such a change from caching the
/// old definitions.
#[derive(Default)]
pub struct Definitions {
    by_workspace: RwLock<HashMap<WorkspaceId, Arc<Vec<CustomFieldRow>>>>,
    generation: AtomicU64,
}

impl Definitions {
    pub async fn get(
        &self,
        store: &Store,
        workspace: WorkspaceId,
    ) -> ApiResult<Arc<Vec<CustomFieldRow>>> {
        if let Some(found) = self
            .by_workspace
            .read()
            .expect("definitions lock")
            .get(&workspace)
        {
            return Ok(found.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let loaded = Arc::new(store.list_custom_fields(workspace, None).await?);
        let mut cache = self.by_workspace.write().expect("definitions lock");
        if self.generation.load(Ordering::SeqCst) == generation {
            cache.insert(workspace, loaded.clone());
        }
        Ok(loaded)
    }

    /// Called by the writer after a definition of `workspace` was created, changed or deleted.
    pub fn forget(&self, workspace: WorkspaceId) {
        let mut cache = self.by_workspace.write().expect("definitions lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        cache.remove(&workspace);
    }
}

/// Whether a write changes custom field definitions.
pub fn changes_definitions(write: &Write) -> bool {
    match write {
        Write::All(writes) => writes.iter().any(changes_definitions),
        _ => matches!(
            write,
            Write::CreateCustomField { .. }
                | Write::UpdateCustomField { .. }
                | Write::DeleteCustomField { .. }
        ),
    }
}

/// The model and traits a write sets, if it sets any.
fn traits_of(write: &Write) -> Option<(&'static str, &TraitPatch)> {
    match write.unwrapped() {
        Write::UpsertOrganization { fields, .. } | Write::UpdateOrganization { fields, .. } => {
            Some(("organizations", &fields.traits))
        }
        Write::UpsertAccount { fields, .. } | Write::UpdateAccount { fields, .. } => {
            Some(("accounts", &fields.traits))
        }
        Write::UpsertUser { fields, .. } | Write::UpdateUser { fields, .. } => {
            Some(("users", &fields.traits))
        }
        _ => None,
    }
}

/// Every (path prefix, model, traits) a write sets; ingestion batches name each message.
fn all_traits<'w>(write: &'w Write, list: &str) -> Vec<(String, &'static str, &'w TraitPatch)> {
    match write {
        Write::Ingest(ops) => ops
            .iter()
            .enumerate()
            .flat_map(|(i, op)| {
                op.actions.iter().filter_map(move |a| match a {
                    IngestAction::Record(w) => {
                        traits_of(w).map(|(m, t)| (format!("{list}[{i}].traits"), m, t))
                    }
                    _ => None,
                })
            })
            .collect(),
        other => traits_of(other)
            .map(|(m, t)| ("traits".to_owned(), m, t))
            .into_iter()
            .collect(),
    }
}

/// Refuses a write whose traits do not match their definitions. `list` names an ingestion
/// request's message list in error paths (`batch` gives `batch[3].traits.seats`).
pub async fn check(
    state: &AppState,
    workspace: WorkspaceId,
    write: &Write,
    list: &str,
) -> ApiResult<()> {
    crate::object_traits::check(state, workspace, write, list).await?;
    let sets = all_traits(write, list);
    if sets.iter().all(|(_, _, t)| t.is_empty()) {
        return Ok(());
    }
    let definitions = state.definitions.get(&state.store, workspace).await?;
    for (prefix, model, traits) in sets {
        for (key, value) in traits.entries() {
            if let Some(def) = definitions
                .iter()
                .find(|d| d.model == model && d.key == *key)
            {
                check_value(def, value).map_err(|expected| {
                    let field = format!("{prefix}.{key}");
                    ApiError::field(
                        ErrorCode::InvalidField,
                        field.clone(),
                        format!(
                            "`{field}` must be {expected} (custom field `{}`)",
                            def.label
                        ),
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// `Err` says what the value should have been.
pub(crate) fn check_value(def: &CustomFieldRow, value: &Value) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    let options: Vec<&str> = def
        .options
        .as_array()
        .map(|o| {
            o.iter()
                .filter_map(|x| x.get("value").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let allowed = |v: &str| options.is_empty() || options.contains(&v);
    let ok = match def.field_type.as_str() {
        "string" | "textarea" | "teamMember" => value.is_string(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "date" => value.as_str().is_some_and(|s| parse_instant(s).is_some()),
        "picklist" => value.as_str().is_some_and(allowed),
        "multiselect" => value
            .as_array()
            .is_some_and(|items| items.iter().all(|i| i.as_str().is_some_and(allowed))),
        _ => true,
    };
    if ok {
        return Ok(());
    }
    Err(match def.field_type.as_str() {
        "string" | "textarea" | "teamMember" => "a string".to_owned(),
        "number" => "a number".to_owned(),
        "boolean" => "true or false".to_owned(),
        "date" => "an ISO-8601 date or date-time".to_owned(),
        "picklist" => format!("one of {}", options.join(", ")),
        _ => format!("an array of values from {}", options.join(", ")),
    })
}
