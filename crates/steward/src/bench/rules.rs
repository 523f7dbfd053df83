//! The cost of derived values (formula traits, rollups, lifecycle) in the engine alone:
//!
//! (a) a trait write (graph upsert + `set_traits`, what the writer does after a commit) with
//!     20 formula traits and 5 rollups defined, against the same writes with none;
//! (b) a full recomputation (`configure`: projection + every value) and a `reprocess` of the
//!     whole hierarchy against 20 lifecycle and formula rules.
//!
//! Storage is not involved: the writer's commit costs the same with or without rules, so the
//! end-to-end ratio is (commit + engine with rules) / (commit + engine without); the figure
//! printed uses the write-path time per write measured by the foundation suite.

use std::time::Instant;

use serde_json::{Map, Value, json};
use steward_engine::derive::{
    Compiled, CustomFieldInput, DerivationConfig, DerivedView, FieldType, Model, RecordInput,
    RecordRef, SchemaInput, Status, compile,
};
use steward_engine::ids::{AccountId, OrganizationId, UserId, WorkspaceId};
use steward_engine::time::Millis;
use steward_engine::{Clock, Engine, GraphChange, SystemClock};
use uuid::Uuid;

use super::{BenchArgs, rss_bytes};

/// Writer time per write on the API path (docs/benchmarks.md: 1.89k upserts/s, one writer).
const WRITE_PATH_US: f64 = 1e6 / 1890.0;

fn schema() -> SchemaInput {
    use FieldType::*;
    use Model::*;
    let field = |model, key: &str, ty| CustomFieldInput {
        model,
        key: key.to_owned(),
        ty,
    };
    SchemaInput {
        custom_fields: vec![
            field(Account, "amount", Number),
            field(Account, "plan", String),
            field(Account, "isTrial", Boolean),
            field(Account, "canceled", Boolean),
            field(Account, "trialEnds", Date),
            field(Account, "renewsOn", Date),
            field(Organization, "canceled", Boolean),
            field(Organization, "test", Boolean),
            field(User, "seats", Number),
            field(User, "role", String),
            field(User, "email", String),
        ],
        extra_fields: Vec::new(),
        any_key_role: false,
    }
}

fn formula(model: &str, key: &str, expression: &str) -> Value {
    json!({"model": model, "key": key, "label": key, "expression": expression})
}

/// 20 formula traits (10 on users, 10 on accounts) and 5 rollups.
fn write_config() -> Value {
    let user = [
        "seats * 2",
        "seats + 1",
        "role == \"admin\"",
        "upper(role)",
        "len(email)",
        "contains(email, \"@\")",
        "if seats > 2 then \"many\" else \"few\"",
        "coalesce(seats, 0) * 3",
        "seats % 2",
        "ends_with(email, \".example\")",
    ];
    let account = [
        "amount * 12",
        "amount > 500",
        "upper(plan)",
        "isTrial == true",
        "canceled == true",
        "coalesce(amount, 0) + 1",
        "if amount > 100 then \"big\" else \"small\"",
        "len(plan)",
        "amount / 2",
        "amount - 1",
    ];
    let mut formulas: Vec<Value> = Vec::new();
    formulas.extend(
        user.iter()
            .enumerate()
            .map(|(i, e)| formula("user", &format!("u{i}"), e)),
    );
    formulas.extend(
        account
            .iter()
            .enumerate()
            .map(|(i, e)| formula("account", &format!("a{i}"), e)),
    );
    formulas.push(formula("account", "seatTotal", "sum(users, seats)"));
    formulas.push(formula(
        "account",
        "admins",
        "count(users where role == \"admin\")",
    ));
    formulas.push(formula("account", "avgSeats", "avg(users, seats)"));
    formulas.push(formula(
        "organization",
        "amountTotal",
        "sum(accounts, amount)",
    ));
    formulas.push(formula("organization", "maxSeats", "max(users, seats)"));
    json!({ "formulas": formulas })
}

/// 20 rules: 11 formula traits (5 of them rollups) and 9 lifecycle and deactivation rules.
fn reprocess_config() -> Value {
    json!({
        "formulas": [
            formula("user", "seats2", "seats * 2"),
            formula("user", "isAdmin", "role == \"admin\""),
            formula("account", "arr", "amount * 12"),
            formula("account", "planUpper", "upper(plan)"),
            formula("account", "renewalSoon", "renewsOn in next 30 days"),
            formula("account", "seatTotal", "sum(users, seats)"),
            formula("account", "admins", "count(users where isAdmin)"),
            formula("account", "avgSeats", "avg(users, seats)"),
            formula("organization", "totalArr", "sum(accounts, arr)"),
            formula("organization", "churnedAccounts", "count(accounts where ownStatus == \"churned\")"),
            formula("account", "big", "arr > 5000")
        ],
        "lifecycle": {
            "organizations": {
                "churnCondition": "canceled == true",
                "track": {"mode": "exclude", "condition": "test == true"}
            },
            "accounts": {
                "revenueTraits": ["amount"],
                "paidCondition": "isTrial != true",
                "trialCondition": "isTrial == true",
                "trialEndDateTrait": "trialEnds",
                "churnCondition": "canceled == true",
                "track": {"mode": "exclude", "condition": "plan == \"test\""},
                "nextRenewalDateTrait": "renewsOn"
            }
        },
        "userDeactivation": "ends_with(email, \"@us.example\")"
    })
}

fn compiled(config: Value) -> anyhow::Result<Compiled> {
    let config: DerivationConfig = serde_json::from_value(config)?;
    compile(&config, &schema()).map_err(|e| anyhow::anyhow!("bench config: {e:?}"))
}

/// A cheap deterministic mix, so traits vary without a random-number crate.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Shape {
    orgs: usize,
    accounts: usize,
    users: usize,
}

impl Shape {
    fn org(&self, i: usize) -> OrganizationId {
        OrganizationId(Uuid::from_u128(0x1 << 64 | i as u128))
    }
    fn account(&self, i: usize) -> AccountId {
        AccountId(Uuid::from_u128(0x2 << 64 | i as u128))
    }
    fn user(&self, i: usize) -> UserId {
        UserId(Uuid::from_u128(0x3 << 64 | i as u128))
    }
    /// Every tenth account is standalone, as in the store's synthetic data.
    fn account_org(&self, i: usize) -> Option<OrganizationId> {
        (i % 10 != 9 && self.orgs > 0).then(|| self.org(i % self.orgs))
    }
    fn user_account(&self, i: usize) -> AccountId {
        self.account(i % self.accounts)
    }

    fn build(&self, engine: &mut Engine, ws: WorkspaceId, now: Millis) {
        engine
            .graph_mut(ws)
            .reserve(self.orgs, self.accounts, self.users);
        for i in 0..self.orgs {
            let change = GraphChange::UpsertOrganization {
                id: self.org(i),
                created_at: now,
                updated_at: now,
            };
            engine.apply_at(ws, &change, now);
        }
        for i in 0..self.accounts {
            let change = GraphChange::UpsertAccount {
                id: self.account(i),
                organization: self.account_org(i),
                created_at: now,
                updated_at: now,
            };
            engine.apply_at(ws, &change, now);
        }
        for i in 0..self.users {
            engine.apply_at(ws, &self.user_change(i, now), now);
        }
    }

    fn user_change(&self, i: usize, now: Millis) -> GraphChange {
        GraphChange::UpsertUser {
            id: self.user(i),
            accounts: vec![self.user_account(i)],
            organizations: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    fn org_traits(i: usize) -> Map<String, Value> {
        let r = mix(i as u64);
        let mut m = Map::new();
        m.insert("canceled".into(), json!(r.is_multiple_of(50)));
        m.insert("test".into(), json!(r.is_multiple_of(97)));
        m
    }

    fn account_traits(i: usize, now: Millis, salt: u64) -> Map<String, Value> {
        let r = mix(i as u64 ^ salt);
        let day = 86_400_000;
        let mut m = Map::new();
        if !r.is_multiple_of(7) {
            m.insert("amount".into(), json!((r % 1000) as f64));
        }
        let plans = ["starter", "pro", "enterprise", "test"];
        m.insert("plan".into(), json!(plans[(r >> 8) as usize % 4]));
        m.insert("isTrial".into(), json!((r >> 12).is_multiple_of(5)));
        m.insert("canceled".into(), json!((r >> 16).is_multiple_of(20)));
        let offset = ((r >> 20) % 60) as i64 - 30;
        m.insert(
            "trialEnds".into(),
            json!(Millis(now.0 + offset * day).to_iso()),
        );
        m.insert(
            "renewsOn".into(),
            json!(Millis(now.0 + (offset + 30) * day).to_iso()),
        );
        m
    }

    fn user_traits(i: usize, salt: u64) -> Map<String, Value> {
        let r = mix(i as u64 ^ salt);
        let mut m = Map::new();
        m.insert("seats".into(), json!((r % 5) as f64));
        let roles = ["admin", "member", "viewer"];
        m.insert("role".into(), json!(roles[(r >> 8) as usize % 3]));
        let domain = if (r >> 12).is_multiple_of(50) {
            "us.example"
        } else {
            "customer.example"
        };
        m.insert("email".into(), json!(format!("u{i}@{domain}")));
        m
    }

    /// Feeds every record's traits to a configuration in progress.
    fn load(&self, engine: &mut Engine, ws: WorkspaceId, now: Millis) {
        for i in 0..self.orgs {
            let traits = Self::org_traits(i);
            let record = RecordRef::Organization(self.org(i));
            engine.load_traits(
                ws,
                RecordInput {
                    record,
                    name: None,
                    traits: &traits,
                    extra: None,
                },
            );
        }
        for i in 0..self.accounts {
            let traits = Self::account_traits(i, now, 0);
            let record = RecordRef::Account(self.account(i));
            engine.load_traits(
                ws,
                RecordInput {
                    record,
                    name: None,
                    traits: &traits,
                    extra: None,
                },
            );
        }
        for i in 0..self.users {
            let traits = Self::user_traits(i, 0);
            let record = RecordRef::User(self.user(i));
            engine.load_traits(
                ws,
                RecordInput {
                    record,
                    name: None,
                    traits: &traits,
                    extra: None,
                },
            );
        }
    }
}

/// Average microseconds per trait write (user and account writes alternating).
fn time_writes(
    engine: &mut Engine,
    ws: WorkspaceId,
    shape: &Shape,
    writes: usize,
    now: Millis,
) -> f64 {
    // Traits prepared up front: building JSON is the API layer's cost, not the engine's.
    let prepared: Vec<(GraphChange, RecordRef, Map<String, Value>)> = (0..writes)
        .map(|n| {
            let r = mix(n as u64 ^ 0xFEED) as usize;
            if n % 2 == 0 {
                let i = r % shape.users;
                (
                    shape.user_change(i, now),
                    RecordRef::User(shape.user(i)),
                    Shape::user_traits(i, n as u64 + 1),
                )
            } else {
                let i = r % shape.accounts;
                let change = GraphChange::UpsertAccount {
                    id: shape.account(i),
                    organization: shape.account_org(i),
                    created_at: now,
                    updated_at: now,
                };
                (
                    change,
                    RecordRef::Account(shape.account(i)),
                    Shape::account_traits(i, now, n as u64 + 1),
                )
            }
        })
        .collect();
    let t = Instant::now();
    let mut changes = 0usize;
    for (change, record, traits) in &prepared {
        changes += engine.apply_at(ws, change, now).len();
        changes += engine
            .set_traits(
                ws,
                RecordInput {
                    record: *record,
                    name: None,
                    traits,
                    extra: None,
                },
                now,
            )
            .len();
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / writes as f64;
    std::hint::black_box(changes);
    us
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let ws = WorkspaceId(Uuid::from_u128(0xBE7C));

    // (a) Write cost.
    let shape = Shape {
        orgs: args.orgs / 10,
        accounts: args.accounts / 10,
        users: args.users / 10,
    };
    println!(
        "\nrules (a): trait writes, {} orgs, {} accounts, {} users; 20 formula traits + 5 rollups vs none",
        shape.orgs, shape.accounts, shape.users
    );
    let writes = 200_000;
    let mut plain = Engine::new();
    shape.build(&mut plain, ws, now);
    let none_us = time_writes(&mut plain, ws, &shape, writes, now);
    drop(plain);
    let mut ruled = Engine::new();
    shape.build(&mut ruled, ws, now);
    ruled.begin_configure(ws, compiled(write_config())?);
    shape.load(&mut ruled, ws, now);
    ruled.finish_configure(ws, now);
    let rules_us = time_writes(&mut ruled, ws, &shape, writes, now);
    drop(ruled);
    let engine_ratio = rules_us / none_us;
    let path_ratio = (WRITE_PATH_US + rules_us) / (WRITE_PATH_US + none_us);
    println!(
        "engine per write: {none_us:.2} µs without rules, {rules_us:.2} µs with (engine alone x{engine_ratio:.1}); on the write path ({WRITE_PATH_US:.0} µs a write) ratio {path_ratio:.3} (target < 1.5)"
    );

    // (b) Full recomputation and reprocess of the whole hierarchy.
    let shape = Shape {
        orgs: args.orgs,
        accounts: args.accounts,
        users: args.users,
    };
    println!(
        "rules (b): {} orgs, {} accounts, {} users against 20 lifecycle and formula rules",
        shape.orgs, shape.accounts, shape.users
    );
    let mut engine = Engine::new();
    shape.build(&mut engine, ws, now);
    let rss_before = rss_bytes();
    let t = Instant::now();
    let mut changes = engine
        .begin_configure(ws, compiled(reprocess_config())?)
        .len();
    shape.load(&mut engine, ws, now);
    let loaded = t.elapsed().as_secs_f64();
    changes += engine.finish_configure(ws, now).len();
    let configure = t.elapsed().as_secs_f64();
    let rss_growth = rss_bytes().saturating_sub(rss_before);
    let t = Instant::now();
    let reprocessed = engine.reprocess(ws, now).len();
    let reprocess = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let recomputed = engine.recompute(ws, now).len();
    let recompute = t.elapsed().as_secs_f64();
    let records = shape.orgs + shape.accounts + shape.users;
    println!(
        "configure (projection {loaded:.2} s + every value): {configure:.2} s, {changes} changes; reprocess {reprocess:.2} s ({reprocessed} changes); recompute {recompute:.2} s ({recomputed} changes); {:.2} µs a record; derived state: RSS growth {:.0} B per record, {} timers",
        recompute * 1e6 / records as f64,
        rss_growth as f64 / records as f64,
        engine.timer_count(ws)
    );
    println!(
        "{}",
        json!({"rules": {"write_us_none": none_us, "write_us_rules": rules_us, "engine_ratio": engine_ratio, "write_path_ratio": path_ratio,
                          "configure_s": configure, "reprocess_s": reprocess, "recompute_s": recompute, "rss_growth_bytes_per_record": rss_growth as f64 / records as f64}})
    );

    // (c) The same rules as SQL in DuckDB, on the same data, in the same run.
    let checks = engine_checks(&engine, ws, &shape);
    drop(engine);
    compare_duckdb(&shape, now, reprocess, recompute, &checks)?;
    Ok(())
}

/// Figures the DuckDB script computes too: statuses counted, numeric formulas summed.
fn engine_checks(engine: &Engine, ws: WorkspaceId, shape: &Shape) -> Map<String, Value> {
    fn formula(view: &DerivedView, key: &str) -> Value {
        view.formulas
            .iter()
            .find(|(k, _)| k == key)
            .map_or(Value::Null, |(_, v)| v.clone())
    }
    fn bump(counts: &mut Map<String, Value>, status: Option<Status>) {
        let key = status.map_or("none", Status::as_str);
        let n = counts.get(key).and_then(Value::as_f64).unwrap_or(0.0);
        counts.insert(key.to_owned(), json!(n + 1.0));
    }
    let mut sums: std::collections::BTreeMap<&str, f64> = Default::default();
    let mut add = |key: &'static str, value: f64| *sums.entry(key).or_default() += value;
    let num = |v: Value| v.as_f64().unwrap_or(0.0);
    let yes = |v: Value| f64::from(u8::from(v == Value::Bool(true)));
    let (mut orgs, mut accounts, mut own) = (Map::new(), Map::new(), Map::new());
    for i in 0..shape.orgs {
        let Some(view) = engine.derived(ws, RecordRef::Organization(shape.org(i))) else {
            continue;
        };
        bump(&mut orgs, view.status);
        add("sum_total_arr", num(formula(&view, "totalArr")));
        add(
            "sum_churned_accounts",
            num(formula(&view, "churnedAccounts")),
        );
    }
    for i in 0..shape.accounts {
        let Some(view) = engine.derived(ws, RecordRef::Account(shape.account(i))) else {
            continue;
        };
        bump(&mut accounts, view.status);
        bump(&mut own, view.own_status);
        add("sum_arr", num(formula(&view, "arr")));
        add("sum_seat_total", num(formula(&view, "seatTotal")));
        add("sum_admins", num(formula(&view, "admins")));
        add("sum_avg_seats", num(formula(&view, "avgSeats")));
        add("count_renewal_soon", yes(formula(&view, "renewalSoon")));
        add("count_big", yes(formula(&view, "big")));
        add(
            "count_plan_upper_pro",
            f64::from(u8::from(formula(&view, "planUpper") == json!("PRO"))),
        );
    }
    for i in 0..shape.users {
        let Some(view) = engine.derived(ws, RecordRef::User(shape.user(i))) else {
            continue;
        };
        add("sum_seats2", num(formula(&view, "seats2")));
        add("count_admins", yes(formula(&view, "isAdmin")));
        add(
            "count_deactivated",
            f64::from(u8::from(view.deactivated_at.is_some())),
        );
    }
    let mut checks = Map::new();
    checks.insert("accounts_by_status".into(), Value::Object(accounts));
    checks.insert("accounts_by_own_status".into(), Value::Object(own));
    checks.insert("orgs_by_status".into(), Value::Object(orgs));
    for (key, value) in sums {
        checks.insert(key.into(), json!(value));
    }
    checks
}

/// Equal, numbers to a relative 1e-9 (sums of floats in a different order).
fn agrees(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| agrees(v, w)))
        }
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
        }
        _ => a == b,
    }
}

/// The repository root as built, for `.venv` and `scripts/` when run from elsewhere.
fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn find_python() -> Option<std::path::PathBuf> {
    if let Some(python) = std::env::var_os("STEWARD_BENCH_PYTHON") {
        return Some(python.into());
    }
    [
        std::path::PathBuf::from(".venv/bin/python"),
        repo_root().join(".venv/bin/python"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

fn find_script() -> Option<std::path::PathBuf> {
    [
        std::path::PathBuf::from("scripts/bench-duckdb.py"),
        repo_root().join("scripts/bench-duckdb.py"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Writes the data the engine got (`Shape::load` and `build`) as CSV, one file a model.
fn write_csv(shape: &Shape, dir: &std::path::Path, now: Millis) -> anyhow::Result<()> {
    use std::io::Write;
    let file = |name: &str| -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::new(std::fs::File::create(
            dir.join(name),
        )?))
    };
    let mut out = file("orgs.csv")?;
    writeln!(out, "id,canceled,test")?;
    for i in 0..shape.orgs {
        let t = Shape::org_traits(i);
        let row = ["canceled", "test"].map(|k| cell(t.get(k)));
        writeln!(out, "{},{}", shape.org(i).0, row.join(","))?;
    }
    out.flush()?;
    let mut out = file("accounts.csv")?;
    let keys = [
        "amount",
        "plan",
        "isTrial",
        "canceled",
        "trialEnds",
        "renewsOn",
    ];
    writeln!(out, "id,org_id,{}", keys.join(","))?;
    for i in 0..shape.accounts {
        let t = Shape::account_traits(i, now, 0);
        let org = shape
            .account_org(i)
            .map_or(String::new(), |o| o.0.to_string());
        let row = keys.map(|k| cell(t.get(k)));
        writeln!(out, "{},{org},{}", shape.account(i).0, row.join(","))?;
    }
    out.flush()?;
    let mut out = file("users.csv")?;
    let keys = ["seats", "role", "email"];
    writeln!(out, "id,account_id,{}", keys.join(","))?;
    for i in 0..shape.users {
        let t = Shape::user_traits(i, 0);
        let row = keys.map(|k| cell(t.get(k)));
        writeln!(
            out,
            "{},{},{}",
            shape.user(i).0,
            shape.user_account(i).0,
            row.join(",")
        )?;
    }
    out.flush()?;
    Ok(())
}

fn compare_duckdb(
    shape: &Shape,
    now: Millis,
    reprocess: f64,
    recompute: f64,
    checks: &Map<String, Value>,
) -> anyhow::Result<()> {
    let (Some(python), Some(script)) = (find_python(), find_script()) else {
        println!(
            "rules (c): DuckDB skipped: no Python (set STEWARD_BENCH_PYTHON, or make .venv with duckdb: .ci/run) or no scripts/bench-duckdb.py"
        );
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    write_csv(shape, dir.path(), now)?;
    let output = std::process::Command::new(&python)
        .arg(&script)
        .arg(dir.path())
        .arg(now.to_iso())
        .output()?;
    if !output.status.success() {
        println!(
            "rules (c): DuckDB skipped: {} failed: {}",
            python.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return Ok(());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line)
        .map_err(|e| anyhow::anyhow!("bench-duckdb.py printed {line:?}: {e}"))?;
    let duck = &result["duckdb"];
    let duck_s = duck["rules_s"].as_f64().unwrap_or(f64::NAN);
    let load_s = duck["load_s"].as_f64().unwrap_or(f64::NAN);
    let one_thread_s = duck["rules_s_1_thread"].as_f64().unwrap_or(f64::NAN);
    let empty = Map::new();
    let duck_checks = duck["checks"].as_object().unwrap_or(&empty);
    let disagree: Vec<&String> = checks
        .iter()
        .filter(|(k, v)| !duck_checks.get(*k).is_some_and(|w| agrees(v, w)))
        .map(|(k, _)| k)
        .collect();
    let equal = disagree.is_empty() && duck_checks.len() == checks.len();
    let ratio = reprocess / duck_s;
    println!(
        "rules (c): DuckDB {} ({} threads), same rules as SQL on the same data: {duck_s:.2} s (load {load_s:.2} s, not counted; {one_thread_s:.2} s on one thread); Steward reprocess {reprocess:.2} s, recompute {recompute:.2} s; Steward / DuckDB {ratio:.2} (target: Steward faster than DuckDB, < 1) {}",
        duck["version"].as_str().unwrap_or("?"),
        duck["threads"],
        if ratio < 1.0 { "✓" } else { "✗" }
    );
    if equal {
        println!(
            "results agree: statuses counted and numeric formulas summed are equal: {}",
            Value::Object(checks.clone())
        );
    } else {
        println!("results DISAGREE on {disagree:?}");
        println!("engine: {}", Value::Object(checks.clone()));
        println!("duckdb: {}", duck["checks"]);
    }
    println!(
        "{}",
        json!({"rules_duckdb": {"reprocess_s": reprocess, "recompute_s": recompute, "duckdb_s": duck_s, "duckdb_load_s": load_s, "duckdb_1_thread_s": one_thread_s,
                                "ratio": ratio, "duckdb_threads": duck["threads"], "results_agree": equal}})
    );
    Ok(())
}
