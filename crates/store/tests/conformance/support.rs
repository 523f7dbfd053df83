//! Helpers shared by the conformance tests: write builders, single-write batches, full list
//! walks and graph comparison.

use serde_json::Value;
use steward_engine::domain::{Email, ExternalId, RecordName, TraitPatch};
use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::page::{PageRequest, SortBy};
use steward_engine::time::Millis;
use steward_engine::{Engine, Graph};
use steward_store::Store;
use steward_store::rows::{AccountRow, OrganizationRow, UserRow};
use steward_store::test_support::{Backend, TestStore, fresh};
use steward_store::write::{
    AccountFields, MissingParent, OrganizationFields, Outcome, RecordRef, UserFields, Write,
    WriteError, Written,
};

pub const T0: Millis = Millis(1_700_000_000_000);

/// A fresh store with one workspace.
pub async fn setup(backend: Backend) -> (TestStore, WorkspaceId) {
    let t = fresh(backend).await;
    let ws = t.store.create_workspace("acme", T0).await.unwrap().id;
    (t, ws)
}

pub fn ext(s: &str) -> ExternalId {
    ExternalId::parse("externalId", s).unwrap()
}

pub fn rref(s: impl ToString) -> RecordRef {
    RecordRef(s.to_string())
}

pub fn name(s: &str) -> RecordName {
    RecordName::parse("name", s).unwrap()
}

pub fn email(s: &str) -> Email {
    Email::parse("email", s).unwrap()
}

pub fn patch(v: Value) -> TraitPatch {
    TraitPatch::from_json("traits", &v).unwrap()
}

pub fn upsert_org(external: &str, traits: Value) -> Write {
    Write::UpsertOrganization {
        external_id: ext(external),
        fields: OrganizationFields {
            name: None,
            traits: patch(traits),
        },
    }
}

pub fn upsert_account(external: &str, org: Option<&str>) -> Write {
    Write::UpsertAccount {
        external_id: ext(external),
        fields: AccountFields {
            organization: org.map(|o| Some(rref(o))),
            ..AccountFields::default()
        },
    }
}

pub fn upsert_account_creating(external: &str, org: Option<&str>) -> Write {
    Write::UpsertAccount {
        external_id: ext(external),
        fields: AccountFields {
            organization: org.map(|o| Some(rref(o))),
            missing_parent: MissingParent::Create,
            ..AccountFields::default()
        },
    }
}

pub fn upsert_user(external: &str, accounts: &[&str], orgs: &[&str]) -> Write {
    Write::UpsertUser {
        external_id: ext(external),
        fields: UserFields {
            accounts: Some(accounts.iter().map(rref).collect()),
            organizations: Some(orgs.iter().map(rref).collect()),
            ..UserFields::default()
        },
    }
}

/// Applies one write in its own batch.
pub async fn apply(
    store: &Store,
    now: Millis,
    ws: WorkspaceId,
    write: Write,
) -> Result<Outcome, WriteError> {
    let mut results = store.apply_batch(now, &[(ws, write)]).await.unwrap();
    assert_eq!(results.len(), 1);
    results.pop().unwrap()
}

/// Applies one write that must succeed, and applies its graph changes to `engine`.
pub async fn ok(
    store: &Store,
    engine: &mut Engine,
    now: Millis,
    ws: WorkspaceId,
    write: Write,
) -> Outcome {
    let outcome = apply(store, now, ws, write.clone())
        .await
        .unwrap_or_else(|e| panic!("{write:?} failed: {e}"));
    for change in &outcome.changes {
        engine.apply(ws, change);
    }
    outcome
}

pub fn as_org(w: &Written) -> OrganizationRow {
    match w {
        Written::Organization(r) => r.clone(),
        other => panic!("expected an organization, got {other:?}"),
    }
}

pub fn as_account(w: &Written) -> AccountRow {
    match w {
        Written::Account(r) => r.clone(),
        other => panic!("expected an account, got {other:?}"),
    }
}

pub fn as_user(w: &Written) -> UserRow {
    match w {
        Written::User(r) => r.clone(),
        other => panic!("expected a user, got {other:?}"),
    }
}

/// Every record of a list, walked with pages of 100 (no concurrent writes).
macro_rules! all_of {
    ($fn_name:ident, $method:ident, $row:ty) => {
        pub async fn $fn_name(store: &Store, ws: WorkspaceId) -> Vec<$row> {
            let mut out: Vec<$row> = Vec::new();
            let mut page = PageRequest::first(SortBy::CreatedAt, 100);
            loop {
                let rows = store.$method(ws, &page).await.unwrap();
                let Some(last) = rows.last() else { break };
                let key = steward_store::rows::Listed::page_key(last, page.sort);
                // A cursor that does not move would loop forever: fail instead.
                assert!(
                    page.after.is_none_or(|after| key < after),
                    "the list walk does not progress"
                );
                page.after = Some(key);
                out.extend(rows);
            }
            out
        }
    };
}

all_of!(all_orgs, list_organizations, OrganizationRow);
all_of!(all_accounts, list_accounts, AccountRow);
all_of!(all_users, list_users, UserRow);

/// The ids of every record of a workspace.
pub struct Ids {
    pub orgs: Vec<OrganizationId>,
    pub accounts: Vec<AccountId>,
    pub users: Vec<UserId>,
}

pub async fn ids(store: &Store, ws: WorkspaceId) -> Ids {
    Ids {
        orgs: all_orgs(store, ws).await.iter().map(|r| r.id).collect(),
        accounts: all_accounts(store, ws).await.iter().map(|r| r.id).collect(),
        users: all_users(store, ws).await.iter().map(|r| r.id).collect(),
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Asserts that two graphs answer every hierarchy question the same for the given ids.
pub fn assert_same_graph(a: &Graph, b: &Graph, ids: &Ids, context: &str) {
    assert_eq!(
        (a.organization_count(), a.account_count(), a.user_count()),
        (b.organization_count(), b.account_count(), b.user_count()),
        "{context}: counts"
    );
    for o in &ids.orgs {
        assert!(
            a.has_organization(*o) && b.has_organization(*o),
            "{context}: {o:?}"
        );
        assert_eq!(
            a.organization_accounts_count(*o),
            b.organization_accounts_count(*o),
            "{context}: accounts of {o:?}"
        );
        assert_eq!(
            a.organization_users_count(*o),
            b.organization_users_count(*o),
            "{context}: users of {o:?}"
        );
        for sort in [SortBy::CreatedAt, SortBy::UpdatedAt] {
            let page = PageRequest::first(sort, 1000);
            assert_eq!(
                a.organization_accounts_page(*o, &page),
                b.organization_accounts_page(*o, &page),
                "{context}: account page of {o:?}"
            );
            assert_eq!(
                a.organization_users_page(*o, &page),
                b.organization_users_page(*o, &page),
                "{context}: user page of {o:?}"
            );
        }
    }
    for acc in &ids.accounts {
        assert!(
            a.has_account(*acc) && b.has_account(*acc),
            "{context}: {acc:?}"
        );
        assert_eq!(
            a.account_organization(*acc),
            b.account_organization(*acc),
            "{context}: organization of {acc:?}"
        );
        assert_eq!(
            a.account_users_count(*acc),
            b.account_users_count(*acc),
            "{context}: users of {acc:?}"
        );
        assert_eq!(
            sorted(a.users_only_in_account(*acc)),
            sorted(b.users_only_in_account(*acc)),
            "{context}: users only in {acc:?}"
        );
        for sort in [SortBy::CreatedAt, SortBy::UpdatedAt] {
            let page = PageRequest::first(sort, 1000);
            assert_eq!(
                a.account_users_page(*acc, &page),
                b.account_users_page(*acc, &page),
                "{context}: user page of {acc:?}"
            );
        }
    }
    for u in &ids.users {
        assert!(a.has_user(*u) && b.has_user(*u), "{context}: {u:?}");
        assert_eq!(
            a.user_accounts(*u),
            b.user_accounts(*u),
            "{context}: accounts of {u:?}"
        );
        assert_eq!(
            a.user_organizations(*u),
            b.user_organizations(*u),
            "{context}: organizations of {u:?}"
        );
        assert_eq!(
            a.user_direct_organizations(*u),
            b.user_direct_organizations(*u),
            "{context}: direct organizations of {u:?}"
        );
    }
}

/// Rebuilds an engine from storage and compares it with one maintained incrementally.
pub async fn assert_engine_matches_store(
    store: &Store,
    ws: WorkspaceId,
    incremental: &Engine,
    context: &str,
) {
    let mut loaded = Engine::new();
    store.load_engine(&mut loaded).await.unwrap();
    let empty = Graph::new();
    let a = incremental.graph(ws).unwrap_or(&empty);
    let b = loaded.graph(ws).unwrap_or(&empty);
    let ids = ids(store, ws).await;
    assert_eq!(
        (a.organization_count(), a.account_count(), a.user_count()),
        (ids.orgs.len(), ids.accounts.len(), ids.users.len()),
        "{context}: engine counts vs stored records"
    );
    assert_same_graph(a, b, &ids, context);
}
