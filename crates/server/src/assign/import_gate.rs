//! Import filters on the write path. Only *creations* of organizations and accounts by a
//! source with a filter are checked; updates of existing records pass, and so do parents
//! created because a record references them.
//!
//! - REST: a refused create answers `422 import_filtered` and writes nothing.
//! - Ingestion: a message that would create a refused record is skipped whole (recorded as
//!   seen, so a replay is a duplicate) and counted as ignored; the request still answers 200.

use std::collections::HashSet;

use steward_engine::ids::WorkspaceId;
use steward_engine::time::Millis;
use steward_store::write::{IngestAction, IngestOp, RecordRef, UserFields, Write};

use crate::app::AppState;
use crate::auth::Auth;
use crate::config::import_filters::{Candidate, CompiledFilter, Kind, Source};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// A record a write would create (if it does not exist yet).
struct Create<'a> {
    kind: Kind,
    candidate: Candidate<'a>,
}

fn creation(write: &Write) -> Option<Create<'_>> {
    match write.unwrapped() {
        Write::UpsertOrganization {
            external_id,
            fields,
        } => Some(Create {
            kind: Kind::Organization,
            candidate: Candidate {
                external_id: external_id.as_str(),
                name: fields.name.as_ref().map(|n| n.as_str()),
                traits: fields.traits.as_map(),
            },
        }),
        Write::UpsertAccount {
            external_id,
            fields,
        } => Some(Create {
            kind: Kind::Account,
            candidate: Candidate {
                external_id: external_id.as_str(),
                name: fields.name.as_ref().map(|n| n.as_str()),
                traits: fields.traits.as_map(),
            },
        }),
        _ => None,
    }
}

async fn exists(
    state: &AppState,
    ws: WorkspaceId,
    kind: Kind,
    external_id: &str,
) -> ApiResult<bool> {
    let r = RecordRef(external_id.to_owned());
    Ok(match kind {
        Kind::Organization => state.store.find_organization(ws, &r).await?.is_some(),
        Kind::Account => state.store.find_account(ws, &r).await?.is_some(),
    })
}

async fn filter_of(
    state: &AppState,
    auth: &Auth,
) -> ApiResult<Option<std::sync::Arc<crate::config::cache::WorkspaceConfig>>> {
    let config = state.config.get(&state.store, auth.workspace).await?;
    Ok(config
        .filters
        .contains_key(&Source::ApiKey(auth.key))
        .then_some(config))
}

/// Whether `filter` refuses this write as a creation (`false` for updates).
async fn refuses(
    state: &AppState,
    ws: WorkspaceId,
    filter: &CompiledFilter,
    create: &Create<'_>,
    now: Millis,
) -> ApiResult<bool> {
    if !filter.filters(create.kind) || filter.allows(create.kind, &create.candidate, now) {
        return Ok(false);
    }
    Ok(!exists(state, ws, create.kind, create.candidate.external_id).await?)
}

/// REST: refuses a create the caller's import filter does not allow.
pub async fn check_rest(state: &AppState, auth: &Auth, write: &Write) -> ApiResult<()> {
    let Some(create) = creation(write) else {
        return Ok(());
    };
    let Some(config) = filter_of(state, auth).await? else {
        return Ok(());
    };
    let source = Source::ApiKey(auth.key);
    let filter = &config.filters[&source];
    if refuses(state, auth.workspace, filter, &create, state.clock.now()).await? {
        state.config.count_ignored(auth.workspace, source, 1);
        let what = match create.kind {
            Kind::Organization => "organizations",
            Kind::Account => "accounts",
        };
        return Err(ApiError::new(
            ErrorCode::ImportFiltered,
            format!(
                "the import filter of this API key does not allow creating {what} like `{}` (see /resources/importFilters/{})",
                create.candidate.external_id,
                source.as_string()
            ),
        ));
    }
    Ok(())
}

/// Ingestion: replaces messages that would create a refused record by no-ops. Returns how
/// many were skipped.
pub async fn filter_ingest(
    state: &AppState,
    auth: &Auth,
    ops: &mut [IngestOp],
) -> ApiResult<usize> {
    let Some(config) = filter_of(state, auth).await? else {
        return Ok(0);
    };
    let source = Source::ApiKey(auth.key);
    let filter = &config.filters[&source];
    let now = state.clock.now();
    // Records earlier messages of this request create or reference: later messages update
    // them, so they are not creations.
    let mut known: HashSet<(bool, String)> = HashSet::new();
    let mut skipped = 0;
    for op in ops.iter_mut() {
        let mut refused = false;
        for action in &op.actions {
            let IngestAction::Record(write) = action else {
                continue;
            };
            let Some(create) = creation(write) else {
                continue;
            };
            let key = (
                create.kind == Kind::Account,
                create.candidate.external_id.to_owned(),
            );
            if known.contains(&key) {
                continue;
            }
            if refuses(state, auth.workspace, filter, &create, now).await? {
                refused = true;
                break;
            }
        }
        if refused {
            op.actions = vec![IngestAction::Ignore];
            skipped += 1;
            continue;
        }
        for action in &op.actions {
            remember(action, &mut known);
        }
    }
    if skipped > 0 {
        state
            .config
            .count_ignored(auth.workspace, source, skipped as u64);
        tracing::info!(workspace = %auth.workspace, source = source.as_string(), skipped, "import filter skipped messages");
    }
    Ok(skipped)
}

/// Notes the organizations and accounts an applied action creates or references.
fn remember(action: &IngestAction, known: &mut HashSet<(bool, String)>) {
    match action {
        IngestAction::Record(write) => {
            if let Some(create) = creation(write) {
                known.insert((
                    create.kind == Kind::Account,
                    create.candidate.external_id.to_owned(),
                ));
            }
            match write.unwrapped() {
                Write::UpsertAccount { fields, .. } | Write::UpdateAccount { fields, .. } => {
                    if let Some(Some(org)) = &fields.organization {
                        known.insert((false, org.0.clone()));
                    }
                }
                Write::UpsertUser { fields, .. } | Write::UpdateUser { fields, .. } => {
                    let UserFields {
                        accounts,
                        add_accounts,
                        organizations,
                        add_organizations,
                        ..
                    } = fields;
                    for r in accounts.iter().flatten().chain(add_accounts) {
                        known.insert((true, r.0.clone()));
                    }
                    for r in organizations.iter().flatten().chain(add_organizations) {
                        known.insert((false, r.0.clone()));
                    }
                }
                _ => {}
            }
        }
        IngestAction::Event(e) => {
            if let Some(a) = &e.account {
                known.insert((true, a.as_str().to_owned()));
            }
            if let Some(o) = &e.organization {
                known.insert((false, o.as_str().to_owned()));
            }
        }
        _ => {}
    }
}
