//! The embedded default: SQLite in WAL mode.

// Write transactions start IMMEDIATE: taking the write lock up front makes a busy database
// wait (busy_timeout) instead of failing when a deferred transaction tries to upgrade.
crate::ops::backend_ops!(
    db: sqlx::Sqlite,
    row: sqlx::sqlite::SqliteRow,
    conn: sqlx::SqliteConnection,
    begin: "BEGIN IMMEDIATE",
    bulk: sqlite_write
);

crate::custom_object_ops::custom_object_ops!(row: sqlx::sqlite::SqliteRow);
crate::conversation_ops::conversation_ops!(row: sqlx::sqlite::SqliteRow);
crate::roles_ops::roles_ops!();
crate::lifecycle_ops::lifecycle_ops!();
