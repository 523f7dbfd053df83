//! The customer graph: hierarchy questions, delete semantics, pages, and the property that a
//! graph maintained incrementally answers every question like one built from the final state.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::page::{PageKey, PageRequest, RecordSlot, SlotKey, SortBy};
use steward_engine::time::Millis;
use steward_engine::{Engine, Graph, GraphChange};
use uuid::Uuid;

// ---- helpers --------------------------------------------------------------------------------

fn org(i: u32) -> OrganizationId {
    OrganizationId(Uuid::from_u128(0x1_0000 + u128::from(i)))
}

fn acc(i: u32) -> AccountId {
    AccountId(Uuid::from_u128(0x2_0000 + u128::from(i)))
}

fn usr(i: u32) -> UserId {
    UserId(Uuid::from_u128(0x3_0000 + u128::from(i)))
}

fn ms(t: i64) -> Millis {
    Millis(t)
}

fn up_org(i: u32, created: i64, updated: i64) -> GraphChange {
    GraphChange::UpsertOrganization {
        id: org(i),
        created_at: ms(created),
        updated_at: ms(updated),
    }
}

fn up_acc(i: u32, parent: Option<u32>, created: i64, updated: i64) -> GraphChange {
    GraphChange::UpsertAccount {
        id: acc(i),
        organization: parent.map(org),
        created_at: ms(created),
        updated_at: ms(updated),
    }
}

fn up_usr(i: u32, accounts: &[u32], orgs: &[u32], created: i64, updated: i64) -> GraphChange {
    GraphChange::UpsertUser {
        id: usr(i),
        accounts: accounts.iter().copied().map(acc).collect(),
        organizations: orgs.iter().copied().map(org).collect(),
        created_at: ms(created),
        updated_at: ms(updated),
    }
}

fn graph(changes: &[GraphChange]) -> Graph {
    let mut g = Graph::new();
    for c in changes {
        g.apply(c);
    }
    g
}

fn set<T: Ord>(v: Vec<T>) -> BTreeSet<T> {
    v.into_iter().collect()
}

fn key(at: i64, id: Uuid) -> PageKey {
    PageKey { at: ms(at), id }
}

fn all(sort: SortBy) -> PageRequest {
    PageRequest::first(sort, usize::MAX)
}

/// Walks a page function with `limit`, following the after-cursor to the end.
fn walk(limit: usize, sort: SortBy, page: impl Fn(&PageRequest) -> Vec<PageKey>) -> Vec<PageKey> {
    let mut req = PageRequest::first(sort, limit);
    let mut out = Vec::new();
    loop {
        let keys = page(&req);
        assert!(keys.len() <= limit);
        let Some(last) = keys.last() else { break };
        req.after = Some(*last);
        out.extend(keys);
    }
    out
}

// ---- unit tests -----------------------------------------------------------------------------

#[test]
fn empty_graph_answers_with_nothing() {
    let g = Graph::new();
    assert_eq!(
        (g.organization_count(), g.account_count(), g.user_count()),
        (0, 0, 0)
    );
    assert!(!g.has_organization(org(1)) && !g.has_account(acc(1)) && !g.has_user(usr(1)));
    assert_eq!(g.account_organization(acc(1)), None);
    assert_eq!(g.organization_accounts_count(org(1)), 0);
    assert_eq!(g.organization_users_count(org(1)), 0);
    assert_eq!(g.account_users_count(acc(1)), 0);
    assert!(g.user_accounts(usr(1)).is_empty());
    assert!(g.user_organizations(usr(1)).is_empty());
    assert!(g.user_direct_organizations(usr(1)).is_empty());
    assert!(g.users_only_in_account(acc(1)).is_empty());
    let page = PageRequest::first(SortBy::UpdatedAt, 10);
    assert!(g.organization_accounts_page(org(1), &page).is_empty());
    assert!(g.organization_users_page(org(1), &page).is_empty());
    assert!(g.account_users_page(acc(1), &page).is_empty());
}

#[test]
fn counts_and_membership() {
    let g = graph(&[
        up_org(1, 1, 1),
        up_org(2, 1, 1),
        up_acc(1, Some(1), 2, 2),
        up_acc(2, Some(1), 2, 2),
        up_acc(3, Some(2), 2, 2),
        up_acc(4, None, 2, 2),
        up_usr(1, &[1], &[], 3, 3),
        up_usr(2, &[1, 3], &[], 3, 3),
        up_usr(3, &[], &[2], 3, 3),
        up_usr(4, &[4], &[], 3, 3),
        up_usr(5, &[], &[], 3, 3),
    ]);
    assert_eq!(
        (g.organization_count(), g.account_count(), g.user_count()),
        (2, 4, 5)
    );
    assert!(g.has_organization(org(2)) && g.has_account(acc(4)) && g.has_user(usr(5)));
    assert!(!g.has_user(usr(6)));
    assert_eq!(g.organization_accounts_count(org(1)), 2);
    assert_eq!(g.organization_accounts_count(org(2)), 1);
    assert_eq!(g.organization_users_count(org(1)), 2);
    assert_eq!(
        g.organization_users_count(org(2)),
        2,
        "u2 via a3, u3 directly"
    );
    assert_eq!(g.account_users_count(acc(1)), 2);
    assert_eq!(g.account_users_count(acc(2)), 0);
    assert_eq!(g.account_organization(acc(3)), Some(org(2)));
    assert_eq!(g.account_organization(acc(4)), None);
    assert_eq!(g.user_accounts(usr(2)), vec![acc(1), acc(3)]);
    assert_eq!(g.user_organizations(usr(2)), vec![org(1), org(2)]);
    assert_eq!(
        g.user_organizations(usr(4)),
        vec![],
        "a4 has no organization"
    );
    assert!(g.user_organizations(usr(5)).is_empty());
}

#[test]
fn slot_hints_answer_as_ids_do_and_a_stale_hint_is_not_trusted() {
    let mut g = graph(&[
        up_org(1, 1, 1),
        up_acc(1, Some(1), 2, 2),
        up_acc(2, Some(1), 2, 2),
        up_usr(1, &[1], &[], 3, 3),
        up_usr(2, &[1, 2], &[], 3, 3),
    ]);
    let (a1, a2, u2) = (
        g.account_record_slot(acc(1)),
        g.account_record_slot(acc(2)),
        g.user_record_slot(usr(2)),
    );
    assert_ne!(a1, RecordSlot::UNKNOWN);
    assert_eq!(g.account_record_slot(acc(9)), RecordSlot::UNKNOWN);
    assert_eq!(g.account_users_count_at(acc(1), a1), 2);
    assert_eq!(g.user_accounts_at(usr(2), u2), vec![acc(1), acc(2)]);
    assert_eq!(g.user_organizations_at(usr(2), u2), vec![org(1)]);
    let o1 = g.organization_record_slot(org(1));
    assert_eq!(g.organization_accounts_count_at(org(1), o1), 2);
    assert_eq!(g.organization_users_count_at(org(1), o1), 2);
    // A hint naming another record's slot, or none, falls back to the id.
    assert_eq!(g.account_users_count_at(acc(1), a2), 2);
    assert_eq!(g.account_users_count_at(acc(1), RecordSlot::UNKNOWN), 2);
    // A slot freed by a delete and taken by a new record: the old id's hint is not trusted.
    g.apply(&GraphChange::DeleteAccount { id: acc(2) });
    g.apply(&up_acc(3, None, 4, 4));
    g.apply(&up_usr(3, &[3], &[], 5, 5));
    assert_eq!(
        g.account_record_slot(acc(3)),
        a2,
        "the freed slot is reused"
    );
    assert_eq!(g.account_users_count_at(acc(2), a2), 0);
    assert_eq!(g.account_users_count_at(acc(3), a2), 1);
}

#[test]
fn user_organizations_lists_direct_links_first_then_derived_once() {
    let g = graph(&[
        up_org(1, 1, 1),
        up_org(2, 1, 1),
        up_org(3, 1, 1),
        up_acc(1, Some(1), 1, 1),
        up_acc(2, Some(2), 1, 1),
        up_acc(3, Some(1), 1, 1),
        up_usr(1, &[1, 2, 3], &[3, 2], 1, 1),
    ]);
    assert_eq!(g.user_direct_organizations(usr(1)), vec![org(3), org(2)]);
    assert_eq!(g.user_organizations(usr(1)), vec![org(3), org(2), org(1)]);
    for o in [1, 2, 3] {
        assert_eq!(g.organization_users_count(org(o)), 1);
    }
}

#[test]
fn links_to_unknown_records_are_ignored_and_duplicates_collapse() {
    let g = graph(&[
        up_org(1, 1, 1),
        up_acc(1, Some(9), 1, 1),
        up_acc(2, Some(1), 1, 1),
        up_usr(1, &[2, 7, 2], &[8, 1, 1], 1, 1),
    ]);
    assert_eq!(g.account_organization(acc(1)), None);
    assert_eq!(g.user_accounts(usr(1)), vec![acc(2)]);
    assert_eq!(g.user_direct_organizations(usr(1)), vec![org(1)]);
    assert_eq!(g.organization_users_count(org(1)), 1);
    assert_eq!(g.account_users_count(acc(2)), 1);
}

#[test]
fn moving_an_account_moves_its_users_membership() {
    let mut g = graph(&[
        up_org(1, 1, 1),
        up_org(2, 1, 1),
        up_acc(1, Some(1), 1, 1),
        up_usr(1, &[1], &[], 1, 1),
        up_usr(2, &[1], &[1], 1, 1),
    ]);
    assert_eq!(g.organization_users_count(org(1)), 2);
    g.apply(&up_acc(1, Some(2), 1, 5));
    assert_eq!(g.account_organization(acc(1)), Some(org(2)));
    assert_eq!(g.organization_accounts_count(org(1)), 0);
    assert_eq!(g.organization_accounts_count(org(2)), 1);
    assert_eq!(
        g.organization_users_count(org(1)),
        1,
        "u2 stays through its direct link"
    );
    assert_eq!(g.organization_users_count(org(2)), 2);
    assert_eq!(g.user_organizations(usr(1)), vec![org(2)]);
    assert_eq!(g.user_organizations(usr(2)), vec![org(1), org(2)]);
    // Re-applying the same parent changes nothing.
    g.apply(&up_acc(1, Some(2), 1, 6));
    assert_eq!(g.organization_users_count(org(2)), 2);
    // Detach.
    g.apply(&up_acc(1, None, 1, 7));
    assert_eq!(g.organization_users_count(org(2)), 0);
    assert_eq!(g.organization_users_count(org(1)), 1);
    assert!(g.user_organizations(usr(1)).is_empty());
    assert_eq!(
        g.organization_users_page(org(1), &all(SortBy::UpdatedAt)),
        vec![key(1, usr(2).0)]
    );
}

#[test]
fn a_user_reached_along_several_paths_counts_once_and_stays_while_a_path_remains() {
    let mut g = graph(&[
        up_org(1, 1, 1),
        up_acc(1, Some(1), 1, 1),
        up_acc(2, Some(1), 1, 1),
        up_usr(1, &[1, 2], &[1], 1, 1),
    ]);
    assert_eq!(g.organization_users_count(org(1)), 1);
    assert_eq!(
        g.organization_users_page(org(1), &all(SortBy::CreatedAt))
            .len(),
        1
    );
    // Drop the direct link: two account paths remain.
    g.apply(&up_usr(1, &[1, 2], &[], 1, 2));
    assert_eq!(g.organization_users_count(org(1)), 1);
    // Drop one account link.
    g.apply(&up_usr(1, &[2], &[], 1, 3));
    assert_eq!(g.organization_users_count(org(1)), 1);
    assert_eq!(g.user_organizations(usr(1)), vec![org(1)]);
    // Delete the other account: the last path goes.
    g.apply(&up_usr(1, &[1, 2], &[], 1, 4));
    g.apply(&GraphChange::DeleteAccount { id: acc(2) });
    assert_eq!(g.organization_users_count(org(1)), 1, "a1 still links");
    g.apply(&up_acc(1, None, 1, 5));
    assert_eq!(g.organization_users_count(org(1)), 0);
    assert!(
        g.organization_users_page(org(1), &all(SortBy::CreatedAt))
            .is_empty()
    );
    assert!(g.has_user(usr(1)));
}

#[test]
fn deleting_an_organization_detaches_accounts_and_drops_direct_links() {
    let mut g = graph(&[
        up_org(1, 1, 1),
        up_org(2, 1, 1),
        up_acc(1, Some(1), 1, 1),
        up_acc(2, Some(2), 1, 1),
        up_usr(1, &[1], &[], 1, 1),
        up_usr(2, &[], &[1, 2], 1, 1),
        up_usr(3, &[1, 2], &[], 1, 1),
    ]);
    g.apply(&GraphChange::DeleteOrganization { id: org(1) });
    assert!(!g.has_organization(org(1)));
    assert_eq!(
        (g.organization_count(), g.account_count(), g.user_count()),
        (1, 2, 3),
        "accounts and users stay; storage sends their deletions separately"
    );
    assert_eq!(g.account_organization(acc(1)), None);
    assert_eq!(g.account_users_count(acc(1)), 2);
    assert_eq!(g.user_direct_organizations(usr(2)), vec![org(2)]);
    assert!(g.user_organizations(usr(1)).is_empty());
    assert_eq!(g.user_organizations(usr(3)), vec![org(2)]);
    assert_eq!(g.organization_users_count(org(1)), 0);
    assert_eq!(g.organization_users_count(org(2)), 2);
    // Deleting again, or an unknown id, is a no-op.
    g.apply(&GraphChange::DeleteOrganization { id: org(1) });
    g.apply(&GraphChange::DeleteOrganization { id: org(9) });
    assert_eq!(g.organization_count(), 1);
    // A new organization reusing the freed slot starts empty.
    g.apply(&up_org(3, 2, 2));
    assert_eq!(g.organization_users_count(org(3)), 0);
    assert_eq!(g.organization_accounts_count(org(3)), 0);
    assert!(g.user_organizations(usr(1)).is_empty());
}

#[test]
fn deleting_an_account_unlinks_its_users() {
    let mut g = graph(&[
        up_org(1, 1, 1),
        up_acc(1, Some(1), 1, 1),
        up_acc(2, None, 1, 1),
        up_usr(1, &[1], &[], 1, 1),
        up_usr(2, &[1, 2], &[], 1, 1),
        up_usr(3, &[1], &[1], 1, 1),
    ]);
    assert_eq!(set(g.users_only_in_account(acc(1))), set(vec![usr(1)]));
    assert!(g.users_only_in_account(acc(2)).is_empty());
    g.apply(&GraphChange::DeleteAccount { id: acc(1) });
    assert!(!g.has_account(acc(1)));
    assert_eq!(
        g.user_count(),
        3,
        "users stay; storage sends their deletions"
    );
    assert!(g.user_accounts(usr(1)).is_empty());
    assert_eq!(g.user_accounts(usr(2)), vec![acc(2)]);
    assert_eq!(g.organization_accounts_count(org(1)), 0);
    assert_eq!(g.organization_users_count(org(1)), 1, "u3 directly");
    assert_eq!(set(g.users_only_in_account(acc(2))), set(vec![usr(2)]));
    // A new account reusing the freed slot starts empty.
    g.apply(&up_acc(3, Some(1), 2, 2));
    assert_eq!(g.account_users_count(acc(3)), 0);
    assert_eq!(g.organization_users_count(org(1)), 1);
    assert!(g.user_accounts(usr(1)).is_empty());
    g.apply(&GraphChange::DeleteAccount { id: acc(1) });
    assert_eq!(g.account_count(), 2);
}

#[test]
fn deleting_a_user_removes_it_everywhere() {
    let mut g = graph(&[
        up_org(1, 1, 1),
        up_acc(1, Some(1), 1, 1),
        up_usr(1, &[1], &[1], 1, 1),
        up_usr(2, &[1], &[], 1, 1),
    ]);
    g.apply(&GraphChange::DeleteUser { id: usr(1) });
    assert!(!g.has_user(usr(1)));
    assert_eq!(g.user_count(), 1);
    assert_eq!(g.account_users_count(acc(1)), 1);
    assert_eq!(g.organization_users_count(org(1)), 1);
    assert_eq!(
        g.account_users_page(acc(1), &all(SortBy::CreatedAt)),
        vec![key(1, usr(2).0)]
    );
    assert!(g.user_accounts(usr(1)).is_empty());
    g.apply(&GraphChange::DeleteUser { id: usr(1) });
    // A new user reusing the freed slot is not linked anywhere.
    g.apply(&up_usr(3, &[], &[], 2, 2));
    assert_eq!(g.account_users_count(acc(1)), 1);
    assert_eq!(g.organization_users_count(org(1)), 1);
    assert!(g.user_organizations(usr(3)).is_empty());
}

#[test]
fn upserting_keeps_links_and_replaces_stamps() {
    let mut g = graph(&[
        up_org(1, 1, 1),
        up_acc(1, Some(1), 1, 1),
        up_usr(1, &[1], &[], 5, 5),
    ]);
    g.apply(&up_org(1, 1, 9));
    assert_eq!(g.organization_accounts_count(org(1)), 1);
    assert_eq!(g.organization_users_count(org(1)), 1);
    g.apply(&up_usr(1, &[1], &[], 5, 7));
    assert_eq!(
        g.account_users_page(acc(1), &all(SortBy::UpdatedAt)),
        vec![key(7, usr(1).0)]
    );
    assert_eq!(
        g.account_users_page(acc(1), &all(SortBy::CreatedAt)),
        vec![key(5, usr(1).0)]
    );
}

#[test]
fn pages_run_newest_first_with_ties_broken_by_id_and_an_exclusive_cursor() {
    let mut changes = vec![up_org(1, 0, 0), up_acc(100, Some(1), 0, 0)];
    // created: 10, 10, 20, 20, 30, ...; updated in the opposite order.
    for i in 0..9u32 {
        let created = 10 * i64::from(i / 2 + 1);
        let updated = 1000 - i64::from(i / 3);
        changes.push(up_acc(i, Some(1), created, updated));
        let direct: &[u32] = if i % 3 == 0 { &[1] } else { &[] };
        let accounts: &[u32] = if i % 3 == 0 { &[] } else { &[100] };
        changes.push(up_usr(i, accounts, direct, created, updated));
    }
    let g = graph(&changes);
    for sort in [SortBy::CreatedAt, SortBy::UpdatedAt] {
        let at = |i: u32| match sort {
            SortBy::CreatedAt => 10 * i64::from(i / 2 + 1),
            SortBy::UpdatedAt => 1000 - i64::from(i / 3),
        };
        let mut want_accounts: Vec<PageKey> = (0..9).map(|i| key(at(i), acc(i).0)).collect();
        want_accounts.push(key(0, acc(100).0));
        want_accounts.sort_by(|a, b| b.cmp(a));
        let mut want_org_users: Vec<PageKey> = (0..9).map(|i| key(at(i), usr(i).0)).collect();
        want_org_users.sort_by(|a, b| b.cmp(a));
        let want_acc_users: Vec<PageKey> = want_org_users
            .iter()
            .copied()
            .filter(|k| (0..9).any(|i| i % 3 != 0 && usr(i).0 == k.id))
            .collect();

        assert_eq!(
            g.organization_accounts_page(org(1), &all(sort)),
            want_accounts
        );
        assert_eq!(
            g.organization_users_page(org(1), &all(sort)),
            want_org_users
        );
        assert_eq!(g.account_users_page(acc(100), &all(sort)), want_acc_users);
        for limit in 1..=11 {
            assert_eq!(
                walk(limit, sort, |p| g.organization_accounts_page(org(1), p)),
                want_accounts,
                "{sort:?} {limit}"
            );
            assert_eq!(
                walk(limit, sort, |p| g.organization_users_page(org(1), p)),
                want_org_users
            );
            assert_eq!(
                walk(limit, sort, |p| g.account_users_page(acc(100), p)),
                want_acc_users
            );
        }
        // The cursor is exclusive and need not name a record.
        let third = want_accounts[2];
        let after = PageRequest {
            sort,
            limit: 2,
            after: Some(third),
        };
        assert_eq!(
            g.organization_accounts_page(org(1), &after),
            want_accounts[3..5]
        );
        let between = PageRequest {
            sort,
            limit: 100,
            after: Some(PageKey {
                at: third.at,
                id: Uuid::from_u128(third.id.as_u128() + 1),
            }),
        };
        assert_eq!(
            g.organization_accounts_page(org(1), &between),
            want_accounts[2..]
        );
        let zero = PageRequest::first(sort, 0);
        assert!(g.organization_accounts_page(org(1), &zero).is_empty());
    }
}

#[test]
fn the_engine_keeps_one_graph_per_workspace() {
    let a = WorkspaceId(Uuid::from_u128(1));
    let b = WorkspaceId(Uuid::from_u128(2));
    let mut engine = Engine::new();
    assert!(engine.graph(a).is_none());
    engine.apply(a, &up_org(1, 1, 1));
    engine.apply(a, &up_usr(1, &[], &[1], 1, 1));
    engine.apply(b, &up_usr(1, &[], &[1], 1, 1));
    assert_eq!(engine.graph(a).unwrap().organization_users_count(org(1)), 1);
    let gb = engine.graph(b).unwrap();
    assert_eq!((gb.organization_count(), gb.user_count()), (0, 1));
    assert!(gb.user_organizations(usr(1)).is_empty());
    assert_eq!(engine.graph_mut(b).user_count(), 1);
}

#[test]
fn a_large_graph_builds_with_exact_counts() {
    const ORGS: u32 = 1_000;
    const ACCOUNTS: u32 = 10_000;
    const USERS: u32 = 100_000;
    let mut g = Graph::new();
    g.reserve(ORGS as usize, ACCOUNTS as usize, USERS as usize);
    for o in 0..ORGS {
        g.apply(&up_org(o, 1, 1));
    }
    for a in 0..ACCOUNTS {
        g.apply(&up_acc(a, Some(a % ORGS), 2, 2));
    }
    for u in 0..USERS {
        let t = i64::from(u);
        g.apply(&up_usr(u, &[u % ACCOUNTS], &[], t, t));
    }
    assert_eq!(
        (g.organization_count(), g.account_count(), g.user_count()),
        (1_000, 10_000, 100_000)
    );
    assert_eq!(g.account_users_count(acc(7)), 10);
    assert_eq!(g.organization_accounts_count(org(7)), 10);
    assert_eq!(g.organization_users_count(org(7)), 100);
    let total: usize = (0..ORGS).map(|o| g.organization_users_count(org(o))).sum();
    assert_eq!(total, USERS as usize);
    let page = g.organization_users_page(org(7), &PageRequest::first(SortBy::CreatedAt, 3));
    let newest: Vec<u32> = (0..USERS)
        .rev()
        .filter(|u| (u % ACCOUNTS) % ORGS == 7)
        .take(3)
        .collect();
    assert_eq!(
        page,
        newest
            .iter()
            .map(|u| key(i64::from(*u), usr(*u).0))
            .collect::<Vec<_>>()
    );
    // Moving a big account moves its users.
    g.apply(&up_acc(7, Some(8), 2, 3));
    assert_eq!(g.organization_users_count(org(7)), 90);
    assert_eq!(g.organization_users_count(org(8)), 110);
}

// ---- property: incremental equals full recomputation ----------------------------------------

const POOL_ORGS: u32 = 4;
const POOL_ACCOUNTS: u32 = 7;
const POOL_USERS: u32 = 10;

#[derive(Clone, Debug)]
enum Step {
    Org(u32, i64, i64),
    Account(u32, Option<u32>, i64, i64),
    User(u32, Vec<u32>, Vec<u32>, i64, i64),
    DeleteOrg(u32),
    DeleteAccount(u32),
    DeleteUser(u32),
}

impl Step {
    fn change(&self) -> GraphChange {
        match self {
            Step::Org(i, c, u) => up_org(*i, *c, *u),
            Step::Account(i, o, c, u) => up_acc(*i, *o, *c, *u),
            Step::User(i, a, o, c, u) => up_usr(*i, a, o, *c, *u),
            Step::DeleteOrg(i) => GraphChange::DeleteOrganization { id: org(*i) },
            Step::DeleteAccount(i) => GraphChange::DeleteAccount { id: acc(*i) },
            Step::DeleteUser(i) => GraphChange::DeleteUser { id: usr(*i) },
        }
    }
}

fn step() -> impl Strategy<Value = Step> {
    // Few distinct instants, so pages see ties.
    let t = || 0..4i64;
    prop_oneof![
        2 => (0..POOL_ORGS, t(), t()).prop_map(|(i, c, u)| Step::Org(i, c, u)),
        3 => (0..POOL_ACCOUNTS, proptest::option::of(0..POOL_ORGS), t(), t())
            .prop_map(|(i, o, c, u)| Step::Account(i, o, c, u)),
        5 => (
            0..POOL_USERS,
            proptest::collection::vec(0..POOL_ACCOUNTS, 0..4),
            proptest::collection::vec(0..POOL_ORGS, 0..3),
            t(),
            t(),
        )
            .prop_map(|(i, a, o, c, u)| Step::User(i, a, o, c, u)),
        1 => (0..POOL_ORGS).prop_map(Step::DeleteOrg),
        1 => (0..POOL_ACCOUNTS).prop_map(Step::DeleteAccount),
        1 => (0..POOL_USERS).prop_map(Step::DeleteUser),
    ]
}

/// The state the changes describe, kept the simple way: links as lists of ids.
#[derive(Default, Debug)]
struct Model {
    orgs: BTreeMap<u32, (i64, i64)>,
    accounts: BTreeMap<u32, (Option<u32>, i64, i64)>,
    users: BTreeMap<u32, (Vec<u32>, Vec<u32>, i64, i64)>,
}

fn dedup_existing(ids: &[u32], exists: impl Fn(u32) -> bool) -> Vec<u32> {
    let mut out = Vec::new();
    for i in ids {
        if exists(*i) && !out.contains(i) {
            out.push(*i);
        }
    }
    out
}

impl Model {
    fn apply(&mut self, step: &Step) {
        match step {
            Step::Org(i, c, u) => {
                self.orgs.insert(*i, (*c, *u));
            }
            Step::Account(i, o, c, u) => {
                let o = o.filter(|o| self.orgs.contains_key(o));
                self.accounts.insert(*i, (o, *c, *u));
            }
            Step::User(i, a, o, c, u) => {
                let a = dedup_existing(a, |x| self.accounts.contains_key(&x));
                let o = dedup_existing(o, |x| self.orgs.contains_key(&x));
                self.users.insert(*i, (a, o, *c, *u));
            }
            Step::DeleteOrg(i) => {
                if self.orgs.remove(i).is_some() {
                    for account in self.accounts.values_mut() {
                        if account.0 == Some(*i) {
                            account.0 = None;
                        }
                    }
                    for user in self.users.values_mut() {
                        user.1.retain(|o| o != i);
                    }
                }
            }
            Step::DeleteAccount(i) => {
                if self.accounts.remove(i).is_some() {
                    for user in self.users.values_mut() {
                        user.0.retain(|a| a != i);
                    }
                }
            }
            Step::DeleteUser(i) => {
                self.users.remove(i);
            }
        }
    }

    /// A graph built from scratch from the final state, in a canonical order, as start-up
    /// loads it (list orders built at the end).
    fn rebuild(&self) -> Graph {
        let mut g = Graph::new();
        g.defer_list_orders();
        for (i, (c, u)) in &self.orgs {
            g.apply(&up_org(*i, *c, *u));
        }
        for (i, (o, c, u)) in &self.accounts {
            g.apply(&up_acc(*i, *o, *c, *u));
        }
        for (i, (a, o, c, u)) in &self.users {
            g.apply(&up_usr(*i, a, o, *c, *u));
        }
        g.rebuild_list_orders();
        g
    }

    fn account_org(&self, a: u32) -> Option<u32> {
        self.accounts.get(&a).and_then(|x| x.0)
    }

    /// The oracle for organization membership: direct links plus accounts' organizations.
    fn org_users(&self, o: u32) -> BTreeSet<u32> {
        self.users
            .iter()
            .filter(|(_, (a, d, _, _))| {
                d.contains(&o) || a.iter().any(|a| self.account_org(*a) == Some(o))
            })
            .map(|(u, _)| *u)
            .collect()
    }
}

fn assert_same_answers(inc: &Graph, full: &Graph, model: &Model) {
    assert_eq!(inc.organization_count(), model.orgs.len());
    assert_eq!(inc.account_count(), model.accounts.len());
    assert_eq!(inc.user_count(), model.users.len());
    assert_eq!(
        (
            inc.organization_count(),
            inc.account_count(),
            inc.user_count()
        ),
        (
            full.organization_count(),
            full.account_count(),
            full.user_count()
        )
    );
    let sorts = [SortBy::CreatedAt, SortBy::UpdatedAt];
    for sort in sorts {
        // The top-level lists: every record once, newest first, the same kept up to date as
        // built in one go, and the same walked page by page.
        // Each key carries its record's slot, which the graph's slot lookup agrees with.
        type List = fn(&Graph, &PageRequest) -> Vec<SlotKey>;
        type Place = fn(&Graph, Uuid) -> RecordSlot;
        let lists: [(List, Place, usize); 3] = [
            (
                Graph::organizations_page,
                |g, id| g.organization_record_slot(OrganizationId(id)),
                model.orgs.len(),
            ),
            (
                Graph::accounts_page,
                |g, id| g.account_record_slot(AccountId(id)),
                model.accounts.len(),
            ),
            (
                Graph::users_page,
                |g, id| g.user_record_slot(UserId(id)),
                model.users.len(),
            ),
        ];
        let keys_of = |listed: Vec<SlotKey>| listed.into_iter().map(|k| k.key).collect::<Vec<_>>();
        for (list, place, count) in lists {
            for graph in [inc, full] {
                for listed in list(graph, &all(sort)) {
                    assert_eq!(listed.slot, place(graph, listed.key.id));
                }
            }
            let keys = keys_of(list(inc, &all(sort)));
            assert_eq!(keys.len(), count);
            assert!(keys.windows(2).all(|w| w[0] > w[1]), "newest first");
            assert_eq!(keys, keys_of(list(full, &all(sort))));
            assert_eq!(walk(2, sort, |p| keys_of(list(inc, p))), keys);
        }
    }
    for o in 0..POOL_ORGS {
        let id = org(o);
        assert_eq!(inc.has_organization(id), model.orgs.contains_key(&o));
        assert_eq!(inc.has_organization(id), full.has_organization(id));
        assert_eq!(
            inc.organization_accounts_count(id),
            full.organization_accounts_count(id)
        );
        assert_eq!(
            inc.organization_users_count(id),
            model.org_users(o).len(),
            "users of o{o}"
        );
        assert_eq!(
            inc.organization_users_count(id),
            full.organization_users_count(id)
        );
        for sort in sorts {
            assert_eq!(
                inc.organization_accounts_page(id, &all(sort)),
                full.organization_accounts_page(id, &all(sort))
            );
            let users = inc.organization_users_page(id, &all(sort));
            assert_eq!(users, full.organization_users_page(id, &all(sort)));
            assert_eq!(
                set(users.iter().map(|k| k.id).collect()),
                model.org_users(o).into_iter().map(|u| usr(u).0).collect()
            );
            assert_eq!(walk(2, sort, |p| inc.organization_users_page(id, p)), users);
        }
    }
    for a in 0..POOL_ACCOUNTS {
        let id = acc(a);
        assert_eq!(inc.has_account(id), model.accounts.contains_key(&a));
        assert_eq!(inc.has_account(id), full.has_account(id));
        assert_eq!(inc.account_organization(id), model.account_org(a).map(org));
        assert_eq!(inc.account_organization(id), full.account_organization(id));
        assert_eq!(inc.account_users_count(id), full.account_users_count(id));
        assert_eq!(
            set(inc.users_only_in_account(id)),
            set(full.users_only_in_account(id))
        );
        for sort in sorts {
            let users = inc.account_users_page(id, &all(sort));
            assert_eq!(users, full.account_users_page(id, &all(sort)));
            assert_eq!(walk(3, sort, |p| inc.account_users_page(id, p)), users);
        }
    }
    for u in 0..POOL_USERS {
        let id = usr(u);
        assert_eq!(inc.has_user(id), model.users.contains_key(&u));
        assert_eq!(inc.has_user(id), full.has_user(id));
        let expected: Vec<AccountId> = model
            .users
            .get(&u)
            .map_or_else(Vec::new, |x| x.0.iter().copied().map(acc).collect());
        assert_eq!(inc.user_accounts(id), expected, "links keep their order");
        assert_eq!(set(inc.user_accounts(id)), set(full.user_accounts(id)));
        assert_eq!(
            set(inc.user_organizations(id)),
            set(full.user_organizations(id))
        );
        assert_eq!(
            set(inc.user_direct_organizations(id)),
            set(full.user_direct_organizations(id))
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn incremental_graph_equals_full_recomputation(
        steps in proptest::collection::vec(step(), 0..60)
    ) {
        let mut inc = Graph::new();
        let mut model = Model::default();
        for (n, s) in steps.iter().enumerate() {
            inc.apply(&s.change());
            model.apply(s);
            // Check along the way too, so a failure points at the step that broke it.
            if n % 10 == 9 {
                assert_same_answers(&inc, &model.rebuild(), &model);
            }
        }
        assert_same_answers(&inc, &model.rebuild(), &model);
    }
}

mod derive;
