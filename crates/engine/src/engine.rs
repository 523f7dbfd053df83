//! The engine: one [`Graph`] per workspace.

use foldhash::{HashMap, HashMapExt};

use crate::graph::{Graph, GraphChange};
use crate::ids::WorkspaceId;
use crate::metrics::{EventInput, Metrics};

/// All derived state, for every workspace. The server holds it behind a lock; the single
/// writer applies committed changes, readers ask questions.
#[derive(Debug, Default)]
pub struct Engine {
    graphs: HashMap<WorkspaceId, Graph>,
    metrics: HashMap<WorkspaceId, Metrics>,
}

impl Engine {
    pub fn new() -> Self {
        Self {
            graphs: HashMap::new(),
            metrics: HashMap::new(),
        }
    }

    /// The graph of a workspace (empty if it has no records yet).
    pub fn graph(&self, workspace: WorkspaceId) -> Option<&Graph> {
        self.graphs.get(&workspace)
    }

    pub fn graph_mut(&mut self, workspace: WorkspaceId) -> &mut Graph {
        self.graphs.entry(workspace).or_default()
    }

    /// Every workspace's graph.
    pub fn graphs(&self) -> impl Iterator<Item = (&WorkspaceId, &Graph)> {
        self.graphs.iter()
    }

    /// The usage metrics of a workspace (none before its first event).
    pub fn metrics(&self, workspace: WorkspaceId) -> Option<&Metrics> {
        self.metrics.get(&workspace)
    }

    /// Applies a committed hierarchy change; a deleted record's metrics go with it.
    pub fn apply(&mut self, workspace: WorkspaceId, change: &GraphChange) {
        self.graph_mut(workspace).apply(change);
        if let Some(metrics) = self.metrics.get_mut(&workspace) {
            match change {
                GraphChange::DeleteUser { id } => metrics.forget_user(*id),
                GraphChange::DeleteAccount { id } => metrics.forget_account(*id),
                GraphChange::DeleteOrganization { id } => metrics.forget_organization(*id),
                _ => {}
            }
        }
    }

    /// Counts a committed event in the usage metrics.
    pub fn record_event(&mut self, workspace: WorkspaceId, event: &EventInput<'_>) {
        self.metrics.entry(workspace).or_default().record(event);
    }
}
