//! A team member's book of business: `GET /accounts?keyRoleMember=<team member id>` (and
//! `/organizations`), optionally `&keyRole=<role>`, lists only the records on which they hold
//! a key role (that role). The engine's reverse index names the records and the graph gives
//! their list keys, so the usual keyset pagination applies unchanged. `GET /users` takes the
//! same parameters: the users of those accounts and organizations. The sub-lists
//! (`/organizations/:id/accounts`, `/organizations/:id/users`, `/accounts/:id/users`) take them
//! too: their records that are also in the book.

use std::collections::HashMap;

use steward_engine::Customer;
use steward_engine::ids::AdminId;

use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pagination::{page_request, probe};
use crate::routes::records::{self, RecordKind, page_of};

/// The book asked for by the query string, if any.
pub struct Book {
    pub admin: AdminId,
    pub role: Option<String>,
}

impl Book {
    pub fn from_query(query: &HashMap<String, String>) -> ApiResult<Option<Self>> {
        let role = query.get("keyRole").cloned();
        let Some(raw) = query.get("keyRoleMember") else {
            if role.is_some() {
                return Err(ApiError::field(
                    ErrorCode::InvalidQuery,
                    "keyRole",
                    "`keyRole` narrows `keyRoleMember`; give both",
                ));
            }
            return Ok(None);
        };
        let admin = raw.parse().map_err(|_| {
            ApiError::field(
                ErrorCode::InvalidQuery,
                "keyRoleMember",
                format!("`keyRoleMember` must be a team member id (a UUID), not {raw:?}"),
            )
        })?;
        Ok(Some(Self { admin, role }))
    }
}

/// Which level a list is of.
#[derive(Clone, Copy)]
pub enum Level {
    Accounts,
    Organizations,
    /// The users of the accounts and organizations in the book.
    Users,
}

/// One page of the book at `level`; with `within`, only the records of that sub-list (the
/// accounts of an organization, the users of an account or organization).
pub async fn list<K: RecordKind>(
    state: &AppState,
    auth: &Auth,
    query: &HashMap<String, String>,
    book: Book,
    level: Level,
    within: Option<Customer>,
) -> ApiResult<axum::response::Response> {
    let page = page_request(query)?;
    if let Some(role) = &book.role {
        let config = state.config.get(&state.store, auth.workspace).await?;
        if !config.roles.has_role(role) {
            return Err(ApiError::field(
                ErrorCode::InvalidQuery,
                "keyRole",
                format!(
                    "no key role `{role}` (roles: {})",
                    config.roles.role_keys().join(", ")
                ),
            ));
        }
    }
    let keys = {
        let engine = state.engine().await;
        let customers = engine
            .assignments(auth.workspace)
            .map(|a| a.key_roles.book_of(book.admin, book.role.as_deref()))
            .unwrap_or_default();
        let graph = engine.graph(auth.workspace);
        let accounts = customers.iter().filter_map(|c| match c {
            Customer::Account(a) => Some(*a),
            Customer::Organization(_) => None,
        });
        let organizations = customers.iter().filter_map(|c| match c {
            Customer::Organization(o) => Some(*o),
            Customer::Account(_) => None,
        });
        match (graph, level, within) {
            (None, _, _) => Vec::new(),
            (Some(g), Level::Accounts, Some(Customer::Organization(org))) => g.accounts_page_among(
                accounts.filter(|a| g.account_organization(*a) == Some(org)),
                &probe(&page),
            ),
            (Some(g), Level::Users, Some(within)) => {
                let (account, organization) = match within {
                    Customer::Account(a) => (Some(a), None),
                    Customer::Organization(o) => (None, Some(o)),
                };
                g.users_page_among_within(
                    accounts,
                    organizations,
                    account,
                    organization,
                    &probe(&page),
                )
            }
            (Some(g), Level::Accounts, _) => g.accounts_page_among(accounts, &probe(&page)),
            (Some(g), Level::Organizations, _) => {
                g.organizations_page_among(organizations, &probe(&page))
            }
            (Some(g), Level::Users, None) => {
                g.users_page_among(accounts, organizations, &probe(&page))
            }
        }
    };
    page_of::<K>(state, auth.workspace, &page, records::unplaced(keys)).await
}

/// A sub-list (the accounts of an organization, the users of an account or organization)
/// narrowed to the book the query asks for; `None` when it asks for none.
pub async fn sub_list<K: RecordKind>(
    state: &AppState,
    auth: &Auth,
    query: &HashMap<String, String>,
    level: Level,
    within: Customer,
) -> ApiResult<Option<axum::response::Response>> {
    match Book::from_query(query)? {
        Some(book) => list::<K>(state, auth, query, book, level, Some(within))
            .await
            .map(Some),
        None => Ok(None),
    }
}
