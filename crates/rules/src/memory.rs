//! Plain in-memory [`Schema`] and [`Record`] implementations: for tests,
//! documentation, and previewing a formula against a hand-made record.

use std::collections::{BTreeMap, HashMap};

use crate::types::{FieldDef, FieldRef, Record, RelationDef, RelationRef, Schema, Scope, Type};
use crate::value::Value;

/// A schema held in maps. Field ids are assigned in insertion order.
#[derive(Debug, Clone, Default)]
pub struct MemorySchema {
    fields: BTreeMap<(Scope, String), FieldDef>,
    relations: BTreeMap<(Scope, String), RelationDef>,
}

impl MemorySchema {
    pub fn new() -> Self {
        MemorySchema::default()
    }

    pub fn with_field(mut self, scope: Scope, name: &str, ty: Type) -> Self {
        let id = u32::try_from(self.fields.len()).unwrap_or(u32::MAX);
        self.fields
            .insert((scope, name.to_owned()), FieldDef::new(ty, id));
        self
    }

    pub fn with_relation(mut self, scope: Scope, name: &str, target: Scope, many: bool) -> Self {
        let id = u32::try_from(self.relations.len()).unwrap_or(u32::MAX);
        self.relations
            .insert((scope, name.to_owned()), RelationDef { target, many, id });
        self
    }

    /// A small Vitally-like data model used by the examples and tests.
    pub fn demo() -> Self {
        use Scope::{Account, Organization, User};
        let mut schema = MemorySchema::new();
        for (scope, fields) in [
            (
                Organization,
                &[
                    ("name", Type::String),
                    ("mrr", Type::Number),
                    ("healthScore", Type::Number),
                    ("createdAt", Type::Date),
                    ("churnedAt", Type::Date),
                    ("segments", Type::List),
                ][..],
            ),
            (
                Account,
                &[
                    ("name", Type::String),
                    ("mrr", Type::Number),
                    ("arr", Type::Number),
                    ("status", Type::String),
                    ("plan", Type::String),
                    ("tags", Type::List),
                    ("isTrial", Type::Bool),
                    ("nextRenewalDate", Type::Date),
                    ("trialEndDate", Type::Date),
                    ("churnedAt", Type::Date),
                    ("lastSeenTimestamp", Type::Date),
                    ("healthScore", Type::Number),
                    ("owner.email", Type::String),
                    ("vitally.custom.nextStep", Type::String),
                    ("notes", Type::Any),
                ][..],
            ),
            (
                User,
                &[
                    ("name", Type::String),
                    ("email", Type::String),
                    ("lastSeenTimestamp", Type::Date),
                    ("firstKnown", Type::Date),
                    ("deactivatedAt", Type::Date),
                    ("npsLastScore", Type::Number),
                    ("roles", Type::List),
                    ("isAdmin", Type::Bool),
                ][..],
            ),
        ] {
            for (name, ty) in fields {
                schema = schema.with_field(scope.clone(), name, *ty);
            }
        }
        schema
            .with_relation(Organization, "accounts", Account, true)
            .with_relation(Organization, "users", User, true)
            .with_relation(Account, "organization", Organization, false)
            .with_relation(Account, "users", User, true)
            .with_relation(User, "accounts", Account, true)
    }
}

impl Schema for MemorySchema {
    fn field(&self, scope: &Scope, name: &str) -> Option<FieldDef> {
        self.fields.get(&(scope.clone(), name.to_owned())).copied()
    }

    fn field_names(&self, scope: &Scope) -> Vec<String> {
        self.fields
            .keys()
            .filter(|(s, _)| s == scope)
            .map(|(_, name)| name.clone())
            .collect()
    }

    fn relation(&self, scope: &Scope, name: &str) -> Option<RelationDef> {
        self.relations
            .get(&(scope.clone(), name.to_owned()))
            .cloned()
    }

    fn relation_names(&self, scope: &Scope) -> Vec<String> {
        self.relations
            .keys()
            .filter(|(s, _)| s == scope)
            .map(|(_, name)| name.clone())
            .collect()
    }
}

/// A record held in maps, looked up by field name.
#[derive(Debug, Clone, Default)]
pub struct MemoryRecord {
    fields: HashMap<String, Value>,
    relations: HashMap<String, Vec<MemoryRecord>>,
}

impl MemoryRecord {
    pub fn new() -> Self {
        MemoryRecord::default()
    }

    /// Sets a field. Strings for date fields are parsed when read.
    pub fn with(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.set(field, value);
        self
    }

    pub fn set(&mut self, field: &str, value: impl Into<Value>) {
        self.fields.insert(field.to_owned(), value.into());
    }

    /// Adds a related record.
    pub fn with_related(mut self, relation: &str, record: MemoryRecord) -> Self {
        self.relations
            .entry(relation.to_owned())
            .or_default()
            .push(record);
        self
    }
}

impl Record for MemoryRecord {
    fn get(&self, field: FieldRef<'_>) -> Value {
        self.fields.get(field.name).cloned().unwrap_or(Value::Null)
    }

    fn get_ref(&self, field: FieldRef<'_>) -> Option<&Value> {
        self.fields.get(field.name)
    }

    fn related(&self, relation: RelationRef<'_>, visit: &mut dyn FnMut(&dyn Record)) {
        for record in self.relations.get(relation.name).into_iter().flatten() {
            visit(record);
        }
    }
}
