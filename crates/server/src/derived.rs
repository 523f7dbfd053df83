//! Derived values (formula traits, rollups, lifecycle, user deactivation) between storage and
//! the engine: the workspace's `derivation` configuration document is compiled against its
//! custom fields and installed in the engine with every record's traits; after each commit the
//! records a write touched are fed to the engine again; a timer task moves time-based rules.
//! The engine does the computing (see `docs/derivation.md`).

use std::sync::RwLock;

use serde_json::{Map, Value};
use steward_engine::derive::{
    self, Compiled, ConfigError, CustomFieldInput, DerivationConfig, SchemaInput,
};
use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::time::Millis;
use steward_engine::{DerivedChange, Engine, GraphChange, RecordInput, RecordRef};
use steward_store::write::{Outcome, RecordRef as StoreRef, Write, Written};
use steward_store::{RecordTable, Store};

use steward_engine::RoleKey;

use crate::error::{ApiError, ApiResult};

/// The configuration document holding the derivation configuration.
pub const DOCUMENT: &str = "derivation";

/// The names rules may use besides formulas and built-ins: these custom fields, users'
/// `email` and `joinedAt`, and the key-role fields of the built-in roles and `custom_roles`.
pub fn schema<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    custom_roles: impl IntoIterator<Item = &'a str>,
) -> SchemaInput {
    let roles = [RoleKey::CSM, RoleKey::ACCOUNT_EXECUTIVE]
        .into_iter()
        .chain(custom_roles);
    let mut extra_fields = derive::key_role_fields(roles);
    extra_fields.extend(derive::user_column_fields());
    SchemaInput {
        custom_fields: fields
            .into_iter()
            .filter_map(|(model, key, ty)| CustomFieldInput::parse(model, key, ty))
            .collect(),
        extra_fields,
        any_key_role: false,
    }
}

/// A user's columns rules read (`email`, `joinedAt`), for [`RecordInput::extra`].
pub fn user_columns(email: Option<&str>, joined_at: Option<Millis>) -> Map<String, Value> {
    let mut extra = Map::new();
    if let Some(email) = email {
        extra.insert("email".to_owned(), Value::String(email.to_owned()));
    }
    if let Some(at) = joined_at {
        extra.insert("joinedAt".to_owned(), Value::String(at.to_iso()));
    }
    extra
}

/// Compiles a configuration against a schema; errors carry paths from the configuration.
pub fn compile(config: &Value, schema: &SchemaInput) -> Result<Compiled, Vec<ConfigError>> {
    let parsed: DerivationConfig = serde_json::from_value(config.clone()).map_err(|e| {
        vec![ConfigError {
            path: String::new(),
            code: "invalid_config",
            message: e.to_string(),
            span: None,
        }]
    })?;
    derive::compile(&parsed, schema)
}

/// The workspace's stored derivation configuration, if any.
pub async fn stored(store: &Store, ws: WorkspaceId) -> ApiResult<Option<Value>> {
    Ok(store
        .config_documents(ws)
        .await?
        .into_iter()
        .find_map(|(name, value)| (name == DOCUMENT).then_some(value)))
}

/// Installs the workspace's derivation configuration (the stored document, `None` when it has
/// none) in the engine, computing every record's values from its stored traits.
pub async fn configure(
    store: &Store,
    engine: &RwLock<Engine>,
    ws: WorkspaceId,
    config: Option<&Value>,
    now: Millis,
) -> ApiResult<()> {
    let empty = Value::Object(Map::new());
    let config = config.unwrap_or(&empty);
    let fields = store.list_custom_fields(ws, None).await?;
    let mut schema = schema(
        fields
            .iter()
            .map(|f| (f.model.as_str(), f.key.as_str(), f.field_type.as_str())),
        [],
    );
    // Stored rules compiled once; a role removed since reads null rather than failing.
    schema.any_key_role = true;
    type Loaded = (RecordRef, String, Map<String, Value>, Map<String, Value>);
    let mut records: Vec<Loaded> = Vec::new();
    store
        .for_each_record(ws, &mut |r| {
            let record = match r.table {
                RecordTable::Organizations => RecordRef::Organization(OrganizationId(r.id)),
                RecordTable::Accounts => RecordRef::Account(AccountId(r.id)),
                RecordTable::Users => RecordRef::User(UserId(r.id)),
            };
            let traits = serde_json::from_str(r.traits).unwrap_or_default();
            let extra = user_columns(r.email, r.joined_at);
            records.push((record, r.name.to_owned(), traits, extra));
            Ok(())
        })
        .await?;
    // Compiled after the last await: it is not `Send`.
    let compiled = compile(config, &schema).map_err(|errors| {
        ApiError::internal(format!(
            "stored derivation configuration no longer compiles: {}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let inputs = records
        .iter()
        .map(|(record, name, traits, extra)| RecordInput {
            record: *record,
            name: Some(name),
            traits,
            extra: Some(extra),
        });
    let mut engine = engine.write().expect("engine lock");
    engine.configure(ws, compiled, inputs, now);
    Ok(())
}

/// The records a committed write created or changed.
fn touched(changes: &[GraphChange]) -> Vec<RecordRef> {
    let mut out: Vec<RecordRef> = changes
        .iter()
        .filter_map(|change| match change {
            GraphChange::UpsertOrganization { id, .. } => Some(RecordRef::Organization(*id)),
            GraphChange::UpsertAccount { id, .. } => Some(RecordRef::Account(*id)),
            GraphChange::UpsertUser { id, .. } => Some(RecordRef::User(*id)),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// After a commit: feeds the engine the current traits of every record the write touched, so
/// dependent values are current before the write is answered. The record a write left behind
/// comes with the outcome; others (ingestion creates and updates several) are read back.
/// Workspaces without derived values skip this entirely.
pub async fn refresh(
    store: &Store,
    engine: &RwLock<Engine>,
    ws: WorkspaceId,
    outcome: &Outcome,
    now: Millis,
) -> ApiResult<Vec<DerivedChange>> {
    let mut reported = Vec::new();
    if !engine.read().expect("engine lock").is_derived(ws) {
        return Ok(reported);
    }
    for record in touched(&outcome.changes) {
        let found = match (&outcome.written, record) {
            (Written::Organization(r), RecordRef::Organization(id)) if r.id == id => {
                Some((r.name.clone(), r.traits.clone(), None))
            }
            (Written::Account(r), RecordRef::Account(id)) if r.id == id => {
                Some((r.name.clone(), r.traits.clone(), None))
            }
            (Written::User(r), RecordRef::User(id)) if r.id == id => Some(user_input(r.clone())),
            (_, RecordRef::Organization(id)) => store
                .find_organization(ws, &StoreRef(id.to_string()))
                .await?
                .map(|r| (r.name, r.traits, None)),
            (_, RecordRef::Account(id)) => store
                .find_account(ws, &StoreRef(id.to_string()))
                .await?
                .map(|r| (r.name, r.traits, None)),
            (_, RecordRef::User(id)) => store
                .find_user(ws, &StoreRef(id.to_string()))
                .await?
                .map(user_input),
        };
        if let Some((name, traits, extra)) = found {
            reported.extend(engine.write().expect("engine lock").set_traits(
                ws,
                RecordInput {
                    record,
                    name: Some(&name),
                    traits: &traits,
                    extra: extra.as_ref(),
                },
                now,
            ));
        }
    }
    Ok(reported)
}

type Input = (String, Map<String, Value>, Option<Map<String, Value>>);

fn user_input(row: steward_store::rows::UserRow) -> Input {
    let extra = user_columns(row.email.as_deref(), row.joined_at);
    (row.name.unwrap_or_default(), row.traits, Some(extra))
}

/// Stores what derived values reported (sticky lifecycle state, status transitions) in one
/// transaction. Best effort after the write that caused it committed: if this fails, the
/// engine still holds the state and the next change of the record persists it again.
pub async fn persist(store: &Store, now: Millis, reported: Vec<(WorkspaceId, Vec<DerivedChange>)>) {
    let batch: Vec<(WorkspaceId, Write)> = reported
        .into_iter()
        .filter(|(_, changes)| {
            changes
                .iter()
                .any(|c| !matches!(c, DerivedChange::Value { .. }))
        })
        .map(|(ws, changes)| (ws, Write::Derived(changes)))
        .collect();
    if batch.is_empty() {
        return;
    }
    match store.apply_batch(now, &batch).await {
        Ok(results) => {
            for cause in results.into_iter().filter_map(Result::err) {
                tracing::error!(?cause, "lifecycle state could not be stored");
            }
        }
        Err(cause) => tracing::error!(%cause, "lifecycle state could not be stored"),
    }
}

/// Moves time-based rules (trial ends, "in the last N days") when their moment comes; runs for
/// the life of the server.
pub async fn run_timers(
    store: Store,
    engine: std::sync::Arc<RwLock<Engine>>,
    clock: std::sync::Arc<dyn steward_engine::Clock>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = clock.now();
        let reported: Vec<(WorkspaceId, Vec<DerivedChange>)> = {
            let mut engine = engine.write().expect("engine lock");
            let due: Vec<WorkspaceId> = engine
                .derived_workspaces()
                .filter(|ws| engine.next_timer(*ws).is_some_and(|at| at <= now))
                .collect();
            due.into_iter()
                .map(|ws| (ws, engine.advance(ws, now)))
                .collect()
        };
        persist(&store, now, reported).await;
    }
}
