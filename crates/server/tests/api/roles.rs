//! Key roles, owners, trait mappings, books of business and import filters over HTTP.

use serde_json::{Value, json};
use steward_store::rows::KeyRole;

use super::helpers::{TestApp, error_of};
use crate::on_every_backend;

impl TestApp {
    async fn admin(&self, name: &str, email: &str) -> String {
        let body = self
            .ok_post("/resources/admins", json!({"name": name, "email": email}))
            .await;
        body["id"].as_str().unwrap().to_owned()
    }

    async fn ok_put(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.put(path, body).await;
        assert_eq!(status, 200, "{} PUT {path}: {value}", self.backend_name());
        value
    }

    /// This app's own key as an import filter source.
    async fn own_source(&self) -> String {
        let keys = self.ok_get("/resources/apiKeys").await;
        keys[0]["source"].as_str().unwrap().to_owned()
    }
}

fn external_ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["externalId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

on_every_backend!(key_roles_and_owners_by_rest, |app| {
    let ann = app.admin("Ann", "ann@vendor.io").await;
    let bob = app.admin("Bob", "bob@vendor.io").await;
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "acme", "name": "Acme", "csmId": ann}),
    )
    .await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "acme-us", "name": "Acme US", "organizationId": "acme"}),
    )
    .await;
    let user = app
        .ok_post(
            "/resources/users",
            json!({"externalId": "u1", "name": "Ada", "accountIds": ["acme-us"]}),
        )
        .await;

    // Key roles and owner in one PUT; the legacy ids follow the role list.
    app.clock.advance_ms(1000);
    let account = app.ok_put("/resources/accounts/acme-us", json!({
        "keyRoles": [{"keyRole": "csm", "vitallyUser": ann}, {"keyRole": "accountExecutive", "vitallyUser": {"id": bob}}],
        "accountOwnerId": "u1"
    })).await;
    assert_eq!(account["csmId"], json!(ann));
    assert_eq!(account["accountExecutiveId"], json!(bob));
    assert_eq!(account["accountOwnerId"], user["id"]);
    assert_eq!(
        account["updatedAt"], "2026-01-01T00:00:01.000Z",
        "an assignment moves updatedAt"
    );
    let fetched = app.ok_get("/resources/accounts/acme-us").await;
    assert_eq!(fetched, account);
    insta::assert_json_snapshot!("account_with_key_roles", fetched, {
        ".id" => "[id]", ".organizationId" => "[id]", ".accountOwnerId" => "[user id]",
        ".csmId" => "[ann]", ".accountExecutiveId" => "[bob]", ".keyRoles[].vitallyUser" => "[admin id]"
    });
    let org = app.ok_get("/resources/organizations/acme").await;
    assert_eq!(org["csmId"], json!(ann));
    assert_eq!(org["organizationOwnerId"], Value::Null);

    // `null` vacates a role and removes the owner; other roles stay.
    let account = app
        .ok_put(
            "/resources/accounts/acme-us",
            json!({"csmId": null, "accountOwnerId": null}),
        )
        .await;
    assert_eq!(
        (account["csmId"].clone(), account["accountOwnerId"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        account["keyRoles"],
        json!([{"keyRole": "accountExecutive", "vitallyUser": bob}])
    );

    // Errors name the field; nothing is written.
    let (status, body) = app
        .put(
            "/resources/accounts/acme-us",
            json!({"keyRoles": [{"keyRole": "nope", "vitallyUser": ann}]}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_field", Some("keyRoles[0].vitallyUser"))),
        "{body}"
    );
    let (status, body) = app
        .put(
            "/resources/accounts/acme-us",
            json!({"csmId": "0190d4a0-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_reference", Some("csmId"))),
        "{body}"
    );
    let (status, body) = app
        .put(
            "/resources/accounts/acme-us",
            json!({"accountOwnerId": "nobody"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_reference", Some("accountOwnerId"))),
        "{body}"
    );
    let (status, body) = app
        .put(
            "/resources/organizations/acme",
            json!({"keyRoles": {"csm": ann}}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_field", Some("keyRoles"))),
        "{body}"
    );
    assert_eq!(
        app.ok_get("/resources/accounts/acme-us").await["accountExecutiveId"],
        json!(bob)
    );

    // Custom roles: admin keys only; usable once defined; removing one vacates it.
    let write_key = app.other_workspace_key("acme", KeyRole::Write).await;
    let (status, _) = app
        .send_as(
            &write_key,
            reqwest::Method::POST,
            "/resources/keyRoles",
            Some(json!({"key": "implementation", "label": "Implementation"})),
        )
        .await;
    assert_eq!(status, 403);
    app.ok_post(
        "/resources/keyRoles",
        json!({"key": "implementation", "label": "Implementation Specialist"}),
    )
    .await;
    let (status, body) = app
        .post(
            "/resources/keyRoles",
            json!({"key": "implementation", "label": "Again"}),
        )
        .await;
    assert_eq!((status, error_of(&body).0), (409, "conflict"));
    let (status, body) = app
        .post("/resources/keyRoles", json!({"key": "2x", "label": "Bad"}))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_field", Some("key"))),
        "{body}"
    );
    let roles = app.ok_get("/resources/keyRoles").await;
    assert_eq!(
        roles,
        json!([
            {"key": "csm", "label": "CSM", "builtIn": true},
            {"key": "accountExecutive", "label": "Account Executive", "builtIn": true},
            {"key": "implementation", "label": "Implementation Specialist", "builtIn": false}
        ])
    );
    let account = app
        .ok_put(
            "/resources/accounts/acme-us",
            json!({"keyRoles": [{"keyRole": "implementation", "vitallyUser": ann}]}),
        )
        .await;
    assert_eq!(account["keyRoles"].as_array().unwrap().len(), 2);
    let (status, _) = app.delete("/resources/keyRoles/csm").await;
    assert_eq!(status, 400);
    assert_eq!(
        app.delete("/resources/keyRoles/implementation").await.0,
        200
    );
    let account = app.ok_get("/resources/accounts/acme-us").await;
    assert_eq!(
        account["keyRoles"],
        json!([{"keyRole": "accountExecutive", "vitallyUser": bob}])
    );

    // Deleting the team member vacates their roles; deleting the owner clears the owner.
    app.ok_put(
        "/resources/accounts/acme-us",
        json!({"accountOwnerId": "u1"}),
    )
    .await;
    assert_eq!(app.delete(&format!("/resources/admins/{bob}")).await.0, 200);
    assert_eq!(app.delete("/resources/users/u1").await.0, 200);
    let account = app.ok_get("/resources/accounts/acme-us").await;
    assert_eq!(
        (
            account["keyRoles"].clone(),
            account["accountOwnerId"].clone()
        ),
        (json!([]), Value::Null)
    );
});

on_every_backend!(trait_mappings_follow_rest_and_ingestion_writes, |app| {
    let config = json!({
        "keyRoleTraits": [
            {"role": "csm", "model": "accounts", "trait": "csmEmail"},
            {"role": "accountExecutive", "model": "organizations", "trait": "aeEmail"}
        ],
        "ownerTraits": {"accounts": "ownerId", "organizations": "orgOwner"}
    });
    let mut stored = config.clone();
    stored["keyRoles"] = json!([]);
    assert_eq!(app.ok_put("/resources/config/roles", config).await, stored);
    assert_eq!(app.ok_get("/resources/config/roles").await, stored);
    let ann = app.admin("Ann", "ann@vendor.io").await;

    // REST: a known e-mail (any case) assigns the role.
    let account = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "a1", "name": "A1", "traits": {"csmEmail": "ANN@vendor.io"}}),
        )
        .await;
    assert_eq!(account["csmId"], json!(ann));

    // Ingestion: an unknown e-mail creates a placeholder team member; the owner trait names a
    // user by external id, created if it does not exist yet.
    let (status, body) = app.ingest("/analytics/v1/batch", json!([
        {"type": "account", "accountId": "a2", "messageId": "m1", "traits": {"name": "A2", "csmEmail": "new.csm@vendor.io", "ownerId": "owner-1"}},
        {"type": "organization", "organizationId": "o1", "messageId": "m2", "traits": {"name": "O1", "aeEmail": "ann@vendor.io", "orgOwner": 7}}
    ])).await;
    assert_eq!(status, 200, "{body}");
    let placeholder = app
        .ok_get("/resources/admins/search?email=new.csm@vendor.io")
        .await;
    assert_eq!(placeholder["licenseStatus"], "auto-created");
    let a2 = app.ok_get("/resources/accounts/a2").await;
    assert_eq!(a2["csmId"], placeholder["id"]);
    let owner = app.ok_get("/resources/users/owner-1").await;
    assert_eq!(a2["accountOwnerId"], owner["id"]);
    let o1 = app.ok_get("/resources/organizations/o1").await;
    assert_eq!(o1["accountExecutiveId"], json!(ann));
    assert_eq!(
        o1["organizationOwnerId"],
        app.ok_get("/resources/users/7").await["id"]
    );

    // Segment `group` traits map too; a null trait vacates the role.
    let (status, _) = app.ingest("/v1/batch", json!({"batch": [
        {"type": "group", "userId": "u9", "groupId": "a2", "messageId": "s1", "traits": {"csmEmail": null, "ownerId": "u9"}}
    ]})).await;
    assert_eq!(status, 200);
    let a2 = app.ok_get("/resources/accounts/a2").await;
    assert_eq!(a2["csmId"], Value::Null);
    assert_eq!(
        a2["accountOwnerId"],
        app.ok_get("/resources/users/u9").await["id"]
    );

    // An explicit member beats the mapped trait in the same request.
    let a1 = app
        .ok_put(
            "/resources/accounts/a1",
            json!({"traits": {"csmEmail": "new.csm@vendor.io"}, "csmId": ann}),
        )
        .await;
    assert_eq!(a1["csmId"], json!(ann));

    // Configuration errors name the field; other workspaces are untouched.
    let (status, body) = app
        .put(
            "/resources/config/roles",
            json!({"keyRoleTraits": [{"role": "cto", "model": "accounts", "trait": "x"}]}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_field", Some("keyRoleTraits[0].role"))),
        "{body}"
    );
    let (status, body) = app
        .put("/resources/config/roles", json!({"ownerTrait": "x"}))
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (400, "invalid_field"),
        "{body}"
    );
    let other = app.other_workspace_key("elsewhere", KeyRole::Admin).await;
    let (_, theirs) = app
        .send_as(
            &other,
            reqwest::Method::GET,
            "/resources/config/roles",
            None,
        )
        .await;
    assert_eq!(
        theirs,
        json!({"keyRoles": [], "keyRoleTraits": [], "ownerTraits": {}})
    );
    let read = app.other_workspace_key("acme", KeyRole::Read).await;
    let (status, _) = app
        .send_as(
            &read,
            reqwest::Method::PUT,
            "/resources/config/roles",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403);
});

on_every_backend!(book_of_business_lists, |app| {
    let ann = app.admin("Ann", "ann@vendor.io").await;
    let bob = app.admin("Bob", "bob@vendor.io").await;
    for i in 0..5 {
        let csm = if i < 4 { &ann } else { &bob };
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": format!("a{i}"), "name": "A", "csmId": csm}),
        )
        .await;
    }
    app.ok_put("/resources/accounts/a4", json!({"accountExecutiveId": ann}))
        .await;
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "o1", "name": "O", "accountExecutiveId": ann}),
    )
    .await;
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "o2", "name": "O"}),
    )
    .await;

    let all = app
        .walk(&format!("/resources/accounts?keyRoleMember={ann}"), 2)
        .await;
    let mut ids: Vec<&str> = all
        .iter()
        .map(|r| r["externalId"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["a0", "a1", "a2", "a3", "a4"],
        "{}",
        app.backend_name()
    );
    let page = app
        .ok_get(&format!(
            "/resources/accounts?keyRoleMember={ann}&keyRole=accountExecutive"
        ))
        .await;
    assert_eq!(external_ids(&page), ["a4"]);
    let page = app
        .ok_get(&format!(
            "/resources/accounts?keyRoleMember={bob}&keyRole=csm&sortBy=createdAt"
        ))
        .await;
    assert_eq!(external_ids(&page), ["a4"]);
    let page = app
        .ok_get(&format!("/resources/organizations?keyRoleMember={ann}"))
        .await;
    assert_eq!(external_ids(&page), ["o1"]);

    // Users of the book: of its accounts and of its organizations, each once.
    app.ok_post(
        "/resources/users",
        json!({"externalId": "u-a0", "accountIds": ["a0", "a4"]}),
    )
    .await;
    app.ok_post(
        "/resources/users",
        json!({"externalId": "u-o1", "organizationIds": ["o1"]}),
    )
    .await;
    app.ok_post(
        "/resources/users",
        json!({"externalId": "u-o2", "organizationIds": ["o2"]}),
    )
    .await;
    let users = app
        .walk(&format!("/resources/users?keyRoleMember={ann}"), 1)
        .await;
    let mut ids: Vec<&str> = users
        .iter()
        .map(|r| r["externalId"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["u-a0", "u-o1"]);
    let page = app
        .ok_get(&format!("/resources/users?keyRoleMember={bob}"))
        .await;
    assert_eq!(external_ids(&page), ["u-a0"]);

    let (status, body) = app.get("/resources/accounts?keyRoleMember=ann").await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_query", Some("keyRoleMember")))
    );
    let (status, body) = app
        .get(&format!(
            "/resources/accounts?keyRoleMember={ann}&keyRole=cto"
        ))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_query", Some("keyRole")))
    );
    // Another workspace's key sees nothing of this book.
    let other = app.other_workspace_key("elsewhere", KeyRole::Admin).await;
    let (_, page) = app
        .send_as(
            &other,
            reqwest::Method::GET,
            &format!("/resources/accounts?keyRoleMember={ann}"),
            None,
        )
        .await;
    assert_eq!(page["results"], json!([]));
});

on_every_backend!(book_of_business_narrows_the_sub_lists_too, |app| {
    let ann = app.admin("Ann", "ann@vendor.io").await;
    let bob = app.admin("Bob", "bob@vendor.io").await;
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "o1", "name": "O"}),
    )
    .await;
    for (i, csm) in [(0, &ann), (1, &bob), (2, &ann)] {
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": format!("a{i}"), "name": "A", "organizationId": "o1", "csmId": csm}),
        )
        .await;
    }
    // An account of Ann's outside o1 stays out of o1's sub-list.
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "elsewhere", "name": "E", "csmId": ann}),
    )
    .await;
    for (user, accounts) in [
        ("u0", vec!["a0"]),
        ("u1", vec!["a1"]),
        ("u01", vec!["a0", "a1"]),
    ] {
        app.ok_post(
            "/resources/users",
            json!({"externalId": user, "accountIds": accounts}),
        )
        .await;
    }
    let sorted = |page: &Value| {
        let mut ids: Vec<String> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["externalId"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let page = app
        .ok_get(&format!(
            "/resources/organizations/o1/accounts?keyRoleMember={ann}"
        ))
        .await;
    assert_eq!(sorted(&page), ["a0", "a2"]);
    let page = app
        .ok_get(&format!(
            "/resources/organizations/o1/accounts?keyRoleMember={bob}&keyRole=csm"
        ))
        .await;
    assert_eq!(sorted(&page), ["a1"]);
    let page = app
        .ok_get(&format!(
            "/resources/organizations/o1/users?keyRoleMember={bob}"
        ))
        .await;
    assert_eq!(sorted(&page), ["u01", "u1"]);
    let page = app
        .ok_get(&format!("/resources/accounts/a1/users?keyRoleMember={ann}"))
        .await;
    assert_eq!(sorted(&page), ["u01"]);
    let page = app
        .ok_get(&format!(
            "/resources/accounts/a1/users?keyRoleMember={bob}&limit=1"
        ))
        .await;
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    assert!(page["next"].is_string(), "{page}");
    // Holding a role on the organization puts all its users in the book.
    app.ok_put(
        "/resources/organizations/o1",
        json!({"accountExecutiveId": bob}),
    )
    .await;
    let page = app
        .ok_get(&format!(
            "/resources/organizations/o1/users?keyRoleMember={bob}"
        ))
        .await;
    assert_eq!(sorted(&page), ["u0", "u01", "u1"]);
    let (status, body) = app
        .get("/resources/accounts/a1/users?keyRoleMember=nope")
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_query", Some("keyRoleMember")))
    );
});

on_every_backend!(import_filters_gate_creation_per_source, |app| {
    let source = app.own_source().await;
    let path = format!("/resources/importFilters/{source}");
    let filter = app
        .ok_put(
            &path,
            json!({
                "accounts": {"field": "plan", "op": "is_any_of", "value": ["pro", "enterprise"]},
                "organizations": {"field": "externalId", "op": "starts_with", "value": "org-"}
            }),
        )
        .await;
    insta::assert_json_snapshot!("import_filter", filter, { ".source" => "[source]" });

    // REST: a refused create writes nothing; allowed creates and updates pass.
    let (status, body) = app
        .post(
            "/resources/accounts",
            json!({"externalId": "free-1", "name": "F", "traits": {"plan": "free"}}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (422, "import_filtered"),
        "{body}"
    );
    assert_eq!(app.get("/resources/accounts/free-1").await.0, 404);
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "pro-1", "name": "P", "traits": {"plan": "pro"}}),
    )
    .await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "pro-1", "name": "P", "traits": {"plan": "free"}}),
    )
    .await;
    let (status, _) = app
        .post(
            "/resources/organizations",
            json!({"externalId": "acme", "name": "Acme"}),
        )
        .await;
    assert_eq!(status, 422);

    // Ingestion: the refused message is skipped (still 200), the others apply; a parent
    // referenced by a user is created although it would not pass.
    let (status, body) = app.ingest("/analytics/v1/batch", json!([
        {"type": "account", "accountId": "free-2", "messageId": "i1", "traits": {"name": "F2", "plan": "free"}},
        {"type": "account", "accountId": "pro-2", "messageId": "i2", "traits": {"name": "P2", "plan": "pro"}},
        {"type": "account", "accountId": "pro-2", "messageId": "i3", "traits": {"plan": "free"}},
        {"type": "user", "userId": "u1", "accountId": "free-3", "messageId": "i4", "traits": {"name": "U"}}
    ])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get("/resources/accounts/free-2").await.0, 404);
    assert_eq!(
        app.ok_get("/resources/accounts/pro-2").await["traits"]["plan"],
        "free",
        "updates in the same batch pass"
    );
    assert_eq!(
        app.get("/resources/accounts/free-3").await.0,
        200,
        "referenced parents are created"
    );
    let (status, _) = app.ingest("/v1/batch", json!({"batch": [
        {"type": "group", "userId": "u2", "groupId": "free-4", "messageId": "s1", "traits": {"plan": "free"}}
    ]})).await;
    assert_eq!(status, 200);
    assert_eq!(app.get("/resources/accounts/free-4").await.0, 404);
    assert_eq!(
        app.ok_get(&path).await["ignored"],
        4,
        "2 REST refusals and 2 skipped messages"
    );

    // Other keys are not filtered; removing the filter lets everything in again.
    let other_key = app.other_workspace_key("acme", KeyRole::Write).await;
    let (status, _) = app
        .send_as(
            &other_key,
            reqwest::Method::POST,
            "/resources/accounts",
            Some(json!({"externalId": "free-5", "name": "F"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.ok_get("/resources/importFilters")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(app.delete(&path).await.0, 200);
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "free-1", "name": "F", "traits": {"plan": "free"}}),
    )
    .await;

    // Errors name the field inside the rule; only admin keys configure; unknown keys 404.
    let (status, body) = app
        .put(
            &path,
            json!({"accounts": {"all": [{"field": "mrr", "op": "gt", "value": "big"}]}}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_field", Some("accounts.all[0].value"))),
        "{body}"
    );
    let (status, _) = app
        .send_as(&other_key, reqwest::Method::PUT, &path, Some(json!({})))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .put(
            "/resources/importFilters/apiKey:0190d4a0-0000-7000-8000-000000000000",
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    let foreign = app.other_workspace_key("elsewhere", KeyRole::Admin).await;
    let (status, _) = app
        .send_as(&foreign, reqwest::Method::GET, &path, None)
        .await;
    assert_eq!(status, 404, "another workspace's key is not a source here");
});

on_every_backend!(demo_workspace_has_a_cs_team_with_books, |app| {
    let key = steward_server::demo::load(&app.state).await.expect("demo");
    let get = |path: String| {
        let key = key.clone();
        let app = &app;
        async move {
            let (status, body) = app.send_as(&key, reqwest::Method::GET, &path, None).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let sam =
        get("/resources/admins/search?email=sam.rivera@steward.example".into()).await["id"].clone();
    let globex = get("/resources/organizations/globex".into()).await;
    assert_eq!(globex["csmId"], sam);
    assert_eq!(globex["keyRoles"].as_array().unwrap().len(), 3);
    assert_eq!(
        globex["organizationOwnerId"],
        get("/resources/users/globex-vp-1".into()).await["id"]
    );
    // Trait-mapped: the startups alternate CSMs and are owned by their first user.
    let startup = get("/resources/accounts/acct-100".into()).await;
    assert_eq!(startup["csmId"], sam);
    assert_eq!(
        startup["accountOwnerId"],
        get("/resources/users/acct-100-user-0".into()).await["id"]
    );
    let book = get(format!(
        "/resources/accounts?keyRoleMember={}&keyRole=csm",
        sam.as_str().unwrap()
    ))
    .await;
    assert_eq!(
        book["results"].as_array().unwrap().len(),
        14,
        "4 Globex regions and 10 startups"
    );
    // Owners write to their CSMs; the quiet startups' owners stopped weeks ago.
    assert!(
        startup["lastInboundMessageTimestamp"].is_string(),
        "{startup}"
    );
    assert_eq!(
        startup["traits"]["ownerLastWrote"],
        serde_json::json!(1.0),
        "{startup}"
    );
    let quiet = get("/resources/accounts/acct-103".into()).await;
    assert!(
        quiet["traits"]["ownerLastWrote"].as_f64().unwrap() >= 25.0,
        "{quiet}"
    );
    let threads = get("/resources/accounts/acct-100/conversations".into()).await;
    assert_eq!(threads["results"].as_array().unwrap().len(), 1, "{threads}");
    // Loading again changes nothing.
    steward_server::demo::load(&app.state)
        .await
        .expect("demo again");
    assert_eq!(
        get("/resources/accounts/acct-100".into()).await["updatedAt"],
        startup["updatedAt"]
    );
});
