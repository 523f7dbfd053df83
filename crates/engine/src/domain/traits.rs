//! Traits: the key/value bag on every record. Values keep their JSON types.

use serde_json::{Map, Value};

use super::FieldError;

/// The traits stored on a record.
pub type Traits = Map<String, Value>;

/// A trait key: non-empty, at most 256 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TraitKey(String);

impl TraitKey {
    pub const MAX_LEN: usize = 256;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty()
            || raw.chars().count() > Self::MAX_LEN
            || raw.chars().any(char::is_control)
        {
            return Err(FieldError::new(
                field,
                format!(
                    "`{field}` has an invalid key {raw:?}: keys are 1 to {} printable characters",
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

/// A partial update of traits: keys left out are kept, a key set to `null` is deleted, every
/// other value replaces the stored one (objects are replaced whole, not deep-merged).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraitPatch(Map<String, Value>);

impl TraitPatch {
    /// Parses the `traits` member of a request body (`field` is its name for errors).
    pub fn from_json(field: &str, value: &Value) -> Result<Self, FieldError> {
        match value {
            Value::Object(map) => {
                for key in map.keys() {
                    TraitKey::parse(field, key)?;
                }
                Ok(Self(map.clone()))
            }
            Value::Null => Ok(Self::default()),
            _ => Err(FieldError::new(
                field,
                format!("`{field}` must be an object"),
            )),
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Self {
        Self(map)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The patch as a map (`null` values are deletions).
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }
}

/// Applies `patch` to `base`. Returns whether anything changed.
pub fn merge_traits(base: &mut Traits, patch: &TraitPatch) -> bool {
    let mut changed = false;
    for (key, value) in &patch.0 {
        if value.is_null() {
            changed |= base.remove(key).is_some();
        } else if base.get(key) != Some(value) {
            base.insert(key.clone(), value.clone());
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_keeps_absent_deletes_null_and_keeps_types() {
        let mut base = json!({"plan": "pro", "seats": 10, "old": true})
            .as_object()
            .unwrap()
            .clone();
        let patch = TraitPatch::from_json(
            "traits",
            &json!({"seats": 12.5, "old": null, "tags": ["a"]}),
        )
        .unwrap();
        assert!(merge_traits(&mut base, &patch));
        assert_eq!(
            Value::Object(base.clone()),
            json!({"plan": "pro", "seats": 12.5, "tags": ["a"]})
        );
        assert!(
            !merge_traits(&mut base, &patch),
            "re-applying changes nothing"
        );
    }

    #[test]
    fn traits_must_be_an_object() {
        let err = TraitPatch::from_json("traits", &json!([1])).unwrap_err();
        assert_eq!(err.field, "traits");
        assert!(TraitPatch::from_json("traits", &json!({"": 1})).is_err());
    }
}
