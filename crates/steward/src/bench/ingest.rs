//! The ingestion benchmark: sustained `POST /v1/batch` (100 events a batch, keep-alive
//! connections, durable), against two ceilings measured in the same run: an endpoint that only
//! parses the same batches, and raw batched inserts of the same rows.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use serde_json::json;
use steward_engine::ids::{AccountId, OrganizationId, UserId};
use steward_engine::{Clock, SystemClock};
use steward_server::{ServerConfig, build_state, keys, router};
use steward_store::bench::SyntheticData;
use steward_store::rows::KeyRole;
use steward_store::write::{EventKind, RecordedEvent};

use super::{BenchArgs, http, open_store, pick, uuid_suffix};

const BATCH: usize = 100;
const USERS: usize = 10_000;
const ACCOUNTS: usize = 1_000;

/// One Segment batch of 100 track events with unique message ids, written straight into a
/// string: the load generator shares the two cores with the server, so it should cost little
/// (the ceilings are driven by the same generator).
fn batch_body(client: usize, n: usize, now_iso: &str) -> String {
    use std::fmt::Write as _;
    let mut body = String::with_capacity(BATCH * 240);
    body.push_str(r#"{"batch":["#);
    for i in 0..BATCH {
        let user = pick(client, n * BATCH + i, USERS);
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"type":"track","userId":"user-{user}","event":"Feature {feature}","messageId":"{client}-{n}-{i}","timestamp":"{now_iso}","properties":{{"plan":"pro","count":{i}}},"context":{{"groupId":"acct-{account}"}}}}"#,
            feature = i % 12,
            account = user % ACCOUNTS,
        );
    }
    let _ = write!(body, r#"],"sentAt":"{now_iso}"}}"#);
    body
}

async fn parse_only_ceiling() -> anyhow::Result<std::net::SocketAddr> {
    let app = Router::new().route(
        "/v1/batch",
        post(|body: axum::body::Bytes| async move {
            let ops = steward_server::ingest::parse_segment_batch_body(&body, SystemClock.now())
                .map(|o| o.len())
                .unwrap_or(0);
            axum::Json(json!({"success": ops > 0}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = open_store(args, dir.path()).await?;
    let clock = SystemClock;
    let ws =
        keys::find_or_create_workspace(&store, &format!("ingest-{}", uuid_suffix()), clock.now())
            .await?;
    let key = steward_server::auth::generate_key();
    keys::register_key(&store, &ws, &key, None, KeyRole::Admin, clock.now()).await?;
    let data = SyntheticData::generate(100, ACCOUNTS, USERS);
    store.bench_seed(ws.id, &data, clock.now()).await?;
    let state = build_state(ServerConfig::new(store.clone(), Arc::new(SystemClock))).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let duration = Duration::from_secs(args.seconds);
    let clients = args.ingest_clients;
    let now_iso = Arc::new(clock.now().to_iso());
    println!(
        "\ningestion: {} events a batch, {clients} keep-alive connections, {} s a run, on {}",
        BATCH,
        args.seconds,
        store.backend()
    );

    let (k, t) = (key.clone(), now_iso.clone());
    let steward = http::drive(addr, clients, duration, move |c, n| {
        http::post("/v1/batch", &k, &batch_body(c, n, &t))
    })
    .await;
    let parse_addr = parse_only_ceiling().await?;
    let (k, t) = (key.clone(), now_iso.clone());
    let parse = http::drive(parse_addr, clients, duration, move |c, n| {
        http::post("/v1/batch", &k, &batch_body(c, n + 1_000_000, &t))
    })
    .await;

    // The same rows as the batches above: one event per message, with its user, account and
    // organization, appended the way ingestion appends them, and nothing else.
    let raw_store = store.clone();
    let ws_id = ws.id;
    let data = Arc::new(data);
    let raw_batches = http::drive_tasks(clients, duration, move |t, n| {
        let (store, data) = (raw_store.clone(), data.clone());
        async move {
            let at = SystemClock.now();
            let events: Vec<RecordedEvent> = (0..BATCH)
                .map(|i| {
                    let user = pick(t, n * BATCH + i, USERS);
                    let (account, organization) = data.accounts[user % ACCOUNTS];
                    let user = data.users[user].0;
                    RecordedEvent {
                        id: uuid::Uuid::now_v7(),
                        kind: EventKind::Track,
                        name: format!("Feature {}", i % 12),
                        user: Some(UserId(user)),
                        account: Some(AccountId(account)),
                        organization: organization.map(OrganizationId),
                        at,
                        received_at: at,
                        properties: steward_store::write::Properties::from_map(
                            json!({"plan": "pro", "count": i})
                                .as_object()
                                .expect("an object"),
                        ),
                    }
                })
                .collect();
            store.bench_raw_events(ws_id, &events).await.is_ok()
        }
    })
    .await;

    let events = steward.throughput() * BATCH as f64;
    let parse_events = parse.throughput() * BATCH as f64;
    let raw_events = raw_batches * BATCH as f64;
    let ceiling = parse_events.min(raw_events);
    println!(
        "POST /v1/batch           {events:>9.0} events/s  p50 {:>6.0} µs  p99 {:>6.0} µs{}\n  ceilings: parse only {parse_events:>9.0} events/s | raw batched insert {raw_events:>9.0} events/s\n  ratio to the lower ceiling {:.2} (target >= 0.5); target on SQLite >= 100000 events/s",
        steward.percentile_us(0.5),
        steward.percentile_us(0.99),
        if steward.errors > 0 {
            format!("  errors {}", steward.errors)
        } else {
            String::new()
        },
        events / ceiling,
    );
    println!(
        "{}",
        json!({"ingest": {"backend": store.backend(), "events_per_s": events, "parse_only_events_per_s": parse_events, "raw_insert_events_per_s": raw_events, "ratio": events / ceiling, "p50_us": steward.percentile_us(0.5), "p99_us": steward.percentile_us(0.99)}})
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_bodies_are_segment_batches_of_unique_messages() {
        let body: serde_json::Value =
            serde_json::from_str(&batch_body(2, 7, "2026-11-23T00:00:00.000Z")).unwrap();
        let batch = body["batch"].as_array().unwrap();
        assert_eq!(batch.len(), BATCH);
        let user = pick(2, 7 * BATCH + 3, USERS);
        assert_eq!(
            batch[3],
            json!({"type": "track", "userId": format!("user-{user}"), "event": "Feature 3",
                   "messageId": "2-7-3", "timestamp": "2026-11-23T00:00:00.000Z",
                   "properties": {"plan": "pro", "count": 3},
                   "context": {"groupId": format!("acct-{}", user % ACCOUNTS)}})
        );
        let ids: std::collections::HashSet<&str> = batch
            .iter()
            .map(|m| m["messageId"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), BATCH);
    }
}
