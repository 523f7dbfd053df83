use serde_json::Value;

use crate::on_every_backend;

/// Every route the server has: the OpenAPI document must describe each one.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/openapi.json"),
    ("get", "/resources/organizations"),
    ("post", "/resources/organizations"),
    ("get", "/resources/organizations/{id}"),
    ("put", "/resources/organizations/{id}"),
    ("patch", "/resources/organizations/{id}"),
    ("delete", "/resources/organizations/{id}"),
    ("get", "/resources/organizations/{id}/accounts"),
    ("get", "/resources/organizations/{id}/users"),
    ("get", "/resources/accounts"),
    ("post", "/resources/accounts"),
    ("get", "/resources/accounts/{id}"),
    ("put", "/resources/accounts/{id}"),
    ("patch", "/resources/accounts/{id}"),
    ("delete", "/resources/accounts/{id}"),
    ("get", "/resources/accounts/{id}/users"),
    ("get", "/resources/users"),
    ("post", "/resources/users"),
    ("get", "/resources/users/search"),
    ("get", "/resources/users/{id}"),
    ("put", "/resources/users/{id}"),
    ("patch", "/resources/users/{id}"),
    ("delete", "/resources/users/{id}"),
    ("get", "/resources/admins"),
    ("post", "/resources/admins"),
    ("get", "/resources/admins/search"),
    ("get", "/resources/admins/{id}"),
    ("put", "/resources/admins/{id}"),
    ("patch", "/resources/admins/{id}"),
    ("delete", "/resources/admins/{id}"),
    ("get", "/resources/customFields"),
    ("post", "/resources/customFields"),
    ("get", "/resources/customFields/{id}"),
    ("put", "/resources/customFields/{id}"),
    ("patch", "/resources/customFields/{id}"),
    ("delete", "/resources/customFields/{id}"),
    ("get", "/resources/customObjects"),
    ("post", "/resources/customObjects"),
    ("get", "/resources/customObjects/{id}"),
    ("put", "/resources/customObjects/{id}"),
    ("patch", "/resources/customObjects/{id}"),
    ("delete", "/resources/customObjects/{id}"),
    ("get", "/resources/customObjects/{id}/instances"),
    ("post", "/resources/customObjects/{id}/instances"),
    ("get", "/resources/customObjects/{id}/instances/search"),
    (
        "get",
        "/resources/customObjects/{id}/instances/{instanceId}",
    ),
    (
        "put",
        "/resources/customObjects/{id}/instances/{instanceId}",
    ),
    (
        "patch",
        "/resources/customObjects/{id}/instances/{instanceId}",
    ),
    (
        "delete",
        "/resources/customObjects/{id}/instances/{instanceId}",
    ),
    (
        "get",
        "/resources/accounts/{id}/customObjects/{objectId}/instances",
    ),
    (
        "get",
        "/resources/organizations/{id}/customObjects/{objectId}/instances",
    ),
    ("get", "/resources/keyRoles"),
    ("post", "/resources/keyRoles"),
    ("delete", "/resources/keyRoles/{key}"),
    ("get", "/resources/config/roles"),
    ("put", "/resources/config/roles"),
    ("get", "/resources/importFilters"),
    ("get", "/resources/importFilters/{source}"),
    ("put", "/resources/importFilters/{source}"),
    ("delete", "/resources/importFilters/{source}"),
    ("get", "/resources/apiKeys"),
    ("get", "/resources/config"),
    ("put", "/resources/config"),
    ("post", "/resources/config/reprocess"),
    ("get", "/resources/accounts/{id}/statusHistory"),
    ("get", "/resources/organizations/{id}/statusHistory"),
    ("get", "/resources/users/{id}/events"),
    ("get", "/resources/accounts/{id}/events"),
    ("get", "/resources/organizations/{id}/events"),
    ("get", "/resources/users/{id}/metrics"),
    ("get", "/resources/accounts/{id}/metrics"),
    ("get", "/resources/organizations/{id}/metrics"),
    ("post", "/v1/batch"),
    ("post", "/v1/identify"),
    ("post", "/v1/group"),
    ("post", "/v1/track"),
    ("post", "/v1/page"),
    ("post", "/v1/screen"),
    ("post", "/v1/alias"),
    ("post", "/analytics/v1/organization"),
    ("post", "/analytics/v1/account"),
    ("post", "/analytics/v1/user"),
    ("post", "/analytics/v1/track"),
    ("post", "/analytics/v1/unlink"),
    ("post", "/analytics/v1/customobjectinstance"),
    ("post", "/analytics/v1/batch"),
    ("get", "/resources/conversations"),
    ("post", "/resources/conversations"),
    ("get", "/resources/conversations/{id}"),
    ("put", "/resources/conversations/{id}"),
    ("delete", "/resources/conversations/{id}"),
    ("get", "/resources/conversations/{id}/messages"),
    ("post", "/resources/conversations/{id}/messages"),
    ("get", "/resources/messages/{id}"),
    ("delete", "/resources/messages/{id}"),
    ("get", "/resources/accounts/{id}/conversations"),
    ("get", "/resources/organizations/{id}/conversations"),
];

on_every_backend!(
    openapi_describes_every_route_and_every_route_exists,
    |app| {
        let resp = app
            .client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let doc: Value = resp.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        for (method, path) in ROUTES {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "openapi.json lacks {method} {path}"
            );
            // The route exists: it answers something other than the not-found fallback.
            let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
            let req = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                .basic_auth(&app.key, Some(""))
                .json(&serde_json::json!({}));
            let body: Value = req
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap_or(Value::Null);
            assert_ne!(
                body["message"], "no such endpoint; see /openapi.json",
                "{method} {path} is not routed"
            );
        }
        let described: usize = paths
            .values()
            .map(|p| {
                p.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                    .count()
            })
            .sum();
        assert_eq!(
            described,
            ROUTES.len(),
            "openapi.json describes a route the server does not have"
        );
    }
);

on_every_backend!(healthz, |app| {
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
});

/// The writer opens the visibility gate once a batch is in the engine, before its fsync ends;
/// the engine is then read only once every commit it holds is durable (SQLite on a file, where
/// commits are synced beside the writer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_is_read_once_what_it_holds_is_durable() {
    use steward_engine::domain::{ExternalId, TraitPatch};
    use steward_store::write::{OrganizationFields, Write};

    let app = crate::api::helpers::spawn(steward_store::test_support::Backend::Sqlite).await;
    let store = &app.state.store;
    let ws = app.workspace_id().await;
    let write = Write::UpsertOrganization {
        external_id: ExternalId::parse("externalId", "o").unwrap(),
        fields: OrganizationFields {
            name: None,
            traits: TraitPatch::from_json("traits", &serde_json::json!({})).unwrap(),
        },
    };
    let (pending, results) = store
        .begin_batch(crate::api::helpers::START, &[(ws, write)])
        .await
        .unwrap();
    assert!(results[0].is_ok());
    let before = store.wal_syncs();
    let durable = pending.commit_visible().await.unwrap();
    let engine = app.state.engine().await;
    assert!(
        store.wal_syncs() > before,
        "the engine was read before the commit was synced"
    );
    drop(engine);
    durable.wait().await;
}
