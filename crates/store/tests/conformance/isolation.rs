//! A workspace's records are invisible to every other workspace.

use serde_json::json;
use steward_engine::Engine;
use steward_engine::page::{PageRequest, SortBy};
use steward_engine::time::Millis;
use steward_store::test_support::backends;
use steward_store::write::{Write, WriteError};

use crate::support::*;

#[tokio::test]
async fn workspaces_do_not_see_each_other() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let other = s.create_workspace("other", T0).await.unwrap().id;
        let mut e = Engine::new();
        let o = as_org(
            &ok(s, &mut e, T0, ws, upsert_org("o", json!({})))
                .await
                .written,
        );
        let a = as_account(
            &ok(s, &mut e, T0, ws, upsert_account("a", Some("o")))
                .await
                .written,
        );
        let u = as_user(
            &ok(s, &mut e, T0, ws, upsert_user("u", &["a"], &["o"]))
                .await
                .written,
        );
        let admin = Write::CreateAdmin {
            name: name("x"),
            email: email("x@y.z"),
            license_status: "active".into(),
        };
        apply(s, T0, ws, admin).await.unwrap();

        for r in [rref(o.id), rref("o")] {
            assert!(
                s.find_organization(other, &r).await.unwrap().is_none(),
                "{backend:?}"
            );
        }
        for r in [rref(a.id), rref("a")] {
            assert!(s.find_account(other, &r).await.unwrap().is_none());
        }
        for r in [rref(u.id), rref("u")] {
            assert!(s.find_user(other, &r).await.unwrap().is_none());
        }
        for sort in [SortBy::CreatedAt, SortBy::UpdatedAt] {
            let page = PageRequest::first(sort, 100);
            assert!(s.list_organizations(other, &page).await.unwrap().is_empty());
            assert!(s.list_accounts(other, &page).await.unwrap().is_empty());
            assert!(s.list_users(other, &page).await.unwrap().is_empty());
            assert!(s.list_admins(other, &page).await.unwrap().is_empty());
        }
        assert!(
            s.organizations_by_ids(other, &[o.id.0])
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            s.accounts_by_ids(other, &[a.id.0])
                .await
                .unwrap()
                .is_empty()
        );
        assert!(s.users_by_ids(other, &[u.id.0]).await.unwrap().is_empty());
        assert!(s.admin_by_email(other, "x@y.z").await.unwrap().is_none());

        // Writes in the other workspace neither see nor touch these records.
        let r = apply(s, T0, other, upsert_account("a2", Some("o"))).await;
        assert!(
            matches!(r, Err(WriteError::Invalid(_))),
            "{backend:?}: {r:?}"
        );
        let r = apply(s, T0, other, upsert_account("a2", Some(&o.id.to_string()))).await;
        assert!(
            matches!(r, Err(WriteError::Invalid(_))),
            "{backend:?}: {r:?}"
        );
        for w in [
            Write::DeleteOrganization {
                target: rref(o.id),
                cascade: true,
            },
            Write::DeleteAccount { target: rref("a") },
            Write::DeleteUser { target: rref(u.id) },
        ] {
            let r = apply(s, T0, other, w).await;
            assert!(
                matches!(r, Err(WriteError::NotFound(_))),
                "{backend:?}: {r:?}"
            );
        }
        // The same external ids and e-mails are free in the other workspace.
        let later = Millis(T0.0 + 1);
        let o2 = as_org(
            &ok(s, &mut e, later, other, upsert_org("o", json!({})))
                .await
                .written,
        );
        assert_ne!(o2.id, o.id);
        ok(s, &mut e, later, other, upsert_account("a", Some("o"))).await;
        ok(s, &mut e, later, other, upsert_user("u", &["a"], &[])).await;
        apply(
            s,
            later,
            other,
            Write::CreateAdmin {
                name: name("x"),
                email: email("X@y.z"),
                license_status: "active".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            s.find_organization(ws, &rref("o")).await.unwrap(),
            Some(o.clone())
        );
        assert_eq!(
            s.find_account(ws, &rref("a")).await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(s.find_user(ws, &rref("u")).await.unwrap(), Some(u.clone()));

        let mut loaded = Engine::new();
        s.load_engine(&mut loaded).await.unwrap();
        for w in [ws, other] {
            let g = loaded.graph(w).unwrap();
            assert_eq!(
                (g.organization_count(), g.account_count(), g.user_count()),
                (1, 1, 1)
            );
        }
        assert_eq!(loaded.graph(ws).unwrap().organization_users_count(o.id), 1);
        assert!(!loaded.graph(other).unwrap().has_user(u.id));
        assert_engine_matches_store(s, ws, &e, "ws").await;
        assert_engine_matches_store(s, other, &e, "other").await;
    }
}
