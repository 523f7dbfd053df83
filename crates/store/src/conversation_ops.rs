//! Conversation and message operations, written once like `ops.rs` and instantiated next to
//! `backend_ops!` in `sqlite.rs` and `postgres.rs` (it uses that expansion's `Conn`, `Pool`,
//! `Table` and lookups). See `conversations.rs` for the model.

macro_rules! conversation_ops {
    (row: $row:ty) => {
        use steward_engine::ids::{ConversationId, MessageId};
        use $crate::conversations::{ConversationScope, Recipients, CONVERSATION_COLS, MESSAGE_COLS};
        use $crate::rows::{ConversationRow, MessageRow, Participant};

        fn decode_conversation(r: &$row) -> SqlResult<ConversationRow> {
            Ok(ConversationRow {
                id: ConversationId(r.try_get("id")?),
                external_id: r.try_get("external_id")?,
                subject: r.try_get("subject")?,
                traits: json_column(r, "traits")?,
                external_url: r.try_get("external_url")?,
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
                users: Vec::new(),
                admins: Vec::new(),
                accounts: Vec::new(),
                messages: None,
            })
        }

        fn decode_message(r: &$row) -> SqlResult<MessageRow> {
            let direction: String = r.try_get("direction")?;
            let recipients: Recipients = json_column(r, "recipients")?;
            Ok(MessageRow {
                id: MessageId(r.try_get("id")?),
                conversation_id: ConversationId(r.try_get("conversation_id")?),
                external_id: r.try_get("external_id")?,
                direction: steward_engine::Direction::parse(&direction)
                    .ok_or_else(|| sqlx::Error::Decode(format!("unknown message direction {direction:?}").into()))?,
                sent_at: Millis(r.try_get("sent_at")?),
                body: r.try_get("body")?,
                from: json_column(r, "sender")?,
                to: recipients.to,
                cc: recipients.cc,
                bcc: recipients.bcc,
                external_url: r.try_get("external_url")?,
                created_at: Millis(r.try_get("created_at")?),
                updated_at: Millis(r.try_get("updated_at")?),
            })
        }

        const CONVERSATIONS: Table<ConversationRow> =
            Table { name: "conversations", cols: CONVERSATION_COLS, decode: decode_conversation, has_external_id: true };
        const MESSAGES: Table<MessageRow> =
            Table { name: "messages", cols: MESSAGE_COLS, decode: decode_message, has_external_id: true };

        /// `$first`, `$first+1`, ... for `n` values.
        fn placeholders(first: usize, n: usize) -> String {
            (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        }

        /// Fills the users, team members and accounts of conversations (three queries for
        /// all of them).
        async fn associate(conn: &mut Conn, rows: &mut [ConversationRow]) -> SqlResult<()> {
            if rows.is_empty() {
                return Ok(());
            }
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id.0).collect();
            let list = placeholders(1, ids.len());
            let queries = [
                format!("SELECT DISTINCT conversation_id, user_id AS other FROM message_users WHERE conversation_id IN ({list})"),
                format!("SELECT DISTINCT conversation_id, admin_id AS other FROM message_admins WHERE conversation_id IN ({list})"),
                format!(
                    "SELECT DISTINCT mu.conversation_id, au.account_id AS other FROM message_users mu \
                     JOIN account_users au ON au.user_id = mu.user_id WHERE mu.conversation_id IN ({list})"
                ),
            ];
            for (n, sql) in queries.into_iter().enumerate() {
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for id in &ids {
                    query = query.bind(*id);
                }
                for found in query.fetch_all(&mut *conn).await? {
                    let conversation: Uuid = found.try_get("conversation_id")?;
                    let other: Uuid = found.try_get("other")?;
                    let Some(row) = rows.iter_mut().find(|r| r.id.0 == conversation) else { continue };
                    match n {
                        0 => row.users.push(UserId(other)),
                        1 => row.admins.push(AdminId(other)),
                        _ => row.accounts.push(AccountId(other)),
                    }
                }
            }
            // Sorted here: the backends order UUIDs their own ways.
            for row in rows.iter_mut() {
                row.users.sort_unstable();
                row.admins.sort_unstable();
                row.accounts.sort_unstable();
            }
            Ok(())
        }

        /// A conversation's messages in thread order (timestamp, then id).
        async fn messages_of(conn: &mut Conn, conversation: ConversationId) -> SqlResult<Vec<MessageRow>> {
            let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1");
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(conversation.0).fetch_all(&mut *conn).await?;
            let mut messages: Vec<MessageRow> = rows.iter().map(decode_message).collect::<SqlResult<_>>()?;
            messages.sort_by_key(|m| (m.sent_at, m.id));
            Ok(messages)
        }

        /// A conversation with its associations and messages.
        async fn complete(conn: &mut Conn, mut row: ConversationRow) -> SqlResult<ConversationRow> {
            row.messages = Some(messages_of(conn, row.id).await?);
            associate(conn, std::slice::from_mut(&mut row)).await?;
            Ok(row)
        }

        // ---- reads --------------------------------------------------------------------------

        pub(crate) async fn find_conversation(pool: &Pool, ws: WorkspaceId, r: &RecordRef) -> Result<Option<ConversationRow>> {
            let mut conn = pool.acquire().await?;
            let Some(row) = find_by_ref(&mut *conn, &CONVERSATIONS, ws, r).await? else {
                return Ok(None);
            };
            Ok(Some(complete(&mut *conn, row).await?))
        }

        /// Newest first by the page's sort, keyset-paged like every other list.
        pub(crate) async fn list_conversations(
            pool: &Pool, ws: WorkspaceId, scope: ConversationScope, page: &PageRequest,
        ) -> Result<Vec<ConversationRow>> {
            let col = match page.sort {
                SortBy::UpdatedAt => "updated_at",
                SortBy::CreatedAt => "created_at",
            };
            let mut sql = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE workspace_id = $1");
            // Placeholders appear in increasing order (SQLite numbers them as they come).
            let (scope_ids, mut n) = match scope {
                ConversationScope::All => (Vec::new(), 1),
                ConversationScope::Account(a) => {
                    sql.push_str(
                        " AND id IN (SELECT mu.conversation_id FROM message_users mu \
                         JOIN account_users au ON au.user_id = mu.user_id WHERE au.account_id = $2)",
                    );
                    (vec![a.0], 2)
                }
                ConversationScope::Organization(o) => {
                    sql.push_str(
                        " AND id IN (SELECT conversation_id FROM message_users WHERE user_id IN (\
                         SELECT user_id FROM organization_users WHERE organization_id = $2 \
                         UNION SELECT au.user_id FROM account_users au JOIN accounts a ON a.id = au.account_id \
                         WHERE a.organization_id = $3))",
                    );
                    (vec![o.0, o.0], 3)
                }
            };
            if page.after.is_some() {
                sql.push_str(&format!(" AND ({col}, id) < (${}, ${})", n + 1, n + 2));
                n += 2;
            }
            sql.push_str(&format!(" ORDER BY {col} DESC, id DESC LIMIT ${}", n + 1));
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(ws.0);
            for id in scope_ids {
                query = query.bind(id);
            }
            if let Some(after) = page.after {
                query = query.bind(after.at.0).bind(after.id);
            }
            let mut conn = pool.acquire().await?;
            let found = query.bind(page.limit as i64).fetch_all(&mut *conn).await?;
            let mut rows: Vec<ConversationRow> = found.iter().map(decode_conversation).collect::<SqlResult<_>>()?;
            associate(&mut *conn, &mut rows).await?;
            Ok(rows)
        }

        pub(crate) async fn find_message(pool: &Pool, ws: WorkspaceId, r: &RecordRef) -> Result<Option<MessageRow>> {
            Ok(find_by_ref(&mut *pool.acquire().await?, &MESSAGES, ws, r).await?)
        }

        pub(crate) async fn list_messages(
            pool: &Pool, ws: WorkspaceId, conversation: ConversationId, page: &PageRequest,
        ) -> Result<Vec<MessageRow>> {
            let col = match page.sort {
                SortBy::UpdatedAt => "updated_at",
                SortBy::CreatedAt => "created_at",
            };
            let mut sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE workspace_id = $1 AND conversation_id = $2");
            let mut n = 2;
            if page.after.is_some() {
                sql.push_str(&format!(" AND ({col}, id) < ($3, $4)"));
                n += 2;
            }
            sql.push_str(&format!(" ORDER BY {col} DESC, id DESC LIMIT ${}", n + 1));
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(conversation.0);
            if let Some(after) = page.after {
                query = query.bind(after.at.0).bind(after.id);
            }
            let rows = query.bind(page.limit as i64).fetch_all(pool).await?;
            Ok(rows.iter().map(decode_message).collect::<SqlResult<_>>()?)
        }

        /// Every message's direction, timestamp and users: what the engine keeps of them.
        pub(crate) async fn load_messages(pool: &Pool) -> Result<Vec<(WorkspaceId, GraphChange)>> {
            let mut conn = pool.acquire().await?;
            let mut users: std::collections::HashMap<Uuid, Vec<UserId>> = std::collections::HashMap::new();
            for r in sqlx::query("SELECT message_id, user_id FROM message_users").fetch_all(&mut *conn).await? {
                users.entry(r.try_get("message_id")?).or_default().push(UserId(r.try_get("user_id")?));
            }
            let mut out = Vec::new();
            for r in sqlx::query("SELECT workspace_id, id, direction, sent_at FROM messages").fetch_all(&mut *conn).await? {
                let id: Uuid = r.try_get("id")?;
                let direction: String = r.try_get("direction")?;
                let Some(direction) = steward_engine::Direction::parse(&direction) else {
                    return Err(StoreError::Corrupt(format!("message {id} has direction {direction:?}")));
                };
                let change = steward_engine::MessageChange::Record {
                    message: MessageId(id),
                    direction,
                    at: Millis(r.try_get("sent_at")?),
                    users: users.remove(&id).unwrap_or_default(),
                };
                out.push((WorkspaceId(r.try_get("workspace_id")?), GraphChange::Messages(change)));
            }
            Ok(out)
        }

        // ---- writes -------------------------------------------------------------------------

        /// Every conversation and message write (`apply_plain` hands them here).
        async fn apply_conversations(conn: &mut Conn, ws: WorkspaceId, now: Millis, write: &Write) -> std::result::Result<Outcome, WriteError> {
            match write {
                Write::UpsertConversation { external_id, fields } => {
                    let existing = find_by_external(conn, &CONVERSATIONS, ws, external_id.as_str()).await?;
                    save_conversation(conn, ws, now, existing, Some(external_id), fields, false).await
                }
                Write::UpdateConversation { target, fields } => {
                    let existing = find_by_ref(conn, &CONVERSATIONS, ws, target).await?.ok_or(WriteError::NotFound("conversation"))?;
                    save_conversation(conn, ws, now, Some(existing), None, fields, true).await
                }
                Write::DeleteConversation { target } => {
                    let row = find_by_ref(conn, &CONVERSATIONS, ws, target).await?.ok_or(WriteError::NotFound("conversation"))?;
                    let changes = messages_of(conn, row.id).await?.iter().map(|m| $crate::conversations::forgotten(m.id)).collect();
                    // Its messages and their participants go with it (ON DELETE CASCADE).
                    sqlx::query("DELETE FROM conversations WHERE id = $1").bind(row.id.0).execute(&mut *conn).await?;
                    Ok(Outcome { events: Vec::new(), written: Written::Deleted, created: false, changes })
                }
                Write::UpsertMessage { conversation, message } => {
                    let row = find_by_ref(conn, &CONVERSATIONS, ws, conversation).await?.ok_or(WriteError::NotFound("conversation"))?;
                    let existing = existing_message(conn, ws, row.id, message, "externalId").await?;
                    let created = existing.is_none();
                    let (saved, change) = save_message(conn, ws, now, row.id, existing, message).await?;
                    touch_conversation(conn, row.id, now).await?;
                    Ok(Outcome { events: Vec::new(), written: Written::Message(saved), created, changes: vec![change] })
                }
                Write::DeleteMessage { target } => {
                    let row = find_by_ref(conn, &MESSAGES, ws, target).await?.ok_or(WriteError::NotFound("message"))?;
                    sqlx::query("DELETE FROM messages WHERE id = $1").bind(row.id.0).execute(&mut *conn).await?;
                    touch_conversation(conn, row.conversation_id, now).await?;
                    let changes = vec![$crate::conversations::forgotten(row.id)];
                    Ok(Outcome { events: Vec::new(), written: Written::Deleted, created: false, changes })
                }
                other => Err(WriteError::Conflict(format!("not a conversation write: {other:?}"))),
            }
        }

        /// A message's change is the conversation's: it moves its `updatedAt`.
        async fn touch_conversation(conn: &mut Conn, conversation: ConversationId, now: Millis) -> SqlResult<()> {
            sqlx::query("UPDATE conversations SET updated_at = $1 WHERE id = $2").bind(now.0).bind(conversation.0).execute(&mut *conn).await?;
            Ok(())
        }

        /// The message `input` names by external id, if it exists in `conversation`; one of
        /// another conversation is a conflict (external ids are unique in the workspace).
        async fn existing_message(
            conn: &mut Conn, ws: WorkspaceId, conversation: ConversationId, input: &MessageInput, field: &str,
        ) -> std::result::Result<Option<MessageRow>, WriteError> {
            let found = find_by_external(conn, &MESSAGES, ws, input.external_id.as_str()).await?;
            match found {
                Some(m) if m.conversation_id != conversation => Err(WriteError::Conflict(format!(
                    "`{field}`: message `{}` belongs to another conversation",
                    input.external_id.as_str()
                ))),
                other => Ok(other),
            }
        }

        #[allow(clippy::too_many_arguments)]
        async fn save_conversation(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, existing: Option<ConversationRow>,
            external_id: Option<&ExternalId>, fields: &ConversationFields, replace_messages: bool,
        ) -> std::result::Result<Outcome, WriteError> {
            let created = existing.is_none();
            let mut row = match existing {
                Some(row) => row,
                None => ConversationRow {
                    id: ConversationId::generate(),
                    external_id: external_id.map(|e| e.as_str().to_owned()).ok_or_else(|| WriteError::Invalid(FieldError::missing("externalId")))?,
                    subject: None,
                    traits: Traits::new(),
                    external_url: None,
                    created_at: now,
                    updated_at: now,
                    users: Vec::new(),
                    admins: Vec::new(),
                    accounts: Vec::new(),
                    messages: None,
                },
            };
            let mut changed = merge_traits(&mut row.traits, &fields.traits);
            if let Some(subject) = &fields.subject {
                changed |= row.subject.as_deref() != Some(subject.as_str());
                row.subject = Some(subject.clone());
            }
            if let Some(url) = &fields.external_url {
                changed |= row.external_url != *url;
                row.external_url = url.clone();
            }
            let mut changes = Vec::new();
            if created {
                sqlx::query(
                    "INSERT INTO conversations (id, workspace_id, external_id, subject, traits, external_url, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(row.id.0).bind(ws.0).bind(&row.external_id).bind(&row.subject).bind(traits_text(&row.traits))
                .bind(&row.external_url).bind(now.0)
                .execute(&mut *conn).await?;
            }
            if let Some(messages) = &fields.messages {
                if let Some(i) = messages.iter().enumerate().position(|(i, m)| messages[..i].iter().any(|o| o.external_id == m.external_id)) {
                    let field = format!("messages[{i}].externalId");
                    return Err(WriteError::Invalid(FieldError::new(&field, format!("`{field}` appears twice in `messages`"))));
                }
                let mut kept = Vec::with_capacity(messages.len());
                for (i, input) in messages.iter().enumerate() {
                    let existing = existing_message(conn, ws, row.id, input, &format!("messages[{i}].externalId")).await?;
                    let before = existing.clone();
                    let (saved, change) = save_message(conn, ws, now, row.id, existing, input).await?;
                    changed |= before.as_ref() != Some(&saved);
                    if before.as_ref() != Some(&saved) {
                        changes.push(change);
                    }
                    kept.push(saved.id);
                }
                if replace_messages {
                    for old in messages_of(conn, row.id).await? {
                        if !kept.contains(&old.id) {
                            sqlx::query("DELETE FROM messages WHERE id = $1").bind(old.id.0).execute(&mut *conn).await?;
                            changes.push($crate::conversations::forgotten(old.id));
                            changed = true;
                        }
                    }
                }
            }
            if !created && changed {
                row.updated_at = now;
                sqlx::query("UPDATE conversations SET subject = $1, traits = $2, external_url = $3, updated_at = $4 WHERE id = $5")
                    .bind(&row.subject).bind(traits_text(&row.traits)).bind(&row.external_url).bind(now.0).bind(row.id.0)
                    .execute(&mut *conn).await?;
            }
            let row = complete(conn, row).await?;
            Ok(Outcome { events: Vec::new(), written: Written::Conversation(row), created, changes })
        }

        /// A participant named by the client, resolved to a Steward id: a user by id or external
        /// id, a team member by id or e-mail.
        async fn resolve_participant(conn: &mut Conn, ws: WorkspaceId, p: &ParticipantRef) -> std::result::Result<Participant, WriteError> {
            let found = match p.kind {
                ParticipantKind::User => find_by_ref(conn, &USERS, ws, &p.reference).await?.map(|u| u.id.0),
                ParticipantKind::Admin => {
                    let by_id = match p.reference.as_uuid() {
                        Some(id) => find_by_id(conn, &ADMINS, ws, id).await?,
                        None => None,
                    };
                    match by_id {
                        Some(admin) => Some(admin.id.0),
                        None => {
                            let sql = format!("SELECT {ADMIN_COLS} FROM admins WHERE workspace_id = $1 AND email_norm = $2");
                            let row = sqlx::query(AssertSqlSafe(sql)).bind(ws.0).bind(p.reference.0.to_lowercase()).fetch_optional(&mut *conn).await?;
                            row.as_ref().map(decode_admin).transpose()?.map(|a| a.id.0)
                        }
                    }
                }
            };
            let what = match p.kind {
                ParticipantKind::User => "a user",
                ParticipantKind::Admin => "a team member",
            };
            let id = found.ok_or_else(|| WriteError::Invalid(FieldError::new(
                &p.field,
                format!("`{}` names {what} that does not exist: {:?}", p.field, p.reference.0),
            )))?;
            Ok(Participant { kind: p.kind, id })
        }

        /// Creates or replaces a message of `conversation` with its participant rows; answers
        /// it and what the engine learns of it.
        async fn save_message(
            conn: &mut Conn, ws: WorkspaceId, now: Millis, conversation: ConversationId,
            existing: Option<MessageRow>, input: &MessageInput,
        ) -> std::result::Result<(MessageRow, GraphChange), WriteError> {
            let from = resolve_participant(conn, ws, &input.from).await?;
            let mut lists: [Vec<Participant>; 3] = Default::default();
            for (list, refs) in lists.iter_mut().zip([&input.to, &input.cc, &input.bcc]) {
                for p in refs {
                    list.push(resolve_participant(conn, ws, p).await?);
                }
            }
            let [to, cc, bcc] = lists;
            let mut row = MessageRow {
                id: existing.as_ref().map_or_else(MessageId::generate, |m| m.id),
                conversation_id: conversation,
                external_id: input.external_id.as_str().to_owned(),
                direction: $crate::conversations::direction_of(&from),
                sent_at: input.timestamp.or(existing.as_ref().map(|m| m.sent_at)).unwrap_or(now),
                body: input.body.clone(),
                from,
                to,
                cc,
                bcc,
                external_url: input.external_url.clone(),
                created_at: existing.as_ref().map_or(now, |m| m.created_at),
                updated_at: existing.as_ref().map_or(now, |m| m.updated_at),
            };
            if let Some(old) = &existing {
                if *old == row {
                    return Ok((row, $crate::conversations::recorded(old)));
                }
                row.updated_at = now;
                sqlx::query("DELETE FROM messages WHERE id = $1").bind(old.id.0).execute(&mut *conn).await?;
            }
            let recipients = Recipients { to: row.to.clone(), cc: row.cc.clone(), bcc: row.bcc.clone() };
            let sender = serde_json::to_string(&row.from).expect("a participant serializes");
            let recipients = serde_json::to_string(&recipients).expect("participants serialize");
            sqlx::query(
                "INSERT INTO messages (id, workspace_id, conversation_id, external_id, direction, sent_at, body, sender, recipients, external_url, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(row.id.0).bind(ws.0).bind(conversation.0).bind(&row.external_id).bind(row.direction.as_str())
            .bind(row.sent_at.0).bind(&row.body).bind(sender).bind(recipients)
            .bind(&row.external_url).bind(row.created_at.0).bind(row.updated_at.0)
            .execute(&mut *conn).await?;
            let mut users: Vec<Uuid> = Vec::new();
            let mut admins: Vec<Uuid> = Vec::new();
            for p in row.participants() {
                let list = match p.kind {
                    ParticipantKind::User => &mut users,
                    ParticipantKind::Admin => &mut admins,
                };
                if !list.contains(&p.id) {
                    list.push(p.id);
                }
            }
            for (table, column, ids) in [("message_users", "user_id", &users), ("message_admins", "admin_id", &admins)] {
                for id in ids {
                    let sql = format!("INSERT INTO {table} (message_id, conversation_id, {column}) VALUES ($1, $2, $3)");
                    sqlx::query(AssertSqlSafe(sql)).bind(row.id.0).bind(conversation.0).bind(*id).execute(&mut *conn).await?;
                }
            }
            let change = $crate::conversations::recorded(&row);
            Ok((row, change))
        }
    };
}

pub(crate) use conversation_ops;
