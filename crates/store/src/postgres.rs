//! PostgreSQL, for production and the path to scale-out.

crate::ops::backend_ops!(
    db: sqlx::Postgres,
    row: sqlx::postgres::PgRow,
    conn: sqlx::PgConnection,
    begin: "BEGIN"
);

crate::roles_ops::roles_ops!();
