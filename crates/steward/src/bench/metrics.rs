//! The cost of the usage metrics: rebuilding them from the event log at start-up, and the
//! engine memory they take per active user and per account.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use steward_engine::{Clock, SystemClock};
use steward_server::{ServerConfig, build_state, keys};
use steward_store::bench::SyntheticData;

use super::{BenchArgs, open_store, rss_bytes, uuid_suffix};

const USERS: usize = 100_000;
const ACCOUNTS: usize = 10_000;

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let apply = super::replay::run(args.events, SystemClock.now());
    println!("{apply}");
    let dir = tempfile::tempdir()?;
    let store = open_store(args, dir.path()).await?;
    let now = SystemClock.now();
    let ws =
        keys::find_or_create_workspace(&store, &format!("metrics-{}", uuid_suffix()), now).await?;
    let data = SyntheticData::generate(ACCOUNTS / 10, ACCOUNTS, USERS);
    store.bench_seed(ws.id, &data, now).await?;
    println!(
        "\nmetrics: {} events over 90 days for {USERS} users in {ACCOUNTS} accounts, on {}",
        args.events,
        store.backend()
    );
    let t = Instant::now();
    store
        .bench_seed_events(ws.id, &data, args.events, now)
        .await?;
    println!(
        "events seeded in {:.1} s (bulk SQL, not measured against anything)",
        t.elapsed().as_secs_f64()
    );

    let rss_before = rss_bytes();
    let t = Instant::now();
    let state = build_state(ServerConfig::new(store.clone(), Arc::new(SystemClock))).await?;
    let rebuild = t.elapsed().as_secs_f64();
    let rss_growth = rss_bytes().saturating_sub(rss_before);
    let bytes = state
        .engine()
        .await
        .metrics(ws.id)
        .map(|m| m.heap_bytes())
        .unwrap_or_default();
    let per_user = bytes.users as f64 / USERS as f64;
    let per_account = bytes.accounts as f64 / ACCOUNTS as f64;
    println!(
        "rebuild (graph + metrics from the event log): {rebuild:.2} s (target < 10 s); metrics heap {per_user:.0} B per active user, {per_account:.0} B per account; anonymous RSS growth {:.0} MB",
        rss_growth as f64 / 1e6
    );
    println!(
        "{}",
        json!({"metrics": {"events": args.events, "rebuild_s": rebuild, "bytes_per_active_user": per_user, "bytes_per_account": per_account, "rss_growth_bytes": rss_growth}})
    );
    Ok(())
}
