//! Conversations and messages over HTTP: recording, updating, listing and deleting them; the
//! last inbound / outbound message they give users, accounts and organizations; rules reading
//! `owner.lastInboundMessageTimestamp`; errors; workspaces; a restart.

use serde_json::{Value, json};
use steward_engine::time::Millis;
use steward_store::rows::KeyRole;

use super::helpers::{START, TestApp, error_of};
use crate::on_every_backend;

const DAY: i64 = 86_400_000;

fn iso(ms: i64) -> String {
    Millis(START.0 + ms).to_iso()
}

fn user(id: &str) -> Value {
    json!({"type": "user", "id": id})
}

fn admin(id: &str) -> Value {
    json!({"type": "admin", "id": id})
}

fn message(external: &str, from: Value, to: Vec<Value>, at: Option<i64>) -> Value {
    let mut m = json!({"externalId": external, "message": format!("<p>{external}</p>"), "from": from, "to": to});
    if let Some(at) = at {
        m["timestamp"] = json!(iso(at));
    }
    m
}

/// Organization o1 holds account a1 (users u1, u2); u3 belongs nowhere; team member Ann.
/// Answers Ann's id.
async fn hierarchy(app: &TestApp) -> String {
    app.ok_post(
        "/resources/organizations",
        json!({"externalId": "o1", "name": "O"}),
    )
    .await;
    app.ok_post(
        "/resources/accounts",
        json!({"externalId": "a1", "name": "A", "organizationId": "o1"}),
    )
    .await;
    for (u, accounts) in [
        ("u1", json!(["a1"])),
        ("u2", json!(["a1"])),
        ("u3", json!([])),
    ] {
        app.ok_post(
            "/resources/users",
            json!({"externalId": u, "name": u, "accountIds": accounts}),
        )
        .await;
    }
    let ann = app
        .ok_post(
            "/resources/admins",
            json!({"name": "Ann", "email": "ann@team.example"}),
        )
        .await;
    ann["id"].as_str().unwrap().to_owned()
}

/// A second server state built from the same storage (what a restart does), with the
/// workspace and account `a1` it finds.
async fn restarted(
    app: &TestApp,
) -> (
    steward_server::AppState,
    steward_engine::ids::WorkspaceId,
    steward_engine::ids::AccountId,
) {
    let rebuilt = app.restarted_state().await;
    let ws = app.workspace_id().await;
    let a1 = id_of(app, "/resources/accounts/a1").await.parse().unwrap();
    (rebuilt, ws, a1)
}

async fn id_of(app: &TestApp, path: &str) -> String {
    app.ok_get(path).await["id"].as_str().unwrap().to_owned()
}

on_every_backend!(
    conversations_and_messages_are_recorded_listed_and_deleted,
    |app| {
        let ann = hierarchy(&app).await;
        let (u1, u2) = (
            id_of(&app, "/resources/users/u1").await,
            id_of(&app, "/resources/users/u2").await,
        );
        let a1 = id_of(&app, "/resources/accounts/a1").await;
        let mut reply = message(
            "m2",
            admin("ann@team.example"),
            vec![user("u1")],
            Some(2_000),
        );
        reply["cc"] = json!([user(&u2)]);
        let c = app
            .ok_post(
                "/resources/conversations",
                json!({"externalId": "c1", "subject": "Renewal", "traits": {"channel": "email"},
                   "messages": [message("m1", user("u1"), vec![admin(&ann)], Some(1_000)), reply]}),
            )
            .await;
        let b = app.backend_name();
        assert_eq!(c["subject"], "Renewal", "{b}: {c}");
        assert_eq!(
            (
                c["status"].clone(),
                c["rating"].clone(),
                c["source"].clone()
            ),
            (json!("open"), Value::Null, json!("api"))
        );
        assert_eq!(c["accounts"], json!([a1]));
        let mut users = vec![u1.clone(), u2.clone()];
        users.sort();
        assert_eq!(c["users"], json!(users));
        assert_eq!(c["admins"], json!([ann]));
        let messages = c["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        let m1 = &messages[0];
        assert_eq!(
            (m1["type"].clone(), m1["externalId"].clone()),
            (json!("inbound"), json!("m1"))
        );
        assert_eq!(
            m1["from"],
            json!({"type": "user", "id": u1}),
            "participants answer Steward ids"
        );
        assert_eq!(m1["timestamp"], json!(iso(1_000)));
        assert_eq!(m1["conversationId"], c["id"]);
        assert_eq!(
            (messages[1]["type"].clone(), messages[1]["cc"].clone()),
            (json!("outbound"), json!([{"type": "user", "id": u2}]))
        );

        // By id and by externalId alike; lists leave messages out.
        assert_eq!(app.ok_get("/resources/conversations/c1").await, c);
        assert_eq!(
            app.ok_get(&format!(
                "/resources/conversations/{}",
                c["id"].as_str().unwrap()
            ))
            .await,
            c
        );
        let listed = app.ok_get("/resources/conversations").await;
        assert_eq!(listed["results"].as_array().unwrap().len(), 1);
        assert!(listed["results"][0].get("messages").is_none(), "{listed}");
        for path in [
            "/resources/accounts/a1/conversations",
            "/resources/organizations/o1/conversations",
        ] {
            assert_eq!(
                app.ok_get(path).await["results"][0]["externalId"],
                "c1",
                "{path}"
            );
        }
        assert_eq!(
            app.ok_get("/resources/organizations/o1/conversations?limit=1")
                .await["next"],
            Value::Null
        );

        // Messages on their own.
        let m3 = app
            .ok_post(
                "/resources/conversations/c1/messages",
                message("m3", user("u3"), vec![admin(&ann)], None),
            )
            .await;
        assert_eq!(
            (m3["type"].clone(), m3["timestamp"].clone()),
            (json!("inbound"), json!(START.to_iso())),
            "{m3}"
        );
        assert_eq!(app.ok_get("/resources/messages/m3").await, m3);
        let walked = app
            .walk("/resources/conversations/c1/messages?sortBy=createdAt", 1)
            .await;
        assert_eq!(walked.len(), 3);
        let c = app.ok_get("/resources/conversations/c1").await;
        assert_eq!(c["users"].as_array().unwrap().len(), 3);
        let (status, body) = app
            .delete(&format!(
                "/resources/messages/{}",
                m3["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!((status, body["deleted"].clone()), (200, json!(true)));
        assert_eq!(app.get("/resources/messages/m3").await.0, 404);

        // PUT replaces the messages; the others go.
        let put = app
        .put("/resources/conversations/c1", json!({"subject": "Re: Renewal", "messages": [message("m1", user("u1"), vec![], Some(500))]}))
        .await;
        assert_eq!(put.0, 200, "{}", put.1);
        assert_eq!(put.1["messages"].as_array().unwrap().len(), 1);
        assert_eq!(put.1["messages"][0]["id"], messages[0]["id"], "kept its id");
        assert_eq!(app.get("/resources/messages/m2").await.0, 404);

        // DELETE takes the messages along.
        assert_eq!(app.delete("/resources/conversations/c1").await.0, 200);
        assert_eq!(app.get("/resources/conversations/c1").await.0, 404);
        assert_eq!(app.get("/resources/messages/m1").await.0, 404);
        assert_eq!(
            app.ok_get("/resources/accounts/a1/conversations").await["results"],
            json!([])
        );
    }
);

on_every_backend!(conversation_lists_are_paged_and_per_workspace, |app| {
    hierarchy(&app).await;
    for i in 0..5 {
        app.clock.advance_ms(1);
        app.ok_post(
            "/resources/conversations",
            json!({"externalId": format!("c{i}"), "subject": "S", "messages": [message(&format!("m{i}"), user("u1"), vec![], None)]}),
        )
        .await;
    }
    let ids = |rows: Vec<Value>| {
        rows.iter()
            .map(|r| r["externalId"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(app.walk("/resources/conversations", 2).await),
        ["c4", "c3", "c2", "c1", "c0"]
    );
    assert_eq!(
        ids(app
            .walk("/resources/accounts/a1/conversations?sortBy=createdAt", 2)
            .await)
        .len(),
        5
    );
    let (status, body) = app.get("/resources/conversations?limit=0").await;
    assert_eq!((status, error_of(&body).1), (400, Some("limit")));

    let other = app.other_workspace_key("other", KeyRole::Admin).await;
    let (status, _) = app
        .send_as(
            &other,
            reqwest::Method::GET,
            "/resources/conversations/c1",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, listed) = app
        .send_as(
            &other,
            reqwest::Method::GET,
            "/resources/conversations",
            None,
        )
        .await;
    assert_eq!(listed["results"], json!([]));
    let (status, _) = app
        .send_as(&other, reqwest::Method::GET, "/resources/messages/m1", None)
        .await;
    assert_eq!(status, 404);
    // This workspace's users are nobody there.
    let (status, body) = app
        .send_as(&other, reqwest::Method::POST, "/resources/conversations",
            Some(json!({"externalId": "c1", "subject": "S", "messages": [message("m1", user("u1"), vec![], None)]})))
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (400, ("invalid_reference", Some("messages[0].from.id")))
    );
    let reader = app.other_workspace_key("acme", KeyRole::Read).await;
    let (status, _) = app
        .send_as(
            &reader,
            reqwest::Method::DELETE,
            "/resources/conversations/c1",
            None,
        )
        .await;
    assert_eq!(status, 403);
});

on_every_backend!(bad_conversations_are_refused_naming_the_field, |app| {
    hierarchy(&app).await;
    let ok_message = message("m1", user("u1"), vec![], None);
    let cases = [
        (
            json!({"subject": "S", "messages": []}),
            "missing_field",
            "externalId",
        ),
        (
            json!({"externalId": "c1", "messages": []}),
            "missing_field",
            "subject",
        ),
        (
            json!({"externalId": "c1", "subject": "S"}),
            "missing_field",
            "messages",
        ),
        (
            json!({"externalId": "c1", "subject": ["S"], "messages": []}),
            "invalid_field",
            "subject",
        ),
        (
            json!({"externalId": "c1", "subject": "S", "messages": {}}),
            "invalid_field",
            "messages",
        ),
        (
            json!({"externalId": "c1", "subject": "S", "messages": [ok_message.clone(), {"externalId": "m2", "from": user("u1"), "to": []}]}),
            "missing_field",
            "messages[1].message",
        ),
        (
            json!({"externalId": "c1", "subject": "S", "messages": [{"externalId": "m2", "message": "x", "from": {"type": "bot", "id": "x"}, "to": []}]}),
            "invalid_field",
            "messages[0].from.type",
        ),
        (
            json!({"externalId": "c1", "subject": "S", "messages": [message("m2", user("u1"), vec![user("ghost")], None)]}),
            "invalid_reference",
            "messages[0].to[0].id",
        ),
        (
            json!({"externalId": "c1", "subject": "S", "messages": [message("m2", admin("ghost@team.example"), vec![], None)]}),
            "invalid_reference",
            "messages[0].from.id",
        ),
        (
            json!({"externalId": "c1", "subject": "S", "messages": [ok_message.clone(), ok_message.clone()]}),
            "invalid_field",
            "messages[1].externalId",
        ),
    ];
    for (body, code, field) in cases {
        let (status, answer) = app.post("/resources/conversations", body.clone()).await;
        assert_eq!(
            (status, error_of(&answer)),
            (400, (code, Some(field))),
            "{body} -> {answer}"
        );
    }
    assert_eq!(
        app.ok_get("/resources/conversations").await["results"],
        json!([]),
        "nothing written"
    );
    app.ok_post(
        "/resources/conversations",
        json!({"externalId": "c1", "subject": "S", "messages": [ok_message.clone()]}),
    )
    .await;
    let (status, answer) = app
        .put("/resources/conversations/c1", json!({"subject": "S"}))
        .await;
    assert_eq!((status, error_of(&answer).1), (400, Some("messages")));
    let (status, answer) = app
        .put(
            "/resources/conversations/c1",
            json!({"externalId": "other", "subject": "S", "messages": []}),
        )
        .await;
    assert_eq!((status, error_of(&answer).1), (400, Some("externalId")));
    let (status, answer) = app
        .post(
            "/resources/conversations/c1/messages",
            json!({"externalId": "m5", "message": "x", "from": user("u1")}),
        )
        .await;
    assert_eq!(
        (status, error_of(&answer)),
        (400, ("missing_field", Some("to")))
    );
    let (status, answer) = app
        .post("/resources/conversations/c1/messages", json!({"externalId": "m5", "message": "x", "from": user("u1"), "to": [], "timestamp": "soon"}))
        .await;
    assert_eq!((status, error_of(&answer).1), (400, Some("timestamp")));
    assert_eq!(
        app.post(
            "/resources/conversations/nope/messages",
            message("m5", user("u1"), vec![], None)
        )
        .await
        .0,
        404
    );
    // A message of another conversation cannot be taken over.
    app.ok_post(
        "/resources/conversations",
        json!({"externalId": "c2", "subject": "S", "messages": []}),
    )
    .await;
    assert_eq!(
        app.post("/resources/conversations/c2/messages", ok_message)
            .await
            .0,
        409
    );
    for path in [
        "/resources/conversations/nope",
        "/resources/messages/nope",
        "/resources/accounts/nope/conversations",
        "/resources/conversations/nope/messages",
    ] {
        assert_eq!(app.get(path).await.0, 404, "{path}");
    }
    assert_eq!(app.delete("/resources/messages/nope").await.0, 404);
    assert_eq!(app.delete("/resources/conversations/nope").await.0, 404);
});

on_every_backend!(
    last_messages_show_on_users_accounts_and_organizations,
    |app| {
        let ann = hierarchy(&app).await;
        let blank = app.ok_get("/resources/accounts/a1").await;
        assert_eq!(
            (
                blank["lastInboundMessageTimestamp"].clone(),
                blank["lastOutboundMessageTimestamp"].clone()
            ),
            (Value::Null, Value::Null)
        );
        app.ok_post(
            "/resources/conversations",
            json!({"externalId": "c1", "subject": "S", "messages": [
            message("m1", user("u1"), vec![admin(&ann)], Some(1_000)),
            message("m2", user("u1"), vec![admin(&ann)], Some(3_000)),
            message("m3", admin(&ann), vec![user("u2")], Some(2_000))]}),
        )
        .await;
        let shows = |v: &Value, inbound: Option<i64>, outbound: Option<i64>| {
            assert_eq!(
                v["lastInboundMessageTimestamp"],
                json!(inbound.map(iso)),
                "{v}"
            );
            assert_eq!(
                v["lastOutboundMessageTimestamp"],
                json!(outbound.map(iso)),
                "{v}"
            );
        };
        shows(&app.ok_get("/resources/users/u1").await, Some(3_000), None);
        shows(&app.ok_get("/resources/users/u2").await, None, Some(2_000));
        shows(
            &app.ok_get("/resources/accounts/a1").await,
            Some(3_000),
            Some(2_000),
        );
        shows(
            &app.ok_get("/resources/organizations/o1").await,
            Some(3_000),
            Some(2_000),
        );
        // Lists (the templated read path) show the same.
        shows(
            &app.ok_get("/resources/accounts").await["results"][0],
            Some(3_000),
            Some(2_000),
        );
        shows(
            &app.ok_get("/resources/organizations/o1/users?limit=100")
                .await["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["externalId"] == "u1")
                .unwrap()
                .clone(),
            Some(3_000),
            None,
        );

        // A deleted message lowers them; a user joining brings theirs.
        assert_eq!(app.delete("/resources/messages/m2").await.0, 200);
        shows(
            &app.ok_get("/resources/accounts/a1").await,
            Some(1_000),
            Some(2_000),
        );
        app.ok_post(
            "/resources/conversations/c1/messages",
            message("m4", user("u3"), vec![], Some(9_000)),
        )
        .await;
        shows(
            &app.ok_get("/resources/accounts/a1").await,
            Some(1_000),
            Some(2_000),
        );
        app.ok_post(
            "/resources/users",
            json!({"externalId": "u3", "accountIds": ["a1"]}),
        )
        .await;
        shows(
            &app.ok_get("/resources/accounts/a1").await,
            Some(9_000),
            Some(2_000),
        );
        shows(
            &app.ok_get("/resources/organizations/o1").await,
            Some(9_000),
            Some(2_000),
        );

        // A restart rebuilds them from storage.
        let (rebuilt, ws, a1) = restarted(&app).await;
        let last = rebuilt
            .engine()
            .await
            .last_messages(ws, steward_engine::RecordRef::Account(a1));
        assert_eq!(last.inbound.map(|t| t.to_iso()), Some(iso(9_000)));
        assert_eq!(last.outbound.map(|t| t.to_iso()), Some(iso(2_000)));

        // Deleting a user takes their messages out of everything, and the user out of the
        // conversation.
        assert_eq!(app.delete("/resources/users/u3").await.0, 200);
        shows(
            &app.ok_get("/resources/accounts/a1").await,
            Some(1_000),
            Some(2_000),
        );
        assert_eq!(
            app.ok_get("/resources/conversations/c1").await["users"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
);

fn rules() -> Value {
    json!({
        "derivation": {
            "formulas": [
                {"model": "account", "key": "ownerQuietDays", "label": "Owner quiet", "expression": "days_since(owner.lastInboundMessageTimestamp)"},
                {"model": "account", "key": "ownerWritten", "label": "Owner written to", "expression": "owner.lastOutboundMessageTimestamp in last 7 days"},
                {"model": "organization", "key": "talking", "label": "Users writing", "expression": "count(users where lastInboundMessageTimestamp in last 7 days)"},
                {"model": "organization", "key": "ownersWriting", "label": "Accounts whose owner writes", "expression": "count(accounts where owner.lastInboundMessageTimestamp in last 30 days)"}
            ]
        }
    })
}

on_every_backend!(
    rules_read_the_owner_s_last_messages_current_on_the_write_s_answer,
    |app| {
        let ann = hierarchy(&app).await;
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "a1", "name": "A", "accountOwnerId": "u2"}),
        )
        .await;
        let (status, body) = app.put("/resources/config", rules()).await;
        assert_eq!(status, 200, "{body}");
        let a1 = app.ok_get("/resources/accounts/a1").await;
        assert_eq!(
            (
                a1["traits"]["ownerQuietDays"].clone(),
                a1["traits"]["ownerWritten"].clone()
            ),
            (Value::Null, Value::Null),
            "{a1}"
        );

        // The owner writes in and is answered; the values are current as soon as the write returns.
        app.clock.advance_ms(2 * DAY);
        app.ok_post(
            "/resources/conversations",
            json!({"externalId": "c1", "subject": "S", "messages": [
            message("m1", user("u2"), vec![admin(&ann)], Some(0)),
            message("m2", admin(&ann), vec![user("u2")], Some(DAY))]}),
        )
        .await;
        let a1 = app.ok_get("/resources/accounts/a1").await;
        assert_eq!(a1["traits"]["ownerQuietDays"], json!(2.0), "{a1}");
        assert_eq!(a1["traits"]["ownerWritten"], json!(true));
        let o1 = app.ok_get("/resources/organizations/o1").await;
        assert_eq!(
            (
                o1["traits"]["talking"].clone(),
                o1["traits"]["ownersWriting"].clone()
            ),
            (json!(1.0), json!(1.0)),
            "{o1}"
        );

        // Time passes: "in last 7 days" closes by itself.
        // The timer task moves it, without any write or reprocess.
        app.clock.advance_ms(7 * DAY);
        let mut a1 = Value::Null;
        for _ in 0..50 {
            a1 = app.ok_get("/resources/accounts/a1").await;
            if a1["traits"]["ownerWritten"] == json!(false) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            (
                a1["traits"]["ownerQuietDays"].clone(),
                a1["traits"]["ownerWritten"].clone()
            ),
            (json!(9.0), json!(false)),
            "{a1}"
        );

        // A newer message, then its deletion: the answer to each write already shows the value.
        app.ok_post(
            "/resources/conversations/c1/messages",
            message("m3", admin(&ann), vec![user("u2")], Some(8 * DAY)),
        )
        .await;
        assert_eq!(
            app.ok_get("/resources/accounts/a1").await["traits"]["ownerWritten"],
            json!(true)
        );
        app.delete("/resources/messages/m3").await;
        assert_eq!(
            app.ok_get("/resources/accounts/a1").await["traits"]["ownerWritten"],
            json!(false)
        );
        app.ok_post(
            "/resources/conversations/c1/messages",
            message("m4", user("u2"), vec![], Some(9 * DAY)),
        )
        .await;
        assert_eq!(
            app.ok_get("/resources/accounts/a1").await["traits"]["ownerQuietDays"],
            json!(0.0)
        );

        // Deleting the conversation takes the owner's messages away.
        app.delete("/resources/conversations/c1").await;
        let a1 = app.ok_get("/resources/accounts/a1").await;
        assert_eq!(a1["traits"]["ownerQuietDays"], Value::Null, "{a1}");
        assert_eq!(
            app.ok_get("/resources/organizations/o1").await["traits"]["ownersWriting"],
            json!(0.0)
        );

        // After a restart the rules read the messages rebuilt from storage.
        app.ok_post("/resources/conversations", json!({"externalId": "c2", "subject": "S", "messages": [message("m5", user("u2"), vec![], Some(8 * DAY))]})).await;
        let (rebuilt, ws, id) = restarted(&app).await;
        let derived = rebuilt
            .engine()
            .await
            .derived(ws, steward_engine::RecordRef::Account(id))
            .unwrap();
        let quiet = derived
            .formulas
            .iter()
            .find(|(k, _)| k == "ownerQuietDays")
            .unwrap()
            .1
            .clone();
        assert_eq!(quiet, json!(1.0));
    }
);
