-- Key roles, owners and source configuration (postgres). Keep in step with ../sqlite/0004_roles.sql.
-- (0003 is reserved for custom objects.)

-- Which team member holds which key role on an account / organization: one per role.
-- Role keys are those of the workspace's "roles" configuration plus the built-in
-- `csm` and `accountExecutive`; removing a role from the configuration deletes its rows.
CREATE TABLE account_key_roles (
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    account_id    UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role_key      TEXT NOT NULL,
    admin_id      UUID NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    assigned_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, role_key)
);
CREATE INDEX account_key_roles_by_admin ON account_key_roles (admin_id);
CREATE INDEX account_key_roles_by_workspace ON account_key_roles (workspace_id, role_key);

CREATE TABLE organization_key_roles (
    workspace_id     UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    organization_id  UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    role_key         TEXT NOT NULL,
    admin_id         UUID NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    assigned_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, role_key)
);
CREATE INDEX organization_key_roles_by_admin ON organization_key_roles (admin_id);
CREATE INDEX organization_key_roles_by_workspace ON organization_key_roles (workspace_id, role_key);

-- The owning user of an account / organization. Deleting the user clears the owner.
CREATE TABLE account_owners (
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    account_id    UUID PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    assigned_at   BIGINT NOT NULL
);
CREATE INDEX account_owners_by_user ON account_owners (user_id);

CREATE TABLE organization_owners (
    workspace_id     UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    organization_id  UUID PRIMARY KEY NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    assigned_at      BIGINT NOT NULL
);
CREATE INDEX organization_owners_by_user ON organization_owners (user_id);

-- Workspace configuration documents, validated by the server before they are stored:
-- `roles` (custom key roles and trait mappings), `importFilter/<api key id>` (which records
-- a source may create). JSON text.
CREATE TABLE workspace_config (
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
