//! `/resources/users`

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use steward_engine::Graph;
use steward_engine::domain::Email;
use steward_engine::ids::{UserId, WorkspaceId};
use steward_engine::page::{PageRequest, RecordSlot, SlotKey};
use steward_store::rows::UserRow;
use steward_store::write::{RecordRef, UserFields, Write};
use uuid::Uuid;

use steward_store::{Store, StoreError};

use super::records::{self, RecordKind};
use super::support::{self, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::body_cache::BodyKind;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Body, JsonObject, Member};
use crate::render::View;
use crate::template::Template;
use crate::{body, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/users", get(list).post(upsert))
        .route("/resources/users/search", get(search))
        .route(
            "/resources/users/{id}",
            get(records::fetch::<Users>)
                .put(records::update::<Users>)
                .patch(records::update::<Users>)
                .delete(records::remove::<Users>),
        )
}

pub struct Users;

impl RecordKind for Users {
    type Row = UserRow;
    const WHAT: &'static str = "user";
    const BODY: BodyKind = BodyKind::User;

    fn render(row: &Self::Row, view: &View<'_>) -> Value {
        crate::render::user(row, view)
    }

    async fn find(
        store: &Store,
        ws: WorkspaceId,
        r: RecordRef,
    ) -> Result<Option<UserRow>, StoreError> {
        store.find_user(ws, &r).await
    }

    async fn by_ids(
        store: &Store,
        ws: WorkspaceId,
        ids: Vec<uuid::Uuid>,
    ) -> Result<Vec<UserRow>, StoreError> {
        store.users_by_ids(ws, &ids).await
    }

    fn page_keys(graph: &Graph, page: &PageRequest) -> Vec<SlotKey> {
        graph.users_page(page)
    }

    fn record_slot(graph: &Graph, id: Uuid) -> RecordSlot {
        graph.user_record_slot(UserId(id))
    }

    fn template(row: &UserRow) -> Template {
        body::user_template(row)
    }

    type Fill<'v> = body::UserFill;

    fn fill<'v>(id: Uuid, place: RecordSlot, view: &View<'v>) -> Self::Fill<'v> {
        body::user_fill(id, place, view)
    }

    fn write_filled(out: &mut Vec<u8>, template: &Template, fill: &Self::Fill<'_>) {
        body::write_user_filled(out, template, fill)
    }

    fn external_id(row: &UserRow) -> &str {
        &row.external_id
    }

    fn update(target: RecordRef, body: &Body) -> ApiResult<Write> {
        Ok(Write::UpdateUser {
            target,
            fields: fields(body)?,
        })
    }

    fn delete(target: RecordRef, _params: &Params) -> ApiResult<Write> {
        Ok(Write::DeleteUser { target })
    }
}

fn fields(body: &Body) -> ApiResult<UserFields> {
    let avatar = match body.string("avatar")? {
        Member::Set(s) if s.len() > 2048 => {
            return Err(ApiError::field(
                ErrorCode::InvalidField,
                "avatar",
                "`avatar` is longer than 2048 characters",
            ));
        }
        other => other.into_patch(),
    };
    Ok(UserFields {
        name: body.string("name")?.into_patch(),
        email: body.email("email")?.into_patch(),
        avatar,
        traits: body.traits("traits")?,
        accounts: body.record_refs("accountIds")?,
        organizations: body.record_refs("organizationIds")?,
        joined_at: body.timestamp("joinDate")?.into_patch(),
        unsubscribed: body.bool("unsubscribedFromConversations")?,
        ..UserFields::default()
    })
}

async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let external_id = body.required_external_id("externalId")?;
    let fields = fields(&body)?;
    support::write(
        &state,
        &auth,
        Write::UpsertUser {
            external_id,
            fields,
        },
    )
    .await
}

/// `?email=`, `?externalId=` or `?emailSubdomain=`: exactly one.
async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Params(query): Params,
) -> ApiResult<Json<Value>> {
    let given: Vec<&str> = ["email", "externalId", "emailSubdomain"]
        .into_iter()
        .filter(|k| query.contains_key(*k))
        .collect();
    if given.len() != 1 {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "give exactly one of `email`, `externalId`, `emailSubdomain`",
        ));
    }
    let ws = auth.workspace;
    let rows: Vec<UserRow> = match given[0] {
        "email" => {
            let email = Email::parse("email", &query["email"])?;
            state.store.users_by_email(ws, &email.normalized()).await?
        }
        "externalId" => state
            .store
            .find_user(ws, &RecordRef(query["externalId"].clone()))
            .await?
            .into_iter()
            .filter(|u| u.external_id == query["externalId"])
            .collect(),
        _ => {
            let domain = query["emailSubdomain"]
                .trim()
                .trim_start_matches('@')
                .to_lowercase();
            if domain.is_empty() || domain.contains(['%', '_', '@']) {
                return Err(ApiError::field(
                    ErrorCode::InvalidQuery,
                    "emailSubdomain",
                    "`emailSubdomain` must be a domain such as example.com",
                ));
            }
            state.store.users_by_email_domain(ws, &domain).await?
        }
    };
    let engine = state.engine().await;
    let graph = &crate::render::View::of(&engine, ws, state.clock.now());
    Ok(Json(
        json!({ "results": rows.iter().map(|r| render::user(r, graph)).collect::<Vec<_>>() }),
    ))
}

/// The list, or with `keyRoleMember` the users of a team member's book of business.
async fn list(
    state: State<AppState>,
    auth: Auth,
    params: Params,
) -> ApiResult<axum::response::Response> {
    use crate::assign::book::{self, Book, Level};
    match Book::from_query(&params.0)? {
        Some(b) => book::list::<Users>(&state, &auth, &params.0, b, Level::Users, None).await,
        None => records::list::<Users>(state, auth, params).await,
    }
}
