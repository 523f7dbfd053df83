//! `apply_batch`: upserts, updates, links, deletes and partial-write safety.

use serde_json::{Value, json};
use steward_engine::domain::{FieldError, Traits};
use steward_engine::ids::{AccountId, OrganizationId, UserId};
use steward_engine::time::Millis;
use steward_engine::{Engine, GraphChange};
use steward_store::Store;
use steward_store::test_support::backends;
use steward_store::write::{
    AccountFields, MissingParent, OrganizationFields, UserFields, Write, WriteError, Written,
};

use crate::support::*;

fn traits(v: Value) -> Traits {
    v.as_object().unwrap().clone()
}

fn at(ms: i64) -> Millis {
    Millis(T0.0 + ms)
}

fn invalid_field(result: &Result<steward_store::write::Outcome, WriteError>) -> String {
    match result {
        Err(WriteError::Invalid(FieldError { field, message })) => {
            assert!(message.contains(&format!("`{field}`")), "{message}");
            field.clone()
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

async fn loaded(store: &Store) -> Engine {
    let mut engine = Engine::new();
    store.load_engine(&mut engine).await.unwrap();
    engine
}

#[tokio::test]
async fn organization_upsert_merges_traits_and_never_duplicates() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut engine = Engine::new();
        let first = ok(
            s,
            &mut engine,
            at(1),
            ws,
            upsert_org(
                "org-1",
                json!({
                    "plan": "pro", "seats": 10, "ratio": 0.25, "trial": true, "old": "x",
                    "tags": ["a", "b", 3], "nested": {"x": {"y": [1, {"z": null}]}},
                    "big": 9_007_199_254_740_993_u64, "neg": -42, "gone": null
                }),
            ),
        )
        .await;
        assert!(first.created, "{backend:?}");
        let row = as_org(&first.written);
        assert_eq!(row.external_id, "org-1");
        assert_eq!(
            row.name, "org-1",
            "{backend:?}: named after its external id"
        );
        assert_eq!((row.created_at, row.updated_at), (at(1), at(1)));
        assert!(
            !row.traits.contains_key("gone"),
            "a null trait is not stored"
        );
        assert_eq!(
            first.changes,
            vec![GraphChange::UpsertOrganization {
                id: row.id,
                created_at: at(1),
                updated_at: at(1)
            }]
        );
        let stored = s
            .find_organization(ws, &rref(row.id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored, row,
            "{backend:?}: JSON types survive the round trip"
        );

        let second = ok(
            s,
            &mut engine,
            at(2),
            ws,
            Write::UpsertOrganization {
                external_id: ext("org-1"),
                fields: OrganizationFields {
                    name: Some(name("Org One")),
                    traits: patch(json!({"seats": 12.5, "old": null, "extra": {"k": false}})),
                },
            },
        )
        .await;
        assert!(!second.created);
        let updated = as_org(&second.written);
        assert_eq!(updated.id, row.id, "{backend:?}: same record");
        assert_eq!(updated.name, "Org One");
        assert_eq!((updated.created_at, updated.updated_at), (at(1), at(2)));
        assert_eq!(
            Value::Object(updated.traits.clone()),
            json!({
                "plan": "pro", "seats": 12.5, "ratio": 0.25, "trial": true,
                "tags": ["a", "b", 3], "nested": {"x": {"y": [1, {"z": null}]}},
                "big": 9_007_199_254_740_993_u64, "neg": -42, "extra": {"k": false}
            })
        );
        assert_eq!(
            s.find_organization(ws, &rref("org-1")).await.unwrap(),
            Some(updated.clone())
        );
        assert_eq!(all_orgs(s, ws).await, vec![updated.clone()], "{backend:?}");

        // The same values again change nothing, not even updated_at.
        let third = ok(
            s,
            &mut engine,
            at(3),
            ws,
            upsert_org("org-1", json!({"seats": 12.5, "nothing": null})),
        )
        .await;
        assert!(!third.created);
        assert!(third.changes.is_empty(), "{backend:?}: {:?}", third.changes);
        assert_eq!(as_org(&third.written), updated);
        assert_eq!(
            s.find_organization(ws, &rref("org-1")).await.unwrap(),
            Some(updated)
        );
        assert_engine_matches_store(s, ws, &engine, "orgs").await;
    }
}

#[tokio::test]
async fn organization_update_by_id_and_external_id() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let org = as_org(
            &ok(s, &mut e, at(1), ws, upsert_org("o", json!({})))
                .await
                .written,
        );
        let by_id = ok(
            s,
            &mut e,
            at(2),
            ws,
            Write::UpdateOrganization {
                target: rref(org.id),
                fields: OrganizationFields {
                    name: None,
                    traits: patch(json!({"a": 1})),
                },
            },
        )
        .await;
        assert!(!by_id.created);
        assert_eq!(as_org(&by_id.written).traits, traits(json!({"a": 1})));
        let by_ext = ok(
            s,
            &mut e,
            at(3),
            ws,
            Write::UpdateOrganization {
                target: rref("o"),
                fields: OrganizationFields {
                    name: Some(name("O")),
                    traits: patch(json!({"b": [true]})),
                },
            },
        )
        .await;
        let row = as_org(&by_ext.written);
        assert_eq!(row.traits, traits(json!({"a": 1, "b": [true]})));
        assert_eq!((row.name.as_str(), row.updated_at), ("O", at(3)));
        for target in ["missing", &OrganizationId::generate().to_string()] {
            let err = apply(
                s,
                at(4),
                ws,
                Write::UpdateOrganization {
                    target: rref(target),
                    fields: OrganizationFields::default(),
                },
            )
            .await;
            assert!(
                matches!(err, Err(WriteError::NotFound("organization"))),
                "{backend:?}: {err:?}"
            );
            let err = apply(
                s,
                at(4),
                ws,
                Write::DeleteOrganization {
                    target: rref(target),
                    cascade: true,
                },
            )
            .await;
            assert!(matches!(err, Err(WriteError::NotFound("organization"))));
        }
        assert_engine_matches_store(s, ws, &e, "org updates").await;
    }
}

#[tokio::test]
async fn account_upsert_update_parent_and_detach() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let o1 = as_org(
            &ok(s, &mut e, at(1), ws, upsert_org("o1", json!({})))
                .await
                .written,
        );
        let o2 = as_org(
            &ok(s, &mut e, at(1), ws, upsert_org("o2", json!({})))
                .await
                .written,
        );

        // Unknown parent: refused, naming the field, leaving nothing behind.
        let refused = apply(s, at(2), ws, upsert_account("a1", Some("nope"))).await;
        assert_eq!(invalid_field(&refused), "organizationId", "{backend:?}");
        assert!(all_accounts(s, ws).await.is_empty());
        assert_eq!(all_orgs(s, ws).await.len(), 2);

        let created = ok(s, &mut e, at(3), ws, upsert_account("a1", Some("o1"))).await;
        assert!(created.created);
        let a1 = as_account(&created.written);
        assert_eq!(a1.organization_id, Some(o1.id));
        assert_eq!(
            (a1.name.as_str(), a1.created_at, a1.updated_at),
            ("a1", at(3), at(3))
        );
        assert_eq!(
            created.changes,
            vec![GraphChange::UpsertAccount {
                id: a1.id,
                organization: Some(o1.id),
                created_at: at(3),
                updated_at: at(3)
            }]
        );

        // Second upsert updates (parent by Steward id), traits merge.
        let moved = ok(
            s,
            &mut e,
            at(4),
            ws,
            Write::UpsertAccount {
                external_id: ext("a1"),
                fields: AccountFields {
                    name: Some(name("Account One")),
                    traits: patch(json!({"mrr": 99.5, "list": [1, 2]})),
                    organization: Some(Some(rref(o2.id))),
                    missing_parent: MissingParent::Refuse,
                },
            },
        )
        .await;
        assert!(!moved.created);
        let row = as_account(&moved.written);
        assert_eq!(row.id, a1.id);
        assert_eq!(row.organization_id, Some(o2.id));
        assert_eq!((row.created_at, row.updated_at), (at(3), at(4)));
        assert_eq!(all_accounts(s, ws).await, vec![row.clone()], "{backend:?}");

        // No-op (same parent by external id, same traits): updated_at unchanged.
        let same = ok(
            s,
            &mut e,
            at(5),
            ws,
            Write::UpdateAccount {
                target: rref("a1"),
                fields: AccountFields {
                    traits: patch(json!({"mrr": 99.5, "absent": null})),
                    organization: Some(Some(rref("o2"))),
                    ..AccountFields::default()
                },
            },
        )
        .await;
        assert!(same.changes.is_empty(), "{backend:?}: {:?}", same.changes);
        assert_eq!(
            s.find_account(ws, &rref(a1.id))
                .await
                .unwrap()
                .unwrap()
                .updated_at,
            at(4)
        );

        // Detach.
        let detached = ok(
            s,
            &mut e,
            at(6),
            ws,
            Write::UpdateAccount {
                target: rref(a1.id),
                fields: AccountFields {
                    organization: Some(None),
                    ..AccountFields::default()
                },
            },
        )
        .await;
        let row = as_account(&detached.written);
        assert_eq!((row.organization_id, row.updated_at), (None, at(6)));
        assert_eq!(
            s.find_account(ws, &rref("a1")).await.unwrap(),
            Some(row.clone())
        );
        // Leaving organization out keeps it detached.
        let kept = ok(s, &mut e, at(7), ws, upsert_account("a1", None)).await;
        assert!(kept.changes.is_empty());

        // MissingParent::Create creates the parent, named after its external id.
        let made = ok(
            s,
            &mut e,
            at(8),
            ws,
            upsert_account_creating("a2", Some("o-new")),
        )
        .await;
        assert!(made.created);
        let a2 = as_account(&made.written);
        let o_new = s
            .find_organization(ws, &rref("o-new"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((o_new.name.as_str(), o_new.created_at), ("o-new", at(8)));
        assert_eq!(a2.organization_id, Some(o_new.id));
        assert!(matches!(
            made.changes.as_slice(),
            [
                GraphChange::UpsertOrganization { .. },
                GraphChange::UpsertAccount { .. }
            ]
        ));
        // An invalid external id for the created parent is refused, naming the field.
        let bad = apply(s, at(9), ws, upsert_account_creating("a3", Some(" padded"))).await;
        assert_eq!(invalid_field(&bad), "organizationId");
        assert!(s.find_account(ws, &rref("a3")).await.unwrap().is_none());

        for target in ["missing".to_owned(), AccountId::generate().to_string()] {
            let err = apply(
                s,
                at(9),
                ws,
                Write::UpdateAccount {
                    target: rref(&target),
                    fields: AccountFields::default(),
                },
            )
            .await;
            assert!(
                matches!(err, Err(WriteError::NotFound("account"))),
                "{err:?}"
            );
            let err = apply(
                s,
                at(9),
                ws,
                Write::DeleteAccount {
                    target: rref(&target),
                },
            )
            .await;
            assert!(
                matches!(err, Err(WriteError::NotFound("account"))),
                "{err:?}"
            );
        }
        assert_engine_matches_store(s, ws, &e, "accounts").await;
    }
}

#[tokio::test]
async fn user_fields_upsert_update_and_no_op() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let created = ok(
            s,
            &mut e,
            at(1),
            ws,
            Write::UpsertUser {
                external_id: ext("u1"),
                fields: UserFields {
                    name: Some(Some("Ada".to_owned())),
                    email: Some(Some(email("Ada@Example.COM"))),
                    avatar: Some(Some("https://img/a.png".to_owned())),
                    traits: patch(json!({"role": "cto", "score": 7})),
                    joined_at: Some(Some(Millis(1_600_000_000_000))),
                    unsubscribed: Some(true),
                    ..UserFields::default()
                },
            },
        )
        .await;
        assert!(created.created);
        let u = as_user(&created.written);
        assert_eq!(u.email.as_deref(), Some("Ada@Example.COM"), "case kept");
        assert_eq!((u.created_at, u.updated_at), (at(1), at(1)));
        assert_eq!(s.find_user(ws, &rref("u1")).await.unwrap(), Some(u.clone()));
        assert_eq!(
            created.changes,
            vec![GraphChange::UpsertUser {
                id: u.id,
                accounts: vec![],
                organizations: vec![],
                created_at: at(1),
                updated_at: at(1)
            }]
        );

        // Nothing given: nothing changes.
        let noop = ok(s, &mut e, at(2), ws, upsert_user_plain("u1")).await;
        assert!(!noop.created);
        assert!(noop.changes.is_empty(), "{backend:?}: {:?}", noop.changes);
        assert_eq!(s.find_user(ws, &rref(u.id)).await.unwrap(), Some(u.clone()));

        // Clearing optional fields, merging traits.
        let cleared = ok(
            s,
            &mut e,
            at(3),
            ws,
            Write::UpdateUser {
                target: rref(u.id),
                fields: UserFields {
                    name: Some(None),
                    email: Some(None),
                    avatar: Some(None),
                    joined_at: Some(None),
                    unsubscribed: Some(false),
                    traits: patch(json!({"role": null, "score": 8, "tags": ["x"]})),
                    ..UserFields::default()
                },
            },
        )
        .await;
        let row = as_user(&cleared.written);
        assert_eq!(
            (row.name.clone(), row.email.clone(), row.avatar.clone()),
            (None, None, None)
        );
        assert_eq!(
            (row.joined_at, row.unsubscribed, row.updated_at),
            (None, false, at(3))
        );
        assert_eq!(row.traits, traits(json!({"score": 8, "tags": ["x"]})));
        assert_eq!(
            s.find_user(ws, &rref("u1")).await.unwrap(),
            Some(row.clone())
        );
        assert_eq!(all_users(s, ws).await.len(), 1);

        for target in ["missing".to_owned(), UserId::generate().to_string()] {
            let err = apply(
                s,
                at(4),
                ws,
                Write::UpdateUser {
                    target: rref(&target),
                    fields: UserFields::default(),
                },
            )
            .await;
            assert!(matches!(err, Err(WriteError::NotFound("user"))), "{err:?}");
            let err = apply(
                s,
                at(4),
                ws,
                Write::DeleteUser {
                    target: rref(&target),
                },
            )
            .await;
            assert!(matches!(err, Err(WriteError::NotFound("user"))), "{err:?}");
        }
        let deleted = ok(
            s,
            &mut e,
            at(5),
            ws,
            Write::DeleteUser { target: rref("u1") },
        )
        .await;
        assert_eq!(deleted.written, Written::Deleted);
        assert_eq!(deleted.changes, vec![GraphChange::DeleteUser { id: u.id }]);
        assert!(s.find_user(ws, &rref(u.id)).await.unwrap().is_none());
        assert_engine_matches_store(s, ws, &e, "users").await;
    }
}

fn upsert_user_plain(external: &str) -> Write {
    Write::UpsertUser {
        external_id: ext(external),
        fields: UserFields::default(),
    }
}

#[tokio::test]
async fn user_links_replace_add_remove() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let o1 = as_org(
            &ok(s, &mut e, at(1), ws, upsert_org("o1", json!({})))
                .await
                .written,
        );
        let o2 = as_org(
            &ok(s, &mut e, at(1), ws, upsert_org("o2", json!({})))
                .await
                .written,
        );
        let a1 = as_account(
            &ok(s, &mut e, at(1), ws, upsert_account("a1", Some("o1")))
                .await
                .written,
        );
        let a2 = as_account(
            &ok(s, &mut e, at(1), ws, upsert_account("a2", None))
                .await
                .written,
        );
        let a3 = as_account(
            &ok(s, &mut e, at(1), ws, upsert_account("a3", Some("o2")))
                .await
                .written,
        );

        // Links by external id and by Steward id; duplicates collapse.
        let a2_ref = a2.id.to_string();
        let u = ok(
            s,
            &mut e,
            at(2),
            ws,
            upsert_user("u", &["a1", &a2_ref, "a1"], &["o2"]),
        )
        .await;
        let user = as_user(&u.written);
        assert_eq!(
            u.changes,
            vec![GraphChange::UpsertUser {
                id: user.id,
                accounts: vec![a1.id, a2.id],
                organizations: vec![o2.id],
                created_at: at(2),
                updated_at: at(2)
            }]
        );
        let g = loaded(s).await;
        let g = g.graph(ws).unwrap();
        assert_eq!(g.user_accounts(user.id), vec![a1.id, a2.id], "{backend:?}");
        assert_eq!(g.user_organizations(user.id), vec![o2.id, o1.id]);

        // Same sets again: no change, updated_at kept.
        let same = ok(
            s,
            &mut e,
            at(3),
            ws,
            upsert_user("u", &["a1", "a2"], &["o2"]),
        )
        .await;
        assert!(same.changes.is_empty(), "{backend:?}: {:?}", same.changes);
        assert_eq!(as_user(&same.written).updated_at, at(2));

        // Replace sets.
        let replaced = ok(s, &mut e, at(4), ws, upsert_user("u", &["a3"], &[])).await;
        assert_eq!(as_user(&replaced.written).updated_at, at(4));
        let g = loaded(s).await;
        let g = g.graph(ws).unwrap();
        assert_eq!(g.user_accounts(user.id), vec![a3.id]);
        assert_eq!(g.user_organizations(user.id), vec![o2.id]);
        assert!(g.user_direct_organizations(user.id).is_empty());

        // add_accounts / remove_accounts leave the organization links alone.
        let added = ok(
            s,
            &mut e,
            at(5),
            ws,
            Write::UpdateUser {
                target: rref("u"),
                fields: UserFields {
                    add_accounts: vec![rref("a1"), rref("a3")],
                    organizations: Some(vec![rref(o1.id)]),
                    ..UserFields::default()
                },
            },
        )
        .await;
        assert!(matches!(
            added.changes.as_slice(),
            [GraphChange::UpsertUser { accounts, .. }] if *accounts == vec![a3.id, a1.id]
        ));
        let removed = ok(
            s,
            &mut e,
            at(6),
            ws,
            Write::UpdateUser {
                target: rref(user.id),
                fields: UserFields {
                    remove_accounts: vec![rref("a3"), rref("not-an-account")],
                    ..UserFields::default()
                },
            },
        )
        .await;
        assert_eq!(as_user(&removed.written).updated_at, at(6));
        let g = loaded(s).await;
        let g = g.graph(ws).unwrap();
        assert_eq!(g.user_accounts(user.id), vec![a1.id], "{backend:?}");
        assert_eq!(g.user_direct_organizations(user.id), vec![o1.id]);
        assert_eq!(
            g.organization_users_count(o1.id),
            1,
            "direct + via a1 counts once"
        );

        // Removing an account that is not linked is a no-op.
        let noop = ok(
            s,
            &mut e,
            at(7),
            ws,
            Write::UpdateUser {
                target: rref(user.id),
                fields: UserFields {
                    remove_accounts: vec![rref("a2")],
                    ..UserFields::default()
                },
            },
        )
        .await;
        assert!(noop.changes.is_empty());

        // Unknown links are refused naming the field; MissingParent::Create creates them.
        for (fields, field) in [
            (
                UserFields {
                    accounts: Some(vec![rref("a1"), rref("ghost")]),
                    ..UserFields::default()
                },
                "accountIds[1]",
            ),
            (
                UserFields {
                    organizations: Some(vec![rref("ghost")]),
                    ..UserFields::default()
                },
                "organizationIds[0]",
            ),
            (
                UserFields {
                    add_accounts: vec![rref("ghost")],
                    ..UserFields::default()
                },
                "accountId",
            ),
        ] {
            let r = apply(
                s,
                at(8),
                ws,
                Write::UpsertUser {
                    external_id: ext("u2"),
                    fields,
                },
            )
            .await;
            assert_eq!(invalid_field(&r), field, "{backend:?}");
        }
        assert!(s.find_user(ws, &rref("u2")).await.unwrap().is_none());
        let made = ok(
            s,
            &mut e,
            at(9),
            ws,
            Write::UpsertUser {
                external_id: ext("u2"),
                fields: UserFields {
                    accounts: Some(vec![rref("new-a")]),
                    organizations: Some(vec![rref("new-o")]),
                    add_accounts: vec![rref("new-b")],
                    missing_parent: MissingParent::Create,
                    ..UserFields::default()
                },
            },
        )
        .await;
        assert!(made.created);
        let new_a = s.find_account(ws, &rref("new-a")).await.unwrap().unwrap();
        let new_b = s.find_account(ws, &rref("new-b")).await.unwrap().unwrap();
        let new_o = s
            .find_organization(ws, &rref("new-o"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (new_a.organization_id, new_a.name.as_str()),
            (None, "new-a")
        );
        let g = loaded(s).await;
        let g = g.graph(ws).unwrap();
        let u2 = as_user(&made.written).id;
        assert_eq!(g.user_accounts(u2), vec![new_a.id, new_b.id]);
        assert_eq!(g.user_organizations(u2), vec![new_o.id]);
        assert_engine_matches_store(s, ws, &e, "links").await;
    }
}

#[tokio::test]
async fn deleting_an_account_deletes_its_orphaned_users_only() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        ok(s, &mut e, at(1), ws, upsert_org("o", json!({}))).await;
        let a = as_account(
            &ok(s, &mut e, at(1), ws, upsert_account("a", Some("o")))
                .await
                .written,
        );
        ok(s, &mut e, at(1), ws, upsert_account("b", None)).await;
        let only = as_user(
            &ok(s, &mut e, at(2), ws, upsert_user("only", &["a"], &[]))
                .await
                .written,
        );
        let shared = as_user(
            &ok(
                s,
                &mut e,
                at(2),
                ws,
                upsert_user("shared", &["a", "b"], &[]),
            )
            .await
            .written,
        );
        let direct = as_user(
            &ok(s, &mut e, at(2), ws, upsert_user("direct", &["a"], &["o"]))
                .await
                .written,
        );
        let elsewhere = as_user(
            &ok(s, &mut e, at(2), ws, upsert_user("elsewhere", &["b"], &[]))
                .await
                .written,
        );

        let out = ok(
            s,
            &mut e,
            at(3),
            ws,
            Write::DeleteAccount { target: rref("a") },
        )
        .await;
        assert_eq!(out.written, Written::Deleted);
        assert_eq!(
            out.changes,
            vec![
                GraphChange::DeleteUser { id: only.id },
                GraphChange::DeleteAccount { id: a.id }
            ],
            "{backend:?}"
        );
        assert!(s.find_account(ws, &rref("a")).await.unwrap().is_none());
        assert!(s.find_user(ws, &rref(only.id)).await.unwrap().is_none());
        for kept in [&shared, &direct, &elsewhere] {
            let row = s.find_user(ws, &rref(kept.id)).await.unwrap();
            assert_eq!(row.as_ref(), Some(kept), "{backend:?}: untouched");
        }
        assert_engine_matches_store(s, ws, &e, "delete account").await;
    }
}

#[tokio::test]
async fn deleting_an_organization_detaches_or_cascades() {
    for backend in backends() {
        for cascade in [false, true] {
            let (t, ws) = setup(backend).await;
            let s = &t.store;
            let mut e = Engine::new();
            let o = as_org(
                &ok(s, &mut e, at(1), ws, upsert_org("o", json!({})))
                    .await
                    .written,
            );
            ok(s, &mut e, at(1), ws, upsert_org("other", json!({}))).await;
            let a1 = as_account(
                &ok(s, &mut e, at(1), ws, upsert_account("a1", Some("o")))
                    .await
                    .written,
            );
            let a2 = as_account(
                &ok(s, &mut e, at(1), ws, upsert_account("a2", Some("o")))
                    .await
                    .written,
            );
            let b = as_account(
                &ok(s, &mut e, at(1), ws, upsert_account("b", Some("other")))
                    .await
                    .written,
            );
            let free = as_account(
                &ok(s, &mut e, at(1), ws, upsert_account("free", None))
                    .await
                    .written,
            );
            let user = |x: &'static str,
                        accounts: &'static [&'static str],
                        orgs: &'static [&'static str]| {
                (x, upsert_user(x, accounts, orgs))
            };
            let writes = [
                user("in-a1", &["a1"], &[]),
                user("in-a1-a2", &["a1", "a2"], &[]),
                user("direct-only", &[], &["o"]),
                user("direct-and-a1", &["a1"], &["o"]),
                user("a1-and-b", &["a1", "b"], &[]),
                user("a1-and-free", &["a1", "free"], &[]),
                user("a2-direct-other", &["a2"], &["other"]),
                user("direct-o-and-other", &[], &["o", "other"]),
                user("in-b", &["b"], &[]),
            ];
            let mut users = std::collections::HashMap::new();
            for (x, w) in writes {
                users.insert(x, as_user(&ok(s, &mut e, at(2), ws, w).await.written));
            }
            let out = ok(
                s,
                &mut e,
                at(5),
                ws,
                Write::DeleteOrganization {
                    target: rref("o"),
                    cascade,
                },
            )
            .await;
            assert_eq!(out.written, Written::Deleted);
            assert_eq!(
                out.changes.last(),
                Some(&GraphChange::DeleteOrganization { id: o.id })
            );
            assert!(
                s.find_organization(ws, &rref(o.id))
                    .await
                    .unwrap()
                    .is_none()
            );
            let exists = async |x: &str| s.find_user(ws, &rref(x)).await.unwrap().is_some();
            if cascade {
                for acc in [&a1, &a2] {
                    assert!(s.find_account(ws, &rref(acc.id)).await.unwrap().is_none());
                }
                for gone in ["in-a1", "in-a1-a2", "direct-only", "direct-and-a1"] {
                    assert!(!exists(gone).await, "{backend:?}: {gone} is orphaned");
                }
                for kept in [
                    "a1-and-b",
                    "a1-and-free",
                    "a2-direct-other",
                    "direct-o-and-other",
                    "in-b",
                ] {
                    assert!(exists(kept).await, "{backend:?}: {kept} belongs elsewhere");
                }
            } else {
                for acc in [&a1, &a2] {
                    let row = s.find_account(ws, &rref(acc.id)).await.unwrap().unwrap();
                    assert_eq!(row.organization_id, None, "{backend:?}");
                    assert_eq!(
                        row.updated_at,
                        at(5),
                        "{backend:?}: detaching bumps updated_at"
                    );
                }
                assert_eq!(
                    all_users(s, ws).await.len(),
                    users.len(),
                    "nobody is deleted"
                );
                // Direct users of the organization keep their row; their updated_at is kept.
                let row = s
                    .find_user(ws, &rref("direct-only"))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.updated_at, at(2));
            }
            // Records of other organizations are untouched either way.
            assert_eq!(
                s.find_account(ws, &rref(b.id)).await.unwrap(),
                Some(b.clone())
            );
            assert_eq!(
                s.find_account(ws, &rref(free.id)).await.unwrap(),
                Some(free.clone())
            );
            assert_eq!(
                s.find_user(ws, &rref("in-b")).await.unwrap().as_ref(),
                users.get("in-b")
            );
            assert_engine_matches_store(s, ws, &e, &format!("delete org cascade={cascade}")).await;
        }
    }
}

#[tokio::test]
async fn a_refused_write_leaves_no_trace_and_the_rest_of_the_batch_commits() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let now = at(1);
        let batch = vec![
            (ws, upsert_org("o", json!({"n": 1}))),
            (ws, upsert_account("bad", Some("ghost"))),
            (ws, upsert_account("a", Some("o"))),
            // Creates account `made` before failing on the second link: all undone.
            (
                ws,
                Write::UpsertUser {
                    external_id: ext("half"),
                    fields: UserFields {
                        accounts: Some(vec![rref("made"), rref(" bad id")]),
                        missing_parent: MissingParent::Create,
                        ..UserFields::default()
                    },
                },
            ),
            (
                ws,
                Write::CreateAdmin {
                    name: name("Ann"),
                    email: email("ann@x.io"),
                    license_status: "active".into(),
                },
            ),
            // A unique violation aborts a PostgreSQL transaction unless rolled back to the
            // savepoint: the writes after it must still commit.
            (
                ws,
                Write::CreateAdmin {
                    name: name("Ann again"),
                    email: email("ANN@x.io"),
                    license_status: "active".into(),
                },
            ),
            (ws, upsert_user("u", &["a"], &[])),
            (
                ws,
                Write::DeleteAccount {
                    target: rref("ghost"),
                },
            ),
            (ws, upsert_org("o", json!({"n": 2}))),
        ];
        let results = s.apply_batch(now, &batch).await.unwrap();
        assert_eq!(results.len(), batch.len());
        let oks: Vec<bool> = results.iter().map(Result::is_ok).collect();
        assert_eq!(
            oks,
            vec![true, false, true, false, true, false, true, false, true],
            "{backend:?}: {results:?}"
        );
        assert_eq!(invalid_field(&results[1]), "organizationId");
        assert!(matches!(results[5], Err(WriteError::Conflict(_))));
        assert!(matches!(results[7], Err(WriteError::NotFound("account"))));
        let results = results.into_iter().map(Result::ok).collect::<Vec<_>>();
        assert!(results[0].as_ref().unwrap().created);
        assert!(
            !results[8].as_ref().unwrap().created,
            "same batch sees earlier writes"
        );

        assert!(s.find_account(ws, &rref("bad")).await.unwrap().is_none());
        assert!(
            s.find_account(ws, &rref("made")).await.unwrap().is_none(),
            "{backend:?}"
        );
        assert!(s.find_user(ws, &rref("half")).await.unwrap().is_none());
        assert_eq!(all_orgs(s, ws).await.len(), 1);
        assert_eq!(all_accounts(s, ws).await.len(), 1);
        assert_eq!(all_users(s, ws).await.len(), 1);
        let org = s.find_organization(ws, &rref("o")).await.unwrap().unwrap();
        assert_eq!(org.traits, traits(json!({"n": 2})));
        assert_eq!(
            s.list_admins(
                ws,
                &steward_engine::page::PageRequest::first(Default::default(), 10)
            )
            .await
            .unwrap()
            .len(),
            1
        );

        // The graph changes of the accepted writes describe the whole committed state.
        let mut e = Engine::new();
        for outcome in results.iter().flatten() {
            for change in &outcome.changes {
                e.apply(ws, change);
            }
        }
        assert_engine_matches_store(s, ws, &e, "partial batch").await;
    }
}
