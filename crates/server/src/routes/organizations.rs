//! `/resources/organizations`

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use steward_store::write::{OrganizationFields, RecordRef, Write};

use steward_engine::ids::{OrganizationId, WorkspaceId};
use steward_engine::page::{PageRequest, RecordSlot, SlotKey};
use steward_engine::{Customer, Graph};
use steward_store::rows::OrganizationRow;
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
        .route("/resources/organizations", get(list).post(upsert))
        .route(
            "/resources/organizations/{id}",
            get(records::fetch::<Organizations>)
                .put(records::update::<Organizations>)
                .patch(records::update::<Organizations>)
                .delete(records::remove::<Organizations>),
        )
        .route("/resources/organizations/{id}/accounts", get(accounts))
        .route("/resources/organizations/{id}/users", get(users))
}

pub struct Organizations;

impl RecordKind for Organizations {
    type Row = OrganizationRow;
    const WHAT: &'static str = "organization";
    const BODY: BodyKind = BodyKind::Organization;

    fn render(row: &Self::Row, view: &View<'_>) -> Value {
        crate::render::organization(row, view)
    }

    async fn find(
        store: &Store,
        ws: WorkspaceId,
        r: RecordRef,
    ) -> Result<Option<OrganizationRow>, StoreError> {
        store.find_organization(ws, &r).await
    }

    async fn by_ids(
        store: &Store,
        ws: WorkspaceId,
        ids: Vec<uuid::Uuid>,
    ) -> Result<Vec<OrganizationRow>, StoreError> {
        store.organizations_by_ids(ws, &ids).await
    }

    fn page_keys(graph: &Graph, page: &PageRequest) -> Vec<SlotKey> {
        graph.organizations_page(page)
    }

    fn record_slot(graph: &Graph, id: Uuid) -> RecordSlot {
        graph.organization_record_slot(OrganizationId(id))
    }

    fn template(row: &OrganizationRow) -> Template {
        body::organization_template(row)
    }

    type Fill<'v> = body::CustomerFill<'v>;

    fn fill<'v>(id: Uuid, place: RecordSlot, view: &View<'v>) -> Self::Fill<'v> {
        body::organization_fill(id, place, view)
    }

    fn write_filled(out: &mut Vec<u8>, template: &Template, fill: &Self::Fill<'_>) {
        body::write_organization_filled(out, template, fill)
    }

    fn external_id(row: &OrganizationRow) -> &str {
        &row.external_id
    }

    fn update(target: RecordRef, body: &Body) -> ApiResult<Write> {
        let write = Write::UpdateOrganization {
            target,
            fields: fields(body)?,
        };
        assign::body::wrap(write, body, OWNER)
    }

    /// Detaches the organization's accounts, or with `?cascade=true` deletes them too (and
    /// their users that belong nowhere else).
    fn delete(target: RecordRef, params: &Params) -> ApiResult<Write> {
        Ok(Write::DeleteOrganization {
            target,
            cascade: params.flag("cascade")?,
        })
    }
}

/// The member naming the organization's owner (a user).
const OWNER: &str = "organizationOwnerId";

fn fields(body: &Body) -> ApiResult<OrganizationFields> {
    Ok(OrganizationFields {
        name: body.optional_name("name")?,
        traits: body.traits("traits")?,
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
    let write = Write::UpsertOrganization {
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
    match Book::from_query(&params.0)? {
        Some(book) => {
            assign::book::list::<Organizations>(
                &state,
                &auth,
                &params.0,
                book,
                Level::Organizations,
                None,
            )
            .await
        }
        None => records::list::<Organizations>(state, auth, params).await,
    }
}

async fn accounts(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Response> {
    let page = page_request(&query)?;
    let org = records::find_or_404::<Organizations>(&state, auth.workspace, id).await?;
    let within = Customer::Organization(org.id);
    if let Some(found) = assign::book::sub_list::<super::accounts::Accounts>(
        &state,
        &auth,
        &query,
        Level::Accounts,
        within,
    )
    .await?
    {
        return Ok(found);
    }
    let keys = {
        let engine = state.engine().await;
        engine
            .graph(auth.workspace)
            .map(|g| g.organization_accounts_page(org.id, &probe(&page)))
            .unwrap_or_default()
    };
    records::page_of::<super::accounts::Accounts>(
        &state,
        auth.workspace,
        &page,
        records::unplaced(keys),
    )
    .await
}

async fn users(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Params(query): Params,
) -> ApiResult<Response> {
    let page = page_request(&query)?;
    let org = records::find_or_404::<Organizations>(&state, auth.workspace, id).await?;
    let within = Customer::Organization(org.id);
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
            .map(|g| g.organization_users_page(org.id, &probe(&page)))
            .unwrap_or_default()
    };
    records::page_of::<super::users::Users>(&state, auth.workspace, &page, records::unplaced(keys))
        .await
}
