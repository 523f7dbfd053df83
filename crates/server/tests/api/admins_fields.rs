use serde_json::json;

use super::helpers::error_of;
use crate::on_every_backend;

on_every_backend!(admins_crud_and_search, |app| {
    let a = app
        .ok_post(
            "/resources/admins",
            json!({"name": "Casey CSM", "email": "Casey@Team.example"}),
        )
        .await;
    assert_eq!(a["licenseStatus"], "active");
    let id = a["id"].as_str().unwrap().to_owned();
    let found = app
        .ok_get("/resources/admins/search?email=casey%40team.example")
        .await;
    assert_eq!(found["id"], id.as_str(), "search answers the object itself");
    let (status, err) = app
        .post(
            "/resources/admins",
            json!({"name": "Dup", "email": "casey@team.example"}),
        )
        .await;
    assert_eq!((status, error_of(&err).0), (409, "conflict"));
    let (status, err) = app
        .post(
            "/resources/admins",
            json!({"name": "X", "email": "x@team.example", "licenseStatus": "boss"}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("licenseStatus")));
    let updated = app
        .put(
            &format!("/resources/admins/{id}"),
            json!({"licenseStatus": "deactivated"}),
        )
        .await
        .1;
    assert_eq!(updated["licenseStatus"], "deactivated");
    let list = app.ok_get("/resources/admins").await;
    assert_eq!(list["results"].as_array().unwrap().len(), 1);
    assert_eq!(app.delete(&format!("/resources/admins/{id}")).await.0, 200);
    assert_eq!(
        app.get("/resources/admins/search?email=casey%40team.example")
            .await
            .0,
        404
    );
});

on_every_backend!(custom_fields_are_a_bare_array_sorted_by_label, |app| {
    app.ok_post("/resources/customFields", json!({"model": "accounts", "key": "renewalStage", "label": "Renewal stage", "type": "picklist",
        "options": [{"label": "Early", "value": "early"}, {"label": "Late", "value": "late"}]})).await;
    app.ok_post(
        "/resources/customFields",
        json!({"model": "accounts", "key": "qbrDate", "label": "QBR date", "type": "date"}),
    )
    .await;
    app.ok_post(
        "/resources/customFields",
        json!({"model": "users", "key": "champion", "label": "Champion", "type": "boolean"}),
    )
    .await;

    let accounts = app.ok_get("/resources/customFields?model=accounts").await;
    let labels: Vec<_> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(labels, ["QBR date", "Renewal stage"]);
    assert_eq!(accounts[1]["options"][1]["value"], "late");
    assert_eq!(
        app.ok_get("/resources/customFields")
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let (status, err) = app
        .post(
            "/resources/customFields",
            json!({"model": "accounts", "key": "qbrDate", "label": "Again", "type": "date"}),
        )
        .await;
    assert_eq!((status, error_of(&err).0), (409, "conflict"));
    let (status, err) = app
        .post(
            "/resources/customFields",
            json!({"model": "accounts", "key": "k", "type": "colour"}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("type")));
    let (status, err) = app
        .post(
            "/resources/customFields",
            json!({"model": "planets", "key": "k", "type": "string"}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("model")));
    let (status, err) = app.get("/resources/customFields?model=planets").await;
    assert_eq!((status, error_of(&err).1), (400, Some("model")));
});

on_every_backend!(trait_values_are_checked_against_their_definitions, |app| {
    // Free-form before any definition (this also fills the definitions cache, which each
    // definition written below must clear).
    assert_eq!(
        app.post(
            "/resources/accounts",
            json!({"externalId": "pre", "name": "P", "traits": {"seats": "early"}})
        )
        .await
        .0,
        200
    );
    for (key, ty, options) in [
        ("seats", "number", json!(null)),
        (
            "tier",
            "picklist",
            json!([{"value": "gold"}, {"value": "silver"}]),
        ),
        ("renewal", "date", json!(null)),
        (
            "tags",
            "multiselect",
            json!([{"value": "a"}, {"value": "b"}]),
        ),
        ("vip", "boolean", json!(null)),
    ] {
        app.ok_post(
            "/resources/customFields",
            json!({"model": "accounts", "key": key, "label": key, "type": ty, "options": options}),
        )
        .await;
    }
    let bad = [
        (json!({"seats": "ten"}), "traits.seats"),
        (json!({"tier": "bronze"}), "traits.tier"),
        (json!({"renewal": "next spring"}), "traits.renewal"),
        (json!({"tags": ["a", "z"]}), "traits.tags"),
        (json!({"vip": "yes"}), "traits.vip"),
    ];
    for (traits, field) in bad {
        let (status, err) = app
            .post(
                "/resources/accounts",
                json!({"externalId": "a", "name": "A", "traits": traits}),
            )
            .await;
        assert_eq!(
            (status, error_of(&err)),
            (400, ("invalid_field", Some(field))),
            "{traits}"
        );
    }
    assert_eq!(
        app.get("/resources/accounts/a").await.0,
        404,
        "nothing written"
    );
    let ok = json!({"seats": 10, "tier": "gold", "renewal": "2027-01-01", "tags": ["a", "b"], "vip": true, "free": {"any": "thing"}});
    assert_eq!(
        app.ok_post(
            "/resources/accounts",
            json!({"externalId": "a", "name": "A", "traits": ok})
        )
        .await["traits"]["seats"],
        10
    );
    let (status, err) = app
        .put(
            "/resources/accounts/a",
            json!({"traits": {"seats": "many"}}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (400, Some("traits.seats")));
    assert_eq!(
        app.put("/resources/accounts/a", json!({"traits": {"seats": null}}))
            .await
            .0,
        200,
        "null deletes, always allowed"
    );
    // Users' traits are another model: the account definition does not apply to them.
    assert_eq!(
        app.post(
            "/resources/users",
            json!({"externalId": "u", "traits": {"seats": "ten"}})
        )
        .await
        .0,
        200
    );
    // Ingestion is checked too, naming the message.
    let (status, err) = app
        .send(
            reqwest::Method::POST,
            "/v1/batch",
            Some(json!({"batch": [
                {"type": "group", "groupId": "a", "traits": {"name": "A"}, "messageId": "g0"},
                {"type": "group", "groupId": "a", "traits": {"seats": "lots"}, "messageId": "g1"}
            ]})),
        )
        .await;
    assert_eq!(
        (status, error_of(&err).1),
        (400, Some("batch[1].traits.seats"))
    );
    // A deleted definition no longer types its trait.
    let seats = app
        .ok_get("/resources/customFields?model=accounts")
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "seats")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("/resources/customFields/{seats}"))
            .await
            .0,
        200
    );
    assert_eq!(
        app.put(
            "/resources/accounts/a",
            json!({"traits": {"seats": "many"}})
        )
        .await
        .0,
        200
    );
});
