//! Custom objects in storage: the pieces both backends share (`custom_object_ops.rs` has the
//! SQL), and the [`Store`] operations.
//!
//! An object's custom field definitions are kept as JSON on the object's row: they are read
//! and written with the object and nowhere else, and it leaves the workspace-level
//! `custom_fields` table and its uniqueness rule (`model`, `key`) as they are.

use serde::{Deserialize, Serialize};
use steward_engine::ids::{AccountId, CustomFieldId, CustomObjectId, OrganizationId, WorkspaceId};
use steward_engine::page::PageRequest;
use steward_engine::time::Millis;

use crate::error::Result;
use crate::rows::{CustomFieldRow, CustomObjectInstanceRow, CustomObjectRow};
use crate::write::{FieldDefinition, RecordRef};
use crate::{Inner, Store, postgres, sqlite};

/// The `model` of a custom object's field definitions, as `/customFields` shows it.
pub const MODEL: &str = "customObjects";

pub(crate) const OBJECT_COLS: &str = "id, name, label, fields, created_at, updated_at";
pub(crate) const INSTANCE_COLS: &str = "id, custom_object_id, external_id, name, traits, account_id, organization_id, archived_at, created_at, updated_at";

/// Which instances of an object a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceScope {
    All,
    Account(AccountId),
    Organization(OrganizationId),
}

/// A field definition as stored in `custom_objects.fields`.
#[derive(Serialize, Deserialize)]
struct StoredField {
    id: uuid::Uuid,
    key: String,
    label: String,
    #[serde(rename = "type")]
    field_type: String,
    description: Option<String>,
    options: serde_json::Value,
    created_at: i64,
    updated_at: i64,
}

pub(crate) fn fields_from_json(text: &str) -> serde_json::Result<Vec<CustomFieldRow>> {
    let stored: Vec<StoredField> = serde_json::from_str(text)?;
    Ok(stored
        .into_iter()
        .map(|f| CustomFieldRow {
            id: CustomFieldId(f.id),
            model: MODEL.to_owned(),
            key: f.key,
            label: f.label,
            field_type: f.field_type,
            description: f.description,
            options: f.options,
            created_at: Millis(f.created_at),
            updated_at: Millis(f.updated_at),
        })
        .collect())
}

pub(crate) fn fields_to_json(fields: &[CustomFieldRow]) -> String {
    let stored: Vec<StoredField> = fields
        .iter()
        .map(|f| StoredField {
            id: f.id.0,
            key: f.key.clone(),
            label: f.label.clone(),
            field_type: f.field_type.clone(),
            description: f.description.clone(),
            options: f.options.clone(),
            created_at: f.created_at.0,
            updated_at: f.updated_at.0,
        })
        .collect();
    serde_json::to_string(&stored).expect("field definitions serialize")
}

/// A new definition row.
pub(crate) fn new_field(def: &FieldDefinition, now: Millis) -> CustomFieldRow {
    CustomFieldRow {
        id: CustomFieldId::generate(),
        model: MODEL.to_owned(),
        key: def.key.clone(),
        label: def.label.clone(),
        field_type: def.field_type.clone(),
        description: def.description.clone(),
        options: def.options.clone(),
        created_at: now,
        updated_at: now,
    }
}

/// The definitions `defs` describe, keeping the id and creation time of those whose key
/// already exists in `current`. Returns whether anything changed.
pub(crate) fn replace_fields(
    current: &mut Vec<CustomFieldRow>,
    defs: &[FieldDefinition],
    now: Millis,
) -> bool {
    let mut next = Vec::with_capacity(defs.len());
    for def in defs {
        let row = match current.iter().find(|f| f.key == def.key) {
            Some(old) => {
                let mut row = old.clone();
                row.label = def.label.clone();
                row.field_type = def.field_type.clone();
                row.description = def.description.clone();
                row.options = def.options.clone();
                if row != *old {
                    row.updated_at = now;
                }
                row
            }
            None => new_field(def, now),
        };
        next.push(row);
    }
    sort_fields(&mut next);
    let changed = next != *current;
    *current = next;
    changed
}

/// By label, as `/customFields` lists definitions (byte order: the same on every backend).
pub(crate) fn sort_fields(fields: &mut [CustomFieldRow]) {
    fields.sort_by(|a, b| a.label.cmp(&b.label).then(a.id.cmp(&b.id)));
}

impl Store {
    /// The object `r` names: its id, else its name.
    pub async fn find_custom_object(
        &self,
        ws: WorkspaceId,
        r: &RecordRef,
    ) -> Result<Option<CustomObjectRow>> {
        dispatch!(self.find_custom_object(ws, r))
    }

    pub async fn list_custom_objects(
        &self,
        ws: WorkspaceId,
        page: &PageRequest,
    ) -> Result<Vec<CustomObjectRow>> {
        dispatch!(self.list_custom_objects(ws, page))
    }

    /// An instance of `object` by its id, else its external id.
    pub async fn find_custom_object_instance(
        &self,
        ws: WorkspaceId,
        object: CustomObjectId,
        r: &RecordRef,
    ) -> Result<Option<CustomObjectInstanceRow>> {
        dispatch!(self.find_custom_object_instance(ws, object, r))
    }

    /// A page of an object's instances in `scope`: the archived ones when `archived`, else the
    /// others.
    pub async fn list_custom_object_instances(
        &self,
        ws: WorkspaceId,
        object: CustomObjectId,
        scope: InstanceScope,
        archived: bool,
        page: &PageRequest,
    ) -> Result<Vec<CustomObjectInstanceRow>> {
        dispatch!(self.list_custom_object_instances(ws, object, scope, archived, page))
    }
}
