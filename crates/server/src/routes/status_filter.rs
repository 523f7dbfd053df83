//! `GET /resources/accounts?status=active|churned|activeOrChurned`: accounts by lifecycle
//! status (docs/derivation.md). `active` is subscribed or trial, `churned` is churned, and
//! `activeOrChurned` is everything but ignored accounts. In a workspace without lifecycle
//! rules every account is subscribed, so active.

use std::collections::HashMap;

use axum::response::Response;
use steward_engine::ids::AccountId;
use steward_engine::page::PageRequest;
use steward_engine::{RecordRef, Status};

use super::accounts::Accounts;
use super::records::{RecordKind, page_of};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pagination::page_request;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    Active,
    Churned,
    ActiveOrChurned,
}

impl StatusFilter {
    pub fn from_query(query: &HashMap<String, String>) -> ApiResult<Option<Self>> {
        Ok(match query.get("status").map(String::as_str) {
            None => None,
            Some("active") => Some(Self::Active),
            Some("churned") => Some(Self::Churned),
            Some("activeOrChurned") => Some(Self::ActiveOrChurned),
            Some(_) => {
                return Err(ApiError::field(
                    ErrorCode::InvalidQuery,
                    "status",
                    "`status` must be one of active, churned, activeOrChurned",
                ));
            }
        })
    }

    fn admits(self, status: Status) -> bool {
        match self {
            Self::Active => matches!(status, Status::Subscribed | Status::Trial),
            Self::Churned => status == Status::Churned,
            Self::ActiveOrChurned => status != Status::Ignored,
        }
    }
}

/// How many keys are examined per step while filling a page.
const STEP: usize = 500;

/// A page of the accounts the filter admits, walking the list order from the cursor.
pub async fn list(
    state: &AppState,
    auth: &Auth,
    query: &HashMap<String, String>,
    filter: StatusFilter,
) -> ApiResult<Response> {
    let page = page_request(query)?;
    let mut keys = Vec::with_capacity(page.limit + 1);
    {
        let engine = state.engine().await;
        let ws = auth.workspace;
        let mut cursor = PageRequest {
            limit: STEP,
            ..page
        };
        if let Some(graph) = engine.graph(ws) {
            'walk: loop {
                let batch = Accounts::page_keys(graph, &cursor);
                let exhausted = batch.len() < STEP;
                for key in &batch {
                    let status = engine
                        .derived(ws, RecordRef::Account(AccountId(key.key.id)))
                        .and_then(|d| d.status)
                        .unwrap_or_default();
                    if filter.admits(status) {
                        keys.push(*key);
                        if keys.len() > page.limit {
                            break 'walk;
                        }
                    }
                }
                match batch.last() {
                    Some(last) if !exhausted => cursor.after = Some(last.key),
                    _ => break,
                }
            }
        }
    }
    page_of::<Accounts>(state, auth.workspace, &page, keys).await
}
