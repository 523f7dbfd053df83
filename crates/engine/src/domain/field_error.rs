use std::fmt;

/// A value that failed to parse, with the (JSON path of the) field it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field as the client named it, e.g. `externalId` or `traits.plan`.
    pub field: String,
    /// A human-readable explanation that names the field.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The error for a required field that is absent or null.
    pub fn missing(field: &str) -> Self {
        Self::new(field, format!("`{field}` is required"))
    }

    /// Re-labels the error when a value parsed in isolation sits under a larger path.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.message = self
            .message
            .replace(&format!("`{}`", self.field), &format!("`{field}`"));
        self.field = field;
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}
