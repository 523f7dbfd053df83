-- A leaner event log (SQLite). Keep in step with ../postgres/0005_lean_event_log.sql.
--
-- Every event insert pays one B-tree insert per index, and ingestion is insert-bound. The id
-- becomes the table's own key (WITHOUT ROWID: no separate primary-key index; ids are UUIDv7,
-- so appends land at the end), and the per-workspace index goes: no query reads events by
-- workspace alone. The message ids likewise become their table's own key.
CREATE TABLE events_lean (
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
) WITHOUT ROWID;
INSERT INTO events_lean
    SELECT id, workspace_id, kind, name, user_id, account_id, organization_id, occurred_at, received_at, properties
    FROM events;
DROP TABLE events;
ALTER TABLE events_lean RENAME TO events;
CREATE INDEX events_by_user ON events (user_id, occurred_at, id);
CREATE INDEX events_by_account ON events (account_id, occurred_at, id);
CREATE INDEX events_by_organization ON events (organization_id, occurred_at, id);

CREATE TABLE messages_lean (
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    message_id    TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, message_id)
) WITHOUT ROWID;
INSERT INTO messages_lean SELECT workspace_id, message_id, received_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_lean RENAME TO messages;
