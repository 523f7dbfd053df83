//! `steward bench`: the foundation benchmarks, each against a baseline measured in the same run.
//!
//! 1. Start-up: the engine rebuilt from storage, its time and memory per user and account.
//! 2. Reads: a single-record GET and a 100-record page, 8 keep-alive clients, against an HTTP
//!    ceiling (a handler that returns a fixed body of the same size) on the same machine.
//! 3. Writes: upserts through the API, 8 clients, against raw single-row insert transactions on
//!    the same backend.

mod cpu;
mod http;
mod ingest;
mod metrics;
mod replay;
mod rules;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use clap::Args;
use serde_json::json;
use steward_engine::{Clock, SystemClock};
use steward_server::{ServerConfig, build_state, keys, router};
use steward_store::Store;
use steward_store::bench::SyntheticData;
use steward_store::rows::KeyRole;

#[derive(Args, Clone)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 10_000)]
    orgs: usize,
    #[arg(long, default_value_t = 100_000)]
    accounts: usize,
    #[arg(long, default_value_t = 1_000_000)]
    users: usize,
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Seconds per load run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Benchmark PostgreSQL at this URL (an empty database) instead of a fresh SQLite file.
    #[arg(long)]
    database_url: Option<String>,
    /// Which benchmarks: `foundation` (start-up, reads, upserts), `ingest`, `metrics`, `rules`
    /// (derived values in the engine), or `all`.
    #[arg(long, default_value = "all", value_parser = ["all", "foundation", "ingest", "metrics", "rules"])]
    suite: String,
    /// Events loaded for the metrics rebuild benchmark.
    #[arg(long, default_value_t = 10_000_000)]
    events: usize,
    /// Keep-alive connections for the ingestion benchmark.
    #[arg(long, default_value_t = 4)]
    ingest_clients: usize,
    /// The read cache's budget in MiB, as `serve --read-cache-mb` (0 measures reads without it).
    #[arg(long, default_value_t = ServerConfig::DEFAULT_READ_CACHE_MB)]
    read_cache_mb: usize,
    /// Every record in memory, as `serve --resident-records` (`auto`: on for PostgreSQL).
    #[arg(long, default_value = "auto", value_parser = ["auto", "on", "off"])]
    resident_records: String,
}

/// Anonymous resident memory (the heap and stacks): the memory-mapped database file is page
/// cache the kernel can drop, not Steward's own memory.
pub(crate) fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<usize>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// A server answering every request with the same bytes: the HTTP ceiling.
pub(crate) async fn ceiling(body: Vec<u8>) -> anyhow::Result<std::net::SocketAddr> {
    let body = Arc::new(body);
    let app = Router::new().fallback(get(move || {
        let body = body.clone();
        async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body.as_ref().clone(),
            )
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// Load runs against Steward and its ceiling alternate in this many slices (see
/// [`http::drive_interleaved`]).
const ROUNDS: u32 = 5;

fn report(name: &str, run: &http::Run, base: &http::Run) -> serde_json::Value {
    let ratio = run.throughput() / base.throughput();
    // Throughput follows the share of the cores the process got; CPU per request does not.
    let cpu_ratio = base.cpu_us_per_request() / run.cpu_us_per_request();
    println!(
        "{name:<22} {:>9.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs  cpu {:>5.0} µs/req | ceiling {:>9.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs  cpu {:>5.0} µs/req | ratio {ratio:.2} (target >= 0.5), by CPU {cpu_ratio:.2}{}",
        run.throughput(),
        run.percentile_us(0.5),
        run.percentile_us(0.99),
        run.cpu_us_per_request(),
        base.throughput(),
        base.percentile_us(0.5),
        base.percentile_us(0.99),
        base.cpu_us_per_request(),
        if run.errors + base.errors > 0 {
            format!("  errors {}+{}", run.errors, base.errors)
        } else {
            String::new()
        }
    );
    json!({"throughput": run.throughput(), "p50_us": run.percentile_us(0.5), "p99_us": run.percentile_us(0.99),
           "cpu_us_per_request": run.cpu_us_per_request(),
           "ceiling_throughput": base.throughput(), "ceiling_p50_us": base.percentile_us(0.5), "ceiling_p99_us": base.percentile_us(0.99),
           "ceiling_cpu_us_per_request": base.cpu_us_per_request(), "ratio": ratio, "cpu_ratio": cpu_ratio})
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.suite == "all" || args.suite == "foundation" {
        foundation(&args).await?;
    }
    if args.suite == "all" || args.suite == "ingest" {
        ingest::run(&args).await?;
    }
    if args.suite == "all" || args.suite == "metrics" {
        metrics::run(&args).await?;
    }
    if args.suite == "all" || args.suite == "rules" {
        rules::run(&args)?;
    }
    Ok(())
}

async fn open_store(args: &BenchArgs, dir: &std::path::Path) -> anyhow::Result<Store> {
    Ok(match &args.database_url {
        Some(url) => Store::open_url(url).await?,
        None => Store::open_sqlite_dir(dir).await?,
    })
}

async fn foundation(args: &BenchArgs) -> anyhow::Result<()> {
    let args = args.clone();
    let clock = SystemClock;
    let dir = tempfile::tempdir()?;
    let store = match &args.database_url {
        Some(url) => Store::open_url(url).await?,
        None => Store::open_sqlite_dir(dir.path()).await?,
    };
    let store = crate::cli::resident_records(store, &args.resident_records);
    println!(
        "steward bench: {} orgs, {} accounts, {} users on {}; {} clients, {} s a run",
        args.orgs,
        args.accounts,
        args.users,
        store.backend(),
        args.clients,
        args.seconds
    );
    let ws =
        keys::find_or_create_workspace(&store, &format!("bench-{}", uuid_suffix()), clock.now())
            .await?;
    let key = steward_server::auth::generate_key();
    keys::register_key(&store, &ws, &key, None, KeyRole::Admin, clock.now()).await?;

    let data = SyntheticData::generate(args.orgs, args.accounts, args.users);
    let t = Instant::now();
    store.bench_seed(ws.id, &data, clock.now()).await?;
    println!(
        "seeded in {:.1} s (bulk SQL, not measured against anything)",
        t.elapsed().as_secs_f64()
    );

    // 1. Start-up.
    let rss_before = rss_bytes();
    let t = Instant::now();
    let state = build_state(ServerConfig {
        read_cache_bytes: args.read_cache_mb << 20,
        ..ServerConfig::new(store.clone(), Arc::new(SystemClock))
    })
    .await?;
    let startup = t.elapsed();
    let rss_after = rss_bytes();
    let bytes = {
        let engine = state.engine().await;
        engine
            .graph(ws.id)
            .map(|g| g.heap_bytes())
            .unwrap_or_default()
    };
    let per_user = bytes.users as f64 / args.users.max(1) as f64;
    let per_account = bytes.accounts as f64 / args.accounts.max(1) as f64;
    let rss_per_user = rss_after.saturating_sub(rss_before) as f64 / args.users.max(1) as f64;
    println!(
        "start-up (engine rebuilt from storage): {:.2} s (target < 10 s); engine heap {:.0} B/user, {:.0} B/account, {:.0} B/org (target < 300 B/user); anonymous RSS growth {:.0} B/user",
        startup.as_secs_f64(),
        per_user,
        per_account,
        bytes.organizations as f64 / args.orgs.max(1) as f64,
        rss_per_user
    );

    let resident = store.resident_heap_bytes().map(|[orgs, accounts, users]| {
        let per = |bytes: usize, n: usize| bytes as f64 / n.max(1) as f64;
        let (per_user, per_account, per_org) = (
            per(users, args.users),
            per(accounts, args.accounts),
            per(orgs, args.orgs),
        );
        println!(
            "resident records (every record in memory, loaded with the engine; not engine state): {per_user:.0} B/user, {per_account:.0} B/account, {per_org:.0} B/org"
        );
        json!({"bytes_per_user": per_user, "bytes_per_account": per_account, "bytes_per_org": per_org})
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let duration = Duration::from_secs(args.seconds);

    // 2a. Single-record GET of random users.
    let users: Arc<Vec<String>> =
        Arc::new(data.users.iter().map(|(id, _)| id.to_string()).collect());
    let sample = fetch(
        addr,
        &http::get(&format!("/resources/users/{}", users[0]), &key),
    )
    .await?;
    let base_addr = ceiling(sample).await?;
    let (u, k) = (users.clone(), key.clone());
    let (single, single_base) = http::drive_interleaved(
        addr,
        base_addr,
        args.clients,
        duration,
        ROUNDS,
        move |c, n| http::get(&format!("/resources/users/{}", u[pick(c, n, u.len())]), &k),
    )
    .await;
    let single_json = report("GET one user", &single, &single_base);

    // 2b. 100-record pages at random positions in the account list.
    let mut cursors = vec![String::new()];
    let mut client = http::Connection::open(addr).await?;
    let _ = &mut client;
    for _ in 0..100 {
        let path = format!(
            "/resources/accounts?limit=100&from={}",
            cursors.last().unwrap()
        );
        let body = fetch(addr, &http::get(&path, &key)).await?;
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        match page["next"].as_str() {
            Some(next) => cursors.push(next.to_owned()),
            None => break,
        }
    }
    let cursors = Arc::new(cursors);
    let sample = fetch(
        addr,
        &http::get(
            &format!(
                "/resources/accounts?limit=100&from={}",
                cursors[1.min(cursors.len() - 1)]
            ),
            &key,
        ),
    )
    .await?;
    let page_bytes = sample.len();
    let base_addr = ceiling(sample).await?;
    let (cs, k) = (cursors.clone(), key.clone());
    let (page, page_base) = http::drive_interleaved(
        addr,
        base_addr,
        args.clients,
        duration,
        ROUNDS,
        move |c, n| {
            http::get(
                &format!(
                    "/resources/accounts?limit=100&from={}",
                    cs[pick(c, n, cs.len())]
                ),
                &k,
            )
        },
    )
    .await;
    let page_json = report(
        &format!("GET page of 100 ({} KB)", page_bytes / 1024),
        &page,
        &page_base,
    );

    // The read cache, reported apart from the engine: what it holds and what the process holds.
    let cache = state.bodies.stats();
    let rss_after_reads = rss_bytes();
    let rss_reads_per_user =
        rss_after_reads.saturating_sub(rss_before) as f64 / args.users.max(1) as f64;
    println!(
        "read cache: {} records, {:.1} MiB of {} MiB budget (not engine state); anonymous RSS growth {:.0} B/user after start-up, {:.0} B/user after the reads with the cache filled",
        cache.entries,
        cache.bytes as f64 / f64::from(1 << 20),
        cache.budget >> 20,
        rss_per_user,
        rss_reads_per_user
    );

    // 3. Upserts: half new accounts, half updates of existing ones.
    let k = key.clone();
    let accounts_n = args.accounts;
    let upserts = http::drive(addr, args.clients, duration, move |c, n| {
        let body = if n % 2 == 0 {
            format!(r#"{{"externalId":"new-{c}-{n}","name":"New {n}","traits":{{"plan":"p1","mrr":{n}}}}}"#)
        } else {
            format!(r#"{{"externalId":"acct-{}","name":"Account","traits":{{"mrr":{n}}}}}"#, pick(c, n, accounts_n))
        };
        http::post("/resources/accounts", &k, &body)
    })
    .await;
    let raw_store = store.clone();
    let ws_id = ws.id;
    let raw = http::drive_tasks(args.clients, duration, move |t, n| {
        let store = raw_store.clone();
        async move {
            store
                .bench_raw_insert(ws_id, &format!("raw-{t}-{n}"), SystemClock.now())
                .await
                .is_ok()
        }
    })
    .await;
    let write_ratio = upserts.throughput() / raw;
    println!(
        "{:<22} {:>9.0} upserts/s  p50 {:>6.0} µs  p99 {:>6.0} µs   | raw single-row insert transactions {:>9.0}/s | ratio {write_ratio:.2} (target >= 0.5){}",
        "POST upsert account",
        upserts.throughput(),
        upserts.percentile_us(0.5),
        upserts.percentile_us(0.99),
        raw,
        if upserts.errors > 0 {
            format!("  errors {}", upserts.errors)
        } else {
            String::new()
        }
    );

    let summary = json!({
        "backend": store.backend(), "orgs": args.orgs, "accounts": args.accounts, "users": args.users, "clients": args.clients,
        "startup_s": startup.as_secs_f64(), "engine_bytes_per_user": per_user, "engine_bytes_per_account": per_account, "rss_growth_per_user": rss_per_user,
        "resident_records": resident,
        "get_one": single_json, "get_page": page_json,
        "read_cache": {"entries": cache.entries, "bytes": cache.bytes, "budget": cache.budget, "rss_growth_per_user_after_reads": rss_reads_per_user},
        "upserts": {"throughput": upserts.throughput(), "p50_us": upserts.percentile_us(0.5), "p99_us": upserts.percentile_us(0.99), "raw_insert_tx_per_s": raw, "ratio": write_ratio},
    });
    println!("\n{summary}");
    Ok(())
}

/// A spread of indexes that differs per client.
pub(crate) fn pick(client: usize, n: usize, len: usize) -> usize {
    let x = (client as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (n as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    ((x ^ (x >> 31)) % len.max(1) as u64) as usize
}

pub(crate) fn uuid_suffix() -> String {
    steward_engine::ids::WorkspaceId::generate().to_string()[..8].to_owned()
}

/// One request on a fresh connection; returns the response body.
async fn fetch(addr: std::net::SocketAddr, request: &[u8]) -> anyhow::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut req = request.to_vec();
    // Ask the server to close, so reading to the end gives the whole response.
    let pos = req
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("request head");
    req.splice(pos..pos, b"\r\nConnection: close".iter().copied());
    stream.write_all(&req).await?;
    let mut all = Vec::new();
    stream.read_to_end(&mut all).await?;
    let start = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .ok_or_else(|| anyhow::anyhow!("no response"))?;
    let status = std::str::from_utf8(&all[9..12]).unwrap_or("000");
    anyhow::ensure!(
        status == "200",
        "benchmark request failed with {status}: {}",
        String::from_utf8_lossy(&all[start..])
    );
    Ok(all[start..].to_vec())
}
