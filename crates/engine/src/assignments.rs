//! Who is responsible for a customer: key roles (team members, see [`crate::key_roles`]) and
//! owners (a user at the customer, see [`crate::owners`]).
//!
//! Both hang off accounts and organizations only (Vitally assigns neither to users or custom
//! objects). Storage sends [`AssignmentChange`]s inside [`crate::GraphChange::Assignment`]
//! after a write commits; deletions of records and admins clear what pointed at them.

use std::fmt;

use foldhash::HashMap;

use crate::domain::FieldError;
use crate::ids::{AccountId, AdminId, OrganizationId, UserId};
use crate::key_roles::KeyRoleBook;
use crate::owners::Owners;

/// An account or an organization: the two levels key roles and owners apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Customer {
    Account(AccountId),
    Organization(OrganizationId),
}

/// A key role's key: `csm`, `accountExecutive`, or a custom one (`implementation`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleKey(String);

impl RoleKey {
    pub const MAX_LEN: usize = 64;
    /// The Customer Success Manager role every workspace has.
    pub const CSM: &'static str = "csm";
    /// The Account Executive role every workspace has.
    pub const ACCOUNT_EXECUTIVE: &'static str = "accountExecutive";

    /// A letter, then letters, digits, `_` or `-`; at most 64 characters. Keys are used in
    /// query strings and JSON keys, so they stay plain.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let mut chars = raw.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && raw.len() <= Self::MAX_LEN;
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                format!(
                    "`{field}` must be a role key: a letter, then letters, digits, `_` or `-` (at most {} characters), not {raw:?}",
                    Self::MAX_LEN
                ),
            ))
        }
    }

    pub fn csm() -> Self {
        Self(Self::CSM.to_owned())
    }

    pub fn account_executive() -> Self {
        Self(Self::ACCOUNT_EXECUTIVE.to_owned())
    }

    /// Whether this is one of the two roles every workspace has.
    pub fn is_builtin(&self) -> bool {
        self.0 == Self::CSM || self.0 == Self::ACCOUNT_EXECUTIVE
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A committed change to key roles or owners.
#[derive(Clone, Debug, PartialEq)]
pub enum AssignmentChange {
    /// `admin: None` removes whoever held the role.
    SetKeyRole {
        customer: Customer,
        role: RoleKey,
        admin: Option<AdminId>,
    },
    /// `user: None` removes the owner.
    SetOwner {
        customer: Customer,
        user: Option<UserId>,
    },
    /// A team member was deleted: every role they held is vacant.
    ForgetAdmin { admin: AdminId },
    /// A custom role was removed from the workspace with its assignments.
    ForgetRole { role: RoleKey },
    /// A team member's e-mail (created, changed, or loaded at start-up): rules read it as a
    /// key role's `keyRoles.<role>.email`.
    TeamMember { admin: AdminId, email: String },
}

/// Key roles and owners of one workspace.
#[derive(Debug, Default)]
pub struct Assignments {
    pub key_roles: KeyRoleBook,
    pub owners: Owners,
    /// Team members' e-mails, for rules reading a key role's e-mail.
    pub team: HashMap<AdminId, String>,
}

impl Assignments {
    pub fn apply(&mut self, change: &AssignmentChange) {
        match change {
            AssignmentChange::SetKeyRole {
                customer,
                role,
                admin,
            } => self.key_roles.set(*customer, role, *admin),
            AssignmentChange::SetOwner { customer, user } => self.owners.set(*customer, *user),
            AssignmentChange::ForgetAdmin { admin } => {
                self.key_roles.forget_admin(*admin);
                self.team.remove(admin);
            }
            AssignmentChange::TeamMember { admin, email } => {
                self.team.insert(*admin, email.clone());
            }
            AssignmentChange::ForgetRole { role } => self.key_roles.forget_role(role),
        }
    }

    /// A deleted account or organization takes its assignments along.
    pub fn forget_customer(&mut self, customer: Customer) {
        self.key_roles.forget_customer(customer);
        self.owners.set(customer, None);
    }

    /// A deleted user owns nothing any more.
    pub fn forget_user(&mut self, user: UserId) {
        self.owners.forget_user(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_keys() {
        assert!(RoleKey::parse("k", "csm").unwrap().is_builtin());
        assert!(
            !RoleKey::parse("k", "implementation-lead_2")
                .unwrap()
                .is_builtin()
        );
        for bad in ["", "2x", "a b", "é", &"x".repeat(65)] {
            assert!(RoleKey::parse("k", bad).is_err(), "{bad:?}");
        }
    }
}
