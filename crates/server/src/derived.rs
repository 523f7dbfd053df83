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
use steward_store::write::{Outcome, Write, Written};
use steward_store::{PendingBatch, RecordTable, Store};

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

/// Every record of a workspace with its name, traits and columns rules read: what a
/// configuration is computed from.
pub struct Loaded {
    records: Vec<(RecordRef, Input)>,
}

/// Reads what [`install_compiled`] needs: every record of the workspace (committed data).
pub async fn load(store: &Store, ws: WorkspaceId) -> ApiResult<Loaded> {
    let mut records: Vec<(RecordRef, Input)> = Vec::new();
    store
        .for_each_record(ws, &mut |r| {
            let record = match r.table {
                RecordTable::Organizations => RecordRef::Organization(OrganizationId(r.id)),
                RecordTable::Accounts => RecordRef::Account(AccountId(r.id)),
                RecordTable::Users => RecordRef::User(UserId(r.id)),
            };
            let traits = serde_json::from_str(r.traits).unwrap_or_default();
            let extra = (r.table == RecordTable::Users).then(|| user_columns(r.email, r.joined_at));
            records.push((record, (r.name.to_owned(), traits, extra)));
            Ok(())
        })
        .await?;
    Ok(Loaded { records })
}

/// The schema stored rules are compiled against: the stored custom fields, any key role.
pub async fn stored_schema(store: &Store, ws: WorkspaceId) -> ApiResult<SchemaInput> {
    let fields = store.list_custom_fields(ws, None).await?;
    let mut schema = schema(
        fields
            .iter()
            .map(|f| (f.model.as_str(), f.key.as_str(), f.field_type.as_str())),
        [],
    );
    // Stored rules compiled again; a role removed since reads null rather than failing.
    schema.any_key_role = true;
    Ok(schema)
}

/// Compiles a derivation configuration (`None`: none, which uninstalls the rules).
pub fn compile_or_empty(
    ws: WorkspaceId,
    config: Option<&Value>,
    schema: &SchemaInput,
) -> ApiResult<Compiled> {
    let empty = Value::Object(Map::new());
    compile(config.unwrap_or(&empty), schema).map_err(|errors| {
        ApiError::internal(format!(
            "derivation configuration of workspace {ws} does not compile: {}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })
}

/// Installs compiled rules in the engine, computing every record's values from `loaded`;
/// answers what changed (status transitions of rule edits, sticky state) for storage.
pub fn install_compiled(
    engine: &mut Engine,
    ws: WorkspaceId,
    compiled: Compiled,
    loaded: &Loaded,
    now: Millis,
) -> Vec<DerivedChange> {
    let inputs = loaded
        .records
        .iter()
        .map(|(record, (name, traits, extra))| RecordInput {
            record: *record,
            name: Some(name),
            traits,
            extra: extra.as_ref(),
        });
    engine.configure(ws, compiled, inputs, now)
}

/// Installs the workspace's stored derivation configuration at start-up (see
/// [`install_compiled`]).
pub async fn configure(
    store: &Store,
    engine: &mut Engine,
    ws: WorkspaceId,
    config: Option<&Value>,
    now: Millis,
) -> ApiResult<Vec<DerivedChange>> {
    let schema = stored_schema(store, ws).await?;
    let loaded = load(store, ws).await?;
    let compiled = compile_or_empty(ws, config, &schema)?;
    Ok(install_compiled(engine, ws, compiled, &loaded, now))
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

/// A record's name, traits and extra columns, as rules read them.
pub type Input = (String, Map<String, Value>, Option<Map<String, Value>>);

/// The current traits of every record a write touched, read inside its (not yet committed)
/// batch: the record the write left behind comes with the outcome, others (ingestion creates
/// and updates several) are read back through the batch.
pub async fn inputs(
    pending: &mut PendingBatch,
    ws: WorkspaceId,
    outcome: &Outcome,
) -> ApiResult<Vec<(RecordRef, Input)>> {
    let mut out = Vec::new();
    for record in touched(&outcome.changes) {
        let found = match (&outcome.written, record) {
            (Written::Organization(r), RecordRef::Organization(id)) if r.id == id => {
                Some((r.name.clone(), r.traits.clone(), None))
            }
            (Written::Account(r), RecordRef::Account(id)) if r.id == id => {
                Some((r.name.clone(), r.traits.clone(), None))
            }
            (Written::User(r), RecordRef::User(id)) if r.id == id => {
                let extra = user_columns(r.email.as_deref(), r.joined_at);
                Some((
                    r.name.clone().unwrap_or_default(),
                    r.traits.clone(),
                    Some(extra),
                ))
            }
            _ => pending.record(ws, record).await?.map(|r| {
                let extra = matches!(record, RecordRef::User(_))
                    .then(|| user_columns(r.email.as_deref(), r.joined_at));
                (r.name, r.traits, extra)
            }),
        };
        out.extend(found.map(|input| (record, input)));
    }
    Ok(out)
}

/// Feeds the engine the traits of the records a write touched: every dependent value is
/// recomputed before the write is answered.
pub fn refresh(
    engine: &mut Engine,
    ws: WorkspaceId,
    inputs: &[(RecordRef, Input)],
    now: Millis,
) -> Vec<DerivedChange> {
    let mut reported = Vec::new();
    for (record, (name, traits, extra)) in inputs {
        reported.extend(engine.set_traits(
            ws,
            RecordInput {
                record: *record,
                name: Some(name),
                traits,
                extra: extra.as_ref(),
            },
            now,
        ));
    }
    reported
}

/// Whether storage keeps anything of these changes (lifecycle state, status history; derived
/// values themselves are not stored).
pub fn persistable(changes: &[DerivedChange]) -> bool {
    changes
        .iter()
        .any(|c| !matches!(c, DerivedChange::Value { .. }))
}

/// Stores what derived values reported in a transaction of their own: at start-up, where no
/// write caused them (the rules or the clock moved while the server was down). Writes store
/// theirs in their own batch (see `writer.rs`).
pub async fn persist(store: &Store, now: Millis, reported: Vec<(WorkspaceId, Vec<DerivedChange>)>) {
    let batch: Vec<(WorkspaceId, Write)> = reported
        .into_iter()
        .filter(|(_, changes)| persistable(changes))
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
/// the life of the server. The writer applies them, so what they change is stored with the
/// same guarantees as a write's.
pub async fn run_timers(
    engine: std::sync::Arc<RwLock<Engine>>,
    clock: std::sync::Arc<dyn steward_engine::Clock>,
    writer: crate::writer::Writer,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = clock.now();
        let due: Vec<WorkspaceId> = {
            let engine = engine.read().expect("engine lock");
            engine
                .derived_workspaces()
                .filter(|ws| engine.next_timer(*ws).is_some_and(|at| at <= now))
                .collect()
        };
        for ws in due {
            let done = writer
                .write_then(ws, Write::All(Vec::new()), crate::writer::Then::Advance)
                .await;
            if let Err(cause) = done {
                tracing::error!(?cause, "time-based rules could not move");
            }
        }
    }
}
