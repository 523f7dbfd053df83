//! The demo workspace: the seeds' examples (a school district with schools and teachers, an
//! enterprise parent with regional subsidiaries, standalone accounts), a few hundred records,
//! so a newcomer sees a realistic customer base at once. Loading is idempotent: every record
//! is an upsert on its external id.

use serde_json::{Map, Value, json};
use steward_engine::domain::{Email, ExternalId, RecordName, TraitPatch};
use steward_store::rows::KeyRole;
use steward_store::write::{
    AccountFields, EventKind, EventWrite, IngestAction, IngestOp, OrganizationFields, RecordRef,
    UserFields, Write,
};

use crate::app::AppState;
use crate::keys;

pub const DEMO_WORKSPACE: &str = "demo";

/// A small deterministic generator, so the demo is the same on every machine.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const FIRST: [&str; 24] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "Tim",
    "Hedy",
    "Linus",
    "Katherine",
    "John",
    "Sophie",
    "Carlos",
    "Amara",
    "Wei",
    "Priya",
    "Yusuf",
    "Ingrid",
    "Mateo",
];
const LAST: [&str; 20] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
    "Ritchie", "Perlman", "Lee", "Lamarr", "Torvalds", "Johnson", "McCarthy", "Wilson", "Diaz",
    "Okafor", "Zhang",
];

fn traits(v: Value) -> TraitPatch {
    TraitPatch::from_map(v.as_object().cloned().unwrap_or_else(Map::new))
}

fn org(id: &str, name: &str, t: Value) -> Write {
    Write::UpsertOrganization {
        external_id: ExternalId::parse("externalId", id).expect("demo id"),
        fields: OrganizationFields {
            name: Some(RecordName::parse("name", name).expect("demo name")),
            traits: traits(t),
        },
    }
}

fn account(id: &str, name: &str, org: Option<&str>, t: Value) -> Write {
    Write::UpsertAccount {
        external_id: ExternalId::parse("externalId", id).expect("demo id"),
        fields: AccountFields {
            name: Some(RecordName::parse("name", name).expect("demo name")),
            traits: traits(t),
            organization: Some(org.map(|o| RecordRef(o.to_owned()))),
            ..AccountFields::default()
        },
    }
}

fn user(
    dice: &mut Dice,
    id: &str,
    domain: &str,
    accounts: &[&str],
    orgs: &[&str],
    role: &str,
) -> Write {
    let first = dice.pick(&FIRST);
    let last = dice.pick(&LAST);
    let email = format!(
        "{}.{}.{}@{domain}",
        first.to_lowercase(),
        last.to_lowercase(),
        id.rsplit('-').next().unwrap_or("0")
    );
    Write::UpsertUser {
        external_id: ExternalId::parse("externalId", id).expect("demo id"),
        fields: UserFields {
            name: Some(Some(format!("{first} {last}"))),
            email: Some(Some(Email::parse("email", &email).expect("demo email"))),
            traits: traits(
                json!({ "role": role, "seniority": dice.pick(&["junior", "senior", "lead"]) }),
            ),
            accounts: Some(
                accounts
                    .iter()
                    .map(|a| RecordRef((*a).to_owned()))
                    .collect(),
            ),
            organizations: Some(orgs.iter().map(|o| RecordRef((*o).to_owned())).collect()),
            ..UserFields::default()
        },
    }
}

/// Every write of the demo, parents before children.
pub fn demo_writes() -> Vec<Write> {
    let mut dice = Dice(2026);
    let mut w = Vec::new();

    // A school district: the organization is the district, accounts are schools, users teachers.
    w.push(org(
        "district-springfield",
        "Springfield Unified School District",
        json!({"segment": "Education", "region": "US", "students": 18400}),
    ));
    let schools = [
        "Springfield Elementary",
        "Shelbyville Middle",
        "Springfield High",
        "Ogdenville Academy",
        "North Haverbrook Prep",
        "Capital City Magnet",
    ];
    for (i, school) in schools.iter().enumerate() {
        let id = format!("school-{}", i + 1);
        w.push(account(&id, school, Some("district-springfield"), json!({"plan": "education", "mrr": 400 + 150 * i as u64, "seats": 40 + 10 * i as u64, "renewalDate": format!("2027-0{}-01", 1 + i % 9)})));
        for t in 0..dice.range(10, 18) {
            let role = if t == 0 { "principal" } else { "teacher" };
            w.push(user(
                &mut dice,
                &format!("{id}-teacher-{t}"),
                "springfield.k12.us",
                &[&id],
                &[],
                role,
            ));
        }
    }
    w.push(user(
        &mut dice,
        "district-superintendent-1",
        "springfield.k12.us",
        &[],
        &["district-springfield"],
        "superintendent",
    ));

    // An enterprise parent with regional subsidiaries.
    w.push(org(
        "globex",
        "Globex Corporation",
        json!({"segment": "Enterprise", "industry": "Manufacturing", "employees": 52000}),
    ));
    for (code, region, mrr) in [
        ("us", "Globex US", 24000),
        ("emea", "Globex EMEA", 16500),
        ("apac", "Globex APAC", 9800),
        ("latam", "Globex LATAM", 4200),
    ] {
        let id = format!("globex-{code}");
        w.push(account(&id, region, Some("globex"), json!({"plan": "enterprise", "mrr": mrr, "region": code.to_uppercase(), "seats": mrr / 40})));
        for u in 0..dice.range(15, 25) {
            let role = dice.pick(&["admin", "analyst", "operator", "manager"]);
            w.push(user(
                &mut dice,
                &format!("{id}-user-{u}"),
                "globex.example",
                &[&id],
                &[],
                role,
            ));
        }
    }
    // People who work across regions, and a global VP who sits on the organization itself.
    w.push(user(
        &mut dice,
        "globex-user-shared-1",
        "globex.example",
        &["globex-us", "globex-emea"],
        &[],
        "manager",
    ));
    w.push(user(
        &mut dice,
        "globex-vp-1",
        "globex.example",
        &[],
        &["globex"],
        "vp",
    ));

    w.push(org(
        "initech",
        "Initech Holdings",
        json!({"segment": "Mid-Market", "industry": "Software"}),
    ));
    for (id, name, mrr) in [
        ("initech-core", "Initech Core", 3100),
        ("initech-labs", "Initech Labs", 900),
    ] {
        w.push(account(
            id,
            name,
            Some("initech"),
            json!({"plan": "growth", "mrr": mrr}),
        ));
        for u in 0..dice.range(5, 9) {
            w.push(user(
                &mut dice,
                &format!("{id}-user-{u}"),
                "initech.example",
                &[id],
                &[],
                "member",
            ));
        }
    }

    // Standalone accounts: most customers have no parent organization.
    let startups = [
        "Acme Analytics",
        "Bluebird Health",
        "Copperleaf Labs",
        "Driftwood Media",
        "Evergreen Logistics",
        "Foxglove Retail",
        "Granite Payments",
        "Harbor Robotics",
        "Ironbark Security",
        "Juniper Travel",
        "Kestrel Energy",
        "Lumen Learning",
        "Maple Finance",
        "Nimbus Cloudworks",
        "Orchid Biotech",
        "Pinecone Games",
        "Quartz Legal",
        "Redwood Realty",
        "Saffron Foods",
        "Tidewater Marine",
    ];
    for (i, name) in startups.iter().enumerate() {
        let id = format!("acct-{}", 100 + i);
        let plan = dice.pick(&["starter", "growth", "growth", "pro"]);
        let mrr = match plan {
            "starter" => 99,
            "growth" => 499,
            _ => 1499,
        } * dice.range(1, 3);
        let domain = format!(
            "{}.example",
            name.split(' ').next().unwrap_or("x").to_lowercase()
        );
        w.push(account(
            &id,
            name,
            None,
            json!({"plan": plan, "mrr": mrr, "seats": dice.range(3, 40), "trial": i % 7 == 0}),
        ));
        for u in 0..dice.range(3, 8) {
            let role = if u == 0 { "owner" } else { "member" };
            w.push(user(
                &mut dice,
                &format!("{id}-user-{u}"),
                &domain,
                &[&id],
                &[],
                role,
            ));
        }
    }
    w
}

/// Three months of product events up to `now`, as ingestion messages. Most accounts are
/// healthy; a few have gone quiet in the last weeks, so the metrics tell different stories.
pub fn demo_events(now: steward_engine::time::Millis) -> Vec<IngestOp> {
    const DAY: i64 = 86_400_000;
    let mut dice = Dice(7);
    let mut ops = Vec::new();
    let mut users: Vec<(String, String, &'static [&'static str], u64)> = Vec::new();
    for write in demo_writes() {
        if let Write::UpsertUser {
            external_id,
            fields,
        } = write
        {
            let Some(account) = fields.accounts.as_ref().and_then(|a| a.first()) else {
                continue;
            };
            let account = account.0.clone();
            let names: &'static [&'static str] = if account.starts_with("school") {
                &[
                    "Logged In",
                    "Lesson Assigned",
                    "Grade Posted",
                    "Report Viewed",
                ]
            } else if account.starts_with("globex") || account.starts_with("initech") {
                &[
                    "Logged In",
                    "Dashboard Viewed",
                    "Report Exported",
                    "Invite Sent",
                    "Workflow Run",
                ]
            } else {
                &[
                    "Logged In",
                    "Project Created",
                    "Dashboard Viewed",
                    "Invite Sent",
                ]
            };
            // Accounts that went quiet: their users stop 20 to 40 days ago.
            let quiet =
                ["acct-103", "acct-108", "acct-115", "initech-labs"].contains(&account.as_str());
            let stop_days_ago = if quiet { dice.range(20, 40) } else { 0 };
            users.push((external_id.into_string(), account, names, stop_days_ago));
        }
    }
    for (i, (user, account, names, stop)) in users.iter().enumerate() {
        let busy = dice.range(10, 60);
        for day in (*stop as i64)..90 {
            if dice.range(0, 99) >= busy {
                continue;
            }
            for n in 0..dice.range(1, 4) {
                let at = now.0 - day * DAY - dice.range(0, 8 * 3_600_000) as i64;
                let name = names[(dice.next() as usize) % names.len()];
                let name = if n == 0 { "Logged In" } else { name };
                let event = EventWrite {
                    kind: EventKind::Track,
                    name: name.to_owned(),
                    user: Some(ExternalId::parse("userId", user).expect("demo id")),
                    account: Some(ExternalId::parse("accountId", account).expect("demo id")),
                    organization: None,
                    at: steward_engine::time::Millis(at),
                    properties: steward_store::write::Properties::from_map(
                        json!({"source": "demo"}).as_object().expect("an object"),
                    ),
                };
                // Keyed by calendar day: loading the demo again later skips the days it has.
                let day_number = (now.0 - day * DAY).div_euclid(DAY);
                ops.push(IngestOp {
                    message_id: format!("demo:{i}:{day_number}:{n}").into(),
                    actions: vec![IngestAction::Event(event)],
                });
            }
        }
    }
    ops
}

/// Loads the demo workspace (idempotent) and returns a new admin key for it.
pub async fn load(state: &AppState) -> anyhow::Result<String> {
    let now = state.clock.now();
    let ws = keys::find_or_create_workspace(&state.store, DEMO_WORKSPACE, now).await?;
    // Parents first; within a level the writes go together, so the writer commits them in
    // a few batches instead of one transaction each.
    let (orgs, rest): (Vec<Write>, Vec<Write>) = demo_writes()
        .into_iter()
        .partition(|w| matches!(w, Write::UpsertOrganization { .. }));
    let (accounts, users): (Vec<Write>, Vec<Write>) = rest
        .into_iter()
        .partition(|w| matches!(w, Write::UpsertAccount { .. }));
    for level in [orgs, accounts, users] {
        let results =
            futures::future::join_all(level.into_iter().map(|w| state.writer.write(ws.id, w)))
                .await;
        for result in results {
            result.map_err(|e| anyhow::anyhow!("demo write failed: {}", e.message))?;
        }
    }
    crate::demo_roles::load(state, ws.id).await?;
    crate::demo_conversations::load(state, ws.id).await?;
    load_derivation(state, ws.id).await?;
    let events = demo_events(now);
    for chunk in events.chunks(2_000) {
        state
            .writer
            .write(ws.id, Write::Ingest(chunk.to_vec()))
            .await
            .map_err(|e| anyhow::anyhow!("demo events failed: {}", e.message))?;
    }
    let key = crate::auth::generate_key();
    keys::register_key(&state.store, &ws, &key, Some("demo"), KeyRole::Admin, now).await?;
    Ok(key)
}

/// Formula traits, a rollup and lifecycle rules that make sense for the demo's data.
fn demo_derivation() -> Value {
    json!({
        "formulas": [
            {"model": "account", "key": "arr", "label": "ARR", "expression": "coalesce(traits.mrr, 0) * 12"},
            {"model": "account", "key": "activeUsers", "label": "Active users (30 days)",
             "expression": "count(users where lastSeenTimestamp in last 30 days)"},
            {"model": "account", "key": "ownerLastWrote", "label": "Days since the owner wrote",
             "expression": "days_since(owner.lastInboundMessageTimestamp)"},
            {"model": "organization", "key": "totalArr", "label": "Total ARR", "expression": "sum(accounts, arr)"}
        ],
        "lifecycle": {
            "organizations": {
                "churnCondition": "count(accounts) > 0 && count(accounts where ownStatus != \"churned\") == 0"
            },
            "accounts": {
                "revenueTraits": ["traits.mrr"],
                "trialCondition": "traits.trial == true",
                "churnCondition": "traits.plan == \"canceled\""
            }
        }
    })
}

async fn load_derivation(
    state: &AppState,
    ws: steward_engine::ids::WorkspaceId,
) -> anyhow::Result<()> {
    let derivation = demo_derivation();
    let write = Write::Config(steward_store::assign::ConfigWrite::Put {
        name: crate::derived::DOCUMENT.to_owned(),
        value: derivation.clone(),
    });
    let schema = crate::derived::stored_schema(&state.store, ws)
        .await
        .map_err(|e| anyhow::anyhow!("demo configuration failed: {}", e.message))?;
    let then = crate::writer::Then::Configure {
        config: Some(derivation),
        schema,
    };
    state
        .writer
        .write_then(ws, write, then)
        .await
        .map_err(|e| anyhow::anyhow!("demo configuration failed: {}", e.message))?;
    Ok(())
}
