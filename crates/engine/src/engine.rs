//! The engine: one [`Graph`] per workspace, with its usage metrics and derived values.

use foldhash::{HashMap, HashMapExt};

use crate::assignments::{Assignments, Customer};
use crate::conversations::{LastMessages, MessageChange, Messages};
use crate::derive::{
    Before, Compiled, Derivation, DerivedChange, DerivedView, LifecycleRecord, Links, Mode,
    RecordInput, RecordRef,
};
use crate::graph::{Graph, GraphChange};
use crate::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use crate::metrics::{AccountMetrics, EventInput, Metrics, OrganizationMetrics};
use crate::time::Millis;

/// All derived state, for every workspace. The server holds it behind a lock; the single
/// writer applies committed changes, readers ask questions.
#[derive(Debug, Default)]
pub struct Engine {
    graphs: HashMap<WorkspaceId, Graph>,
    pub(crate) metrics: HashMap<WorkspaceId, Metrics>,
    assignments: HashMap<WorkspaceId, Assignments>,
    /// Conversations' messages (none before a workspace's first message).
    messages: HashMap<WorkspaceId, Messages>,
    /// Only workspaces with formula traits, lifecycle or deactivation rules (or restored
    /// lifecycle state) have an entry: an unconfigured workspace pays nothing.
    pub(crate) derivations: HashMap<WorkspaceId, Derivation>,
    /// Between [`Engine::begin_bulk_load`] and [`Engine::finish_bulk_load`].
    bulk_loading: bool,
}

/// A new workspace's graph; during the start-up load it builds its list orders at the end.
fn new_graph(bulk_loading: bool) -> Graph {
    let mut graph = Graph::new();
    if bulk_loading {
        graph.defer_list_orders();
    }
    graph
}

/// A workspace's links (graph, owners and key roles), from the engine's fields (borrowed apart
/// from `derivations`, which is borrowed mutably beside them).
fn links<'a>(
    graphs: &'a HashMap<WorkspaceId, Graph>,
    assignments: &'a HashMap<WorkspaceId, Assignments>,
    messages: &'a HashMap<WorkspaceId, Messages>,
    workspace: WorkspaceId,
) -> Links<'a> {
    Links {
        graph: graphs.get(&workspace).unwrap_or(&EMPTY_GRAPH),
        assignments: assignments.get(&workspace),
        messages: messages.get(&workspace),
    }
}

/// A graph for workspaces that have none yet.
static EMPTY_GRAPH: std::sync::LazyLock<Graph> = std::sync::LazyLock::new(Graph::new);

impl Engine {
    pub fn new() -> Self {
        Self {
            graphs: HashMap::new(),
            metrics: HashMap::new(),
            assignments: HashMap::new(),
            messages: HashMap::new(),
            derivations: HashMap::new(),
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
        self.graphs
            .entry(workspace)
            .or_insert_with(|| new_graph(bulk_loading))
    }

    /// Every workspace's graph.
    pub fn graphs(&self) -> impl Iterator<Item = (&WorkspaceId, &Graph)> {
        self.graphs.iter()
    }

    /// The usage metrics of a workspace (none before its first event).
    pub fn metrics(&self, workspace: WorkspaceId) -> Option<&Metrics> {
        self.metrics.get(&workspace)
    }

    /// Applies a committed hierarchy change at the latest time the workspace's derived state
    /// has seen. Prefer [`Self::apply_at`] where the write's time is known.
    pub fn apply(&mut self, workspace: WorkspaceId, change: &GraphChange) -> Vec<DerivedChange> {
        let now = self
            .derivations
            .get(&workspace)
            .map_or(Millis(0), |d| d.now);
        self.apply_at(workspace, change, now)
    }

    /// Applies a committed hierarchy change; a deleted record's metrics go with it. Derived
    /// values that depend on the change are recomputed before this returns.
    pub fn apply_at(
        &mut self,
        workspace: WorkspaceId,
        change: &GraphChange,
        now: Millis,
    ) -> Vec<DerivedChange> {
        if let GraphChange::Messages(change) = change {
            return self.apply_message(workspace, change, now);
        }
        let bulk_loading = self.bulk_loading;
        let derived = self
            .derivations
            .get(&workspace)
            .is_some_and(|d| d.compiled().is_some());
        let before = derived.then(|| {
            let graph = self.graphs.get(&workspace).unwrap_or(&EMPTY_GRAPH);
            Before::capture(graph, self.assignments.get(&workspace), change)
        });
        self.apply_to_assignments(workspace, change);
        let graph = self
            .graphs
            .entry(workspace)
            .or_insert_with(|| new_graph(bulk_loading));
        graph.apply(change);
        if let (GraphChange::DeleteUser { id }, Some(messages)) =
            (change, self.messages.get_mut(&workspace))
        {
            messages.forget_user(*id);
        }
        if let Some(metrics) = self.metrics.get_mut(&workspace) {
            match change {
                GraphChange::DeleteUser { id } => metrics.forget_user(*id),
                GraphChange::DeleteAccount { id } => metrics.forget_account(*id),
                GraphChange::DeleteOrganization { id } => metrics.forget_organization(*id),
                _ => {}
            }
        }
        let derivation = self.derivations.get_mut(&workspace);
        match (derivation, before) {
            (Some(derivation), Some(before)) => {
                let links = Links {
                    graph,
                    assignments: self.assignments.get(&workspace),
                    messages: self.messages.get(&workspace),
                };
                let metrics = self.metrics.get(&workspace);
                let mut out = derivation.advance(links, metrics, now);
                out.extend(derivation.graph_changed(change, before, links, metrics, now));
                out
            }
            _ => Vec::new(),
        }
    }

    /// Whether an event counts in the usage metrics now (it does not when it comes from a
    /// deactivated user or a churned or ignored account); ingestion may skip storing it.
    pub fn counts_event(&self, workspace: WorkspaceId, event: &EventInput<'_>) -> bool {
        self.derivations
            .get(&workspace)
            .is_none_or(|d| d.counts_event(event))
    }

    /// Counts a committed event in the usage metrics, unless it comes from a deactivated user
    /// or a churned or ignored account (see `derive::Derivation::counts_event`). Many events at
    /// once (the start-up replay): [`Self::replay_events`].
    pub fn record_event(
        &mut self,
        workspace: WorkspaceId,
        event: &EventInput<'_>,
    ) -> Vec<DerivedChange> {
        let derivation = self.derivations.get_mut(&workspace);
        if derivation.as_ref().is_some_and(|d| !d.counts_event(event)) {
            return Vec::new();
        }
        let metrics = self.metrics.entry(workspace).or_default();
        metrics.record(event);
        match derivation {
            Some(derivation) => {
                let links = links(&self.graphs, &self.assignments, &self.messages, workspace);
                let now = derivation.now;
                derivation.event_recorded(event, links, Some(metrics), now)
            }
            None => Vec::new(),
        }
    }

    // ---- derived values: formula traits, lifecycle, deactivation ---------------------------

    /// Installs a workspace's compiled derivation rules and recomputes every derived value:
    /// [`Self::begin_configure`], [`Self::load_traits`] for each of `records`, then
    /// [`Self::finish_configure`].
    ///
    /// `records` must yield every record of each model for which
    /// [`Compiled::reads_inputs_of`] is true, with its current name and complete traits (the
    /// engine keeps only the keys rules read); others are ignored. At start-up call
    /// [`Self::restore`] first so sticky churn and first-match dates survive. Records churned
    /// before stay churned whatever the new rules say, until [`Self::reprocess`].
    pub fn configure<'a>(
        &mut self,
        workspace: WorkspaceId,
        compiled: Compiled,
        records: impl IntoIterator<Item = RecordInput<'a>>,
        now: Millis,
    ) -> Vec<DerivedChange> {
        let mut out = self.begin_configure(workspace, compiled);
        for input in records {
            self.load_traits(workspace, input);
        }
        out.extend(self.finish_configure(workspace, now));
        out
    }

    /// First step of a configuration, for callers that stream records through callbacks
    /// (the store's row sources): installs the rules; nothing is evaluated until
    /// [`Self::finish_configure`]. No other write may come in between.
    pub fn begin_configure(
        &mut self,
        workspace: WorkspaceId,
        compiled: Compiled,
    ) -> Vec<DerivedChange> {
        if compiled.is_empty() && !self.derivations.contains_key(&workspace) {
            return Vec::new();
        }
        let graph = links(&self.graphs, &self.assignments, &self.messages, workspace);
        let derivation = self.derivations.entry(workspace).or_default();
        let out = derivation.install(compiled, graph);
        if derivation.compiled().is_some_and(|c| c.is_empty()) {
            self.derivations.remove(&workspace);
        }
        out
    }

    /// A record's name and complete traits during a configuration (projection only).
    pub fn load_traits(&mut self, workspace: WorkspaceId, input: RecordInput<'_>) {
        if let Some(derivation) = self.derivations.get_mut(&workspace) {
            let graph = links(&self.graphs, &self.assignments, &self.messages, workspace);
            derivation.load(input, graph);
        }
    }

    /// Last step of a configuration: recomputes every derived value under the new rules
    /// (without lifting anyone's churn).
    pub fn finish_configure(&mut self, workspace: WorkspaceId, now: Millis) -> Vec<DerivedChange> {
        self.recompute_with(workspace, now, Mode::Rules)
    }

    /// A record's name and traits after a committed write (call after [`Self::apply_at`] for
    /// the same write, so the record exists). Every dependent value is recomputed before this
    /// returns.
    pub fn set_traits(
        &mut self,
        workspace: WorkspaceId,
        input: RecordInput<'_>,
        now: Millis,
    ) -> Vec<DerivedChange> {
        let Some(derivation) = self.derivations.get_mut(&workspace) else {
            return Vec::new();
        };
        let graph = links(&self.graphs, &self.assignments, &self.messages, workspace);
        let metrics = self.metrics.get(&workspace);
        let mut out = derivation.advance(graph, metrics, now);
        out.extend(derivation.set_traits(input, graph, metrics, now));
        out
    }

    /// Applies time-based changes due at `now` (trial ends, `in last N days` windows closing).
    /// Call when [`Self::next_timer`] passes; writes also run due timers first.
    pub fn advance(&mut self, workspace: WorkspaceId, now: Millis) -> Vec<DerivedChange> {
        let Some(derivation) = self.derivations.get_mut(&workspace) else {
            return Vec::new();
        };
        let graph = links(&self.graphs, &self.assignments, &self.messages, workspace);
        derivation.advance(graph, self.metrics.get(&workspace), now)
    }

    /// The earliest instant at which some derived value of the workspace changes by itself.
    pub fn next_timer(&self, workspace: WorkspaceId) -> Option<Millis> {
        self.derivations.get(&workspace)?.next_timer()
    }

    /// Records with a pending timer (for monitoring and tests).
    pub fn timer_count(&self, workspace: WorkspaceId) -> usize {
        self.derivations
            .get(&workspace)
            .map_or(0, |d| d.timer_count())
    }

    /// "Reprocess all using the new configuration": lifts sticky churn the current rules no
    /// longer support.
    pub fn reprocess(&mut self, workspace: WorkspaceId, now: Millis) -> Vec<DerivedChange> {
        self.recompute_with(workspace, now, Mode::Reprocess)
    }

    /// Re-evaluates every record as if all its data had just been written (churned records
    /// that are paid again come back). The result equals what incremental updates maintain;
    /// the property tests check exactly that.
    pub fn recompute(&mut self, workspace: WorkspaceId, now: Millis) -> Vec<DerivedChange> {
        self.recompute_with(workspace, now, Mode::Data)
    }

    fn recompute_with(
        &mut self,
        workspace: WorkspaceId,
        now: Millis,
        mode: Mode,
    ) -> Vec<DerivedChange> {
        let Some(derivation) = self.derivations.get_mut(&workspace) else {
            return Vec::new();
        };
        let graph = links(&self.graphs, &self.assignments, &self.messages, workspace);
        derivation.recompute_all(graph, self.metrics.get(&workspace), mode, now)
    }

    /// Puts back the lifecycle state storage persisted from [`DerivedChange::Persist`], at
    /// start-up, before [`Self::configure`] and before events are replayed.
    pub fn restore(&mut self, workspace: WorkspaceId, records: &[LifecycleRecord]) {
        if records.is_empty() {
            return;
        }
        self.derivations
            .entry(workspace)
            .or_default()
            .restore(records);
    }

    /// The state [`Self::restore`] takes, for every record where it is not the default.
    pub fn lifecycle_state(&self, workspace: WorkspaceId) -> Vec<LifecycleRecord> {
        self.derivations
            .get(&workspace)
            .map_or_else(Vec::new, |d| d.snapshot())
    }

    /// A record's derived values; `None` when the workspace derives nothing for its model.
    /// Whether the workspace has derived values configured (writes must feed it traits).
    pub fn is_derived(&self, workspace: WorkspaceId) -> bool {
        self.derivations.contains_key(&workspace)
    }

    /// The workspaces with derived values configured.
    pub fn derived_workspaces(&self) -> impl Iterator<Item = WorkspaceId> + '_ {
        self.derivations.keys().copied()
    }

    pub fn derived(&self, workspace: WorkspaceId, record: RecordRef) -> Option<DerivedView> {
        self.derivations.get(&workspace)?.view(record)
    }

    /// An account's metrics at `now`, without deactivated users in user-based figures.
    pub fn account_metrics(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        now: Millis,
    ) -> Option<AccountMetrics> {
        let metrics = self.metrics.get(&workspace)?;
        let graph = self.graphs.get(&workspace).unwrap_or(&EMPTY_GRAPH);
        Some(match self.derivations.get(&workspace) {
            Some(d) => metrics.account_counting(id, graph, now, &|u| d.user_active(u)),
            None => metrics.account(id, graph, now),
        })
    }

    /// An organization's metrics at `now`, without deactivated users in user-based figures.
    pub fn organization_metrics(
        &self,
        workspace: WorkspaceId,
        id: OrganizationId,
        now: Millis,
    ) -> Option<OrganizationMetrics> {
        let metrics = self.metrics.get(&workspace)?;
        let graph = self.graphs.get(&workspace).unwrap_or(&EMPTY_GRAPH);
        Some(match self.derivations.get(&workspace) {
            Some(d) => metrics.organization_counting(id, graph, now, &|u| d.user_active(u)),
            None => metrics.organization(id, graph, now),
        })
    }

    // ---- conversations' messages (see `conversations.rs`) ---------------------------------

    /// A committed message write: the users it touches, and their accounts and organizations,
    /// have their dependent values recomputed before this returns.
    fn apply_message(
        &mut self,
        workspace: WorkspaceId,
        change: &MessageChange,
        now: Millis,
    ) -> Vec<DerivedChange> {
        let touched = self.messages.entry(workspace).or_default().apply(change);
        let Some(derivation) = self.derivations.get_mut(&workspace) else {
            return Vec::new();
        };
        let links = links(&self.graphs, &self.assignments, &self.messages, workspace);
        let metrics = self.metrics.get(&workspace);
        let mut out = derivation.advance(links, metrics, now);
        out.extend(derivation.messages_changed(&touched, links, metrics, now));
        out
    }

    /// The latest inbound and outbound message of a record (an account's and organization's
    /// over its current users).
    pub fn last_messages(&self, workspace: WorkspaceId, record: RecordRef) -> LastMessages {
        match (self.messages.get(&workspace), self.graphs.get(&workspace)) {
            (Some(messages), Some(graph)) => messages.of(record, graph),
            _ => LastMessages::default(),
        }
    }

    /// The messages of a workspace (none before its first message).
    pub fn messages(&self, workspace: WorkspaceId) -> Option<&Messages> {
        self.messages.get(&workspace)
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
