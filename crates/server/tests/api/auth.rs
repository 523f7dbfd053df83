use base64::Engine as _;
use serde_json::json;
use steward_store::rows::KeyRole;

use super::helpers::error_of;
use crate::on_every_backend;

on_every_backend!(every_header_form_and_clear_401s, |app| {
    let url = app.url("/resources/accounts");
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{}:", app.key));
    for header in [
        format!("Basic {b64}"),
        format!("Basic {}", app.key),
        format!("Bearer {}", app.key),
    ] {
        let resp = app
            .client
            .get(&url)
            .header("Authorization", header.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{header}");
    }
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(body["message"], "Authorization header not present.");
    let resp = app
        .client
        .get(&url)
        .header("Authorization", "Bearer stw_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
});

on_every_backend!(read_only_keys_cannot_write, |app| {
    let reader = app.other_workspace_key("acme", KeyRole::Read).await;
    let (status, _) = app
        .send_as(&reader, reqwest::Method::GET, "/resources/accounts", None)
        .await;
    assert_eq!(status, 200);
    let (status, err) = app
        .send_as(
            &reader,
            reqwest::Method::POST,
            "/resources/accounts",
            Some(json!({"externalId": "a", "name": "A"})),
        )
        .await;
    assert_eq!((status, error_of(&err).0), (403, "forbidden"));
    assert_eq!(app.get("/resources/accounts/a").await.0, 404);
});

on_every_backend!(workspaces_are_isolated, |app| {
    let org = app
        .ok_post(
            "/resources/organizations",
            json!({"externalId": "shared-ext", "name": "Mine"}),
        )
        .await;
    let account = app
        .ok_post(
            "/resources/accounts",
            json!({"externalId": "acct", "name": "Mine", "organizationId": "shared-ext"}),
        )
        .await;
    let other = app
        .other_workspace_key("globex-sandbox", KeyRole::Admin)
        .await;
    let get = |path: String| {
        let other = other.clone();
        let app = &app;
        async move { app.send_as(&other, reqwest::Method::GET, &path, None).await }
    };
    for path in [
        format!("/resources/organizations/{}", org["id"].as_str().unwrap()),
        "/resources/organizations/shared-ext".to_owned(),
        format!("/resources/accounts/{}", account["id"].as_str().unwrap()),
        "/resources/organizations/shared-ext/accounts".to_owned(),
    ] {
        assert_eq!(get(path.clone()).await.0, 404, "{path}");
    }
    let list = get("/resources/accounts".to_owned()).await.1;
    assert_eq!(list["results"], json!([]));
    // Writes cannot reach across either: the same external id makes a separate record.
    let (status, _) = app
        .send_as(
            &other,
            reqwest::Method::PUT,
            "/resources/accounts/acct",
            Some(json!({"name": "Theirs"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, theirs) = app
        .send_as(
            &other,
            reqwest::Method::POST,
            "/resources/organizations",
            Some(json!({"externalId": "shared-ext", "name": "Theirs"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(theirs["id"], org["id"]);
    assert_eq!(
        app.ok_get("/resources/organizations/shared-ext").await["name"],
        "Mine"
    );
    // A reference to another workspace's record is unknown.
    let (status, err) = app
        .send_as(
            &other,
            reqwest::Method::POST,
            "/resources/accounts",
            Some(json!({"externalId": "x", "name": "X", "organizationId": org["id"]})),
        )
        .await;
    assert_eq!((status, error_of(&err).0), (400, "invalid_reference"));
    assert_eq!(
        app.send_as(
            &other,
            reqwest::Method::DELETE,
            "/resources/accounts/acct",
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(app.get("/resources/accounts/acct").await.0, 200);
});

#[tokio::test]
async fn beyond_the_rate_limit_answers_429_with_retry_after() {
    use std::sync::Arc;
    let backend = steward_store::test_support::Backend::Sqlite;
    let store = steward_store::test_support::fresh(backend).await;
    let clock = steward_engine::FixedClock::at(super::helpers::START);
    let mut config = steward_server::ServerConfig::new(store.store.clone(), Arc::new(clock));
    config.rate_limit_per_minute = Some(5);
    let state = steward_server::build_state(config).await.unwrap();
    let ws =
        steward_server::keys::find_or_create_workspace(&state.store, "acme", super::helpers::START)
            .await
            .unwrap();
    steward_server::keys::register_key(
        &state.store,
        &ws,
        "stw_limited",
        None,
        KeyRole::Admin,
        super::helpers::START,
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/resources/accounts",
        listener.local_addr().unwrap()
    );
    tokio::spawn(steward_server::launch_with_tcp_listener(
        state,
        listener,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    for _ in 0..5 {
        assert_eq!(
            client
                .get(&url)
                .bearer_auth("stw_limited")
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let resp = client
        .get(&url)
        .bearer_auth("stw_limited")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
}
