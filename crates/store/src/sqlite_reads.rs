//! The hot REST reads on SQLite, through this thread's direct reader (see `sqlite_read`):
//! the same SQL as the sqlx path, decoded straight from SQLite's row.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::page::PageRequest;
use steward_engine::time::Millis;
use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::rows::{AccountRow, Listed, OrganizationRow, UserRow};
use crate::sql;
use crate::sqlite_read::{Bind, Row, with_reader};
use crate::write::RecordRef;

fn traits(row: &Row, col: i32) -> Result<steward_engine::domain::Traits> {
    serde_json::from_str(row.str(col)?).map_err(|e| StoreError::Corrupt(format!("traits: {e}")))
}

fn org(r: &Row) -> Result<OrganizationRow> {
    Ok(OrganizationRow {
        id: OrganizationId(r.uuid(0)?),
        external_id: r.text(1)?,
        name: r.text(2)?,
        traits: traits(r, 3)?,
        created_at: Millis(r.i64(4)),
        updated_at: Millis(r.i64(5)),
    })
}

fn account(r: &Row) -> Result<AccountRow> {
    Ok(AccountRow {
        id: AccountId(r.uuid(0)?),
        external_id: r.text(1)?,
        name: r.text(2)?,
        traits: traits(r, 3)?,
        organization_id: r.opt_uuid(4).map(OrganizationId),
        created_at: Millis(r.i64(5)),
        updated_at: Millis(r.i64(6)),
    })
}

fn user(r: &Row) -> Result<UserRow> {
    Ok(UserRow {
        id: UserId(r.uuid(0)?),
        external_id: r.text(1)?,
        name: r.opt_text(2)?,
        email: r.opt_text(3)?,
        avatar: r.opt_text(4)?,
        traits: traits(r, 5)?,
        joined_at: r.opt_i64(6).map(Millis),
        unsubscribed: r.bool(7),
        created_at: Millis(r.i64(8)),
        updated_at: Millis(r.i64(9)),
    })
}

/// A record table and how to decode its rows (the column order of `sql::*_COLS`).
pub(crate) struct Table<T: 'static> {
    name: &'static str,
    cols: &'static str,
    decode: fn(&Row) -> Result<T>,
    /// `sql::find_by_id` and `sql::find_by_external` of the table, written once rather than
    /// at every point read.
    find: &'static LazyLock<[String; 2]>,
}

macro_rules! table {
    ($table:ident, $row:ty, $name:literal, $cols:expr, $decode:expr) => {
        pub(crate) const $table: Table<$row> = Table {
            name: $name,
            cols: $cols,
            decode: $decode,
            find: {
                static FIND: LazyLock<[String; 2]> = LazyLock::new(|| {
                    [
                        sql::find_by_id($name, $cols),
                        sql::find_by_external($name, $cols),
                    ]
                });
                &FIND
            },
        };
    };
}

table!(ORGS, OrganizationRow, "organizations", sql::ORG_COLS, org);
table!(ACCOUNTS, AccountRow, "accounts", sql::ACCOUNT_COLS, account);
table!(USERS, UserRow, "users", sql::USER_COLS, user);

/// Steward's id first, then the external id.
pub(crate) fn find<T>(
    path: &Arc<PathBuf>,
    t: &Table<T>,
    ws: WorkspaceId,
    r: &RecordRef,
) -> Result<Option<T>> {
    let [by_id, by_external] = &**t.find;
    with_reader(path, |reader| {
        if let Some(id) = r.as_uuid() {
            let found = reader.query(by_id, &[Bind::Uuid(ws.0), Bind::Uuid(id)], t.decode)?;
            if let Some(row) = found.into_iter().next() {
                return Ok(Some(row));
            }
        }
        let found = reader.query(by_external, &[Bind::Uuid(ws.0), Bind::Text(&r.0)], t.decode)?;
        Ok(found.into_iter().next())
    })
}

pub(crate) fn list<T>(
    path: &Arc<PathBuf>,
    t: &Table<T>,
    ws: WorkspaceId,
    page: &PageRequest,
) -> Result<Vec<T>> {
    let limit = page.limit as i64;
    with_reader(path, |reader| match page.after {
        Some(after) => reader.query(
            &sql::list_page(t.name, t.cols, page.sort, true),
            &[
                Bind::Uuid(ws.0),
                Bind::I64(after.at.0),
                Bind::Uuid(after.id),
                Bind::I64(limit),
            ],
            t.decode,
        ),
        None => reader.query(
            &sql::list_page(t.name, t.cols, page.sort, false),
            &[Bind::Uuid(ws.0), Bind::I64(limit)],
            t.decode,
        ),
    })
}

/// The records with these ids, in the order given (missing ones left out).
pub(crate) fn by_ids<T: Listed>(
    path: &Arc<PathBuf>,
    t: &Table<T>,
    ws: WorkspaceId,
    ids: &[Uuid],
) -> Result<Vec<T>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut binds = Vec::with_capacity(ids.len() + 1);
    binds.push(Bind::Uuid(ws.0));
    binds.extend(ids.iter().map(|id| Bind::Uuid(*id)));
    let mut found = with_reader(path, |reader| {
        reader.query(
            &sql::by_ids_sqlite(t.name, t.cols, ids.len()),
            &binds,
            t.decode,
        )
    })?;
    let position = |row: &T| {
        ids.iter()
            .position(|id| *id == row.page_key(steward_engine::page::SortBy::UpdatedAt).id)
    };
    found.sort_by_cached_key(|row| position(row));
    Ok(found)
}
