//! Synthetic data for benchmarks.

use uuid::Uuid;

/// A bound value in a bulk insert.
pub(crate) enum BenchValue {
    Id(Uuid),
    OptId(Option<Uuid>),
    Int(i64),
    Text(String),
    Bool(bool),
}

/// A customer base: organizations, accounts (90% under an organization), users (each in one
/// account). Ids are generated up front so the benchmark knows what exists.
pub struct SyntheticData {
    pub orgs: Vec<Uuid>,
    /// (account, organization)
    pub accounts: Vec<(Uuid, Option<Uuid>)>,
    /// (user, account)
    pub users: Vec<(Uuid, Uuid)>,
}

impl SyntheticData {
    pub fn generate(orgs: usize, accounts: usize, users: usize) -> Self {
        let org_ids: Vec<Uuid> = (0..orgs).map(|_| Uuid::now_v7()).collect();
        let account_ids: Vec<(Uuid, Option<Uuid>)> = (0..accounts)
            .map(|i| {
                (
                    Uuid::now_v7(),
                    if i % 10 == 9 || org_ids.is_empty() {
                        None
                    } else {
                        Some(org_ids[i % org_ids.len()])
                    },
                )
            })
            .collect();
        let user_ids = (0..users)
            .map(|i| {
                (
                    Uuid::now_v7(),
                    account_ids[(i * 7919) % account_ids.len()].0,
                )
            })
            .collect();
        Self {
            orgs: org_ids,
            accounts: account_ids,
            users: user_ids,
        }
    }
}
