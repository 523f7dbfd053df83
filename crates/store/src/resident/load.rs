//! Filling the resident records from the tables at start-up: one scan per kind, each row's
//! columns written straight to its bytes (traits stay the stored text, never parsed).

use steward_engine::ids::WorkspaceId;

use super::{AccountParts, Kind, OrganizationParts, Resident, UserParts};
use crate::error::Result;
use crate::load::{BulkRow, BulkSource, required, workspace_sizes};

fn text(row: &dyn BulkRow, col: usize) -> String {
    row.text(col).unwrap_or_default()
}

/// Replaces what `resident` holds with every record in storage, then serves reads from it.
/// The caller holds the store's turn: nothing commits during the scans.
pub(crate) async fn load(source: &mut impl BulkSource, resident: &Resident) -> Result<()> {
    resident.clear();
    for (ws, counts) in workspace_sizes(source).await? {
        for (kind, records) in Kind::ALL.into_iter().zip(counts) {
            resident.reserve(kind, ws, records);
        }
    }
    let mut bytes = Vec::with_capacity(256);
    source
        .for_each(
            "SELECT workspace_id, id, external_id, name, traits, created_at, updated_at FROM organizations",
            &mut |r| {
                bytes.clear();
                OrganizationParts {
                    external_id: &text(r, 2),
                    name: &text(r, 3),
                    traits: &text(r, 4),
                    created_at: r.i64(5),
                    updated_at: r.i64(6),
                }
                .write(&mut bytes);
                let (ws, id) = (WorkspaceId(required(r, 0)?), required(r, 1)?);
                resident.load(Kind::Organization, ws, id, bytes.as_slice().into());
                Ok(())
            },
        )
        .await?;
    source
        .for_each(
            "SELECT workspace_id, id, external_id, name, traits, organization_id, created_at, updated_at FROM accounts",
            &mut |r| {
                bytes.clear();
                AccountParts {
                    external_id: &text(r, 2),
                    name: &text(r, 3),
                    traits: &text(r, 4),
                    organization_id: r.uuid(5),
                    created_at: r.i64(6),
                    updated_at: r.i64(7),
                }
                .write(&mut bytes);
                let (ws, id) = (WorkspaceId(required(r, 0)?), required(r, 1)?);
                resident.load(Kind::Account, ws, id, bytes.as_slice().into());
                Ok(())
            },
        )
        .await?;
    source
        .for_each(
            "SELECT workspace_id, id, external_id, name, email, avatar, traits, \
             CAST(CASE WHEN joined_at IS NULL THEN 0 ELSE 1 END AS BIGINT), COALESCE(joined_at, 0), \
             CAST(CASE WHEN unsubscribed THEN 1 ELSE 0 END AS BIGINT), created_at, updated_at FROM users",
            &mut |r| {
                bytes.clear();
                UserParts {
                    external_id: &text(r, 2),
                    name: r.text(3).as_deref(),
                    email: r.text(4).as_deref(),
                    avatar: r.text(5).as_deref(),
                    traits: &text(r, 6),
                    joined_at: (r.i64(7) != 0).then(|| r.i64(8)),
                    unsubscribed: r.i64(9) != 0,
                    created_at: r.i64(10),
                    updated_at: r.i64(11),
                }
                .write(&mut bytes);
                let (ws, id) = (WorkspaceId(required(r, 0)?), required(r, 1)?);
                resident.load(Kind::User, ws, id, bytes.as_slice().into());
                Ok(())
            },
        )
        .await?;
    resident.loaded();
    Ok(())
}
