//! `/resources/config`: the whole configuration as one file, exported and applied.

use serde_json::{Value, json};
use steward_store::rows::KeyRole;

use super::helpers::{TestApp, error_of};
use crate::on_every_backend;

async fn own_source(app: &TestApp) -> String {
    let keys = app.ok_get("/resources/apiKeys").await;
    keys[0]["source"].as_str().unwrap().to_owned()
}

async fn apply(app: &TestApp, file: Value) -> (u16, Value) {
    app.put("/resources/config", file).await
}

on_every_backend!(a_config_file_round_trips_and_is_declarative, |app| {
    let empty = app.ok_get("/resources/config").await;
    assert_eq!(empty["customFields"], json!([]));
    assert_eq!(empty["importFilters"], json!([]));

    let source = own_source(&app).await;
    let file = json!({
        "customFields": [
            {"model": "accounts", "key": "plan", "label": "Plan", "type": "picklist",
             "options": [{"label": "Pro", "value": "pro"}, {"label": "Free", "value": "free"}]},
            {"model": "accounts", "key": "seats", "label": "Seats", "type": "number"},
            {"model": "users", "key": "title", "label": "Title", "type": "string", "description": "job title"}
        ],
        "roles": {
            "keyRoles": [{"key": "onboarding", "label": "Onboarding Manager"}],
            "keyRoleTraits": [{"role": "csm", "model": "accounts", "trait": "csmEmail"}],
            "ownerTraits": {"accounts": "ownerExternalId"}
        },
        "importFilters": [{"source": source, "accounts": {"field": "plan", "op": "is", "value": "pro"}}]
    });
    let (status, applied) = apply(&app, file.clone()).await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied, app.ok_get("/resources/config").await);
    assert_eq!(applied["customFields"].as_array().unwrap().len(), 3);
    assert_eq!(applied["roles"], file["roles"]);
    assert_eq!(applied["importFilters"], file["importFilters"]);
    // Applying the export again changes nothing.
    assert_eq!(apply(&app, applied.clone()).await, (200, applied.clone()));

    // The definitions are in force at once: a wrong type is refused.
    let (status, body) = app
        .post(
            "/resources/accounts",
            json!({"externalId": "a1", "name": "A", "traits": {"plan": "pro", "seats": "many"}}),
        )
        .await;
    assert_eq!((status, error_of(&body).1), (400, Some("traits.seats")));
    // The mapping is in force: an owner trait names the owning user.
    let account = app
        .ok_post("/resources/accounts", json!({"externalId": "a1", "name": "A", "traits": {"plan": "pro", "ownerExternalId": "u1"}}))
        .await;
    assert!(account["accountOwnerId"].is_string(), "{account}");

    // Declarative: what the file leaves out goes; what it changes changes.
    let smaller = json!({
        "customFields": [{"model": "accounts", "key": "seats", "label": "Licensed seats", "type": "number"}]
    });
    let (status, now) = apply(&app, smaller).await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(
        now["customFields"],
        json!([{"model": "accounts", "key": "seats", "label": "Licensed seats", "type": "number"}])
    );
    assert_eq!(now["importFilters"], json!([]));
    assert_eq!(now["roles"]["keyRoles"], json!([]));
    let fields = app.ok_get("/resources/customFields?model=accounts").await;
    assert_eq!(fields.as_array().unwrap().len(), 1);
});

on_every_backend!(
    an_invalid_config_file_is_refused_whole_naming_every_problem,
    |app| {
        let before = app.ok_get("/resources/config").await;
        let (status, body) = apply(
            &app,
            json!({
                "customFields": [
                    {"model": "accounts", "key": "ok", "label": "Fine", "type": "string"},
                    {"model": "planets", "key": "x", "type": "string"},
                    {"model": "users", "key": "y", "type": "colour"},
                    {"model": "accounts", "key": "ok", "type": "number"}
                ],
                "roles": {"keyRoleTraits": [{"role": "nobody", "model": "accounts", "trait": "t"}]},
                "importFilters": [{"source": "apiKey:0190d4a0-0000-7000-8000-000000000000"}]
            }),
        )
        .await;
        assert_eq!(
            (status, error_of(&body).1),
            (400, Some("customFields[1].model")),
            "{body}"
        );
        let message = body["message"].as_str().unwrap();
        for path in [
            "customFields[1].model",
            "customFields[2].type",
            "customFields[3].key",
            "roles.keyRoleTraits[0].role",
            "importFilters[0].source",
        ] {
            assert!(message.contains(path), "{path} missing from: {message}");
        }
        // Nothing was written, not even the valid field.
        assert_eq!(app.ok_get("/resources/config").await, before);

        // Unknown sections are refused by name; only admin keys apply files.
        let (status, body) = apply(&app, json!({"customFeilds": []})).await;
        assert_eq!(status, 400);
        assert!(
            body["message"].as_str().unwrap().contains("customFeilds"),
            "{body}"
        );
        let reader = app.other_workspace_key("acme", KeyRole::Read).await;
        let (status, _) = app
            .send_as(
                &reader,
                reqwest::Method::PUT,
                "/resources/config",
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .send_as(&reader, reqwest::Method::GET, "/resources/config", None)
            .await;
        assert_eq!(status, 200);
    }
);

on_every_backend!(custom_objects_are_part_of_the_file, |app| {
    let file = json!({"customObjects": [
        {"name": "deals", "label": "Deals", "customFields": [
            {"key": "amount", "label": "Amount", "type": "number"},
            {"key": "stage", "label": "Stage", "type": "picklist",
             "options": [{"label": "Open", "value": "open"}, {"label": "Won", "value": "won"}]}
        ]},
        {"name": "renewals"}
    ]});
    let (status, applied) = app.put("/resources/config", file).await;
    assert_eq!(status, 200, "{applied}");
    let objects = &applied["customObjects"];
    assert_eq!(objects.as_array().unwrap().len(), 2, "{applied}");
    assert_eq!(objects[0]["name"], "deals");
    assert_eq!(objects[0]["customFields"][1]["key"], "stage");
    assert_eq!(
        objects[1],
        json!({"name": "renewals", "label": "renewals", "customFields": []})
    );
    let deals = app.ok_get("/resources/customObjects/deals").await;
    let amount_id = deals["customFields"][0]["id"].clone();

    // The export applied again changes nothing (definitions keep their ids).
    let (status, again) = app.put("/resources/config", applied.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(again, applied);
    let deals = app.ok_get("/resources/customObjects/deals").await;
    assert_eq!(deals["customFields"][0]["id"], amount_id);

    // Instances of a live object keep it: leaving it out is refused, naming the object.
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "a1", "name": "A1"}),
    )
    .await;
    app.ok_post(
        "/resources/customObjects/deals/instances",
        json!({"externalId": "d1", "name": "D", "customerId": "a1", "traits": {"amount": 5}}),
    )
    .await;
    let (status, body) = app
        .put(
            "/resources/config",
            json!({"customObjects": [{"name": "renewals", "label": "Renewals"}]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "customObjects");
    assert!(
        body["message"].as_str().unwrap().contains("\"deals\""),
        "{body}"
    );
    assert!(app.ok_get("/resources/customObjects/renewals").await["label"] == "renewals");

    // Archived instances do not keep it; a field left out is removed, one changed is updated.
    let (status, _) = app
        .delete("/resources/customObjects/deals/instances/d1")
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .put(
            "/resources/config",
            json!({"customObjects": [{"name": "renewals", "label": "Renewals", "customFields": [
                {"key": "due", "label": "Due", "type": "date"}
            ]}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.get("/resources/customObjects/deals").await;
    assert_eq!(status, 404);
    let renewals = app.ok_get("/resources/customObjects/renewals").await;
    assert_eq!(renewals["label"], "Renewals");
    assert_eq!(renewals["customFields"][0]["key"], "due");

    // Problems name their place in the file.
    let (status, body) = app
        .put(
            "/resources/config",
            json!({"customObjects": [{"name": "1bad"}, {"name": "ok", "customFields": [{"key": "x", "type": "nope"}]}]}),
        )
        .await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("customObjects[0].name"), "{message}");
    assert!(
        message.contains("customObjects[1].customFields[0].type"),
        "{message}"
    );
});
