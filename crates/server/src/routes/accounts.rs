//! `/resources/accounts`

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use steward_store::write::{AccountFields, RecordRef, Write};

use steward_engine::ids::{AccountId, WorkspaceId};
use steward_engine::page::{PageRequest, RecordSlot, SlotKey};
use steward_engine::{Customer, Graph};
use steward_store::rows::AccountRow;
use steward_store::{Store, StoreError};
use uuid::Uuid;

use super::records::{self, RecordKind};
use super::support::{self, Params};
use crate::app::AppState;
use crate::assign::{
    self,
    book::{Book, Level},
};
use crate::auth::Auth;
use crate::body;
use crate::body_cache::BodyKind;
use crate::error::ApiResult;
use crate::extract::{Body, JsonObject};
use crate::pagination::{page_request, probe};
use crate::render::View;
use crate::template::Template;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resources/accounts", get(list).post(upsert))
        .route(
            "/resources/accounts/{id}",
            get(records::fetch::<Accounts>)
                .put(records::update::<Accounts>)
                .patch(records::update::<Accounts>)
                .delete(records::remove::<Accounts>),
        )
        .route("/resources/accounts/{id}/users", get(users))
}

pub struct Accounts;

impl RecordKind for Accounts {
    type Row = AccountRow;
    const WHAT: &'static str = "account";
    const BODY: BodyKind = BodyKind::Account;

    fn render(row: &Self::Row, view: &View<'_>) -> Value {
        crate::render::account(row, view)
    }

    async fn find(
        store: &Store,
        ws: WorkspaceId,
        r: RecordRef,
    ) -> Result<Option<AccountRow>, StoreError> {
        store.find_account(ws, &r).await
    }

    async fn by_ids(
        store: &Store,
        ws: WorkspaceId,
        ids: Vec<uuid::Uuid>,
    ) -> Result<Vec<AccountRow>, StoreError> {
        store.accounts_by_ids(ws, &ids).await
    }

    fn page_keys(graph: &Graph, page: &PageRequest) -> Vec<SlotKey> {
        graph.accounts_page(page)
    }

    fn record_slot(graph: &Graph, id: Uuid) -> RecordSlot {
        graph.account_record_slot(AccountId(id))
    }

    fn template(row: &AccountRow) -> Template {
        body::account_template(row)
    }

    type Fill<'v> = body::CustomerFill<'v>;

    fn fill<'v>(id: Uuid, place: RecordSlot, view: &View<'v>) -> Self::Fill<'v> {
        body::account_fill(id, place, view)
    }

    fn write_filled(out: &mut Vec<u8>, template: &Template, fill: &Self::Fill<'_>) {
        body::write_account_filled(out, template, fill)
    }

    fn external_id(row: &AccountRow) -> &str {
        &row.external_id
    }

    fn update(target: RecordRef, body: &Body) -> ApiResult<Write> {
        let write = Write::UpdateAccount {
            target,
            fields: fields(body)?,
        };
        assign::body::wrap(write, body, OWNER)
    }

    /// Deletes the account and its users that belong to no other account.
    fn delete(target: RecordRef, _params: &Params) -> ApiResult<Write> {
        Ok(Write::DeleteAccount { target })
    }
}

/// The member naming the account's owner (a user).
const OWNER: &str = "accountOwnerId";

fn fields(body: &Body) -> ApiResult<AccountFields> {
    Ok(AccountFields {
        name: body.optional_name("name")?,
        traits: body.traits("traits")?,
        organization: body.record_ref("organizationId")?.into_patch(),
        ..AccountFields::default()
    })
}

async fn upsert(
    State(state): State<AppState>,
    auth: Auth,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let external_id = body.required_external_id("externalId")?;
    let mut fields = fields(&body)?;
    fields.name = Some(body.required_name("name")?);
    let write = Write::UpsertAccount {
        external_id,
        fields,
    };
    support::write(&state, &auth, assign::body::wrap(write, &body, OWNER)?).await
}

/// The list, or with `keyRoleMember` a team member's book of business.
async fn list(
    state: State<AppState>,
    auth: Auth,
    params: Params,
) -> ApiResult<axum::response::Response> {
    if let Some(filter) = super::status_filter::StatusFilter::from_query(&params.0)? {
        return super::status_filter::list(&state, &auth, &params.0, filter).await;
    }
    match Book::from_query(&params.0)? {
        Some(book) => {
            assign::book::list::<Accounts>(&state, &auth, &params.0, book, Level::Accounts, None)
                .await
        }
        None => records::list::<Accounts>(state, auth, params).await,
    }
}

async fn users(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Response> {
    let page = page_request(&query)?;
    let account = records::find_or_404::<Accounts>(&state, auth.workspace, id).await?;
    let within = Customer::Account(account.id);
    if let Some(found) =
        assign::book::sub_list::<super::users::Users>(&state, &auth, &query, Level::Users, within)
            .await?
    {
        return Ok(found);
    }
    let keys = {
        let engine = state.engine().await;
        engine
            .graph(auth.workspace)
            .map(|g| g.account_users_page(account.id, &probe(&page)))
            .unwrap_or_default()
    };
    records::page_of::<super::users::Users>(&state, auth.workspace, &page, records::unplaced(keys))
        .await
}
