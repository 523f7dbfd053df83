-- Conversations and messages (PostgreSQL). Keep in step with ../sqlite/0008_conversations.sql.
-- Steward records conversations (it never sends mail); see crates/store/src/conversations.rs.

CREATE TABLE conversations (
    id            UUID PRIMARY KEY NOT NULL,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_id   TEXT NOT NULL,
    subject       TEXT,
    traits        TEXT NOT NULL,
    external_url  TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX conversations_by_updated ON conversations (workspace_id, updated_at, id);
CREATE INDEX conversations_by_created ON conversations (workspace_id, created_at, id);

-- A message's participants are kept as the client named them, resolved to Steward ids
-- (`sender`: one participant, `recipients`: {"to":[..],"cc":[..],"bcc":[..]}, JSON). The
-- users and team members among them are also rows below, which a deletion of the user or
-- team member removes (so they leave the conversation's associations) and which lists by
-- account or organization join through memberships.
CREATE TABLE messages (
    id               UUID PRIMARY KEY NOT NULL,
    workspace_id     UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    conversation_id  UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL,
    direction        TEXT NOT NULL,
    sent_at          BIGINT NOT NULL,
    body             TEXT NOT NULL,
    sender           TEXT NOT NULL,
    recipients       TEXT NOT NULL,
    external_url     TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX messages_by_updated ON messages (conversation_id, updated_at, id);
CREATE INDEX messages_by_created ON messages (conversation_id, created_at, id);

CREATE TABLE message_users (
    message_id       UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id  UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id          UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_users_by_user ON message_users (user_id, conversation_id);
CREATE INDEX message_users_by_conversation ON message_users (conversation_id);

CREATE TABLE message_admins (
    message_id       UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id  UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    admin_id         UUID NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, admin_id)
);
CREATE INDEX message_admins_by_admin ON message_admins (admin_id);
CREATE INDEX message_admins_by_conversation ON message_admins (conversation_id);
