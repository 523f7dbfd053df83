//! The engine: one [`Graph`] per workspace.

use foldhash::{HashMap, HashMapExt};

use crate::assignments::{Assignments, Customer};
use crate::graph::{Graph, GraphChange};
use crate::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use crate::metrics::{EventInput, Metrics};

/// All derived state, for every workspace. The server holds it behind a lock; the single
/// writer applies committed changes, readers ask questions.
#[derive(Debug, Default)]
pub struct Engine {
    graphs: HashMap<WorkspaceId, Graph>,
    metrics: HashMap<WorkspaceId, Metrics>,
    assignments: HashMap<WorkspaceId, Assignments>,
}

impl Engine {
    pub fn new() -> Self {
        Self {
            graphs: HashMap::new(),
            metrics: HashMap::new(),
            assignments: HashMap::new(),
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
        self.apply_to_assignments(workspace, change);
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

    // ---- key roles and owners (see `assignments.rs`) -------------------------------------

    /// Key roles and owners of a workspace (none before the first assignment).
    pub fn assignments(&self, workspace: WorkspaceId) -> Option<&Assignments> {
        self.assignments.get(&workspace)
    }

    /// The owner (a user) of an account.
    pub fn owner_of(&self, workspace: WorkspaceId, account: AccountId) -> Option<UserId> {
        self.assignments(workspace)?.owners.owner_of(account)
    }

    /// The owner (a user) of an organization.
    pub fn organization_owner_of(
        &self,
        workspace: WorkspaceId,
        organization: OrganizationId,
    ) -> Option<UserId> {
        self.assignments(workspace)?
            .owners
            .organization_owner_of(organization)
    }

    fn apply_to_assignments(&mut self, workspace: WorkspaceId, change: &GraphChange) {
        if let GraphChange::Assignment(change) = change {
            self.assignments.entry(workspace).or_default().apply(change);
            return;
        }
        let Some(assignments) = self.assignments.get_mut(&workspace) else {
            return;
        };
        match change {
            GraphChange::DeleteUser { id } => assignments.forget_user(*id),
            GraphChange::DeleteAccount { id } => {
                assignments.forget_customer(Customer::Account(*id))
            }
            GraphChange::DeleteOrganization { id } => {
                assignments.forget_customer(Customer::Organization(*id))
            }
            _ => {}
        }
    }
}
