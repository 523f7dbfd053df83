-- The event log as append-only chunks (postgres). Keep in step with ../sqlite/0007_event_chunks.sql.
-- Design: crates/store/src/event_log/mod.rs.

-- One row per workspace per commit: every event and message key that commit ingested.
CREATE TABLE event_chunks (
    seq           BIGINT PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    received_at   BIGINT NOT NULL,
    events        BIGINT NOT NULL,
    body          BYTEA NOT NULL
);

-- The owner index, flushed: one row per record per flush, its entries newest first.
CREATE TABLE event_runs (
    owner_id  UUID NOT NULL,
    run       BIGINT NOT NULL,
    min_at    BIGINT NOT NULL,
    max_at    BIGINT NOT NULL,
    events    BIGINT NOT NULL,
    entries   BYTEA NOT NULL,
    PRIMARY KEY (owner_id, run)
);

-- Deleted users, accounts and organizations: their references in chunks read as absent.
CREATE TABLE event_tombstones (
    record_id     UUID PRIMARY KEY NOT NULL,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    deleted_at    BIGINT NOT NULL
);

-- The last chunk whose index entries are in event_runs.
CREATE TABLE event_log_meta (
    id               BIGINT PRIMARY KEY CHECK (id = 1),
    flushed_through  BIGINT NOT NULL
);
INSERT INTO event_log_meta (id, flushed_through) VALUES (1, 0);

-- Rows of the per-event log are moved into chunks by the store when it opens, then dropped.
-- Replay keys of the old log are not carried over (the replay window is a day).
ALTER TABLE events RENAME TO legacy_events;
DROP TABLE messages;
