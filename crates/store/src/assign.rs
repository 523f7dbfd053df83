//! Writes of key roles, owners and workspace configuration: the additions `roles_ops.rs`
//! applies. Kept apart from `write.rs` so the record writes stay readable.

use steward_engine::RoleKey;
use steward_engine::domain::Email;
use steward_engine::ids::AdminId;

use crate::write::RecordRef;

/// A team member as an assignment names them.
#[derive(Clone, Debug, PartialEq)]
pub enum AdminRef {
    /// Must exist in the workspace (REST).
    Id(AdminId),
    /// Found by e-mail; an unknown e-mail creates a placeholder team member with
    /// `licenseStatus: "auto-created"` (trait mappings).
    Email(Email),
}

/// Gives a key role to a team member, or takes it away (`admin: None`).
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRoleWrite {
    pub role: RoleKey,
    pub admin: Option<AdminRef>,
    /// The request field this came from, for errors (`keyRoles[0].vitallyUser`).
    pub field: String,
}

/// Sets the owner (a user) of the record, or removes it (`user: None`).
#[derive(Clone, Debug, PartialEq)]
pub struct OwnerWrite {
    pub user: Option<RecordRef>,
    /// Create the user (named by external id) when it does not exist: trait mappings name
    /// users that may arrive later. Otherwise an unknown user refuses the write.
    pub create_missing: bool,
    pub field: String,
}

/// Key roles and owner to apply to the account or organization a write leaves behind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AssignmentWrite {
    pub key_roles: Vec<KeyRoleWrite>,
    pub owner: Option<OwnerWrite>,
}

impl AssignmentWrite {
    pub fn is_empty(&self) -> bool {
        self.key_roles.is_empty() && self.owner.is_none()
    }
}

/// A configuration document of the workspace (validated by the server; stored as JSON).
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigWrite {
    Put {
        name: String,
        value: serde_json::Value,
    },
    Delete {
        name: String,
    },
    /// Stores the key-role configuration `value` under `name`. `roles` are the workspace's
    /// roles from now on (built-in ones are always kept): assignments of any other role are
    /// deleted in the same transaction.
    PutRoles {
        name: String,
        value: serde_json::Value,
        roles: Vec<RoleKey>,
    },
}
