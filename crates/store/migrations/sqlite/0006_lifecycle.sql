-- Lifecycle state and status history (sqlite). Keep in step with the other backend's 0006.
--
-- The engine computes statuses; what must outlive a restart is kept here: each record's
-- sticky state (the engine's LifecycleRecord, as JSON) and every status transition.
CREATE TABLE lifecycle_state (
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    record_id     BLOB NOT NULL,
    state         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, record_id)
);

CREATE TABLE lifecycle_history (
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    record_id     BLOB NOT NULL,
    from_status   TEXT NOT NULL,
    to_status     TEXT NOT NULL,
    at            INTEGER NOT NULL,
    recorded_at   INTEGER NOT NULL
);
CREATE INDEX lifecycle_history_by_record ON lifecycle_history (workspace_id, record_id, at);
