//! Key roles, owners and configuration documents: applied, durable (a rebuilt engine agrees
//! with the live one), cleared by deletions, and isolated per workspace.

use serde_json::json;
use steward_engine::assignments::Customer;
use steward_engine::ids::WorkspaceId;
use steward_engine::ids::{AdminId, UserId};
use steward_engine::time::Millis;
use steward_engine::{Engine, RoleKey};
use steward_store::Store;
use steward_store::assign::{AdminRef, AssignmentWrite, ConfigWrite, KeyRoleWrite, OwnerWrite};
use steward_store::test_support::backends;
use steward_store::write::{Write, WriteError, Written};

use crate::support::*;

fn at(ms: i64) -> Millis {
    Millis(T0.0 + ms)
}

fn role(key: &str) -> RoleKey {
    RoleKey::parse("role", key).unwrap()
}

fn assign(
    write: Write,
    key_roles: Vec<(&str, Option<AdminRef>)>,
    owner: Option<OwnerWrite>,
) -> Write {
    Write::Assign {
        write: Box::new(write),
        assign: AssignmentWrite {
            key_roles: key_roles
                .into_iter()
                .map(|(r, admin)| KeyRoleWrite {
                    role: role(r),
                    admin,
                    field: format!("keyRoles.{r}"),
                })
                .collect(),
            owner,
        },
    }
}

fn owner(user: Option<&str>, create_missing: bool) -> Option<OwnerWrite> {
    Some(OwnerWrite {
        user: user.map(rref),
        create_missing,
        field: "accountOwnerId".to_owned(),
    })
}

async fn rebuilt(store: &Store) -> Engine {
    let mut engine = Engine::new();
    store.load_engine(&mut engine).await.unwrap();
    engine
}

fn roles_of(engine: &Engine, ws: WorkspaceId, c: Customer) -> Vec<(String, AdminId)> {
    engine
        .assignments(ws)
        .map(|a| {
            a.key_roles
                .of(c)
                .iter()
                .map(|(r, a)| (r.as_str().to_owned(), *a))
                .collect()
        })
        .unwrap_or_default()
}

async fn new_admin(store: &Store, ws: WorkspaceId, e: &str) -> AdminId {
    let write = Write::CreateAdmin {
        name: name(e),
        email: email(e),
        license_status: "active".to_owned(),
    };
    match apply(store, at(0), ws, write).await.unwrap().written {
        Written::Admin(row) => row.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn key_roles_are_assigned_durable_and_cleared_by_deletions() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut engine = Engine::new();
        let ann = new_admin(s, ws, "ann@vendor.io").await;
        ok(s, &mut engine, at(1), ws, upsert_org("acme", json!({}))).await;
        let acct = as_account(
            &ok(
                s,
                &mut engine,
                at(2),
                ws,
                upsert_account("acme-us", Some("acme")),
            )
            .await
            .written,
        );

        // By id, and by e-mail: an unknown e-mail creates a placeholder team member.
        let out = ok(
            s,
            &mut engine,
            at(10),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("acme-us"),
                    fields: Default::default(),
                },
                vec![
                    ("csm", Some(AdminRef::Id(ann))),
                    (
                        "accountExecutive",
                        Some(AdminRef::Email(email("New.AE@vendor.io"))),
                    ),
                ],
                None,
            ),
        )
        .await;
        assert_eq!(
            as_account(&out.written).updated_at,
            at(10),
            "{backend:?}: an assignment moves updatedAt"
        );
        let placeholder = s
            .admin_by_email(ws, "new.ae@vendor.io")
            .await
            .unwrap()
            .expect("placeholder");
        assert_eq!(placeholder.license_status, "auto-created");
        let c = Customer::Account(acct.id);
        let expected = vec![
            ("accountExecutive".to_owned(), placeholder.id),
            ("csm".to_owned(), ann),
        ];
        assert_eq!(roles_of(&engine, ws, c), expected);
        assert_eq!(
            roles_of(&rebuilt(s).await, ws, c),
            expected,
            "{backend:?}: durable"
        );
        assert_eq!(
            engine
                .assignments(ws)
                .unwrap()
                .key_roles
                .book_of(ann, Some("csm")),
            vec![c]
        );

        // Assigning again changes nothing, not even updatedAt; the same e-mail finds the
        // placeholder instead of creating another.
        let out = ok(
            s,
            &mut engine,
            at(20),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("acme-us"),
                    fields: Default::default(),
                },
                vec![(
                    "accountExecutive",
                    Some(AdminRef::Email(email("new.ae@VENDOR.io"))),
                )],
                None,
            ),
        )
        .await;
        assert_eq!(as_account(&out.written).updated_at, at(10));
        assert!(out.changes.is_empty(), "{:?}", out.changes);

        // An unknown team member id refuses the whole write, naming the field.
        let refused = apply(
            s,
            at(30),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("acme-us"),
                    fields: Default::default(),
                },
                vec![("csm", Some(AdminRef::Id(AdminId::generate())))],
                None,
            ),
        )
        .await;
        match refused {
            Err(WriteError::Invalid(e)) => assert_eq!(e.field, "keyRoles.csm"),
            other => panic!("{backend:?}: {other:?}"),
        }

        // Organizations take key roles too; `None` vacates a role.
        let org = as_org(
            &ok(
                s,
                &mut engine,
                at(40),
                ws,
                assign(
                    Write::UpsertOrganization {
                        external_id: ext("acme"),
                        fields: Default::default(),
                    },
                    vec![("csm", Some(AdminRef::Id(ann)))],
                    None,
                ),
            )
            .await
            .written,
        );
        ok(
            s,
            &mut engine,
            at(41),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("acme-us"),
                    fields: Default::default(),
                },
                vec![("accountExecutive", None)],
                None,
            ),
        )
        .await;
        assert_eq!(roles_of(&engine, ws, c), vec![("csm".to_owned(), ann)]);

        // Deleting the team member vacates their roles, in storage and in the engine.
        ok(
            s,
            &mut engine,
            at(50),
            ws,
            Write::DeleteAdmin { target: ann },
        )
        .await;
        let o = Customer::Organization(org.id);
        assert!(roles_of(&engine, ws, c).is_empty() && roles_of(&engine, ws, o).is_empty());
        let fresh = rebuilt(s).await;
        assert!(
            roles_of(&fresh, ws, c).is_empty() && roles_of(&fresh, ws, o).is_empty(),
            "{backend:?}"
        );

        // Deleting the account takes its assignments along.
        ok(
            s,
            &mut engine,
            at(60),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("acme-us"),
                    fields: Default::default(),
                },
                vec![("csm", Some(AdminRef::Id(placeholder.id)))],
                None,
            ),
        )
        .await;
        ok(
            s,
            &mut engine,
            at(61),
            ws,
            Write::DeleteAccount {
                target: rref("acme-us"),
            },
        )
        .await;
        assert!(engine.assignments(ws).unwrap().key_roles.is_empty());
        assert!(
            rebuilt(s)
                .await
                .assignments(ws)
                .is_none_or(|a| a.key_roles.is_empty()),
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn owners_are_set_cleared_and_follow_user_deletion() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut engine = Engine::new();
        let acct = as_account(
            &ok(s, &mut engine, at(1), ws, upsert_account("a1", None))
                .await
                .written,
        );
        let ada = as_user(
            &ok(s, &mut engine, at(2), ws, upsert_user("ada", &["a1"], &[]))
                .await
                .written,
        );

        ok(
            s,
            &mut engine,
            at(10),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("a1"),
                    fields: Default::default(),
                },
                vec![],
                owner(Some("ada"), false),
            ),
        )
        .await;
        assert_eq!(engine.owner_of(ws, acct.id), Some(ada.id));
        assert_eq!(
            rebuilt(s).await.owner_of(ws, acct.id),
            Some(ada.id),
            "{backend:?}"
        );

        // An unknown user refuses a hand-made assignment ...
        let refused = apply(
            s,
            at(11),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("a1"),
                    fields: Default::default(),
                },
                vec![],
                owner(Some("nobody"), false),
            ),
        )
        .await;
        assert!(
            matches!(refused, Err(WriteError::Invalid(ref e)) if e.field == "accountOwnerId"),
            "{refused:?}"
        );
        // ... and is created for a trait-mapped one (the user's data may come later).
        ok(
            s,
            &mut engine,
            at(12),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("a1"),
                    fields: Default::default(),
                },
                vec![],
                owner(Some("bob"), true),
            ),
        )
        .await;
        let bob = s
            .find_user(ws, &rref("bob"))
            .await
            .unwrap()
            .expect("bob was created");
        assert_eq!(engine.owner_of(ws, acct.id), Some(bob.id));
        assert!(
            engine.graph(ws).unwrap().has_user(bob.id),
            "the created user is in the graph"
        );

        // Deleting the owner clears the owner.
        ok(
            s,
            &mut engine,
            at(20),
            ws,
            Write::DeleteUser {
                target: rref("bob"),
            },
        )
        .await;
        assert_eq!(engine.owner_of(ws, acct.id), None);
        assert_eq!(rebuilt(s).await.owner_of(ws, acct.id), None, "{backend:?}");

        // Organizations have owners too; `None` removes.
        let org = as_org(
            &ok(
                s,
                &mut engine,
                at(30),
                ws,
                assign(
                    upsert_org("acme", json!({})),
                    vec![],
                    owner(Some(&ada.id.to_string()), false),
                ),
            )
            .await
            .written,
        );
        assert_eq!(engine.organization_owner_of(ws, org.id), Some(ada.id));
        let out = ok(
            s,
            &mut engine,
            at(31),
            ws,
            assign(
                Write::UpdateOrganization {
                    target: rref("acme"),
                    fields: Default::default(),
                },
                vec![],
                owner(None, false),
            ),
        )
        .await;
        assert_eq!(as_org(&out.written).updated_at, at(31));
        assert_eq!(engine.organization_owner_of(ws, org.id), None);
        assert_eq!(
            rebuilt(s).await.organization_owner_of(ws, org.id),
            None::<UserId>
        );
    }
}

#[tokio::test]
async fn config_documents_are_per_workspace_and_roles_removal_clears_assignments() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let other = s.create_workspace("other", T0).await.unwrap().id;
        let mut engine = Engine::new();
        let ann = new_admin(s, ws, "ann@vendor.io").await;
        let put = |name: &str, value| {
            Write::Config(ConfigWrite::Put {
                name: name.to_owned(),
                value,
            })
        };
        ok(
            s,
            &mut engine,
            at(1),
            ws,
            put("importFilter/x", json!({"accounts": {"all": []}})),
        )
        .await;
        ok(
            s,
            &mut engine,
            at(2),
            ws,
            put("importFilter/x", json!({"accounts": null})),
        )
        .await;
        ok(
            s,
            &mut engine,
            at(3),
            other,
            put("roles", json!({"keyRoles": []})),
        )
        .await;
        assert_eq!(
            s.config_documents(ws).await.unwrap(),
            vec![("importFilter/x".to_owned(), json!({"accounts": null}))]
        );
        assert_eq!(
            s.config_documents(other).await.unwrap().len(),
            1,
            "{backend:?}"
        );
        ok(
            s,
            &mut engine,
            at(4),
            ws,
            Write::Config(ConfigWrite::Delete {
                name: "importFilter/x".to_owned(),
            }),
        )
        .await;
        assert!(s.config_documents(ws).await.unwrap().is_empty());

        // Roles: removing `implementation` deletes its assignments; built-in ones stay.
        let acct = as_account(
            &ok(s, &mut engine, at(5), ws, upsert_account("a1", None))
                .await
                .written,
        );
        ok(
            s,
            &mut engine,
            at(6),
            ws,
            assign(
                Write::UpdateAccount {
                    target: rref("a1"),
                    fields: Default::default(),
                },
                vec![
                    ("implementation", Some(AdminRef::Id(ann))),
                    ("csm", Some(AdminRef::Id(ann))),
                ],
                None,
            ),
        )
        .await;
        let put_roles = |roles: Vec<RoleKey>| {
            Write::Config(ConfigWrite::PutRoles {
                name: "roles".to_owned(),
                value: json!({}),
                roles,
            })
        };
        let out = ok(
            s,
            &mut engine,
            at(7),
            ws,
            put_roles(vec![role("implementation")]),
        )
        .await;
        assert!(out.changes.is_empty(), "a kept role is not forgotten");
        ok(s, &mut engine, at(8), ws, put_roles(vec![])).await;
        let c = Customer::Account(acct.id);
        assert_eq!(roles_of(&engine, ws, c), vec![("csm".to_owned(), ann)]);
        assert_eq!(
            roles_of(&rebuilt(s).await, ws, c),
            vec![("csm".to_owned(), ann)],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn api_keys_are_listed_per_workspace() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let other = s.create_workspace("other", T0).await.unwrap().id;
        for (i, w) in [ws, ws, other].into_iter().enumerate() {
            s.create_api_key(&steward_store::rows::ApiKeyRow {
                id: steward_engine::ids::ApiKeyId::generate(),
                workspace_id: w,
                key_hash: vec![i as u8; 32],
                prefix: format!("stw_{i}"),
                label: None,
                role: steward_store::rows::KeyRole::Admin,
                created_at: at(i as i64),
            })
            .await
            .unwrap();
        }
        let keys = s.list_api_keys(ws).await.unwrap();
        assert_eq!(
            keys.iter().map(|k| k.prefix.as_str()).collect::<Vec<_>>(),
            ["stw_0", "stw_1"],
            "{backend:?}"
        );
    }
}
