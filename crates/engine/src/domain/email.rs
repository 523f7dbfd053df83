use std::fmt;

use super::FieldError;

/// An e-mail address as given (case kept for display); [`Email::normalized`] is the lookup key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 320;

    /// Deliberately permissive: CS data comes from many systems, so anything shaped like
    /// `local@domain` without spaces is accepted.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let shaped = match raw.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }
            None => false,
        };
        if !shaped || raw.chars().any(char::is_whitespace) || raw.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("`{field}` is not an e-mail address"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key used for search and uniqueness.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let e = Email::parse("email", "Ada@Example.com").unwrap();
        assert_eq!(e.normalized(), "ada@example.com");
        for bad in ["ada", "@x", "a@", "a b@x", "a@b@c"] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }
}
