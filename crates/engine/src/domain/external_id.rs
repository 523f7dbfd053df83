use std::fmt;

use super::FieldError;

/// The customer's own identifier for a record: the key that makes data from every source land
/// on one record. Non-empty, at most 255 characters, no control characters; surrounding
/// whitespace is not trimmed away silently (it would make two systems disagree), it is refused.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_LEN: usize = 255;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new(
                field,
                format!("`{field}` must not be empty"),
            ));
        }
        if raw.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("`{field}` is longer than {} characters", Self::MAX_LEN),
            ));
        }
        if raw.trim() != raw {
            return Err(FieldError::new(
                field,
                format!("`{field}` must not start or end with whitespace"),
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                format!("`{field}` must not contain control characters"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Accepts a JSON string, or a JSON integer (older analytics clients send numeric ids).
    pub fn from_json(field: &str, value: &serde_json::Value) -> Result<Self, FieldError> {
        match value {
            serde_json::Value::String(s) => Self::parse(field, s),
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => {
                Self::parse(field, &n.to_string())
            }
            serde_json::Value::Null => Err(FieldError::missing(field)),
            _ => Err(FieldError::new(
                field,
                format!("`{field}` must be a string"),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExternalId({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids_and_numbers() {
        assert_eq!(
            ExternalId::parse("externalId", "acct-7").unwrap().as_str(),
            "acct-7"
        );
        let n = serde_json::json!(123456);
        assert_eq!(
            ExternalId::from_json("accountId", &n).unwrap().as_str(),
            "123456"
        );
    }

    #[test]
    fn refuses_bad_ids_naming_the_field() {
        for bad in ["", " x", "x ", "a\nb"] {
            let err = ExternalId::parse("externalId", bad).unwrap_err();
            assert_eq!(err.field, "externalId");
            assert!(err.message.contains("`externalId`"), "{}", err.message);
        }
        let long = "x".repeat(256);
        assert!(ExternalId::parse("externalId", &long).is_err());
        let err = ExternalId::from_json("externalId", &serde_json::json!(true)).unwrap_err();
        assert!(err.message.contains("must be a string"));
    }
}
