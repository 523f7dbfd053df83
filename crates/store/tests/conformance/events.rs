//! The event log: pages of a record's events (from the in-memory index and from flushed runs),
//! replays recognised after a restart, and deleted records taken off the events of others.

use serde_json::json;
use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::page::PageKey;
use steward_engine::time::Millis;
use steward_store::test_support::{backends, fresh};
use steward_store::write::{
    EventKind, EventWrite, IngestAction, IngestOp, Properties, RecordedEvent, Write, Written,
};
use steward_store::{EventOwner, Store};

use crate::support::*;

fn track(message: &str, user: &str, account: &str, at: i64) -> IngestOp {
    IngestOp {
        message_id: format!("m:{message}").into(),
        actions: vec![IngestAction::Event(EventWrite {
            kind: EventKind::Track,
            name: format!("Event {message}"),
            user: Some(ext(user)),
            account: Some(ext(account)),
            organization: None,
            at: Millis(at),
            properties: Properties::from_map(json!({"message": message}).as_object().unwrap()),
        })],
    }
}

/// Ingests one request; answers (applied, duplicates).
async fn ingest(store: &Store, ws: WorkspaceId, now: Millis, ops: Vec<IngestOp>) -> (usize, usize) {
    let outcome = apply(store, now, ws, Write::Ingest(ops)).await.unwrap();
    match outcome.written {
        Written::Ingested {
            applied,
            duplicates,
        } => (applied, duplicates),
        other => panic!("expected an ingestion, got {other:?}"),
    }
}

/// Every event of a record, walked in pages of `limit` as the API does.
async fn walk(
    store: &Store,
    ws: WorkspaceId,
    owner: EventOwner,
    limit: usize,
) -> Vec<RecordedEvent> {
    let mut out: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = out.last().map(|e| PageKey { at: e.at, id: e.id });
        let page = store.list_events(ws, owner, limit, after).await.unwrap();
        let done = page.len() < limit;
        out.extend(page);
        if done {
            return out;
        }
    }
}

fn messages(events: &[RecordedEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e.properties.to_map()["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn ids(
    store: &Store,
    ws: WorkspaceId,
) -> (UserId, UserId, AccountId, AccountId, OrganizationId) {
    let user = |e: &str| {
        let e = e.to_owned();
        async move { store.find_user(ws, &rref(&e)).await.unwrap().unwrap().id }
    };
    let account = |e: &str| {
        let e = e.to_owned();
        async move { store.find_account(ws, &rref(&e)).await.unwrap().unwrap().id }
    };
    let org = store
        .find_organization(ws, &rref("o"))
        .await
        .unwrap()
        .unwrap()
        .id;
    (
        user("u1").await,
        user("u2").await,
        account("a").await,
        account("b").await,
        org,
    )
}

/// A fresh store with account `a` in organization `o`, and account `b` in none.
async fn two_accounts(
    backend: steward_store::test_support::Backend,
) -> (
    steward_store::test_support::TestStore,
    WorkspaceId,
    steward_engine::Engine,
) {
    let t = fresh(backend).await;
    let ws = t.store.create_workspace("acme", T0).await.unwrap().id;
    let mut engine = steward_engine::Engine::new();
    for write in [
        upsert_account_creating("a", Some("o")),
        upsert_account_creating("b", None),
    ] {
        ok(&t.store, &mut engine, T0, ws, write).await;
    }
    (t, ws, engine)
}

#[tokio::test]
async fn pages_are_newest_first_across_flushes_and_restarts() {
    for backend in backends() {
        let (t, ws, _) = two_accounts(backend).await;
        // Flush the index every few events, so that pages merge runs and memory.
        t.store.set_event_index_flush_at(7);
        let mut sent = Vec::new();
        for request in 0..6 {
            let ops: Vec<IngestOp> = (0..5)
                .map(|i| {
                    let n = request * 5 + i;
                    // Out of order, with ties on time.
                    let at = T0.0 - ((n * 7_919) % 13) as i64 * 60_000;
                    let (user, account) = [("u1", "a"), ("u2", "a"), ("u1", "b")][n % 3];
                    sent.push((format!("{n}"), user, account, at));
                    track(&format!("{n}"), user, account, at)
                })
                .collect();
            assert_eq!(ingest(&t.store, ws, T0, ops).await, (5, 0));
        }
        let (u1, _, a, b, o) = ids(&t.store, ws).await;
        // The expected order: newest first, ties in the order they were ingested, reversed.
        let expect = |keep: &dyn Fn(&str, &str) -> bool| -> Vec<String> {
            let mut v: Vec<(i64, usize, String)> = sent
                .iter()
                .enumerate()
                .filter(|(_, (_, user, account, _))| keep(user, account))
                .map(|(i, (m, _, _, at))| (*at, i, m.clone()))
                .collect();
            v.sort_by_key(|x| std::cmp::Reverse((x.0, x.1)));
            v.into_iter().map(|(_, _, m)| m).collect()
        };
        for store in [&t.store, &t.reopen().await] {
            for limit in [1, 4, 100] {
                let of_u1 = walk(store, ws, EventOwner::User(u1), limit).await;
                assert_eq!(
                    messages(&of_u1),
                    expect(&|u, _| u == "u1"),
                    "{backend:?}, limit {limit}"
                );
                assert!(of_u1.iter().all(|e| e.user == Some(u1)));
                let of_a = walk(store, ws, EventOwner::Account(a), limit).await;
                assert_eq!(messages(&of_a), expect(&|_, acct| acct == "a"));
                assert!(
                    of_a.iter()
                        .all(|e| e.account == Some(a) && e.organization == Some(o))
                );
                let of_o = walk(store, ws, EventOwner::Organization(o), limit).await;
                assert_eq!(messages(&of_o), expect(&|_, acct| acct == "a"));
                let of_b = walk(store, ws, EventOwner::Account(b), limit).await;
                assert_eq!(messages(&of_b), expect(&|_, acct| acct == "b"));
            }
        }
        // A replay is recognised by a store that has just started.
        let again = t.reopen().await;
        let replay: Vec<IngestOp> = (0..5)
            .map(|n| track(&format!("{n}"), "u1", "a", T0.0))
            .collect();
        assert_eq!(ingest(&again, ws, T0, replay).await, (0, 5));
        let new = vec![track("new", "u1", "b", T0.0 + 1)];
        assert_eq!(ingest(&again, ws, T0, new).await, (1, 0));
        assert_eq!(
            messages(&walk(&again, ws, EventOwner::Account(b), 3).await)[0],
            "new"
        );
    }
}

#[tokio::test]
async fn deleting_a_record_takes_it_off_the_events_of_others() {
    for backend in backends() {
        let (t, ws, mut engine) = two_accounts(backend).await;
        ok(
            &t.store,
            &mut engine,
            T0,
            ws,
            upsert_user("u2", &["b"], &[]),
        )
        .await;
        let ops = vec![
            track("1", "u1", "a", T0.0 + 1),
            track("2", "u2", "a", T0.0 + 2),
            track("3", "u2", "b", T0.0 + 3),
        ];
        assert_eq!(ingest(&t.store, ws, T0, ops).await, (3, 0));
        let (u1, u2, a, b, o) = ids(&t.store, ws).await;
        let delete_user = Write::DeleteUser { target: rref(u1.0) };
        ok(&t.store, &mut engine, T0, ws, delete_user).await;
        let of_a = walk(&t.store, ws, EventOwner::Account(a), 10).await;
        assert_eq!(messages(&of_a), ["2", "1"]);
        assert_eq!(
            of_a[1].user, None,
            "the deleted user is gone from its events"
        );
        // Deleting account a takes it and its organization off its events.
        let delete_account = Write::DeleteAccount { target: rref(a.0) };
        ok(&t.store, &mut engine, T0, ws, delete_account).await;
        for store in [&t.store, &t.reopen().await] {
            assert!(
                walk(store, ws, EventOwner::Organization(o), 10)
                    .await
                    .is_empty()
            );
            let of_u2 = walk(store, ws, EventOwner::User(u2), 10).await;
            assert_eq!(messages(&of_u2), ["3", "2"]);
            assert_eq!((of_u2[1].account, of_u2[1].organization), (None, None));
            assert_eq!(of_u2[0].account, Some(b));
            // The replay at start-up skips what no record holds any more (event 1).
            let mut replayed = Vec::new();
            store
                .for_each_event(&mut |_, e| replayed.push((e.user, e.account)))
                .await
                .unwrap();
            replayed.sort();
            assert_eq!(replayed, vec![(Some(u2), None), (Some(u2), Some(b))]);
        }
    }
}

/// The one event an ingestion of `op` recorded.
async fn recorded(store: &Store, ws: WorkspaceId, op: IngestOp) -> RecordedEvent {
    let mut outcome = apply(store, T0, ws, Write::Ingest(vec![op])).await.unwrap();
    assert_eq!(outcome.events.len(), 1);
    outcome.events.pop().unwrap()
}

fn move_account(account: &str, org: Option<&str>) -> Write {
    Write::UpsertAccount {
        external_id: ext(account),
        fields: steward_store::write::AccountFields {
            organization: Some(org.map(rref)),
            ..Default::default()
        },
    }
}

/// Ingestion remembers the records it resolved by external id (`known_ids.rs`); what it
/// remembers follows moves and deletes, within a batch and across batches, and keeps nothing
/// from a batch that did not commit.
#[tokio::test]
async fn resolved_records_follow_moves_deletes_and_rollbacks() {
    for backend in backends() {
        let (t, ws, _) = two_accounts(backend).await;
        let (store, n) = (&t.store, std::sync::atomic::AtomicUsize::new(0));
        let next = || format!("k{}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let (u1, _, a, _, o) = {
            recorded(store, ws, track(&next(), "u1", "a", T0.0)).await;
            recorded(store, ws, track(&next(), "u2", "b", T0.0)).await;
            ids(store, ws).await
        };
        let event = recorded(store, ws, track(&next(), "u1", "a", T0.0)).await;
        assert_eq!(
            (event.user, event.account, event.organization),
            (Some(u1), Some(a), Some(o))
        );

        // Moved by an earlier batch.
        apply(store, T0, ws, move_account("a", None)).await.unwrap();
        let event = recorded(store, ws, track(&next(), "u1", "a", T0.0)).await;
        assert_eq!(event.organization, None, "{backend:?}");

        // Moved earlier in the same batch.
        let batch = [
            (ws, move_account("a", Some("o"))),
            (ws, Write::Ingest(vec![track(&next(), "u1", "a", T0.0)])),
        ];
        let results = store.apply_batch(T0, &batch).await.unwrap();
        let event = &results[1].as_ref().unwrap().events[0];
        assert_eq!(event.organization, Some(o), "{backend:?}");

        // Deleted: the next event creates the record anew.
        apply(store, T0, ws, Write::DeleteUser { target: rref("u1") })
            .await
            .unwrap();
        let event = recorded(store, ws, track(&next(), "u1", "a", T0.0)).await;
        let new_u1 = store.find_user(ws, &rref("u1")).await.unwrap().unwrap().id;
        assert_ne!(new_u1, u1);
        assert_eq!(event.user, Some(new_u1), "{backend:?}");

        // Created in a batch that never committed: looked up again, and created again.
        let (pending, results) = store
            .begin_batch(
                T0,
                &[(ws, Write::Ingest(vec![track(&next(), "ghost", "a", T0.0)]))],
            )
            .await
            .unwrap();
        assert!(results[0].is_ok());
        drop(pending);
        let event = recorded(store, ws, track(&next(), "ghost", "a", T0.0)).await;
        let ghost = store
            .find_user(ws, &rref("ghost"))
            .await
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(event.user, Some(ghost), "{backend:?}");
    }
}
