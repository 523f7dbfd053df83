//! Conversations and messages: upserts, replacing and deleting messages, participants
//! resolved or refused, associations through current memberships, lists by account and
//! organization, paging, deletions of participants, workspace isolation, and the engine's
//! last messages rebuilt from storage, on every backend.

use serde_json::json;
use steward_engine::Engine;
use steward_engine::ids::{AdminId, WorkspaceId};
use steward_engine::page::{PageRequest, SortBy};
use steward_engine::time::Millis;
use steward_engine::{Direction, LastMessages, RecordRef as Rec};
use steward_store::Store;
use steward_store::conversations::ConversationScope;
use steward_store::rows::{ConversationRow, Listed, MessageRow};
use steward_store::test_support::backends;
use steward_store::write::{
    ConversationFields, MessageInput, ParticipantKind, ParticipantRef, Write, WriteError, Written,
};

use crate::support::*;

fn at(ms: i64) -> Millis {
    Millis(T0.0 + ms)
}

fn user(r: &str) -> ParticipantRef {
    ParticipantRef {
        kind: ParticipantKind::User,
        reference: rref(r),
        field: "from.id".into(),
    }
}

fn admin(r: &str) -> ParticipantRef {
    ParticipantRef {
        kind: ParticipantKind::Admin,
        reference: rref(r),
        field: "to[0].id".into(),
    }
}

fn message(
    external: &str,
    from: ParticipantRef,
    to: Vec<ParticipantRef>,
    sent: Option<i64>,
) -> MessageInput {
    MessageInput {
        external_id: ext(external),
        body: format!("<p>{external}</p>"),
        from,
        to,
        cc: Vec::new(),
        bcc: Vec::new(),
        timestamp: sent.map(at),
        external_url: None,
    }
}

fn conversation(external: &str, subject: &str, messages: Vec<MessageInput>) -> Write {
    Write::UpsertConversation {
        external_id: ext(external),
        fields: ConversationFields {
            subject: Some(subject.into()),
            traits: patch(json!({"channel": "email"})),
            external_url: None,
            messages: Some(messages),
        },
    }
}

fn as_conversation(w: &Written) -> ConversationRow {
    match w {
        Written::Conversation(r) => r.clone(),
        other => panic!("expected a conversation, got {other:?}"),
    }
}

fn as_message(w: &Written) -> MessageRow {
    match w {
        Written::Message(r) => r.clone(),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Organization o1 holds accounts a1 (users u1, u2) and a2 (user u3); team member ann.
async fn hierarchy(s: &Store, e: &mut Engine, ws: WorkspaceId) -> AdminId {
    ok(s, e, at(0), ws, upsert_org("o1", json!({}))).await;
    ok(s, e, at(0), ws, upsert_account("a1", Some("o1"))).await;
    ok(s, e, at(0), ws, upsert_account("a2", Some("o1"))).await;
    ok(s, e, at(0), ws, upsert_user("u1", &["a1"], &[])).await;
    ok(s, e, at(0), ws, upsert_user("u2", &["a1"], &[])).await;
    ok(s, e, at(0), ws, upsert_user("u3", &["a2"], &[])).await;
    ok(s, e, at(0), ws, upsert_user("u4", &[], &[])).await;
    let created = ok(
        s,
        e,
        at(0),
        ws,
        Write::CreateAdmin {
            name: name("Ann"),
            email: email("ann@team.example"),
            license_status: "active".into(),
        },
    )
    .await;
    match created.written {
        Written::Admin(a) => a.id,
        other => panic!("{other:?}"),
    }
}

async fn user_id(s: &Store, ws: WorkspaceId, r: &str) -> steward_engine::ids::UserId {
    s.find_user(ws, &rref(r)).await.unwrap().unwrap().id
}

async fn account_id(s: &Store, ws: WorkspaceId, r: &str) -> steward_engine::ids::AccountId {
    s.find_account(ws, &rref(r)).await.unwrap().unwrap().id
}

/// The engine rebuilt from storage has the same last messages as the one kept incrementally.
async fn assert_rebuilt_agrees(s: &Store, ws: WorkspaceId, e: &Engine, records: &[Rec]) {
    let mut loaded = Engine::new();
    s.load_engine(&mut loaded).await.unwrap();
    for record in records {
        assert_eq!(
            loaded.last_messages(ws, *record),
            e.last_messages(ws, *record),
            "{record:?}"
        );
    }
}

#[tokio::test]
async fn conversations_keep_messages_participants_and_associations() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let (s, e) = (&t.store, &mut Engine::new());
        let ann = hierarchy(s, e, ws).await;
        let mut reply = message("m2", admin("ANN@team.example"), vec![user("u1")], Some(20));
        reply.cc = vec![user("u3")];
        let created = ok(
            s,
            e,
            at(100),
            ws,
            conversation(
                "c1",
                "Renewal",
                vec![
                    message("m1", user("u1"), vec![admin(&ann.to_string())], Some(10)),
                    reply,
                ],
            ),
        )
        .await;
        assert!(created.created);
        let c = as_conversation(&created.written);
        assert_eq!(c.subject.as_deref(), Some("Renewal"));
        assert_eq!(c.traits["channel"], "email");
        let messages = c.messages.clone().unwrap();
        assert_eq!(
            messages
                .iter()
                .map(|m| (m.external_id.as_str(), m.direction))
                .collect::<Vec<_>>(),
            [("m1", Direction::Inbound), ("m2", Direction::Outbound)],
            "{backend:?}: thread order, direction from the sender"
        );
        assert_eq!(messages[1].from.id, ann.0, "an admin named by e-mail");
        assert_eq!(messages[0].sent_at, at(10));
        let (u1, u3) = (user_id(s, ws, "u1").await, user_id(s, ws, "u3").await);
        let mut users = vec![u1, u3];
        users.sort();
        assert_eq!(c.users, users);
        assert_eq!(c.admins, vec![ann]);
        let mut accounts = vec![account_id(s, ws, "a1").await, account_id(s, ws, "a2").await];
        accounts.sort();
        assert_eq!(c.accounts, accounts, "{backend:?}: the users' accounts");
        // Found by id and by external id alike, with messages.
        assert_eq!(
            s.find_conversation(ws, &rref(c.id)).await.unwrap().as_ref(),
            Some(&c)
        );
        assert_eq!(
            s.find_conversation(ws, &rref("c1")).await.unwrap().as_ref(),
            Some(&c)
        );
        assert_eq!(
            s.find_message(ws, &rref("m2")).await.unwrap().as_ref(),
            Some(&messages[1])
        );
        assert_eq!(
            s.find_message(ws, &rref(messages[0].id))
                .await
                .unwrap()
                .as_ref(),
            Some(&messages[0])
        );
        // The engine learnt every message.
        let a1 = Rec::Account(account_id(s, ws, "a1").await);
        assert_eq!(
            e.last_messages(ws, a1),
            LastMessages {
                inbound: Some(at(10)),
                outbound: Some(at(20))
            }
        );
        assert_eq!(e.last_messages(ws, Rec::User(u3)).outbound, Some(at(20)));
        assert_rebuilt_agrees(s, ws, e, &[a1, Rec::User(u1), Rec::User(u3)]).await;
    }
}

#[tokio::test]
async fn posting_again_merges_and_putting_replaces_messages() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let (s, e) = (&t.store, &mut Engine::new());
        hierarchy(s, e, ws).await;
        let first = ok(
            s,
            e,
            at(1),
            ws,
            conversation(
                "c1",
                "Hi",
                vec![message("m1", user("u1"), vec![], Some(10))],
            ),
        )
        .await;
        let c = as_conversation(&first.written);
        // POST again: subject set, traits merged, a message added, the first kept.
        let again = ok(
            s,
            e,
            at(2),
            ws,
            conversation(
                "c1",
                "Hello",
                vec![message("m2", user("u2"), vec![], Some(30))],
            ),
        )
        .await;
        assert!(!again.created);
        let c2 = as_conversation(&again.written);
        assert_eq!(
            (c2.id, c2.subject.as_deref(), c2.updated_at),
            (c.id, Some("Hello"), at(2))
        );
        assert_eq!(c2.messages.as_ref().unwrap().len(), 2, "{backend:?}");
        assert_eq!(
            again.changes.len(),
            1,
            "only the new message reaches the engine"
        );
        // PUT: the messages listed are the conversation's; m1 is updated, m2 deleted.
        let put = ok(
            s,
            e,
            at(3),
            ws,
            Write::UpdateConversation {
                target: rref(c.id),
                fields: ConversationFields {
                    subject: Some("Re: Hello".into()),
                    messages: Some(vec![message("m1", user("u1"), vec![], Some(5))]),
                    ..ConversationFields::default()
                },
            },
        )
        .await;
        let c3 = as_conversation(&put.written);
        let kept = c3.messages.clone().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (kept[0].external_id.as_str(), kept[0].sent_at),
            ("m1", at(5))
        );
        assert_eq!(
            kept[0].id,
            c2.messages.as_ref().unwrap()[0].id,
            "kept its id"
        );
        assert!(s.find_message(ws, &rref("m2")).await.unwrap().is_none());
        let u1 = Rec::User(user_id(s, ws, "u1").await);
        let u2 = Rec::User(user_id(s, ws, "u2").await);
        assert_eq!(
            e.last_messages(ws, u1).inbound,
            Some(at(5)),
            "{backend:?}: lowered"
        );
        assert_eq!(e.last_messages(ws, u2).inbound, None);
        assert_rebuilt_agrees(s, ws, e, &[u1, u2]).await;

        // Adding a message alone, and deleting it.
        let added = ok(
            s,
            e,
            at(40),
            ws,
            Write::UpsertMessage {
                conversation: rref("c1"),
                message: message("m3", user("u2"), vec![user("u1")], None),
            },
        )
        .await;
        assert!(added.created);
        let m3 = as_message(&added.written);
        assert_eq!(
            (m3.sent_at, m3.conversation_id),
            (at(40), c.id),
            "timestamp defaults to now"
        );
        assert_eq!(
            s.find_conversation(ws, &rref("c1"))
                .await
                .unwrap()
                .unwrap()
                .updated_at,
            at(40)
        );
        assert_eq!(e.last_messages(ws, u1).inbound, Some(at(40)));
        ok(
            s,
            e,
            at(41),
            ws,
            Write::DeleteMessage { target: rref("m3") },
        )
        .await;
        assert_eq!(e.last_messages(ws, u1).inbound, Some(at(5)), "back to m1's");
        assert_eq!(
            s.find_conversation(ws, &rref("c1"))
                .await
                .unwrap()
                .unwrap()
                .updated_at,
            at(41)
        );
        assert!(matches!(
            apply(s, at(42), ws, Write::DeleteMessage { target: rref("m3") }).await,
            Err(WriteError::NotFound("message"))
        ));

        // Deleting the conversation deletes its messages.
        let gone = ok(
            s,
            e,
            at(43),
            ws,
            Write::DeleteConversation { target: rref("c1") },
        )
        .await;
        assert_eq!(gone.changes.len(), 1);
        assert!(
            s.find_conversation(ws, &rref("c1"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(s.find_message(ws, &rref("m1")).await.unwrap().is_none());
        assert_eq!(e.last_messages(ws, u1), LastMessages::default());
        assert_rebuilt_agrees(s, ws, e, &[u1]).await;
    }
}

#[tokio::test]
async fn unknown_participants_and_clashing_messages_write_nothing() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let (s, e) = (&t.store, &mut Engine::new());
        hierarchy(s, e, ws).await;
        let mut stranger = user("nobody");
        stranger.field = "messages[1].from.id".into();
        let refused = apply(
            s,
            at(1),
            ws,
            conversation(
                "c1",
                "S",
                vec![
                    message("m1", user("u1"), vec![], None),
                    message("m2", stranger, vec![], None),
                ],
            ),
        )
        .await;
        match refused {
            Err(WriteError::Invalid(f)) => {
                assert_eq!(f.field, "messages[1].from.id", "{backend:?}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            s.find_conversation(ws, &rref("c1"))
                .await
                .unwrap()
                .is_none(),
            "nothing written"
        );
        assert!(s.find_message(ws, &rref("m1")).await.unwrap().is_none());
        let mut no_admin = admin("nobody@team.example");
        no_admin.field = "to[0].id".into();
        ok(
            s,
            e,
            at(2),
            ws,
            conversation("c1", "S", vec![message("m1", user("u1"), vec![], None)]),
        )
        .await;
        assert!(matches!(
            apply(s, at(3), ws, Write::UpsertMessage { conversation: rref("c1"), message: message("m9", user("u1"), vec![no_admin], None) }).await,
            Err(WriteError::Invalid(f)) if f.field == "to[0].id"
        ));
        // The same external id twice in one list, and a message of another conversation.
        match apply(
            s,
            at(4),
            ws,
            conversation(
                "c2",
                "T",
                vec![
                    message("x", user("u1"), vec![], None),
                    message("x", user("u1"), vec![], None),
                ],
            ),
        )
        .await
        {
            Err(WriteError::Invalid(f)) => assert_eq!(f.field, "messages[1].externalId"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            apply(
                s,
                at(5),
                ws,
                conversation("c2", "T", vec![message("m1", user("u1"), vec![], None)])
            )
            .await,
            Err(WriteError::Conflict(_))
        ));
        assert!(
            s.find_conversation(ws, &rref("c2"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            apply(
                s,
                at(6),
                ws,
                Write::UpsertMessage {
                    conversation: rref("nope"),
                    message: message("m5", user("u1"), vec![], None)
                }
            )
            .await,
            Err(WriteError::NotFound("conversation"))
        ));
    }
}

async fn walk(s: &Store, ws: WorkspaceId, scope: ConversationScope, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut page = PageRequest::first(SortBy::UpdatedAt, limit);
    loop {
        let rows = s.list_conversations(ws, scope, &page).await.unwrap();
        let Some(last) = rows.last() else { break };
        assert!(
            rows.iter().all(|r| r.messages.is_none()),
            "lists leave messages out"
        );
        page.after = Some(last.page_key(page.sort));
        out.extend(rows.into_iter().map(|r| r.external_id));
    }
    out
}

#[tokio::test]
async fn lists_by_account_and_organization_follow_current_memberships() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let (s, e) = (&t.store, &mut Engine::new());
        hierarchy(s, e, ws).await;
        for (i, who) in ["u1", "u3", "u4", "u1", "u2"].into_iter().enumerate() {
            let c = format!("c{i}");
            let m = format!("m{i}");
            ok(
                s,
                e,
                at(10 + i as i64),
                ws,
                conversation(&c, "S", vec![message(&m, user(who), vec![], None)]),
            )
            .await;
        }
        let all = walk(s, ws, ConversationScope::All, 2).await;
        assert_eq!(all, ["c4", "c3", "c2", "c1", "c0"], "{backend:?}");
        let a1 = account_id(s, ws, "a1").await;
        let o1 = s
            .find_organization(ws, &rref("o1"))
            .await
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(
            walk(s, ws, ConversationScope::Account(a1), 1).await,
            ["c4", "c3", "c0"]
        );
        assert_eq!(
            walk(s, ws, ConversationScope::Organization(o1), 2).await,
            ["c4", "c3", "c1", "c0"]
        );
        // u4 joins a1 (and so o1); the organization also gets a direct user's conversation.
        ok(s, e, at(20), ws, upsert_user("u4", &["a1"], &[])).await;
        assert_eq!(
            walk(s, ws, ConversationScope::Account(a1), 10).await,
            ["c4", "c3", "c2", "c0"]
        );
        let c2 = s.find_conversation(ws, &rref("c2")).await.unwrap().unwrap();
        assert_eq!(c2.accounts, vec![a1]);
        assert_eq!(
            e.last_messages(ws, Rec::Account(a1)).inbound,
            Some(at(14)),
            "the account's latest is over its users now"
        );
        // Deleting a user or a team member drops them from the associations.
        ok(s, e, at(21), ws, Write::DeleteUser { target: rref("u4") }).await;
        let c2 = s.find_conversation(ws, &rref("c2")).await.unwrap().unwrap();
        assert_eq!((c2.users.len(), c2.accounts.len()), (0, 0), "{backend:?}");
        assert_eq!(c2.messages.as_ref().unwrap().len(), 1, "the message stays");
        assert_eq!(
            walk(s, ws, ConversationScope::Account(a1), 10).await,
            ["c4", "c3", "c0"]
        );
        ok(s, e, at(22), ws, upsert_user("u5", &[], &["o1"])).await;
        ok(
            s,
            e,
            at(23),
            ws,
            conversation("c9", "S", vec![message("m9", user("u5"), vec![], None)]),
        )
        .await;
        assert_eq!(
            walk(s, ws, ConversationScope::Organization(o1), 10).await,
            ["c9", "c4", "c3", "c1", "c0"]
        );
        assert_rebuilt_agrees(s, ws, e, &[Rec::Account(a1), Rec::Organization(o1)]).await;

        // Messages of a conversation, paged.
        let c = s.find_conversation(ws, &rref("c0")).await.unwrap().unwrap();
        for i in 0..3 {
            let m = format!("extra{i}");
            ok(
                s,
                e,
                at(30 + i),
                ws,
                Write::UpsertMessage {
                    conversation: rref("c0"),
                    message: message(&m, user("u1"), vec![], None),
                },
            )
            .await;
        }
        let mut page = PageRequest::first(SortBy::CreatedAt, 2);
        let mut seen = Vec::new();
        loop {
            let rows = s.list_messages(ws, c.id, &page).await.unwrap();
            let Some(last) = rows.last() else { break };
            page.after = Some(last.page_key(page.sort));
            seen.extend(rows.into_iter().map(|m| m.external_id));
        }
        assert_eq!(seen, ["extra2", "extra1", "extra0", "m0"], "{backend:?}");
    }
}

#[tokio::test]
async fn conversations_are_per_workspace() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let (s, e) = (&t.store, &mut Engine::new());
        hierarchy(s, e, ws).await;
        let other = s.create_workspace("other", T0).await.unwrap().id;
        ok(
            s,
            e,
            at(1),
            ws,
            conversation("c1", "S", vec![message("m1", user("u1"), vec![], None)]),
        )
        .await;
        assert!(
            s.find_conversation(other, &rref("c1"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(s.find_message(other, &rref("m1")).await.unwrap().is_none());
        assert!(walk(s, other, ConversationScope::All, 10).await.is_empty());
        // The other workspace's users are not this one's participants.
        assert!(matches!(
            apply(
                s,
                at(2),
                other,
                conversation("c1", "S", vec![message("m1", user("u1"), vec![], None)])
            )
            .await,
            Err(WriteError::Invalid(_))
        ));
        ok(s, e, at(3), other, upsert_user("u1", &[], &[])).await;
        ok(
            s,
            e,
            at(4),
            other,
            conversation("c1", "S", vec![message("m1", user("u1"), vec![], None)]),
        )
        .await;
        assert_eq!(walk(s, ws, ConversationScope::All, 10).await, ["c1"]);
        assert_eq!(walk(s, other, ConversationScope::All, 10).await, ["c1"]);
    }
}
