use serde_json::json;

use super::helpers::error_of;
use crate::on_every_backend;

on_every_backend!(accounts_belong_to_at_most_one_organization, |app| {
    let org = app
        .ok_post(
            "/resources/organizations",
            json!({"externalId": "globex", "name": "Globex"}),
        )
        .await;
    let org_id = org["id"].as_str().unwrap().to_owned();
    // organizationId accepts the external id ...
    let us = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "globex-us", "name": "Globex US", "organizationId": "globex"}),
        )
        .await;
    assert_eq!(us["organizationId"], org_id.as_str());
    // ... or Steward's id.
    let emea = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "globex-emea", "name": "Globex EMEA", "organizationId": org_id}),
        )
        .await;
    assert_eq!(emea["organizationId"], org_id.as_str());
    assert_eq!(
        app.ok_get("/resources/organizations/globex").await["accountsCount"],
        2
    );

    let children = app.ok_get("/resources/organizations/globex/accounts").await;
    let names: Vec<_> = children["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2);

    // null detaches.
    let detached = app
        .put(
            "/resources/accounts/globex-emea",
            json!({"organizationId": null}),
        )
        .await
        .1;
    assert!(detached["organizationId"].is_null());
    assert_eq!(
        app.ok_get("/resources/organizations/globex").await["accountsCount"],
        1
    );

    // An unknown parent is a 400 naming the field, and nothing is written.
    let (status, err) = app
        .post(
            "/resources/accounts",
            json!({"externalId": "orphan", "name": "Orphan", "organizationId": "missing-org"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_reference", Some("organizationId")))
    );
    assert_eq!(app.get("/resources/accounts/orphan").await.0, 404);

    // accountOwnerId names a user that exists (or is null, removing the owner).
    let (status, err) = app
        .put(
            "/resources/accounts/globex-us",
            json!({"accountOwnerId": "u1"}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("accountOwnerId")));
    assert_eq!(
        app.put(
            "/resources/accounts/globex-us",
            json!({"accountOwnerId": null})
        )
        .await
        .0,
        200
    );
});

on_every_backend!(
    deleting_an_account_deletes_users_with_no_other_account,
    |app| {
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "a", "name": "A"}),
        )
        .await;
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "b", "name": "B"}),
        )
        .await;
        app.ok_post(
            "/resources/users",
            json!({"externalId": "only-a", "accountIds": ["a"]}),
        )
        .await;
        app.ok_post(
            "/resources/users",
            json!({"externalId": "a-and-b", "accountIds": ["a", "b"]}),
        )
        .await;
        assert_eq!(app.ok_get("/resources/accounts/a").await["usersCount"], 2);
        let (status, _) = app.delete("/resources/accounts/a").await;
        assert_eq!(status, 200);
        assert_eq!(app.get("/resources/users/only-a").await.0, 404);
        let kept = app.ok_get("/resources/users/a-and-b").await;
        assert_eq!(kept["accountIds"].as_array().unwrap().len(), 1);
        assert_eq!(app.ok_get("/resources/accounts/b").await["usersCount"], 1);
        assert_eq!(app.delete("/resources/accounts/a").await.0, 404);
    }
);
