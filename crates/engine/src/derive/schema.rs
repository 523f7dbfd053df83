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
//! | [`FieldSource::Assigned`] | assigned-field slot | a key role's holder (id, e-mail) |

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
    pub fn new(model: Model, key: &str, ty: FieldType) -> Self {
        Self {
            model,
            key: key.to_owned(),
            ty,
        }
    }

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
/// Extension point: `extra_fields` declares fields other modules provide. Two kinds:
///
/// - **key-role fields** of organizations and accounts, `keyRoles.<role>.id`,
///   `keyRoles.<role>.email` and the shorthands `csmId`, `accountExecutiveId`: the engine
///   computes them from its key-role assignments (see [`key_role_fields`]);
/// - any other key (users' `email`, `joinedAt`): a column of the record, read from
///   [`super::RecordInput::extra`] under the same key.
///
/// Owner fields need no declaration: `owner` is a to-one relation of organizations and
/// accounts to a user, so `owner.email`, `owner.lastSeenTimestamp`, `owner.sessions` read the
/// owning user's fields.
#[derive(Clone, Debug, Default)]
pub struct SchemaInput {
    pub custom_fields: Vec<CustomFieldInput>,
    pub extra_fields: Vec<CustomFieldInput>,
    /// Accept key-role fields of any role, declared or not (stored rules are recompiled with
    /// this at start-up, so a role removed since reads null instead of refusing to start).
    pub any_key_role: bool,
}

/// The key-role fields of a workspace whose roles are `roles` (built-in ones included), for
/// [`SchemaInput::extra_fields`]: on organizations and accounts, `keyRoles.<role>.id` and
/// `keyRoles.<role>.email` for each role, plus `csmId` and `accountExecutiveId`.
pub fn key_role_fields<'a>(roles: impl IntoIterator<Item = &'a str>) -> Vec<CustomFieldInput> {
    let mut keys: Vec<String> = vec!["csmId".to_owned(), "accountExecutiveId".to_owned()];
    for role in roles {
        keys.push(format!("keyRoles.{role}.id"));
        keys.push(format!("keyRoles.{role}.email"));
    }
    let mut out = Vec::new();
    for model in [Model::Organization, Model::Account] {
        out.extend(keys.iter().map(|key| CustomFieldInput {
            model,
            key: key.clone(),
            ty: FieldType::String,
        }));
    }
    out
}

/// Users' columns rules may read (`email`, `joinedAt`), for [`SchemaInput::extra_fields`];
/// their values come in [`super::RecordInput::extra`] under these keys.
pub fn user_column_fields() -> Vec<CustomFieldInput> {
    vec![
        CustomFieldInput {
            model: Model::User,
            key: "email".to_owned(),
            ty: FieldType::String,
        },
        CustomFieldInput {
            model: Model::User,
            key: "joinedAt".to_owned(),
            ty: FieldType::Date,
        },
    ]
}

/// What a key-role field reads of the role's holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum HolderAttr {
    Id,
    Email,
}

/// A key-role field: the holder of `role` on the record, and what of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AssignedField {
    pub(crate) role: String,
    pub(crate) attr: HolderAttr,
}

impl AssignedField {
    /// `keyRoles.<role>.id|email`, `csmId`, `accountExecutiveId`.
    pub(crate) fn parse(key: &str) -> Option<AssignedField> {
        let field = |role: &str, attr| AssignedField {
            role: role.to_owned(),
            attr,
        };
        match key {
            "csmId" => return Some(field("csm", HolderAttr::Id)),
            "accountExecutiveId" => return Some(field("accountExecutive", HolderAttr::Id)),
            _ => {}
        }
        let rest = key.strip_prefix("keyRoles.")?;
        let (role, attr) = rest.rsplit_once('.')?;
        let attr = match attr {
            "id" => HolderAttr::Id,
            "email" => HolderAttr::Email,
            _ => return None,
        };
        (!role.is_empty()).then(|| field(role, attr))
    }

    /// The field names that read the holder of `role`.
    pub(crate) fn names(role: &str) -> Vec<String> {
        let mut names = vec![
            format!("keyRoles.{role}.id"),
            format!("keyRoles.{role}.email"),
        ];
        match role {
            "csm" => names.push("csmId".to_owned()),
            "accountExecutive" => names.push("accountExecutiveId".to_owned()),
            _ => {}
        }
        names
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldSource {
    Input = 0,
    Formula = 1,
    Lifecycle = 2,
    Builtin = 3,
    Assigned = 4,
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
        3 => FieldSource::Builtin,
        _ => FieldSource::Assigned,
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
    /// The latest message a user sent the team: the user's own, an account's or
    /// organization's over its current users (see `crate::conversations`).
    LastInboundMessage,
    /// The latest message the team sent a user (likewise).
    LastOutboundMessage,
}

/// The fields a message moves, on its users and on their accounts and organizations.
pub(crate) const MESSAGE_FIELDS: [&str; 2] = [
    "lastInboundMessageTimestamp",
    "lastOutboundMessageTimestamp",
];

impl Builtin {
    pub const ALL: [Builtin; 9] = [
        Builtin::CreatedAt,
        Builtin::UpdatedAt,
        Builtin::LastSeenTimestamp,
        Builtin::FirstSeen,
        Builtin::Sessions,
        Builtin::UsersCount,
        Builtin::AccountsCount,
        Builtin::LastInboundMessage,
        Builtin::LastOutboundMessage,
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
            Builtin::LastInboundMessage => MESSAGE_FIELDS[0],
            Builtin::LastOutboundMessage => MESSAGE_FIELDS[1],
        }
    }

    fn ty(self) -> Type {
        match self {
            Builtin::CreatedAt
            | Builtin::UpdatedAt
            | Builtin::LastSeenTimestamp
            | Builtin::FirstSeen
            | Builtin::LastInboundMessage
            | Builtin::LastOutboundMessage => Type::Date,
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
    /// The account's owner (a user; see `crate::owners`).
    AccountOwner,
    /// The organization's owner.
    OrganizationOwner,
    /// The accounts a user owns (the inverse of `owner`; not readable by rules).
    OwnedAccounts,
    /// The organizations a user owns (not readable by rules).
    OwnedOrganizations,
}

impl Rel {
    pub(crate) const ALL: [Rel; 10] = [
        Rel::OrgAccounts,
        Rel::OrgUsers,
        Rel::AccountOrganization,
        Rel::AccountUsers,
        Rel::UserAccounts,
        Rel::UserOrganizations,
        Rel::AccountOwner,
        Rel::OrganizationOwner,
        Rel::OwnedAccounts,
        Rel::OwnedOrganizations,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Rel::OrgAccounts | Rel::UserAccounts => "accounts",
            Rel::OrgUsers | Rel::AccountUsers => "users",
            Rel::AccountOrganization => "organization",
            Rel::UserOrganizations => "organizations",
            Rel::AccountOwner | Rel::OrganizationOwner => "owner",
            Rel::OwnedAccounts => "ownedAccounts",
            Rel::OwnedOrganizations => "ownedOrganizations",
        }
    }

    /// Whether rules may follow it. A user's owned records are a hash set without an order
    /// that two engines share, so aggregations over them could differ in float rounding.
    fn readable(self) -> bool {
        !matches!(self, Rel::OwnedAccounts | Rel::OwnedOrganizations)
    }

    pub(crate) fn source(self) -> Model {
        match self {
            Rel::OrgAccounts | Rel::OrgUsers | Rel::OrganizationOwner => Model::Organization,
            Rel::AccountOrganization | Rel::AccountUsers | Rel::AccountOwner => Model::Account,
            Rel::UserAccounts
            | Rel::UserOrganizations
            | Rel::OwnedAccounts
            | Rel::OwnedOrganizations => Model::User,
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
            Rel::AccountOwner => Rel::OwnedAccounts,
            Rel::OwnedAccounts => Rel::AccountOwner,
            Rel::OrganizationOwner => Rel::OwnedOrganizations,
            Rel::OwnedOrganizations => Rel::OrganizationOwner,
        }
    }

    pub(crate) fn many(self) -> bool {
        !matches!(
            self,
            Rel::AccountOrganization | Rel::AccountOwner | Rel::OrganizationOwner
        )
    }

    pub(crate) fn find(from: Model, name: &str) -> Option<Rel> {
        Rel::ALL
            .into_iter()
            .find(|r| r.readable() && r.source() == from && r.name() == name)
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
    /// A column declared in [`SchemaInput::extra_fields`] (`email`), from `RecordInput::extra`.
    Extra(String),
}

/// A declared field of a model, other than formulas and built-ins.
#[derive(Clone, Debug)]
struct Declared {
    key: String,
    ty: Type,
    /// Declared in `extra_fields` rather than as a custom field.
    extra: bool,
}

/// The schema rules are checked against. Input slots are handed out as the checker asks for
/// fields, so the projection holds exactly the inputs some rule reads.
#[derive(Debug)]
pub(crate) struct DerivedSchema {
    declared: [Vec<Declared>; 3],
    /// Formula keys and their types, per model, by formula slot.
    pub(crate) formulas: [Vec<(String, Type)>; 3],
    inputs: RefCell<[Vec<(InputKey, Type)>; 3]>,
    /// Key-role fields rules read, by slot (shared by organizations and accounts).
    assigned: RefCell<Vec<AssignedField>>,
    any_key_role: bool,
}

fn m(model: Model) -> usize {
    model as usize
}

impl DerivedSchema {
    pub(crate) fn new(input: &SchemaInput) -> Self {
        let mut declared: [Vec<Declared>; 3] = Default::default();
        let custom = input.custom_fields.iter().map(|f| (f, false));
        for (field, extra) in custom.chain(input.extra_fields.iter().map(|f| (f, true))) {
            let list = &mut declared[m(field.model)];
            if !list.iter().any(|d| d.key == field.key) {
                list.push(Declared {
                    key: field.key.clone(),
                    ty: field.ty.rule_type(),
                    extra,
                });
            }
        }
        Self {
            declared,
            formulas: Default::default(),
            inputs: RefCell::default(),
            assigned: RefCell::default(),
            any_key_role: input.any_key_role,
        }
    }

    /// The key-role fields rules read, by slot.
    pub(crate) fn take_assigned(&self) -> Vec<AssignedField> {
        self.assigned.borrow().clone()
    }

    fn assigned_slot(&self, field: AssignedField) -> u32 {
        let mut list = self.assigned.borrow_mut();
        let slot = match list.iter().position(|f| *f == field) {
            Some(slot) => slot,
            None => {
                list.push(field);
                list.len() - 1
            }
        };
        field_id(FieldSource::Assigned, slot)
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
            let assigned = declared
                .extra
                .then(|| AssignedField::parse(&declared.key))
                .flatten()
                .filter(|_| model != Model::User);
            let id = match assigned {
                Some(field) => self.assigned_slot(field),
                None if declared.extra => {
                    self.input_slot(model, InputKey::Extra(declared.key.clone()), declared.ty)
                }
                None => self.input_slot(model, InputKey::Trait(declared.key.clone()), declared.ty),
            };
            return Some(FieldDef::new(declared.ty, id));
        }
        if self.any_key_role
            && model != Model::User
            && let Some(field) = AssignedField::parse(name)
        {
            return Some(FieldDef::new(Type::String, self.assigned_slot(field)));
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
            .filter(|r| r.readable() && r.source() == model)
            .map(|r| r.name().to_owned())
            .collect()
    }
}
