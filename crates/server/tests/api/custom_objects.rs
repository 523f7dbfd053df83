use serde_json::{Value, json};
use steward_store::rows::KeyRole;

use super::helpers::{TestApp, error_of};
use crate::on_every_backend;

/// A `deals` object with a number and a picklist field, and an account `acme` under the
/// organization `globex`.
async fn deals(app: &TestApp) -> Value {
    let object = app
        .ok_post(
            "/resources/customObjects",
            json!({"name": "deals", "label": "Deals", "customFields": [
                {"key": "stage", "label": "Stage", "type": "picklist", "options": [{"value": "open"}, {"label": "Won", "value": "won"}]},
                {"key": "amount", "label": "Amount", "type": "number"}
            ]}),
        )
        .await;
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "globex", "name": "Globex"}),
    )
    .await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "acme", "name": "Acme", "organizationId": "globex"}),
    )
    .await;
    object
}

fn names(page: &Value) -> Vec<String> {
    let items = page.get("results").unwrap_or(page);
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["externalId"].as_str().unwrap_or("-").to_owned())
        .collect()
}

on_every_backend!(custom_object_definitions, |app| {
    let object = deals(&app).await;
    let id = object["id"].as_str().unwrap().to_owned();
    insta::assert_json_snapshot!("custom_object", object, {
        ".id" => "[id]", ".customFields[].id" => "[id]", ".customFields[].customObjectId" => "[id]"
    });
    // By id or by name.
    assert_eq!(
        app.ok_get(&format!("/resources/customObjects/{id}")).await,
        object
    );
    assert_eq!(app.ok_get("/resources/customObjects/deals").await, object);
    let listed = app.ok_get("/resources/customObjects").await;
    assert_eq!(listed["results"], json!([object]));

    // Bad input names the field; a taken name is a conflict.
    for (body, code, field) in [
        (json!({"label": "x"}), "missing_field", "name"),
        (json!({"name": "2deals"}), "invalid_field", "name"),
        (
            json!({"name": "x", "customFields": [{"key": "a", "type": "number"}, {"key": "b", "type": "money"}]}),
            "invalid_field",
            "customFields[1].type",
        ),
        (
            json!({"name": "x", "customFields": [{"key": "a", "type": "picklist", "options": [{"label": "no value"}]}]}),
            "invalid_field",
            "customFields[0].options",
        ),
        (
            json!({"name": "x", "customFields": [{"key": "a", "type": "number"}, {"key": "a", "type": "string"}]}),
            "invalid_field",
            "customFields[1].key",
        ),
        (
            json!({"name": "x", "customFields": [{"type": "number"}]}),
            "missing_field",
            "customFields[0].key",
        ),
    ] {
        let (status, err) = app.post("/resources/customObjects", body.clone()).await;
        assert_eq!(
            (status, error_of(&err)),
            (400, (code, Some(field))),
            "{body}: {err}"
        );
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}")),
            "{err}"
        );
    }
    assert_eq!(app.get("/resources/customObjects/x").await.0, 404);
    let (status, err) = app
        .post("/resources/customObjects", json!({"name": "deals"}))
        .await;
    assert_eq!((status, error_of(&err).0), (409, "conflict"));

    // PUT: the label changes; customFields replaces the list, keeping ids of kept keys.
    let stage_id = object["customFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "stage")
        .unwrap()["id"]
        .clone();
    let updated = app.put("/resources/customObjects/deals", json!({"label": "Opportunities", "customFields": [
        {"key": "stage", "label": "Stage", "type": "string"}, {"path": "closed", "label": "Closed", "type": "boolean"}
    ]})).await.1;
    assert_eq!(updated["label"], "Opportunities");
    let fields = updated["customFields"].as_array().unwrap();
    assert_eq!(
        fields
            .iter()
            .map(|f| f["key"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["closed", "stage"]
    );
    assert_eq!(fields[1]["id"], stage_id);
    let (status, err) = app
        .put("/resources/customObjects/deals", json!({"name": "renamed"}))
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("name")));

    // The /customFields catalogue reaches object fields with model=customObjects.
    let catalogue = app
        .ok_get("/resources/customFields?model=customObjects&customObjectId=deals")
        .await;
    assert_eq!(catalogue.as_array().unwrap().len(), 2);
    assert_eq!(catalogue[0]["customObjectId"], id.as_str());
    assert_eq!(catalogue[0]["model"], "customObjects");
    let (status, err) = app.get("/resources/customFields?model=customObjects").await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_query", Some("customObjectId")))
    );
    let added = app.ok_post("/resources/customFields", json!({"model": "customObjects", "customObjectId": "deals", "key": "owner", "type": "teamMember"})).await;
    assert_eq!(
        (added["key"].as_str(), added["customObjectId"].as_str()),
        (Some("owner"), Some(id.as_str()))
    );
    let (status, _) = app.post("/resources/customFields", json!({"model": "customObjects", "customObjectId": "deals", "key": "owner", "type": "string"})).await;
    assert_eq!(status, 409);
    let (status, err) = app.post("/resources/customFields", json!({"model": "customObjects", "customObjectId": "nope", "key": "k", "type": "string"})).await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_reference", Some("customObjectId")))
    );
    assert_eq!(
        app.ok_get("/resources/customObjects/deals").await["customFields"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Workspace-level custom fields are unaffected.
    assert_eq!(app.ok_get("/resources/customFields").await, json!([]));

    // Deleting the object deletes its instances.
    app.ok_post(
        "/resources/customObjects/deals/instances",
        json!({"name": "D", "externalId": "d", "customerId": "acme"}),
    )
    .await;
    assert_eq!(app.delete("/resources/customObjects/deals").await.0, 200);
    assert_eq!(app.get("/resources/customObjects/deals").await.0, 404);
    assert_eq!(
        app.get("/resources/customObjects/deals/instances/d")
            .await
            .0,
        404
    );
    assert_eq!(app.delete("/resources/customObjects/deals").await.0, 404);
});

on_every_backend!(custom_object_instances_over_rest, |app| {
    let object = deals(&app).await;
    let object_id = object["id"].as_str().unwrap().to_owned();
    let account = app.ok_get("/resources/accounts/acme").await;
    let created = app
        .ok_post(
            "/resources/customObjects/deals/instances",
            json!({"name": "Big deal", "externalId": "d1", "customerId": "acme", "traits": {"amount": 5000, "stage": "open", "note": "free-form"}}),
        )
        .await;
    insta::assert_json_snapshot!("custom_object_instance", created, {
        ".id" => "[id]", ".customObjectId" => "[id]", ".customerId" => "[id]", ".accountId" => "[id]"
    });
    assert_eq!(created["customerId"], account["id"]);
    assert_eq!(created["customObjectId"], object_id.as_str());
    let id = created["id"].as_str().unwrap().to_owned();

    // By id or externalId, under the object's id or name.
    assert_eq!(
        app.ok_get(&format!(
            "/resources/customObjects/{object_id}/instances/{id}"
        ))
        .await,
        created
    );
    assert_eq!(
        app.ok_get("/resources/customObjects/deals/instances/d1")
            .await,
        created
    );

    // POST with the same externalId updates; PUT merges traits, null deletes.
    let again = app.ok_post("/resources/customObjects/deals/instances", json!({"name": "Bigger deal", "externalId": "d1", "accountId": "acme", "traits": {"stage": "won"}})).await;
    assert_eq!(
        (again["id"].as_str(), again["name"].as_str()),
        (Some(id.as_str()), Some("Bigger deal"))
    );
    let put = app
        .put(
            "/resources/customObjects/deals/instances/d1",
            json!({"traits": {"note": null, "amount": 7000}, "organizationId": "globex"}),
        )
        .await
        .1;
    assert_eq!(put["traits"], json!({"amount": 7000, "stage": "won"}));
    assert_eq!(
        put["organizationId"],
        app.ok_get("/resources/organizations/globex").await["id"]
    );
    // One parent may go, not both.
    let (status, err) = app
        .put(
            "/resources/customObjects/deals/instances/d1",
            json!({"customerId": null, "organizationId": null}),
        )
        .await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_field", Some("customerId")))
    );
    assert!(
        app.put(
            "/resources/customObjects/deals/instances/d1",
            json!({"customerId": null})
        )
        .await
        .1["customerId"]
            .is_null()
    );
    app.put(
        "/resources/customObjects/deals/instances/d1",
        json!({"customerId": "acme"}),
    )
    .await;

    // Bad input: 400 naming the field, nothing written.
    for (body, code, field) in [
        (
            json!({"name": "x", "externalId": "x", "customerId": "acme", "traits": {"amount": "lots"}}),
            "invalid_field",
            "traits.amount",
        ),
        (
            json!({"name": "x", "externalId": "x", "customerId": "acme", "traits": {"stage": "lost"}}),
            "invalid_field",
            "traits.stage",
        ),
        (
            json!({"name": "x", "externalId": "x"}),
            "missing_field",
            "customerId",
        ),
        (
            json!({"externalId": "x", "customerId": "acme"}),
            "missing_field",
            "name",
        ),
        (
            json!({"name": "x", "externalId": "x", "customerId": "nobody"}),
            "invalid_reference",
            "customerId",
        ),
        (
            json!({"name": "x", "externalId": "x", "organizationId": "nobody"}),
            "invalid_reference",
            "organizationId",
        ),
        (
            json!({"name": "x", "externalId": "", "customerId": "acme"}),
            "invalid_field",
            "externalId",
        ),
        (
            json!({"name": "x", "customerId": "acme", "accountId": "other"}),
            "invalid_field",
            "accountId",
        ),
    ] {
        let (status, err) = app
            .post("/resources/customObjects/deals/instances", body.clone())
            .await;
        assert_eq!(
            (status, error_of(&err)),
            (400, (code, Some(field))),
            "{body}: {err}"
        );
    }
    assert_eq!(
        app.get("/resources/customObjects/deals/instances/x")
            .await
            .0,
        404
    );
    assert_eq!(
        app.post(
            "/resources/customObjects/tickets/instances",
            json!({"name": "x", "customerId": "acme"})
        )
        .await
        .0,
        404
    );
    let (status, err) = app
        .put(
            "/resources/customObjects/deals/instances/d1",
            json!({"traits": {"amount": true}}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("traits.amount")));

    // More instances: under the account, the organization, or both; paged lists per scope.
    for i in 0..4 {
        app.clock.advance_ms(1000);
        app.ok_post(
            "/resources/customObjects/deals/instances",
            json!({"name": format!("A{i}"), "externalId": format!("a{i}"), "customerId": "acme"}),
        )
        .await;
    }
    app.clock.advance_ms(1000);
    app.ok_post(
        "/resources/customObjects/deals/instances",
        json!({"name": "O", "externalId": "o1", "organizationId": "globex"}),
    )
    .await;
    let all = names(&json!(
        app.walk("/resources/customObjects/deals/instances", 2)
            .await
    ));
    assert_eq!(all, ["o1", "a3", "a2", "a1", "a0", "d1"]);
    let of_account = names(&json!(
        app.walk("/resources/accounts/acme/customObjects/deals/instances", 2)
            .await
    ));
    assert_eq!(of_account, ["a3", "a2", "a1", "a0", "d1"]);
    let of_org = names(&json!(app.walk(&format!("/resources/organizations/globex/customObjects/{object_id}/instances?sortBy=createdAt"), 1).await));
    assert_eq!(of_org, ["o1", "d1"]);
    assert_eq!(
        app.get("/resources/accounts/nobody/customObjects/deals/instances")
            .await
            .0,
        404
    );
    assert_eq!(
        app.get("/resources/accounts/acme/customObjects/nope/instances")
            .await
            .0,
        404
    );

    // DELETE archives: gone from lists, listed with archived=true, still readable.
    assert_eq!(
        app.delete("/resources/customObjects/deals/instances/a0")
            .await
            .0,
        200
    );
    let archived = app
        .ok_get("/resources/customObjects/deals/instances/a0")
        .await;
    assert_eq!(archived["archivedAt"], "2026-01-01T00:00:05.000Z");
    assert_eq!(
        names(
            &app.ok_get("/resources/customObjects/deals/instances?archived=true")
                .await
        ),
        ["a0"]
    );
    assert!(
        !names(&app.ok_get("/resources/customObjects/deals/instances").await)
            .contains(&"a0".to_owned())
    );
    assert_eq!(
        app.delete("/resources/customObjects/deals/instances/a0")
            .await
            .0,
        200
    );
    assert_eq!(
        app.delete("/resources/customObjects/deals/instances/zz")
            .await
            .0,
        404
    );
    // Posting it again restores it.
    let restored = app
        .ok_post(
            "/resources/customObjects/deals/instances",
            json!({"name": "A0", "externalId": "a0", "customerId": "acme"}),
        )
        .await;
    assert!(restored["archivedAt"].is_null());

    // Search answers a bare array.
    let search = |q: &str| format!("/resources/customObjects/deals/instances/search?{q}");
    assert_eq!(names(&app.ok_get(&search("externalId=d1")).await), ["d1"]);
    assert_eq!(
        names(&app.ok_get(&search(&format!("id={id}"))).await),
        ["d1"]
    );
    assert_eq!(
        names(&app.ok_get(&search("organizationId=globex")).await),
        ["o1", "d1"]
    );
    assert_eq!(
        app.ok_get(&search("customerId=acme"))
            .await
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        names(
            &app.ok_get(&search("customFieldId=amount&customFieldValue=7000"))
                .await
        ),
        ["d1"]
    );
    assert_eq!(
        names(
            &app.ok_get(&search("customFieldId=stage&customFieldValue=won"))
                .await
        ),
        ["d1"]
    );
    assert_eq!(app.ok_get(&search("externalId=none")).await, json!([]));
    for q in [
        "",
        "externalId=d1&customerId=acme",
        "customFieldId=nope&customFieldValue=1",
        "customFieldId=stage",
    ] {
        let (status, err) = app.get(&search(q)).await;
        assert_eq!(
            (status, error_of(&err).0),
            (400, "invalid_query"),
            "{q}: {err}"
        );
    }
});

on_every_backend!(deleting_a_parent_deletes_its_instances, |app| {
    deals(&app).await;
    app.ok_post(
        "/resources/customObjects/deals/instances",
        json!({"name": "A", "externalId": "on-acme", "customerId": "acme"}),
    )
    .await;
    app.ok_post("/resources/customObjects/deals/instances", json!({"name": "B", "externalId": "on-both", "customerId": "acme", "organizationId": "globex"})).await;
    assert_eq!(app.delete("/resources/accounts/acme").await.0, 200);
    assert_eq!(
        app.get("/resources/customObjects/deals/instances/on-acme")
            .await
            .0,
        404
    );
    let kept = app
        .ok_get("/resources/customObjects/deals/instances/on-both")
        .await;
    assert!(kept["customerId"].is_null());
    assert_eq!(app.delete("/resources/organizations/globex").await.0, 200);
    assert_eq!(
        app.get("/resources/customObjects/deals/instances/on-both")
            .await
            .0,
        404
    );
});

on_every_backend!(customobjectinstance_analytics_messages, |app| {
    deals(&app).await;
    let message = json!({"externalId": "sf-1", "customObjectId": "deals", "name": "Renewal", "accountId": "new-account",
                         "traits": {"amount": 10}, "messageId": "m1", "timestamp": "2025-12-31T00:00:00Z"});
    let (status, body) = app
        .ingest("/analytics/v1/customobjectinstance", message.clone())
        .await;
    assert_eq!((status, body), (200, json!({"message": "Success."})));
    let instance = app
        .ok_get("/resources/customObjects/deals/instances/sf-1")
        .await;
    assert_eq!(
        (instance["name"].as_str(), &instance["traits"]),
        (Some("Renewal"), &json!({"amount": 10}))
    );
    // The account it names was created, as every parent a message names.
    let account = app.ok_get("/resources/accounts/new-account").await;
    assert_eq!(instance["customerId"], account["id"]);

    // A replay changes nothing, even after the instance changed meanwhile.
    app.put(
        "/resources/customObjects/deals/instances/sf-1",
        json!({"traits": {"amount": 11}}),
    )
    .await;
    assert_eq!(
        app.ingest("/analytics/v1/customobjectinstance", message)
            .await
            .0,
        200
    );
    assert_eq!(
        app.ok_get("/resources/customObjects/deals/instances/sf-1")
            .await["traits"]["amount"],
        11
    );

    // In a batch, by the object's id, merging traits; all or nothing.
    let object_id = app.ok_get("/resources/customObjects/deals").await["id"].clone();
    let batch = json!([
        {"type": "account", "accountId": "batch-account", "traits": {"name": "Batch"}, "messageId": "b0"},
        {"type": "customobjectinstance", "externalId": "sf-1", "customObjectId": object_id, "organizationId": "globex", "traits": {"stage": "open"}, "messageId": "b1"},
        {"type": "customobjectinstance", "externalId": "sf-2", "customObjectId": "deals", "accountId": "acme", "traits": {"stage": "nope"}, "messageId": "b2"}
    ]);
    let (status, err) = app.ingest("/analytics/v1/batch", batch.clone()).await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_field", Some("[2].traits.stage")))
    );
    assert_eq!(
        app.get("/resources/accounts/batch-account").await.0,
        404,
        "nothing written"
    );
    let mut fixed = batch.clone();
    fixed[2]["traits"]["stage"] = json!("won");
    assert_eq!(app.ingest("/analytics/v1/batch", fixed).await.0, 200);
    let merged = app
        .ok_get("/resources/customObjects/deals/instances/sf-1")
        .await;
    assert_eq!(merged["traits"], json!({"amount": 11, "stage": "open"}));
    assert_eq!(
        merged["organizationId"],
        app.ok_get("/resources/organizations/globex").await["id"]
    );
    assert!(!merged["customerId"].is_null(), "the account link stays");
    assert_eq!(
        app.ok_get("/resources/customObjects/deals/instances/sf-2")
            .await["name"],
        "sf-2",
        "named after its externalId"
    );

    // Bad messages: 400 naming the field.
    for (msg, code, field) in [
        (
            json!({"type": "customobjectinstance", "externalId": "x", "customObjectId": "tickets", "accountId": "a", "traits": {}, "messageId": "e1"}),
            "invalid_reference",
            "[0].customObjectId",
        ),
        (
            json!({"type": "customobjectinstance", "externalId": "x", "customObjectId": "deals", "traits": {}, "messageId": "e2"}),
            "missing_field",
            "[0].accountId",
        ),
        (
            json!({"type": "customobjectinstance", "customObjectId": "deals", "accountId": "a", "traits": {}, "messageId": "e3"}),
            "missing_field",
            "[0].externalId",
        ),
        (
            json!({"type": "customobjectinstance", "externalId": "x", "accountId": "a", "traits": {}, "messageId": "e4"}),
            "missing_field",
            "[0].customObjectId",
        ),
        (
            json!({"type": "customobjectinstance", "externalId": "x", "customObjectId": "deals", "accountId": "a", "traits": [], "messageId": "e5"}),
            "invalid_field",
            "[0].traits",
        ),
    ] {
        let (status, err) = app.ingest("/analytics/v1/batch", json!([msg])).await;
        assert_eq!(
            (status, error_of(&err)),
            (400, (code, Some(field))),
            "{msg}: {err}"
        );
    }
    assert_eq!(
        app.get("/resources/customObjects/deals/instances/x")
            .await
            .0,
        404
    );
});

on_every_backend!(custom_objects_are_per_workspace, |app| {
    let object = deals(&app).await;
    let id = object["id"].as_str().unwrap().to_owned();
    let instance = app
        .ok_post(
            "/resources/customObjects/deals/instances",
            json!({"name": "D", "externalId": "d1", "customerId": "acme"}),
        )
        .await;
    let iid = instance["id"].as_str().unwrap().to_owned();
    let other = app.other_workspace_key("other", KeyRole::Admin).await;
    let get = |path: String| {
        let other = other.clone();
        let app = &app;
        async move { app.send_as(&other, reqwest::Method::GET, &path, None).await }
    };
    for path in [
        format!("/resources/customObjects/{id}"),
        "/resources/customObjects/deals".into(),
        format!("/resources/customObjects/{id}/instances/{iid}"),
        "/resources/customObjects/deals/instances".into(),
    ] {
        assert_eq!(get(path.clone()).await.0, 404, "{path}");
    }
    assert_eq!(
        get("/resources/customObjects".into()).await.1["results"],
        json!([])
    );
    // The same name is free there, and its instances are its own.
    let (status, _) = app
        .send_as(
            &other,
            reqwest::Method::POST,
            "/resources/customObjects",
            Some(json!({"name": "deals"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        get("/resources/customObjects/deals/instances".into())
            .await
            .1["results"],
        json!([])
    );
    let (status, err) = app.send_as(&other, reqwest::Method::POST, "/analytics/v1/customobjectinstance",
        Some(json!({"externalId": "d1", "customObjectId": id, "accountId": "acme", "traits": {}, "messageId": "x"}))).await;
    assert_eq!(
        (status, error_of(&err).1),
        (400, Some("[0].customObjectId")),
        "another workspace's object id is unknown"
    );
    assert_eq!(
        app.ok_get("/resources/customObjects/deals/instances/d1")
            .await,
        instance
    );
});
