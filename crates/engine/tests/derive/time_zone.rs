//! The workspace's time zone: calendar days, dates without an offset and date functions are
//! read in it (with an injected clock).

use serde_json::json;
use steward_engine::derive::Status;

use super::*;

fn rules(zone: Option<&str>) -> serde_json::Value {
    let mut config = json!({
        "formulas": [
            {"model": "account", "key": "endDay", "label": "", "expression": "day(trialEnds)"},
            {"model": "account", "key": "createdToday", "label": "", "expression": "createdAt on now()"},
            {"model": "account", "key": "daysLeft", "label": "", "expression": "days_until(trialEnds)"}
        ],
        "lifecycle": {"accounts": {
            "revenueTraits": ["amount"],
            "trialCondition": "isTrial == true",
            "trialEndDateTrait": "trialEnds"
        }}
    });
    if let Some(zone) = zone {
        config["timeZone"] = json!(zone);
    }
    config
}

#[test]
fn calendar_days_are_the_workspace_s() {
    // 2024-06-01T02:00Z is still May 31st in New York.
    for (zone, day) in [(None, 1.0), (Some("America/New_York"), 31.0)] {
        let mut f = Fixture::new(rules(zone));
        f.account(1, None)
            .set(a(1), json!({"trialEnds": "2024-06-01T02:00:00Z"}));
        assert_eq!(f.formula(a(1), "endDay"), json!(day), "{zone:?}");
    }
}

#[test]
fn a_date_without_offset_ends_at_local_midnight() {
    let mut f = Fixture::new(rules(Some("America/New_York")));
    // The clock starts at 2024-06-01T00:00Z (May 31st, 20:00 in New York).
    f.account(1, None);
    assert_eq!(f.formula(a(1), "createdToday"), json!(true));
    f.set(a(1), json!({"isTrial": true, "trialEnds": "2024-06-02"}));
    assert_eq!(f.formula(a(1), "daysLeft"), json!(2.0));
    assert_eq!(f.status(a(1)), Status::Trial);
    // Midnight in New York is 04:00 UTC: still a trial at 03:00 UTC on June 2nd...
    f.at(1.0 + 3.0 / 24.0);
    assert_eq!(f.status(a(1)), Status::Trial);
    // ... and an unconverted (churned) one after 04:00 UTC.
    f.at(1.0 + 4.5 / 24.0);
    assert_eq!(f.status(a(1)), Status::Churned);
    assert_eq!(f.churned_at(a(1)), Some(Millis(T0 + DAY + 4 * 3_600_000)));
}

#[test]
fn an_unknown_zone_is_refused_naming_the_field() {
    let config: DerivationConfig = serde_json::from_value(rules(Some("America/New_Yrok"))).unwrap();
    let errors = compile(&config, &schema()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "timeZone");
    assert!(errors[0].message.contains("America/New_Yrok"), "{errors:?}");
}
