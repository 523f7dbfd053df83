//! Custom object operations, written once like `ops.rs` and instantiated next to
//! `backend_ops!` in `sqlite.rs` and `postgres.rs` (it uses that expansion's `Conn`, `Pool`,
//! `Table` and parent resolution).

macro_rules! custom_object_ops {
    (row: $row:ty) => {
        use steward_engine::domain::RecordName;
        use $crate::custom_objects::{InstanceScope, INSTANCE_COLS, OBJECT_COLS};

        fn decode_custom_object(r: &$row) -> SqlResult<CustomObjectRow> {
            let fields: String = r.try_get("fields")?;
            Ok(CustomObjectRow {
                id: CustomObjectId(r.try_get("id")?),
                name: r.try_get("name")?,
                label: r.try_get("label")?,
                fields: $crate::custom_objects::fields_from_json(&fields).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
            })
        }

        fn decode_instance(r: &$row) -> SqlResult<CustomObjectInstanceRow> {
            Ok(CustomObjectInstanceRow {
                id: CustomObjectInstanceId(r.try_get("id")?),
                custom_object_id: CustomObjectId(r.try_get("custom_object_id")?),
                external_id: r.try_get("external_id")?,
                name: r.try_get("name")?,
                traits: json_column(r, "traits")?,
                account_id: r.try_get::<Option<Uuid>, _>("account_id")?.map(AccountId),
                organization_id: r.try_get::<Option<Uuid>, _>("organization_id")?.map(OrganizationId),
                archived_at: r.try_get::<Option<i64>, _>("archived_at")?.map(Millis),
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
            })
        }

        const CUSTOM_OBJECTS: Table<CustomObjectRow> =
            Table { name: "custom_objects", cols: OBJECT_COLS, decode: decode_custom_object, has_external_id: false };

        /// Steward's id first, then the object's name.
        async fn find_object(conn: &mut Conn, ws: WorkspaceId, r: &RecordRef) -> SqlResult<Option<CustomObjectRow>> {
            if let Some(id) = r.as_uuid() {
                if let Some(found) = find_by_id(conn, &CUSTOM_OBJECTS, ws, id).await? {
                    return Ok(Some(found));
                }
            }
            let sql = format!("SELECT {OBJECT_COLS} FROM custom_objects WHERE workspace_id = $1 AND name = $2");
            let row = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(&r.0).fetch_optional(&mut *conn).await?;
            row.as_ref().map(decode_custom_object).transpose()
        }

        /// An instance of `object`: Steward's id first, then the external id.
        async fn find_instance(conn: &mut Conn, ws: WorkspaceId, object: CustomObjectId, r: &RecordRef) -> SqlResult<Option<CustomObjectInstanceRow>> {
            if let Some(id) = r.as_uuid() {
                let sql = format!("SELECT {INSTANCE_COLS} FROM custom_object_instances WHERE workspace_id = $1 AND custom_object_id = $2 AND id = $3");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(object.0).bind(id).fetch_optional(&mut *conn).await?;
                if let Some(row) = row {
                    return decode_instance(&row).map(Some);
                }
            }
            let sql = format!("SELECT {INSTANCE_COLS} FROM custom_object_instances WHERE workspace_id = $1 AND custom_object_id = $2 AND external_id = $3");
            let row = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(object.0).bind(&r.0).fetch_optional(&mut *conn).await?;
            row.as_ref().map(decode_instance).transpose()
        }

        // ---- reads --------------------------------------------------------------------------

        pub(crate) async fn find_custom_object(pool: &Pool, ws: WorkspaceId, r: &RecordRef) -> Result<Option<CustomObjectRow>> {
            Ok(find_object(&mut *pool.acquire().await?, ws, r).await?)
        }

        pub(crate) async fn list_custom_objects(pool: &Pool, ws: WorkspaceId, page: &PageRequest) -> Result<Vec<CustomObjectRow>> {
            Ok(list_page(&mut *pool.acquire().await?, &CUSTOM_OBJECTS, ws, page).await?)
        }

        pub(crate) async fn find_custom_object_instance(pool: &Pool, ws: WorkspaceId, object: CustomObjectId, r: &RecordRef) -> Result<Option<CustomObjectInstanceRow>> {
            Ok(find_instance(&mut *pool.acquire().await?, ws, object, r).await?)
        }

        /// Newest first by the page's sort, keyset-paged like every other list.
        pub(crate) async fn list_custom_object_instances(
            pool: &Pool, ws: WorkspaceId, object: CustomObjectId, scope: InstanceScope, archived: bool, page: &PageRequest,
        ) -> Result<Vec<CustomObjectInstanceRow>> {
            let col = match page.sort {
                SortBy::UpdatedAt => "updated_at",
                SortBy::CreatedAt => "created_at",
            };
            let mut sql = format!("SELECT {INSTANCE_COLS} FROM custom_object_instances WHERE workspace_id = $1 AND custom_object_id = $2");
            let mut n = 2;
            let parent = match scope {
                InstanceScope::All => None,
                InstanceScope::Account(a) => Some(("account_id", a.0)),
                InstanceScope::Organization(o) => Some(("organization_id", o.0)),
            };
            if let Some((column, _)) = parent {
                n += 1;
                sql.push_str(&format!(" AND {column} = ${n}"));
            }
            sql.push_str(if archived { " AND archived_at IS NOT NULL" } else { " AND archived_at IS NULL" });
            if page.after.is_some() {
                sql.push_str(&format!(" AND ({col}, id) < (${}, ${})", n + 1, n + 2));
                n += 2;
            }
            sql.push_str(&format!(" ORDER BY {col} DESC, id DESC LIMIT ${}", n + 1));
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(object.0);
            if let Some((_, id)) = parent {
                query = query.bind(id);
            }
            if let Some(after) = page.after {
                query = query.bind(after.at.0).bind(after.id);
            }
            let rows = query.bind(page.limit as i64).fetch_all(pool).await?;
            Ok(rows.iter().map(decode_instance).collect::<SqlResult<_>>()?)
        }

        // ---- writes -------------------------------------------------------------------------

        fn object_outcome(row: CustomObjectRow, created: bool) -> Outcome {
            Outcome { events: Vec::new(), written: Written::CustomObject(row), created, changes: Vec::new() }
        }

        async fn save_object(conn: &mut Conn, row: &CustomObjectRow) -> SqlResult<()> {
            sqlx::query("UPDATE custom_objects SET label = $1, fields = $2, updated_at = $3 WHERE id = $4")
                .bind(&row.label).bind($crate::custom_objects::fields_to_json(&row.fields)).bind(row.updated_at.0).bind(row.id.0)
                .execute(&mut *conn).await?;
            Ok(())
        }

        fn duplicate_key(defs: &[FieldDefinition]) -> Option<&str> {
            defs.iter().enumerate().find(|(i, d)| defs[..*i].iter().any(|e| e.key == d.key)).map(|(_, d)| d.key.as_str())
        }

        /// Every custom object and instance write (`apply_plain` hands them here).
        async fn apply_custom_objects(conn: &mut Conn, ws: WorkspaceId, now: Millis, write: &Write) -> std::result::Result<Outcome, WriteError> {
            match write {
                Write::CreateCustomObject { name, label, fields } => {
                    if let Some(key) = duplicate_key(fields) {
                        return Err(WriteError::Conflict(format!("the custom field `{key}` is defined twice")));
                    }
                    let mut defs: Vec<CustomFieldRow> = fields.iter().map(|d| $crate::custom_objects::new_field(d, now)).collect();
                    $crate::custom_objects::sort_fields(&mut defs);
                    let row = CustomObjectRow { id: CustomObjectId::generate(), name: name.as_str().to_owned(), label: label.clone(), fields: defs, created_at: now, updated_at: now };
                    let result = sqlx::query(
                        "INSERT INTO custom_objects (id, workspace_id, name, label, fields, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(row.id.0).bind(ws.0).bind(&row.name).bind(&row.label).bind($crate::custom_objects::fields_to_json(&row.fields))
                    .bind(now.0).bind(now.0)
                    .execute(&mut *conn).await;
                    unique_as_conflict(result, || format!("a custom object named `{}` already exists", row.name))?;
                    Ok(object_outcome(row, true))
                }
                Write::UpdateCustomObject { target, fields } => {
                    let mut row = find_object(conn, ws, target).await?.ok_or(WriteError::NotFound("custom object"))?;
                    let mut changed = false;
                    if let Some(label) = &fields.label {
                        changed |= row.label != *label;
                        row.label = label.clone();
                    }
                    if let Some(defs) = &fields.fields {
                        if let Some(key) = duplicate_key(defs) {
                            return Err(WriteError::Conflict(format!("the custom field `{key}` is defined twice")));
                        }
                        changed |= $crate::custom_objects::replace_fields(&mut row.fields, defs, now);
                    }
                    if changed {
                        row.updated_at = now;
                        save_object(conn, &row).await?;
                    }
                    Ok(object_outcome(row, false))
                }
                Write::DeleteCustomObject { target, if_empty } => {
                    let row = find_object(conn, ws, target).await?.ok_or(WriteError::NotFound("custom object"))?;
                    if *if_empty {
                        let live = sqlx::query("SELECT 1 FROM custom_object_instances WHERE custom_object_id = $1 AND archived_at IS NULL LIMIT 1")
                            .bind(row.id.0).fetch_optional(&mut *conn).await?;
                        if live.is_some() {
                            return Err(WriteError::Conflict(format!("custom object `{}` has instances; archive or delete them first", row.name)));
                        }
                    }
                    // Its instances go with it (ON DELETE CASCADE).
                    sqlx::query("DELETE FROM custom_objects WHERE id = $1").bind(row.id.0).execute(&mut *conn).await?;
                    Ok(Outcome { events: Vec::new(), written: Written::Deleted, created: false, changes: Vec::new() })
                }
                Write::AddCustomObjectField { object, field } => {
                    let mut row = find_object(conn, ws, object).await?.ok_or_else(|| WriteError::Invalid(FieldError::new(
                        "customObjectId", format!("`customObjectId` names a custom object that does not exist: {:?}", object.0),
                    )))?;
                    if row.fields.iter().any(|f| f.key == field.key) {
                        return Err(WriteError::Conflict(format!("a custom field `{}` already exists on custom object `{}`", field.key, row.name)));
                    }
                    row.fields.push($crate::custom_objects::new_field(field, now));
                    $crate::custom_objects::sort_fields(&mut row.fields);
                    row.updated_at = now;
                    save_object(conn, &row).await?;
                    Ok(object_outcome(row, false))
                }
                Write::UpsertCustomObjectInstance { object, external_id, fields } => {
                    let object = instance_object(conn, ws, object).await?;
                    let existing = match external_id {
                        Some(e) => find_instance_by_external(conn, ws, object.id, e.as_str()).await?,
                        None => None,
                    };
                    save_instance(conn, ws, now, object.id, existing, external_id.as_ref(), fields, true).await
                }
                Write::UpdateCustomObjectInstance { object, target, fields } => {
                    let object = instance_object(conn, ws, object).await?;
                    let existing = find_instance(conn, ws, object.id, target).await?.ok_or(WriteError::NotFound("custom object instance"))?;
                    save_instance(conn, ws, now, object.id, Some(existing), None, fields, false).await
                }
                Write::ArchiveCustomObjectInstance { object, target } => {
                    let object = instance_object(conn, ws, object).await?;
                    let mut row = find_instance(conn, ws, object.id, target).await?.ok_or(WriteError::NotFound("custom object instance"))?;
                    if row.archived_at.is_none() {
                        row.archived_at = Some(now);
                        row.updated_at = now;
                        sqlx::query("UPDATE custom_object_instances SET archived_at = $1, updated_at = $1 WHERE id = $2")
                            .bind(now.0).bind(row.id.0).execute(&mut *conn).await?;
                    }
                    Ok(Outcome { events: Vec::new(), written: Written::CustomObjectInstance(row), created: false, changes: Vec::new() })
                }
                other => Err(WriteError::Conflict(format!("not a custom object write: {other:?}"))),
            }
        }

        /// The object an instance write names; a missing one is an invalid reference (the
        /// server answers 404 for objects named in the path before it gets here).
        async fn instance_object(conn: &mut Conn, ws: WorkspaceId, r: &RecordRef) -> std::result::Result<CustomObjectRow, WriteError> {
            find_object(conn, ws, r).await?.ok_or_else(|| WriteError::Invalid(FieldError::new(
                "customObjectId", format!("`customObjectId` names a custom object that does not exist: {:?}", r.0),
            )))
        }

        async fn find_instance_by_external(conn: &mut Conn, ws: WorkspaceId, object: CustomObjectId, external_id: &str) -> SqlResult<Option<CustomObjectInstanceRow>> {
            let sql = format!("SELECT {INSTANCE_COLS} FROM custom_object_instances WHERE workspace_id = $1 AND custom_object_id = $2 AND external_id = $3");
            let row = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(object.0).bind(external_id).fetch_optional(&mut *conn).await?;
            row.as_ref().map(decode_instance).transpose()
        }

        #[allow(clippy::too_many_arguments)]
        async fn save_instance(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, object: CustomObjectId, existing: Option<CustomObjectInstanceRow>,
            external_id: Option<&ExternalId>, fields: &InstanceFields, restore: bool,
        ) -> std::result::Result<Outcome, WriteError> {
            let mut changes = Vec::new();
            let account_field = fields.account_field();
            let account = match &fields.account {
                None => None,
                Some(None) => Some(None),
                Some(Some(r)) => Some(Some(resolve_account(conn, ws, now, r, account_field, fields.missing_parent, &mut changes).await?)),
            };
            let organization = match &fields.organization {
                None => None,
                Some(None) => Some(None),
                Some(Some(r)) => Some(Some(resolve_organization(conn, ws, now, r, "organizationId", fields.missing_parent, &mut changes).await?)),
            };
            let created = existing.is_none();
            let mut row = match existing {
                Some(row) => row,
                None => {
                    let name = fields.name.as_ref().map(RecordName::as_str).or(external_id.map(ExternalId::as_str))
                        .ok_or_else(|| WriteError::Invalid(FieldError::missing("name")))?;
                    CustomObjectInstanceRow {
                        id: CustomObjectInstanceId::generate(),
                        custom_object_id: object,
                        external_id: external_id.map(|e| e.as_str().to_owned()),
                        name: name.to_owned(),
                        traits: Traits::new(),
                        account_id: None,
                        organization_id: None,
                        archived_at: None,
                        created_at: now,
                        updated_at: now,
                    }
                }
            };
            let mut changed = merge_traits(&mut row.traits, &fields.traits);
            if let Some(name) = &fields.name {
                changed |= row.name != name.as_str();
                row.name = name.as_str().to_owned();
            }
            if let Some(e) = &fields.external_id {
                changed |= row.external_id.as_deref() != Some(e.as_str());
                row.external_id = Some(e.as_str().to_owned());
            }
            if let Some(a) = account {
                changed |= row.account_id != a;
                row.account_id = a;
            }
            if let Some(o) = organization {
                changed |= row.organization_id != o;
                row.organization_id = o;
            }
            if restore && row.archived_at.is_some() {
                row.archived_at = None;
                changed = true;
            }
            if row.account_id.is_none() && row.organization_id.is_none() {
                return Err(WriteError::Invalid(FieldError::new(
                    account_field,
                    format!("an instance needs `{account_field}` or `organizationId`"),
                )));
            }
            if !created && !changed {
                return Ok(Outcome { events: Vec::new(), written: Written::CustomObjectInstance(row), created, changes });
            }
            row.updated_at = now;
            let result = if created {
                sqlx::query(
                    "INSERT INTO custom_object_instances (id, workspace_id, custom_object_id, external_id, name, traits, account_id, organization_id, archived_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $9)",
                )
                .bind(row.id.0).bind(ws.0).bind(object.0).bind(&row.external_id).bind(&row.name).bind(traits_text(&row.traits))
                .bind(row.account_id.map(|a| a.0)).bind(row.organization_id.map(|o| o.0)).bind(now.0)
                .execute(&mut *conn).await
            } else {
                sqlx::query(
                    "UPDATE custom_object_instances SET external_id = $1, name = $2, traits = $3, account_id = $4, organization_id = $5, \
                     archived_at = $6, updated_at = $7 WHERE id = $8",
                )
                .bind(&row.external_id).bind(&row.name).bind(traits_text(&row.traits)).bind(row.account_id.map(|a| a.0))
                .bind(row.organization_id.map(|o| o.0)).bind(row.archived_at.map(|t| t.0)).bind(now.0).bind(row.id.0)
                .execute(&mut *conn).await
            };
            let taken = row.external_id.clone().unwrap_or_default();
            unique_as_conflict(result, || format!("another instance of this custom object has externalId `{taken}`"))?;
            Ok(Outcome { events: Vec::new(), written: Written::CustomObjectInstance(row), created, changes })
        }
    };
}

pub(crate) use custom_object_ops;
