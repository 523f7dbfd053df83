//! SQL text shared by every read path (sqlx on both backends, and SQLite's direct reads).

use steward_engine::page::SortBy;

pub(crate) const ORG_COLS: &str = "id, external_id, name, traits, created_at, updated_at";
pub(crate) const ACCOUNT_COLS: &str =
    "id, external_id, name, traits, organization_id, created_at, updated_at";
pub(crate) const USER_COLS: &str =
    "id, external_id, name, email, avatar, traits, joined_at, unsubscribed, created_at, updated_at";
pub(crate) const ADMIN_COLS: &str = "id, name, email, license_status, created_at, updated_at";
pub(crate) const FIELD_COLS: &str =
    "id, model, key, label, field_type, description, options, created_at, updated_at";

/// `$1` workspace, `$2` id.
pub(crate) fn find_by_id(table: &str, cols: &str) -> String {
    format!("SELECT {cols} FROM {table} WHERE workspace_id = $1 AND id = $2")
}

/// `$1` workspace, `$2` external id.
pub(crate) fn find_by_external(table: &str, cols: &str) -> String {
    format!("SELECT {cols} FROM {table} WHERE workspace_id = $1 AND external_id = $2")
}

/// Newest first. With `after`: `$1` workspace, `$2` sort value, `$3` id, `$4` limit;
/// without: `$1` workspace, `$2` limit.
pub(crate) fn list_page(table: &str, cols: &str, sort: SortBy, after: bool) -> String {
    let col = match sort {
        SortBy::UpdatedAt => "updated_at",
        SortBy::CreatedAt => "created_at",
    };
    if after {
        format!(
            "SELECT {cols} FROM {table} WHERE workspace_id = $1 AND ({col}, id) < ($2, $3) ORDER BY {col} DESC, id DESC LIMIT $4"
        )
    } else {
        format!(
            "SELECT {cols} FROM {table} WHERE workspace_id = $1 ORDER BY {col} DESC, id DESC LIMIT $2"
        )
    }
}

/// [`by_ids`] for SQLite, whose planner otherwise picks a `(workspace_id, ...)` index and scans
/// every record of the workspace for the ids; `+workspace_id` keeps that column out of index
/// choice, so each id is a primary-key lookup. (PostgreSQL has no unary `+` for UUIDs.)
pub(crate) fn by_ids_sqlite(table: &str, cols: &str, n: usize) -> String {
    by_ids(table, cols, n).replacen("WHERE workspace_id", "WHERE +workspace_id", 1)
}

/// `$1` workspace, `$2`.. the `n` ids.
pub(crate) fn by_ids(table: &str, cols: &str, n: usize) -> String {
    let placeholders: Vec<String> = (0..n).map(|i| format!("${}", i + 2)).collect();
    format!(
        "SELECT {cols} FROM {table} WHERE workspace_id = $1 AND id IN ({})",
        placeholders.join(", ")
    )
}
