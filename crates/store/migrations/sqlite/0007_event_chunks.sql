-- The event log as append-only chunks (sqlite). Keep in step with ../postgres/0007_event_chunks.sql.
-- Design: crates/store/src/event_log/mod.rs.

-- One row per workspace per commit: every event and message key that commit ingested.
CREATE TABLE event_chunks (
    seq           INTEGER PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    received_at   INTEGER NOT NULL,
    events        INTEGER NOT NULL,
    body          BLOB NOT NULL
);

-- The owner index, flushed: one row per record per flush, its entries newest first.
CREATE TABLE event_runs (
    owner_id  BLOB NOT NULL,
    run       INTEGER NOT NULL,
    min_at    INTEGER NOT NULL,
    max_at    INTEGER NOT NULL,
    events    INTEGER NOT NULL,
    entries   BLOB NOT NULL,
    PRIMARY KEY (owner_id, run)
);

-- Deleted users, accounts and organizations: their references in chunks read as absent.
CREATE TABLE event_tombstones (
    record_id     BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    deleted_at    INTEGER NOT NULL
);

-- The last chunk whose index entries are in event_runs.
CREATE TABLE event_log_meta (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    flushed_through  INTEGER NOT NULL
);
INSERT INTO event_log_meta (id, flushed_through) VALUES (1, 0);

-- Rows of the per-event log are moved into chunks by the store when it opens, then dropped.
-- Replay keys of the old log are not carried over (the replay window is a day).
ALTER TABLE events RENAME TO legacy_events;
DROP TABLE messages;
