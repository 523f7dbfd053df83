-- Steward foundation schema (PostgreSQL). Keep in step with ../sqlite/0001_foundation.sql:
-- same tables, columns and indexes; only the column types differ.
-- Ids are UUIDs (UUID here, BLOB on SQLite); instants are epoch milliseconds (BIGINT);
-- traits are JSON text, parsed by the application.

CREATE TABLE workspaces (
    id          UUID PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id            UUID PRIMARY KEY NOT NULL,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key_hash      BYTEA NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    label         TEXT,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE organizations (
    id            UUID PRIMARY KEY NOT NULL,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_id   TEXT NOT NULL,
    name          TEXT NOT NULL,
    traits        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX organizations_by_updated ON organizations (workspace_id, updated_at, id);
CREATE INDEX organizations_by_created ON organizations (workspace_id, created_at, id);

CREATE TABLE accounts (
    id               UUID PRIMARY KEY NOT NULL,
    workspace_id     UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL,
    name             TEXT NOT NULL,
    traits           TEXT NOT NULL,
    organization_id  UUID REFERENCES organizations(id) ON DELETE SET NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX accounts_by_updated ON accounts (workspace_id, updated_at, id);
CREATE INDEX accounts_by_created ON accounts (workspace_id, created_at, id);
CREATE INDEX accounts_by_organization ON accounts (organization_id);

CREATE TABLE users (
    id            UUID PRIMARY KEY NOT NULL,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_id   TEXT NOT NULL,
    name          TEXT,
    email         TEXT,
    email_norm    TEXT,
    avatar        TEXT,
    traits        TEXT NOT NULL,
    joined_at     BIGINT,
    unsubscribed  BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX users_by_updated ON users (workspace_id, updated_at, id);
CREATE INDEX users_by_created ON users (workspace_id, created_at, id);
CREATE INDEX users_by_email ON users (workspace_id, email_norm);

-- A user's direct links. Organization membership through accounts is derived, never stored.
CREATE TABLE account_users (
    account_id  UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id     UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_users_by_user ON account_users (user_id, position);

CREATE TABLE organization_users (
    organization_id  UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position         BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_users_by_user ON organization_users (user_id, position);

-- Team members (Vitally's "admins").
CREATE TABLE admins (
    id              UUID PRIMARY KEY NOT NULL,
    workspace_id    UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    email_norm      TEXT NOT NULL,
    license_status  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (workspace_id, email_norm)
);
CREATE INDEX admins_by_updated ON admins (workspace_id, updated_at, id);
CREATE INDEX admins_by_created ON admins (workspace_id, created_at, id);

-- Custom trait definitions ("customFields" on the REST API).
CREATE TABLE custom_fields (
    id            UUID PRIMARY KEY NOT NULL,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    model         TEXT NOT NULL,
    key           TEXT NOT NULL,
    label         TEXT NOT NULL,
    field_type    TEXT NOT NULL,
    description   TEXT,
    options       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, model, key)
);
CREATE INDEX custom_fields_by_updated ON custom_fields (workspace_id, updated_at, id);
CREATE INDEX custom_fields_by_created ON custom_fields (workspace_id, created_at, id);
