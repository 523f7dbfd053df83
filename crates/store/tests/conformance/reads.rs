//! Point reads: find by reference, by ids, by e-mail and e-mail domain.

use serde_json::json;
use steward_engine::Engine;
use steward_engine::ids::{AccountId, OrganizationId, UserId};
use steward_engine::time::Millis;
use steward_store::test_support::backends;
use steward_store::write::{UserFields, Write};
use uuid::Uuid;

use crate::support::*;

fn at(ms: i64) -> Millis {
    Millis(T0.0 + ms)
}

#[tokio::test]
async fn find_by_steward_id_and_external_id() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let o = as_org(
            &ok(s, &mut e, at(1), ws, upsert_org("o-1", json!({})))
                .await
                .written,
        );
        let a = as_account(
            &ok(s, &mut e, at(1), ws, upsert_account("a-1", Some("o-1")))
                .await
                .written,
        );
        let u = as_user(
            &ok(s, &mut e, at(1), ws, upsert_user("u-1", &["a-1"], &[]))
                .await
                .written,
        );

        assert_eq!(
            s.find_organization(ws, &rref(o.id)).await.unwrap(),
            Some(o.clone())
        );
        assert_eq!(
            s.find_organization(ws, &rref("o-1")).await.unwrap(),
            Some(o.clone())
        );
        assert_eq!(
            s.find_account(ws, &rref(a.id)).await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(
            s.find_account(ws, &rref("a-1")).await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(s.find_user(ws, &rref(u.id)).await.unwrap(), Some(u.clone()));
        assert_eq!(
            s.find_user(ws, &rref("u-1")).await.unwrap(),
            Some(u.clone())
        );
        // The wrong kind, unknown ids, and externalIds are exact.
        assert_eq!(
            s.find_account(ws, &rref(o.id)).await.unwrap(),
            None,
            "{backend:?}"
        );
        assert_eq!(s.find_user(ws, &rref("a-1")).await.unwrap(), None);
        assert_eq!(
            s.find_organization(ws, &rref(Uuid::now_v7()))
                .await
                .unwrap(),
            None
        );
        assert_eq!(s.find_organization(ws, &rref("O-1")).await.unwrap(), None);

        // An externalId shaped like a UUID: the Steward id wins, then the externalId matches.
        let uuid_ext = Uuid::now_v7().to_string();
        let o2 = as_org(
            &ok(s, &mut e, at(2), ws, upsert_org(&uuid_ext, json!({})))
                .await
                .written,
        );
        assert_eq!(
            s.find_organization(ws, &rref(&uuid_ext)).await.unwrap(),
            Some(o2.clone())
        );
        let o3 = as_org(
            &ok(
                s,
                &mut e,
                at(2),
                ws,
                upsert_org(&o.id.to_string(), json!({})),
            )
            .await
            .written,
        );
        assert_ne!(o3.id, o.id);
        assert_eq!(
            s.find_organization(ws, &rref(o.id)).await.unwrap(),
            Some(o.clone()),
            "{backend:?}: Steward ids are tried first"
        );
    }
}

#[tokio::test]
async fn by_ids_keeps_the_given_order_and_skips_missing() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let mut orgs = Vec::new();
        let mut accounts = Vec::new();
        let mut users = Vec::new();
        for i in 0..5 {
            orgs.push(as_org(
                &ok(
                    s,
                    &mut e,
                    at(i),
                    ws,
                    upsert_org(&format!("o{i}"), json!({})),
                )
                .await
                .written,
            ));
            accounts.push(as_account(
                &ok(s, &mut e, at(i), ws, upsert_account(&format!("a{i}"), None))
                    .await
                    .written,
            ));
            users.push(as_user(
                &ok(
                    s,
                    &mut e,
                    at(i),
                    ws,
                    upsert_user(&format!("u{i}"), &[], &[]),
                )
                .await
                .written,
            ));
        }
        let order = [3usize, 0, 4, 1];
        let missing = Uuid::now_v7();
        let ids = |f: &dyn Fn(usize) -> Uuid| {
            let mut v: Vec<Uuid> = order.iter().map(|i| f(*i)).collect();
            v.insert(2, missing);
            v
        };
        let got = s
            .organizations_by_ids(ws, &ids(&|i| orgs[i].id.0))
            .await
            .unwrap();
        assert_eq!(
            got,
            order.iter().map(|i| orgs[*i].clone()).collect::<Vec<_>>(),
            "{backend:?}"
        );
        let got = s
            .accounts_by_ids(ws, &ids(&|i| accounts[i].id.0))
            .await
            .unwrap();
        assert_eq!(
            got,
            order
                .iter()
                .map(|i| accounts[*i].clone())
                .collect::<Vec<_>>()
        );
        let got = s.users_by_ids(ws, &ids(&|i| users[i].id.0)).await.unwrap();
        assert_eq!(
            got,
            order.iter().map(|i| users[*i].clone()).collect::<Vec<_>>()
        );

        assert!(s.users_by_ids(ws, &[]).await.unwrap().is_empty());
        assert!(s.users_by_ids(ws, &[missing]).await.unwrap().is_empty());
        // Ids of another kind are not found.
        assert!(
            s.users_by_ids(ws, &[orgs[0].id.0, accounts[0].id.0])
                .await
                .unwrap()
                .is_empty()
        );
        let _ = (OrganizationId(missing), AccountId(missing), UserId(missing));
    }
}

fn with_email(external: &str, address: Option<&str>) -> Write {
    Write::UpsertUser {
        external_id: ext(external),
        fields: UserFields {
            email: Some(address.map(email)),
            ..UserFields::default()
        },
    }
}

#[tokio::test]
async fn users_by_email_and_domain() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        for (x, address) in [
            ("exact", Some("Ada@Example.com")),
            ("exact-2", Some("ada@example.COM")),
            ("sub", Some("bob@eu.Example.com")),
            ("deep", Some("cy@a.b.example.com")),
            ("suffix", Some("dee@notexample.com")),
            ("longer", Some("eve@example.com.au")),
            ("local", Some("example.com@other.org")),
            ("none", None),
        ] {
            ok(s, &mut e, at(x.len() as i64), ws, with_email(x, address)).await;
        }
        let ext_ids = |rows: Vec<steward_store::rows::UserRow>| {
            let mut v: Vec<String> = rows.into_iter().map(|r| r.external_id).collect();
            v.sort();
            v
        };
        assert_eq!(
            ext_ids(s.users_by_email(ws, "ada@example.com").await.unwrap()),
            ["exact", "exact-2"],
            "{backend:?}"
        );
        assert!(
            s.users_by_email(ws, "ada@example.co")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ext_ids(s.users_by_email_domain(ws, "example.com").await.unwrap()),
            ["deep", "exact", "exact-2", "sub"],
            "{backend:?}"
        );
        assert_eq!(
            ext_ids(s.users_by_email_domain(ws, "eu.example.com").await.unwrap()),
            ["sub"]
        );
        assert_eq!(
            ext_ids(s.users_by_email_domain(ws, "b.example.com").await.unwrap()),
            ["deep"]
        );
        assert!(
            s.users_by_email_domain(ws, "ample.com")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(s.users_by_email_domain(ws, "com.au").await.unwrap().len() == 1);

        // Changing an e-mail moves the user between lookups.
        ok(
            s,
            &mut e,
            at(20),
            ws,
            with_email("exact-2", Some("ada@elsewhere.org")),
        )
        .await;
        assert_eq!(
            ext_ids(s.users_by_email(ws, "ada@example.com").await.unwrap()),
            ["exact"]
        );
        assert_eq!(
            ext_ids(s.users_by_email_domain(ws, "elsewhere.org").await.unwrap()),
            ["exact-2"]
        );
        ok(s, &mut e, at(21), ws, with_email("exact", None)).await;
        assert!(
            s.users_by_email(ws, "ada@example.com")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
