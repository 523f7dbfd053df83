//! Custom objects: record types a workspace defines (deals, renewals, contracts). The engine
//! holds nothing about them yet; this module has the value types that cross the HTTP boundary.

use std::fmt;

use crate::domain::FieldError;

/// A custom object's API name (`deals`, `renewal_contracts`): how clients name the object in
/// paths and analytics messages, unique per workspace. A letter, then letters, digits or `_`,
/// at most 64 characters. Hyphens are refused so that a name can never be mistaken for an id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CustomObjectName(String);

impl CustomObjectName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let mut chars = raw.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !starts_with_letter
            || raw.len() > Self::MAX_LEN
            || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(FieldError::new(
                field,
                format!(
                    "`{field}` must be a letter followed by letters, digits or `_` (at most {} characters)",
                    Self::MAX_LEN
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CustomObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomObjectName({:?})", self.0)
    }
}

impl fmt::Display for CustomObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_api_keys_and_never_ids() {
        for ok in ["deals", "renewal_contracts", "Deal2"] {
            assert_eq!(CustomObjectName::parse("name", ok).unwrap().as_str(), ok);
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "2deals",
            "_x",
            "my deals",
            "déals",
            "a-b",
            long.as_str(),
        ] {
            let e = CustomObjectName::parse("name", bad).unwrap_err();
            assert_eq!(e.field, "name", "{bad:?}");
        }
        let uuid = "0190a5b4-0000-7000-8000-000000000000";
        assert!(CustomObjectName::parse("name", uuid).is_err());
    }
}
