//! Run-time values.

use jiff::Timestamp;
use serde::{Serialize, Serializer};

use crate::types::Type;

/// A value read from a record or produced by an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Never NaN or infinite: operations that would produce one give null.
    Number(f64),
    String(String),
    Date(Timestamp),
    /// A multi-select value.
    List(Vec<String>),
}

impl Value {
    /// The value's type, or `None` for null.
    pub fn type_of(&self) -> Option<Type> {
        match self {
            Value::Null => None,
            Value::Bool(_) => Some(Type::Bool),
            Value::Number(_) => Some(Type::Number),
            Value::String(_) => Some(Type::String),
            Value::Date(_) => Some(Type::Date),
            Value::List(_) => Some(Type::List),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A number, or null when not finite.
    pub fn number(n: f64) -> Value {
        if n.is_finite() {
            Value::Number(n)
        } else {
            Value::Null
        }
    }

    /// Converts a JSON trait value: arrays of strings become lists, objects
    /// and mixed arrays become null. Strings stay strings (they become dates
    /// only where the schema says date).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null | serde_json::Value::Object(_) => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => n.as_f64().map_or(Value::Null, Value::number),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map_or(Value::Null, Value::List),
        }
    }

    /// The JSON form; dates become RFC 3339 strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Date(t) => serde_json::Value::String(t.to_string()),
            Value::List(items) => items
                .iter()
                .cloned()
                .map(serde_json::Value::String)
                .collect(),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::number(n)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::number(n as f64)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Self {
        Value::Date(t)
    }
}

impl From<Vec<String>> for Value {
    fn from(items: Vec<String>) -> Self {
        Value::List(items)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}
