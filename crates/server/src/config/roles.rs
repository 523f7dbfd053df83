//! Key roles and trait mappings of a workspace.
//!
//! ```json
//! {
//!   "keyRoles": [{"key": "implementation", "label": "Implementation Specialist"}],
//!   "keyRoleTraits": [{"role": "csm", "model": "accounts", "trait": "csmEmail"}],
//!   "ownerTraits": {"accounts": "ownerId", "organizations": "orgOwnerId"}
//! }
//! ```
//!
//! `csm` ("CSM") and `accountExecutive` ("Account Executive") always exist and are not listed.
//! A key-role trait holds a team member's e-mail; an owner trait holds a user's external id.

use serde::{Deserialize, Serialize};
use steward_engine::RoleKey;
use steward_engine::domain::TraitKey;

use super::ConfigError;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolesConfig {
    /// Custom roles, besides the two built-in ones.
    #[serde(default)]
    pub key_roles: Vec<KeyRoleDef>,
    /// Traits holding a team member's e-mail: writing one assigns the role.
    #[serde(default)]
    pub key_role_traits: Vec<KeyRoleTrait>,
    /// Traits holding the owning user's external id.
    #[serde(default)]
    pub owner_traits: OwnerTraits,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRoleDef {
    pub key: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRoleTrait {
    pub role: String,
    pub model: Model,
    #[serde(rename = "trait")]
    pub trait_key: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerTraits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<String>,
}

/// The record kinds key roles and owners apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Model {
    Accounts,
    Organizations,
}

/// The built-in roles: key and label.
pub const BUILTIN_ROLES: [(&str, &str); 2] = [
    (RoleKey::CSM, "CSM"),
    (RoleKey::ACCOUNT_EXECUTIVE, "Account Executive"),
];

impl RolesConfig {
    /// Every problem, with its path.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        for (i, role) in self.key_roles.iter().enumerate() {
            let path = format!("keyRoles[{i}]");
            match RoleKey::parse("key", &role.key) {
                Err(e) => errors.push(ConfigError::new(format!("{path}.key"), e.message)),
                Ok(key) if key.is_builtin() => errors.push(ConfigError::new(
                    format!("{path}.key"),
                    format!("`{}` is a built-in role; it always exists", role.key),
                )),
                Ok(_) => {}
            }
            if self.key_roles[..i].iter().any(|r| r.key == role.key) {
                errors.push(ConfigError::new(
                    format!("{path}.key"),
                    format!("role `{}` is defined twice", role.key),
                ));
            }
            let label = role.label.trim();
            if label.is_empty() || label.chars().count() > 200 {
                errors.push(ConfigError::new(
                    format!("{path}.label"),
                    "a label is 1 to 200 characters",
                ));
            }
        }
        for (i, mapping) in self.key_role_traits.iter().enumerate() {
            let path = format!("keyRoleTraits[{i}]");
            if !self.has_role(&mapping.role) {
                errors.push(ConfigError::new(
                    format!("{path}.role"),
                    format!(
                        "no key role `{}` (roles: {})",
                        mapping.role,
                        self.role_keys().join(", ")
                    ),
                ));
            }
            if let Err(e) = TraitKey::parse("trait", &mapping.trait_key) {
                errors.push(ConfigError::new(format!("{path}.trait"), e.message));
            }
            if self.key_role_traits[..i]
                .iter()
                .any(|m| m.role == mapping.role && m.model == mapping.model)
            {
                errors.push(ConfigError::new(
                    path,
                    format!(
                        "role `{}` is already mapped on this model; one trait per role",
                        mapping.role
                    ),
                ));
            }
        }
        for (model, key) in [
            ("accounts", &self.owner_traits.accounts),
            ("organizations", &self.owner_traits.organizations),
        ] {
            if let Some(key) = key
                && let Err(e) = TraitKey::parse("trait", key)
            {
                errors.push(ConfigError::new(format!("ownerTraits.{model}"), e.message));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Whether `key` is a role of the workspace (built-in or custom).
    pub fn has_role(&self, key: &str) -> bool {
        BUILTIN_ROLES.iter().any(|(k, _)| *k == key) || self.key_roles.iter().any(|r| r.key == key)
    }

    /// Every role key, built-in first.
    pub fn role_keys(&self) -> Vec<String> {
        BUILTIN_ROLES
            .iter()
            .map(|(k, _)| (*k).to_owned())
            .chain(self.key_roles.iter().map(|r| r.key.clone()))
            .collect()
    }

    /// Every role as `(key, label, built-in)`.
    pub fn roles(&self) -> Vec<(String, String, bool)> {
        BUILTIN_ROLES
            .iter()
            .map(|(k, l)| ((*k).to_owned(), (*l).to_owned(), true))
            .chain(
                self.key_roles
                    .iter()
                    .map(|r| (r.key.clone(), r.label.clone(), false)),
            )
            .collect()
    }

    /// The owner trait of a model.
    pub fn owner_trait(&self, model: Model) -> Option<&str> {
        match model {
            Model::Accounts => self.owner_traits.accounts.as_deref(),
            Model::Organizations => self.owner_traits.organizations.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_error_is_reported_with_its_path() {
        let config: RolesConfig = serde_json::from_value(json!({
            "keyRoles": [
                {"key": "csm", "label": "Mine"},
                {"key": "impl", "label": ""},
                {"key": "impl", "label": "Again"},
                {"key": "9lives", "label": "Cat"}
            ],
            "keyRoleTraits": [
                {"role": "csm", "model": "accounts", "trait": "csmEmail"},
                {"role": "csm", "model": "accounts", "trait": "otherEmail"},
                {"role": "nope", "model": "organizations", "trait": ""}
            ],
            "ownerTraits": {"accounts": ""}
        }))
        .unwrap();
        let paths: Vec<String> = config
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "keyRoles[0].key",
                "keyRoles[1].label",
                "keyRoles[2].key",
                "keyRoles[3].key",
                "keyRoleTraits[1]",
                "keyRoleTraits[2].role",
                "keyRoleTraits[2].trait",
                "ownerTraits.accounts",
            ]
        );
    }

    #[test]
    fn round_trips_in_camel_case() {
        let text = json!({
            "keyRoles": [{"key": "implementation", "label": "Implementation Specialist"}],
            "keyRoleTraits": [{"role": "implementation", "model": "organizations", "trait": "implEmail"}],
            "ownerTraits": {"accounts": "ownerId"}
        });
        let config: RolesConfig = serde_json::from_value(text.clone()).unwrap();
        assert!(config.validate().is_ok());
        assert_eq!(serde_json::to_value(&config).unwrap(), text);
        assert!(config.has_role("accountExecutive") && config.has_role("implementation"));
        assert!(serde_json::from_value::<RolesConfig>(json!({"keyroles": []})).is_err());
    }
}
