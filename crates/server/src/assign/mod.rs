//! Key roles, owners and import filters on the write path: what a request or message sets
//! becomes an explicit [`AssignmentWrite`] around the record write, and sources' import
//! filters decide which records they may create.
//!
//! - [`body`]: the REST members (`keyRoles`, `csmId`, `accountExecutiveId`,
//!   `accountOwnerId`, `organizationOwnerId`);
//! - [`mapping`]: trait mappings (a trait holding a team member's e-mail or the owner's
//!   external id), applied on every write that sets the trait, REST or ingestion;
//! - [`import_gate`]: import filters;
//! - [`render`]: the JSON members of accounts and organizations;
//! - [`book`]: lists limited to a team member's book of business.

pub mod body;
pub mod book;
pub mod import_gate;
pub mod mapping;
pub mod render;

use steward_engine::ids::WorkspaceId;
use steward_store::write::Write;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Adds what trait mappings imply to `write` (and to every record write of an ingestion
/// request), and checks that the key roles a request names exist. Runs before the write is
/// queued, on the REST API and ingestion alike.
pub async fn prepare(state: &AppState, ws: WorkspaceId, write: Write) -> ApiResult<Write> {
    if !mapping::may_assign(&write) {
        return Ok(write);
    }
    let config = state.config.get(&state.store, ws).await?;
    if let Write::Assign { assign, .. } = &write {
        for kr in &assign.key_roles {
            if !config.roles.has_role(kr.role.as_str()) {
                return Err(ApiError::field(
                    ErrorCode::InvalidField,
                    kr.field.clone(),
                    format!(
                        "`{}` is not a key role of this workspace (roles: {})",
                        kr.role,
                        config.roles.role_keys().join(", ")
                    ),
                ));
            }
        }
    }
    Ok(mapping::apply(&config.roles, write))
}
