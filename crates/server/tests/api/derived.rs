//! Derived values over HTTP: formula traits, rollups and lifecycle configured through
//! `/resources/config`, current in the answer to the write that changed their inputs.

use serde_json::{Value, json};

use super::helpers::{START, TestApp, error_of};
use crate::on_every_backend;

const DAY: i64 = 86_400_000;

fn config() -> Value {
    json!({
        "customFields": [
            {"model": "accounts", "key": "amount", "label": "Amount", "type": "number"},
            {"model": "accounts", "key": "isTrial", "label": "Trial", "type": "boolean"},
            {"model": "accounts", "key": "trialEnds", "label": "Trial ends", "type": "date"},
            {"model": "accounts", "key": "canceled", "label": "Canceled", "type": "boolean"},
            {"model": "users", "key": "seats", "label": "Seats", "type": "number"}
        ],
        "derivation": {
            "formulas": [
                {"model": "account", "key": "arr", "label": "ARR", "expression": "coalesce(amount, 0) * 12"},
                {"model": "account", "key": "totalSeats", "label": "Seats", "expression": "sum(users, seats)"},
                {"model": "organization", "key": "totalArr", "label": "Total ARR", "expression": "sum(accounts, arr)"}
            ],
            "lifecycle": {
                "accounts": {
                    "revenueTraits": ["amount"],
                    "trialCondition": "isTrial == true",
                    "trialEndDateTrait": "trialEnds",
                    "unconvertedTrials": "churn",
                    "churnCondition": {"field": "canceled", "op": "is_true"}
                }
            }
        }
    })
}

async fn configured(app: &TestApp) {
    let (status, body) = app.put("/resources/config", config()).await;
    assert_eq!(status, 200, "{body}");
}

on_every_backend!(
    formulas_and_rollups_are_current_when_the_write_returns,
    |app| {
        app.ok_post(
            "/resources/organizations",
            json!({"externalId": "o1", "name": "O"}),
        )
        .await;
        app.ok_post("/resources/accounts", json!({"externalId": "a1", "name": "A1", "organizationId": "o1", "traits": {"amount": 100}})).await;
        configured(&app).await;
        // Records that existed before the configuration have their values at once.
        let a1 = app.ok_get("/resources/accounts/a1").await;
        assert_eq!(
            (a1["traits"]["arr"].clone(), a1["mrr"].clone()),
            (json!(1200.0), json!(100.0)),
            "{a1}"
        );
        assert_eq!(a1["lifecycleStatus"], "subscribed");

        // A write answers with its own formulas current, and the rollup above it follows.
        let a2 = app
        .ok_post("/resources/accounts", json!({"externalId": "a2", "name": "A2", "organizationId": "o1", "traits": {"amount": 50}}))
        .await;
        assert_eq!(a2["traits"]["arr"], json!(600.0));
        let org = app.ok_get("/resources/organizations/o1").await;
        assert_eq!(org["traits"]["totalArr"], json!(1800.0), "{org}");

        // Users roll up into their account, through REST and through ingestion alike.
        app.ok_post(
            "/resources/users",
            json!({"externalId": "u1", "name": "U1", "accountIds": ["a1"], "traits": {"seats": 3}}),
        )
        .await;
        let (status, _) = app
        .ingest("/analytics/v1/user", json!({"userId": "u2", "accountId": "a1", "traits": {"seats": 4}, "messageId": "m1"}))
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            app.ok_get("/resources/accounts/a1").await["traits"]["totalSeats"],
            json!(7.0)
        );

        // Moving an account moves its ARR between organizations.
        app.ok_post(
            "/resources/organizations",
            json!({"externalId": "o2", "name": "O2"}),
        )
        .await;
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "a2", "name": "A2", "organizationId": "o2"}),
        )
        .await;
        assert_eq!(
            app.ok_get("/resources/organizations/o1").await["traits"]["totalArr"],
            json!(1200.0)
        );
        assert_eq!(
            app.ok_get("/resources/organizations/o2").await["traits"]["totalArr"],
            json!(600.0)
        );
    }
);

on_every_backend!(lifecycle_status_follows_data_and_time, |app| {
    configured(&app).await;
    let trial_end = steward_engine::time::Millis(START.0 + 3 * DAY).to_iso();
    let a = app
        .ok_post("/resources/accounts", json!({"externalId": "t1", "name": "T", "traits": {"isTrial": true, "trialEnds": trial_end}}))
        .await;
    assert_eq!(a["lifecycleStatus"], "trial", "{a}");
    assert_eq!(a["trialEndDate"], json!(trial_end));
    let c = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "c1", "name": "C", "traits": {"amount": 10, "canceled": true}}),
        )
        .await;
    assert_eq!(c["lifecycleStatus"], "churned");
    assert_eq!(c["churnedAt"], json!(START.to_iso()));
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "s1", "name": "S", "traits": {"amount": 10}}),
    )
    .await;

    // The status filter: active (not churned), churned, both.
    let ids = |page: Value| -> Vec<String> {
        let mut v: Vec<String> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["externalId"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(app.ok_get("/resources/accounts?status=churned").await),
        ["c1"]
    );
    assert_eq!(
        ids(app.ok_get("/resources/accounts?status=active").await),
        ["s1", "t1"]
    );
    assert_eq!(
        ids(app
            .ok_get("/resources/accounts?status=activeOrChurned")
            .await),
        ["c1", "s1", "t1"]
    );
    let (status, body) = app.get("/resources/accounts?status=sleeping").await;
    assert_eq!((status, error_of(&body).1), (400, Some("status")));

    // The unconverted trial churns when its end date passes, without any write.
    app.clock.advance_ms(4 * DAY);
    let mut status = Value::Null;
    for _ in 0..50 {
        status = app.ok_get("/resources/accounts/t1").await["lifecycleStatus"].clone();
        if status == "churned" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "churned");
});

on_every_backend!(derivation_errors_name_their_place, |app| {
    let mut file = config();
    file["derivation"]["formulas"][0]["expression"] = json!("coalesce(amuont, 0) * 12");
    file["derivation"]["lifecycle"]["accounts"]["revenueTraits"] = json!(["isTrial"]);
    let (status, body) = app.put("/resources/config", file).await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("derivation.formulas[0].expression"),
        "{message}"
    );
    assert!(
        message.contains("amount"),
        "suggests the near name: {message}"
    );
    assert!(
        message.contains("derivation.lifecycle.accounts.revenueTraits[0]"),
        "{message}"
    );
    // Nothing was written.
    assert_eq!(
        app.ok_get("/resources/config").await["customFields"],
        json!([])
    );
});

on_every_backend!(
    lifecycle_history_and_sticky_state_survive_a_restart,
    |app| {
        configured(&app).await;
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "h1", "name": "H", "traits": {"amount": 5}}),
        )
        .await;
        app.clock.advance_ms(DAY);
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "h1", "name": "H", "traits": {"canceled": true}}),
        )
        .await;
        let history = app.ok_get("/resources/accounts/h1/statusHistory").await;
        assert_eq!(
            history,
            json!([{"from": "subscribed", "to": "churned", "at": steward_engine::time::Millis(START.0 + DAY).to_iso()}])
        );

        // A server rebuilt from storage has the same status and churn date.
        let rebuilt = app.restarted_state().await;
        let account = app.ok_get("/resources/accounts/h1").await;
        let id: steward_engine::ids::AccountId = account["id"].as_str().unwrap().parse().unwrap();
        let ws = app.workspace_id().await;
        let derived = rebuilt
            .engine()
            .await
            .derived(ws, steward_engine::RecordRef::Account(id))
            .unwrap();
        assert_eq!(derived.status, Some(steward_engine::Status::Churned));
        assert_eq!(
            derived.churned_at.map(|t| t.to_iso()),
            account["churnedAt"].as_str().map(str::to_owned)
        );
    }
);

on_every_backend!(rule_edits_do_not_unchurn_until_reprocess, |app| {
    configured(&app).await;
    let c = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "k1", "name": "K", "traits": {"amount": 10, "canceled": true}}),
        )
        .await;
    assert_eq!(c["lifecycleStatus"], "churned");
    // The churn rule goes: the account stays churned (sticky) until a reprocess.
    let mut file = config();
    file["derivation"]["lifecycle"]["accounts"]
        .as_object_mut()
        .unwrap()
        .remove("churnCondition");
    let (status, body) = app.put("/resources/config", file).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.ok_get("/resources/accounts/k1").await["lifecycleStatus"],
        "churned"
    );
    let done = app.ok_post("/resources/config/reprocess", json!({})).await;
    assert_eq!(done["statusChanges"], 1);
    assert_eq!(
        app.ok_get("/resources/accounts/k1").await["lifecycleStatus"],
        "subscribed"
    );
});

on_every_backend!(
    owner_and_key_role_fields_feed_formulas_and_follow_their_sources,
    |app| {
        let (status, body) = app
            .put(
                "/resources/config",
                json!({"derivation": {"formulas": [
                    {"model": "account", "key": "ownerEmail", "label": "", "expression": "owner.email"},
                    {"model": "account", "key": "ownerJoined", "label": "", "expression": "owner.joinedAt"},
                    {"model": "account", "key": "csmEmail", "label": "", "expression": "keyRoles.csm.email"},
                    {"model": "organization", "key": "ownedByAda", "label": "",
                     "expression": "count(accounts where ends_with(owner.email, \"@ada.example\"))"}
                ]}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        app.ok_post(
            "/resources/organizations",
            json!({"externalId": "o1", "name": "O"}),
        )
        .await;
        app.ok_post(
            "/resources/users",
            json!({"externalId": "u1", "name": "Ada", "email": "ada@ada.example", "joinedAt": "2024-01-02T00:00:00Z"}),
        )
        .await;
        let a1 = app
            .ok_post(
                "/resources/accounts",
                json!({"externalId": "a1", "name": "A1", "organizationId": "o1", "accountOwnerId": "u1"}),
            )
            .await;
        assert_eq!(a1["traits"]["ownerEmail"], "ada@ada.example", "{a1}");
        let org = app.ok_get("/resources/organizations/o1").await;
        assert_eq!(org["traits"]["ownedByAda"], json!(1.0), "{org}");

        // The owner's own data changes: the account follows, and the rollup above it.
        app.ok_post(
            "/resources/users",
            json!({"externalId": "u1", "name": "Ada", "email": "ada@elsewhere.example"}),
        )
        .await;
        let a1 = app.ok_get("/resources/accounts/a1").await;
        assert_eq!(a1["traits"]["ownerEmail"], "ada@elsewhere.example");
        let org = app.ok_get("/resources/organizations/o1").await;
        assert_eq!(org["traits"]["ownedByAda"], json!(0.0));

        // Key roles: the CSM's e-mail, then the team member's e-mail changes.
        let cs = app
            .ok_post(
                "/resources/admins",
                json!({"name": "Cy", "email": "cy@team.example"}),
            )
            .await;
        let id = cs["id"].as_str().unwrap().to_owned();
        let (status, body) = app
            .put("/resources/accounts/a1", json!({"csmId": id}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["traits"]["csmEmail"], "cy@team.example", "{body}");
        let (status, _) = app
            .put(
                &format!("/resources/admins/{id}"),
                json!({"email": "cyril@team.example"}),
            )
            .await;
        assert_eq!(status, 200);
        let a1 = app.ok_get("/resources/accounts/a1").await;
        assert_eq!(a1["traits"]["csmEmail"], "cyril@team.example");
        // Removing the owner empties the owner fields.
        app.put("/resources/accounts/a1", json!({"accountOwnerId": null}))
            .await;
        let a1 = app.ok_get("/resources/accounts/a1").await;
        assert_eq!(a1["traits"]["ownerEmail"], Value::Null, "{a1}");
        // A typo in a role is refused with the near name.
        let (status, body) = app
            .put(
                "/resources/config",
                json!({"derivation": {"formulas": [
                    {"model": "account", "key": "x", "label": "", "expression": "keyRoles.cms.email"}
                ]}}),
            )
            .await;
        assert_eq!(status, 400);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("keyRoles.csm.email"),
            "{body}"
        );
    }
);

on_every_backend!(time_zone_is_configured_in_the_file_and_checked, |app| {
    let (status, body) = app
        .put(
            "/resources/config",
            json!({"derivation": {"timeZone": "Mars/Olympus_Mons"}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("derivation.timeZone: unknown time zone \"Mars/Olympus_Mons\""),
        "{body}"
    );
    let (status, body) = app
        .put(
            "/resources/config",
            json!({"derivation": {"timeZone": "America/New_York", "formulas": [
                {"model": "account", "key": "endDay", "label": "", "expression": "day(traits.ends)"}
            ]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["derivation"]["timeZone"], "America/New_York");
    let a1 = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "a1", "name": "A1", "traits": {"ends": "2024-06-01T02:00:00Z"}}),
        )
        .await;
    assert_eq!(a1["traits"]["endDay"], json!(31.0), "{a1}");
});

on_every_backend!(a_churned_account_keeps_its_last_mrr, |app| {
    configured(&app).await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "a1", "name": "A1", "traits": {"amount": 300}}),
    )
    .await;
    let a1 = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "a1", "name": "A1", "traits": {"amount": null, "canceled": true}}),
        )
        .await;
    assert_eq!(a1["lifecycleStatus"], "churned", "{a1}");
    assert_eq!(a1["mrr"], json!(300.0), "{a1}");
    let a1 = app.ok_get("/resources/accounts/a1").await;
    assert_eq!(a1["mrr"], json!(300.0));
});

on_every_backend!(
    transitions_of_rule_edits_timers_and_reprocess_are_stored_with_their_cause,
    |app| {
        // Records that exist before the rules: the rules' own transitions are history too.
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "r1", "name": "R", "traits": {"canceled": true}}),
        )
        .await;
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "t1", "name": "T", "traits": {"isTrial": true, "trialEnds": steward_engine::time::Millis(START.0 + DAY).to_iso()}}),
        )
        .await;
        configured(&app).await;
        let history = app.ok_get("/resources/accounts/r1/statusHistory").await;
        assert_eq!(history[0]["to"], "churned", "{history}");
        let history = app.ok_get("/resources/accounts/t1/statusHistory").await;
        assert_eq!(history[0]["to"], "trial", "{history}");
        // The clock passes the trial's end: the timer task moves it through the writer.
        app.clock.advance_ms(2 * DAY);
        let mut waited = 0;
        loop {
            let history = app.ok_get("/resources/accounts/t1/statusHistory").await;
            if history.as_array().unwrap().len() == 2 {
                assert_eq!(history[1]["to"], "churned", "{history}");
                break;
            }
            waited += 1;
            assert!(waited < 50, "the trial's end was not stored: {history}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // Sticky state reached storage with the rule edit: a rebuilt engine agrees.
        use steward_engine::Clock;
        let (store, clock) = (app.state.store.clone(), app.clock.clone());
        let (rebuilt, found) = steward_server::load_engine(&store, clock.now())
            .await
            .unwrap();
        assert!(
            found.iter().all(|(_, c)| !c
                .iter()
                .any(|c| matches!(c, steward_engine::DerivedChange::Status { .. }))),
            "every transition was stored before: {found:?}"
        );
        drop(rebuilt);
    }
);

on_every_backend!(
    readers_of_the_engine_wait_while_a_commit_is_in_flight,
    |app| {
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "g1", "name": "G"}),
        )
        .await;
        // The writer holds the gate from changing the engine until its commit is over.
        let held = app.state.gate.clone().write_owned().await;
        let waited = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            app.get("/resources/accounts/g1"),
        )
        .await;
        assert!(waited.is_err(), "a read went through during a commit");
        drop(held);
        let (status, _) = app.get("/resources/accounts/g1").await;
        assert_eq!(status, 200);
    }
);
