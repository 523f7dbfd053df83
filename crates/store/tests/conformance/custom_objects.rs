//! Custom objects and their instances: definitions, upserts, archiving, paging, parents'
//! deletion and workspace isolation, on every backend.

use serde_json::{Value, json};
use steward_engine::Engine;
use steward_engine::custom_objects::CustomObjectName;
use steward_engine::domain::FieldError;
use steward_engine::ids::CustomObjectId;
use steward_engine::page::{PageRequest, SortBy};
use steward_engine::time::Millis;
use steward_store::Store;
use steward_store::custom_objects::InstanceScope;
use steward_store::rows::{CustomObjectInstanceRow, CustomObjectRow, Listed};
use steward_store::test_support::backends;
use steward_store::write::{
    CustomObjectFields, FieldDefinition, InstanceFields, MissingParent, Write, WriteError, Written,
};

use crate::support::*;

fn at(ms: i64) -> Millis {
    Millis(T0.0 + ms)
}

fn def(key: &str, label: &str, field_type: &str) -> FieldDefinition {
    FieldDefinition {
        key: key.into(),
        label: label.into(),
        field_type: field_type.into(),
        description: None,
        options: json!([]),
    }
}

fn create_object(name: &str, fields: Vec<FieldDefinition>) -> Write {
    Write::CreateCustomObject {
        name: CustomObjectName::parse("name", name).unwrap(),
        label: name.to_uppercase(),
        fields,
    }
}

fn as_object(w: &Written) -> CustomObjectRow {
    match w {
        Written::CustomObject(r) => r.clone(),
        other => panic!("expected a custom object, got {other:?}"),
    }
}

fn as_instance(w: &Written) -> CustomObjectInstanceRow {
    match w {
        Written::CustomObjectInstance(r) => r.clone(),
        other => panic!("expected an instance, got {other:?}"),
    }
}

fn upsert(
    object: &str,
    external: Option<&str>,
    account: Option<&str>,
    org: Option<&str>,
    traits: Value,
) -> Write {
    Write::UpsertCustomObjectInstance {
        object: rref(object),
        external_id: external.map(ext),
        fields: InstanceFields {
            name: None,
            traits: patch(traits),
            account: account.map(|a| Some(rref(a))),
            organization: org.map(|o| Some(rref(o))),
            account_field: "customerId",
            ..InstanceFields::default()
        },
    }
}

async fn all_instances(
    store: &Store,
    ws: steward_engine::ids::WorkspaceId,
    object: CustomObjectId,
    scope: InstanceScope,
    archived: bool,
    limit: usize,
) -> Vec<CustomObjectInstanceRow> {
    let mut out: Vec<CustomObjectInstanceRow> = Vec::new();
    let mut page = PageRequest::first(SortBy::UpdatedAt, limit);
    loop {
        let rows = store
            .list_custom_object_instances(ws, object, scope, archived, &page)
            .await
            .unwrap();
        let Some(last) = rows.last() else { break };
        let key = last.page_key(page.sort);
        assert!(
            page.after.is_none_or(|after| key < after),
            "the walk does not progress"
        );
        page.after = Some(key);
        out.extend(rows);
    }
    out
}

#[tokio::test]
async fn objects_keep_their_field_definitions() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let created = ok(
            s,
            &mut e,
            at(1),
            ws,
            create_object(
                "deals",
                vec![
                    def("stage", "Stage", "picklist"),
                    def("amount", "Amount", "number"),
                ],
            ),
        )
        .await;
        assert!(created.created);
        let deals = as_object(&created.written);
        let labels: Vec<_> = deals.fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["Amount", "Stage"], "{backend:?}: sorted by label");
        assert!(deals.fields.iter().all(|f| f.model == "customObjects"));
        assert_eq!(
            s.find_custom_object(ws, &rref(deals.id))
                .await
                .unwrap()
                .as_ref(),
            Some(&deals),
            "{backend:?}"
        );
        assert_eq!(
            s.find_custom_object(ws, &rref("deals"))
                .await
                .unwrap()
                .as_ref(),
            Some(&deals)
        );
        assert!(
            s.find_custom_object(ws, &rref("nope"))
                .await
                .unwrap()
                .is_none()
        );

        // A taken name, or a key defined twice, is a conflict and writes nothing.
        assert!(matches!(
            apply(s, at(2), ws, create_object("deals", vec![])).await,
            Err(WriteError::Conflict(_))
        ));
        assert!(matches!(
            apply(
                s,
                at(2),
                ws,
                create_object("x", vec![def("a", "A", "string"), def("a", "B", "number")])
            )
            .await,
            Err(WriteError::Conflict(_))
        ));
        assert!(
            s.find_custom_object(ws, &rref("x"))
                .await
                .unwrap()
                .is_none()
        );

        // Replacing the list keeps the ids of keys that stay.
        let stage_id = deals.fields.iter().find(|f| f.key == "stage").unwrap().id;
        let update = Write::UpdateCustomObject {
            target: rref("deals"),
            fields: CustomObjectFields {
                label: Some("Deals".into()),
                fields: Some(vec![
                    def("stage", "Deal stage", "string"),
                    def("closed", "Closed", "boolean"),
                ]),
            },
        };
        let updated = as_object(&ok(s, &mut e, at(3), ws, update).await.written);
        assert_eq!(updated.label, "Deals");
        assert_eq!(updated.updated_at, at(3));
        let keys: Vec<_> = updated
            .fields
            .iter()
            .map(|f| (f.key.as_str(), f.label.as_str()))
            .collect();
        assert_eq!(keys, [("closed", "Closed"), ("stage", "Deal stage")]);
        let stage = updated.fields.iter().find(|f| f.key == "stage").unwrap();
        assert_eq!(
            (
                stage.id,
                stage.created_at,
                stage.updated_at,
                stage.field_type.as_str()
            ),
            (stage_id, at(1), at(3), "string")
        );

        // One more field; its key must be new on this object.
        let add = |key: &str| Write::AddCustomObjectField {
            object: rref(deals.id),
            field: def(key, "Owner", "teamMember"),
        };
        let added = as_object(&ok(s, &mut e, at(4), ws, add("owner")).await.written);
        assert_eq!(added.fields.len(), 3);
        assert!(matches!(
            apply(s, at(5), ws, add("owner")).await,
            Err(WriteError::Conflict(_))
        ));
        assert_eq!(
            s.find_custom_object(ws, &rref("deals"))
                .await
                .unwrap()
                .unwrap(),
            added,
            "{backend:?}: stored as answered"
        );

        // Lists page like every other list.
        for name in ["a1", "a2", "a3"] {
            ok(s, &mut e, at(10), ws, create_object(name, vec![])).await;
        }
        let mut seen = Vec::new();
        let mut page = PageRequest::first(SortBy::CreatedAt, 2);
        loop {
            let rows = s.list_custom_objects(ws, &page).await.unwrap();
            let Some(last) = rows.last() else { break };
            page.after = Some(last.page_key(page.sort));
            seen.extend(rows.into_iter().map(|r| r.name));
        }
        seen.sort();
        assert_eq!(seen, ["a1", "a2", "a3", "deals"], "{backend:?}");

        // Deleting an object deletes its instances.
        ok(s, &mut e, at(20), ws, upsert_account("acme", None)).await;
        let inst = as_instance(
            &ok(
                s,
                &mut e,
                at(21),
                ws,
                upsert("deals", Some("d1"), Some("acme"), None, json!({})),
            )
            .await
            .written,
        );
        // The configuration file's deletion refuses while live instances exist.
        assert!(matches!(
            apply(
                s,
                at(22),
                ws,
                Write::DeleteCustomObject {
                    target: rref("deals"),
                    if_empty: true,
                }
            )
            .await,
            Err(WriteError::Conflict(_))
        ));
        ok(
            s,
            &mut e,
            at(22),
            ws,
            Write::DeleteCustomObject {
                target: rref("deals"),
                if_empty: false,
            },
        )
        .await;
        assert!(
            s.find_custom_object(ws, &rref("deals"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            s.find_custom_object_instance(ws, deals.id, &rref(inst.id))
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            apply(
                s,
                at(23),
                ws,
                Write::DeleteCustomObject {
                    target: rref("deals"),
                    if_empty: false,
                }
            )
            .await,
            Err(WriteError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn instances_upsert_merge_archive_and_page() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let deals = as_object(
            &ok(s, &mut e, at(0), ws, create_object("deals", vec![]))
                .await
                .written,
        );
        let acme = as_account(
            &ok(s, &mut e, at(0), ws, upsert_account("acme", None))
                .await
                .written,
        );
        let org = as_org(
            &ok(s, &mut e, at(0), ws, upsert_org("globex", json!({})))
                .await
                .written,
        );

        let first = ok(
            s,
            &mut e,
            at(1),
            ws,
            upsert(
                "deals",
                Some("d1"),
                Some("acme"),
                None,
                json!({"amount": 10, "stage": "new", "gone": null}),
            ),
        )
        .await;
        assert!(first.created, "{backend:?}");
        let d1 = as_instance(&first.written);
        assert_eq!(
            (d1.name.as_str(), d1.external_id.as_deref()),
            ("d1", Some("d1")),
            "named after its externalId"
        );
        assert_eq!(
            (d1.account_id, d1.organization_id, d1.custom_object_id),
            (Some(acme.id), None, deals.id)
        );
        assert_eq!(json!(d1.traits), json!({"amount": 10, "stage": "new"}));

        // Same externalId: an update; traits merge and null deletes; parents by Steward id too.
        let again = ok(
            s,
            &mut e,
            at(2),
            ws,
            upsert(
                &deals.id.to_string(),
                Some("d1"),
                None,
                Some(&org.id.to_string()),
                json!({"stage": null, "won": true}),
            ),
        )
        .await;
        assert!(!again.created);
        let d1b = as_instance(&again.written);
        assert_eq!(d1b.id, d1.id);
        assert_eq!(json!(d1b.traits), json!({"amount": 10, "won": true}));
        assert_eq!(
            (
                d1b.account_id,
                d1b.organization_id,
                d1b.updated_at,
                d1b.created_at
            ),
            (Some(acme.id), Some(org.id), at(2), at(1))
        );
        assert_eq!(
            s.find_custom_object_instance(ws, deals.id, &rref("d1"))
                .await
                .unwrap(),
            Some(d1b.clone())
        );
        assert_eq!(
            s.find_custom_object_instance(ws, deals.id, &rref(d1.id))
                .await
                .unwrap(),
            Some(d1b.clone())
        );
        // Re-sending the same data changes nothing, not even updatedAt.
        let same = as_instance(
            &ok(
                s,
                &mut e,
                at(3),
                ws,
                upsert("deals", Some("d1"), None, None, json!({"won": true})),
            )
            .await
            .written,
        );
        assert_eq!(same.updated_at, at(2));

        // A missing parent: refused naming the field the client used, or created for ingestion.
        let refused = apply(
            s,
            at(4),
            ws,
            upsert("deals", Some("d2"), Some("nobody"), None, json!({})),
        )
        .await;
        assert!(
            matches!(&refused, Err(WriteError::Invalid(FieldError { field, .. })) if field == "customerId"),
            "{refused:?}"
        );
        assert!(
            s.find_custom_object_instance(ws, deals.id, &rref("d2"))
                .await
                .unwrap()
                .is_none()
        );
        let mut creating = upsert("deals", Some("d2"), None, Some("new-org"), json!({}));
        if let Write::UpsertCustomObjectInstance { fields, .. } = &mut creating {
            fields.missing_parent = MissingParent::Create;
        }
        let d2 = as_instance(&ok(s, &mut e, at(4), ws, creating).await.written);
        let new_org = s
            .find_organization(ws, &rref("new-org"))
            .await
            .unwrap()
            .expect("created");
        assert_eq!(d2.organization_id, Some(new_org.id));
        // No parent at all; an unknown object.
        assert!(matches!(
            apply(
                s,
                at(5),
                ws,
                upsert("deals", Some("d3"), None, None, json!({}))
            )
            .await,
            Err(WriteError::Invalid(_))
        ));
        let unknown = apply(
            s,
            at(5),
            ws,
            upsert("tickets", Some("t1"), Some("acme"), None, json!({})),
        )
        .await;
        assert!(
            matches!(&unknown, Err(WriteError::Invalid(FieldError { field, .. })) if field == "customObjectId"),
            "{unknown:?}"
        );

        // Without an externalId every POST creates.
        let anon = |n: &str| {
            let mut w = upsert("deals", None, Some("acme"), None, json!({}));
            if let Write::UpsertCustomObjectInstance { fields, .. } = &mut w {
                fields.name = Some(name(n));
            }
            w
        };
        let x = as_instance(&ok(s, &mut e, at(6), ws, anon("X")).await.written);
        let y = as_instance(&ok(s, &mut e, at(7), ws, anon("X")).await.written);
        assert_ne!(x.id, y.id);
        assert_eq!((x.external_id, x.name.as_str()), (None, "X"));

        // Update by id: a new externalId, which must be free.
        let update = |target: &str, new_ext: &str| Write::UpdateCustomObjectInstance {
            object: rref("deals"),
            target: rref(target),
            fields: InstanceFields {
                external_id: Some(ext(new_ext)),
                ..InstanceFields::default()
            },
        };
        let renamed = as_instance(
            &ok(s, &mut e, at(8), ws, update(&x.id.to_string(), "dx"))
                .await
                .written,
        );
        assert_eq!(renamed.external_id.as_deref(), Some("dx"));
        assert!(
            matches!(
                apply(s, at(9), ws, update(&y.id.to_string(), "dx")).await,
                Err(WriteError::Conflict(_))
            ),
            "{backend:?}"
        );
        assert!(matches!(
            apply(s, at(9), ws, update("missing", "dz")).await,
            Err(WriteError::NotFound(_))
        ));

        // Archive: out of the live list, into the archived one; a new upsert restores it.
        let archive = Write::ArchiveCustomObjectInstance {
            object: rref("deals"),
            target: rref("d1"),
        };
        let archived = as_instance(&ok(s, &mut e, at(10), ws, archive.clone()).await.written);
        assert_eq!(
            (archived.archived_at, archived.updated_at),
            (Some(at(10)), at(10))
        );
        assert_eq!(
            as_instance(&ok(s, &mut e, at(11), ws, archive).await.written).archived_at,
            Some(at(10)),
            "archiving twice changes nothing"
        );
        let live: Vec<_> = all_instances(s, ws, deals.id, InstanceScope::All, false, 100)
            .await
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(
            live,
            [renamed.id, y.id, d2.id],
            "{backend:?}: newest first by updatedAt"
        );
        let gone: Vec<_> = all_instances(s, ws, deals.id, InstanceScope::All, true, 100)
            .await
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(gone, [d1.id]);
        let restored = as_instance(
            &ok(
                s,
                &mut e,
                at(12),
                ws,
                upsert("deals", Some("d1"), None, None, json!({})),
            )
            .await
            .written,
        );
        assert_eq!(restored.archived_at, None);

        // Scopes, and keyset paging with small pages.
        for i in 0..7 {
            ok(
                s,
                &mut e,
                at(20 + i),
                ws,
                upsert(
                    "deals",
                    Some(&format!("p{i}")),
                    None,
                    Some("globex"),
                    json!({}),
                ),
            )
            .await;
        }
        let by_org = all_instances(
            s,
            ws,
            deals.id,
            InstanceScope::Organization(org.id),
            false,
            3,
        )
        .await;
        assert_eq!(by_org.len(), 8, "{backend:?}: seven new ones and d1");
        let by_account: Vec<_> =
            all_instances(s, ws, deals.id, InstanceScope::Account(acme.id), false, 2)
                .await
                .into_iter()
                .map(|r| r.id)
                .collect();
        assert_eq!(by_account, [d1.id, renamed.id, y.id]);
        let mut everything = all_instances(s, ws, deals.id, InstanceScope::All, false, 4).await;
        everything.dedup_by_key(|r| r.id);
        assert_eq!(everything.len(), 11);
        for sort in [SortBy::CreatedAt, SortBy::UpdatedAt] {
            let rows = s
                .list_custom_object_instances(
                    ws,
                    deals.id,
                    InstanceScope::All,
                    false,
                    &PageRequest::first(sort, 100),
                )
                .await
                .unwrap();
            let keys: Vec<_> = rows.iter().map(|r| r.page_key(sort)).collect();
            assert!(
                keys.windows(2).all(|w| w[0] > w[1]),
                "{backend:?} {sort:?}: strictly descending"
            );
        }
    }
}

#[tokio::test]
async fn deleting_a_parent_deletes_instances_left_with_none() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let mut e = Engine::new();
        let deals = as_object(
            &ok(s, &mut e, at(0), ws, create_object("deals", vec![]))
                .await
                .written,
        );
        ok(s, &mut e, at(0), ws, upsert_org("o", json!({}))).await;
        ok(s, &mut e, at(0), ws, upsert_account("a", Some("o"))).await;
        ok(s, &mut e, at(0), ws, upsert_account("b", Some("o"))).await;
        ok(
            s,
            &mut e,
            at(1),
            ws,
            upsert("deals", Some("only-a"), Some("a"), None, json!({})),
        )
        .await;
        ok(
            s,
            &mut e,
            at(1),
            ws,
            upsert("deals", Some("a-and-o"), Some("a"), Some("o"), json!({})),
        )
        .await;
        ok(
            s,
            &mut e,
            at(1),
            ws,
            upsert("deals", Some("only-b"), Some("b"), None, json!({})),
        )
        .await;
        ok(
            s,
            &mut e,
            at(1),
            ws,
            upsert("deals", Some("only-o"), None, Some("o"), json!({})),
        )
        .await;
        let find = async |r: &str| {
            s.find_custom_object_instance(ws, deals.id, &rref(r))
                .await
                .unwrap()
        };

        ok(
            s,
            &mut e,
            at(2),
            ws,
            Write::DeleteAccount { target: rref("a") },
        )
        .await;
        assert!(find("only-a").await.is_none(), "{backend:?}");
        let kept = find("a-and-o").await.expect("still under the organization");
        assert_eq!(kept.account_id, None);

        // Without cascade the organization's accounts stay, and their instances with them.
        ok(
            s,
            &mut e,
            at(3),
            ws,
            Write::DeleteOrganization {
                target: rref("o"),
                cascade: false,
            },
        )
        .await;
        assert!(find("a-and-o").await.is_none());
        assert!(find("only-o").await.is_none());
        assert!(find("only-b").await.is_some(), "{backend:?}");
        ok(
            s,
            &mut e,
            at(4),
            ws,
            Write::DeleteAccount { target: rref("b") },
        )
        .await;
        assert!(find("only-b").await.is_none());
    }
}

#[tokio::test]
async fn workspaces_do_not_see_each_others_objects() {
    for backend in backends() {
        let (t, ws) = setup(backend).await;
        let s = &t.store;
        let other = s.create_workspace("other", T0).await.unwrap().id;
        let mut e = Engine::new();
        let deals = as_object(
            &ok(s, &mut e, at(0), ws, create_object("deals", vec![]))
                .await
                .written,
        );
        ok(s, &mut e, at(0), ws, upsert_account("acme", None)).await;
        let d1 = as_instance(
            &ok(
                s,
                &mut e,
                at(1),
                ws,
                upsert("deals", Some("d1"), Some("acme"), None, json!({})),
            )
            .await
            .written,
        );

        for r in [rref(deals.id), rref("deals")] {
            assert!(
                s.find_custom_object(other, &r).await.unwrap().is_none(),
                "{backend:?}"
            );
        }
        for r in [rref(d1.id), rref("d1")] {
            assert!(
                s.find_custom_object_instance(other, deals.id, &r)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        let page = PageRequest::first(SortBy::UpdatedAt, 100);
        assert!(
            s.list_custom_objects(other, &page)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            s.list_custom_object_instances(other, deals.id, InstanceScope::All, false, &page)
                .await
                .unwrap()
                .is_empty()
        );

        // The other workspace may use the same names; writes there cannot reach this one.
        ok(s, &mut e, at(2), other, create_object("deals", vec![])).await;
        ok(s, &mut e, at(2), other, upsert_account("acme", None)).await;
        let theirs = as_instance(
            &ok(
                s,
                &mut e,
                at(3),
                other,
                upsert("deals", Some("d1"), Some("acme"), None, json!({"x": 1})),
            )
            .await
            .written,
        );
        assert_ne!(theirs.id, d1.id);
        assert_eq!(
            s.find_custom_object_instance(ws, deals.id, &rref("d1"))
                .await
                .unwrap(),
            Some(d1.clone())
        );
        let by_id = apply(
            s,
            at(4),
            other,
            upsert(
                &deals.id.to_string(),
                Some("d9"),
                Some("acme"),
                None,
                json!({}),
            ),
        )
        .await;
        assert!(
            matches!(by_id, Err(WriteError::Invalid(_))),
            "{backend:?}: another workspace's object id is unknown here"
        );
        let archive = Write::ArchiveCustomObjectInstance {
            object: rref("deals"),
            target: rref(d1.id),
        };
        assert!(matches!(
            apply(s, at(5), other, archive).await,
            Err(WriteError::NotFound(_))
        ));
    }
}
