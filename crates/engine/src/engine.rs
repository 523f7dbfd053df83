//! The engine: one [`Graph`] per workspace.

use foldhash::{HashMap, HashMapExt};

use crate::graph::{Graph, GraphChange};
use crate::ids::WorkspaceId;

/// All derived state, for every workspace. The server holds it behind a lock; the single
/// writer applies committed changes, readers ask questions.
#[derive(Debug, Default)]
pub struct Engine {
    graphs: HashMap<WorkspaceId, Graph>,
}

impl Engine {
    pub fn new() -> Self {
        Self {
            graphs: HashMap::new(),
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

    pub fn apply(&mut self, workspace: WorkspaceId, change: &GraphChange) {
        self.graph_mut(workspace).apply(change);
    }
}
