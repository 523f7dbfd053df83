//! Derived values: configuration errors, formula traits and rollups, lifecycle rules with an
//! injected clock, user deactivation, and the property that incremental upkeep equals a full
//! recomputation.

mod assignments;
mod config;
mod formulas;
mod lifecycle;
mod messages;
mod property;
mod time_zone;

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use steward_engine::derive::{
    Compiled, CustomFieldInput, DerivationConfig, DerivedChange, FieldType, Model, RecordInput,
    RecordRef, SchemaInput, Status, compile, key_role_fields, user_column_fields,
};
use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::time::Millis;
use steward_engine::{Engine, GraphChange};
use uuid::Uuid;

pub const DAY: i64 = 86_400_000;
/// 2024-06-01T00:00:00Z.
pub const T0: i64 = 1_717_200_000_000;

pub fn ws() -> WorkspaceId {
    WorkspaceId(Uuid::from_u128(0xAB))
}

pub fn org(i: u32) -> OrganizationId {
    OrganizationId(Uuid::from_u128(0x1_0000 + u128::from(i)))
}

pub fn acc(i: u32) -> AccountId {
    AccountId(Uuid::from_u128(0x2_0000 + u128::from(i)))
}

pub fn usr(i: u32) -> UserId {
    UserId(Uuid::from_u128(0x3_0000 + u128::from(i)))
}

pub fn o(i: u32) -> RecordRef {
    RecordRef::Organization(org(i))
}

pub fn a(i: u32) -> RecordRef {
    RecordRef::Account(acc(i))
}

pub fn u(i: u32) -> RecordRef {
    RecordRef::User(usr(i))
}

pub fn field(model: Model, key: &str, ty: FieldType) -> CustomFieldInput {
    CustomFieldInput {
        model,
        key: key.to_owned(),
        ty,
    }
}

/// Custom fields most tests use.
pub fn schema() -> SchemaInput {
    use FieldType::*;
    use Model::*;
    SchemaInput {
        custom_fields: vec![
            field(Account, "amount", Number),
            field(Account, "plan", String),
            field(Account, "isTrial", Boolean),
            field(Account, "canceled", Boolean),
            field(Account, "trialEnds", Date),
            field(Account, "canceledOn", Date),
            field(Account, "renewsOn", Date),
            field(Account, "test", Boolean),
            field(Organization, "canceled", Boolean),
            field(Organization, "test", Boolean),
            field(User, "seats", Number),
            field(User, "email", String),
            field(User, "role", String),
        ],
        extra_fields: {
            let mut extra = key_role_fields(["csm", "accountExecutive", "implementation"]);
            extra.extend(user_column_fields());
            extra
        },
        any_key_role: false,
    }
}

pub fn compiled(config: serde_json::Value) -> Compiled {
    let config: DerivationConfig = serde_json::from_value(config).expect("config parses");
    match compile(&config, &schema()) {
        Ok(c) => c,
        Err(errors) => panic!("config errors: {errors:#?}"),
    }
}

/// An engine with one workspace, the traits storage would hold, and a clock.
pub struct Fixture {
    pub engine: Engine,
    pub traits: BTreeMap<RecordRef, Map<String, Value>>,
    pub now: Millis,
    pub changes: Vec<DerivedChange>,
}

impl Fixture {
    pub fn new(config: serde_json::Value) -> Self {
        let mut f = Fixture {
            engine: Engine::new(),
            traits: BTreeMap::new(),
            now: Millis(T0),
            changes: Vec::new(),
        };
        let compiled = compiled(config);
        let out = f.engine.configure(ws(), compiled, [], f.now);
        f.changes.extend(out);
        f
    }

    pub fn at(&mut self, day: f64) -> &mut Self {
        self.now = Millis(T0 + (day * DAY as f64) as i64);
        let out = self.engine.advance(ws(), self.now);
        self.changes.extend(out);
        self
    }

    pub fn graph(&mut self, change: GraphChange) -> &mut Self {
        let out = self.engine.apply_at(ws(), &change, self.now);
        self.changes.extend(out);
        self
    }

    pub fn org(&mut self, i: u32) -> &mut Self {
        self.graph(GraphChange::UpsertOrganization {
            id: org(i),
            created_at: self.now,
            updated_at: self.now,
        })
    }

    pub fn account(&mut self, i: u32, parent: Option<u32>) -> &mut Self {
        self.graph(GraphChange::UpsertAccount {
            id: acc(i),
            organization: parent.map(org),
            created_at: self.now,
            updated_at: self.now,
        })
    }

    pub fn user(&mut self, i: u32, accounts: &[u32]) -> &mut Self {
        self.graph(GraphChange::UpsertUser {
            id: usr(i),
            accounts: accounts.iter().copied().map(acc).collect(),
            organizations: Vec::new(),
            created_at: self.now,
            updated_at: self.now,
        })
    }

    /// Merges a trait patch as storage does (`null` deletes) and hands the result on.
    pub fn set(&mut self, record: RecordRef, patch: serde_json::Value) -> &mut Self {
        let traits = self.traits.entry(record).or_default();
        for (k, v) in patch.as_object().expect("patch is an object") {
            if v.is_null() {
                traits.remove(k);
            } else {
                traits.insert(k.clone(), v.clone());
            }
        }
        let input = RecordInput {
            record,
            name: None,
            traits,
            extra: None,
        };
        let out = self.engine.set_traits(ws(), input, self.now);
        self.changes.extend(out);
        self
    }

    pub fn reconfigure(&mut self, config: serde_json::Value) -> &mut Self {
        let compiled = compiled(config);
        let inputs: Vec<RecordInput<'_>> = self
            .traits
            .iter()
            .map(|(record, traits)| RecordInput {
                record: *record,
                name: None,
                traits,
                extra: None,
            })
            .collect();
        let out = self.engine.configure(ws(), compiled, inputs, self.now);
        self.changes.extend(out);
        self
    }

    pub fn formula(&self, record: RecordRef, key: &str) -> Value {
        let view = self.engine.derived(ws(), record).expect("derived view");
        view.formulas
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no formula {key}"))
    }

    pub fn status(&self, record: RecordRef) -> Status {
        self.engine
            .derived(ws(), record)
            .and_then(|v| v.status)
            .expect("a status")
    }

    pub fn churned_at(&self, record: RecordRef) -> Option<Millis> {
        self.engine.derived(ws(), record).and_then(|v| v.churned_at)
    }

    pub fn transitions(&self, record: RecordRef) -> Vec<(Status, Status)> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                DerivedChange::Status {
                    record: r,
                    from,
                    to,
                    ..
                } if *r == record => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }
}

pub fn day(d: f64) -> Millis {
    Millis(T0 + (d * DAY as f64) as i64)
}

pub fn iso(d: f64) -> String {
    day(d).to_iso()
}
