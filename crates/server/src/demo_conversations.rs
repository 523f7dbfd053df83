//! The demo workspace's conversations: each customer's owner writing to their CSM and being
//! answered, so `lastInboundMessageTimestamp` and `owner.lastInboundMessageTimestamp` tell
//! stories (the accounts that went quiet stopped writing weeks ago; a few owners are still
//! waiting for an answer).

use steward_engine::domain::{ExternalId, TraitPatch};
use steward_engine::ids::WorkspaceId;
use steward_engine::time::Millis;
use steward_store::write::{
    ConversationFields, MessageInput, ParticipantKind, ParticipantRef, RecordRef, Write,
};

use crate::app::AppState;

const DAY: i64 = 86_400_000;

/// Owner, CSM's e-mail, days since the owner last wrote, whether the CSM has answered.
fn threads() -> Vec<(String, &'static str, i64, bool)> {
    let (sam, priya) = ("sam.rivera@steward.example", "priya.nair@steward.example");
    let mut threads = Vec::new();
    for i in 1..=6 {
        threads.push((format!("school-{i}-teacher-0"), priya, 2 * i, i != 4));
    }
    threads.push(("district-superintendent-1".to_owned(), priya, 1, true));
    threads.push(("globex-vp-1".to_owned(), sam, 3, true));
    for i in 0..20 {
        let id = format!("acct-{}", 100 + i);
        let quiet = ["acct-103", "acct-108", "acct-115"].contains(&id.as_str());
        let days = if quiet { 25 + i } else { i % 9 };
        let csm = if i % 2 == 0 { sam } else { priya };
        threads.push((format!("{id}-user-0"), csm, days, i % 5 != 3));
    }
    threads
}

fn participant(kind: ParticipantKind, id: &str) -> ParticipantRef {
    ParticipantRef {
        kind,
        reference: RecordRef(id.to_owned()),
        field: "demo".to_owned(),
    }
}

fn message(
    id: String,
    from: ParticipantRef,
    to: ParticipantRef,
    at: i64,
    text: &str,
) -> MessageInput {
    MessageInput {
        external_id: ExternalId::parse("externalId", &id).expect("demo id"),
        body: format!("<p>{text}</p>"),
        from,
        to: vec![to],
        cc: Vec::new(),
        bcc: Vec::new(),
        timestamp: Some(Millis(at)),
        external_url: None,
    }
}

/// The demo's conversations, relative to `now`.
pub fn demo_conversations(now: Millis) -> Vec<Write> {
    threads()
        .into_iter()
        .map(|(owner, csm, days, answered)| {
            let user = || participant(ParticipantKind::User, &owner);
            let admin = || participant(ParticipantKind::Admin, csm);
            let asked = now.0 - days * DAY - 3_600_000;
            let mut messages = vec![
                message(
                    format!("demo-{owner}-1"),
                    admin(),
                    user(),
                    asked - 7 * DAY,
                    "How is the rollout going?",
                ),
                message(
                    format!("demo-{owner}-2"),
                    user(),
                    admin(),
                    asked,
                    "Could we get a walkthrough of the reports?",
                ),
            ];
            if answered {
                messages.push(message(
                    format!("demo-{owner}-3"),
                    admin(),
                    user(),
                    asked + 2 * 3_600_000,
                    "Of course, I have sent an invite.",
                ));
            }
            Write::UpsertConversation {
                external_id: ExternalId::parse("externalId", &format!("demo-{owner}"))
                    .expect("demo id"),
                fields: ConversationFields {
                    subject: Some("Reporting walkthrough".to_owned()),
                    traits: TraitPatch::default(),
                    external_url: None,
                    messages: Some(messages),
                },
            }
        })
        .collect()
}

/// Records them (again: posting a conversation's externalId updates it).
pub async fn load(state: &AppState, ws: WorkspaceId) -> anyhow::Result<()> {
    let writes = demo_conversations(state.clock.now());
    let results =
        futures::future::join_all(writes.into_iter().map(|w| state.writer.write(ws, w))).await;
    for result in results {
        result.map_err(|e| anyhow::anyhow!("demo conversations: {}", e.message))?;
    }
    Ok(())
}
