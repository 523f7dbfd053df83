use std::io::Write as _;

use serde_json::{Value, json};

use super::helpers::{TestApp, error_of};
use crate::on_every_backend;

const DAY: i64 = 86_400_000;

impl TestApp {
    /// POST raw JSON to an ingestion path with the app's key; returns status and body.
    pub async fn ingest(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub fn iso_days_ago(&self, days: i64) -> String {
        use steward_engine::Clock;
        steward_engine::time::Millis(self.clock.now().0 - days * DAY).to_iso()
    }
}

fn segment_batch(app: &TestApp) -> Value {
    let now = app.iso_days_ago(0);
    json!({
        "batch": [
            {"type": "identify", "userId": "user-42", "messageId": "m-identify", "timestamp": now,
             "traits": {"name": "Ada Lovelace", "email": "ada@example.com", "createdAt": "2024-01-01T00:00:00Z", "plan": "pro"},
             "context": {"library": {"name": "analytics-python", "version": "2.4.0"}}, "integrations": {}, "anonymousId": null},
            {"type": "group", "userId": "user-42", "groupId": "acct-7", "messageId": "m-group", "timestamp": now,
             "traits": {"name": "Acme Inc", "plan": "enterprise", "mrr": 1200}},
            {"type": "track", "userId": "user-42", "event": "Report Exported", "messageId": "m-track-1", "timestamp": now,
             "properties": {"format": "csv", "rows": 120}, "context": {"groupId": "acct-7"}},
            {"type": "track", "userId": "user-42", "event": "Report Exported", "messageId": "m-track-2", "timestamp": app.iso_days_ago(2),
             "properties": {"format": "pdf"}},
            {"type": "page", "userId": "user-42", "name": "Getting Started", "messageId": "m-page", "timestamp": now, "properties": {"url": "https://example.com"}},
            {"type": "alias", "userId": "user-42", "previousId": "anon-1", "messageId": "m-alias"}
        ],
        "sentAt": now,
        "writeKey": "ignored-when-a-header-is-sent"
    })
}

on_every_backend!(segment_batch_maps_to_records_events_and_metrics, |app| {
    let (status, body) = app.ingest("/v1/batch", segment_batch(&app)).await;
    assert_eq!((status, &body), (200, &json!({"success": true})));

    let user = app.ok_get("/resources/users/user-42").await;
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["joinDate"], "2024-01-01T00:00:00.000Z");
    assert_eq!(user["traits"], json!({"plan": "pro"}));
    assert_eq!(user["accountIds"].as_array().unwrap().len(), 1);
    assert_eq!(user["lastSeenTimestamp"], "2026-01-01T00:00:00.000Z");
    let account = app.ok_get("/resources/accounts/acct-7").await;
    assert_eq!(account["name"], "Acme Inc");
    assert_eq!(
        account["traits"],
        json!({"plan": "enterprise", "mrr": 1200})
    );
    assert_eq!(account["usersCount"], 1);
    assert_eq!(account["lastSeenTimestamp"], "2026-01-01T00:00:00.000Z");
    assert_eq!(
        account["firstSeenTimestamp"],
        app.iso_days_ago(2).replace("+00:00", "Z")
    );

    // The event log, newest first.
    let events = app.ok_get("/resources/users/user-42/events").await;
    let list = events["results"].as_array().unwrap();
    assert_eq!(list.len(), 3, "two tracks and a page: {events}");
    assert!(list.iter().all(|e| e["userId"] == user["id"]));
    let exported: Vec<&Value> = list
        .iter()
        .filter(|e| e["event"] == "Report Exported")
        .collect();
    assert_eq!(exported.len(), 2);
    assert_eq!(
        exported[0]["properties"],
        json!({"format": "csv", "rows": 120})
    );
    assert_eq!(exported[0]["accountId"], account["id"]);
    // The second track named no account: it went to the user's most recent account.
    assert_eq!(exported[1]["accountId"], account["id"]);
    assert_eq!(
        app.ok_get("/resources/accounts/acct-7/events?limit=1")
            .await["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let metrics = app.ok_get("/resources/accounts/acct-7/metrics").await;
    assert_eq!(metrics["events"]["Report Exported"]["total"], 2);
    assert_eq!(metrics["events"]["Report Exported"]["last30Days"], 2);
    assert_eq!(metrics["events"]["Report Exported"]["previous30Days"], 0);
    assert!(
        metrics["events"].get("Getting Started").is_none(),
        "page views are activity, not product events"
    );
    assert_eq!(metrics["activeUsersShareLast30Days"], 1.0);
    let user_metrics = app.ok_get("/resources/users/user-42/metrics").await;
    assert_eq!(user_metrics["sessions"], 2, "two distinct active days");

    // A replay changes nothing.
    let before = (
        app.ok_get("/resources/accounts/acct-7").await,
        app.walk("/resources/users/user-42/events", 100).await,
    );
    let (status, _) = app.ingest("/v1/batch", segment_batch(&app)).await;
    assert_eq!(status, 200);
    let after = (
        app.ok_get("/resources/accounts/acct-7").await,
        app.walk("/resources/users/user-42/events", 100).await,
    );
    assert_eq!(before, after);
});

on_every_backend!(write_key_in_body_gzip_and_limits, |app| {
    // No Authorization header: the body's writeKey.
    let body = json!({"batch": [{"type": "track", "userId": "u1", "event": "Login", "messageId": "k1"}], "writeKey": app.key});
    let resp = app
        .client
        .post(app.url("/v1/batch"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .post(app.url("/v1/batch"))
        .json(&json!({"batch": [], "writeKey": "stw_nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.unwrap();
    assert!(
        err["code"].is_string() && err["message"].is_string(),
        "{err}"
    );

    // gzip.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        json!({"batch": [{"type": "track", "userId": "u1", "event": "Zipped", "messageId": "k2"}]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let resp = app
        .client
        .post(app.url("/v1/batch"))
        .basic_auth(&app.key, Some(""))
        .header("Content-Encoding", "gzip")
        .header("Content-Type", "application/json")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.ok_get("/resources/users/u1/metrics").await["events"]["Zipped"]["total"],
        1
    );

    // 32 KB a message, 500 KB a request.
    let big = "x".repeat(33 * 1024);
    let (status, err) = app.ingest("/v1/batch", json!({"batch": [{"type": "track", "userId": "u1", "event": "Big", "properties": {"blob": big}}]})).await;
    assert_eq!(
        (status, error_of(&err)),
        (413, ("payload_too_large", Some("batch[0]")))
    );
    let many: Vec<Value> = (0..20).map(|i| json!({"type": "track", "userId": "u1", "event": "E", "messageId": format!("b{i}"), "properties": {"pad": "y".repeat(30_000)}})).collect();
    let (status, _) = app.ingest("/v1/batch", json!({"batch": many})).await;
    assert_eq!(status, 413);

    // A bad message refuses the whole request: nothing of it is written.
    let (status, err) = app
        .ingest(
            "/v1/batch",
            json!({"batch": [
                {"type": "track", "userId": "u2", "event": "Fine", "messageId": "ok-1"},
                {"type": "track", "userId": "u2", "messageId": "bad-1"}
            ]}),
        )
        .await;
    assert_eq!(
        (status, error_of(&err)),
        (400, ("missing_field", Some("batch[1].event")))
    );
    assert_eq!(app.get("/resources/users/u2").await.0, 404);
    let resp = app
        .client
        .post(app.url("/v1/batch"))
        .basic_auth(&app.key, Some(""))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
});

on_every_backend!(vitally_analytics_api, |app| {
    let ts = app.iso_days_ago(0);
    let ok = json!({"message": "Success."});
    assert_eq!(app.ingest("/analytics/v1/organization", json!({"organizationId": "org-1", "traits": {"name": "World Cup", "sport": "futbol"}, "timestamp": ts})).await, (200, ok.clone()));
    // An account naming an organization that does not exist creates it (referenced parents).
    assert_eq!(app.ingest("/analytics/v1/account", json!({"accountId": 123456, "organizationId": "org-2", "traits": {"name": "Argentina"}, "messageId": "a1"})).await.0, 200);
    assert_eq!(
        app.ok_get("/resources/organizations/org-2").await["accountsCount"],
        1
    );
    assert_eq!(
        app.ok_get("/resources/accounts/123456").await["name"],
        "Argentina"
    );
    assert_eq!(app.ingest("/analytics/v1/user", json!({"userId": "32", "accountId": "123456", "traits": {"name": "Lionel", "number": 10}, "messageId": "u1"})).await.0, 200);
    assert_eq!(
        app.ok_get("/resources/users/32").await["traits"]["number"],
        10
    );
    assert_eq!(
        app.ok_get("/resources/accounts/123456").await["usersCount"],
        1
    );

    // A batch is a bare array of typed messages.
    let (status, _) = app.ingest("/analytics/v1/batch", json!([
        {"type": "track", "userId": "32", "event": "scored-goal", "properties": {"minute": "34"}, "messageId": "t1", "timestamp": ts},
        {"type": "track", "accountId": "new-acct", "event": "seat-added", "properties": {}, "messageId": "t2"},
        {"type": "user", "userId": "33", "organizationId": "org-1", "traits": {}, "messageId": "u2"}
    ])).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.ok_get("/resources/accounts/123456/metrics").await["events"]["scored-goal"]["total"],
        1
    );
    assert_eq!(
        app.ok_get("/resources/organizations/org-2/metrics").await["events"]["scored-goal"]["total"],
        1,
        "an organization sums its accounts"
    );
    assert_eq!(
        app.ok_get("/resources/accounts/new-acct").await["externalId"],
        "new-acct"
    );
    assert_eq!(
        app.ok_get("/resources/organizations/org-1").await["usersCount"],
        1
    );

    // unlink.
    assert_eq!(
        app.ingest(
            "/analytics/v1/unlink",
            json!({"userId": "32", "accountId": "123456", "messageId": "x1"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.ok_get("/resources/accounts/123456").await["usersCount"],
        0
    );

    // Errors.
    let (status, err) = app
        .ingest("/analytics/v1/track", json!({"userId": "32", "event": "e"}))
        .await;
    assert_eq!(
        (status, error_of(&err).1),
        (400, Some("messageId")),
        "timestamp or messageId is required"
    );
    let (status, err) = app
        .ingest(
            "/analytics/v1/user",
            json!({"userId": "34", "traits": {}, "messageId": "q"}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("accountId")));
    let (status, err) = app.ingest("/analytics/v1/batch", json!([{"type": "track", "userId": "1", "event": "e", "messageId": "z", "timestamp": "yesterday"}])).await;
    assert_eq!((status, error_of(&err).1), (400, Some("[0].timestamp")));
    let too_many: Vec<Value> = (0..101)
        .map(
            |i| json!({"type": "track", "userId": "1", "event": "e", "messageId": format!("n{i}")}),
        )
        .collect();
    assert_eq!(
        app.ingest("/analytics/v1/batch", Value::Array(too_many))
            .await
            .0,
        413
    );
    // An instance needs a parent account or organization.
    let (status, err) = app
        .ingest(
            "/analytics/v1/customobjectinstance",
            json!({"externalId": "x", "customObjectId": "y", "traits": {}, "messageId": "c"}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("accountId")));
    assert_eq!(
        app.ingest("/analytics/v1/planet", json!({"messageId": "p"}))
            .await
            .0,
        400
    );
});

on_every_backend!(late_events_and_windows_that_move_with_time, |app| {
    use steward_engine::Clock;
    let track = |id: &str, days_ago: i64| json!({"type": "track", "userId": "u", "event": "Login", "messageId": id, "timestamp": app.iso_days_ago(days_ago), "context": {"groupId": "a"}});
    let (status, _) = app
        .ingest(
            "/v1/batch",
            json!({"batch": [track("e1", 0), track("e2", 1), track("e3", 45), track("e4", 75)]}),
        )
        .await;
    assert_eq!(status, 200);
    let stats = |m: &Value| {
        (
            m["events"]["Login"]["total"].as_u64().unwrap(),
            m["events"]["Login"]["last30Days"].as_u64().unwrap(),
            m["events"]["Login"]["previous30Days"].as_u64().unwrap(),
        )
    };
    assert_eq!(
        stats(&app.ok_get("/resources/accounts/a/metrics").await),
        (4, 2, 1)
    );
    // A late event, out of order.
    app.ingest("/v1/batch", json!({"batch": [track("e5", 10)]}))
        .await;
    assert_eq!(
        stats(&app.ok_get("/resources/accounts/a/metrics").await),
        (5, 3, 1)
    );
    assert_eq!(
        app.ok_get("/resources/users/u/metrics").await["sessions"],
        5
    );
    // 31 days on, with no new event: the windows have moved.
    app.clock
        .set(steward_engine::time::Millis(app.clock.now().0 + 31 * DAY));
    let m = app.ok_get("/resources/accounts/a/metrics").await;
    assert_eq!(stats(&m), (5, 0, 3));
    assert!(
        m["activeUsersShareLast30Days"].is_null(),
        "a track does not link its user to the account"
    );
    let user = app.ok_get("/resources/users/u/metrics").await;
    assert_eq!(user["events"]["Login"]["last30Days"], 0);
});

on_every_backend!(
    identify_company_remove_unlinks_and_restart_rebuilds_metrics,
    |app| {
        let (status, _) = app.ingest("/v1/batch", json!({"batch": [
        {"type": "group", "userId": "u", "groupId": "g1", "traits": {"name": "G1"}, "messageId": "1"},
        {"type": "group", "userId": "u", "groupId": "g2", "traits": {"name": "G2"}, "messageId": "2"},
        {"type": "track", "userId": "u", "event": "Ping", "messageId": "3", "context": {"groupId": "g1"}},
        {"type": "identify", "userId": "u", "traits": {"company": {"id": "g1", "remove": true}}, "messageId": "4"}
    ]})).await;
        assert_eq!(status, 200);
        assert_eq!(
            app.ok_get("/resources/users/u").await["accountIds"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(app.ok_get("/resources/accounts/g1").await["usersCount"], 0);

        // The engine rebuilt from the store reports the same metrics.
        let before = app.ok_get("/resources/accounts/g1/metrics").await;
        let rebuilt = app.restarted_state().await;
        let ws = app.workspace_id().await;
        let account = app
            .state
            .store
            .find_account(ws, &steward_store::write::RecordRef("g1".into()))
            .await
            .unwrap()
            .unwrap()
            .id;
        use steward_engine::Clock;
        let engine = rebuilt.engine().await;
        let m = engine.metrics(ws).unwrap().account(
            account,
            engine.graph(ws).unwrap(),
            app.clock.now(),
        );
        assert_eq!(m.events.len(), 1);
        assert_eq!(
            m.events[0].1.total,
            before["events"]["Ping"]["total"].as_u64().unwrap()
        );
    }
);

on_every_backend!(a_message_id_repeated_within_a_request_counts_once, |app| {
    let track = json!({"type": "track", "userId": "u", "event": "Twice", "messageId": "same", "context": {"groupId": "a"}});
    let (status, _) = app
        .ingest("/v1/batch", json!({"batch": [track.clone(), track.clone(), {"type": "track", "userId": "u", "event": "Twice", "messageId": "other"}]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.ok_get("/resources/users/u/metrics").await["events"]["Twice"]["total"],
        2
    );
    assert_eq!(app.walk("/resources/accounts/a/events", 10).await.len(), 1);
});

on_every_backend!(
    concurrent_batches_through_many_index_flushes_list_every_event_once,
    |app| {
        // A flush every few events: flushing batches overlap the next ones in the writer.
        app.state.store.set_event_index_flush_at(5);
        let senders = (0..8).map(|client| {
            let app_client = app.client.clone();
            let (url, key) = (app.url("/v1/batch"), app.key.clone());
            tokio::spawn(async move {
                for request in 0..6 {
                    let batch: Vec<Value> = (0..5)
                        .map(|i| {
                            json!({"type": "track", "userId": format!("u{client}"), "event": "Flushed",
                                   "messageId": format!("{client}-{request}-{i}"), "context": {"groupId": "a"}})
                        })
                        .collect();
                    let response = app_client
                        .post(&url)
                        .bearer_auth(&key)
                        .json(&json!({ "batch": batch }))
                        .send()
                        .await
                        .expect("send");
                    assert_eq!(response.status(), 200, "{:?}", response.text().await);
                }
            })
        });
        for sender in senders.collect::<Vec<_>>() {
            sender.await.expect("sender");
        }
        let events = app.walk("/resources/accounts/a/events", 100).await;
        let ids: std::collections::HashSet<&str> =
            events.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!((events.len(), ids.len()), (240, 240));
        assert_eq!(app.walk("/resources/users/u3/events", 100).await.len(), 30);
    }
);
