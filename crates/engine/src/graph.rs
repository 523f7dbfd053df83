//! The customer hierarchy of one workspace, held in memory.
//!
//! Nodes carry only what hierarchy questions need: ids, links and the two timestamps lists
//! sort by. Record bodies (names, traits) stay in storage, which keeps the engine small
//! (tens of bytes per user, see `steward bench`) and start-up fast.
//!
//! Links are stored in both directions. An organization's users are its direct users plus the
//! users of its accounts; because one user can reach an organization along several paths, the
//! organization keeps a reference count per user, so `usersCount` and membership stay exact as
//! accounts move between organizations.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use uuid::Uuid;

use crate::ids::{AccountId, OrganizationId, UserId};
use crate::list_order::ListOrder;
use crate::page::{PageKey, PageRequest, RecordSlot, SlotKey, SortBy};
use crate::time::Millis;

/// A change to apply after the storage write that caused it has committed.
#[derive(Clone, Debug, PartialEq)]
pub enum GraphChange {
    UpsertOrganization {
        id: OrganizationId,
        created_at: Millis,
        updated_at: Millis,
    },
    UpsertAccount {
        id: AccountId,
        organization: Option<OrganizationId>,
        created_at: Millis,
        updated_at: Millis,
    },
    /// `accounts` and `organizations` are the user's complete sets of direct links.
    UpsertUser {
        id: UserId,
        accounts: Vec<AccountId>,
        organizations: Vec<OrganizationId>,
        created_at: Millis,
        updated_at: Millis,
    },
    /// Removes the organization; its accounts are detached (storage decides what else is
    /// deleted and sends those deletions separately).
    DeleteOrganization {
        id: OrganizationId,
    },
    DeleteAccount {
        id: AccountId,
    },
    DeleteUser {
        id: UserId,
    },
    /// Key roles and owners (see [`crate::assignments`]); the graph itself ignores them.
    Assignment(crate::assignments::AssignmentChange),
    /// A message recorded or deleted (see [`crate::conversations`]); the graph ignores it.
    Messages(crate::conversations::MessageChange),
}

pub(crate) type Slot = u32;

/// The live nodes of a slab with their slots.
fn live<T>(nodes: &[Option<T>]) -> impl Iterator<Item = (Slot, &T)> {
    nodes
        .iter()
        .enumerate()
        .filter_map(|(s, n)| n.as_ref().map(|n| (s as Slot, n)))
}

#[derive(Clone, Copy, Debug)]
struct Stamp {
    created_at: Millis,
    updated_at: Millis,
}

impl Stamp {
    fn key(&self, id: Uuid, sort: SortBy) -> PageKey {
        let at = match sort {
            SortBy::UpdatedAt => self.updated_at,
            SortBy::CreatedAt => self.created_at,
        };
        PageKey { at, id }
    }
}

#[derive(Debug)]
struct OrgNode {
    id: OrganizationId,
    stamp: Stamp,
    accounts: HashSet<Slot>,
    direct_users: HashSet<Slot>,
    /// user slot -> number of paths (direct link + one per account) from this org to the user.
    user_paths: HashMap<Slot, u32>,
}

#[derive(Debug)]
struct AccountNode {
    id: AccountId,
    stamp: Stamp,
    org: Option<Slot>,
    users: HashSet<Slot>,
}

#[derive(Debug)]
struct UserNode {
    id: UserId,
    stamp: Stamp,
    accounts: Vec<Slot>,
    orgs: Vec<Slot>,
}

/// A node's own id, for checking a slot hint against the record it is meant for.
trait Node {
    fn uuid(&self) -> Uuid;
}

impl Node for OrgNode {
    fn uuid(&self) -> Uuid {
        self.id.0
    }
}

impl Node for AccountNode {
    fn uuid(&self) -> Uuid {
        self.id.0
    }
}

impl Node for UserNode {
    fn uuid(&self) -> Uuid {
        self.id.0
    }
}

/// A slab of nodes with an id index; freed slots are reused.
#[derive(Debug)]
struct Table<T> {
    nodes: Vec<Option<T>>,
    free: Vec<Slot>,
    index: HashMap<Uuid, Slot>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T> Table<T> {
    fn slot(&self, id: Uuid) -> Option<Slot> {
        self.index.get(&id).copied()
    }

    /// The slot of `id`: `hint` when it holds that record (no hash probe), else the index's.
    fn locate(&self, id: Uuid, hint: RecordSlot) -> Option<Slot>
    where
        T: Node,
    {
        let hinted = hint
            .index()
            .and_then(|i| self.nodes.get(i)?.as_ref())
            .is_some_and(|node| node.uuid() == id);
        if hinted { Some(hint.0) } else { self.slot(id) }
    }

    fn get(&self, slot: Slot) -> &T {
        self.nodes[slot as usize]
            .as_ref()
            .expect("graph slot points at a live node")
    }

    fn get_mut(&mut self, slot: Slot) -> &mut T {
        self.nodes[slot as usize]
            .as_mut()
            .expect("graph slot points at a live node")
    }

    fn insert(&mut self, id: Uuid, node: T) -> Slot {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = Some(node);
                slot
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as Slot
            }
        };
        self.index.insert(id, slot);
        slot
    }

    fn remove(&mut self, id: Uuid) -> Option<(Slot, T)> {
        let slot = self.index.remove(&id)?;
        let node = self.nodes[slot as usize].take()?;
        self.free.push(slot);
        Some((slot, node))
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn reserve(&mut self, additional: usize) {
        self.nodes.reserve(additional);
        self.index.reserve(additional);
    }
}

/// Estimated heap bytes held by a graph, by record kind (benchmarks report these).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphBytes {
    pub organizations: usize,
    pub accounts: usize,
    pub users: usize,
}

/// Heap bytes of a hash table with room for `capacity` entries of `entry` bytes: hashbrown
/// keeps a power-of-two number of buckets at most 7/8 full, plus one control byte a bucket.
fn table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        capacity + 1
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    buckets * (entry + 1)
}

impl<T> Table<T> {
    fn own_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Option<T>>()
            + self.free.capacity() * std::mem::size_of::<Slot>()
            + table_bytes(self.index.capacity(), std::mem::size_of::<(Uuid, Slot)>())
    }
}

/// The hierarchy of one workspace.
#[derive(Debug, Default)]
pub struct Graph {
    orgs: Table<OrgNode>,
    accounts: Table<AccountNode>,
    users: Table<UserNode>,
    /// Every record of each kind in list order (the top-level lists).
    org_order: ListOrder,
    account_order: ListOrder,
    user_order: ListOrder,
    /// During a bulk load the list orders are left alone and built once at the end
    /// ([`Graph::rebuild_list_orders`]), which is faster and packs them tighter.
    orders_deferred: bool,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops keeping the list orders up to date until [`Graph::rebuild_list_orders`]: for a
    /// bulk load at start-up.
    pub fn defer_list_orders(&mut self) {
        self.orders_deferred = true;
    }

    /// Builds the list orders from the records, and keeps them up to date from now on.
    pub fn rebuild_list_orders(&mut self) {
        fn records<'a, T>(
            table: &'a Table<T>,
            fields: impl Fn(&T) -> (Uuid, &Stamp) + 'a,
        ) -> impl Iterator<Item = (Uuid, Slot, Millis, Millis)> + 'a {
            live(&table.nodes).map(move |(slot, node)| {
                let (id, stamp) = fields(node);
                (id, slot, stamp.created_at, stamp.updated_at)
            })
        }
        self.org_order
            .rebuild(records(&self.orgs, |o| (o.id.0, &o.stamp)));
        self.account_order
            .rebuild(records(&self.accounts, |a| (a.id.0, &a.stamp)));
        self.user_order
            .rebuild(records(&self.users, |u| (u.id.0, &u.stamp)));
        self.orders_deferred = false;
    }

    /// Pre-sizes the tables before a bulk load at start-up.
    pub fn reserve(&mut self, orgs: usize, accounts: usize, users: usize) {
        self.orgs.reserve(orgs);
        self.accounts.reserve(accounts);
        self.users.reserve(users);
    }

    pub fn apply(&mut self, change: &GraphChange) {
        match change {
            GraphChange::UpsertOrganization {
                id,
                created_at,
                updated_at,
            } => self.upsert_org(*id, *created_at, *updated_at),
            GraphChange::UpsertAccount {
                id,
                organization,
                created_at,
                updated_at,
            } => self.upsert_account(*id, *organization, *created_at, *updated_at),
            GraphChange::UpsertUser {
                id,
                accounts,
                organizations,
                created_at,
                updated_at,
            } => self.upsert_user(*id, accounts, organizations, *created_at, *updated_at),
            GraphChange::DeleteOrganization { id } => self.delete_org(*id),
            GraphChange::DeleteAccount { id } => self.delete_account(*id),
            GraphChange::DeleteUser { id } => self.delete_user(*id),
            GraphChange::Assignment(_) | GraphChange::Messages(_) => {}
        }
    }

    /// Estimated heap bytes of the graph, by record kind. Link sets are charged to the side
    /// that owns them (an account's user set to accounts, a user's account list to users).
    pub fn heap_bytes(&self) -> GraphBytes {
        let slot = std::mem::size_of::<Slot>();
        let orgs = self.orgs.own_bytes()
            + self
                .orgs
                .nodes
                .iter()
                .flatten()
                .map(|o| {
                    table_bytes(o.accounts.capacity(), slot)
                        + table_bytes(o.direct_users.capacity(), slot)
                        + table_bytes(o.user_paths.capacity(), 2 * slot)
                })
                .sum::<usize>();
        let accounts = self.accounts.own_bytes()
            + self
                .accounts
                .nodes
                .iter()
                .flatten()
                .map(|a| table_bytes(a.users.capacity(), slot))
                .sum::<usize>();
        let users = self.users.own_bytes()
            + self
                .users
                .nodes
                .iter()
                .flatten()
                .map(|u| (u.accounts.capacity() + u.orgs.capacity()) * slot)
                .sum::<usize>();
        GraphBytes {
            organizations: orgs + self.org_order.heap_bytes(),
            accounts: accounts + self.account_order.heap_bytes(),
            users: users + self.user_order.heap_bytes(),
        }
    }

    // ---- questions -------------------------------------------------------------------------

    pub fn organization_count(&self) -> usize {
        self.orgs.len()
    }

    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub fn has_organization(&self, id: OrganizationId) -> bool {
        self.orgs.slot(id.0).is_some()
    }

    pub fn has_account(&self, id: AccountId) -> bool {
        self.accounts.slot(id.0).is_some()
    }

    pub fn has_user(&self, id: UserId) -> bool {
        self.users.slot(id.0).is_some()
    }

    /// The organization an account belongs to.
    pub fn account_organization(&self, id: AccountId) -> Option<OrganizationId> {
        let node = self.accounts.get(self.accounts.slot(id.0)?);
        node.org.map(|o| self.orgs.get(o).id)
    }

    /// Number of accounts of an organization (`accountsCount`).
    pub fn organization_accounts_count(&self, id: OrganizationId) -> usize {
        self.organization_accounts_count_at(id, RecordSlot::UNKNOWN)
    }

    /// [`Graph::organization_accounts_count`], with the organization's slot as a hint.
    pub fn organization_accounts_count_at(&self, id: OrganizationId, hint: RecordSlot) -> usize {
        self.orgs
            .locate(id.0, hint)
            .map_or(0, |s| self.orgs.get(s).accounts.len())
    }

    /// Number of distinct users of an organization, direct or through its accounts.
    pub fn organization_users_count(&self, id: OrganizationId) -> usize {
        self.organization_users_count_at(id, RecordSlot::UNKNOWN)
    }

    /// [`Graph::organization_users_count`], with the organization's slot as a hint.
    pub fn organization_users_count_at(&self, id: OrganizationId, hint: RecordSlot) -> usize {
        self.orgs
            .locate(id.0, hint)
            .map_or(0, |s| self.orgs.get(s).user_paths.len())
    }

    /// Number of users of an account (`usersCount`).
    pub fn account_users_count(&self, id: AccountId) -> usize {
        self.account_users_count_at(id, RecordSlot::UNKNOWN)
    }

    /// [`Graph::account_users_count`], with the account's slot as a hint.
    pub fn account_users_count_at(&self, id: AccountId, hint: RecordSlot) -> usize {
        self.accounts
            .locate(id.0, hint)
            .map_or(0, |s| self.accounts.get(s).users.len())
    }

    /// Where the graph holds a user, as a hint for the `_at` reads (and tables kept beside
    /// the graph); [`RecordSlot::UNKNOWN`] for a user it does not hold.
    pub fn user_record_slot(&self, id: UserId) -> RecordSlot {
        self.users
            .slot(id.0)
            .map_or(RecordSlot::UNKNOWN, RecordSlot)
    }

    /// [`Graph::user_record_slot`] for an account.
    pub fn account_record_slot(&self, id: AccountId) -> RecordSlot {
        self.accounts
            .slot(id.0)
            .map_or(RecordSlot::UNKNOWN, RecordSlot)
    }

    /// [`Graph::user_record_slot`] for an organization.
    pub fn organization_record_slot(&self, id: OrganizationId) -> RecordSlot {
        self.orgs.slot(id.0).map_or(RecordSlot::UNKNOWN, RecordSlot)
    }

    /// The accounts a user belongs to, oldest link first.
    pub fn user_accounts(&self, id: UserId) -> Vec<AccountId> {
        self.user_accounts_at(id, RecordSlot::UNKNOWN)
    }

    /// [`Graph::user_accounts`], with the user's slot as a hint.
    pub fn user_accounts_at(&self, id: UserId, hint: RecordSlot) -> Vec<AccountId> {
        self.users.locate(id.0, hint).map_or_else(Vec::new, |s| {
            let node = self.users.get(s);
            node.accounts
                .iter()
                .map(|a| self.accounts.get(*a).id)
                .collect()
        })
    }

    /// Every organization a user belongs to: direct links first, then through accounts.
    pub fn user_organizations(&self, id: UserId) -> Vec<OrganizationId> {
        self.user_organizations_at(id, RecordSlot::UNKNOWN)
    }

    /// [`Graph::user_organizations`], with the user's slot as a hint.
    pub fn user_organizations_at(&self, id: UserId, hint: RecordSlot) -> Vec<OrganizationId> {
        let Some(slot) = self.users.locate(id.0, hint) else {
            return Vec::new();
        };
        let node = self.users.get(slot);
        let mut out: Vec<OrganizationId> = node.orgs.iter().map(|o| self.orgs.get(*o).id).collect();
        for a in &node.accounts {
            if let Some(o) = self.accounts.get(*a).org {
                let org = self.orgs.get(o).id;
                if !out.contains(&org) {
                    out.push(org);
                }
            }
        }
        out
    }

    /// The organizations a user is linked to directly (not through an account).
    pub fn user_direct_organizations(&self, id: UserId) -> Vec<OrganizationId> {
        self.users.slot(id.0).map_or_else(Vec::new, |s| {
            self.users
                .get(s)
                .orgs
                .iter()
                .map(|o| self.orgs.get(*o).id)
                .collect()
        })
    }

    /// A page of all organizations, in list order.
    pub fn organizations_page(&self, page: &PageRequest) -> Vec<SlotKey> {
        self.org_order.page(page)
    }

    /// A page of all accounts, in list order.
    pub fn accounts_page(&self, page: &PageRequest) -> Vec<SlotKey> {
        self.account_order.page(page)
    }

    /// A page of all users, in list order.
    pub fn users_page(&self, page: &PageRequest) -> Vec<SlotKey> {
        self.user_order.page(page)
    }

    /// A page of an organization's accounts, in list order.
    pub fn organization_accounts_page(
        &self,
        id: OrganizationId,
        page: &PageRequest,
    ) -> Vec<PageKey> {
        let Some(slot) = self.orgs.slot(id.0) else {
            return Vec::new();
        };
        let keys = self.orgs.get(slot).accounts.iter().map(|a| {
            let node = self.accounts.get(*a);
            node.stamp.key(node.id.0, page.sort)
        });
        select_page(keys, page)
    }

    /// A page of the given accounts, in list order (ids not in the graph are left out): for
    /// lists narrowed by something the engine knows, such as a book of business.
    pub fn accounts_page_among(
        &self,
        ids: impl IntoIterator<Item = AccountId>,
        page: &PageRequest,
    ) -> Vec<PageKey> {
        let keys = ids.into_iter().filter_map(|id| {
            let slot = self.accounts.slot(id.0)?;
            let node = self.accounts.get(slot);
            Some(node.stamp.key(node.id.0, page.sort))
        });
        select_page(keys, page)
    }

    /// [`Graph::accounts_page_among`] for organizations.
    pub fn organizations_page_among(
        &self,
        ids: impl IntoIterator<Item = OrganizationId>,
        page: &PageRequest,
    ) -> Vec<PageKey> {
        let keys = ids.into_iter().filter_map(|id| {
            let slot = self.orgs.slot(id.0)?;
            let node = self.orgs.get(slot);
            Some(node.stamp.key(node.id.0, page.sort))
        });
        select_page(keys, page)
    }

    /// A page of the users of the given accounts and organizations (an organization's users
    /// are direct and through its accounts), each once, in list order.
    pub fn users_page_among(
        &self,
        accounts: impl IntoIterator<Item = AccountId>,
        organizations: impl IntoIterator<Item = OrganizationId>,
        page: &PageRequest,
    ) -> Vec<PageKey> {
        let slots = self.user_slots_of(accounts, organizations);
        select_page(slots.into_iter().map(|u| self.user_key(u, page.sort)), page)
    }

    /// [`Graph::users_page_among`], only the users who are also users of `within_account`
    /// (or, with `None`, of `within_organization`): a sub-list narrowed to a book of business.
    pub fn users_page_among_within(
        &self,
        accounts: impl IntoIterator<Item = AccountId>,
        organizations: impl IntoIterator<Item = OrganizationId>,
        within_account: Option<AccountId>,
        within_organization: Option<OrganizationId>,
        page: &PageRequest,
    ) -> Vec<PageKey> {
        let among = self.user_slots_of(accounts, organizations);
        let within = self.user_slots_of(within_account, within_organization);
        let both = among.into_iter().filter(|u| within.contains(u));
        select_page(both.map(|u| self.user_key(u, page.sort)), page)
    }

    /// The user slots of some accounts and organizations, each once.
    fn user_slots_of(
        &self,
        accounts: impl IntoIterator<Item = AccountId>,
        organizations: impl IntoIterator<Item = OrganizationId>,
    ) -> HashSet<Slot> {
        let mut slots: HashSet<Slot> = HashSet::new();
        for id in accounts {
            if let Some(slot) = self.accounts.slot(id.0) {
                slots.extend(self.accounts.get(slot).users.iter().copied());
            }
        }
        for id in organizations {
            if let Some(slot) = self.orgs.slot(id.0) {
                slots.extend(self.orgs.get(slot).user_paths.keys().copied());
            }
        }
        slots
    }

    /// A page of an account's users, in list order.
    pub fn account_users_page(&self, id: AccountId, page: &PageRequest) -> Vec<PageKey> {
        let Some(slot) = self.accounts.slot(id.0) else {
            return Vec::new();
        };
        let keys = self
            .accounts
            .get(slot)
            .users
            .iter()
            .map(|u| self.user_key(*u, page.sort));
        select_page(keys, page)
    }

    /// A page of an organization's users (direct and through accounts), in list order.
    pub fn organization_users_page(&self, id: OrganizationId, page: &PageRequest) -> Vec<PageKey> {
        let Some(slot) = self.orgs.slot(id.0) else {
            return Vec::new();
        };
        let keys = self
            .orgs
            .get(slot)
            .user_paths
            .keys()
            .map(|u| self.user_key(*u, page.sort));
        select_page(keys, page)
    }

    /// The users that belong to this account and to no other account, and are not linked
    /// directly to an organization: they go when the account is deleted.
    pub fn users_only_in_account(&self, id: AccountId) -> Vec<UserId> {
        let Some(slot) = self.accounts.slot(id.0) else {
            return Vec::new();
        };
        self.accounts
            .get(slot)
            .users
            .iter()
            .map(|u| self.users.get(*u))
            .filter(|u| u.accounts.len() == 1 && u.orgs.is_empty())
            .map(|u| u.id)
            .collect()
    }

    // ---- slots, for full recomputations of derived state (links without id lookups) ---------

    /// Live organizations with their slots, in slot order.
    pub(crate) fn organization_slots(&self) -> impl Iterator<Item = (Slot, OrganizationId)> + '_ {
        live(&self.orgs.nodes).map(|(s, n)| (s, n.id))
    }

    pub(crate) fn account_slots(&self) -> impl Iterator<Item = (Slot, AccountId)> + '_ {
        live(&self.accounts.nodes).map(|(s, n)| (s, n.id))
    }

    pub(crate) fn user_slots(&self) -> impl Iterator<Item = (Slot, UserId)> + '_ {
        live(&self.users.nodes).map(|(s, n)| (s, n.id))
    }

    /// One past the highest slot of organizations, accounts, users.
    pub(crate) fn slot_bounds(&self) -> [usize; 3] {
        [
            self.orgs.nodes.len(),
            self.accounts.nodes.len(),
            self.users.nodes.len(),
        ]
    }

    pub(crate) fn organization_at(&self, slot: Slot) -> OrganizationId {
        self.orgs.get(slot).id
    }

    pub(crate) fn account_at(&self, slot: Slot) -> AccountId {
        self.accounts.get(slot).id
    }

    pub(crate) fn user_at(&self, slot: Slot) -> UserId {
        self.users.get(slot).id
    }

    /// The slot of a live user.
    pub(crate) fn user_slot(&self, id: UserId) -> Option<Slot> {
        self.users.slot(id.0)
    }

    pub(crate) fn account_slot(&self, id: AccountId) -> Option<Slot> {
        self.accounts.slot(id.0)
    }

    pub(crate) fn organization_slot(&self, id: OrganizationId) -> Option<Slot> {
        self.orgs.slot(id.0)
    }

    /// Calls `visit` once with each organization a user belongs to, directly or through an
    /// account: the organizations whose users include it. Allocates nothing (one-pass rollups
    /// call it for every user).
    pub(crate) fn for_each_user_organization_slot(&self, slot: Slot, mut visit: impl FnMut(Slot)) {
        let node = self.users.get(slot);
        node.orgs.iter().for_each(|o| visit(*o));
        for (i, a) in node.accounts.iter().enumerate() {
            let Some(o) = self.accounts.get(*a).org else {
                continue;
            };
            let seen = node.orgs.contains(&o)
                || node.accounts[..i]
                    .iter()
                    .any(|earlier| self.accounts.get(*earlier).org == Some(o));
            if !seen {
                visit(o);
            }
        }
    }

    /// [`Graph::organization_account_ids`] by slot, in the same order.
    pub(crate) fn organization_account_slots(&self, slot: Slot) -> impl Iterator<Item = Slot> + '_ {
        self.orgs.get(slot).accounts.iter().copied()
    }

    /// [`Graph::organization_user_ids`] by slot, in the same order.
    pub(crate) fn organization_user_slots(&self, slot: Slot) -> impl Iterator<Item = Slot> + '_ {
        self.orgs.get(slot).user_paths.keys().copied()
    }

    pub(crate) fn account_organization_slot(&self, slot: Slot) -> Option<Slot> {
        self.accounts.get(slot).org
    }

    /// [`Graph::account_user_ids`] by slot, in the same order.
    pub(crate) fn account_user_slots(&self, slot: Slot) -> impl Iterator<Item = Slot> + '_ {
        self.accounts.get(slot).users.iter().copied()
    }

    /// [`Graph::user_account_ids`] by slot, in the same order.
    pub(crate) fn user_account_slots(&self, slot: Slot) -> &[Slot] {
        &self.users.get(slot).accounts
    }

    /// [`Graph::user_organizations`] by slot, in the same order.
    pub(crate) fn user_organization_slots(&self, slot: Slot) -> Vec<Slot> {
        let node = self.users.get(slot);
        let mut out = node.orgs.clone();
        for a in &node.accounts {
            if let Some(o) = self.accounts.get(*a).org
                && !out.contains(&o)
            {
                out.push(o);
            }
        }
        out
    }

    // ---- iteration, for derived state (rules aggregate over links; no allocation) ----------

    pub fn organization_ids(&self) -> impl Iterator<Item = OrganizationId> + '_ {
        self.orgs.nodes.iter().flatten().map(|n| n.id)
    }

    pub fn account_ids(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.accounts.nodes.iter().flatten().map(|n| n.id)
    }

    pub fn user_ids(&self) -> impl Iterator<Item = UserId> + '_ {
        self.users.nodes.iter().flatten().map(|n| n.id)
    }

    /// The accounts of an organization, in no particular order.
    pub fn organization_account_ids(
        &self,
        id: OrganizationId,
    ) -> impl Iterator<Item = AccountId> + '_ {
        self.orgs
            .slot(id.0)
            .into_iter()
            .flat_map(|s| self.orgs.get(s).accounts.iter())
            .map(|a| self.accounts.get(*a).id)
    }

    /// The distinct users of an organization (direct or through accounts), in no particular order.
    pub fn organization_user_ids(&self, id: OrganizationId) -> impl Iterator<Item = UserId> + '_ {
        self.orgs
            .slot(id.0)
            .into_iter()
            .flat_map(|s| self.orgs.get(s).user_paths.keys())
            .map(|u| self.users.get(*u).id)
    }

    /// The users of an account, in no particular order.
    pub fn account_user_ids(&self, id: AccountId) -> impl Iterator<Item = UserId> + '_ {
        self.accounts
            .slot(id.0)
            .into_iter()
            .flat_map(|s| self.accounts.get(s).users.iter())
            .map(|u| self.users.get(*u).id)
    }

    /// The accounts of a user, oldest link first.
    pub fn user_account_ids(&self, id: UserId) -> impl Iterator<Item = AccountId> + '_ {
        self.users
            .slot(id.0)
            .into_iter()
            .flat_map(|s| self.users.get(s).accounts.iter())
            .map(|a| self.accounts.get(*a).id)
    }

    /// `(created_at, updated_at)` of an organization.
    pub fn organization_stamps(&self, id: OrganizationId) -> Option<(Millis, Millis)> {
        let node = self.orgs.get(self.orgs.slot(id.0)?);
        Some((node.stamp.created_at, node.stamp.updated_at))
    }

    pub fn account_stamps(&self, id: AccountId) -> Option<(Millis, Millis)> {
        let node = self.accounts.get(self.accounts.slot(id.0)?);
        Some((node.stamp.created_at, node.stamp.updated_at))
    }

    pub fn user_stamps(&self, id: UserId) -> Option<(Millis, Millis)> {
        let node = self.users.get(self.users.slot(id.0)?);
        Some((node.stamp.created_at, node.stamp.updated_at))
    }

    fn user_key(&self, slot: Slot, sort: SortBy) -> PageKey {
        let node = self.users.get(slot);
        node.stamp.key(node.id.0, sort)
    }

    // ---- changes ---------------------------------------------------------------------------

    fn upsert_org(&mut self, id: OrganizationId, created_at: Millis, updated_at: Millis) {
        let stamp = Stamp {
            created_at,
            updated_at,
        };
        let (slot, old) = match self.orgs.slot(id.0) {
            Some(slot) => {
                let old = std::mem::replace(&mut self.orgs.get_mut(slot).stamp, stamp);
                (slot, Some(old))
            }
            None => {
                let node = OrgNode {
                    id,
                    stamp,
                    accounts: HashSet::new(),
                    direct_users: HashSet::new(),
                    user_paths: HashMap::new(),
                };
                (self.orgs.insert(id.0, node), None)
            }
        };
        if !self.orders_deferred {
            move_in_order(&mut self.org_order, id.0, slot, old, &stamp);
        }
    }

    fn upsert_account(
        &mut self,
        id: AccountId,
        organization: Option<OrganizationId>,
        created_at: Millis,
        updated_at: Millis,
    ) {
        let stamp = Stamp {
            created_at,
            updated_at,
        };
        let new_org = organization.and_then(|o| self.orgs.slot(o.0));
        let (slot, old) = match self.accounts.slot(id.0) {
            Some(slot) => {
                let old = std::mem::replace(&mut self.accounts.get_mut(slot).stamp, stamp);
                (slot, Some(old))
            }
            None => {
                let node = AccountNode {
                    id,
                    stamp,
                    org: None,
                    users: HashSet::new(),
                };
                (self.accounts.insert(id.0, node), None)
            }
        };
        if !self.orders_deferred {
            move_in_order(&mut self.account_order, id.0, slot, old, &stamp);
        }
        self.set_account_org(slot, new_org);
    }

    /// Moves an account (and with it its users' derived membership) to another organization.
    fn set_account_org(&mut self, account: Slot, org: Option<Slot>) {
        let old = self.accounts.get(account).org;
        if old == org {
            return;
        }
        let users: Vec<Slot> = self.accounts.get(account).users.iter().copied().collect();
        if let Some(old) = old {
            self.orgs.get_mut(old).accounts.remove(&account);
            for u in &users {
                self.drop_user_path(old, *u);
            }
        }
        if let Some(new) = org {
            self.orgs.get_mut(new).accounts.insert(account);
            for u in &users {
                self.add_user_path(new, *u);
            }
        }
        self.accounts.get_mut(account).org = org;
    }

    fn add_user_path(&mut self, org: Slot, user: Slot) {
        *self.orgs.get_mut(org).user_paths.entry(user).or_insert(0) += 1;
    }

    fn drop_user_path(&mut self, org: Slot, user: Slot) {
        let paths = &mut self.orgs.get_mut(org).user_paths;
        if let Some(count) = paths.get_mut(&user) {
            *count -= 1;
            if *count == 0 {
                paths.remove(&user);
            }
        }
    }

    fn upsert_user(
        &mut self,
        id: UserId,
        accounts: &[AccountId],
        organizations: &[OrganizationId],
        created_at: Millis,
        updated_at: Millis,
    ) {
        let stamp = Stamp {
            created_at,
            updated_at,
        };
        let (slot, old) = match self.users.slot(id.0) {
            Some(slot) => {
                let old = std::mem::replace(&mut self.users.get_mut(slot).stamp, stamp);
                (slot, Some(old))
            }
            None => {
                let node = UserNode {
                    id,
                    stamp,
                    accounts: Vec::new(),
                    orgs: Vec::new(),
                };
                (self.users.insert(id.0, node), None)
            }
        };
        if !self.orders_deferred {
            move_in_order(&mut self.user_order, id.0, slot, old, &stamp);
        }
        let mut account_slots: Vec<Slot> = Vec::with_capacity(accounts.len());
        for a in accounts {
            if let Some(s) = self.accounts.slot(a.0)
                && !account_slots.contains(&s)
            {
                account_slots.push(s);
            }
        }
        let mut org_slots: Vec<Slot> = Vec::with_capacity(organizations.len());
        for o in organizations {
            if let Some(s) = self.orgs.slot(o.0)
                && !org_slots.contains(&s)
            {
                org_slots.push(s);
            }
        }
        self.unlink_user(slot);
        for a in &account_slots {
            self.accounts.get_mut(*a).users.insert(slot);
            if let Some(o) = self.accounts.get(*a).org {
                self.add_user_path(o, slot);
            }
        }
        for o in &org_slots {
            self.orgs.get_mut(*o).direct_users.insert(slot);
            self.add_user_path(*o, slot);
        }
        let node = self.users.get_mut(slot);
        node.accounts = account_slots;
        node.orgs = org_slots;
    }

    /// Removes every link of a user (both directions), leaving the node in place.
    fn unlink_user(&mut self, slot: Slot) {
        let node = self.users.get_mut(slot);
        let accounts = std::mem::take(&mut node.accounts);
        let orgs = std::mem::take(&mut node.orgs);
        for a in accounts {
            self.accounts.get_mut(a).users.remove(&slot);
            if let Some(o) = self.accounts.get(a).org {
                self.drop_user_path(o, slot);
            }
        }
        for o in orgs {
            self.orgs.get_mut(o).direct_users.remove(&slot);
            self.drop_user_path(o, slot);
        }
    }

    fn delete_user(&mut self, id: UserId) {
        if let Some(slot) = self.users.slot(id.0) {
            self.unlink_user(slot);
            if let Some((_, node)) = self.users.remove(id.0) {
                drop_from_order(&mut self.user_order, id.0, &node.stamp);
            }
        }
    }

    fn delete_account(&mut self, id: AccountId) {
        let Some(slot) = self.accounts.slot(id.0) else {
            return;
        };
        self.set_account_org(slot, None);
        let users: Vec<Slot> = self.accounts.get(slot).users.iter().copied().collect();
        for u in users {
            self.users.get_mut(u).accounts.retain(|a| *a != slot);
        }
        if let Some((_, node)) = self.accounts.remove(id.0) {
            drop_from_order(&mut self.account_order, id.0, &node.stamp);
        }
    }

    fn delete_org(&mut self, id: OrganizationId) {
        let Some(slot) = self.orgs.slot(id.0) else {
            return;
        };
        let accounts: Vec<Slot> = self.orgs.get(slot).accounts.iter().copied().collect();
        for a in accounts {
            self.set_account_org(a, None);
        }
        let users: Vec<Slot> = self.orgs.get(slot).direct_users.iter().copied().collect();
        for u in users {
            self.users.get_mut(u).orgs.retain(|o| *o != slot);
        }
        if let Some((_, node)) = self.orgs.remove(id.0) {
            drop_from_order(&mut self.org_order, id.0, &node.stamp);
        }
    }
}

/// Moves a record to its place for `stamp` (`old`: its current stamp, if it exists).
fn move_in_order(order: &mut ListOrder, id: Uuid, slot: Slot, old: Option<Stamp>, stamp: &Stamp) {
    if let Some(old) = old {
        order.remove(id, old.created_at, old.updated_at);
    }
    order.insert(id, slot, stamp.created_at, stamp.updated_at);
}

fn drop_from_order(order: &mut ListOrder, id: Uuid, stamp: &Stamp) {
    order.remove(id, stamp.created_at, stamp.updated_at);
}

/// The first `limit` keys after `page.after`, greatest first.
fn select_page(keys: impl Iterator<Item = PageKey>, page: &PageRequest) -> Vec<PageKey> {
    let mut keys: Vec<PageKey> = match page.after {
        Some(after) => keys.filter(|k| *k < after).collect(),
        None => keys.collect(),
    };
    let limit = page.limit.min(keys.len());
    if limit == 0 {
        return Vec::new();
    }
    // Partial selection first: pages of big organizations should not sort every user.
    if limit < keys.len() {
        keys.select_nth_unstable_by(limit - 1, |a, b| b.cmp(a));
        keys.truncate(limit);
    }
    keys.sort_unstable_by(|a, b| b.cmp(a));
    keys
}
