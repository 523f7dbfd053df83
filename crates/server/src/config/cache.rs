//! The configuration documents of each workspace, parsed and compiled once and kept in
//! memory, so that checking a write against them costs no query. Configuration endpoints
//! call [`ConfigCache::forget`] after their write commits; a generation counter keeps a load
//! that raced with such a write from caching what it read before (as `trait_types`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use steward_engine::ids::WorkspaceId;
use steward_store::Store;

use super::import_filters::{CompiledFilter, ImportFilter, Source};
use super::roles::RolesConfig;
use crate::error::ApiResult;

/// The name of the roles document.
pub const ROLES: &str = "roles";
/// Import filter documents are named `importFilter/<source>`.
pub const IMPORT_FILTER_PREFIX: &str = "importFilter/";

/// One workspace's configuration.
#[derive(Debug, Default)]
pub struct WorkspaceConfig {
    pub roles: RolesConfig,
    pub filters: HashMap<Source, CompiledFilter>,
}

#[derive(Default)]
pub struct ConfigCache {
    by_workspace: RwLock<HashMap<WorkspaceId, Arc<WorkspaceConfig>>>,
    generation: AtomicU64,
    /// Records each source was refused creating, since the server started.
    ignored: Mutex<HashMap<(WorkspaceId, Source), u64>>,
}

impl ConfigCache {
    pub async fn get(
        &self,
        store: &Store,
        workspace: WorkspaceId,
    ) -> ApiResult<Arc<WorkspaceConfig>> {
        if let Some(found) = self
            .by_workspace
            .read()
            .expect("config lock")
            .get(&workspace)
        {
            return Ok(found.clone());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let loaded = Arc::new(load(store, workspace).await?);
        let mut cache = self.by_workspace.write().expect("config lock");
        if self.generation.load(Ordering::SeqCst) == generation {
            cache.insert(workspace, loaded.clone());
        }
        Ok(loaded)
    }

    /// Called after a configuration document of `workspace` was written.
    pub fn forget(&self, workspace: WorkspaceId) {
        let mut cache = self.by_workspace.write().expect("config lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        cache.remove(&workspace);
    }

    pub fn count_ignored(&self, workspace: WorkspaceId, source: Source, n: u64) {
        *self
            .ignored
            .lock()
            .expect("ignored lock")
            .entry((workspace, source))
            .or_default() += n;
    }

    pub fn ignored(&self, workspace: WorkspaceId, source: Source) -> u64 {
        self.ignored
            .lock()
            .expect("ignored lock")
            .get(&(workspace, source))
            .copied()
            .unwrap_or(0)
    }
}

async fn load(store: &Store, workspace: WorkspaceId) -> ApiResult<WorkspaceConfig> {
    let mut config = WorkspaceConfig::default();
    for (name, value) in store.config_documents(workspace).await? {
        // Documents were validated before they were stored; one that no longer reads (a
        // newer version wrote it?) is skipped rather than taking the workspace down.
        if name == ROLES {
            match serde_json::from_value::<RolesConfig>(value) {
                Ok(roles) => config.roles = roles,
                Err(e) => {
                    tracing::error!(%workspace, error = %e, "unreadable roles configuration ignored")
                }
            }
        } else if name.starts_with(IMPORT_FILTER_PREFIX) {
            let compiled = serde_json::from_value::<ImportFilter>(value)
                .map_err(|e| e.to_string())
                .and_then(|f| f.compile().map_err(|e| format!("{e:?}")));
            match compiled {
                Ok(filter) => {
                    config.filters.insert(filter.source, filter);
                }
                Err(e) => {
                    tracing::error!(%workspace, name, error = %e, "unreadable import filter ignored")
                }
            }
        }
    }
    Ok(config)
}
