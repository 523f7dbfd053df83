use serde_json::json;

use super::helpers::error_of;
use crate::on_every_backend;

on_every_backend!(users_link_to_accounts_and_derive_organizations, |app| {
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "district", "name": "District"}),
    )
    .await;
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "other-district", "name": "Other"}),
    )
    .await;
    let s1 = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "s1", "name": "School 1", "organizationId": "district"}),
        )
        .await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "s2", "name": "School 2", "organizationId": "district"}),
    )
    .await;

    let teacher = app.ok_post("/resources/users", json!({
        "externalId": "t1", "name": "Ada", "email": "Ada@District.example", "accountIds": ["s1", "s2"],
        "traits": {"subject": "math"}, "joinDate": "2025-09-01", "unsubscribedFromConversations": true
    })).await;
    assert_eq!(teacher["accountIds"].as_array().unwrap().len(), 2);
    assert_eq!(
        teacher["organizationIds"].as_array().unwrap().len(),
        1,
        "derived once, though two paths lead there"
    );
    assert_eq!(teacher["joinDate"], "2025-09-01T00:00:00.000Z");
    assert_eq!(teacher["unsubscribedFromConversations"], true);
    assert_eq!(s1["usersCount"], 0);
    assert_eq!(app.ok_get("/resources/accounts/s1").await["usersCount"], 1);
    assert_eq!(
        app.ok_get("/resources/organizations/district").await["usersCount"],
        1
    );

    // A user directly on an organization, with no account.
    app.ok_post(
        "/resources/users",
        json!({"externalId": "super", "organizationIds": ["district"]}),
    )
    .await;
    assert_eq!(
        app.ok_get("/resources/organizations/district").await["usersCount"],
        2
    );
    let org_users = app.walk("/resources/organizations/district/users", 1).await;
    assert_eq!(org_users.len(), 2);

    // Moving an account moves its users' organization membership.
    app.put(
        "/resources/accounts/s1",
        json!({"organizationId": "other-district"}),
    )
    .await;
    let moved = app.ok_get("/resources/users/t1").await;
    assert_eq!(moved["organizationIds"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.ok_get("/resources/organizations/other-district").await["usersCount"],
        1
    );

    // accountIds replaces the set.
    let updated = app
        .put(
            "/resources/users/t1",
            json!({"accountIds": ["s2"], "email": null}),
        )
        .await
        .1;
    assert_eq!(updated["accountIds"].as_array().unwrap().len(), 1);
    assert!(updated["email"].is_null());
    assert_eq!(
        app.ok_get("/resources/organizations/other-district").await["usersCount"],
        0
    );
    let account_users = app.ok_get("/resources/accounts/s2/users").await;
    assert_eq!(account_users["results"][0]["externalId"], "t1");

    // Unknown account: 400 naming the element, nothing written.
    let (status, err) = app
        .post(
            "/resources/users",
            json!({"externalId": "ghost", "accountIds": ["s2", "nope"]}),
        )
        .await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_reference", Some("accountIds[1]")))
    );
    assert_eq!(app.get("/resources/users/ghost").await.0, 404);
});

on_every_backend!(user_search, |app| {
    app.ok_post(
        "/resources/users",
        json!({"externalId": "u1", "email": "Ada@Example.com"}),
    )
    .await;
    app.ok_post(
        "/resources/users",
        json!({"externalId": "u2", "email": "bob@eu.example.com"}),
    )
    .await;
    app.ok_post(
        "/resources/users",
        json!({"externalId": "u3", "email": "eve@notexample.com"}),
    )
    .await;

    let by_email = app
        .ok_get("/resources/users/search?email=ada%40example.com")
        .await;
    assert_eq!(by_email["results"][0]["externalId"], "u1");
    let by_ext = app.ok_get("/resources/users/search?externalId=u2").await;
    assert_eq!(by_ext["results"].as_array().unwrap().len(), 1);
    let by_domain = app
        .ok_get("/resources/users/search?emailSubdomain=example.com")
        .await;
    let mut ids: Vec<_> = by_domain["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["externalId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["u1", "u2"]);
    assert_eq!(app.get("/resources/users/search").await.0, 400);
    assert_eq!(
        app.get("/resources/users/search?email=a%40b.c&externalId=x")
            .await
            .0,
        400
    );
    let (status, err) = app.get("/resources/users/search?email=not-an-email").await;
    assert_eq!((status, error_of(&err).1), (400, Some("email")));
});
