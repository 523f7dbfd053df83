//! Random write workloads over a small pool of external ids, shared by the paging property
//! test and the engine-sync test.

use proptest::prelude::*;
use serde_json::json;
use steward_engine::Engine;
use steward_engine::ids::WorkspaceId;
use steward_engine::time::Millis;
use steward_store::Store;
use steward_store::write::{
    AccountFields, MissingParent, RecordRef, UserFields, Write, WriteError,
};

use crate::support::{ext, patch, rref};

pub const ORGS: u8 = 4;
pub const ACCOUNTS: u8 = 8;
pub const USERS: u8 = 12;

#[derive(Clone, Debug)]
pub enum Op {
    Org {
        i: u8,
        v: u8,
    },
    DeleteOrg {
        i: u8,
        cascade: bool,
    },
    Account {
        i: u8,
        org: Option<u8>,
        v: u8,
    },
    DetachAccount {
        i: u8,
    },
    DeleteAccount {
        i: u8,
    },
    User {
        i: u8,
        accounts: Vec<u8>,
        orgs: Vec<u8>,
        v: u8,
    },
    AddAccount {
        i: u8,
        account: u8,
    },
    RemoveAccount {
        i: u8,
        account: u8,
    },
    DeleteUser {
        i: u8,
    },
}

fn o(i: u8) -> String {
    format!("o{i}")
}
fn a(i: u8) -> String {
    format!("a{i}")
}
fn u(i: u8) -> String {
    format!("u{i}")
}

impl Op {
    pub fn write(&self) -> Write {
        match self {
            Op::Org { i, v } => Write::UpsertOrganization {
                external_id: ext(&o(*i)),
                fields: steward_store::write::OrganizationFields {
                    name: None,
                    traits: patch(json!({ "v": v })),
                },
            },
            Op::DeleteOrg { i, cascade } => Write::DeleteOrganization {
                target: rref(o(*i)),
                cascade: *cascade,
            },
            Op::Account { i, org, v } => Write::UpsertAccount {
                external_id: ext(&a(*i)),
                fields: AccountFields {
                    name: None,
                    traits: patch(json!({ "v": v })),
                    organization: org.map(|x| Some(rref(o(x)))),
                    missing_parent: MissingParent::Create,
                },
            },
            Op::DetachAccount { i } => Write::UpdateAccount {
                target: rref(a(*i)),
                fields: AccountFields {
                    organization: Some(None),
                    ..AccountFields::default()
                },
            },
            Op::DeleteAccount { i } => Write::DeleteAccount {
                target: rref(a(*i)),
            },
            Op::User {
                i,
                accounts,
                orgs,
                v,
            } => Write::UpsertUser {
                external_id: ext(&u(*i)),
                fields: UserFields {
                    traits: patch(json!({ "v": v })),
                    accounts: Some(accounts.iter().map(|x| RecordRef(a(*x))).collect()),
                    organizations: Some(orgs.iter().map(|x| RecordRef(o(*x))).collect()),
                    missing_parent: MissingParent::Create,
                    ..UserFields::default()
                },
            },
            Op::AddAccount { i, account } => Write::UpdateUser {
                target: rref(u(*i)),
                fields: UserFields {
                    add_accounts: vec![rref(a(*account))],
                    missing_parent: MissingParent::Create,
                    ..UserFields::default()
                },
            },
            Op::RemoveAccount { i, account } => Write::UpdateUser {
                target: rref(u(*i)),
                fields: UserFields {
                    remove_accounts: vec![rref(a(*account))],
                    ..UserFields::default()
                },
            },
            Op::DeleteUser { i } => Write::DeleteUser {
                target: rref(u(*i)),
            },
        }
    }
}

pub fn op() -> impl Strategy<Value = Op> {
    let small_set = |n: u8, max: usize| proptest::collection::vec(0..n, 0..=max);
    prop_oneof![
        2 => (0..ORGS, 0..3u8).prop_map(|(i, v)| Op::Org { i, v }),
        1 => (0..ORGS, any::<bool>()).prop_map(|(i, cascade)| Op::DeleteOrg { i, cascade }),
        4 => (0..ACCOUNTS, proptest::option::of(0..ORGS), 0..3u8)
            .prop_map(|(i, org, v)| Op::Account { i, org, v }),
        1 => (0..ACCOUNTS).prop_map(|i| Op::DetachAccount { i }),
        1 => (0..ACCOUNTS).prop_map(|i| Op::DeleteAccount { i }),
        6 => (0..USERS, small_set(ACCOUNTS, 3), small_set(ORGS, 1), 0..3u8)
            .prop_map(|(i, accounts, orgs, v)| Op::User { i, accounts, orgs, v }),
        1 => (0..USERS, 0..ACCOUNTS).prop_map(|(i, account)| Op::AddAccount { i, account }),
        1 => (0..USERS, 0..ACCOUNTS).prop_map(|(i, account)| Op::RemoveAccount { i, account }),
        1 => (0..USERS).prop_map(|i| Op::DeleteUser { i }),
    ]
}

/// One batch: how far the clock moves first (0 keeps the millisecond, creating ties), then
/// the writes committed together.
pub type Batch = (u8, Vec<Op>);

pub fn batch(max_ops: usize) -> impl Strategy<Value = Batch> {
    (
        prop_oneof![1 => Just(0u8), 3 => Just(1u8), 1 => Just(2u8)],
        proptest::collection::vec(op(), 1..=max_ops),
    )
}

/// Applies a batch at `*clock` (after advancing it), feeding accepted changes to `engine`.
/// Only NotFound (a reference to a record the workload deleted or never made) may fail.
pub async fn apply_batch(
    store: &Store,
    engine: &mut Engine,
    ws: WorkspaceId,
    clock: &mut Millis,
    batch: &Batch,
) {
    clock.0 += i64::from(batch.0);
    let writes: Vec<(WorkspaceId, Write)> = batch.1.iter().map(|op| (ws, op.write())).collect();
    let results = store.apply_batch(*clock, &writes).await.unwrap();
    for (result, op) in results.iter().zip(&batch.1) {
        match result {
            Ok(outcome) => {
                for change in &outcome.changes {
                    engine.apply(ws, change);
                }
            }
            Err(WriteError::NotFound(_)) => {}
            Err(e) => panic!("{op:?} failed: {e}"),
        }
    }
}
