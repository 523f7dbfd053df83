//! Organizations, accounts and users as JSON bytes: the read path's rendering, byte for byte
//! the same as serde_json's form of [`crate::render`]'s values (the tests below hold them
//! together), without building a `Value` tree.
//!
//! Each kind has a template of its stored members (cacheable, see `body_cache`) and a fill for
//! its derived members, read from the engine at render time.

use steward_engine::ids::{AccountId, AdminId, OrganizationId, UserId};
use steward_engine::metrics::Seen;
use steward_engine::page::RecordSlot;
use steward_engine::time::Millis;
use steward_engine::{Customer, LastMessages, RecordRef, RoleKey};
use steward_store::rows::{AccountRow, OrganizationRow, UserRow};
use uuid::Uuid;

use crate::render::View;
use crate::template::{Members, Template, TemplateBuilder};

fn seen(view: &View<'_>, of: impl FnOnce(&steward_engine::Metrics) -> Seen) -> Seen {
    view.metrics.map(of).unwrap_or_default()
}

/// Who is responsible for a customer (as `assign::render` shows it): key roles and owner.
struct Responsible<'a> {
    roles: &'a [(RoleKey, AdminId)],
    owner: Option<UserId>,
}

impl<'a> Responsible<'a> {
    fn of(view: &View<'a>, customer: Customer) -> Self {
        Self {
            roles: view.assignments.map_or(&[], |a| a.key_roles.of(customer)),
            owner: view.assignments.and_then(|a| a.owners.of(customer)),
        }
    }

    fn holder(&self, role: &str) -> Option<uuid::Uuid> {
        self.roles
            .iter()
            .find(|(r, _)| r.as_str() == role)
            .map(|(_, a)| a.0)
    }

    fn key_roles(&self) -> Vec<serde_json::Value> {
        self.roles
            .iter()
            .map(|(r, a)| serde_json::json!({"keyRole": r.as_str(), "vitallyUser": a}))
            .collect()
    }
}

/// A derived member of an organization or account: what fills a hole of its template.
#[derive(Clone, Copy)]
enum CustomerHole {
    AccountExecutiveId,
    AccountsCount,
    AccountOwnerId,
    CsmId,
    FirstSeenTimestamp,
    KeyRoles,
    LastInboundMessageTimestamp,
    LastOutboundMessageTimestamp,
    LastSeenTimestamp,
    OrganizationOwnerId,
    UsersCount,
}

/// The holes of [`organization_template`] and [`account_template`], in template order.
const ORGANIZATION_HOLES: [CustomerHole; 10] = [
    CustomerHole::AccountExecutiveId,
    CustomerHole::AccountsCount,
    CustomerHole::CsmId,
    CustomerHole::FirstSeenTimestamp,
    CustomerHole::KeyRoles,
    CustomerHole::LastInboundMessageTimestamp,
    CustomerHole::LastOutboundMessageTimestamp,
    CustomerHole::LastSeenTimestamp,
    CustomerHole::OrganizationOwnerId,
    CustomerHole::UsersCount,
];
const ACCOUNT_HOLES: [CustomerHole; 9] = [
    CustomerHole::AccountExecutiveId,
    CustomerHole::AccountOwnerId,
    CustomerHole::CsmId,
    CustomerHole::FirstSeenTimestamp,
    CustomerHole::KeyRoles,
    CustomerHole::LastInboundMessageTimestamp,
    CustomerHole::LastOutboundMessageTimestamp,
    CustomerHole::LastSeenTimestamp,
    CustomerHole::UsersCount,
];

/// What an organization's or account's holes are filled with, read once per render.
pub struct CustomerFill<'a> {
    responsible: Responsible<'a>,
    seen: Seen,
    messages: LastMessages,
    accounts_count: usize,
    users_count: usize,
}

/// Each hole's key, and the whole member when it is empty (`"key":null,`, or `[]` for
/// `keyRoles`), written in one copy: most customers have no key roles, owner or activity.
macro_rules! customer_hole_keys {
    ($($hole:ident => $key:literal, $empty:literal;)*) => {
        impl CustomerHole {
            fn key(self) -> &'static str {
                match self {
                    $(Self::$hole => $key,)*
                }
            }

            fn empty_member(self) -> &'static [u8] {
                match self {
                    $(Self::$hole => concat!("\"", $key, "\":", $empty, ",").as_bytes(),)*
                }
            }
        }
    };
}

customer_hole_keys! {
    AccountExecutiveId => "accountExecutiveId", "null";
    AccountsCount => "accountsCount", "0";
    AccountOwnerId => "accountOwnerId", "null";
    CsmId => "csmId", "null";
    FirstSeenTimestamp => "firstSeenTimestamp", "null";
    KeyRoles => "keyRoles", "[]";
    LastInboundMessageTimestamp => "lastInboundMessageTimestamp", "null";
    LastOutboundMessageTimestamp => "lastOutboundMessageTimestamp", "null";
    LastSeenTimestamp => "lastSeenTimestamp", "null";
    OrganizationOwnerId => "organizationOwnerId", "null";
    UsersCount => "usersCount", "0";
}

impl CustomerFill<'_> {
    fn member(&self, hole: CustomerHole, m: &mut Members<'_>) {
        let key = hole.key();
        let uuid = |m: &mut Members<'_>, value: Option<Uuid>| {
            match value {
                Some(value) => m.uuid(key, value),
                None => m.raw(hole.empty_member()),
            };
        };
        let iso = |m: &mut Members<'_>, value: Option<Millis>| {
            match value {
                Some(value) => m.iso(key, value),
                None => m.raw(hole.empty_member()),
            };
        };
        let count = |m: &mut Members<'_>, value: usize| {
            match value {
                0 => m.raw(hole.empty_member()),
                n => m.count(key, n),
            };
        };
        match hole {
            CustomerHole::AccountExecutiveId => {
                uuid(m, self.responsible.holder(RoleKey::ACCOUNT_EXECUTIVE))
            }
            CustomerHole::AccountsCount => count(m, self.accounts_count),
            CustomerHole::AccountOwnerId | CustomerHole::OrganizationOwnerId => {
                uuid(m, self.responsible.owner.map(|u| u.0))
            }
            CustomerHole::CsmId => uuid(m, self.responsible.holder(RoleKey::CSM)),
            CustomerHole::FirstSeenTimestamp => iso(m, self.seen.first),
            CustomerHole::KeyRoles if self.responsible.roles.is_empty() => {
                m.raw(hole.empty_member());
            }
            CustomerHole::KeyRoles => {
                m.value(key, &self.responsible.key_roles());
            }
            CustomerHole::LastInboundMessageTimestamp => iso(m, self.messages.inbound),
            CustomerHole::LastOutboundMessageTimestamp => iso(m, self.messages.outbound),
            CustomerHole::LastSeenTimestamp => iso(m, self.seen.last),
            CustomerHole::UsersCount => count(m, self.users_count),
        };
    }
}

pub fn organization_template(row: &OrganizationRow) -> Template {
    let mut t = TemplateBuilder::default();
    t.hole(); // accountExecutiveId
    t.hole(); // accountsCount
    t.members().iso("createdAt", row.created_at);
    t.hole(); // csmId
    t.members().str("externalId", &row.external_id);
    t.hole(); // firstSeenTimestamp
    t.members().uuid("id", row.id.0);
    t.hole(); // keyRoles
    t.hole(); // lastInboundMessageTimestamp
    t.hole(); // lastOutboundMessageTimestamp
    t.hole(); // lastSeenTimestamp
    t.members().str("name", &row.name);
    t.hole(); // organizationOwnerId
    t.members()
        .value("traits", &row.traits)
        .iso("updatedAt", row.updated_at);
    t.hole(); // usersCount
    t.finish()
}

/// What an organization's derived members are filled with (see [`write_organization_filled`]);
/// `place` is where the graph holds it, when known (reads skip the id index).
pub fn organization_fill<'a>(id: Uuid, place: RecordSlot, view: &View<'a>) -> CustomerFill<'a> {
    let id = OrganizationId(id);
    let graph = view.graph;
    CustomerFill {
        responsible: Responsible::of(view, Customer::Organization(id)),
        seen: match graph {
            Some(graph) => seen(view, |m| m.organization_seen(id, graph)),
            None => Seen::default(),
        },
        messages: view.last_messages(RecordRef::Organization(id)),
        accounts_count: graph.map_or(0, |g| g.organization_accounts_count_at(id, place)),
        users_count: graph.map_or(0, |g| g.organization_users_count_at(id, place)),
    }
}

pub fn write_organization_filled(out: &mut Vec<u8>, template: &Template, fill: &CustomerFill<'_>) {
    template.write(out, |hole, m| fill.member(ORGANIZATION_HOLES[hole], m));
}

pub fn write_organization(out: &mut Vec<u8>, id: Uuid, template: &Template, view: &View<'_>) {
    let place = view.graph.map_or(RecordSlot::UNKNOWN, |g| {
        g.organization_record_slot(OrganizationId(id))
    });
    let fill = organization_fill(id, place, view);
    write_organization_filled(out, template, &fill);
}

pub fn account_template(row: &AccountRow) -> Template {
    let mut t = TemplateBuilder::default();
    t.hole(); // accountExecutiveId
    t.hole(); // accountOwnerId
    t.members().iso("createdAt", row.created_at);
    t.hole(); // csmId
    t.members().str("externalId", &row.external_id);
    t.hole(); // firstSeenTimestamp
    t.members().uuid("id", row.id.0);
    t.hole(); // keyRoles
    t.hole(); // lastInboundMessageTimestamp
    t.hole(); // lastOutboundMessageTimestamp
    t.hole(); // lastSeenTimestamp
    t.members()
        .str("name", &row.name)
        .opt_uuid("organizationId", row.organization_id.map(|o| o.0))
        .value("traits", &row.traits)
        .iso("updatedAt", row.updated_at);
    t.hole(); // usersCount
    t.finish()
}

/// What an account's derived members are filled with (see [`write_account_filled`]).
pub fn account_fill<'a>(id: Uuid, place: RecordSlot, view: &View<'a>) -> CustomerFill<'a> {
    let id = AccountId(id);
    CustomerFill {
        responsible: Responsible::of(view, Customer::Account(id)),
        seen: seen(view, |m| m.account_seen(id)),
        messages: view.last_messages(RecordRef::Account(id)),
        accounts_count: 0,
        users_count: view
            .graph
            .map_or(0, |g| g.account_users_count_at(id, place)),
    }
}

pub fn write_account_filled(out: &mut Vec<u8>, template: &Template, fill: &CustomerFill<'_>) {
    template.write(out, |hole, m| fill.member(ACCOUNT_HOLES[hole], m));
}

pub fn write_account(out: &mut Vec<u8>, id: Uuid, template: &Template, view: &View<'_>) {
    let place = view.graph.map_or(RecordSlot::UNKNOWN, |g| {
        g.account_record_slot(AccountId(id))
    });
    write_account_filled(out, template, &account_fill(id, place, view));
}

pub fn user_template(row: &UserRow) -> Template {
    let mut t = TemplateBuilder::default();
    t.hole(); // accountIds
    t.members()
        .opt_str("avatar", row.avatar.as_deref())
        .iso("createdAt", row.created_at)
        .opt_str("email", row.email.as_deref())
        .str("externalId", &row.external_id);
    t.hole(); // firstKnown
    t.members()
        .uuid("id", row.id.0)
        .opt_iso("joinDate", row.joined_at);
    t.hole(); // lastInboundMessageTimestamp
    t.hole(); // lastOutboundMessageTimestamp
    t.hole(); // lastSeenTimestamp
    t.members().opt_str("name", row.name.as_deref());
    t.hole(); // organizationIds
    t.members()
        .value("traits", &row.traits)
        .bool("unsubscribedFromConversations", row.unsubscribed)
        .iso("updatedAt", row.updated_at);
    t.finish()
}

/// What a user's derived members are filled with (see [`write_user_filled`]).
pub struct UserFill {
    seen: Seen,
    messages: LastMessages,
    accounts: Vec<AccountId>,
    organizations: Vec<OrganizationId>,
}

pub fn user_fill(id: Uuid, place: RecordSlot, view: &View<'_>) -> UserFill {
    let id = UserId(id);
    let graph = view.graph;
    UserFill {
        seen: seen(view, |m| m.user_seen(id)),
        messages: view.last_messages(RecordRef::User(id)),
        accounts: graph
            .map(|g| g.user_accounts_at(id, place))
            .unwrap_or_default(),
        organizations: graph
            .map(|g| g.user_organizations_at(id, place))
            .unwrap_or_default(),
    }
}

pub fn write_user_filled(out: &mut Vec<u8>, template: &Template, fill: &UserFill) {
    template.write(out, |hole, m| {
        match hole {
            0 => m.uuids("accountIds", fill.accounts.iter().map(|a| a.0)),
            1 => m.opt_iso("firstKnown", fill.seen.first),
            2 => m.opt_iso("lastInboundMessageTimestamp", fill.messages.inbound),
            3 => m.opt_iso("lastOutboundMessageTimestamp", fill.messages.outbound),
            4 => m.opt_iso("lastSeenTimestamp", fill.seen.last),
            _ => m.uuids("organizationIds", fill.organizations.iter().map(|o| o.0)),
        };
    });
}

pub fn write_user(out: &mut Vec<u8>, id: Uuid, template: &Template, view: &View<'_>) {
    let place = view
        .graph
        .map_or(RecordSlot::UNKNOWN, |g| g.user_record_slot(UserId(id)));
    write_user_filled(out, template, &user_fill(id, place, view));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use steward_engine::domain::Traits;
    use steward_engine::metrics::{EventInput, EventKind, Metrics};
    use steward_engine::time::Millis;
    use steward_engine::{Direction, Graph, GraphChange, MessageChange, Messages};

    use super::*;
    use crate::render;

    fn reference(value: Value) -> String {
        serde_json::to_string(&value).unwrap()
    }

    fn fast(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = b"[".to_vec();
        write(&mut out);
        String::from_utf8(out[1..].to_vec()).unwrap()
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9 ]{0,12}",
            any::<String>(),
            Just("quote \" backslash \\ slash / tab \t nl \n nul \u{0} del \u{7f} é 𝄞".to_owned()),
        ]
    }

    fn any_millis() -> impl Strategy<Value = Millis> {
        prop_oneof![
            (0i64..4_102_444_800_000).prop_map(Millis),
            any::<i64>().prop_map(Millis),
        ]
    }

    fn any_traits() -> impl Strategy<Value = Traits> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON numbers are finite", |f| f.is_finite())
                .prop_map(Value::from),
            any_text().prop_map(Value::from),
        ];
        let value = leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(any_text(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop::collection::btree_map(any_text(), value, 0..5).prop_map(|m| m.into_iter().collect())
    }

    /// A graph and metrics where the record has links, counts and activity, or none.
    struct World {
        graph: Graph,
        metrics: Metrics,
        messages: Messages,
        org: OrganizationId,
        account: AccountId,
        user: UserId,
    }

    fn world(linked: bool, active: bool) -> World {
        let (org, account, user) = (
            OrganizationId::generate(),
            AccountId::generate(),
            UserId::generate(),
        );
        let mut graph = Graph::new();
        let at = Millis(1_700_000_000_000);
        graph.apply(&GraphChange::UpsertOrganization {
            id: org,
            created_at: at,
            updated_at: at,
        });
        graph.apply(&GraphChange::UpsertAccount {
            id: account,
            organization: linked.then_some(org),
            created_at: at,
            updated_at: at,
        });
        let other = OrganizationId::generate();
        graph.apply(&GraphChange::UpsertOrganization {
            id: other,
            created_at: at,
            updated_at: at,
        });
        graph.apply(&GraphChange::UpsertUser {
            id: user,
            accounts: if linked { vec![account] } else { vec![] },
            organizations: if linked { vec![other] } else { vec![] },
            created_at: at,
            updated_at: at,
        });
        let mut metrics = Metrics::new();
        let mut messages = Messages::default();
        if active {
            messages.apply(&MessageChange::Record {
                message: steward_engine::ids::MessageId::generate(),
                direction: Direction::Outbound,
                at: Millis(at.0 - 9_000),
                users: vec![user],
            });
            for t in [at.0 - 5_000, at.0 + 77] {
                metrics.record(&EventInput {
                    kind: EventKind::Track,
                    name: "Opened",
                    user: Some(user),
                    account: Some(account),
                    organization: linked.then_some(org),
                    at: Millis(t),
                });
            }
        }
        World {
            graph,
            metrics,
            messages,
            org,
            account,
            user,
        }
    }

    fn view(w: &World, with_graph: bool) -> View<'_> {
        View {
            graph: with_graph.then_some(&w.graph),
            metrics: Some(&w.metrics),
            assignments: None,
            derived: None,
            messages: Some(&w.messages),
            now: Millis(1_800_000_000_000),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn organizations_render_as_serde_json_does(
            external_id in any_text(), name in any_text(), traits in any_traits(),
            created in any_millis(), updated in any_millis(),
            linked: bool, active: bool, with_graph: bool,
        ) {
            let w = world(linked, active);
            let row = OrganizationRow {
                id: w.org, external_id, name, traits, created_at: created, updated_at: updated,
            };
            let view = view(&w, with_graph);
            let template = organization_template(&row);
            prop_assert_eq!(
                fast(|out| write_organization(out, row.id.0, &template, &view)),
                reference(render::organization(&row, &view))
            );
        }

        #[test]
        fn accounts_render_as_serde_json_does(
            external_id in any_text(), name in any_text(), traits in any_traits(),
            created in any_millis(), updated in any_millis(), in_org: bool,
            linked: bool, active: bool, with_graph: bool,
        ) {
            let w = world(linked, active);
            let row = AccountRow {
                id: w.account, external_id, name, traits,
                organization_id: in_org.then_some(w.org), created_at: created, updated_at: updated,
            };
            let view = view(&w, with_graph);
            let template = account_template(&row);
            prop_assert_eq!(
                fast(|out| write_account(out, row.id.0, &template, &view)),
                reference(render::account(&row, &view))
            );
        }

        #[test]
        fn users_render_as_serde_json_does(
            external_id in any_text(), name in prop::option::of(any_text()),
            email in prop::option::of(any_text()), avatar in prop::option::of(any_text()),
            traits in any_traits(), joined in prop::option::of(any_millis()), unsubscribed: bool,
            created in any_millis(), updated in any_millis(),
            linked: bool, active: bool, with_graph: bool,
        ) {
            let w = world(linked, active);
            let row = UserRow {
                id: w.user, external_id, name, email, avatar, traits, joined_at: joined,
                unsubscribed, created_at: created, updated_at: updated,
            };
            let view = view(&w, with_graph);
            let template = user_template(&row);
            prop_assert_eq!(
                fast(|out| write_user(out, row.id.0, &template, &view)),
                reference(render::user(&row, &view))
            );
        }
    }

    #[test]
    fn a_rendered_user_parses_back_to_the_reference() {
        let w = world(true, true);
        let row = UserRow {
            id: w.user,
            external_id: "u-1".into(),
            name: Some("Ann".into()),
            email: None,
            avatar: None,
            traits: json!({"b": 1, "a": [1.5, "x"]})
                .as_object()
                .unwrap()
                .clone(),
            joined_at: None,
            unsubscribed: false,
            created_at: Millis(0),
            updated_at: Millis(1),
        };
        let view = view(&w, true);
        let text = fast(|out| write_user(out, row.id.0, &user_template(&row), &view));
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, render::user(&row, &view));
        assert!(text.contains(r#""lastSeenTimestamp":"2023-11-14T22:13:20.077Z""#));
    }
}
