//! Workspaces and API keys from the command line and at start-up.

use steward_engine::ids::ApiKeyId;
use steward_engine::time::Millis;
use steward_store::rows::{ApiKeyRow, KeyRole, WorkspaceRow};
use steward_store::{Store, StoreError};

use crate::auth::{generate_key, hash_key, key_prefix};

/// The workspace `STEWARD_API_KEY` belongs to.
pub const DEFAULT_WORKSPACE: &str = "default";

pub async fn find_or_create_workspace(
    store: &Store,
    name: &str,
    now: Millis,
) -> Result<WorkspaceRow, StoreError> {
    if let Some(ws) = store.find_workspace(name).await? {
        return Ok(ws);
    }
    match store.create_workspace(name, now).await {
        // Lost a race with another process creating it: read theirs.
        Err(StoreError::Conflict(_)) => store
            .find_workspace(name)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("workspace {name} vanished"))),
        other => other,
    }
}

/// Stores `key` for `workspace` unless it is already stored (idempotent).
pub async fn register_key(
    store: &Store,
    workspace: &WorkspaceRow,
    key: &str,
    label: Option<&str>,
    role: KeyRole,
    now: Millis,
) -> Result<(), StoreError> {
    let hash = hash_key(key);
    if let Some(existing) = store.find_api_key(&hash).await? {
        if existing.workspace_id == workspace.id {
            return Ok(());
        }
        return Err(StoreError::Conflict(
            "this API key, for another workspace,".to_owned(),
        ));
    }
    store
        .create_api_key(&ApiKeyRow {
            id: ApiKeyId::generate(),
            workspace_id: workspace.id,
            key_hash: hash.to_vec(),
            prefix: key_prefix(key),
            label: label.map(str::to_owned),
            role,
            created_at: now,
        })
        .await
}

/// Makes sure the `default` workspace exists with `key` as an admin key.
pub async fn bootstrap_key(
    store: &Store,
    key: &str,
    now: Millis,
) -> Result<WorkspaceRow, StoreError> {
    let ws = find_or_create_workspace(store, DEFAULT_WORKSPACE, now).await?;
    register_key(
        store,
        &ws,
        key,
        Some("STEWARD_API_KEY"),
        KeyRole::Admin,
        now,
    )
    .await?;
    Ok(ws)
}

/// Creates a new random key for an existing workspace and returns it (shown once).
pub async fn create_key(
    store: &Store,
    workspace: &str,
    label: Option<&str>,
    role: KeyRole,
    now: Millis,
) -> Result<String, StoreError> {
    let ws = store
        .find_workspace(workspace)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("no workspace named `{workspace}` (create it with `steward workspace create {workspace}`)")))?;
    let key = generate_key();
    register_key(store, &ws, &key, label, role, now).await?;
    Ok(key)
}
