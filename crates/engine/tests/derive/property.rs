//! The property: whatever the writes and their order, the values the engine keeps
//! incrementally are the values a fresh engine computes from the final data (given the
//! persisted lifecycle state, as at a restart), and a full re-evaluation changes nothing.
//! The steps include messages (the last inbound and outbound message, also through owners).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use steward_engine::conversations::{Direction, MessageChange};
use steward_engine::derive::{DerivedChange, RecordInput, RecordRef};
use steward_engine::ids::{AdminId, MessageId};
use steward_engine::metrics::{EventInput, EventKind};
use steward_engine::{AssignmentChange, Customer, Engine, GraphChange, RoleKey};

use super::*;

const ORGS: u32 = 3;
const ACCOUNTS: u32 = 5;
const USERS: u32 = 8;

fn config_a() -> serde_json::Value {
    json!({
        "formulas": [
            {"model": "user", "key": "seats2", "label": "", "expression": "seats * 2"},
            {"model": "user", "key": "recent", "label": "", "expression": "lastSeenTimestamp in last 3 days"},
            {"model": "user", "key": "churnedAccounts", "label": "", "expression": "count(accounts where status == \"churned\")"},
            {"model": "account", "key": "arr", "label": "", "expression": "amount * 12"},
            {"model": "account", "key": "seatTotal", "label": "", "expression": "sum(users, seats2)"},
            {"model": "account", "key": "activeUsers", "label": "", "expression": "count(users where recent)"},
            {"model": "account", "key": "avgSeats", "label": "", "expression": "avg(users where role != \"bot\", seats)"},
            {"model": "account", "key": "orgCanceled", "label": "", "expression": "organization.canceled"},
            {"model": "account", "key": "orgTotal", "label": "", "expression": "organization.total"},
            {"model": "account", "key": "young", "label": "", "expression": "days_since(createdAt) < 2"},
            {"model": "organization", "key": "total", "label": "", "expression": "sum(accounts, arr)"},
            {"model": "organization", "key": "people", "label": "", "expression": "count(users where seats > 1)"},
            {"model": "organization", "key": "churnedCount", "label": "", "expression": "count(accounts where status == \"churned\")"},
            {"model": "organization", "key": "usersSeen", "label": "", "expression": "lastSeenTimestamp"},
            {"model": "account", "key": "ownerSeats", "label": "", "expression": "owner.seats"},
            {"model": "account", "key": "ownerSeen", "label": "", "expression": "owner.lastSeenTimestamp"},
            {"model": "account", "key": "ownerSessions", "label": "", "expression": "owner.sessions + owner.seats2"},
            {"model": "account", "key": "csmEmail", "label": "", "expression": "keyRoles.csm.email"},
            {"model": "organization", "key": "ownerRole", "label": "", "expression": "owner.role"},
            {"model": "organization", "key": "ownedBig", "label": "", "expression": "count(accounts where owner.seats > 1)"},
            {"model": "organization", "key": "csm", "label": "", "expression": "csmId"},
            {"model": "organization", "key": "csmAccounts", "label": "", "expression": "count(accounts where keyRoles.csm.id is set)"},
            {"model": "user", "key": "wrote", "label": "", "expression": "lastInboundMessageTimestamp"},
            {"model": "account", "key": "ownerWrote", "label": "", "expression": "owner.lastInboundMessageTimestamp"},
            {"model": "account", "key": "answered", "label": "", "expression": "lastOutboundMessageTimestamp in last 2 days"},
            {"model": "organization", "key": "ownersWriting", "label": "", "expression": "count(accounts where owner.lastInboundMessageTimestamp in last 1 days)"}
        ],
        "lifecycle": {
            "organizations": {
                "churnCondition": "canceled == true || (count(accounts) > 0 && count(accounts where ownStatus != \"churned\") == 0)",
                "track": {"mode": "exclude", "condition": "test == true"}
            },
            "accounts": {
                "revenueTraits": ["amount"],
                "paidCondition": "isTrial != true",
                "trialCondition": "plan == \"trial\"",
                "trialEndDateTrait": "trialEnds",
                "churnCondition": {"any": [{"field": "canceled", "op": "is_true"}]},
                "track": {"mode": "exclude", "condition": "plan == \"x\""}
            }
        },
        "userDeactivation": "role == \"bot\" || usersCountOfNothing == 1"
    })
}

fn config_b() -> serde_json::Value {
    json!({
        "formulas": [
            {"model": "account", "key": "arr", "label": "", "expression": "amount * 12"},
            {"model": "organization", "key": "total", "label": "", "expression": "sum(accounts, arr)"}
        ],
        "lifecycle": {
            "accounts": {
                "revenueTraits": ["amount"],
                "trialCondition": "isTrial == true",
                "trialEndDateTrait": "trialEnds",
                "unconvertedTrials": "keepAsTrial",
                "churnCondition": "plan == \"x\""
            }
        },
        "userDeactivation": "seats == 3"
    })
}

fn config(which: bool) -> serde_json::Value {
    let mut c = if which { config_a() } else { config_b() };
    // (A deliberately unknown name above would be a compile error; strip the test hook.)
    if let Some(d) = c.get_mut("userDeactivation") {
        *d = json!(
            d.as_str()
                .unwrap()
                .replace(" || usersCountOfNothing == 1", "")
        );
    }
    c
}

#[derive(Clone, Debug)]
enum Step {
    Org(u32),
    Account(u32, Option<u32>),
    User(u32, Vec<u32>),
    DeleteOrg(u32),
    DeleteAccount(u32),
    DeleteUser(u32),
    Set(RecordRef, &'static str, Value),
    Hours(i64),
    Event(u32, Option<u32>),
    Reconfigure(bool),
    Reprocess,
    /// An account's (`true`) or organization's owner.
    Owner(bool, u32, Option<u32>),
    /// An account's (`true`) or organization's CSM.
    Csm(bool, u32, Option<u32>),
    TeamEmail(u32, u32),
    DeleteAdmin(u32),
    /// A message (recorded again: replaced), inbound (`true`) or outbound, with its users.
    Message(u32, bool, Vec<u32>),
    ForgetMessage(u32),
}

const MESSAGES: u32 = 4;

const ADMINS: u32 = 3;

fn account_value() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        prop::sample::select(vec![Value::Null, json!(0), json!(5), json!(10)])
            .prop_map(|v| ("amount", v)),
        prop::sample::select(vec![Value::Null, json!(true), json!(false)])
            .prop_map(|v| ("isTrial", v)),
        prop::sample::select(vec![Value::Null, json!("pro"), json!("trial"), json!("x")])
            .prop_map(|v| ("plan", v)),
        prop::sample::select(vec![Value::Null, json!(true), json!(false)])
            .prop_map(|v| ("canceled", v)),
        (0..6i32).prop_map(|d| (
            "trialEnds",
            if d == 0 {
                Value::Null
            } else {
                json!(iso(f64::from(d) * 0.7))
            }
        )),
    ]
}

fn org_value() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        prop::sample::select(vec![Value::Null, json!(true), json!(false)])
            .prop_map(|v| ("canceled", v)),
        prop::sample::select(vec![Value::Null, json!(true), json!(false)])
            .prop_map(|v| ("test", v)),
    ]
}

fn user_value() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        prop::sample::select(vec![Value::Null, json!(1), json!(2), json!(3)])
            .prop_map(|v| ("seats", v)),
        prop::sample::select(vec![Value::Null, json!("admin"), json!("bot")])
            .prop_map(|v| ("role", v)),
    ]
}

fn step(with_rule_changes: bool) -> impl Strategy<Value = Step> {
    let steps = prop_oneof![
        2 => (0..ORGS).prop_map(Step::Org),
        3 => (0..ACCOUNTS, proptest::option::of(0..ORGS)).prop_map(|(i, o)| Step::Account(i, o)),
        4 => (0..USERS, proptest::collection::vec(0..ACCOUNTS, 0..3)).prop_map(|(i, a)| Step::User(i, a)),
        1 => (0..ORGS).prop_map(Step::DeleteOrg),
        1 => (0..ACCOUNTS).prop_map(Step::DeleteAccount),
        1 => (0..USERS).prop_map(Step::DeleteUser),
        6 => (0..ACCOUNTS, account_value()).prop_map(|(i, (k, v))| Step::Set(a(i), k, v)),
        2 => (0..ORGS, org_value()).prop_map(|(i, (k, v))| Step::Set(o(i), k, v)),
        4 => (0..USERS, user_value()).prop_map(|(i, (k, v))| Step::Set(u(i), k, v)),
        3 => (0..40i64).prop_map(Step::Hours),
        3 => (0..USERS, proptest::option::of(0..ACCOUNTS)).prop_map(|(i, a)| Step::Event(i, a)),
        1 => any::<bool>().prop_map(Step::Reconfigure),
        1 => Just(Step::Reprocess),
        2 => (any::<bool>(), 0..ACCOUNTS, proptest::option::of(0..USERS)).prop_map(|(k, i, u)| Step::Owner(k, i, u)),
        2 => (any::<bool>(), 0..ACCOUNTS, proptest::option::of(0..ADMINS)).prop_map(|(k, i, m)| Step::Csm(k, i, m)),
        1 => (0..ADMINS, 0..3u32).prop_map(|(m, e)| Step::TeamEmail(m, e)),
        1 => (0..ADMINS).prop_map(Step::DeleteAdmin),
        3 => (0..MESSAGES, any::<bool>(), proptest::collection::vec(0..USERS, 0..3)).prop_map(|(m, i, us)| Step::Message(m, i, us)),
        1 => (0..MESSAGES).prop_map(Step::ForgetMessage),
    ];
    steps.prop_map(move |s| match s {
        Step::Reconfigure(_) | Step::Reprocess if !with_rule_changes => Step::Hours(1),
        other => other,
    })
}

struct World {
    engine: Engine,
    traits: BTreeMap<RecordRef, Map<String, Value>>,
    /// The events the engine counted, in order, for replay.
    counted: Vec<(Millis, Option<u32>, Option<u32>)>,
    now: Millis,
    config: bool,
    /// Owners and CSMs by customer, team members' e-mails: replayed into a fresh engine.
    owners: BTreeMap<RecordRef, u32>,
    csms: BTreeMap<RecordRef, u32>,
    team: BTreeMap<u32, String>,
    /// Messages as storage keeps them (a deleted user leaves them): direction, time, users.
    messages: BTreeMap<u32, (bool, Millis, Vec<u32>)>,
}

fn message_change(m: u32, inbound: bool, at: Millis, users: &[u32]) -> GraphChange {
    GraphChange::Messages(MessageChange::Record {
        message: MessageId(uuid::Uuid::from_u128(0x6_0000 + u128::from(m))),
        direction: if inbound {
            Direction::Inbound
        } else {
            Direction::Outbound
        },
        at,
        users: users.iter().copied().map(usr).collect(),
    })
}

fn admin(i: u32) -> AdminId {
    AdminId(uuid::Uuid::from_u128(0x4_0000 + u128::from(i)))
}

fn customer(account: bool, i: u32) -> (RecordRef, Customer) {
    if account {
        (a(i), Customer::Account(acc(i)))
    } else {
        let i = i % ORGS;
        (o(i), Customer::Organization(org(i)))
    }
}

fn as_customer(record: RecordRef) -> Customer {
    match record {
        RecordRef::Account(id) => Customer::Account(id),
        RecordRef::Organization(id) => Customer::Organization(id),
        RecordRef::User(_) => unreachable!("users are no customers"),
    }
}

fn exists(engine: &Engine, record: RecordRef) -> bool {
    let Some(g) = engine.graph(ws()) else {
        return false;
    };
    match record {
        RecordRef::Organization(id) => g.has_organization(id),
        RecordRef::Account(id) => g.has_account(id),
        RecordRef::User(id) => g.has_user(id),
    }
}

fn inputs(traits: &BTreeMap<RecordRef, Map<String, Value>>) -> Vec<RecordInput<'_>> {
    traits
        .iter()
        .map(|(record, traits)| RecordInput {
            record: *record,
            name: None,
            traits,
            extra: None,
        })
        .collect()
}

fn event(at: Millis, user: Option<u32>, account: Option<u32>) -> EventInput<'static> {
    EventInput {
        at,
        kind: EventKind::Track,
        name: "used",
        user: user.map(usr),
        account: account.map(acc),
        organization: None,
    }
}

impl World {
    fn new() -> Self {
        let mut engine = Engine::new();
        engine.configure(ws(), compiled(config(true)), [], Millis(T0));
        World {
            engine,
            traits: BTreeMap::new(),
            counted: Vec::new(),
            now: Millis(T0),
            config: true,
            owners: BTreeMap::new(),
            csms: BTreeMap::new(),
            team: BTreeMap::new(),
            messages: BTreeMap::new(),
        }
    }

    fn assign(&mut self, change: AssignmentChange) {
        self.graph(GraphChange::Assignment(change));
    }

    fn graph(&mut self, change: GraphChange) {
        self.engine.apply_at(ws(), &change, self.now);
    }

    fn step(&mut self, step: &Step) {
        let now = self.now;
        match step {
            Step::Org(i) => self.graph(GraphChange::UpsertOrganization {
                id: org(*i),
                created_at: now,
                updated_at: now,
            }),
            Step::Account(i, parent) => {
                let parent = parent.filter(|p| exists(&self.engine, o(*p)));
                self.graph(GraphChange::UpsertAccount {
                    id: acc(*i),
                    organization: parent.map(org),
                    created_at: now,
                    updated_at: now,
                });
            }
            Step::User(i, accounts) => {
                let accounts = accounts
                    .iter()
                    .copied()
                    .filter(|x| exists(&self.engine, a(*x)))
                    .map(acc)
                    .collect();
                self.graph(GraphChange::UpsertUser {
                    id: usr(*i),
                    accounts,
                    organizations: Vec::new(),
                    created_at: now,
                    updated_at: now,
                });
            }
            Step::DeleteOrg(i) => {
                self.traits.remove(&o(*i));
                self.owners.remove(&o(*i));
                self.csms.remove(&o(*i));
                self.graph(GraphChange::DeleteOrganization { id: org(*i) });
            }
            Step::DeleteAccount(i) => {
                // A deleted record's metrics go with it: so does its part of replayed events.
                for e in &mut self.counted {
                    if e.2 == Some(*i) && exists(&self.engine, a(*i)) {
                        e.2 = None;
                    }
                }
                self.traits.remove(&a(*i));
                self.owners.remove(&a(*i));
                self.csms.remove(&a(*i));
                self.graph(GraphChange::DeleteAccount { id: acc(*i) });
            }
            Step::DeleteUser(i) => {
                for e in &mut self.counted {
                    if e.1 == Some(*i) && exists(&self.engine, u(*i)) {
                        e.1 = None;
                    }
                }
                self.traits.remove(&u(*i));
                self.owners.retain(|_, owner| owner != i);
                for (_, _, users) in self.messages.values_mut() {
                    users.retain(|x| x != i);
                }
                self.graph(GraphChange::DeleteUser { id: usr(*i) });
            }
            Step::Set(record, key, value) => {
                if !exists(&self.engine, *record) {
                    return;
                }
                let traits = self.traits.entry(*record).or_default();
                if value.is_null() {
                    traits.remove(*key);
                } else {
                    traits.insert((*key).to_owned(), value.clone());
                }
                let input = RecordInput {
                    record: *record,
                    name: None,
                    traits,
                    extra: None,
                };
                self.engine.set_traits(ws(), input, now);
            }
            Step::Hours(h) => {
                self.now = Millis(now.0 + h * 3_600_000);
                self.engine.advance(ws(), self.now);
            }
            Step::Event(user, account) => {
                if !exists(&self.engine, u(*user))
                    || account.is_some_and(|x| !exists(&self.engine, a(x)))
                {
                    return;
                }
                let e = event(now, Some(*user), *account);
                if self.engine.counts_event(ws(), &e) {
                    self.counted.push((now, Some(*user), *account));
                }
                self.engine.record_event(ws(), &e);
            }
            Step::Reconfigure(which) => {
                self.config = *which;
                let compiled = compiled(config(*which));
                self.engine
                    .configure(ws(), compiled, inputs(&self.traits), now);
            }
            Step::Reprocess => {
                self.engine.reprocess(ws(), now);
            }
            Step::Owner(account, i, user) => {
                let (record, customer) = customer(*account, *i);
                let user = user.filter(|x| exists(&self.engine, u(*x)));
                if !exists(&self.engine, record) {
                    return;
                }
                match user {
                    Some(x) => self.owners.insert(record, x),
                    None => self.owners.remove(&record),
                };
                self.assign(AssignmentChange::SetOwner {
                    customer,
                    user: user.map(usr),
                });
            }
            Step::Csm(account, i, member) => {
                let (record, customer) = customer(*account, *i);
                if !exists(&self.engine, record) {
                    return;
                }
                match member {
                    Some(m) => self.csms.insert(record, *m),
                    None => self.csms.remove(&record),
                };
                self.assign(AssignmentChange::SetKeyRole {
                    customer,
                    role: RoleKey::csm(),
                    admin: member.map(admin),
                });
            }
            Step::TeamEmail(m, e) => {
                let email = format!("m{m}-{e}@team.example");
                self.team.insert(*m, email.clone());
                self.assign(AssignmentChange::TeamMember {
                    admin: admin(*m),
                    email,
                });
            }
            Step::DeleteAdmin(m) => {
                self.team.remove(m);
                self.csms.retain(|_, holder| holder != m);
                self.assign(AssignmentChange::ForgetAdmin { admin: admin(*m) });
            }
            Step::Message(m, inbound, users) => {
                let mut users: Vec<u32> = users
                    .iter()
                    .copied()
                    .filter(|x| exists(&self.engine, u(*x)))
                    .collect();
                users.sort_unstable();
                users.dedup();
                self.graph(message_change(*m, *inbound, now, &users));
                self.messages.insert(*m, (*inbound, now, users));
            }
            Step::ForgetMessage(m) => {
                self.messages.remove(m);
                self.graph(GraphChange::Messages(MessageChange::Forget {
                    message: MessageId(uuid::Uuid::from_u128(0x6_0000 + u128::from(*m))),
                }));
            }
        }
    }

    /// A fresh engine from the final data: graph, counted events, persisted lifecycle state,
    /// then the rules (what start-up does).
    fn rebuild(&self) -> Engine {
        let mut fresh = Engine::new();
        let Some(graph) = self.engine.graph(ws()) else {
            fresh.configure(ws(), compiled(config(self.config)), [], self.now);
            return fresh;
        };
        for id in graph.organization_ids() {
            let (c, u) = graph.organization_stamps(id).unwrap();
            fresh.apply_at(
                ws(),
                &GraphChange::UpsertOrganization {
                    id,
                    created_at: c,
                    updated_at: u,
                },
                self.now,
            );
        }
        for id in graph.account_ids() {
            let (c, u) = graph.account_stamps(id).unwrap();
            let organization = graph.account_organization(id);
            fresh.apply_at(
                ws(),
                &GraphChange::UpsertAccount {
                    id,
                    organization,
                    created_at: c,
                    updated_at: u,
                },
                self.now,
            );
        }
        for id in graph.user_ids() {
            let (c, u) = graph.user_stamps(id).unwrap();
            let change = GraphChange::UpsertUser {
                id,
                accounts: graph.user_accounts(id),
                organizations: graph.user_direct_organizations(id),
                created_at: c,
                updated_at: u,
            };
            fresh.apply_at(ws(), &change, self.now);
        }
        let mut assign = |change| {
            fresh.apply_at(ws(), &GraphChange::Assignment(change), self.now);
        };
        for (m, email) in &self.team {
            assign(AssignmentChange::TeamMember {
                admin: admin(*m),
                email: email.clone(),
            });
        }
        for (record, user) in &self.owners {
            assign(AssignmentChange::SetOwner {
                customer: as_customer(*record),
                user: Some(usr(*user)),
            });
        }
        for (record, m) in &self.csms {
            assign(AssignmentChange::SetKeyRole {
                customer: as_customer(*record),
                role: RoleKey::csm(),
                admin: Some(admin(*m)),
            });
        }
        for (at, user, account) in &self.counted {
            fresh.record_event(ws(), &event(*at, *user, *account));
        }
        for (m, (inbound, at, users)) in &self.messages {
            fresh.apply_at(ws(), &message_change(*m, *inbound, *at, users), self.now);
        }
        fresh.restore(ws(), &self.engine.lifecycle_state(ws()));
        fresh.configure(
            ws(),
            compiled(config(self.config)),
            inputs(&self.traits),
            self.now,
        );
        fresh
    }

    fn records(&self) -> Vec<RecordRef> {
        let Some(g) = self.engine.graph(ws()) else {
            return Vec::new();
        };
        g.organization_ids()
            .map(RecordRef::Organization)
            .chain(g.account_ids().map(RecordRef::Account))
            .chain(g.user_ids().map(RecordRef::User))
            .collect()
    }

    fn assert_matches(&self, fresh: &Engine) {
        for record in self.records() {
            assert_eq!(
                self.engine.derived(ws(), record),
                fresh.derived(ws(), record),
                "{record:?} differs from a full recomputation"
            );
        }
    }
}

fn run(steps: &[Step], rule_changes: bool) {
    let mut world = World::new();
    for s in steps {
        world.step(s);
    }
    let fresh = world.rebuild();
    world.assert_matches(&fresh);
    if !rule_changes {
        // A full re-evaluation of the incremental engine finds nothing to change.
        let now = world.now;
        let out: Vec<DerivedChange> = world
            .engine
            .recompute(ws(), now)
            .into_iter()
            .filter(|c| !matches!(c, DerivedChange::Persist(_)))
            .collect();
        assert!(out.is_empty(), "recompute changed {out:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn incremental_derivation_equals_full_recomputation(
        steps in proptest::collection::vec(step(false), 0..80)
    ) {
        run(&steps, false);
    }

    #[test]
    fn incremental_derivation_equals_a_restart_across_rule_edits(
        steps in proptest::collection::vec(step(true), 0..80)
    ) {
        run(&steps, true);
    }
}
