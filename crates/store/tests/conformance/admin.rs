//! Team members (admins) and custom field definitions.

use serde_json::json;
use steward_engine::ids::{AdminId, CustomFieldId};
use steward_engine::page::{PageRequest, SortBy};
use steward_engine::time::Millis;
use steward_store::rows::CustomFieldRow;
use steward_store::test_support::backends;
use steward_store::write::{AdminFields, CustomFieldFields, Write, WriteError, Written};

use crate::support::*;

fn at(ms: i64) -> Millis {
    Millis(T0.0 + ms)
}

fn create_admin(n: &str, e: &str) -> Write {
    Write::CreateAdmin {
        name: name(n),
        email: email(e),
        license_status: "active".to_owned(),
    }
}

#[tokio::test]
async fn admins_create_update_delete_and_conflict_on_email() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let out = apply(s, at(1), ws, create_admin("Ann", "Ann@Acme.io"))
            .await
            .unwrap();
        assert!(out.created);
        // The engine learns the team member's e-mail (rules read key-role holders' e-mails).
        let Written::Admin(ann) = out.written.clone() else {
            panic!("{out:?}")
        };
        assert_eq!(
            out.changes,
            vec![steward_engine::GraphChange::Assignment(
                steward_engine::AssignmentChange::TeamMember {
                    admin: ann.id,
                    email: "Ann@Acme.io".to_owned()
                }
            )]
        );
        let Written::Admin(ann) = out.written else {
            panic!("{out:?}")
        };
        assert_eq!(ann.email, "Ann@Acme.io");
        assert_eq!((ann.created_at, ann.updated_at), (at(1), at(1)));
        assert_eq!(s.find_admin(ws, ann.id).await.unwrap(), Some(ann.clone()));
        assert_eq!(
            s.admin_by_email(ws, "ann@acme.io").await.unwrap(),
            Some(ann.clone()),
            "{backend:?}"
        );
        assert_eq!(s.admin_by_email(ws, "bob@acme.io").await.unwrap(), None);

        let dup = apply(s, at(2), ws, create_admin("Other Ann", "ANN@acme.IO")).await;
        assert!(
            matches!(dup, Err(WriteError::Conflict(_))),
            "{backend:?}: {dup:?}"
        );

        let bob = match apply(s, at(3), ws, create_admin("Bob", "bob@acme.io"))
            .await
            .unwrap()
            .written
        {
            Written::Admin(row) => row,
            other => panic!("{other:?}"),
        };

        let updated = apply(
            s,
            at(4),
            ws,
            Write::UpdateAdmin {
                target: bob.id,
                fields: AdminFields {
                    name: Some(name("Robert")),
                    email: Some(email("Robert@Acme.io")),
                    license_status: Some("disabled".to_owned()),
                },
            },
        )
        .await
        .unwrap();
        let Written::Admin(robert) = updated.written else {
            panic!()
        };
        assert_eq!(
            (
                robert.name.as_str(),
                robert.email.as_str(),
                robert.license_status.as_str()
            ),
            ("Robert", "Robert@Acme.io", "disabled")
        );
        assert_eq!((robert.created_at, robert.updated_at), (at(3), at(4)));
        assert_eq!(
            s.find_admin(ws, bob.id).await.unwrap(),
            Some(robert.clone())
        );
        assert_eq!(s.admin_by_email(ws, "bob@acme.io").await.unwrap(), None);
        assert_eq!(
            s.admin_by_email(ws, "robert@acme.io").await.unwrap(),
            Some(robert.clone())
        );

        // Taking another member's e-mail (other case) is a conflict and changes nothing.
        let clash = apply(
            s,
            at(5),
            ws,
            Write::UpdateAdmin {
                target: bob.id,
                fields: AdminFields {
                    name: Some(name("Clash")),
                    email: Some(email("aNN@acme.io")),
                    license_status: None,
                },
            },
        )
        .await;
        assert!(
            matches!(clash, Err(WriteError::Conflict(_))),
            "{backend:?}: {clash:?}"
        );
        assert_eq!(
            s.find_admin(ws, bob.id).await.unwrap(),
            Some(robert.clone())
        );

        let missing = AdminId::generate();
        let r = apply(
            s,
            at(6),
            ws,
            Write::UpdateAdmin {
                target: missing,
                fields: AdminFields {
                    name: None,
                    email: None,
                    license_status: None,
                },
            },
        )
        .await;
        assert!(matches!(r, Err(WriteError::NotFound(_))));

        let page = PageRequest::first(SortBy::CreatedAt, 10);
        assert_eq!(
            s.list_admins(ws, &page).await.unwrap(),
            vec![robert.clone(), ann.clone()]
        );
        let page = PageRequest::first(SortBy::UpdatedAt, 1);
        assert_eq!(
            s.list_admins(ws, &page).await.unwrap(),
            vec![robert.clone()]
        );

        let del = apply(s, at(7), ws, Write::DeleteAdmin { target: ann.id })
            .await
            .unwrap();
        assert_eq!(del.written, Written::Deleted);
        assert_eq!(s.find_admin(ws, ann.id).await.unwrap(), None);
        let again = apply(s, at(8), ws, Write::DeleteAdmin { target: ann.id }).await;
        assert!(matches!(again, Err(WriteError::NotFound(_))));
        // The e-mail is free again.
        assert!(
            apply(s, at(9), ws, create_admin("Ann 2", "ann@acme.io"))
                .await
                .is_ok()
        );
    }
}

fn create_field(model: &str, key: &str, label: &str) -> Write {
    Write::CreateCustomField {
        model: model.to_owned(),
        key: key.to_owned(),
        label: label.to_owned(),
        field_type: "picklist".to_owned(),
        description: Some(format!("{key} on {model}")),
        options: json!([{"label": "A", "value": "a"}, {"label": "B", "value": 2}]),
    }
}

fn field(w: &Written) -> CustomFieldRow {
    match w {
        Written::CustomField(row) => row.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn custom_fields_create_update_delete_list() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut rows = Vec::new();
        for (model, key, label) in [
            ("accounts", "plan", "Plan"),
            ("users", "plan", "Plan (user)"),
            ("accounts", "arr", "ARR"),
            ("organizations", "tier", "Tier"),
            ("accounts", "zeta", "Beta"),
        ] {
            let out = apply(s, at(1), ws, create_field(model, key, label))
                .await
                .unwrap();
            assert!(out.created);
            rows.push(field(&out.written));
        }
        let dup = apply(s, at(2), ws, create_field("accounts", "plan", "Other")).await;
        assert!(
            matches!(dup, Err(WriteError::Conflict(_))),
            "{backend:?}: {dup:?}"
        );
        assert_eq!(
            s.find_custom_field(ws, rows[0].id).await.unwrap(),
            Some(rows[0].clone())
        );

        let labels =
            |rows: Vec<CustomFieldRow>| rows.into_iter().map(|r| r.label).collect::<Vec<_>>();
        assert_eq!(
            labels(s.list_custom_fields(ws, None).await.unwrap()),
            ["ARR", "Beta", "Plan", "Plan (user)", "Tier"],
            "{backend:?}"
        );
        assert_eq!(
            labels(s.list_custom_fields(ws, Some("accounts")).await.unwrap()),
            ["ARR", "Beta", "Plan"]
        );
        assert_eq!(
            labels(s.list_custom_fields(ws, Some("users")).await.unwrap()),
            ["Plan (user)"]
        );
        assert!(
            s.list_custom_fields(ws, Some("nope"))
                .await
                .unwrap()
                .is_empty()
        );

        let updated = field(
            &apply(
                s,
                at(3),
                ws,
                Write::UpdateCustomField {
                    target: rows[0].id,
                    fields: CustomFieldFields {
                        label: Some("Alpha plan".to_owned()),
                        field_type: Some("multiselect".to_owned()),
                        description: Some(None),
                        options: Some(json!([{"label": "X", "value": [1, {"n": null}]}])),
                    },
                },
            )
            .await
            .unwrap()
            .written,
        );
        assert_eq!(updated.key, "plan");
        assert_eq!(updated.description, None);
        assert_eq!((updated.created_at, updated.updated_at), (at(1), at(3)));
        assert_eq!(
            s.find_custom_field(ws, rows[0].id).await.unwrap(),
            Some(updated.clone())
        );
        assert_eq!(
            labels(s.list_custom_fields(ws, Some("accounts")).await.unwrap()),
            ["ARR", "Alpha plan", "Beta"]
        );
        let missing = CustomFieldId::generate();
        let r = apply(
            s,
            at(4),
            ws,
            Write::UpdateCustomField {
                target: missing,
                fields: CustomFieldFields {
                    label: None,
                    field_type: None,
                    description: None,
                    options: None,
                },
            },
        )
        .await;
        assert!(matches!(r, Err(WriteError::NotFound(_))));

        apply(
            s,
            at(5),
            ws,
            Write::DeleteCustomField { target: rows[0].id },
        )
        .await
        .unwrap();
        assert_eq!(s.find_custom_field(ws, rows[0].id).await.unwrap(), None);
        let r = apply(
            s,
            at(5),
            ws,
            Write::DeleteCustomField { target: rows[0].id },
        )
        .await;
        assert!(matches!(r, Err(WriteError::NotFound(_))));
        // The (model, key) is free again.
        assert!(
            apply(s, at(6), ws, create_field("accounts", "plan", "Plan"))
                .await
                .is_ok()
        );
    }
}
