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
    /// Between [`Engine::begin_bulk_load`] and [`Engine::finish_bulk_load`].
    bulk_loading: bool,
}

impl Engine {
    pub fn new() -> Self {
        Self {
            graphs: HashMap::new(),
            metrics: HashMap::new(),
            bulk_loading: false,
        }
    }

    /// Start-up: graphs skip the upkeep of their list orders until
    /// [`Engine::finish_bulk_load`] builds them in one go.
    pub fn begin_bulk_load(&mut self) {
        self.bulk_loading = true;
        for graph in self.graphs.values_mut() {
            graph.defer_list_orders();
        }
    }

    pub fn finish_bulk_load(&mut self) {
        self.bulk_loading = false;
        for graph in self.graphs.values_mut() {
            graph.rebuild_list_orders();
        }
    }

    /// The graph of a workspace (empty if it has no records yet).
    pub fn graph(&self, workspace: WorkspaceId) -> Option<&Graph> {
        self.graphs.get(&workspace)
    }

    pub fn graph_mut(&mut self, workspace: WorkspaceId) -> &mut Graph {
        let bulk_loading = self.bulk_loading;
        self.graphs.entry(workspace).or_insert_with(|| {
            let mut graph = Graph::new();
            if bulk_loading {
                graph.defer_list_orders();
            }
            graph
        })
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
