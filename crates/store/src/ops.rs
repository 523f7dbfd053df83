//! Every storage operation, written once.
//!
//! `backend_ops!` is instantiated in `sqlite.rs` and `postgres.rs` with the concrete sqlx types
//! of each backend. The SQL text is shared: `$N` placeholders, `RETURNING`, row values and
//! savepoints mean the same on both. Where the dialects differ (how a write transaction
//! starts), the instantiation passes the difference in. Writing the bodies once keeps the two
//! backends from drifting; the conformance suite checks the rest.

macro_rules! backend_ops {
    (db: $db:ty, row: $row:ty, conn: $conn:ty, begin: $begin:literal, bulk: $bulk:ident) => {
        use sqlx::{AssertSqlSafe, Row as _};
        use steward_engine::domain::{merge_traits, ExternalId, FieldError, TraitPatch, Traits};
        use steward_engine::ids::*;
        use steward_engine::page::{PageRequest, SortBy};
        use steward_engine::time::Millis;
        use steward_engine::GraphChange;
        use uuid::Uuid;

        use $crate::error::{Result, StoreError};
        use $crate::rows::*;
        use $crate::write::*;
        use $crate::bench::BenchValue;
        // Ingestion's row-at-a-time statements, per backend (sqlite_write.rs / pg_write.rs).
        use $crate::$bulk as bulk;

        pub(crate) type Pool = sqlx::Pool<$db>;
        type Conn = $conn;
        type SqlResult<T> = std::result::Result<T, sqlx::Error>;

        use crate::sql::{ACCOUNT_COLS, ADMIN_COLS, FIELD_COLS, ORG_COLS, USER_COLS};

        // ---- decoding -----------------------------------------------------------------------

        fn json_column<T: serde::de::DeserializeOwned>(r: &$row, col: &str) -> SqlResult<T> {
            let text: String = r.try_get(col)?;
            serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        }

        fn decode_org(r: &$row) -> SqlResult<OrganizationRow> {
            Ok(OrganizationRow {
                id: OrganizationId(r.try_get("id")?),
                external_id: r.try_get("external_id")?,
                name: r.try_get("name")?,
                traits: json_column(r, "traits")?,
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
            })
        }

        fn decode_account(r: &$row) -> SqlResult<AccountRow> {
            Ok(AccountRow {
                id: AccountId(r.try_get("id")?),
                external_id: r.try_get("external_id")?,
                name: r.try_get("name")?,
                traits: json_column(r, "traits")?,
                organization_id: r.try_get::<Option<Uuid>, _>("organization_id")?.map(OrganizationId),
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
            })
        }

        fn decode_user(r: &$row) -> SqlResult<UserRow> {
            Ok(UserRow {
                id: UserId(r.try_get("id")?),
                external_id: r.try_get("external_id")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                avatar: r.try_get("avatar")?,
                traits: json_column(r, "traits")?,
                joined_at: r.try_get::<Option<i64>, _>("joined_at")?.map(Millis),
                unsubscribed: r.try_get("unsubscribed")?,
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
            })
        }

        fn decode_admin(r: &$row) -> SqlResult<AdminRow> {
            Ok(AdminRow {
                id: AdminId(r.try_get("id")?),
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                license_status: r.try_get("license_status")?,
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
            })
        }

        fn decode_field(r: &$row) -> SqlResult<CustomFieldRow> {
            Ok(CustomFieldRow {
                id: CustomFieldId(r.try_get("id")?),
                model: r.try_get("model")?,
                key: r.try_get("key")?,
                label: r.try_get("label")?,
                field_type: r.try_get("field_type")?,
                description: r.try_get("description")?,
                options: json_column(r, "options")?,
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
            })
        }

        fn decode_workspace(r: &$row) -> SqlResult<WorkspaceRow> {
            Ok(WorkspaceRow {
                id: WorkspaceId(r.try_get("id")?),
                name: r.try_get("name")?,
                created_at: Millis(r.try_get("created_at")?),
            })
        }

        fn traits_text(traits: &Traits) -> String {
            serde_json::Value::Object(traits.clone()).to_string()
        }

        /// The traits of a new record: a patch without its deletions.
        fn new_traits(patch: &TraitPatch) -> Traits {
            let mut traits = Traits::new();
            merge_traits(&mut traits, patch);
            traits
        }

        /// One of the record tables, with how to read it.
        struct Table<T> {
            name: &'static str,
            cols: &'static str,
            decode: fn(&$row) -> SqlResult<T>,
            has_external_id: bool,
        }

        const ORGS: Table<OrganizationRow> =
            Table { name: "organizations", cols: ORG_COLS, decode: decode_org, has_external_id: true };
        const ACCOUNTS: Table<AccountRow> =
            Table { name: "accounts", cols: ACCOUNT_COLS, decode: decode_account, has_external_id: true };
        const USERS: Table<UserRow> =
            Table { name: "users", cols: USER_COLS, decode: decode_user, has_external_id: true };
        const ADMINS: Table<AdminRow> =
            Table { name: "admins", cols: ADMIN_COLS, decode: decode_admin, has_external_id: false };
        const FIELDS: Table<CustomFieldRow> =
            Table { name: "custom_fields", cols: FIELD_COLS, decode: decode_field, has_external_id: false };

        async fn find_by_id<T>(conn: &mut Conn, t: &Table<T>, ws: WorkspaceId, id: Uuid) -> SqlResult<Option<T>> {
            let sql = crate::sql::find_by_id(t.name, t.cols);
            let row = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(id).fetch_optional(&mut *conn).await?;
            row.as_ref().map(t.decode).transpose()
        }

        async fn find_by_external<T>(conn: &mut Conn, t: &Table<T>, ws: WorkspaceId, external_id: &str) -> SqlResult<Option<T>> {
            let sql = crate::sql::find_by_external(t.name, t.cols);
            let row = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(external_id).fetch_optional(&mut *conn).await?;
            row.as_ref().map(t.decode).transpose()
        }

        /// Steward's id first, then the external id.
        async fn find_by_ref<T>(conn: &mut Conn, t: &Table<T>, ws: WorkspaceId, r: &RecordRef) -> SqlResult<Option<T>> {
            if let Some(id) = r.as_uuid() {
                if let Some(found) = find_by_id(conn, t, ws, id).await? {
                    return Ok(Some(found));
                }
            }
            if t.has_external_id {
                find_by_external(conn, t, ws, &r.0).await
            } else {
                Ok(None)
            }
        }

        async fn list_page<T>(conn: &mut Conn, t: &Table<T>, ws: WorkspaceId, page: &PageRequest) -> SqlResult<Vec<T>> {
            let limit = page.limit as i64;
            let rows = match page.after {
                Some(after) => {
                    let sql = crate::sql::list_page(t.name, t.cols, page.sort, true);
                    sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(after.at.0).bind(after.id).bind(limit).fetch_all(&mut *conn).await?
                }
                None => {
                    let sql = crate::sql::list_page(t.name, t.cols, page.sort, false);
                    sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(limit).fetch_all(&mut *conn).await?
                }
            };
            rows.iter().map(t.decode).collect()
        }

        /// The records with these ids, in the order given (ids that no longer exist are left out).
        async fn by_ids<T: Listed>(conn: &mut Conn, t: &Table<T>, ws: WorkspaceId, ids: &[Uuid]) -> SqlResult<Vec<T>> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = crate::sql::by_ids(t.name, t.cols, ids.len());
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(ws.0);
            for id in ids {
                query = query.bind(*id);
            }
            let rows = query.fetch_all(&mut *conn).await?;
            let mut found: Vec<T> = rows.iter().map(t.decode).collect::<SqlResult<_>>()?;
            let position = |row: &T| ids.iter().position(|id| *id == row.page_key(SortBy::UpdatedAt).id);
            found.sort_by_cached_key(|row| position(row));
            Ok(found)
        }

        // ---- reads --------------------------------------------------------------------------

        pub(crate) async fn find_organization(pool: &Pool, ws: WorkspaceId, r: &RecordRef) -> Result<Option<OrganizationRow>> {
            Ok(find_by_ref(&mut *pool.acquire().await?, &ORGS, ws, r).await?)
        }

        pub(crate) async fn find_account(pool: &Pool, ws: WorkspaceId, r: &RecordRef) -> Result<Option<AccountRow>> {
            Ok(find_by_ref(&mut *pool.acquire().await?, &ACCOUNTS, ws, r).await?)
        }

        pub(crate) async fn find_user(pool: &Pool, ws: WorkspaceId, r: &RecordRef) -> Result<Option<UserRow>> {
            Ok(find_by_ref(&mut *pool.acquire().await?, &USERS, ws, r).await?)
        }

        pub(crate) async fn find_admin(pool: &Pool, ws: WorkspaceId, id: AdminId) -> Result<Option<AdminRow>> {
            Ok(find_by_id(&mut *pool.acquire().await?, &ADMINS, ws, id.0).await?)
        }

        pub(crate) async fn find_custom_field(pool: &Pool, ws: WorkspaceId, id: CustomFieldId) -> Result<Option<CustomFieldRow>> {
            Ok(find_by_id(&mut *pool.acquire().await?, &FIELDS, ws, id.0).await?)
        }

        pub(crate) async fn list_organizations(pool: &Pool, ws: WorkspaceId, page: &PageRequest) -> Result<Vec<OrganizationRow>> {
            Ok(list_page(&mut *pool.acquire().await?, &ORGS, ws, page).await?)
        }

        pub(crate) async fn list_accounts(pool: &Pool, ws: WorkspaceId, page: &PageRequest) -> Result<Vec<AccountRow>> {
            Ok(list_page(&mut *pool.acquire().await?, &ACCOUNTS, ws, page).await?)
        }

        pub(crate) async fn list_users(pool: &Pool, ws: WorkspaceId, page: &PageRequest) -> Result<Vec<UserRow>> {
            Ok(list_page(&mut *pool.acquire().await?, &USERS, ws, page).await?)
        }

        pub(crate) async fn list_admins(pool: &Pool, ws: WorkspaceId, page: &PageRequest) -> Result<Vec<AdminRow>> {
            Ok(list_page(&mut *pool.acquire().await?, &ADMINS, ws, page).await?)
        }

        pub(crate) async fn list_custom_fields(pool: &Pool, ws: WorkspaceId, model: Option<&str>) -> Result<Vec<CustomFieldRow>> {
            let mut conn = pool.acquire().await?;
            let rows = match model {
                Some(model) => {
                    let sql = format!("SELECT {FIELD_COLS} FROM custom_fields WHERE workspace_id = $1 AND model = $2 ORDER BY label, id");
                    sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(model).fetch_all(&mut *conn).await?
                }
                None => {
                    let sql = format!("SELECT {FIELD_COLS} FROM custom_fields WHERE workspace_id = $1 ORDER BY label, id");
                    sqlx::query(AssertSqlSafe(sql)).bind(ws.0).fetch_all(&mut *conn).await?
                }
            };
            Ok(rows.iter().map(decode_field).collect::<SqlResult<_>>()?)
        }

        pub(crate) async fn organizations_by_ids(pool: &Pool, ws: WorkspaceId, ids: &[Uuid]) -> Result<Vec<OrganizationRow>> {
            Ok(by_ids(&mut *pool.acquire().await?, &ORGS, ws, ids).await?)
        }

        pub(crate) async fn accounts_by_ids(pool: &Pool, ws: WorkspaceId, ids: &[Uuid]) -> Result<Vec<AccountRow>> {
            Ok(by_ids(&mut *pool.acquire().await?, &ACCOUNTS, ws, ids).await?)
        }

        pub(crate) async fn users_by_ids(pool: &Pool, ws: WorkspaceId, ids: &[Uuid]) -> Result<Vec<UserRow>> {
            Ok(by_ids(&mut *pool.acquire().await?, &USERS, ws, ids).await?)
        }

        pub(crate) async fn users_by_email(pool: &Pool, ws: WorkspaceId, email_norm: &str) -> Result<Vec<UserRow>> {
            let sql = format!("SELECT {USER_COLS} FROM users WHERE workspace_id = $1 AND email_norm = $2 ORDER BY updated_at DESC, id DESC LIMIT 100");
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(email_norm).fetch_all(pool).await?;
            Ok(rows.iter().map(decode_user).collect::<SqlResult<_>>()?)
        }

        /// Users whose e-mail domain is `domain` or one of its subdomains.
        pub(crate) async fn users_by_email_domain(pool: &Pool, ws: WorkspaceId, domain: &str) -> Result<Vec<UserRow>> {
            let sql = format!(
                "SELECT {USER_COLS} FROM users WHERE workspace_id = $1 AND (email_norm LIKE $2 OR email_norm LIKE $3) \
                 ORDER BY updated_at DESC, id DESC LIMIT 100"
            );
            let exact = format!("%@{domain}");
            let sub = format!("%@%.{domain}");
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(exact).bind(sub).fetch_all(pool).await?;
            Ok(rows.iter().map(decode_user).collect::<SqlResult<_>>()?)
        }

        pub(crate) async fn admin_by_email(pool: &Pool, ws: WorkspaceId, email_norm: &str) -> Result<Option<AdminRow>> {
            let sql = format!("SELECT {ADMIN_COLS} FROM admins WHERE workspace_id = $1 AND email_norm = $2");
            let row = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(email_norm).fetch_optional(pool).await?;
            Ok(row.as_ref().map(decode_admin).transpose()?)
        }

        // ---- workspaces and keys ------------------------------------------------------------

        pub(crate) async fn create_workspace(pool: &Pool, name: &str, now: Millis) -> Result<WorkspaceRow> {
            let row = WorkspaceRow { id: WorkspaceId::generate(), name: name.to_owned(), created_at: now };
            let result = sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(row.id.0)
                .bind(&row.name)
                .bind(now.0)
                .execute(pool)
                .await;
            match result {
                Ok(_) => Ok(row),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    Err(StoreError::Conflict(format!("workspace `{name}`")))
                }
                Err(e) => Err(e.into()),
            }
        }

        pub(crate) async fn find_workspace(pool: &Pool, name: &str) -> Result<Option<WorkspaceRow>> {
            let row = sqlx::query("SELECT id, name, created_at FROM workspaces WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?;
            Ok(row.as_ref().map(decode_workspace).transpose()?)
        }

        pub(crate) async fn list_workspaces(pool: &Pool) -> Result<Vec<WorkspaceRow>> {
            let rows = sqlx::query("SELECT id, name, created_at FROM workspaces ORDER BY name").fetch_all(pool).await?;
            Ok(rows.iter().map(decode_workspace).collect::<SqlResult<_>>()?)
        }

        pub(crate) async fn create_api_key(pool: &Pool, key: &ApiKeyRow) -> Result<()> {
            let result = sqlx::query(
                "INSERT INTO api_keys (id, workspace_id, key_hash, prefix, label, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(key.id.0)
            .bind(key.workspace_id.0)
            .bind(&key.key_hash)
            .bind(&key.prefix)
            .bind(&key.label)
            .bind(key.role.as_str())
            .bind(key.created_at.0)
            .execute(pool)
            .await;
            match result {
                Ok(_) => Ok(()),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    Err(StoreError::Conflict("API key".to_owned()))
                }
                Err(e) => Err(e.into()),
            }
        }

        pub(crate) async fn find_api_key(pool: &Pool, key_hash: &[u8]) -> Result<Option<ApiKeyRow>> {
            let row = sqlx::query(
                "SELECT id, workspace_id, key_hash, prefix, label, role, created_at FROM api_keys WHERE key_hash = $1",
            )
            .bind(key_hash)
            .fetch_optional(pool)
            .await?;
            let Some(r) = row else { return Ok(None) };
            let role: String = r.try_get("role")?;
            Ok(Some(ApiKeyRow {
                id: ApiKeyId(r.try_get("id")?),
                workspace_id: WorkspaceId(r.try_get("workspace_id")?),
                key_hash: r.try_get("key_hash")?,
                prefix: r.try_get("prefix")?,
                label: r.try_get("label")?,
                role: KeyRole::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("api key role {role:?}")))?,
                created_at: Millis(r.try_get("created_at")?),
            }))
        }

        // ---- writes -------------------------------------------------------------------------

        /// A team member's e-mail, for the engine (rules read key-role holders' e-mails).
        fn team_member(row: &AdminRow) -> Vec<GraphChange> {
            vec![GraphChange::Assignment(steward_engine::AssignmentChange::TeamMember { admin: row.id, email: row.email.clone() })]
        }

        /// Applies a batch of writes in one open transaction, for the caller to extend (derived
        /// state the engine computes from them) and commit: one commit (one fsync) for the
        /// batch, and a refused write leaves no trace and does not affect the others. Returns
        /// one result per write, in order; `Err` means the transaction itself failed and nothing
        /// was written.
        ///
        /// Writes are first applied back to back. Should one be refused, that attempt is rolled
        /// back whole and the batch applied again with each write in its own savepoint. Refusals
        /// are rare, and every savepoint costs two statements, each a round trip to the
        /// database (on SQLite, to its worker thread: with both cores busy, a wake-up each,
        /// which made them a quarter of an ingestion batch's time). The second attempt gives
        /// every write the result it had in the first up to the refusal: each sees exactly the
        /// writes before it.
        ///
        /// The batch's events and message keys go to the event log as one chunk per workspace
        /// (see `event_log/mod.rs`); what the log's memory must learn once the batch commits
        /// comes back as the [`LogCommit`](crate::event_log::LogCommit).
        pub(crate) async fn begin_batch(
            pool: &Pool, now: Millis, batch: &[(WorkspaceId, Write)], log: &crate::event_log::EventLog,
            known: &crate::known_ids::KnownIds, resident: Option<&crate::resident::Resident>,
        ) -> Result<BatchStarted> {
            if let Some(started) = attempt_batch(pool, now, batch, log, known, resident, false).await? {
                return Ok(started);
            }
            let started = attempt_batch(pool, now, batch, log, known, resident, true).await?;
            Ok(started.expect("with savepoints a refused write does not end the attempt"))
        }

        /// One attempt of [`begin_batch`]; `None` when a write was refused without savepoints
        /// (the attempt is rolled back).
        async fn attempt_batch(
            pool: &Pool, now: Millis, batch: &[(WorkspaceId, Write)], log: &crate::event_log::EventLog,
            known: &crate::known_ids::KnownIds, resident: Option<&crate::resident::Resident>, savepoints: bool,
        ) -> Result<Option<BatchStarted>> {
            let mut tx = bulk::open_batch(pool).await?;
            let mut results = Vec::with_capacity(batch.len());
            let mut keys = crate::event_log::BatchKeys::default();
            let mut ids = crate::known_ids::BatchIds::new(known);
            // The batch's changes to the resident records so far: later writes read through it.
            let mut staging = resident.filter(|r| r.serving()).map(|_| crate::resident::Staging::default());
            for (ws, write) in batch {
                if savepoints {
                    sqlx::query("SAVEPOINT steward_write").execute(&mut *tx).await?;
                }
                let result = match write {
                    Write::Ingest(ops) => {
                        let fresh = keys.fresh(log, *ws, ops);
                        let result = ingest(&mut tx, *ws, now, ops, &fresh, &mut ids).await;
                        keys.settle(result.is_ok());
                        result
                    }
                    other => {
                        keys.settle(false);
                        apply_plain(&mut tx, *ws, now, other, resident.zip(staging.as_ref())).await
                    }
                };
                if let (Some(staging), Ok(outcome)) = (&mut staging, &result) {
                    staging.outcome(*ws, outcome);
                }
                if savepoints {
                    if result.is_err() {
                        sqlx::query("ROLLBACK TO SAVEPOINT steward_write").execute(&mut *tx).await?;
                    }
                    sqlx::query("RELEASE SAVEPOINT steward_write").execute(&mut *tx).await?;
                } else if result.is_err() {
                    // Dropping the transaction rolls it back.
                    return Ok(None);
                }
                ids.settle(result.as_ref().ok().map(|o| o.changes.as_slice()));
                results.push(result);
            }
            let commit = append_to_log(&mut tx, now, batch, &mut results, keys, log).await?;
            let resident = match staging {
                Some(staging) => Some(finish_staging(&mut tx, staging).await?),
                None => None,
            };
            Ok(Some((tx, results, commit, ids.into_commit(), resident)))
        }

        /// What the batch changed in the resident records (see `resident/staging.rs`), the
        /// records no outcome shows read back inside its transaction.
        async fn finish_staging(
            conn: &mut Conn, mut staging: crate::resident::Staging,
        ) -> SqlResult<crate::resident::ResidentCommit> {
            use crate::resident::Kind;
            for (ws, kind, ids) in staging.refreshes() {
                for ids in ids.chunks(500) {
                    match kind {
                        Kind::Organization => {
                            let rows = by_ids(conn, &ORGS, ws, ids).await?;
                            staging.refreshed(ws, ids, &rows);
                        }
                        Kind::Account => {
                            let rows = by_ids(conn, &ACCOUNTS, ws, ids).await?;
                            staging.refreshed(ws, ids, &rows);
                        }
                        Kind::User => {
                            let rows = by_ids(conn, &USERS, ws, ids).await?;
                            staging.refreshed(ws, ids, &rows);
                        }
                    }
                }
            }
            Ok(staging.into_commit())
        }

        /// An open batch: its transaction, each write's result, and what the event log's and
        /// the known ids' memories learn at its commit.
        pub(crate) type BatchStarted = (
            bulk::BatchTx,
            Vec<std::result::Result<Outcome, WriteError>>,
            crate::event_log::LogCommit,
            crate::known_ids::IdsCommit,
            Option<crate::resident::ResidentCommit>,
        );

        /// Writes a batch's part of the event log: first a flush of the index entries gathered
        /// so far (when they are many), then one chunk per workspace, then tombstones for the
        /// records the batch deleted.
        async fn append_to_log(
            conn: &mut Conn, now: Millis, batch: &[(WorkspaceId, Write)],
            results: &mut [std::result::Result<Outcome, WriteError>], keys: crate::event_log::BatchKeys,
            log: &crate::event_log::EventLog,
        ) -> Result<crate::event_log::LogCommit> {
            use crate::event_log::{chunk, index::Entry};
            let mut commit = crate::event_log::LogCommit { now: now.0, ..Default::default() };
            if let Some((through, runs)) = log.flush_plan() {
                write_runs(conn, through, &runs).await?;
                commit.flushed_through = Some(through);
            }
            let mut workspaces: Vec<WorkspaceId> = Vec::new();
            for (ws, _) in batch {
                if !workspaces.contains(ws) {
                    workspaces.push(*ws);
                }
            }
            let mut message_keys = keys.by_write();
            for ws in workspaces {
                let mut messages = Vec::new();
                let mut events: Vec<&mut RecordedEvent> = Vec::new();
                for (i, ((write_ws, _), result)) in batch.iter().zip(results.iter_mut()).enumerate() {
                    if *write_ws != ws {
                        continue;
                    }
                    if let Ok(outcome) = result {
                        messages.append(&mut message_keys[i]);
                        events.extend(outcome.events.iter_mut());
                    }
                }
                if messages.is_empty() && events.is_empty() {
                    continue;
                }
                let mut pieces: Vec<&mut [&mut RecordedEvent]> = events.chunks_mut(chunk::MAX_EVENTS).collect();
                if pieces.is_empty() {
                    pieces.push(&mut []);
                }
                for (n, piece) in pieces.into_iter().enumerate() {
                    let seq = log.reserve(1);
                    for (index, event) in piece.iter_mut().enumerate() {
                        event.id = chunk::event_id(seq, index);
                        let entry = Entry::new(event.at.0, seq, index);
                        commit.entries.extend(event.owners().map(|owner| (owner, entry)));
                    }
                    let piece_messages: &[chunk::MessageKey] = if n == 0 { &messages } else { &[] };
                    let refs: Vec<&RecordedEvent> = piece.iter().map(|e| &**e).collect();
                    commit.chunks.push(crate::event_log::ChunkRow::encode(seq, ws, now, piece_messages, &refs));
                }
                commit.messages.append(&mut messages);
            }
            for ((ws, _), result) in batch.iter().zip(results.iter()) {
                let Ok(outcome) = result else { continue };
                for change in &outcome.changes {
                    let id = match change {
                        GraphChange::DeleteUser { id } => id.0,
                        GraphChange::DeleteAccount { id } => id.0,
                        GraphChange::DeleteOrganization { id } => id.0,
                        _ => continue,
                    };
                    sqlx::query("INSERT INTO event_tombstones (record_id, workspace_id, deleted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(id).bind(ws.0).bind(now.0).execute(&mut *conn).await?;
                    sqlx::query("DELETE FROM event_runs WHERE owner_id = $1").bind(id).execute(&mut *conn).await?;
                    commit.forgotten.push(id);
                }
            }
            Ok(commit)
        }

        /// A record's name, traits and (users) e-mail and join date, read inside an open
        /// batch so that it sees the batch's writes.
        pub(crate) async fn pending_record(
            conn: &mut Conn, ws: WorkspaceId, record: steward_engine::RecordRef,
        ) -> Result<Option<$crate::PendingRecord>> {
            use steward_engine::RecordRef as R;
            Ok(match record {
                R::Organization(id) => find_by_id(conn, &ORGS, ws, id.0).await?
                    .map(|r| $crate::PendingRecord { name: r.name, traits: r.traits, email: None, joined_at: None }),
                R::Account(id) => find_by_id(conn, &ACCOUNTS, ws, id.0).await?
                    .map(|r| $crate::PendingRecord { name: r.name, traits: r.traits, email: None, joined_at: None }),
                R::User(id) => find_by_id(conn, &USERS, ws, id.0).await?
                    .map(|r| $crate::PendingRecord { name: r.name.unwrap_or_default(), traits: r.traits, email: r.email, joined_at: r.joined_at }),
            })
        }

        /// The resident records and what the batch so far staged over them, for a write's
        /// reads of the record it changes (see [`existing`]); `None` to read the database.
        type Known<'a> = Option<(&'a crate::resident::Resident, &'a crate::resident::Staging)>;

        /// The record a write changes, from memory when memory can tell (`known`), else
        /// from the batch's transaction.
        async fn existing<T: crate::resident::ResidentRow>(
            conn: &mut Conn, t: &Table<T>, ws: WorkspaceId, lookup: crate::resident::Lookup<'_>, known: Known<'_>,
        ) -> SqlResult<Option<T>> {
            use crate::resident::Lookup;
            if let Some(found) = known.and_then(|(resident, staging)| resident.existing::<T>(staging, ws, lookup)) {
                return Ok(found);
            }
            match lookup {
                Lookup::External(external_id) => find_by_external(conn, t, ws, external_id).await,
                Lookup::Ref(r) => find_by_ref(conn, t, ws, r).await,
            }
        }

        /// Every write but `Ingest` (which is made of these). `known` serves the reads of the
        /// record a write changes, as its first step; writes made of several pass `None` to
        /// those after the first, which may read what an earlier one changed.
        async fn apply_plain(conn: &mut Conn, ws: WorkspaceId, now: Millis, write: &Write, known: Known<'_>) -> std::result::Result<Outcome, WriteError> {
            use crate::resident::Lookup;
            match write {
                Write::Ingest(_) => Err(WriteError::Conflict("an ingestion batch cannot contain another".to_owned())),
                Write::Assign { write, assign } => {
                    let outcome = Box::pin(apply_plain(conn, ws, now, write, known)).await?;
                    apply_assignments(conn, ws, now, outcome, assign).await
                }
                Write::Config(config) => apply_config(conn, ws, now, config).await,
                Write::Derived(changes) => apply_derived(conn, ws, now, changes).await,
                Write::All(writes) => {
                    let mut changes = Vec::new();
                    for write in writes {
                        changes.extend(Box::pin(apply_plain(conn, ws, now, write, None)).await?.changes);
                    }
                    Ok(Outcome { written: Written::Config, created: false, changes, events: Vec::new() })
                }
                Write::UpsertOrganization { external_id, fields } => {
                    let existing = existing(conn, &ORGS, ws, Lookup::External(external_id.as_str()), known).await?;
                    save_organization(conn, ws, now, existing, Some(external_id), fields).await
                }
                Write::UpdateOrganization { target, fields } => {
                    let existing = existing(conn, &ORGS, ws, Lookup::Ref(target), known).await?.ok_or(WriteError::NotFound("organization"))?;
                    save_organization(conn, ws, now, Some(existing), None, fields).await
                }
                Write::DeleteOrganization { target, cascade } => {
                    let org = find_by_ref(conn, &ORGS, ws, target).await?.ok_or(WriteError::NotFound("organization"))?;
                    delete_organization(conn, now, org.id, *cascade).await
                }
                Write::UpsertAccount { external_id, fields } => {
                    let existing = existing(conn, &ACCOUNTS, ws, Lookup::External(external_id.as_str()), known).await?;
                    save_account(conn, ws, now, existing, Some(external_id), fields).await
                }
                Write::UpdateAccount { target, fields } => {
                    let existing = existing(conn, &ACCOUNTS, ws, Lookup::Ref(target), known).await?.ok_or(WriteError::NotFound("account"))?;
                    save_account(conn, ws, now, Some(existing), None, fields).await
                }
                Write::DeleteAccount { target } => {
                    let account = find_by_ref(conn, &ACCOUNTS, ws, target).await?.ok_or(WriteError::NotFound("account"))?;
                    let mut changes = delete_account(conn, account.id).await?;
                    changes.push(GraphChange::DeleteAccount { id: account.id });
                    Ok(Outcome { events: Vec::new(), written: Written::Deleted, created: false, changes })
                }
                Write::UpsertUser { external_id, fields } => {
                    let existing = existing(conn, &USERS, ws, Lookup::External(external_id.as_str()), known).await?;
                    save_user(conn, ws, now, existing, Some(external_id), fields).await
                }
                Write::UpdateUser { target, fields } => {
                    let existing = existing(conn, &USERS, ws, Lookup::Ref(target), known).await?.ok_or(WriteError::NotFound("user"))?;
                    save_user(conn, ws, now, Some(existing), None, fields).await
                }
                Write::DeleteUser { target } => {
                    let user = find_by_ref(conn, &USERS, ws, target).await?.ok_or(WriteError::NotFound("user"))?;
                    sqlx::query("DELETE FROM users WHERE id = $1").bind(user.id.0).execute(&mut *conn).await?;
                    Ok(Outcome { events: Vec::new(), written: Written::Deleted, created: false, changes: vec![GraphChange::DeleteUser { id: user.id }] })
                }
                Write::CreateAdmin { name, email, license_status } => {
                    let row = AdminRow {
                        id: AdminId::generate(),
                        name: name.as_str().to_owned(),
                        email: email.as_str().to_owned(),
                        license_status: license_status.clone(),
                        created_at: now,
                        updated_at: now,
                    };
                    let result = sqlx::query(
                        "INSERT INTO admins (id, workspace_id, name, email, email_norm, license_status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(row.id.0).bind(ws.0).bind(&row.name).bind(&row.email).bind(email.normalized())
                    .bind(&row.license_status).bind(now.0).bind(now.0)
                    .execute(&mut *conn).await;
                    unique_as_conflict(result, || format!("a team member with e-mail `{}` already exists", row.email))?;
                    let member = team_member(&row);
                    Ok(Outcome { events: Vec::new(), written: Written::Admin(row), created: true, changes: member })
                }
                Write::UpdateAdmin { target, fields } => {
                    let mut row = find_by_id(conn, &ADMINS, ws, target.0).await?.ok_or(WriteError::NotFound("team member"))?;
                    if let Some(name) = &fields.name { row.name = name.as_str().to_owned(); }
                    if let Some(email) = &fields.email { row.email = email.as_str().to_owned(); }
                    if let Some(status) = &fields.license_status { row.license_status = status.clone(); }
                    row.updated_at = now;
                    let result = sqlx::query(
                        "UPDATE admins SET name = $1, email = $2, email_norm = $3, license_status = $4, updated_at = $5 WHERE id = $6",
                    )
                    .bind(&row.name).bind(&row.email).bind(row.email.to_lowercase()).bind(&row.license_status)
                    .bind(now.0).bind(row.id.0)
                    .execute(&mut *conn).await;
                    unique_as_conflict(result, || format!("a team member with e-mail `{}` already exists", row.email))?;
                    let member = team_member(&row);
                    Ok(Outcome { events: Vec::new(), written: Written::Admin(row), created: false, changes: member })
                }
                Write::DeleteAdmin { target } => {
                    let done = sqlx::query("DELETE FROM admins WHERE workspace_id = $1 AND id = $2").bind(ws.0).bind(target.0).execute(&mut *conn).await?;
                    if done.rows_affected() == 0 {
                        return Err(WriteError::NotFound("team member"));
                    }
                    // Their key roles went with them (ON DELETE CASCADE); the engine forgets too.
                    let forget = GraphChange::Assignment(steward_engine::AssignmentChange::ForgetAdmin { admin: *target });
                    Ok(Outcome { events: Vec::new(), written: Written::Deleted, created: false, changes: vec![forget] })
                }
                Write::CreateCustomField { model, key, label, field_type, description, options } => {
                    let row = CustomFieldRow {
                        id: CustomFieldId::generate(),
                        model: model.clone(),
                        key: key.clone(),
                        label: label.clone(),
                        field_type: field_type.clone(),
                        description: description.clone(),
                        options: options.clone(),
                        created_at: now,
                        updated_at: now,
                    };
                    let result = sqlx::query(
                        "INSERT INTO custom_fields (id, workspace_id, model, key, label, field_type, description, options, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(row.id.0).bind(ws.0).bind(&row.model).bind(&row.key).bind(&row.label).bind(&row.field_type)
                    .bind(&row.description).bind(row.options.to_string()).bind(now.0).bind(now.0)
                    .execute(&mut *conn).await;
                    unique_as_conflict(result, || format!("a custom field `{key}` already exists on {model}"))?;
                    Ok(Outcome { events: Vec::new(), written: Written::CustomField(row), created: true, changes: Vec::new() })
                }
                Write::UpdateCustomField { target, fields } => {
                    let mut row = find_by_id(conn, &FIELDS, ws, target.0).await?.ok_or(WriteError::NotFound("custom field"))?;
                    if let Some(label) = &fields.label { row.label = label.clone(); }
                    if let Some(t) = &fields.field_type { row.field_type = t.clone(); }
                    if let Some(d) = &fields.description { row.description = d.clone(); }
                    if let Some(o) = &fields.options { row.options = o.clone(); }
                    row.updated_at = now;
                    sqlx::query(
                        "UPDATE custom_fields SET label = $1, field_type = $2, description = $3, options = $4, updated_at = $5 WHERE id = $6",
                    )
                    .bind(&row.label).bind(&row.field_type).bind(&row.description).bind(row.options.to_string())
                    .bind(now.0).bind(row.id.0)
                    .execute(&mut *conn).await?;
                    Ok(Outcome { events: Vec::new(), written: Written::CustomField(row), created: false, changes: Vec::new() })
                }
                Write::CreateCustomObject { .. }
                | Write::UpdateCustomObject { .. }
                | Write::DeleteCustomObject { .. }
                | Write::AddCustomObjectField { .. }
                | Write::UpsertCustomObjectInstance { .. }
                | Write::UpdateCustomObjectInstance { .. }
                | Write::ArchiveCustomObjectInstance { .. } => apply_custom_objects(conn, ws, now, write).await,
                Write::UpsertConversation { .. }
                | Write::UpdateConversation { .. }
                | Write::DeleteConversation { .. }
                | Write::UpsertMessage { .. }
                | Write::DeleteMessage { .. } => apply_conversations(conn, ws, now, write).await,
                Write::DeleteCustomField { target } => {
                    let done = sqlx::query("DELETE FROM custom_fields WHERE workspace_id = $1 AND id = $2").bind(ws.0).bind(target.0).execute(&mut *conn).await?;
                    if done.rows_affected() == 0 {
                        return Err(WriteError::NotFound("custom field"));
                    }
                    Ok(Outcome { events: Vec::new(), written: Written::Deleted, created: false, changes: Vec::new() })
                }
            }
        }

        fn unique_as_conflict<T>(result: SqlResult<T>, message: impl FnOnce() -> String) -> std::result::Result<T, WriteError> {
            match result {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(WriteError::Conflict(message())),
                other => Ok(other?),
            }
        }

        async fn save_organization(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, existing: Option<OrganizationRow>,
            external_id: Option<&ExternalId>, fields: &OrganizationFields,
        ) -> std::result::Result<Outcome, WriteError> {
            match existing {
                Some(mut row) => {
                    let mut changed = merge_traits(&mut row.traits, &fields.traits);
                    if let Some(name) = &fields.name {
                        if row.name != name.as_str() {
                            row.name = name.as_str().to_owned();
                            changed = true;
                        }
                    }
                    if !changed {
                        return Ok(Outcome { events: Vec::new(), written: Written::Organization(row), created: false, changes: Vec::new() });
                    }
                    row.updated_at = now;
                    sqlx::query("UPDATE organizations SET name = $1, traits = $2, updated_at = $3 WHERE id = $4")
                        .bind(&row.name).bind(traits_text(&row.traits)).bind(now.0).bind(row.id.0)
                        .execute(&mut *conn).await?;
                    let change = GraphChange::UpsertOrganization { id: row.id, created_at: row.created_at, updated_at: now };
                    Ok(Outcome { events: Vec::new(), written: Written::Organization(row), created: false, changes: vec![change] })
                }
                None => {
                    let external_id = external_id.expect("an upsert names the external id");
                    let row = insert_organization(conn, ws, now, external_id, fields).await?;
                    let change = GraphChange::UpsertOrganization { id: row.id, created_at: now, updated_at: now };
                    Ok(Outcome { events: Vec::new(), written: Written::Organization(row), created: true, changes: vec![change] })
                }
            }
        }

        async fn insert_organization(conn: &mut Conn, ws: WorkspaceId, now: Millis, external_id: &ExternalId, fields: &OrganizationFields) -> SqlResult<OrganizationRow> {
            let row = OrganizationRow {
                id: OrganizationId::generate(),
                external_id: external_id.as_str().to_owned(),
                name: fields.name.as_ref().map_or_else(|| external_id.as_str().to_owned(), |n| n.as_str().to_owned()),
                traits: new_traits(&fields.traits),
                created_at: now,
                updated_at: now,
            };
            sqlx::query(
                "INSERT INTO organizations (id, workspace_id, external_id, name, traits, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(row.id.0).bind(ws.0).bind(&row.external_id).bind(&row.name).bind(traits_text(&row.traits))
            .bind(now.0).bind(now.0)
            .execute(&mut *conn).await?;
            Ok(row)
        }

        /// Resolves a parent organization reference, creating it when the write allows.
        async fn resolve_organization(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, r: &RecordRef, field: &str,
            missing: MissingParent, changes: &mut Vec<GraphChange>,
        ) -> std::result::Result<OrganizationId, WriteError> {
            if let Some(org) = find_by_ref(conn, &ORGS, ws, r).await? {
                return Ok(org.id);
            }
            match missing {
                MissingParent::Refuse => Err(WriteError::Invalid(FieldError::new(
                    field,
                    format!("`{field}` names an organization that does not exist: {:?}", r.0),
                ))),
                MissingParent::Create => {
                    let external_id = ExternalId::parse(field, &r.0).map_err(WriteError::Invalid)?;
                    let row = insert_organization(conn, ws, now, &external_id, &OrganizationFields::default()).await?;
                    changes.push(GraphChange::UpsertOrganization { id: row.id, created_at: now, updated_at: now });
                    Ok(row.id)
                }
            }
        }

        async fn resolve_account(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, r: &RecordRef, field: &str,
            missing: MissingParent, changes: &mut Vec<GraphChange>,
        ) -> std::result::Result<AccountId, WriteError> {
            if let Some(account) = find_by_ref(conn, &ACCOUNTS, ws, r).await? {
                return Ok(account.id);
            }
            match missing {
                MissingParent::Refuse => Err(WriteError::Invalid(FieldError::new(
                    field,
                    format!("`{field}` names an account that does not exist: {:?}", r.0),
                ))),
                MissingParent::Create => {
                    let external_id = ExternalId::parse(field, &r.0).map_err(WriteError::Invalid)?;
                    let row = insert_account(conn, ws, now, &external_id, None, &AccountFields::default()).await?;
                    changes.push(GraphChange::UpsertAccount { id: row.id, organization: None, created_at: now, updated_at: now });
                    Ok(row.id)
                }
            }
        }

        async fn save_account(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, existing: Option<AccountRow>,
            external_id: Option<&ExternalId>, fields: &AccountFields,
        ) -> std::result::Result<Outcome, WriteError> {
            let mut changes = Vec::new();
            let organization = match &fields.organization {
                None => None,
                Some(None) => Some(None),
                Some(Some(r)) => Some(Some(resolve_organization(conn, ws, now, r, "organizationId", fields.missing_parent, &mut changes).await?)),
            };
            match existing {
                Some(mut row) => {
                    let mut changed = merge_traits(&mut row.traits, &fields.traits);
                    if let Some(name) = &fields.name {
                        if row.name != name.as_str() {
                            row.name = name.as_str().to_owned();
                            changed = true;
                        }
                    }
                    if let Some(org) = organization {
                        if row.organization_id != org {
                            row.organization_id = org;
                            changed = true;
                        }
                    }
                    if !changed {
                        return Ok(Outcome { events: Vec::new(), written: Written::Account(row), created: false, changes });
                    }
                    row.updated_at = now;
                    sqlx::query("UPDATE accounts SET name = $1, traits = $2, organization_id = $3, updated_at = $4 WHERE id = $5")
                        .bind(&row.name).bind(traits_text(&row.traits)).bind(row.organization_id.map(|o| o.0)).bind(now.0).bind(row.id.0)
                        .execute(&mut *conn).await?;
                    changes.push(GraphChange::UpsertAccount { id: row.id, organization: row.organization_id, created_at: row.created_at, updated_at: now });
                    Ok(Outcome { events: Vec::new(), written: Written::Account(row), created: false, changes })
                }
                None => {
                    let external_id = external_id.expect("an upsert names the external id");
                    let row = insert_account(conn, ws, now, external_id, organization.flatten(), fields).await?;
                    changes.push(GraphChange::UpsertAccount { id: row.id, organization: row.organization_id, created_at: now, updated_at: now });
                    Ok(Outcome { events: Vec::new(), written: Written::Account(row), created: true, changes })
                }
            }
        }

        async fn insert_account(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, external_id: &ExternalId,
            organization: Option<OrganizationId>, fields: &AccountFields,
        ) -> SqlResult<AccountRow> {
            let row = AccountRow {
                id: AccountId::generate(),
                external_id: external_id.as_str().to_owned(),
                name: fields.name.as_ref().map_or_else(|| external_id.as_str().to_owned(), |n| n.as_str().to_owned()),
                traits: new_traits(&fields.traits),
                organization_id: organization,
                created_at: now,
                updated_at: now,
            };
            sqlx::query(
                "INSERT INTO accounts (id, workspace_id, external_id, name, traits, organization_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(row.id.0).bind(ws.0).bind(&row.external_id).bind(&row.name).bind(traits_text(&row.traits))
            .bind(row.organization_id.map(|o| o.0)).bind(now.0).bind(now.0)
            .execute(&mut *conn).await?;
            Ok(row)
        }

        async fn user_links(conn: &mut Conn, user: UserId) -> SqlResult<(Vec<AccountId>, Vec<OrganizationId>)> {
            let accounts = sqlx::query("SELECT account_id FROM account_users WHERE user_id = $1 ORDER BY position")
                .bind(user.0).fetch_all(&mut *conn).await?
                .iter().map(|r| r.try_get("account_id").map(AccountId)).collect::<SqlResult<_>>()?;
            let orgs = sqlx::query("SELECT organization_id FROM organization_users WHERE user_id = $1 ORDER BY position")
                .bind(user.0).fetch_all(&mut *conn).await?
                .iter().map(|r| r.try_get("organization_id").map(OrganizationId)).collect::<SqlResult<_>>()?;
            Ok((accounts, orgs))
        }

        async fn save_user(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, existing: Option<UserRow>,
            external_id: Option<&ExternalId>, fields: &UserFields,
        ) -> std::result::Result<Outcome, WriteError> {
            let mut changes = Vec::new();
            let created = existing.is_none();
            let (old_accounts, old_orgs) = match &existing {
                Some(row) => user_links(conn, row.id).await?,
                None => (Vec::new(), Vec::new()),
            };

            let mut accounts = match &fields.accounts {
                Some(refs) => {
                    let mut ids = Vec::with_capacity(refs.len());
                    for (i, r) in refs.iter().enumerate() {
                        let id = resolve_account(conn, ws, now, r, &format!("accountIds[{i}]"), fields.missing_parent, &mut changes).await?;
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    ids
                }
                None => old_accounts.clone(),
            };
            for r in &fields.add_accounts {
                let id = resolve_account(conn, ws, now, r, "accountId", fields.missing_parent, &mut changes).await?;
                if !accounts.contains(&id) {
                    accounts.push(id);
                }
            }
            for r in &fields.remove_accounts {
                if let Some(found) = find_by_ref(conn, &ACCOUNTS, ws, r).await? {
                    accounts.retain(|a| *a != found.id);
                }
            }
            let orgs = match &fields.organizations {
                Some(refs) => {
                    let mut ids = Vec::with_capacity(refs.len());
                    for (i, r) in refs.iter().enumerate() {
                        let id = resolve_organization(conn, ws, now, r, &format!("organizationIds[{i}]"), fields.missing_parent, &mut changes).await?;
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    ids
                }
                None => old_orgs.clone(),
            };
            let mut orgs = orgs;
            for r in &fields.add_organizations {
                let id = resolve_organization(conn, ws, now, r, "organizationId", fields.missing_parent, &mut changes).await?;
                if !orgs.contains(&id) {
                    orgs.push(id);
                }
            }
            let links_changed = accounts != old_accounts || orgs != old_orgs;

            let mut row = match existing {
                Some(row) => row,
                None => UserRow {
                    id: UserId::generate(),
                    external_id: external_id.expect("an upsert names the external id").as_str().to_owned(),
                    name: None,
                    email: None,
                    avatar: None,
                    traits: Traits::new(),
                    joined_at: None,
                    unsubscribed: false,
                    created_at: now,
                    updated_at: now,
                },
            };
            let mut changed = merge_traits(&mut row.traits, &fields.traits);
            if let Some(name) = &fields.name {
                changed |= row.name != *name;
                row.name = name.clone();
            }
            if let Some(email) = &fields.email {
                let email = email.as_ref().map(|e| e.as_str().to_owned());
                changed |= row.email != email;
                row.email = email;
            }
            if let Some(avatar) = &fields.avatar {
                changed |= row.avatar != *avatar;
                row.avatar = avatar.clone();
            }
            if let Some(joined) = fields.joined_at {
                changed |= row.joined_at != joined;
                row.joined_at = joined;
            }
            if let Some(unsubscribed) = fields.unsubscribed {
                changed |= row.unsubscribed != unsubscribed;
                row.unsubscribed = unsubscribed;
            }
            if !created && !changed && !links_changed {
                return Ok(Outcome { events: Vec::new(), written: Written::User(row), created, changes });
            }
            row.updated_at = now;
            let email_norm = row.email.as_ref().map(|e| e.to_lowercase());
            if created {
                sqlx::query(
                    "INSERT INTO users (id, workspace_id, external_id, name, email, email_norm, avatar, traits, joined_at, unsubscribed, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(row.id.0).bind(ws.0).bind(&row.external_id).bind(&row.name).bind(&row.email).bind(&email_norm)
                .bind(&row.avatar).bind(traits_text(&row.traits)).bind(row.joined_at.map(|j| j.0)).bind(row.unsubscribed)
                .bind(now.0).bind(now.0)
                .execute(&mut *conn).await?;
            } else {
                sqlx::query(
                    "UPDATE users SET name = $1, email = $2, email_norm = $3, avatar = $4, traits = $5, joined_at = $6, \
                     unsubscribed = $7, updated_at = $8 WHERE id = $9",
                )
                .bind(&row.name).bind(&row.email).bind(&email_norm).bind(&row.avatar).bind(traits_text(&row.traits))
                .bind(row.joined_at.map(|j| j.0)).bind(row.unsubscribed).bind(now.0).bind(row.id.0)
                .execute(&mut *conn).await?;
            }
            if links_changed {
                sqlx::query("DELETE FROM account_users WHERE user_id = $1").bind(row.id.0).execute(&mut *conn).await?;
                for (position, account) in accounts.iter().enumerate() {
                    sqlx::query("INSERT INTO account_users (account_id, user_id, position) VALUES ($1, $2, $3)")
                        .bind(account.0).bind(row.id.0).bind(position as i64)
                        .execute(&mut *conn).await?;
                }
                sqlx::query("DELETE FROM organization_users WHERE user_id = $1").bind(row.id.0).execute(&mut *conn).await?;
                for (position, org) in orgs.iter().enumerate() {
                    sqlx::query("INSERT INTO organization_users (organization_id, user_id, position) VALUES ($1, $2, $3)")
                        .bind(org.0).bind(row.id.0).bind(position as i64)
                        .execute(&mut *conn).await?;
                }
            }
            changes.push(GraphChange::UpsertUser {
                id: row.id,
                accounts,
                organizations: orgs,
                created_at: row.created_at,
                updated_at: now,
            });
            Ok(Outcome { events: Vec::new(), written: Written::User(row), created, changes })
        }

        /// Deletes an account and the users that belong to it alone (no other account, no
        /// direct organization link). Returns the users' deletions; the caller adds the
        /// account's own.
        async fn delete_account(conn: &mut Conn, account: AccountId) -> SqlResult<Vec<GraphChange>> {
            let orphans: Vec<Uuid> = sqlx::query(
                "SELECT au.user_id FROM account_users au WHERE au.account_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM account_users other WHERE other.user_id = au.user_id AND other.account_id <> $1) \
                 AND NOT EXISTS (SELECT 1 FROM organization_users ou WHERE ou.user_id = au.user_id)",
            )
            .bind(account.0)
            .fetch_all(&mut *conn).await?
            .iter().map(|r| r.try_get("user_id")).collect::<SqlResult<_>>()?;
            for user in &orphans {
                sqlx::query("DELETE FROM users WHERE id = $1").bind(*user).execute(&mut *conn).await?;
            }
            // The event log buries deleted records (see event_log/mod.rs): the account's events
            // stay with their users, and its own history goes.
            // Custom object instances attached to nothing else go with it; the others lose the link.
            sqlx::query("DELETE FROM custom_object_instances WHERE account_id = $1 AND organization_id IS NULL").bind(account.0).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM accounts WHERE id = $1").bind(account.0).execute(&mut *conn).await?;
            Ok(orphans.into_iter().map(|u| GraphChange::DeleteUser { id: UserId(u) }).collect())
        }

        async fn delete_organization(conn: &mut Conn, now: Millis, org: OrganizationId, cascade: bool) -> std::result::Result<Outcome, WriteError> {
            let accounts: Vec<(Uuid, i64)> = sqlx::query("SELECT id, created_at FROM accounts WHERE organization_id = $1")
                .bind(org.0)
                .fetch_all(&mut *conn).await?
                .iter().map(|r| Ok((r.try_get("id")?, r.try_get("created_at")?))).collect::<SqlResult<_>>()?;
            let mut changes = Vec::new();
            if cascade {
                // Users linked directly to this organization only, with no account of their own.
                let direct_only: Vec<Uuid> = sqlx::query(
                    "SELECT ou.user_id FROM organization_users ou WHERE ou.organization_id = $1 \
                     AND NOT EXISTS (SELECT 1 FROM organization_users other WHERE other.user_id = ou.user_id AND other.organization_id <> $1) \
                     AND NOT EXISTS (SELECT 1 FROM account_users au JOIN accounts a ON a.id = au.account_id \
                                     WHERE au.user_id = ou.user_id AND (a.organization_id IS NULL OR a.organization_id <> $1))",
                )
                .bind(org.0)
                .fetch_all(&mut *conn).await?
                .iter().map(|r| r.try_get("user_id")).collect::<SqlResult<_>>()?;
                // Their direct link goes first, so that deleting the accounts sees them as orphans.
                sqlx::query("DELETE FROM organization_users WHERE organization_id = $1").bind(org.0).execute(&mut *conn).await?;
                for user in &direct_only {
                    sqlx::query("DELETE FROM users WHERE id = $1").bind(*user).execute(&mut *conn).await?;
                    changes.push(GraphChange::DeleteUser { id: UserId(*user) });
                }
                for (account, _) in &accounts {
                    changes.extend(delete_account(conn, AccountId(*account)).await?);
                    changes.push(GraphChange::DeleteAccount { id: AccountId(*account) });
                }
            } else {
                sqlx::query("UPDATE accounts SET organization_id = NULL, updated_at = $1 WHERE organization_id = $2")
                    .bind(now.0).bind(org.0)
                    .execute(&mut *conn).await?;
                for (account, created_at) in &accounts {
                    changes.push(GraphChange::UpsertAccount {
                        id: AccountId(*account),
                        organization: None,
                        created_at: Millis(*created_at),
                        updated_at: now,
                    });
                }
            }
            sqlx::query("DELETE FROM custom_object_instances WHERE organization_id = $1 AND account_id IS NULL").bind(org.0).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM organizations WHERE id = $1").bind(org.0).execute(&mut *conn).await?;
            changes.push(GraphChange::DeleteOrganization { id: org });
            Ok(Outcome { events: Vec::new(), written: Written::Deleted, created: false, changes })
        }

        // ---- ingestion ----------------------------------------------------------------------

        /// Applies one request's messages in order; `fresh[i]` says whether message `i` is new
        /// (replays are recognised by the event log, see `event_log/mod.rs`). Runs of
        /// consecutive events are resolved together (a few statements per run, not several
        /// per event) and returned for the log; record upserts go one by one.
        async fn ingest(conn: &mut Conn, ws: WorkspaceId, now: Millis, ops: &[IngestOp], fresh: &[bool], ids: &mut crate::known_ids::BatchIds<'_>) -> std::result::Result<Outcome, WriteError> {
            let mut changes = Vec::new();
            let mut events = Vec::new();
            let mut pending: Vec<&EventWrite> = Vec::new();
            let (mut applied, mut duplicates) = (0, 0);
            for (op, fresh) in ops.iter().zip(fresh) {
                if !fresh {
                    duplicates += 1;
                    continue;
                }
                applied += 1;
                for action in &op.actions {
                    if let IngestAction::Event(event) = action {
                        pending.push(event);
                        continue;
                    }
                    events.extend(record_events(conn, ws, now, &std::mem::take(&mut pending), &mut changes, ids).await?);
                    match action {
                        IngestAction::Record(write) => changes.extend(apply_plain(conn, ws, now, write, None).await?.changes),
                        IngestAction::Unlink { user, account } => {
                            let user = find_by_external(conn, &USERS, ws, user.as_str()).await?;
                            let account = find_by_external(conn, &ACCOUNTS, ws, account.as_str()).await?;
                            if let (Some(user), Some(account)) = (user, account) {
                                let fields = UserFields { remove_accounts: vec![RecordRef(account.id.to_string())], ..UserFields::default() };
                                changes.extend(save_user(conn, ws, now, Some(user), None, &fields).await?.changes);
                            }
                        }
                        IngestAction::Event(_) | IngestAction::Ignore => {}
                    }
                }
            }
            events.extend(record_events(conn, ws, now, &pending, &mut changes, ids).await?);
            Ok(Outcome { written: Written::Ingested { applied, duplicates }, created: false, changes, events })
        }

        /// `(external id -> (id, parent))` of the named records, creating the missing ones
        /// (with no parent); `parent` is an account's organization, else `None`. Records the
        /// store already resolved are not looked up again (`known_ids.rs`).
        async fn ids_ensured<'e>(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, kind: crate::known_ids::Kind, wanted: impl Iterator<Item = &'e ExternalId>,
            changes: &mut Vec<GraphChange>, known: &mut crate::known_ids::BatchIds<'_>,
        ) -> std::result::Result<foldhash::HashMap<&'e str, (Uuid, Option<Uuid>)>, WriteError> {
            use crate::known_ids::Kind;
            let mut ids = foldhash::HashMap::default();
            let mut missing: Vec<&'e ExternalId> = Vec::new();
            known.resolve(ws, kind, wanted, changes, &mut ids, &mut missing);
            if missing.is_empty() {
                return Ok(ids);
            }
            let (table, parent) = match kind {
                Kind::User => ("users", "NULL"),
                Kind::Account => ("accounts", "organization_id"),
                Kind::Organization => ("organizations", "NULL"),
            };
            let names: Vec<&str> = missing.iter().map(|e| e.as_str()).collect();
            let found = bulk::ids_by_external(conn, table, parent, ws, &names).await?;
            for ext in missing {
                let resolved = match found.get(ext.as_str()) {
                    Some(resolved) => *resolved,
                    None => {
                        let id = match kind {
                            Kind::User => ensure_user(conn, ws, now, ext, changes).await?.0,
                            Kind::Account => ensure_account(conn, ws, now, ext, changes).await?.0,
                            Kind::Organization => ensure_organization(conn, ws, now, ext, changes).await?.0,
                        };
                        (id, None)
                    }
                };
                known.learn(ws, kind, ext.as_str(), resolved);
                ids.insert(ext.as_str(), resolved);
            }
            Ok(ids)
        }

        /// Resolves a run of events' records (creating the ones they name that do not exist)
        /// and appends the events to the log, a few statements for the whole run.
        async fn record_events(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, run: &[&EventWrite], changes: &mut Vec<GraphChange>,
            known: &mut crate::known_ids::BatchIds<'_>,
        ) -> std::result::Result<Vec<RecordedEvent>, WriteError> {
            use crate::known_ids::Kind;
            if run.is_empty() {
                return Ok(Vec::new());
            }
            // Users, accounts and organizations named by external id; missing ones created.
            let users = ids_ensured(conn, ws, now, Kind::User, run.iter().filter_map(|e| e.user.as_ref()), changes, known).await?;
            let accounts = ids_ensured(conn, ws, now, Kind::Account, run.iter().filter_map(|e| e.account.as_ref()), changes, known).await?;
            let orgs = ids_ensured(conn, ws, now, Kind::Organization, run.iter().filter_map(|e| e.organization.as_ref()), changes, known).await?;
            // The most recently linked account of users whose events name none.
            let mut need_recent: Vec<Uuid> = run.iter().filter(|e| e.account.is_none()).filter_map(|e| e.user.as_ref().map(|u| users[u.as_str()].0)).collect();
            need_recent.sort_unstable();
            need_recent.dedup();
            let recent = if need_recent.is_empty() { Default::default() } else { bulk::latest_accounts(conn, &need_recent).await? };
            // Each event's account, then the accounts' organizations.
            let resolved: Vec<(Option<Uuid>, Option<Uuid>)> = run
                .iter()
                .map(|e| {
                    let user = e.user.as_ref().map(|u| users[u.as_str()].0);
                    let account = match &e.account {
                        Some(ext) => Some(accounts[ext.as_str()].0),
                        None => user.and_then(|u| recent.get(&u).copied()),
                    };
                    (user, account)
                })
                .collect();
            // Accounts named by external id came with their organization; the others (users'
            // recent accounts) are looked up.
            let mut org_of: std::collections::HashMap<Uuid, Option<Uuid>> = accounts.values().copied().collect();
            let mut account_ids: Vec<Uuid> = resolved.iter().filter_map(|(_, a)| *a).filter(|a| !org_of.contains_key(a)).collect();
            account_ids.sort_unstable();
            account_ids.dedup();
            if !account_ids.is_empty() {
                org_of.extend(bulk::organizations_of(conn, &account_ids).await?);
            }

            let recorded: Vec<RecordedEvent> = run
                .iter()
                .zip(&resolved)
                .map(|(e, (user, account))| RecordedEvent {
                    // Numbered when the batch's chunk is appended.
                    id: Uuid::nil(),
                    kind: e.kind,
                    name: e.name.clone(),
                    user: user.map(UserId),
                    account: account.map(AccountId),
                    organization: match &e.organization {
                        Some(ext) => Some(OrganizationId(orgs[ext.as_str()].0)),
                        None => account.and_then(|a| org_of.get(&a).copied().flatten()).map(OrganizationId),
                    },
                    at: e.at,
                    received_at: now,
                    properties: e.properties.clone(),
                })
                .collect();
            Ok(recorded)
        }

        /// Finds a record by external id, creating it (named after the id) when missing.
        async fn ensure_user(conn: &mut Conn, ws: WorkspaceId, now: Millis, external_id: &ExternalId, changes: &mut Vec<GraphChange>) -> std::result::Result<UserId, WriteError> {
            if let Some(user) = find_by_external(conn, &USERS, ws, external_id.as_str()).await? {
                return Ok(user.id);
            }
            let outcome = save_user(conn, ws, now, None, Some(external_id), &UserFields::default()).await?;
            changes.extend(outcome.changes);
            match outcome.written {
                Written::User(row) => Ok(row.id),
                _ => unreachable!("save_user writes a user"),
            }
        }

        async fn ensure_account(conn: &mut Conn, ws: WorkspaceId, now: Millis, external_id: &ExternalId, changes: &mut Vec<GraphChange>) -> std::result::Result<AccountId, WriteError> {
            if let Some(account) = find_by_external(conn, &ACCOUNTS, ws, external_id.as_str()).await? {
                return Ok(account.id);
            }
            let row = insert_account(conn, ws, now, external_id, None, &AccountFields::default()).await?;
            changes.push(GraphChange::UpsertAccount { id: row.id, organization: None, created_at: now, updated_at: now });
            Ok(row.id)
        }

        async fn ensure_organization(conn: &mut Conn, ws: WorkspaceId, now: Millis, external_id: &ExternalId, changes: &mut Vec<GraphChange>) -> std::result::Result<OrganizationId, WriteError> {
            if let Some(org) = find_by_external(conn, &ORGS, ws, external_id.as_str()).await? {
                return Ok(org.id);
            }
            let row = insert_organization(conn, ws, now, external_id, &OrganizationFields::default()).await?;
            changes.push(GraphChange::UpsertOrganization { id: row.id, created_at: now, updated_at: now });
            Ok(row.id)
        }

        /// The last chunk whose index entries were flushed to runs.
        pub(crate) async fn event_log_flushed_through(pool: &Pool) -> Result<i64> {
            let row = sqlx::query("SELECT flushed_through FROM event_log_meta WHERE id = 1").fetch_one(pool).await?;
            Ok(row.try_get("flushed_through")?)
        }

        /// Every buried (deleted) record the event log refers to.
        pub(crate) async fn event_tombstones(pool: &Pool) -> Result<std::collections::HashSet<Uuid>> {
            let rows = sqlx::query("SELECT record_id FROM event_tombstones").fetch_all(pool).await?;
            Ok(rows.iter().map(|r| r.try_get("record_id")).collect::<SqlResult<_>>()?)
        }

        /// The flushed index runs of these records.
        pub(crate) async fn event_runs_of(pool: &Pool, owners: &[Uuid]) -> Result<Vec<Vec<u8>>> {
            let mut conn = pool.acquire().await?;
            let mut out = Vec::new();
            for owner in owners {
                for row in sqlx::query("SELECT entries FROM event_runs WHERE owner_id = $1").bind(*owner).fetch_all(&mut *conn).await? {
                    out.push(row.try_get("entries")?);
                }
            }
            Ok(out)
        }

        /// Chunks by number: `(seq, workspace, received_at, body)`.
        pub(crate) async fn event_chunks_by_seq(pool: &Pool, seqs: &[i64]) -> Result<Vec<(i64, Uuid, i64, Vec<u8>)>> {
            let mut conn = pool.acquire().await?;
            let mut out = Vec::with_capacity(seqs.len());
            for seq in seqs {
                if let Some(row) = sqlx::query("SELECT seq, workspace_id, received_at, body FROM event_chunks WHERE seq = $1").bind(*seq).fetch_optional(&mut *conn).await? {
                    out.push((row.try_get("seq")?, row.try_get("workspace_id")?, row.try_get("received_at")?, row.try_get("body")?));
                }
            }
            Ok(out)
        }

        /// The accounts an organization has now.
        pub(crate) async fn organization_account_ids(pool: &Pool, ws: WorkspaceId, org: OrganizationId) -> Result<Vec<Uuid>> {
            let rows = sqlx::query("SELECT id FROM accounts WHERE workspace_id = $1 AND organization_id = $2").bind(ws.0).bind(org.0).fetch_all(pool).await?;
            Ok(rows.iter().map(|r| r.try_get("id")).collect::<SqlResult<_>>()?)
        }

        // ---- benchmark support --------------------------------------------------------------

        async fn insert_many(conn: &mut Conn, table: &str, cols: &str, width: usize, rows: &[Vec<BenchValue>]) -> SqlResult<()> {
            bulk::insert_rows(conn, table, cols, width, rows).await
        }

        /// Bulk-loads a synthetic customer base straight into the tables (not through the
        /// writer): for benchmarks that need a million users in seconds.
        pub(crate) async fn bench_seed(pool: &Pool, ws: WorkspaceId, data: &$crate::bench::SyntheticData, now: Millis) -> Result<()> {
            let mut tx = pool.begin_with($begin).await?;
            let t = now.0;
            let orgs: Vec<Vec<BenchValue>> = data.orgs.iter().enumerate().map(|(i, id)| vec![
                BenchValue::Id(*id), BenchValue::Id(ws.0), BenchValue::Text(format!("org-{i}")), BenchValue::Text(format!("Organization {i}")),
                BenchValue::Text(format!(r#"{{"tier":"t{}","arr":{}}}"#, i % 3, 1000 + i)), BenchValue::Int(t), BenchValue::Int(t + i as i64),
            ]).collect();
            insert_many(&mut tx, "organizations", "id, workspace_id, external_id, name, traits, created_at, updated_at", 7, &orgs).await?;
            for (n, chunk) in data.accounts.chunks(20_000).enumerate() {
                let rows: Vec<Vec<BenchValue>> = chunk.iter().enumerate().map(|(j, (id, org))| {
                    let i = n * 20_000 + j;
                    vec![BenchValue::Id(*id), BenchValue::Id(ws.0), BenchValue::Text(format!("acct-{i}")), BenchValue::Text(format!("Account {i}")),
                         BenchValue::Text(format!(r#"{{"plan":"p{}","mrr":{},"seats":{}}}"#, i % 4, 100 + i % 900, 5 + i % 50)),
                         BenchValue::OptId(*org), BenchValue::Int(t), BenchValue::Int(t + i as i64)]
                }).collect();
                insert_many(&mut tx, "accounts", "id, workspace_id, external_id, name, traits, organization_id, created_at, updated_at", 8, &rows).await?;
            }
            for (n, chunk) in data.users.chunks(20_000).enumerate() {
                let rows: Vec<Vec<BenchValue>> = chunk.iter().enumerate().map(|(j, (id, _))| {
                    let i = n * 20_000 + j;
                    vec![BenchValue::Id(*id), BenchValue::Id(ws.0), BenchValue::Text(format!("user-{i}")), BenchValue::Text(format!("User {i}")),
                         BenchValue::Text(format!("user{i}@example.com")), BenchValue::Text(format!("user{i}@example.com")),
                         BenchValue::Text(format!(r#"{{"role":"r{}"}}"#, i % 5)), BenchValue::Bool(false), BenchValue::Int(t), BenchValue::Int(t + i as i64)]
                }).collect();
                insert_many(&mut tx, "users", "id, workspace_id, external_id, name, email, email_norm, traits, unsubscribed, created_at, updated_at", 10, &rows).await?;
                let links: Vec<Vec<BenchValue>> = chunk.iter().map(|(id, account)| vec![BenchValue::Id(*account), BenchValue::Id(*id), BenchValue::Int(0)]).collect();
                insert_many(&mut tx, "account_users", "account_id, user_id, position", 3, &links).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        /// The baseline for write benchmarks: one account row inserted in its own transaction,
        /// with no reads, no merge and no engine.
        pub(crate) async fn bench_raw_insert(pool: &Pool, ws: WorkspaceId, external_id: &str, now: Millis) -> Result<()> {
            let mut tx = pool.begin_with($begin).await?;
            sqlx::query(
                "INSERT INTO accounts (id, workspace_id, external_id, name, traits, organization_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
            )
            .bind(Uuid::now_v7()).bind(ws.0).bind(external_id).bind(external_id).bind(r#"{"plan":"p1","mrr":100}"#).bind(now.0).bind(now.0)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }

        /// The baseline for ingestion benchmarks: the same event rows inserted into a plain
        /// per-event table (one row per event, indexed by user, account and organization, as the
        /// log was before chunks) in one transaction, as the raw cost of storing a batch.
        pub(crate) async fn bench_raw_events(pool: &Pool, ws: WorkspaceId, events: &[RecordedEvent]) -> Result<()> {
            let (id, text, int) = if <$db as sqlx::Database>::NAME == "PostgreSQL" { ("UUID", "TEXT", "BIGINT") } else { ("BLOB", "TEXT", "INTEGER") };
            for ddl in [
                format!("CREATE TABLE IF NOT EXISTS bench_events (id {id} PRIMARY KEY NOT NULL, workspace_id {id} NOT NULL, kind {text} NOT NULL, name {text} NOT NULL, \
                         user_id {id}, account_id {id}, organization_id {id}, occurred_at {int} NOT NULL, received_at {int} NOT NULL, properties {text} NOT NULL)"),
                "CREATE INDEX IF NOT EXISTS bench_events_by_user ON bench_events (user_id, occurred_at, id)".to_owned(),
                "CREATE INDEX IF NOT EXISTS bench_events_by_account ON bench_events (account_id, occurred_at, id)".to_owned(),
                "CREATE INDEX IF NOT EXISTS bench_events_by_organization ON bench_events (organization_id, occurred_at, id)".to_owned(),
            ] {
                // Fixed text, no input.
                sqlx::query(AssertSqlSafe(ddl)).execute(pool).await?;
            }
            let mut tx = pool.begin_with($begin).await?;
            bulk::insert_events(&mut tx, ws, events).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Bulk-loads `count` track events for the synthetic users (each in its account),
        /// spread over the 90 days before `now`, as ingestion would have stored them: chunks of
        /// 100 events, index entries flushed to runs as they accumulate; benchmarks only.
        pub(crate) async fn bench_seed_events(pool: &Pool, ws: WorkspaceId, data: &$crate::bench::SyntheticData, count: usize, now: Millis) -> Result<()> {
            use crate::event_log::index::OwnerIndex;
            const DAY: i64 = 86_400_000;
            const PER_CHUNK: usize = 100;
            let org_of: std::collections::HashMap<Uuid, Option<Uuid>> = data.accounts.iter().copied().collect();
            let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM event_chunks").fetch_one(pool).await?;
            let mut seq: i64 = row.try_get("seq")?;
            let mut unflushed = OwnerIndex::default();
            let mut done = 0;
            while done < count {
                let mut tx = pool.begin_with($begin).await?;
                for _ in 0..2_000 {
                    if done >= count {
                        break;
                    }
                    let n = (count - done).min(PER_CHUNK);
                    seq += 1;
                    let events: Vec<RecordedEvent> = (done..done + n)
                        .map(|i| {
                            let (user, account) = data.users[(i * 7919) % data.users.len()];
                            let at = now.0 - ((i as i64 * 104_729) % (90 * DAY));
                            RecordedEvent {
                                id: Uuid::nil(),
                                kind: EventKind::Track,
                                name: format!("Feature {}", i % 20),
                                user: Some(UserId(user)),
                                account: Some(AccountId(account)),
                                organization: org_of.get(&account).copied().flatten().map(OrganizationId),
                                at: Millis(at),
                                received_at: now,
                                properties: Properties::empty(),
                            }
                        })
                        .collect();
                    done += n;
                    append_bulk_chunk(&mut tx, seq, ws, now, &events, &mut unflushed, done >= count).await?;
                }
                tx.commit().await?;
            }
            Ok(())
        }

        /// Appends one chunk written in bulk (a benchmark's load, the legacy log's conversion),
        /// indexing its events as ingestion would and flushing the index when it has grown, or
        /// when `last`.
        async fn append_bulk_chunk(
            conn: &mut Conn, seq: i64, ws: WorkspaceId, received_at: Millis, events: &[RecordedEvent],
            unflushed: &mut crate::event_log::index::OwnerIndex, last: bool,
        ) -> SqlResult<()> {
            use crate::event_log::index::Entry;
            unflushed.add_all(
                events.iter().enumerate()
                    .flat_map(|(index, e)| e.owners().map(move |owner| (owner, Entry::new(e.at.0, seq, index))))
                    .collect(),
            );
            let refs: Vec<&RecordedEvent> = events.iter().collect();
            let chunk = crate::event_log::ChunkRow::encode(seq, ws, received_at, &[], &refs);
            bulk::insert_chunks(conn, std::slice::from_ref(&chunk)).await?;
            if unflushed.entries() >= crate::event_log::FLUSH_AT || (last && unflushed.entries() > 0) {
                write_runs(conn, seq, &unflushed.runs()).await?;
                unflushed.clear();
            }
            Ok(())
        }

        /// Writes one flush of the owner index: its runs, and the last chunk they cover.
        async fn write_runs(conn: &mut Conn, through: i64, runs: &[crate::event_log::index::Run]) -> SqlResult<()> {
            bulk::insert_event_runs(conn, through, runs).await?;
            sqlx::query("UPDATE event_log_meta SET flushed_through = $1 WHERE id = 1").bind(through).execute(&mut *conn).await?;
            Ok(())
        }

        /// Moves the rows of the per-event log (before chunks, migration 7) into chunks, then
        /// drops its table. Event ids change (they are log positions now); nothing else does.
        pub(crate) async fn convert_legacy_events(pool: &Pool) -> Result<()> {
            let exists = if <$db as sqlx::Database>::NAME == "PostgreSQL" {
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'legacy_events'"
            } else {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'legacy_events'"
            };
            let n: i64 = sqlx::query(exists).fetch_one(pool).await?.try_get("n")?;
            if n == 0 {
                return Ok(());
            }
            let mut tx = pool.begin_with($begin).await?;
            let rows = sqlx::query(
                "SELECT id, workspace_id, kind, name, user_id, account_id, organization_id, occurred_at, received_at, properties \
                 FROM legacy_events ORDER BY workspace_id, received_at, id",
            )
            .fetch_all(&mut *tx).await?;
            let mut by_workspace: Vec<(WorkspaceId, Millis, Vec<RecordedEvent>)> = Vec::new();
            for r in &rows {
                let ws = WorkspaceId(r.try_get("workspace_id")?);
                let kind: String = r.try_get("kind")?;
                let event = RecordedEvent {
                    id: Uuid::nil(),
                    kind: EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("event kind {kind:?}")))?,
                    name: r.try_get("name")?,
                    user: r.try_get::<Option<Uuid>, _>("user_id")?.map(UserId),
                    account: r.try_get::<Option<Uuid>, _>("account_id")?.map(AccountId),
                    organization: r.try_get::<Option<Uuid>, _>("organization_id")?.map(OrganizationId),
                    at: Millis(r.try_get("occurred_at")?),
                    received_at: Millis(r.try_get("received_at")?),
                    properties: Properties::from_map(&json_column(r, "properties")?),
                };
                match by_workspace.last_mut() {
                    Some((w, _, events)) if *w == ws && events.len() < crate::event_log::chunk::MAX_EVENTS => events.push(event),
                    _ => by_workspace.push((ws, event.received_at, vec![event])),
                }
            }
            let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM event_chunks").fetch_one(&mut *tx).await?;
            let mut seq: i64 = row.try_get("seq")?;
            let mut unflushed = crate::event_log::index::OwnerIndex::default();
            let total = by_workspace.len();
            for (i, (ws, received_at, events)) in by_workspace.iter().enumerate() {
                seq += 1;
                append_bulk_chunk(&mut tx, seq, *ws, *received_at, events, &mut unflushed, i + 1 == total).await?;
            }
            sqlx::query("DROP TABLE legacy_events").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }

        /// How many migrations the database has applied.
        pub(crate) async fn migrations_applied(pool: &Pool) -> Result<i64> {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations").fetch_one(pool).await?;
            Ok(row.try_get("n")?)
        }
    };
}

pub(crate) use backend_ops;
