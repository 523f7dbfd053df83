-- Custom objects (PostgreSQL). Keep in step with ../sqlite/0003_custom_objects.sql.

-- A record type the workspace defines. `name` is its API key (unique per workspace); its
-- custom field definitions are a JSON array in `fields`: they are only ever read and written
-- with the object, and keeping them here leaves `custom_fields` (and its uniqueness rules)
-- untouched.
CREATE TABLE custom_objects (
    id            UUID PRIMARY KEY NOT NULL,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    label         TEXT NOT NULL,
    fields        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE INDEX custom_objects_by_updated ON custom_objects (workspace_id, updated_at, id);
CREATE INDEX custom_objects_by_created ON custom_objects (workspace_id, created_at, id);

-- Instances belong to one object and to an account, an organization or both. A parent's
-- deletion clears the link (SET NULL); the writer then deletes instances left with no parent.
-- `external_id` may be absent (the REST API allows it); NULLs never collide in UNIQUE.
CREATE TABLE custom_object_instances (
    id                UUID PRIMARY KEY NOT NULL,
    workspace_id      UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    custom_object_id  UUID NOT NULL REFERENCES custom_objects(id) ON DELETE CASCADE,
    external_id       TEXT,
    name              TEXT NOT NULL,
    traits            TEXT NOT NULL,
    account_id        UUID REFERENCES accounts(id) ON DELETE SET NULL,
    organization_id   UUID REFERENCES organizations(id) ON DELETE SET NULL,
    archived_at       BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (custom_object_id, external_id)
);
CREATE INDEX custom_object_instances_by_updated ON custom_object_instances (custom_object_id, updated_at, id);
CREATE INDEX custom_object_instances_by_created ON custom_object_instances (custom_object_id, created_at, id);
CREATE INDEX custom_object_instances_by_account ON custom_object_instances (account_id);
CREATE INDEX custom_object_instances_by_organization ON custom_object_instances (organization_id);
