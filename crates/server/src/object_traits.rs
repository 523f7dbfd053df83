//! Custom object instances' traits are checked against their object's custom field
//! definitions, with the same rules and errors as other records' traits (`trait_types`). The
//! object is read per request (it carries its definitions); an analytics message naming an
//! object that does not exist is refused here with a 400 naming its `customObjectId`.

use std::collections::HashMap;

use steward_engine::domain::TraitPatch;
use steward_engine::ids::WorkspaceId;
use steward_store::rows::CustomObjectRow;
use steward_store::write::{IngestAction, RecordRef, Write};

use crate::app::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The object and traits an instance write names.
fn instance_of(write: &Write) -> Option<(&RecordRef, &TraitPatch)> {
    match write {
        Write::UpsertCustomObjectInstance { object, fields, .. }
        | Write::UpdateCustomObjectInstance { object, fields, .. } => {
            Some((object, &fields.traits))
        }
        _ => None,
    }
}

/// `(message path, object, traits)` of every instance write; `list` as in `trait_types`.
fn instances<'w>(write: &'w Write, list: &str) -> Vec<(String, &'w RecordRef, &'w TraitPatch)> {
    match write {
        Write::Ingest(ops) => ops
            .iter()
            .enumerate()
            .flat_map(|(i, op)| {
                op.actions.iter().filter_map(move |a| match a {
                    IngestAction::Record(w) => {
                        instance_of(w).map(|(o, t)| (format!("{list}[{i}]"), o, t))
                    }
                    _ => None,
                })
            })
            .collect(),
        other => instance_of(other)
            .map(|(o, t)| (String::new(), o, t))
            .into_iter()
            .collect(),
    }
}

fn path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

pub async fn check(
    state: &AppState,
    workspace: WorkspaceId,
    write: &Write,
    list: &str,
) -> ApiResult<()> {
    let mut objects: HashMap<&str, CustomObjectRow> = HashMap::new();
    for (prefix, object, traits) in instances(write, list) {
        if !objects.contains_key(object.0.as_str()) {
            let found = state.store.find_custom_object(workspace, object).await?;
            let Some(found) = found else {
                let field = path(&prefix, "customObjectId");
                return Err(ApiError::field(
                    ErrorCode::InvalidReference,
                    field.clone(),
                    format!(
                        "`{field}` names a custom object that does not exist: {:?}",
                        object.0
                    ),
                ));
            };
            objects.insert(object.0.as_str(), found);
        }
        let definitions = &objects[object.0.as_str()].fields;
        for (key, value) in traits.entries() {
            if let Some(def) = definitions.iter().find(|d| d.key == *key) {
                crate::trait_types::check_value(def, value).map_err(|expected| {
                    let field = path(&prefix, &format!("traits.{key}"));
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
