use serde_json::json;

use super::helpers::error_of;
use crate::on_every_backend;

on_every_backend!(create_read_update_upsert, |app| {
    let created = app.ok_post("/resources/organizations", json!({"externalId": "acme", "name": "Acme Corp", "traits": {"arr": 120000, "tier": "gold", "tags": ["a", "b"], "nested": {"x": 1}}})).await;
    assert_eq!(created["externalId"], "acme");
    assert_eq!(created["name"], "Acme Corp");
    assert_eq!(created["traits"]["arr"], 120000);
    assert_eq!(created["traits"]["nested"]["x"], 1);
    assert_eq!(created["accountsCount"], 0);
    assert_eq!(created["usersCount"], 0);
    assert_eq!(created["createdAt"], "2026-01-01T00:00:00.000Z");
    let id = created["id"].as_str().unwrap().to_owned();

    // Upsert on the same external id: same record, traits merged, null deletes.
    app.clock.advance_ms(1500);
    let again = app.ok_post("/resources/organizations", json!({"externalId": "acme", "name": "Acme Corporation", "traits": {"tier": null, "seats": 5.5}})).await;
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["name"], "Acme Corporation");
    assert_eq!(
        again["traits"],
        json!({"arr": 120000, "tags": ["a", "b"], "nested": {"x": 1}, "seats": 5.5})
    );
    assert_eq!(again["updatedAt"], "2026-01-01T00:00:01.500Z");
    assert_eq!(again["createdAt"], "2026-01-01T00:00:00.000Z");

    // Read by Steward id and by external id.
    assert_eq!(
        app.ok_get(&format!("/resources/organizations/{id}")).await["name"],
        "Acme Corporation"
    );
    assert_eq!(
        app.ok_get("/resources/organizations/acme").await["id"],
        id.as_str()
    );

    // PUT updates; changing the external id is refused.
    let (status, put) = app
        .put(
            "/resources/organizations/acme",
            json!({"name": "Acme Inc", "traits": {"arr": 150000}}),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["traits"]["arr"], 150000);
    let (status, err) = app
        .put(
            &format!("/resources/organizations/{id}"),
            json!({"externalId": "other"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_field", Some("externalId")))
    );

    let list = app.ok_get("/resources/organizations").await;
    assert_eq!(list["results"].as_array().unwrap().len(), 1);
    assert!(list["next"].is_null());

    let (status, err) = app.get("/resources/organizations/nope").await;
    assert_eq!((status, error_of(&err).0), (404, "not_found"));
    let (status, _) = app
        .put("/resources/organizations/nope", json!({"name": "x"}))
        .await;
    assert_eq!(status, 404);
});

on_every_backend!(delete_detaches_accounts_or_cascades, |app| {
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "o1", "name": "One"}),
    )
    .await;
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "o2", "name": "Two"}),
    )
    .await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "a1", "name": "A1", "organizationId": "o1"}),
    )
    .await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "a2", "name": "A2", "organizationId": "o2"}),
    )
    .await;
    app.ok_post(
        "/resources/users",
        json!({"externalId": "u1", "accountIds": ["a1"]}),
    )
    .await;
    app.ok_post(
        "/resources/users",
        json!({"externalId": "u2", "accountIds": ["a2"]}),
    )
    .await;

    // Without cascade: the account survives, detached; its user stays.
    let (status, body) = app.delete("/resources/organizations/o1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deleted"], true);
    let a1 = app.ok_get("/resources/accounts/a1").await;
    assert!(a1["organizationId"].is_null());
    assert_eq!(
        app.ok_get("/resources/users/u1").await["organizationIds"],
        json!([])
    );
    assert_eq!(app.get("/resources/organizations/o1").await.0, 404);

    // With cascade: the account and its only-here user go too.
    let (status, _) = app.delete("/resources/organizations/o2?cascade=true").await;
    assert_eq!(status, 200);
    assert_eq!(app.get("/resources/accounts/a2").await.0, 404);
    assert_eq!(app.get("/resources/users/u2").await.0, 404);
    assert_eq!(app.get("/resources/users/u1").await.0, 200);
});

on_every_backend!(organization_response_snapshot, |app| {
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "district-9", "name": "District Nine", "traits": {"students": 1200}}),
    )
    .await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "school-1", "name": "School One", "organizationId": "district-9"}),
    )
    .await;
    app.ok_post("/resources/users", json!({"externalId": "t1", "name": "Teacher", "email": "t1@d9.example", "accountIds": ["school-1"]})).await;
    let org = app.ok_get("/resources/organizations/district-9").await;
    insta::assert_json_snapshot!("organization", org, { ".id" => "[id]" });
    let user = app.ok_get("/resources/users/t1").await;
    insta::assert_json_snapshot!("user", user, { ".id" => "[id]", ".accountIds[]" => "[id]", ".organizationIds[]" => "[id]" });
    let account = app.ok_get("/resources/accounts/school-1").await;
    insta::assert_json_snapshot!("account", account, { ".id" => "[id]", ".organizationId" => "[id]" });
});
