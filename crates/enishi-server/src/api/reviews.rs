//! Reviews and ratings (docs/listening.md): invite a customer to review an order or a product
//! of it (the answer holds the link to the public page), list reviews, approve or reject them,
//! and a product's rating over its approved reviews.

use super::shared::{created, ok, Body, Id, PathParam, QueryParams, Timestamp};
use crate::auth::{Caller, Manager};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use enishi_campaigns::reviews as ops;
use enishi_store::repo::reviews::{self as repo, Rating, Review, ReviewQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The review routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reviews, invite_review))
        .routes(routes!(get_review))
        .routes(routes!(moderate_review))
        .routes(routes!(product_rating))
}

/// A campaign error on a review route: a wrong value is 422 `invalid_review` naming the field;
/// moderating a review not written yet is 409 `wrong_state`.
fn answer(e: enishi_campaigns::Error) -> ApiError {
    use enishi_campaigns::Error as E;
    match e {
        E::Invalid(m) => {
            let field = m.split_once(": ").map(|(f, _)| f.to_string());
            ApiError { field, ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_review", m) }
        }
        E::State(m) => ApiError::new(StatusCode::CONFLICT, "wrong_state", m),
        other => other.into(),
    }
}

/// A review, or the invitation to write one while its status is `invited`.
#[derive(Serialize, ToSchema)]
#[schema(as = Review)]
struct ReviewView {
    id: i64,
    customer_id: i64,
    /// The customer's name.
    #[schema(required = true)]
    customer: Option<String>,
    /// The shop's id of the order it follows.
    order_id: String,
    /// The product reviewed; `null` for a review of the whole order.
    #[schema(required = true)]
    sku: Option<String>,
    /// The product's name in the catalogue.
    #[schema(required = true)]
    product: Option<String>,
    /// `invited` (not written yet), `pending` (waiting for a moderator), `approved` (shown, counted in the rating) or `rejected`.
    #[schema(example = "pending")]
    status: String,
    /// When the customer was invited.
    invited_at: Timestamp,
    /// When the invitation's link stops working.
    expires_at: Timestamp,
    /// When the customer wrote it.
    #[schema(required = true)]
    submitted_at: Option<Timestamp>,
    /// 1 to 5.
    #[schema(required = true, minimum = 1, maximum = 5)]
    stars: Option<i64>,
    /// The customer's words.
    #[schema(required = true)]
    body: Option<String>,
    /// Who approved or rejected it: a user's sign-in email or `token:LABEL (ROLE)`.
    #[schema(required = true)]
    moderated_by: Option<String>,
    /// When it was approved or rejected.
    #[schema(required = true)]
    moderated_at: Option<Timestamp>,
    /// The page where the customer writes it (made when the invitation is made; absent elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    url: Option<String>,
}

impl From<Review> for ReviewView {
    fn from(r: Review) -> Self {
        ReviewView {
            id: r.id,
            customer_id: r.customer_id,
            customer: r.customer,
            order_id: r.order,
            sku: r.sku,
            product: r.product,
            status: r.status,
            invited_at: Timestamp(r.created_at),
            expires_at: Timestamp(r.expires_at),
            submitted_at: r.submitted_at.map(Timestamp),
            stars: r.stars,
            body: r.body,
            moderated_by: r.moderated_by,
            moderated_at: r.moderated_at.map(Timestamp),
            url: None,
        }
    }
}

// A page of reviews.
#[derive(Serialize, ToSchema)]
struct ReviewPage {
    items: Vec<ReviewView>,
    limit: i64,
    offset: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReviewListQuery {
    /// Only reviews with this status: `invited`, `pending`, `approved` or `rejected`.
    #[param(pattern = r"^[^\u0000-\u001F]*$")]
    status: Option<String>,
    /// Only reviews of this product.
    #[param(pattern = r"^[^\u0000-\u001F]*$")]
    sku: Option<String>,
    /// Only reviews by this customer (Enishi id).
    #[param(minimum = 0)]
    customer_id: Option<i64>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Items to skip, 0 or more (a negative value is refused with 422).
    #[param(default = 0, minimum = 0)]
    offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/reviews", operation_id = "listReviews", tag = "listening",
    summary = "List reviews",
    description = "Reviews, the oldest written first (invitations not written yet last): the moderation queue is `status=pending`. A wrong `status` is 422 `invalid_review`.\n\nRoles: admin, marketer, staff.",
    params(ReviewListQuery),
    responses(
        (status = 200, description = "Reviews.", body = ReviewPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_reviews(
    _: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReviewListQuery>,
) -> Result<Response, ApiError> {
    let limit = super::shared::page_limit(q.limit)?;
    let offset = super::shared::not_negative("offset", q.offset)?;
    if let Some(s) = &q.status {
        if ![repo::INVITED, repo::PENDING, repo::APPROVED, repo::REJECTED].contains(&s.as_str()) {
            return Err(answer(enishi_campaigns::Error::Invalid(format!(
                "status: '{s}' is not invited, pending, approved or rejected"
            ))));
        }
    }
    let query = ReviewQuery { status: q.status, sku: q.sku, customer_id: q.customer_id };
    let items = state.run(move |s| Ok(s.read(|c| repo::list(c, &query, limit, offset))?)).await?;
    Ok(ok(ReviewPage { items: items.into_iter().map(ReviewView::from).collect(), limit, offset }))
}

/// Whom to invite to review what.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReviewInvitationInput)]
struct InviteBody {
    /// The shop's id of the order.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    order_id: String,
    /// A product on the order to review; the whole order when absent.
    #[serde(default)]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    sku: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/reviews", operation_id = "inviteReview", tag = "listening",
    summary = "Invite a customer to review an order or a product",
    description = "Makes the invitation for the customer of order `order_id` to review product `sku` of it (or the whole order), and answers it with `url`, the signed page where the customer writes it (valid `review_valid_days`, default 30). One review per order and product: inviting again answers the same review (200), its link renewed while it is not written. A message sends the customer's newest invitation as `{{ review_url }}`. A SKU not on the order is 422 `invalid_review`.\n\nRoles: admin, marketer.",
    request_body(content((InviteBody = "application/json", examples(("product" = (value = json!(
        {"order_id": "A-1001", "sku": "BEANS-1"}
    ))))))),
    responses(
        (status = 200, description = "The review existed already.", body = ReviewView),
        (status = 201, description = "The invitation made.", body = ReviewView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn invite_review(
    _: Manager,
    State(state): State<AppState>,
    Body(b): Body<InviteBody>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let ((review, new), url) = state
        .run(move |s| {
            s.write(|c| {
                let made = ops::invite(c, &b.order_id, b.sku.as_deref(), now.timestamp()).map_err(answer)?;
                let url = ops::link(c, &made.0).map_err(answer)?;
                Ok::<_, ApiError>((made, url))
            })
        })
        .await?;
    let view = ReviewView { url: Some(url), ..ReviewView::from(review) };
    Ok(if new { created(view) } else { ok(view) })
}

#[utoipa::path(get, path = "/api/v1/reviews/{id}", operation_id = "getReview", tag = "listening",
    summary = "One review",
    description = "The review.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi review id.", minimum = 0)),
    responses(
        (status = 200, description = "The review.", body = ReviewView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_review(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let r = state.run(move |s| Ok(s.read(|c| repo::get(c, id))?)).await?;
    r.map(|r| ok(ReviewView::from(r))).ok_or_else(|| ApiError::not_found(format!("no review {id}")))
}

/// A moderator's decision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReviewModeration)]
struct ModerationBody {
    /// `approved` (it shows and counts in the product's rating), `rejected`, or `pending` again.
    #[schema(example = "approved", pattern = r"^[^\u0000-\u001F]*$")]
    status: String,
}

#[utoipa::path(post, path = "/api/v1/reviews/{id}/moderation", operation_id = "moderateReview", tag = "listening",
    summary = "Approve or reject a review",
    description = "Sets the review's status, recording who did it and when. Only a written review can be moderated (one not written yet is 409 `wrong_state`); another status is 422 `invalid_review`. Audited.\n\nRoles: admin, marketer.",
    params(("id" = i64, Path, description = "Enishi review id.", minimum = 0)),
    request_body(content((ModerationBody = "application/json", examples(("approve" = (value = json!({"status": "approved"}))))))),
    responses(
        (status = 200, description = "The review as it is now.", body = ReviewView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn moderate_review(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<ModerationBody>,
) -> Result<Response, ApiError> {
    let actor = caller.actor.clone();
    let review = state
        .run(move |s| {
            s.write(|c| {
                let r = ops::moderate(c, id, b.status.trim(), &actor).map_err(answer)?;
                let after = serde_json::json!({"status": r.status});
                crate::audit::record(c, &actor, "review.moderate", &format!("review {id}"), Some(after))?;
                Ok::<_, ApiError>(r)
            })
        })
        .await?;
    Ok(ok(ReviewView::from(review)))
}

/// A product's rating over its approved reviews.
#[derive(Serialize, ToSchema)]
#[schema(as = ProductRating)]
struct RatingView {
    sku: String,
    /// Approved reviews.
    #[schema(minimum = 0)]
    count: i64,
    /// Their average stars to one decimal; `null` without any.
    #[schema(required = true, minimum = 1, maximum = 5)]
    average: Option<f64>,
}

impl From<Rating> for RatingView {
    fn from(r: Rating) -> Self {
        RatingView { sku: r.sku, count: r.count, average: r.average }
    }
}

#[utoipa::path(get, path = "/api/v1/products/{sku}/rating", operation_id = "getProductRating", tag = "products",
    summary = "A product's rating",
    description = "The count and average stars of the product's approved reviews (pending and rejected ones do not count). A product without any has count 0 and average `null`.\n\nRoles: admin, marketer, staff.",
    params(("sku" = String, Path, description = "Product SKU (URL-encoded).",
        pattern = r"^[^\u0000-\u001F]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "The rating.", body = RatingView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn product_rating(
    _: Caller,
    State(state): State<AppState>,
    PathParam(sku): PathParam<String>,
) -> Result<Response, ApiError> {
    let mut r = state.run(move |s| Ok(s.read(|c| repo::ratings(c, &[sku]))?)).await?;
    r.pop().map(|r| ok(RatingView::from(r))).ok_or_else(|| ApiError::internal("no rating"))
}
