//! Configuration: the JSON form, and compile errors that name their path.

use serde_json::json;
use steward_engine::derive::{ConfigError, DerivationConfig, compile};

use super::schema;

fn errors(config: serde_json::Value) -> Vec<ConfigError> {
    let config: DerivationConfig = serde_json::from_value(config).expect("config parses");
    match compile(&config, &schema()) {
        Ok(_) => panic!("expected errors"),
        Err(errors) => errors,
    }
}

fn paths(errors: &[ConfigError]) -> Vec<&str> {
    errors.iter().map(|e| e.path.as_str()).collect()
}

#[test]
fn the_documented_example_compiles_and_round_trips() {
    let text = include_str!("../../../../docs/derivation-example.json");
    let config: DerivationConfig = serde_json::from_str(text).expect("example parses");
    compile(&config, &schema()).expect("example compiles");
    let again: DerivationConfig =
        serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
    assert_eq!(again, config);
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let errors = errors(json!({
        "formulas": [
            {"model": "account", "key": "arr", "label": "ARR", "expression": "amount * 12"},
            {"model": "account", "key": "big", "label": "Big", "expression": "amuont > 100"},
            {"model": "account", "key": "arr", "label": "Dup", "expression": "1"},
            {"model": "account", "key": "mrr", "label": "Shadow", "expression": "1"},
            {"model": "user", "key": "x", "label": "Bad", "expression": "seats +"}
        ],
        "lifecycle": {
            "accounts": {
                "revenueTraits": ["amount", "plan"],
                "churnCondition": "canceld == true",
                "trialCondition": {"all": [{"field": "plan", "op": "gt", "value": "x"}]},
                "trialEndDateTrait": "trialEnd"
            },
            "organizations": {"track": {"mode": "include", "condition": "tset == true"}}
        },
        "userDeactivation": "contains(emial, \"@us.example\")"
    }));
    assert_eq!(
        paths(&errors),
        vec![
            "formulas[2].key",
            "formulas[3].key",
            "formulas[4].expression",
            "formulas[1].expression",
            "lifecycle.organizations.track.condition",
            "lifecycle.accounts.revenueTraits[1]",
            "lifecycle.accounts.trialCondition.all[0].value",
            "lifecycle.accounts.trialEndDateTrait",
            "lifecycle.accounts.churnCondition",
            "userDeactivation",
        ]
    );
    let message = |path: &str| {
        errors
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.message.clone())
            .unwrap()
    };
    assert_eq!(
        message("formulas[1].expression"),
        "unknown trait `amuont`, did you mean `amount`?"
    );
    assert_eq!(errors[3].span, Some(0..6));
    assert_eq!(
        message("lifecycle.accounts.churnCondition"),
        "unknown trait `canceld`, did you mean `canceled`?"
    );
    assert_eq!(
        message("lifecycle.accounts.trialEndDateTrait"),
        "unknown trait `trialEnd`, did you mean `trialEnds`?"
    );
    assert_eq!(
        message("lifecycle.accounts.revenueTraits[1]"),
        "`plan` is a string; this needs a number trait"
    );
    assert_eq!(
        message("userDeactivation"),
        "unknown trait `emial`, did you mean `email`?"
    );
    assert!(
        message("formulas[3].key").contains("already a field"),
        "{errors:?}"
    );
    assert!(message("formulas[2].key").contains("already has the key"));
}

#[test]
fn formula_cycles_are_refused() {
    let errors = errors(json!({"formulas": [
        {"model": "account", "key": "a", "label": "A", "expression": "b + 1"},
        {"model": "account", "key": "b", "label": "B", "expression": "c + 1"},
        {"model": "account", "key": "c", "label": "C", "expression": "a + 1"}
    ]}));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "formula_cycle");
    assert!(
        errors[0]
            .message
            .contains("account.a -> account.b -> account.c -> account.a"),
        "{}",
        errors[0].message
    );
}

#[test]
fn a_cycle_through_rollups_and_lifecycle_is_refused_with_a_hint() {
    // The organization churns when all accounts churn, but an account's `status` includes the
    // organization's churn: that would never let go.
    let errors = errors(json!({"lifecycle": {
        "organizations": {"churnCondition": "count(accounts where status != \"churned\") == 0"},
        "accounts": {"churnCondition": "canceled == true"}
    }}));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("ownStatus"),
        "{}",
        errors[0].message
    );
    // Reading `ownStatus` is the way.
    let config: DerivationConfig = serde_json::from_value(json!({"lifecycle": {
        "organizations": {"churnCondition": "count(accounts) > 0 && count(accounts where ownStatus != \"churned\") == 0"},
        "accounts": {"churnCondition": "canceled == true"}
    }}))
    .unwrap();
    compile(&config, &schema()).expect("ownStatus compiles");
}

#[test]
fn cross_model_formulas_compile_in_any_order_with_inferred_types() {
    let config: DerivationConfig = serde_json::from_value(json!({"formulas": [
        {"model": "organization", "key": "total", "label": "T", "expression": "sum(accounts, arr)"},
        {"model": "account", "key": "arr", "label": "ARR", "expression": "mrr2 * 12"},
        {"model": "account", "key": "mrr2", "label": "M", "expression": "coalesce(amount, 0)"},
        {"model": "account", "key": "label", "label": "L", "expression": "if arr > 100 then \"big\" else \"small\""}
    ]}))
    .unwrap();
    compile(&config, &schema()).expect("compiles");
    // A type error only visible once `arr` is known to be a number.
    let errors = errors(json!({"formulas": [
        {"model": "account", "key": "bad", "label": "B", "expression": "arr && true"},
        {"model": "account", "key": "arr", "label": "ARR", "expression": "amount * 12"}
    ]}));
    assert_eq!(paths(&errors), vec!["formulas[0].expression"]);
}

#[test]
fn conditions_accept_text_and_the_json_filter_form() {
    let config: DerivationConfig = serde_json::from_value(json!({"lifecycle": {"accounts": {
        "churnCondition": {"any": [{"field": "canceled", "op": "is_true"}, {"expr": "plan == \"gone\""}]},
        "trialCondition": "isTrial == true"
    }}}))
    .unwrap();
    compile(&config, &schema()).expect("both forms compile");
    let bad = serde_json::from_value::<DerivationConfig>(
        json!({"lifecycle": {"accounts": {"churnConditon": "x"}}}),
    );
    assert!(bad.unwrap_err().to_string().contains("churnConditon"));
}

#[test]
fn undeclared_traits_are_readable_untyped_under_traits_prefix() {
    let config: DerivationConfig = serde_json::from_value(json!({
        "formulas": [{"model": "account", "key": "src", "label": "S", "expression": "concat(traits.source, \"!\")"}],
        "lifecycle": {"accounts": {"revenueTraits": ["traits.stripe_mrr"]}}
    }))
    .unwrap();
    compile(&config, &schema()).expect("compiles");
}
