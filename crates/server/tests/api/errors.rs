use serde_json::json;

use super::helpers::error_of;
use crate::on_every_backend;

on_every_backend!(bad_input_is_a_400_naming_the_field, |app| {
    let cases = [
        (json!({"name": "No id"}), "missing_field", "externalId"),
        (json!({"externalId": "a"}), "missing_field", "name"),
        (
            json!({"externalId": "", "name": "x"}),
            "invalid_field",
            "externalId",
        ),
        (
            json!({"externalId": 1.5, "name": "x"}),
            "invalid_field",
            "externalId",
        ),
        (
            json!({"externalId": "a", "name": 7}),
            "invalid_field",
            "name",
        ),
        (
            json!({"externalId": "a", "name": "  "}),
            "invalid_field",
            "name",
        ),
        (
            json!({"externalId": "a", "name": "x", "traits": "plan=pro"}),
            "invalid_field",
            "traits",
        ),
        (
            json!({"externalId": "a", "name": "x", "organizationId": true}),
            "invalid_field",
            "organizationId",
        ),
    ];
    for (body, code, field) in cases {
        let (status, err) = app.post("/resources/accounts", body.clone()).await;
        assert_eq!(
            (status, error_of(&err)),
            (400, (code, Some(field))),
            "{body}"
        );
        assert!(err["message"].as_str().unwrap().contains(field), "{err}");
    }
    // PostgreSQL cannot store NUL: refused on every backend alike, never a 500.
    let more = [
        (
            "/resources/users",
            json!({"externalId": "u", "name": "a\u{0}b"}),
            "name",
        ),
        (
            "/resources/accounts",
            json!({"externalId": "a", "name": "a\u{0}b"}),
            "name",
        ),
        (
            "/resources/users",
            json!({"externalId": "u", "email": "nope"}),
            "email",
        ),
        (
            "/resources/users",
            json!({"externalId": "u", "joinDate": "last tuesday"}),
            "joinDate",
        ),
    ];
    for (path, body, field) in more {
        let (status, err) = app.post(path, body.clone()).await;
        assert_eq!(
            (status, error_of(&err)),
            (400, ("invalid_field", Some(field))),
            "{body}"
        );
    }
    assert_eq!(
        app.ok_get("/resources/accounts").await["results"],
        json!([]),
        "no partial writes"
    );
});

on_every_backend!(malformed_oversized_and_unknown, |app| {
    let send_raw = |body: Vec<u8>| {
        app.client
            .post(app.url("/resources/accounts"))
            .basic_auth(&app.key, Some(""))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let resp = send_raw(b"{\"externalId\": ".to_vec()).await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_json");
    let resp = send_raw(b"[1,2]".to_vec()).await.unwrap();
    assert_eq!(resp.status(), 400);

    let mut big = b"{\"externalId\":\"a\",\"name\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'x', 1024 * 1024 + 10));
    big.extend(b"\"}");
    // On a connection of its own: the server answers 413 before reading the whole body and
    // closes the connection, which a pooled client could otherwise pick for the next request
    // (a broken pipe).
    let resp = reqwest::Client::new()
        .post(app.url("/resources/accounts"))
        .basic_auth(&app.key, Some(""))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");

    let (status, err) = app.get("/resources/planets").await;
    assert_eq!((status, error_of(&err).0), (404, "not_found"));
    let (status, err) = app
        .send(
            reqwest::Method::POST,
            "/resources/accounts/a/users",
            Some(json!({})),
        )
        .await;
    assert_eq!((status, error_of(&err).0), (405, "method_not_allowed"));
    let (status, err) = app.get("/resources/accounts?limit=500").await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_query", Some("limit")))
    );
    let (status, err) = app.get("/resources/accounts?from=bogus").await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("invalid_cursor", Some("from")))
    );
});
