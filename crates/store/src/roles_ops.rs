//! Storage of key roles, owners and workspace configuration, written once for both backends
//! like `ops.rs` (this macro is expanded right after `backend_ops!` in `sqlite.rs` and
//! `postgres.rs`, and uses its helpers: `find_by_ref`, `ensure_user`, `Conn`, ...).

macro_rules! roles_ops {
    () => {
        use steward_engine::{AssignmentChange, Customer, RoleKey};
        use $crate::assign::{AdminRef, AssignmentWrite, ConfigWrite, KeyRoleWrite, OwnerWrite};

        /// The tables and id of the customer a write left behind.
        struct CustomerTables {
            customer: Customer,
            id: Uuid,
            key_roles: &'static str,
            owners: &'static str,
            column: &'static str,
            record_table: &'static str,
        }

        fn customer_of(written: &Written) -> Option<CustomerTables> {
            match written {
                Written::Account(row) => Some(CustomerTables {
                    customer: Customer::Account(row.id),
                    id: row.id.0,
                    key_roles: "account_key_roles",
                    owners: "account_owners",
                    column: "account_id",
                    record_table: "accounts",
                }),
                Written::Organization(row) => Some(CustomerTables {
                    customer: Customer::Organization(row.id),
                    id: row.id.0,
                    key_roles: "organization_key_roles",
                    owners: "organization_owners",
                    column: "organization_id",
                    record_table: "organizations",
                }),
                _ => None,
            }
        }

        /// Applies key roles and owner to the record `outcome` left behind. A change moves the
        /// record's `updatedAt` (as any other change of the record does).
        async fn apply_assignments(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, mut outcome: Outcome, assign: &AssignmentWrite,
        ) -> std::result::Result<Outcome, WriteError> {
            let Some(t) = customer_of(&outcome.written) else {
                return Err(WriteError::Conflict("key roles and owners apply to accounts and organizations only".to_owned()));
            };
            let mut changed = false;
            for kr in &assign.key_roles {
                changed |= set_key_role(conn, ws, now, &t, kr, &mut outcome.changes).await?;
            }
            if let Some(owner) = &assign.owner {
                changed |= set_owner(conn, ws, now, &t, owner, &mut outcome.changes).await?;
            }
            if changed {
                touch(conn, now, &t, &mut outcome).await?;
            }
            Ok(outcome)
        }

        async fn set_key_role(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, t: &CustomerTables, kr: &KeyRoleWrite,
            changes: &mut Vec<GraphChange>,
        ) -> std::result::Result<bool, WriteError> {
            let admin = match &kr.admin {
                None => None,
                Some(r) => Some(resolve_admin(conn, ws, now, r, &kr.field, changes).await?),
            };
            let sql = format!("SELECT admin_id FROM {} WHERE {} = $1 AND role_key = $2", t.key_roles, t.column);
            let current: Option<Uuid> = sqlx::query(AssertSqlSafe(sql))
                .bind(t.id).bind(kr.role.as_str())
                .fetch_optional(&mut *conn).await?
                .map(|r| r.try_get("admin_id")).transpose()?;
            if current == admin.map(|a: AdminId| a.0) {
                return Ok(false);
            }
            let sql = format!("DELETE FROM {} WHERE {} = $1 AND role_key = $2", t.key_roles, t.column);
            sqlx::query(AssertSqlSafe(sql)).bind(t.id).bind(kr.role.as_str()).execute(&mut *conn).await?;
            if let Some(admin) = admin {
                let sql = format!(
                    "INSERT INTO {} (workspace_id, {}, role_key, admin_id, assigned_at) VALUES ($1, $2, $3, $4, $5)",
                    t.key_roles, t.column
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(ws.0).bind(t.id).bind(kr.role.as_str()).bind(admin.0).bind(now.0)
                    .execute(&mut *conn).await?;
            }
            changes.push(GraphChange::Assignment(AssignmentChange::SetKeyRole { customer: t.customer, role: kr.role.clone(), admin }));
            Ok(true)
        }

        /// A team member by id (must exist), or by e-mail (created as a placeholder if unknown).
        async fn resolve_admin(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, r: &AdminRef, field: &str, changes: &mut Vec<GraphChange>,
        ) -> std::result::Result<AdminId, WriteError> {
            match r {
                AdminRef::Id(id) => match find_by_id(conn, &ADMINS, ws, id.0).await? {
                    Some(row) => Ok(row.id),
                    None => Err(WriteError::Invalid(FieldError::new(field, format!("`{field}` names a team member that does not exist: {id}")))),
                },
                AdminRef::Email(email) => {
                    let sql = format!("SELECT {ADMIN_COLS} FROM admins WHERE workspace_id = $1 AND email_norm = $2");
                    if let Some(row) = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(email.normalized()).fetch_optional(&mut *conn).await? {
                        return Ok(AdminId(row.try_get("id")?));
                    }
                    let id = AdminId::generate();
                    sqlx::query(
                        "INSERT INTO admins (id, workspace_id, name, email, email_norm, license_status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, 'auto-created', $6, $7)",
                    )
                    .bind(id.0).bind(ws.0).bind(email.as_str()).bind(email.as_str()).bind(email.normalized())
                    .bind(now.0).bind(now.0)
                    .execute(&mut *conn).await?;
                    changes.push(GraphChange::Assignment(AssignmentChange::TeamMember { admin: id, email: email.as_str().to_owned() }));
                    Ok(id)
                }
            }
        }

        async fn set_owner(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, t: &CustomerTables, owner: &OwnerWrite,
            changes: &mut Vec<GraphChange>,
        ) -> std::result::Result<bool, WriteError> {
            let user = match &owner.user {
                None => None,
                Some(r) => match find_by_ref(conn, &USERS, ws, r).await? {
                    Some(row) => Some(row.id),
                    None if owner.create_missing => {
                        let external_id = ExternalId::parse(&owner.field, &r.0).map_err(WriteError::Invalid)?;
                        Some(ensure_user(conn, ws, now, &external_id, changes).await?)
                    }
                    None => {
                        let field = &owner.field;
                        return Err(WriteError::Invalid(FieldError::new(
                            field.as_str(),
                            format!("`{field}` names a user that does not exist: {:?}", r.0),
                        )));
                    }
                },
            };
            let sql = format!("SELECT user_id FROM {} WHERE {} = $1", t.owners, t.column);
            let current: Option<Uuid> = sqlx::query(AssertSqlSafe(sql))
                .bind(t.id)
                .fetch_optional(&mut *conn).await?
                .map(|r| r.try_get("user_id")).transpose()?;
            if current == user.map(|u: UserId| u.0) {
                return Ok(false);
            }
            let sql = format!("DELETE FROM {} WHERE {} = $1", t.owners, t.column);
            sqlx::query(AssertSqlSafe(sql)).bind(t.id).execute(&mut *conn).await?;
            if let Some(user) = user {
                let sql = format!("INSERT INTO {} (workspace_id, {}, user_id, assigned_at) VALUES ($1, $2, $3, $4)", t.owners, t.column);
                sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(t.id).bind(user.0).bind(now.0).execute(&mut *conn).await?;
            }
            changes.push(GraphChange::Assignment(AssignmentChange::SetOwner { customer: t.customer, user }));
            Ok(true)
        }

        /// Moves the record's `updatedAt` to `now` when the write did not already.
        async fn touch(conn: &mut Conn, now: Millis, t: &CustomerTables, outcome: &mut Outcome) -> SqlResult<()> {
            let change = match &mut outcome.written {
                Written::Account(row) if row.updated_at != now => {
                    row.updated_at = now;
                    GraphChange::UpsertAccount { id: row.id, organization: row.organization_id, created_at: row.created_at, updated_at: now }
                }
                Written::Organization(row) if row.updated_at != now => {
                    row.updated_at = now;
                    GraphChange::UpsertOrganization { id: row.id, created_at: row.created_at, updated_at: now }
                }
                _ => return Ok(()),
            };
            let sql = format!("UPDATE {} SET updated_at = $1 WHERE id = $2", t.record_table);
            sqlx::query(AssertSqlSafe(sql)).bind(now.0).bind(t.id).execute(&mut *conn).await?;
            outcome.changes.push(change);
            Ok(())
        }

        async fn apply_config(conn: &mut Conn, ws: WorkspaceId, now: Millis, config: &ConfigWrite) -> std::result::Result<Outcome, WriteError> {
            let mut changes = Vec::new();
            match config {
                ConfigWrite::Put { name, value } => put_config(conn, ws, now, name, value).await?,
                ConfigWrite::Delete { name } => {
                    sqlx::query("DELETE FROM workspace_config WHERE workspace_id = $1 AND name = $2")
                        .bind(ws.0).bind(name).execute(&mut *conn).await?;
                }
                ConfigWrite::PutRoles { name, value, roles } => {
                    put_config(conn, ws, now, name, value).await?;
                    let mut in_use: Vec<String> = Vec::new();
                    for table in ["account_key_roles", "organization_key_roles"] {
                        let sql = format!("SELECT DISTINCT role_key FROM {table} WHERE workspace_id = $1");
                        for row in sqlx::query(AssertSqlSafe(sql)).bind(ws.0).fetch_all(&mut *conn).await? {
                            in_use.push(row.try_get("role_key")?);
                        }
                    }
                    in_use.sort();
                    in_use.dedup();
                    for key in in_use {
                        let kept = roles.iter().any(|r| r.as_str() == key);
                        let role = match RoleKey::parse("roles", &key) {
                            Ok(role) if role.is_builtin() || kept => continue,
                            Ok(role) => role,
                            Err(_) => continue,
                        };
                        for table in ["account_key_roles", "organization_key_roles"] {
                            let sql = format!("DELETE FROM {table} WHERE workspace_id = $1 AND role_key = $2");
                            sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(&key).execute(&mut *conn).await?;
                        }
                        changes.push(GraphChange::Assignment(AssignmentChange::ForgetRole { role }));
                    }
                }
            }
            Ok(Outcome { events: Vec::new(), written: Written::Config, created: false, changes })
        }

        async fn put_config(conn: &mut Conn, ws: WorkspaceId, now: Millis, name: &str, value: &serde_json::Value) -> SqlResult<()> {
            sqlx::query(
                "INSERT INTO workspace_config (workspace_id, name, value, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(ws.0).bind(name).bind(value.to_string()).bind(now.0)
            .execute(&mut *conn).await?;
            Ok(())
        }

        pub(crate) async fn config_documents(pool: &Pool, ws: WorkspaceId) -> Result<Vec<(String, serde_json::Value)>> {
            let rows = sqlx::query("SELECT name, value FROM workspace_config WHERE workspace_id = $1")
                .bind(ws.0).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let name: String = r.try_get("name")?;
                    let text: String = r.try_get("value")?;
                    let value = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("configuration `{name}`: {e}")))?;
                    Ok((name, value))
                })
                .collect()
        }

        pub(crate) async fn list_api_keys(pool: &Pool, ws: WorkspaceId) -> Result<Vec<ApiKeyRow>> {
            let rows = sqlx::query(
                "SELECT id, workspace_id, key_hash, prefix, label, role, created_at FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id",
            )
            .bind(ws.0).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let role: String = r.try_get("role")?;
                    Ok(ApiKeyRow {
                        id: ApiKeyId(r.try_get("id")?),
                        workspace_id: WorkspaceId(r.try_get("workspace_id")?),
                        key_hash: r.try_get("key_hash")?,
                        prefix: r.try_get("prefix")?,
                        label: r.try_get("label")?,
                        role: KeyRole::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("api key role {role:?}")))?,
                        created_at: Millis(r.try_get("created_at")?),
                    })
                })
                .collect()
        }

        /// Every key role and owner, as changes to apply to an empty engine.
        pub(crate) async fn load_assignments(pool: &Pool) -> Result<Vec<(WorkspaceId, AssignmentChange)>> {
            let mut out = Vec::new();
            for (table, column, account) in [
                ("account_key_roles", "account_id", true),
                ("organization_key_roles", "organization_id", false),
            ] {
                let sql = format!("SELECT workspace_id, {column} AS customer, role_key, admin_id FROM {table}");
                for r in sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await? {
                    let id: Uuid = r.try_get("customer")?;
                    let key: String = r.try_get("role_key")?;
                    let role = RoleKey::parse("role_key", &key).map_err(|e| StoreError::Corrupt(e.message))?;
                    let customer = if account { Customer::Account(AccountId(id)) } else { Customer::Organization(OrganizationId(id)) };
                    let admin = Some(AdminId(r.try_get("admin_id")?));
                    out.push((WorkspaceId(r.try_get("workspace_id")?), AssignmentChange::SetKeyRole { customer, role, admin }));
                }
            }
            for r in sqlx::query("SELECT workspace_id, id, email FROM admins").fetch_all(pool).await? {
                let admin = AdminId(r.try_get("id")?);
                out.push((WorkspaceId(r.try_get("workspace_id")?), AssignmentChange::TeamMember { admin, email: r.try_get("email")? }));
            }
            for (table, column, account) in [("account_owners", "account_id", true), ("organization_owners", "organization_id", false)] {
                let sql = format!("SELECT workspace_id, {column} AS customer, user_id FROM {table}");
                for r in sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await? {
                    let id: Uuid = r.try_get("customer")?;
                    let customer = if account { Customer::Account(AccountId(id)) } else { Customer::Organization(OrganizationId(id)) };
                    let user = Some(UserId(r.try_get("user_id")?));
                    out.push((WorkspaceId(r.try_get("workspace_id")?), AssignmentChange::SetOwner { customer, user }));
                }
            }
            Ok(out)
        }
    };
}

pub(crate) use roles_ops;
