-- Event ingestion (SQLite). Keep in step with ../postgres/0002_events.sql.

-- Every ingested message id, per workspace: a replayed message is recognised and skipped.
-- Messages without an id are keyed by a hash of their content.
CREATE TABLE messages (
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    message_id    TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, message_id)
);

-- The event log: append-only. Deleting a user, account or organization deletes its events
-- (its event tracking goes with it, as in the reference product).
CREATE TABLE events (
    id               BLOB PRIMARY KEY NOT NULL,
    workspace_id     BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    name             TEXT NOT NULL,
    user_id          BLOB,
    account_id       BLOB,
    organization_id  BLOB,
    occurred_at      INTEGER NOT NULL,
    received_at      INTEGER NOT NULL,
    properties       TEXT NOT NULL
);
CREATE INDEX events_by_user ON events (user_id, occurred_at, id);
CREATE INDEX events_by_account ON events (account_id, occurred_at, id);
CREATE INDEX events_by_organization ON events (organization_id, occurred_at, id);
CREATE INDEX events_by_workspace ON events (workspace_id, occurred_at, id);
