//! Import filters: per source (an API key today, integrations later), a rule in the rules
//! crate's JSON filter form saying which organizations and accounts the source may *create*.
//! Updates of existing records are never filtered, and a parent a record references is
//! created even when it would not pass (the reference product's documented behaviour).
//!
//! ```json
//! {"source": "apiKey:0190...", "accounts": {"field": "plan", "op": "is_any_of", "value": ["pro"]}}
//! ```
//!
//! Fields a rule can read: `name`, `externalId`, and any trait by key (`plan`, or
//! `traits.plan`). Traits are free-form, so conditions are checked for shape, and values of
//! the wrong type simply do not match.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_engine::ids::ApiKeyId;
use steward_engine::time::Millis;
use steward_rules::{
    EvalContext, FieldDef, FieldRef, Filter, Program, Record, RelationDef, RelationRef, Schema,
    Scope, Type,
};

use super::{ConfigError, join};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportFilter {
    /// `apiKey:<id>`.
    pub source: String,
    /// Which organizations the source may create; absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Value>,
    /// Which accounts the source may create; absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Value>,
}

/// Where data comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    ApiKey(ApiKeyId),
}

impl Source {
    /// `apiKey:<uuid>`, or a bare key id.
    pub fn parse(raw: &str) -> Option<Self> {
        let id = raw.strip_prefix("apiKey:").unwrap_or(raw);
        id.parse().ok().map(Source::ApiKey)
    }

    pub fn as_string(&self) -> String {
        match self {
            Source::ApiKey(id) => format!("apiKey:{id}"),
        }
    }

    /// The configuration document's name.
    pub fn document_name(&self) -> String {
        format!("importFilter/{}", self.as_string())
    }
}

/// An import filter checked and compiled, ready to decide.
#[derive(Debug)]
pub struct CompiledFilter {
    pub source: Source,
    pub config: ImportFilter,
    organizations: Option<Program>,
    accounts: Option<Program>,
}

/// What kind of record a source wants to create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Organization,
    Account,
}

/// The record a create would make: what a rule can see.
pub struct Candidate<'a> {
    pub external_id: &'a str,
    pub name: Option<&'a str>,
    pub traits: &'a serde_json::Map<String, Value>,
}

impl ImportFilter {
    /// Checks the document and compiles its rules; every problem with its path.
    pub fn compile(&self) -> Result<CompiledFilter, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let source = Source::parse(&self.source);
        if source.is_none() {
            errors.push(ConfigError::new(
                "source",
                format!("expected `apiKey:<API key id>`, not {:?}", self.source),
            ));
        }
        let mut compile = |member: &str, rule: &Option<Value>, scope: Scope| {
            let rule = rule.as_ref().filter(|v| !v.is_null())?;
            let compiled = Filter::from_json(rule).and_then(|f| f.compile(&scope, &FreeForm));
            match compiled {
                Ok(program) => Some(program),
                Err(e) => {
                    let path = join(member, e.path.as_deref().unwrap_or(""));
                    errors.push(ConfigError::new(path, e.message));
                    None
                }
            }
        };
        let organizations = compile("organizations", &self.organizations, Scope::Organization);
        let accounts = compile("accounts", &self.accounts, Scope::Account);
        match source {
            Some(source) if errors.is_empty() => Ok(CompiledFilter {
                source,
                config: self.clone(),
                organizations,
                accounts,
            }),
            _ => Err(errors),
        }
    }

    /// [`ImportFilter::compile`] without keeping the result.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        self.compile().map(|_| ())
    }
}

impl CompiledFilter {
    /// Whether the source may create this record.
    pub fn allows(&self, kind: Kind, candidate: &Candidate<'_>, now: Millis) -> bool {
        let program = match kind {
            Kind::Organization => &self.organizations,
            Kind::Account => &self.accounts,
        };
        let Some(program) = program else {
            return true;
        };
        let at = steward_rules::Timestamp::from_millisecond(now.0).unwrap_or_default();
        program.matches(candidate, &EvalContext::new(at))
    }

    /// Whether it filters this kind at all (no rule: everything passes).
    pub fn filters(&self, kind: Kind) -> bool {
        match kind {
            Kind::Organization => self.organizations.is_some(),
            Kind::Account => self.accounts.is_some(),
        }
    }
}

/// Every field exists and may hold anything: incoming traits are free-form.
struct FreeForm;

impl Schema for FreeForm {
    fn field(&self, _scope: &Scope, _name: &str) -> Option<FieldDef> {
        Some(FieldDef::new(Type::Any, 0))
    }

    fn field_names(&self, _scope: &Scope) -> Vec<String> {
        vec!["name".into(), "externalId".into()]
    }

    fn relation(&self, _scope: &Scope, _name: &str) -> Option<RelationDef> {
        None
    }
}

impl Record for Candidate<'_> {
    fn get(&self, field: FieldRef<'_>) -> steward_rules::Value {
        let json = match field.name {
            "externalId" => Some(Value::String(self.external_id.to_owned())),
            "name" => self.name.map(|n| Value::String(n.to_owned())),
            other => {
                let key = other.strip_prefix("traits.").unwrap_or(other);
                self.traits.get(key).cloned()
            }
        };
        json.map_or(steward_rules::Value::Null, |v| {
            steward_rules::Value::from_json(&v)
        })
    }

    fn related(&self, _relation: RelationRef<'_>, _visit: &mut dyn FnMut(&dyn Record)) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(accounts: Value) -> ImportFilter {
        ImportFilter {
            source: format!("apiKey:{}", ApiKeyId::generate()),
            organizations: None,
            accounts: Some(accounts),
        }
    }

    #[test]
    fn decides_on_traits_name_and_external_id() {
        let compiled = filter(json!({"any": [
            {"field": "plan", "op": "is_any_of", "value": ["pro", "enterprise"]},
            {"field": "externalId", "op": "starts_with", "value": "vip-"}
        ]}))
        .compile()
        .unwrap();
        let traits = |v: Value| v.as_object().unwrap().clone();
        let now = Millis(1_700_000_000_000);
        let pro = traits(json!({"plan": "pro"}));
        let free = traits(json!({"plan": "free"}));
        let check = |ext: &str, t: &serde_json::Map<String, Value>| {
            compiled.allows(
                Kind::Account,
                &Candidate {
                    external_id: ext,
                    name: None,
                    traits: t,
                },
                now,
            )
        };
        assert!(check("a1", &pro));
        assert!(!check("a1", &free));
        assert!(check("vip-1", &free));
        // No organization rule: organizations pass.
        assert!(compiled.allows(
            Kind::Organization,
            &Candidate {
                external_id: "o",
                name: None,
                traits: &free
            },
            now
        ));
        assert!(!compiled.filters(Kind::Organization) && compiled.filters(Kind::Account));
    }

    #[test]
    fn errors_name_the_path_inside_the_rule() {
        let mut bad = filter(json!({"all": [{"field": "mrr", "op": "gt", "value": "big"}]}));
        bad.organizations = Some(json!({"field": "x", "op": "nope"}));
        bad.source = "someone".into();
        let paths: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            ["source", "organizations.op", "accounts.all[0].value"]
        );
    }
}
