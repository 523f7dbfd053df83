//! PostgreSQL, for production and the path to scale-out.

crate::ops::backend_ops!(
    db: sqlx::Postgres,
    row: sqlx::postgres::PgRow,
    conn: sqlx::PgConnection,
    begin: "BEGIN",
    bulk: pg_write
);

crate::custom_object_ops::custom_object_ops!(row: sqlx::postgres::PgRow);
crate::conversation_ops::conversation_ops!(row: sqlx::postgres::PgRow);
crate::roles_ops::roles_ops!();
crate::lifecycle_ops::lifecycle_ops!();
