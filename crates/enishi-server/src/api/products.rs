//! `/api/v1/products`: the product catalogue, created or updated by SKU.

use super::shared::{created, ok, page_limit, Body, Money, PathParam, QueryParams};
use crate::auth::{Caller, Manager};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_store::repo::products;
use enishi_store::Product;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The product routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_products, upsert_product)).routes(routes!(get_product))
}

/// A product, keyed by `sku`: created, or updated when it exists (only the fields given).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProductInput)]
struct ProductBody {
    /// Stock-keeping unit (1 to 128 characters).
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    sku: String,
    /// Name.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    name: Option<String>,
    /// Category.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    category: Option<String>,
    /// List price as a decimal string (see `AmountInput`); not negative.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
    price: Option<String>,
    /// ISO 4217 code (see `CurrencyCode`).
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z]{3}$")]
    currency: Option<String>,
}

// A product of the catalogue, as answered (the store's row, typed for the API).
#[derive(Serialize, ToSchema)]
#[schema(as = Product)]
struct ProductView {
    sku: String,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    category: Option<String>,
    /// List price.
    #[schema(required = true)]
    price: Option<Money>,
    /// Currency of the price.
    #[schema(required = true, pattern = r"^[A-Za-z]{3}$")]
    currency: Option<String>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        ProductView { sku: p.sku, name: p.name, category: p.category, price: p.price.map(Money), currency: p.currency }
    }
}

// A page of products.
#[derive(Serialize, ToSchema)]
struct ProductList {
    /// In SKU order; pass the last `sku` as `after` for the next page.
    items: Vec<ProductView>,
}

#[utoipa::path(post, path = "/api/v1/products", operation_id = "upsertProduct", tag = "products",
    summary = "Create or update a product",
    description = "Creates the product, or updates the one with the same `sku` (only the fields given).\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((ProductBody = "application/json", examples(("product" = (value = json!(
        {"sku": "BEANS-1", "name": "House blend 250 g", "category": "coffee", "price": "28.70", "currency": "USD"}
    ))))))),
    responses(
        (status = 200, description = "A product with this SKU existed and was updated.", body = ProductView),
        (status = 201, description = "The product was created.", body = ProductView),
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
async fn upsert_product(
    _: Manager,
    State(state): State<AppState>,
    Body(b): Body<ProductBody>,
) -> Result<Response, ApiError> {
    let sku: enishi_core::ExternalId =
        b.sku.parse().map_err(|e: enishi_core::ParseError| ApiError::invalid("sku", e.0))?;
    let price = b
        .price
        .as_deref()
        .map(str::parse::<enishi_core::Amount>)
        .transpose()
        .map_err(|e| ApiError::invalid("price", e.0))?;
    if price.is_some_and(|p| p.is_negative()) {
        return Err(ApiError::invalid("price", "must not be negative"));
    }
    let currency = b
        .currency
        .as_deref()
        .map(str::parse::<enishi_core::Currency>)
        .transpose()
        .map_err(|e| ApiError::invalid("currency", e.0))?;
    let p = Product {
        sku: sku.to_string(),
        name: b.name,
        category: b.category,
        price,
        currency: currency.map(|c| c.to_string()),
    };
    let (product, new) = state
        .run(move |s| {
            Ok(s.write(|c| {
                let new = products::upsert(c, &p)?;
                Ok::<_, enishi_store::StoreError>((products::get(c, &p.sku)?, new))
            })?)
        })
        .await?;
    let product = product.map(ProductView::from);
    Ok(if new { created(product) } else { ok(product) })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SkuQuery {
    /// Only products whose SKU sorts after this.
    #[param(default = "", pattern = r"^[^\u0000-\u001F]*$")]
    after: Option<String>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/products", operation_id = "listProducts", tag = "products",
    summary = "List products",
    description = "Products in SKU order. For the next page pass the last item's `sku` as `after` (there is no `next_cursor`); a page shorter than `limit` is the last. Unknown query parameters are refused (400 `bad_query`).\n\nRoles: admin, marketer, staff.",
    params(SkuQuery),
    responses(
        (status = 200, description = "Products.", body = ProductList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_products(
    _: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<SkuQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = q.after.unwrap_or_default();
    let items = state.run(move |s| Ok(s.read(|c| products::list(c, &after, limit))?)).await?;
    Ok(ok(ProductList { items: items.into_iter().map(ProductView::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/products/{sku}", operation_id = "getProduct", tag = "products",
    summary = "Get a product",
    description = "One product by SKU.\n\nRoles: admin, marketer, staff.",
    params(("sku" = String, Path, description = "Product SKU (URL-encoded).",
        pattern = r"^[^\u0000-\u001F]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "The product.", body = ProductView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_product(
    _: Caller,
    State(state): State<AppState>,
    PathParam(sku): PathParam<String>,
) -> Result<Response, ApiError> {
    let p = state.run(move |s| Ok(s.read(|c| products::get(c, &sku))?)).await?;
    p.map(|p| ok(ProductView::from(p))).ok_or_else(|| ApiError::not_found("no such product"))
}
