//! Embedded migrations, one directory per backend with the same versions.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQLite text, PostgreSQL text)
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "events",
        include_str!("../migrations/sqlite/0002_events.sql"),
        include_str!("../migrations/postgres/0002_events.sql"),
    ),
    (
        3,
        "custom_objects",
        include_str!("../migrations/sqlite/0003_custom_objects.sql"),
        include_str!("../migrations/postgres/0003_custom_objects.sql"),
    ),
    (
        4,
        "roles",
        include_str!("../migrations/sqlite/0004_roles.sql"),
        include_str!("../migrations/postgres/0004_roles.sql"),
    ),
    (
        5,
        "lean event log",
        include_str!("../migrations/sqlite/0005_lean_event_log.sql"),
        include_str!("../migrations/postgres/0005_lean_event_log.sql"),
    ),
    (
        6,
        "lifecycle",
        include_str!("../migrations/sqlite/0006_lifecycle.sql"),
        include_str!("../migrations/postgres/0006_lifecycle.sql"),
    ),
    (
        7,
        "event chunks",
        include_str!("../migrations/sqlite/0007_event_chunks.sql"),
        include_str!("../migrations/postgres/0007_event_chunks.sql"),
    ),
    (
        8,
        "conversations",
        include_str!("../migrations/sqlite/0008_conversations.sql"),
        include_str!("../migrations/postgres/0008_conversations.sql"),
    ),
];

#[derive(Clone, Copy)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

pub(crate) fn migrator(dialect: Dialect) -> Migrator {
    migrator_through(dialect, i64::MAX)
}

/// The migrations up to `version` (tests start from an older schema with it).
pub(crate) fn migrator_through(dialect: Dialect, version: i64) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .filter(|(v, ..)| *v <= version)
        .map(|(version, description, sqlite, postgres)| {
            let sql = match dialect {
                Dialect::Sqlite => *sqlite,
                Dialect::Postgres => *postgres,
            };
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sqlx::SqlStr::from_static(sql),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Both directories must list the same migration files, so that a column is never added
    /// to one backend only.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |dir: &str| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut names: Vec<String> = std::fs::read_dir(path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names("sqlite"), names("postgres"));
        assert_eq!(names("sqlite").len(), super::MIGRATIONS.len());
    }
}
