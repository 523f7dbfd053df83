use std::fmt;

use super::FieldError;

/// A display name of an organization, account or user: not blank, at most 1024 characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RecordName(String);

impl RecordName {
    pub const MAX_LEN: usize = 1024;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
            return Err(FieldError::new(
                field,
                format!("`{field}` must not be blank"),
            ));
        }
        if raw.contains('\0') {
            return Err(FieldError::new(
                field,
                format!("`{field}` must not contain NUL characters"),
            ));
        }
        if raw.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("`{field}` is longer than {} characters", Self::MAX_LEN),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RecordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RecordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordName({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_names_are_refused() {
        assert!(RecordName::parse("name", "  ").is_err());
        assert!(RecordName::parse("name", "a\0b").is_err());
        assert_eq!(
            RecordName::parse("name", "Acme EMEA").unwrap().as_str(),
            "Acme EMEA"
        );
    }
}
