//! `/api/v1/orders`: record an order (idempotent on the shop's order id), read one with its
//! returns, and record a return or refund (idempotent on the shop's return id).

use super::shared::{created, ok, Body, Money, PathParam, Timestamp};
use crate::auth::{Caller, Manager};
use crate::batcher::OrderFrom;
use crate::error::Problem;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_core::Role;
use enishi_ingest::intake;
use enishi_store::repo::orders;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The order routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_order))
        .routes(routes!(get_order))
        .routes(routes!(create_return))
        .routes(routes!(exclude_from_analytics, include_in_analytics))
}

// A line of an order, as stored.
#[derive(Serialize, ToSchema)]
#[schema(as = OrderLine)]
struct OrderLineView {
    sku: String,
    /// Absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    product_name: Option<String>,
    /// Absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    category: Option<String>,
    #[schema(maximum = 1000000000)]
    quantity: i64,
    unit_price: Money,
    amount: Money,
}

// An order as answered (the store's row, typed for the API).
#[derive(Serialize, ToSchema)]
#[schema(as = Order)]
pub(crate) struct OrderView {
    /// Enishi's id.
    id: i64,
    /// The shop's order id.
    order_id: String,
    /// Enishi customer id.
    customer_id: i64,
    /// The shop's customer id.
    customer_external_id: String,
    placed_at: Timestamp,
    #[schema(value_type = super::shared::ChannelName)]
    channel: enishi_core::Channel,
    #[schema(pattern = r"^[A-Za-z]{3}$", examples("USD"))]
    currency: String,
    total: Money,
    /// `completed`, `cancelled`, …
    status: String,
    lines: Vec<OrderLineView>,
    /// Sum of the order's returns and refunds.
    returned_amount: Money,
}

impl From<enishi_store::Order> for OrderView {
    fn from(o: enishi_store::Order) -> Self {
        OrderView {
            id: o.id,
            order_id: o.order_id,
            customer_id: o.customer_id,
            customer_external_id: o.customer_external_id,
            placed_at: Timestamp(o.placed_at),
            channel: o.channel,
            currency: o.currency,
            total: Money(o.total),
            status: o.status,
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLineView {
                    sku: l.sku,
                    product_name: l.product_name,
                    category: l.category,
                    quantity: l.quantity,
                    unit_price: Money(l.unit_price),
                    amount: Money(l.amount),
                })
                .collect(),
            returned_amount: Money(o.returned_amount),
        }
    }
}

// A line of a return.
#[derive(Serialize, ToSchema)]
#[schema(as = ReturnLine)]
struct ReturnLineView {
    sku: String,
    #[schema(maximum = 1000000000)]
    quantity: i64,
    /// Price per unit refunded (the order line's amount shared per unit).
    unit_price: Money,
    amount: Money,
}

// A return or refund as answered.
#[derive(Serialize, ToSchema)]
#[schema(as = Return)]
struct ReturnView {
    /// Enishi's id.
    id: i64,
    /// The shop's return id.
    return_id: String,
    /// The shop's id of the original order, when known.
    #[schema(required = true)]
    order_id: Option<String>,
    customer_id: i64,
    customer_external_id: String,
    returned_at: Timestamp,
    /// Amount refunded.
    amount: Money,
    #[schema(required = true)]
    reason: Option<String>,
    /// Empty for a refund without goods.
    lines: Vec<ReturnLineView>,
}

impl From<enishi_store::Return> for ReturnView {
    fn from(r: enishi_store::Return) -> Self {
        ReturnView {
            id: r.id,
            return_id: r.return_id,
            order_id: r.order_id,
            customer_id: r.customer_id,
            customer_external_id: r.customer_external_id,
            returned_at: Timestamp(r.returned_at),
            amount: Money(r.amount),
            reason: r.reason,
            lines: r
                .lines
                .into_iter()
                .map(|l| ReturnLineView {
                    sku: l.sku,
                    quantity: l.quantity,
                    unit_price: Money(l.unit_price),
                    amount: Money(l.amount),
                })
                .collect(),
        }
    }
}

// An order with its returns.
#[derive(Serialize, ToSchema)]
struct OrderWithReturns {
    #[serde(flatten)]
    order: OrderView,
    returns: Vec<ReturnView>,
}

// How the points of an order add up: one part.
#[derive(Serialize, ToSchema)]
struct BreakdownLine {
    /// base, rule, tier, membership, promotion, order_cap, day_cap.
    source: String,
    /// The rule's, tier's or promotion's name.
    name: String,
    points: i64,
}

// A stamp an order gave.
#[derive(Serialize, ToSchema)]
struct StampLine {
    /// Card id.
    card: String,
    /// Card name.
    name: String,
    /// Stamps on the card now.
    stamps: i64,
    /// Stamps that complete it.
    of: i64,
    /// Whether this stamp completed it.
    completed: bool,
}

// A tier change.
#[derive(Serialize, ToSchema)]
struct TierMove {
    /// Tier before (null: the customer's first).
    #[schema(required = true)]
    from: Option<String>,
    /// Tier after.
    to: String,
}

// What an order did in the loyalty programme.
#[derive(Serialize, ToSchema)]
struct OrderLoyalty {
    /// Programme version it earned under.
    program_version: i64,
    /// Points earned by the purchase.
    points_earned: i64,
    /// How they add up.
    breakdown: Vec<BreakdownLine>,
    /// When the points become usable (they are pending until then).
    available_at: Timestamp,
    /// Stamps given.
    stamps: Vec<StampLine>,
    /// The tier change, when the order moved the customer up (or into the first level).
    #[schema(required = true)]
    tier_change: Option<TierMove>,
    /// Coupons unlocked (stamp cards completed).
    rewards_unlocked: Vec<String>,
    /// Referral points given because of this order (to the customer and to their referrer).
    referral_points: i64,
    /// The customer's balance afterwards.
    balance: i64,
}

impl From<enishi_rewards::OrderLoyalty> for OrderLoyalty {
    fn from(l: enishi_rewards::OrderLoyalty) -> Self {
        OrderLoyalty {
            program_version: l.program_version,
            points_earned: l.points_earned,
            breakdown: l
                .breakdown
                .into_iter()
                .map(|b| BreakdownLine { source: b.source, name: b.name, points: b.points })
                .collect(),
            available_at: Timestamp(l.available_at),
            stamps: l
                .stamps
                .into_iter()
                .map(|s| StampLine { card: s.card, name: s.name, stamps: s.stamps, of: s.of, completed: s.completed })
                .collect(),
            tier_change: l.tier_change.map(|t| TierMove { from: t.from, to: t.to }),
            rewards_unlocked: l.rewards_unlocked,
            referral_points: l.referral_points,
            balance: l.balance,
        }
    }
}

// An order recorded, with what it did in the loyalty programme.
#[derive(Serialize, ToSchema)]
struct OrderRecorded {
    #[serde(flatten)]
    order: OrderView,
    /// Points, stamps, tier change and balance; null when no programme was in force.
    #[schema(required = true)]
    loyalty: Option<OrderLoyalty>,
}

// What a return did in the loyalty programme.
#[derive(Serialize, ToSchema)]
struct ReturnLoyalty {
    /// Points taken back for the refunded amount.
    points_reversed: i64,
}

// A return recorded, with the points it took back.
#[derive(Serialize, ToSchema)]
struct ReturnRecorded {
    #[serde(flatten)]
    ret: ReturnView,
    loyalty: ReturnLoyalty,
}

/// The customer an order is for. Created when unknown; `email`, `name` and `phone` are stored when given.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomerRef {
    /// The shop's customer id (1 to 128 characters).
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    external_id: String,
    /// Email address.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    email: Option<String>,
    /// Full name.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    name: Option<String>,
    /// Phone number.
    #[serde(default)]
    #[schema(pattern = r"^\+?[ ()\-.]*([0-9][ ()\-.]*){5,20}$")]
    phone: Option<String>,
    /// Another customer's referral code: a new customer is attributed to them.
    #[serde(default)]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    referral_code: Option<String>,
}

/// An order line as sent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LineInput {
    /// Product SKU (1 to 128 characters); unknown products are added to the catalogue.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    sku: String,
    /// Units, at least 1 (returns go to `/orders/{order_id}/returns`).
    #[schema(minimum = 1, maximum = 1000000000)]
    quantity: i64,
    /// Price per unit as a decimal string (see `AmountInput`); not negative.
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
    unit_price: String,
    /// Line amount; defaults to quantity × unit price. Not negative.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
    amount: Option<String>,
    /// Product category.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    category: Option<String>,
    /// Product name.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    product_name: Option<String>,
}

/// An order. Idempotent on `order_id`: sending an order whose `order_id` is stored answers 200 with the stored order and writes nothing.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OrderInput)]
struct OrderBody {
    /// The shop's order id (1 to 128 characters): the idempotency key.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    order_id: String,
    /// When it was placed (see `TimestampInput`); at most one day in the future.
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    placed_at: String,
    /// ISO 4217 code; defaults to the workspace's currency.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z]{3}$")]
    currency: Option<String>,
    /// Total paid as a decimal string; defaults to the sum of the line amounts (it may differ: discounts, shipping). Not negative.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
    total: Option<String>,
    /// A `Channel` value; defaults to `other`.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    channel: Option<String>,
    /// Defaults to `completed`.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    status: Option<String>,
    customer: CustomerRef,
    #[schema(min_items = 1)]
    lines: Vec<LineInput>,
}

impl From<OrderBody> for intake::OrderInput {
    fn from(b: OrderBody) -> Self {
        let c = b.customer;
        intake::OrderInput {
            order_id: b.order_id,
            placed_at: b.placed_at,
            currency: b.currency,
            total: b.total,
            channel: b.channel,
            status: b.status,
            customer: intake::CustomerRef {
                external_id: c.external_id,
                email: c.email,
                name: c.name,
                phone: c.phone,
                referral_code: c.referral_code,
            },
            lines: b
                .lines
                .into_iter()
                .map(|l| intake::LineInput {
                    sku: l.sku,
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    amount: l.amount,
                    category: l.category,
                    product_name: l.product_name,
                })
                .collect(),
        }
    }
}

/// Returned units of one SKU.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReturnLineInput {
    /// A SKU of the order.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    sku: String,
    /// Units returned; at most the units of the SKU not yet returned.
    #[schema(minimum = 1, maximum = 1000000000)]
    quantity: i64,
}

/// A return or refund of the order. Give `lines` for a partial return, `amount` for a refund without goods, or neither for a full return of everything not yet returned (refunding what is left of the total). `lines` and `amount` together are refused. Idempotent on `return_id`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReturnInput)]
struct ReturnBody {
    /// The shop's return id (1 to 128 characters): the idempotency key.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    return_id: String,
    /// When (see `TimestampInput`); defaults to now; not before the order was placed.
    #[serde(default)]
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    returned_at: Option<String>,
    /// Why.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    reason: Option<String>,
    /// Returned units per SKU; defaults to none.
    #[serde(default)]
    lines: Vec<ReturnLineInput>,
    /// A refund without goods (a price adjustment) as a decimal string: more than 0 and at most the order's unrefunded total. Only without `lines`.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
    amount: Option<String>,
}

impl From<ReturnBody> for intake::ReturnInput {
    fn from(b: ReturnBody) -> Self {
        intake::ReturnInput {
            return_id: b.return_id,
            returned_at: b.returned_at,
            reason: b.reason,
            lines: b.lines.into_iter().map(|l| intake::ReturnLineInput { sku: l.sku, quantity: l.quantity }).collect(),
            amount: b.amount,
            by: None,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/orders", operation_id = "createOrder", tag = "orders",
    summary = "Record an order",
    description = "Records an order, creating its customer when the `external_id` is unknown (and storing the `email`, `name` and `phone` given) and adding unknown SKUs to the catalogue. Idempotent on `order_id`: the first call answers 201; a call with an `order_id` already stored answers 200 with the stored order and writes nothing (the rest of the body is checked but not compared with the stored order).\n\nRoles: admin, marketer, staff.\n\nThe answer carries `loyalty`: points earned with a per-rule `breakdown`, when they become usable, stamps, a tier change, coupons unlocked and the balance (null when no programme was in force). A replay answers the same.\n\nStaff tokens may record orders up to the staff order limit (the `staff_order_limit` setting; by default 100,000 in a currency without subunits such as JPY, 1,000 in others); a larger order is refused with 403 `confirmation_required` and must be recorded by a manager.",
    request_body(content((OrderBody = "application/json", examples(("order" = (summary = "An in-store order", value = json!(
        {"order_id": "A-1001", "placed_at": "2026-11-20T18:05:00+09:00", "currency": "USD", "total": "57.40", "channel": "in_store",
         "customer": {"external_id": "C-1", "email": "hana@example.com", "name": "Hana Sato"},
         "lines": [{"sku": "BEANS-1", "quantity": 2, "unit_price": "28.70", "category": "coffee"}]}
    ))))))),
    responses(
        (status = 200, description = "Replay: an order with this `order_id` was already stored; it is returned unchanged.", body = OrderRecorded),
        (status = 201, description = "The order was recorded.", body = OrderRecorded),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, description = "`forbidden`, or `confirmation_required`: a staff token sent an order above the staff order limit.",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn create_order(
    caller: Caller,
    State(state): State<AppState>,
    Body(body): Body<OrderBody>,
) -> Result<Response, ApiError> {
    let input = intake::OrderInput::from(body);
    // Check before taking the write lock, so that bad input costs no database time.
    let (checked, _) = intake::check_order(&input, state.workspace(), state.now())?;
    // Staff orders above the staff order limit are refused by the writer, which reads the
    // limit in the batch's own transaction.
    let from = if caller.role == Role::Staff { OrderFrom::Staff { total: checked.total } } else { OrderFrom::Manager };
    let (order, new, loyalty) = state.orders.record(input, from).await?;
    let body = OrderRecorded { order: OrderView::from(order), loyalty: loyalty.map(OrderLoyalty::from) };
    Ok(if new { created(body) } else { ok(body) })
}

#[utoipa::path(get, path = "/api/v1/orders/{order_id}", operation_id = "getOrder", tag = "orders",
    summary = "Get an order",
    description = "One order by the shop's order id, with its lines and its returns.\n\nRoles: admin, marketer, staff.",
    params(("order_id" = String, Path, description = "The shop's order id (URL-encoded).",
        pattern = r"^[^\u0000-\u001F]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "The order with its returns.", body = OrderWithReturns),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_order(
    _: Caller,
    State(state): State<AppState>,
    PathParam(order_id): PathParam<String>,
) -> Result<Response, ApiError> {
    let found = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, enishi_store::StoreError> {
                let Some(o) = orders::get_by_ref(c, &order_id)? else { return Ok(None) };
                let returns = orders::returns_of(c, o.id)?;
                Ok(Some((o, returns)))
            })?)
        })
        .await?;
    let (order, returns) = found.ok_or_else(|| ApiError::not_found("no such order"))?;
    let returns = returns.into_iter().map(ReturnView::from).collect();
    Ok(ok(OrderWithReturns { order: OrderView::from(order), returns }))
}

#[utoipa::path(post, path = "/api/v1/orders/{order_id}/returns", operation_id = "createReturn", tag = "orders",
    summary = "Record a return or refund",
    description = "Records a return of the order: with `lines`, those units (priced as on the order line); with `amount`, a refund without goods; with neither, a full return of everything not yet returned, refunding what is left of the order's total. Idempotent on `return_id`: the first call answers 201, a call with a `return_id` already stored answers 200 with the stored return and writes nothing. An unknown order is 404 `unknown_order`.\n\nRoles: admin, marketer, staff.",
    params(("order_id" = String, Path, description = "The shop's order id (URL-encoded).",
        pattern = r"^[^\u0000-\u001F]*$", min_length = 1, max_length = 128)),
    request_body(content((ReturnBody = "application/json", examples(
        ("full" = (summary = "Full return", value = json!({"return_id": "R-1", "reason": "changed mind"}))),
        ("partial" = (summary = "Partial return by lines", value = json!(
            {"return_id": "R-2", "returned_at": "2026-11-21 11:00", "lines": [{"sku": "BEANS-1", "quantity": 1}], "reason": "damaged bag"}))),
        ("refund" = (summary = "Refund without goods", value = json!({"return_id": "R-3", "amount": "5.00", "reason": "late delivery"}))),
    )))),
    responses(
        (status = 200, description = "Replay: a return with this `return_id` was already stored; it is returned unchanged.", body = ReturnRecorded),
        (status = 201, description = "The return was recorded.", body = ReturnRecorded),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "`unknown_order`: no order with this `order_id`.",
            body = Problem, content_type = "application/problem+json",
            example = json!({"type": "https://enishi.dev/problems/unknown_order", "title": "Not Found", "status": 404,
                "code": "unknown_order", "detail": "no order with id A-9999"})),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn create_return(
    caller: Caller,
    State(state): State<AppState>,
    PathParam(order_id): PathParam<String>,
    Body(body): Body<ReturnBody>,
) -> Result<Response, ApiError> {
    let input = intake::ReturnInput { by: Some(caller.actor.clone()), ..intake::ReturnInput::from(body) };
    let ws = state.workspace();
    let (r, new, points) = state
        .run(move |s| {
            s.write(|c| {
                let (r, new, points) = intake::record_return(c, &order_id, &input, ws)?;
                if new {
                    let subject = format!("customer:{}", r.customer_id);
                    let after = json!({"order_id": order_id, "return_id": r.return_id, "amount": r.amount, "points_reversed": points});
                    crate::audit::record(c, &caller.actor, "orders.refund", &subject, Some(after))?;
                }
                Ok::<_, ApiError>((r, new, points))
            })
        })
        .await?;
    let body = ReturnRecorded { ret: ReturnView::from(r), loyalty: ReturnLoyalty { points_reversed: points } };
    Ok(if new { created(body) } else { ok(body) })
}

// Whether an order counts in the analytics.
#[derive(Serialize, ToSchema)]
struct AnalyticsExclusion {
    order_id: String,
    /// True: the reports, charts, Gini and KPIs leave the order out (its points and the order
    /// itself are unchanged).
    excluded_from_analytics: bool,
    /// False when the order already was so (nothing was written).
    changed: bool,
}

/// Excludes (`exclude`) the order with the shop's id `order_id` from the analytics, or counts
/// it again, for `caller`.
async fn set_exclusion(state: AppState, caller: Caller, order_id: String, exclude: bool) -> Result<Response, ApiError> {
    let found = state
        .run(move |s| {
            Ok(s.write(|c| -> Result<_, enishi_store::StoreError> {
                let Some(o) = orders::get_by_ref(c, &order_id)? else { return Ok(None) };
                let changed = crate::console::dashboard::set_excluded(c, &o, exclude, &caller.actor, &caller.actor)?;
                Ok(Some((o.order_id, changed)))
            })?)
        })
        .await?;
    let (order_id, changed) = found.ok_or_else(|| ApiError::not_found("no such order"))?;
    Ok(ok(AnalyticsExclusion { order_id, excluded_from_analytics: exclude, changed }))
}

#[utoipa::path(put, path = "/api/v1/orders/{order_id}/analytics-exclusion", operation_id = "excludeOrderFromAnalytics", tag = "orders",
    summary = "Exclude an order from the analytics",
    description = "Leaves the order out of every analysis: revenue, Gini and Lorenz curve, KPIs, RFM, loyal classes, CLV and the dashboard's charts (for an outlier such as a one-off wholesale order). The order, its points and the customer's stats are unchanged. Idempotent; recorded in the audit log as `orders.analytics_exclusion`.\n\nRoles: admin, marketer.",
    params(("order_id" = String, Path, description = "The shop's order id (URL-encoded).",
        pattern = r"^[^\u0000-\u001F]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "The order is excluded.", body = AnalyticsExclusion),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn exclude_from_analytics(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(order_id): PathParam<String>,
) -> Result<Response, ApiError> {
    set_exclusion(state, caller, order_id, true).await
}

#[utoipa::path(delete, path = "/api/v1/orders/{order_id}/analytics-exclusion", operation_id = "includeOrderInAnalytics", tag = "orders",
    summary = "Count an excluded order in the analytics again",
    description = "Undoes `excludeOrderFromAnalytics`. Idempotent; recorded in the audit log as `orders.analytics_exclusion`.\n\nRoles: admin, marketer.",
    params(("order_id" = String, Path, description = "The shop's order id (URL-encoded).",
        pattern = r"^[^\u0000-\u001F]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "The order counts again.", body = AnalyticsExclusion),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn include_in_analytics(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(order_id): PathParam<String>,
) -> Result<Response, ApiError> {
    set_exclusion(state, caller, order_id, false).await
}
