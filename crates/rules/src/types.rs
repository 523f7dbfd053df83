//! Types, record kinds, and the schema the engine provides for checking.

use std::fmt;

use serde::Serialize;

/// The static type of an expression or a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    Bool,
    Number,
    String,
    Date,
    /// A multi-select value: a list of strings.
    List,
    /// Unknown until run time: a field of undeclared type, or the `null`
    /// literal. Operations on it are checked when evaluated (a mismatch gives
    /// null) instead of being rejected up front.
    Any,
}

impl Type {
    /// `Any` fits everywhere; otherwise types must match exactly.
    pub fn accepts(self, actual: Type) -> bool {
        self == Type::Any || actual == Type::Any || self == actual
    }

    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "boolean",
            Type::Number => "number",
            Type::String => "string",
            Type::Date => "date",
            Type::List => "list",
            Type::Any => "any",
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of record an expression runs on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Organization,
    Account,
    User,
    /// Instances of a custom object, by its key.
    CustomObject(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Organization => f.write_str("organization"),
            Scope::Account => f.write_str("account"),
            Scope::User => f.write_str("user"),
            Scope::CustomObject(key) => write!(f, "custom object `{key}`"),
        }
    }
}

/// A field as the schema declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    pub ty: Type,
    /// An engine-chosen number handed back in [`FieldRef::id`] at evaluation,
    /// so the engine can read a slot instead of hashing the name. Use 0 if the
    /// engine looks fields up by name.
    pub id: u32,
}

impl FieldDef {
    pub fn new(ty: Type, id: u32) -> Self {
        FieldDef { ty, id }
    }
}

/// A relation as the schema declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationDef {
    /// The kind of the related records.
    pub target: Scope,
    /// `true` for collections (`accounts`, `users`): they can only be
    /// aggregated. `false` for a parent (`organization`): its fields can be
    /// read directly as `organization.mrr`.
    pub many: bool,
    /// Engine-chosen, handed back in [`RelationRef::id`].
    pub id: u32,
}

/// What the checker needs to know about the workspace's data model.
///
/// The engine implements this over its trait definitions. Names are whatever
/// the engine accepts: `mrr`, `traits.plan`, `vitally.custom.nextStep`,
/// `owner.email`, `lastSeenTimestamp`, ...
pub trait Schema {
    /// The field `name` on records of `scope`, if it exists.
    fn field(&self, scope: &Scope, name: &str) -> Option<FieldDef>;
    /// All field names of `scope`; used to suggest a near name in errors.
    fn field_names(&self, scope: &Scope) -> Vec<String>;
    /// The relation `name` from records of `scope` (`accounts`, `users`,
    /// `organization`, custom object keys), if it exists.
    fn relation(&self, scope: &Scope, name: &str) -> Option<RelationDef>;
    /// All relation names of `scope`; used for suggestions.
    fn relation_names(&self, scope: &Scope) -> Vec<String> {
        let _ = scope;
        Vec::new()
    }
}

/// A field as handed to [`Record::get`]: the schema's id and the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef<'a> {
    pub id: u32,
    pub name: &'a str,
}

/// A relation as handed to [`Record::related`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationRef<'a> {
    pub id: u32,
    pub name: &'a str,
}

/// One record the engine evaluates an expression against.
pub trait Record {
    /// The field's current value; [`crate::Value::Null`] when unset. Values
    /// of the wrong type read as null, an ISO-8601 string reads as a date
    /// where the schema says date, and empty strings and lists read as null.
    fn get(&self, field: FieldRef<'_>) -> crate::Value;
    /// The field's value by reference, when the record holds it exactly as [`Record::get`]
    /// would return it: evaluation then compares and reads it without a copy. `None` (the
    /// default): evaluation calls `get`.
    fn get_ref(&self, field: FieldRef<'_>) -> Option<&crate::Value> {
        let _ = field;
        None
    }
    /// Calls `visit` once per related record. For a to-one relation, at most
    /// once (only the first call is used).
    fn related(&self, relation: RelationRef<'_>, visit: &mut dyn FnMut(&dyn Record));
}
