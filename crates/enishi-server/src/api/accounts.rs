//! `/api/v1/accounts`: B2B accounts, created or updated by the shop's id.

use super::shared::{created, not_negative, ok, page_limit, Body, Id, PathParam, QueryParams};
use crate::auth::{Caller, Manager};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_store::repo::accounts;
use enishi_store::AccountUpsert;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The account routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_accounts, upsert_account)).routes(routes!(get_account))
}

/// An account, keyed by `external_id`: created, or updated when it exists (`name` is replaced; other fields only when given).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountInput)]
struct AccountBody {
    /// The shop's id (1 to 128 characters).
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    external_id: String,
    /// Company name; not empty.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    name: String,
    /// Industry.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    industry: Option<String>,
    /// Region.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    region: Option<String>,
    /// Size band.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    size_band: Option<String>,
}

/// A B2B account (a company whose contacts are customers).
#[derive(Serialize, ToSchema)]
#[schema(as = Account)]
struct AccountView {
    id: i64,
    external_id: String,
    name: String,
    #[schema(required = true)]
    industry: Option<String>,
    #[schema(required = true)]
    region: Option<String>,
    /// `1-10`, `11-50`, …
    #[schema(required = true)]
    size_band: Option<String>,
}

impl From<enishi_store::Account> for AccountView {
    fn from(a: enishi_store::Account) -> Self {
        let enishi_store::Account { id, external_id, name, industry, region, size_band } = a;
        AccountView { id, external_id, name, industry, region, size_band }
    }
}

// A page of accounts.
#[derive(Serialize, ToSchema)]
struct AccountList {
    /// In id order; pass the last `id` as `after` for the next page.
    items: Vec<AccountView>,
}

#[utoipa::path(post, path = "/api/v1/accounts", operation_id = "upsertAccount", tag = "accounts",
    summary = "Create or update an account",
    description = "Creates the account, or updates the one with the same `external_id` (`name` is replaced; `industry`, `region` and `size_band` only when given).\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((AccountBody = "application/json", examples(("account" = (value = json!(
        {"external_id": "ACME", "name": "Acme Café", "industry": "hospitality", "region": "Kansai", "size_band": "11-50"}
    ))))))),
    responses(
        (status = 200, description = "An account with this `external_id` existed and was updated.", body = AccountView),
        (status = 201, description = "The account was created.", body = AccountView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn upsert_account(
    _: Manager,
    State(state): State<AppState>,
    Body(b): Body<AccountBody>,
) -> Result<Response, ApiError> {
    let external_id =
        b.external_id.parse().map_err(|e: enishi_core::ParseError| ApiError::invalid("external_id", e.0))?;
    if b.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "is empty"));
    }
    let a = AccountUpsert {
        external_id,
        name: Some(b.name.trim().into()),
        industry: b.industry,
        region: b.region,
        size_band: b.size_band,
    };
    let (account, new) = state
        .run(move |s| {
            Ok(s.write(|c| {
                let up = accounts::upsert(c, &a)?;
                Ok::<_, enishi_store::StoreError>((
                    accounts::get(c, up.id())?,
                    matches!(up, enishi_store::Upserted::Created(_)),
                ))
            })?)
        })
        .await?;
    let account = account.map(AccountView::from);
    Ok(if new { created(account) } else { ok(account) })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AfterQuery {
    /// Only accounts with an id above this.
    #[param(default = 0, minimum = 0)]
    after: Option<i64>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/accounts", operation_id = "listAccounts", tag = "accounts",
    summary = "List accounts",
    description = "Accounts in id order. For the next page pass the last item's `id` as `after` (there is no `next_cursor`); a page shorter than `limit` is the last. Unknown query parameters are refused (400 `bad_query`).\n\nRoles: admin, marketer, staff.",
    params(AfterQuery),
    responses(
        (status = 200, description = "Accounts.", body = AccountList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_accounts(
    _: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AfterQuery>,
) -> Result<Response, ApiError> {
    let (after, limit) = (not_negative("after", q.after)?, page_limit(q.limit)?);
    let items = state.run(move |s| Ok(s.read(|c| accounts::list(c, after, limit))?)).await?;
    Ok(ok(AccountList { items: items.into_iter().map(AccountView::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/accounts/{id}", operation_id = "getAccount", tag = "accounts",
    summary = "Get an account",
    description = "One account by Enishi id.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi account id.", minimum = 0)),
    responses(
        (status = 200, description = "The account.", body = AccountView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_account(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let a = state.run(move |s| Ok(s.read(|c| accounts::get(c, id))?)).await?;
    a.map(|a| ok(AccountView::from(a))).ok_or_else(|| ApiError::not_found(format!("no account {id}")))
}
