//! The fields and relations rules can read, and where each field's value comes from.
//!
//! A field id (handed to the rules checker and back at evaluation) packs its source in the
//! top byte and an index below, so evaluation reads a slot instead of hashing a name:
//!
//! | source | index | value |
//! |---|---|---|
//! | [`FieldSource::Input`] | projection slot of the model | a trait (or `name`) kept for rules |
//! | [`FieldSource::Formula`] | formula slot of the model | a computed formula trait |
//! | [`FieldSource::Lifecycle`] | [`LifeField`] | status, mrr, churnedAt, ... |
//! | [`FieldSource::Builtin`] | [`Builtin`] | timestamps, usage metrics, counts |

use std::cell::RefCell;

use steward_rules::{FieldDef, RelationDef, Schema, Scope, Type};

use super::config::Model;

/// A custom field definition, as the store lists them (model, key, type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFieldInput {
    pub model: Model,
    pub key: String,
    pub ty: FieldType,
}

impl CustomFieldInput {
    /// From the store's strings (`"accounts"`, `"number"`); `None` for models rules do not run on.
    pub fn parse(model: &str, key: &str, field_type: &str) -> Option<Self> {
        Some(Self {
            model: Model::parse(model)?,
            key: key.to_owned(),
            ty: FieldType::parse(field_type),
        })
    }
}

/// A custom field type as the rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    String,
    Number,
    Boolean,
    Date,
    /// A multi-select.
    List,
    /// Anything else (file attachments, unknown types): read untyped.
    Any,
}

impl FieldType {
    /// The store's type names (`string`, `textarea`, `picklist`, `multiselect`, ...).
    pub fn parse(name: &str) -> FieldType {
        match name {
            "string" | "textarea" | "picklist" | "teamMember" => FieldType::String,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "date" | "datetime" => FieldType::Date,
            "multiselect" => FieldType::List,
            _ => FieldType::Any,
        }
    }

    pub(crate) fn rule_type(self) -> Type {
        match self {
            FieldType::String => Type::String,
            FieldType::Number => Type::Number,
            FieldType::Boolean => Type::Bool,
            FieldType::Date => Type::Date,
            FieldType::List => Type::List,
            FieldType::Any => Type::Any,
        }
    }
}

/// Everything besides the derivation configuration that decides which names rules may use.
///
/// Extension point: `extra_fields` declares fields other modules provide (account owner and
/// key-role fields such as `owner.email`, `keyRoles.csm.email`). Their values are read from the
/// record's input map under the same key, so a module that computes them passes them along
/// with the traits in [`super::RecordInput::traits`]; nothing else here needs to change.
#[derive(Clone, Debug, Default)]
pub struct SchemaInput {
    pub custom_fields: Vec<CustomFieldInput>,
    pub extra_fields: Vec<CustomFieldInput>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldSource {
    Input = 0,
    Formula = 1,
    Lifecycle = 2,
    Builtin = 3,
}

pub(crate) fn field_id(source: FieldSource, index: usize) -> u32 {
    ((source as u32) << 24) | (index as u32 & 0x00FF_FFFF)
}

pub(crate) fn decode_field(id: u32) -> (FieldSource, usize) {
    let index = (id & 0x00FF_FFFF) as usize;
    let source = match id >> 24 {
        0 => FieldSource::Input,
        1 => FieldSource::Formula,
        2 => FieldSource::Lifecycle,
        _ => FieldSource::Builtin,
    };
    (source, index)
}

/// Fields the lifecycle rules produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LifeField {
    /// The effective status (an account's includes its organization's churn or ignore).
    Status,
    /// An account's status by its own rules only (organization rollups such as "all accounts
    /// churned" read this: reading `status` would read the organization's own churn back).
    OwnStatus,
    Mrr,
    ChurnedAt,
    TrialEndDate,
    NextRenewalDate,
    DeactivatedAt,
}

impl LifeField {
    pub const ALL: [LifeField; 7] = [
        LifeField::Status,
        LifeField::OwnStatus,
        LifeField::Mrr,
        LifeField::ChurnedAt,
        LifeField::TrialEndDate,
        LifeField::NextRenewalDate,
        LifeField::DeactivatedAt,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LifeField::Status => "status",
            LifeField::OwnStatus => "ownStatus",
            LifeField::Mrr => "mrr",
            LifeField::ChurnedAt => "churnedAt",
            LifeField::TrialEndDate => "trialEndDate",
            LifeField::NextRenewalDate => "nextRenewalDate",
            LifeField::DeactivatedAt => "deactivatedAt",
        }
    }

    fn ty(self) -> Type {
        match self {
            LifeField::Status | LifeField::OwnStatus => Type::String,
            LifeField::Mrr => Type::Number,
            _ => Type::Date,
        }
    }

    fn on(self, model: Model) -> bool {
        match self {
            LifeField::DeactivatedAt => model == Model::User,
            LifeField::OwnStatus => model == Model::Account,
            _ => model != Model::User,
        }
    }
}

/// Default fields kept by the graph and the usage metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Builtin {
    CreatedAt,
    UpdatedAt,
    LastSeenTimestamp,
    /// `firstSeenTimestamp` on organizations and accounts, `firstKnown` on users.
    FirstSeen,
    Sessions,
    UsersCount,
    AccountsCount,
}

impl Builtin {
    pub const ALL: [Builtin; 7] = [
        Builtin::CreatedAt,
        Builtin::UpdatedAt,
        Builtin::LastSeenTimestamp,
        Builtin::FirstSeen,
        Builtin::Sessions,
        Builtin::UsersCount,
        Builtin::AccountsCount,
    ];

    pub fn name(self, model: Model) -> &'static str {
        match self {
            Builtin::CreatedAt => "createdAt",
            Builtin::UpdatedAt => "updatedAt",
            Builtin::LastSeenTimestamp => "lastSeenTimestamp",
            Builtin::FirstSeen if model == Model::User => "firstKnown",
            Builtin::FirstSeen => "firstSeenTimestamp",
            Builtin::Sessions => "sessions",
            Builtin::UsersCount => "usersCount",
            Builtin::AccountsCount => "accountsCount",
        }
    }

    fn ty(self) -> Type {
        match self {
            Builtin::CreatedAt
            | Builtin::UpdatedAt
            | Builtin::LastSeenTimestamp
            | Builtin::FirstSeen => Type::Date,
            _ => Type::Number,
        }
    }

    fn on(self, model: Model) -> bool {
        match self {
            Builtin::Sessions => model == Model::User,
            Builtin::UsersCount => model != Model::User,
            Builtin::AccountsCount => model == Model::Organization,
            _ => true,
        }
    }
}

/// Relations between records, each with its inverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Rel {
    OrgAccounts,
    /// Direct users and the users of its accounts.
    OrgUsers,
    AccountOrganization,
    AccountUsers,
    UserAccounts,
    /// Every organization a user belongs to, directly or through an account.
    UserOrganizations,
}

impl Rel {
    pub(crate) const ALL: [Rel; 6] = [
        Rel::OrgAccounts,
        Rel::OrgUsers,
        Rel::AccountOrganization,
        Rel::AccountUsers,
        Rel::UserAccounts,
        Rel::UserOrganizations,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Rel::OrgAccounts | Rel::UserAccounts => "accounts",
            Rel::OrgUsers | Rel::AccountUsers => "users",
            Rel::AccountOrganization => "organization",
            Rel::UserOrganizations => "organizations",
        }
    }

    pub(crate) fn source(self) -> Model {
        match self {
            Rel::OrgAccounts | Rel::OrgUsers => Model::Organization,
            Rel::AccountOrganization | Rel::AccountUsers => Model::Account,
            Rel::UserAccounts | Rel::UserOrganizations => Model::User,
        }
    }

    pub(crate) fn target(self) -> Model {
        self.inverse().source()
    }

    pub(crate) fn inverse(self) -> Rel {
        match self {
            Rel::OrgAccounts => Rel::AccountOrganization,
            Rel::AccountOrganization => Rel::OrgAccounts,
            Rel::OrgUsers => Rel::UserOrganizations,
            Rel::UserOrganizations => Rel::OrgUsers,
            Rel::AccountUsers => Rel::UserAccounts,
            Rel::UserAccounts => Rel::AccountUsers,
        }
    }

    pub(crate) fn many(self) -> bool {
        self != Rel::AccountOrganization
    }

    pub(crate) fn find(from: Model, name: &str) -> Option<Rel> {
        Rel::ALL
            .into_iter()
            .find(|r| r.source() == from && r.name() == name)
    }

    pub(crate) fn from_id(id: u32) -> Rel {
        Rel::ALL[id as usize % Rel::ALL.len()]
    }
}

/// Where a projected input value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum InputKey {
    /// The record's name (a default field, not a trait).
    Name,
    Trait(String),
}

/// A declared field of a model, other than formulas and built-ins.
#[derive(Clone, Debug)]
struct Declared {
    key: String,
    ty: Type,
}

/// The schema rules are checked against. Input slots are handed out as the checker asks for
/// fields, so the projection holds exactly the inputs some rule reads.
#[derive(Debug)]
pub(crate) struct DerivedSchema {
    declared: [Vec<Declared>; 3],
    /// Formula keys and their types, per model, by formula slot.
    pub(crate) formulas: [Vec<(String, Type)>; 3],
    inputs: RefCell<[Vec<(InputKey, Type)>; 3]>,
}

fn m(model: Model) -> usize {
    model as usize
}

impl DerivedSchema {
    pub(crate) fn new(input: &SchemaInput) -> Self {
        let mut declared: [Vec<Declared>; 3] = Default::default();
        for field in input.custom_fields.iter().chain(&input.extra_fields) {
            let list = &mut declared[m(field.model)];
            if !list.iter().any(|d| d.key == field.key) {
                list.push(Declared {
                    key: field.key.clone(),
                    ty: field.ty.rule_type(),
                });
            }
        }
        Self {
            declared,
            formulas: Default::default(),
            inputs: RefCell::default(),
        }
    }

    /// Whether `key` names a field other than a formula on `model` (formula keys must not
    /// shadow one).
    pub(crate) fn is_taken(&self, model: Model, key: &str) -> bool {
        key == "name"
            || key.starts_with("traits.")
            || LifeField::ALL
                .iter()
                .any(|f| f.on(model) && f.name() == key)
            || Builtin::ALL
                .iter()
                .any(|b| b.on(model) && b.name(model) == key)
            || self.declared[m(model)].iter().any(|d| d.key == key)
    }

    /// The inputs rules read, per model, by slot.
    pub(crate) fn take_inputs(&self) -> [Vec<(InputKey, Type)>; 3] {
        self.inputs.borrow().clone()
    }

    fn input_slot(&self, model: Model, key: InputKey, ty: Type) -> u32 {
        let mut inputs = self.inputs.borrow_mut();
        let list = &mut inputs[m(model)];
        let slot = match list.iter().position(|(k, _)| *k == key) {
            Some(slot) => slot,
            None => {
                list.push((key, ty));
                list.len() - 1
            }
        };
        field_id(FieldSource::Input, slot)
    }

    fn lookup(&self, model: Model, name: &str) -> Option<FieldDef> {
        if name == "name" {
            let id = self.input_slot(model, InputKey::Name, Type::String);
            return Some(FieldDef::new(Type::String, id));
        }
        if let Some(slot) = self.formulas[m(model)].iter().position(|(k, _)| k == name) {
            let ty = self.formulas[m(model)][slot].1;
            return Some(FieldDef::new(ty, field_id(FieldSource::Formula, slot)));
        }
        if let Some(life) = LifeField::ALL
            .into_iter()
            .find(|f| f.on(model) && f.name() == name)
        {
            return Some(FieldDef::new(
                life.ty(),
                field_id(FieldSource::Lifecycle, life as usize),
            ));
        }
        if let Some(builtin) = Builtin::ALL
            .into_iter()
            .find(|b| b.on(model) && b.name(model) == name)
        {
            return Some(FieldDef::new(
                builtin.ty(),
                field_id(FieldSource::Builtin, builtin as usize),
            ));
        }
        if let Some(declared) = self.declared[m(model)].iter().find(|d| d.key == name) {
            let id = self.input_slot(model, InputKey::Trait(declared.key.clone()), declared.ty);
            return Some(FieldDef::new(declared.ty, id));
        }
        // Traits without a definition (integrations send many) are readable untyped.
        if let Some(raw) = name.strip_prefix("traits.")
            && !raw.is_empty()
        {
            let id = self.input_slot(model, InputKey::Trait(raw.to_owned()), Type::Any);
            return Some(FieldDef::new(Type::Any, id));
        }
        None
    }
}

impl Schema for DerivedSchema {
    fn field(&self, scope: &Scope, name: &str) -> Option<FieldDef> {
        self.lookup(Model::of_scope(scope)?, name)
    }

    fn field_names(&self, scope: &Scope) -> Vec<String> {
        let Some(model) = Model::of_scope(scope) else {
            return Vec::new();
        };
        let mut names = vec!["name".to_owned()];
        names.extend(self.formulas[m(model)].iter().map(|(k, _)| k.clone()));
        names.extend(
            LifeField::ALL
                .iter()
                .filter(|f| f.on(model))
                .map(|f| f.name().to_owned()),
        );
        names.extend(
            Builtin::ALL
                .iter()
                .filter(|b| b.on(model))
                .map(|b| b.name(model).to_owned()),
        );
        names.extend(self.declared[m(model)].iter().map(|d| d.key.clone()));
        names
    }

    fn relation(&self, scope: &Scope, name: &str) -> Option<RelationDef> {
        let rel = Rel::find(Model::of_scope(scope)?, name)?;
        Some(RelationDef {
            target: rel.target().scope(),
            many: rel.many(),
            id: rel as u32,
        })
    }

    fn relation_names(&self, scope: &Scope) -> Vec<String> {
        let Some(model) = Model::of_scope(scope) else {
            return Vec::new();
        };
        Rel::ALL
            .iter()
            .filter(|r| r.source() == model)
            .map(|r| r.name().to_owned())
            .collect()
    }
}
