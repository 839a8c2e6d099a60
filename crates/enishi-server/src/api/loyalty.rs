//! The loyalty API: the programme, a customer's loyalty, redemptions, coupons, adjustments,
//! tier overrides, memberships, the jobs and the ledger audit.

use super::shared::{
    bounded, created, existing, ok, Body, Id, JsonText, Money, PageQuery, PathParam, QueryParams, Timestamp,
};
use crate::auth::{Caller, Manager};
use crate::error::Problem;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use enishi_rewards::{Adjustment, LoyaltyError, MembershipAction};
use enishi_store::repo::loyalty;
use enishi_store::{instant, JsonMap};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The loyalty routes, each registered with its documentation.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_program, put_program))
        .routes(routes!(run_jobs))
        .routes(routes!(verify))
        .routes(routes!(report))
        .routes(routes!(issue_offer))
        .routes(routes!(suggestions))
        .routes(routes!(loyal_suggestion))
        .routes(routes!(summary))
        .routes(routes!(ledger))
        .routes(routes!(redeem))
        .routes(routes!(adjust))
        .routes(routes!(reverse_adjustment))
        .routes(routes!(set_tier))
        .routes(routes!(membership))
        .routes(routes!(use_coupon))
}

/// An instant stored as Unix seconds, as answered.
fn at(secs: i64) -> Timestamp {
    Timestamp(instant(secs))
}

// One version of the programme.
#[derive(Serialize, ToSchema)]
struct ProgramVersion {
    version: i64,
    /// Orders placed from then on earn under it.
    effective_from: Timestamp,
    applied_at: Timestamp,
    /// Who applied it.
    applied_by: String,
}

// The programme in force and the history of versions.
#[derive(Serialize, ToSchema)]
struct ProgramView {
    /// The newest version.
    version: i64,
    /// The newest version's document (see `ProgramDocument`).
    #[schema(value_type = Object)]
    document: Value,
    /// Every version, oldest first.
    versions: Vec<ProgramVersion>,
}

// A programme version applied.
#[derive(Serialize, ToSchema)]
struct ProgramApplied {
    version: i64,
    /// The document as normalised and stored.
    #[schema(value_type = Object)]
    document: Value,
}

// Documentation only, hence `dead_code` allowed: the body is read as text by
// `enishi_rewards::apply_program`, whose parser names the path at fault (`rules[2].multiplier`).
/// A loyalty programme document; see docs/loyalty.md for every field.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
struct ProgramDocument {
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    name: String,
    /// When orders start earning under it (see `TimestampInput`); default now.
    #[schema(nullable = false, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    effective_from: Option<String>,
    #[schema(value_type = Object)]
    earning: JsonMap,
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    rules: Option<Vec<JsonMap>>,
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    promotions: Option<Vec<JsonMap>>,
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    stamp_cards: Option<Vec<JsonMap>>,
    #[schema(nullable = false, value_type = Option<Object>)]
    tiers: Option<JsonMap>,
    #[schema(nullable = false, value_type = Option<Object>)]
    expiry: Option<JsonMap>,
    #[schema(nullable = false)]
    pending_days: Option<i64>,
    #[schema(nullable = false, value_type = Option<Object>)]
    referrals: Option<JsonMap>,
    #[schema(nullable = false, value_type = Option<Object>)]
    birthday: Option<JsonMap>,
    /// The join page's welcome perk: `points` and/or `reward` (docs/join.md).
    #[schema(nullable = false, value_type = Option<Object>)]
    join: Option<JsonMap>,
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    rewards: Option<Vec<JsonMap>>,
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    memberships: Option<Vec<JsonMap>>,
}

// What one run of the jobs did.
#[derive(Serialize, ToSchema)]
struct JobReport {
    /// Lots expired.
    lots_expired: usize,
    /// Points expired.
    points_expired: i64,
    /// Birthday rewards given.
    birthday_rewards: usize,
    /// Tier downgrades (and late upgrades) by review.
    tier_changes: usize,
    /// Promotions announced.
    promotions_announced: usize,
    /// Memberships expired.
    memberships_expired: u64,
}

impl From<enishi_rewards::JobReport> for JobReport {
    fn from(r: enishi_rewards::JobReport) -> Self {
        JobReport {
            lots_expired: r.lots_expired,
            points_expired: r.points_expired,
            birthday_rewards: r.birthday_rewards,
            tier_changes: r.tier_changes,
            promotions_announced: r.promotions_announced,
            memberships_expired: r.memberships_expired,
        }
    }
}

// A customer whose stored balance does not match the ledger.
#[derive(Serialize, ToSchema)]
struct Mismatch {
    customer_id: i64,
    /// Balance stored on the account.
    stored: i64,
    /// Sum of the ledger.
    #[schema(value_type = i64)]
    ledger: i128,
    /// Points left in lots.
    #[schema(value_type = i64)]
    lots: i128,
}

// The ledger audit.
#[derive(Serialize, ToSchema)]
struct Verified {
    /// Customers checked.
    customers_checked: usize,
    /// Customers whose balance does not match; empty when the books balance.
    mismatches: Vec<Mismatch>,
}

// A coupon.
#[derive(Serialize, ToSchema)]
struct Coupon {
    id: i64,
    /// Unique code (XXXX-XXXX-XXXX).
    code: String,
    /// Holder.
    customer_id: i64,
    /// Catalogue entry.
    reward_id: String,
    /// `redemption`, `stamp_card`, `birthday`, `referral` or `join`.
    source: String,
    /// What issued it.
    #[schema(required = true)]
    source_ref: Option<String>,
    issued_at: Timestamp,
    valid_until: Timestamp,
    /// Uses allowed.
    max_uses: i64,
    /// Uses so far.
    uses: i64,
    /// The product it applies to, when a personal offer chose one for the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    sku: Option<String>,
}

impl From<loyalty::Coupon> for Coupon {
    fn from(c: loyalty::Coupon) -> Self {
        Coupon {
            id: c.id,
            code: c.code,
            customer_id: c.customer_id,
            reward_id: c.reward_id,
            source: c.source,
            source_ref: c.source_ref,
            issued_at: at(c.issued_at),
            valid_until: at(c.valid_until),
            max_uses: c.max_uses,
            uses: c.uses,
            sku: c.sku,
        }
    }
}

// A paid membership.
#[derive(Serialize, ToSchema)]
struct Membership {
    id: i64,
    /// Member.
    customer_id: i64,
    /// Plan.
    plan_id: String,
    /// `active`, `cancelled` (runs to the end of the paid period) or `expired`.
    status: String,
    started_at: Timestamp,
    /// End of the paid period.
    period_end: Timestamp,
    #[schema(required = true)]
    cancelled_at: Option<Timestamp>,
}

impl From<loyalty::Membership> for Membership {
    fn from(m: loyalty::Membership) -> Self {
        Membership {
            id: m.id,
            customer_id: m.customer_id,
            plan_id: m.plan_id,
            status: m.status,
            started_at: at(m.started_at),
            period_end: at(m.period_end),
            cancelled_at: m.cancelled_at.map(at),
        }
    }
}

// A redemption's outcome.
#[derive(Serialize, ToSchema)]
struct Redemption {
    /// The coupon issued.
    coupon: Coupon,
    /// Points spent.
    points: i64,
    /// Balance afterwards.
    balance: i64,
}

// A balance after an adjustment.
#[derive(Serialize, ToSchema)]
struct Balance {
    /// Posted points afterwards; negative is a debt.
    balance: i64,
}

// A tier override set.
#[derive(Serialize, ToSchema)]
struct TierSet {
    customer_id: i64,
    /// The tier id.
    tier: String,
    /// Until when reviews leave it; null: until changed.
    #[schema(required = true)]
    locked_until: Option<Timestamp>,
}

// A ledger entry.
#[derive(Serialize, ToSchema)]
struct LedgerEntry {
    id: i64,
    customer_id: i64,
    /// `earn`, `bonus`, `redeem`, `expire`, `adjust` or `reverse`.
    kind: String,
    /// Signed points.
    points: i64,
    /// What posted it (`order`, `return`, `redemption`, …).
    source: String,
    /// The order, return or other record it came from.
    #[schema(required = true)]
    source_ref: Option<String>,
    /// Programme version it was computed under.
    #[schema(required = true)]
    program_version: Option<i64>,
    idempotency_key: String,
    #[schema(required = true)]
    reason: Option<String>,
    /// Detail as JSON text (an order's per-rule breakdown).
    detail: String,
    occurred_at: Timestamp,
    /// Usable from (pending until then).
    available_at: Timestamp,
    #[schema(required = true)]
    expires_at: Option<Timestamp>,
}

impl From<loyalty::Entry> for LedgerEntry {
    fn from(e: loyalty::Entry) -> Self {
        LedgerEntry {
            id: e.id,
            customer_id: e.customer_id,
            kind: e.kind,
            points: e.points,
            source: e.source,
            source_ref: e.source_ref,
            program_version: e.program_version,
            idempotency_key: e.idempotency_key,
            reason: e.reason,
            detail: e.detail,
            occurred_at: at(e.occurred_at),
            available_at: at(e.available_at),
            expires_at: e.expires_at.map(at),
        }
    }
}

// A page of ledger entries.
#[derive(Serialize, ToSchema)]
struct LedgerPage {
    /// Newest first.
    entries: Vec<LedgerEntry>,
    limit: i64,
    offset: i64,
}

// Points that expire on one day.
#[derive(Serialize, ToSchema)]
struct Expiring {
    /// Business date.
    #[schema(value_type = String, format = Date)]
    date: chrono::NaiveDate,
    points: i64,
}

// The next tier up.
#[derive(Serialize, ToSchema)]
struct NextTier {
    id: String,
    name: String,
    /// Its threshold (spend as a decimal string, or points).
    threshold: String,
    /// What is missing to reach it.
    missing: String,
}

// The customer's tier and what the next one needs.
#[derive(Serialize, ToSchema)]
struct TierStatus {
    /// Tier id.
    id: String,
    name: String,
    #[schema(required = true)]
    since: Option<Timestamp>,
    perks: Vec<String>,
    /// Basis counted in the current window (spend as a decimal string, or points).
    progress: String,
    /// Null at the top tier.
    #[schema(required = true)]
    next: Option<NextTier>,
}

// One stamp card's progress.
#[derive(Serialize, ToSchema)]
struct CardProgress {
    /// Card id.
    id: String,
    name: String,
    /// Stamps so far.
    stamps: i64,
    /// Stamps that complete it.
    of: i64,
}

// Everything about a customer's loyalty.
#[derive(Serialize, ToSchema)]
pub(crate) struct LoyaltySummary {
    customer_id: i64,
    /// Posted points (pending included); negative is a debt.
    balance: i64,
    /// Points usable now.
    available: i64,
    /// Points pending until their return window closes.
    pending: i64,
    /// Points owed (blocks redemption).
    debt: i64,
    /// Points expiring within the next 60 days, by date.
    expiring_soon: Vec<Expiring>,
    /// Null without tiers.
    #[schema(required = true)]
    tier: Option<TierStatus>,
    stamp_cards: Vec<CardProgress>,
    /// The paid membership, if any.
    #[schema(required = true)]
    membership: Option<Membership>,
    referral_code: String,
    /// Customers this one referred.
    referrals: i64,
    /// Coupons, newest first.
    coupons: Vec<Coupon>,
}

impl From<enishi_rewards::LoyaltySummary> for LoyaltySummary {
    fn from(s: enishi_rewards::LoyaltySummary) -> Self {
        LoyaltySummary {
            customer_id: s.customer_id,
            balance: s.balance,
            available: s.available,
            pending: s.pending,
            debt: s.debt,
            expiring_soon: s.expiring_soon.into_iter().map(|e| Expiring { date: e.date, points: e.points }).collect(),
            tier: s.tier.map(|t| TierStatus {
                id: t.id,
                name: t.name,
                since: t.since.map(Timestamp),
                perks: t.perks,
                progress: t.progress,
                next: t.next.map(|n| NextTier { id: n.id, name: n.name, threshold: n.threshold, missing: n.missing }),
            }),
            stamp_cards: s
                .stamp_cards
                .into_iter()
                .map(|c| CardProgress { id: c.id, name: c.name, stamps: c.stamps, of: c.of })
                .collect(),
            membership: s.membership.map(Membership::from),
            referral_code: s.referral_code,
            referrals: s.referrals,
            coupons: s.coupons.into_iter().map(Coupon::from).collect(),
        }
    }
}

// Orders in a time window.
#[derive(Serialize, ToSchema)]
struct Window {
    /// First instant.
    from: Timestamp,
    /// First instant after it.
    to: Timestamp,
    /// Customers who ordered.
    customers: i64,
    orders: i64,
    spend: Money,
    /// Points earned by those orders (net of returns).
    points: i64,
}

/// A [`Window`] of the report (whose type `enishi_rewards` does not name).
macro_rules! window {
    ($w:expr) => {{
        let w = $w;
        Window {
            from: Timestamp(w.from),
            to: Timestamp(w.to),
            customers: w.customers,
            orders: w.orders,
            spend: Money(w.spend),
            points: w.points,
        }
    }};
}

// A recurring promotion's weekly schedule, in the business time zone.
#[derive(Serialize, ToSchema)]
struct PromotionRepeat {
    /// The weekdays its occurrences start on: `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`.
    weekdays: Vec<String>,
    /// Local start time, `HH:MM` (inclusive).
    from: String,
    /// Local end time, `HH:MM` (exclusive; at or before `from`: the next day).
    until: String,
}

// The mean of the same weekday and hours in weeks without an occurrence.
#[derive(Serialize, ToSchema)]
struct OccurrenceBaseline {
    /// Where each compared window starts, newest first.
    weeks: Vec<Timestamp>,
    /// Mean customers who ordered.
    customers: f64,
    /// Mean orders.
    orders: f64,
    /// Mean spend.
    spend: Money,
    /// Mean points earned by those orders (net of returns).
    points: f64,
}

// One occurrence of a recurring promotion against weeks without one.
#[derive(Serialize, ToSchema)]
struct PromotionOccurrence {
    /// The occurrence and the orders in it.
    during: Window,
    /// Customers who got the promotion's points in it.
    participants: i64,
    /// Points the promotion gave in it.
    points_given: i64,
    /// The same weekday and hours in up to four earlier weeks without an occurrence (null: no
    /// such week in the shop's history).
    #[schema(required = true)]
    baseline: Option<OccurrenceBaseline>,
    /// Change in orders against the baseline's mean, in percent.
    #[schema(required = true)]
    orders_change_percent: Option<f64>,
    /// Change in spend against the baseline's mean, in percent.
    #[schema(required = true)]
    spend_change_percent: Option<f64>,
}

// A promotion against a comparable period before it.
#[derive(Serialize, ToSchema)]
struct PromotionReport {
    id: String,
    name: String,
    /// A recurring promotion's schedule (null: a one-off promotion).
    #[schema(required = true)]
    repeat: Option<PromotionRepeat>,
    /// Customers who got its points.
    participants: i64,
    /// Points it gave.
    points_given: i64,
    /// Its budget, if any.
    #[schema(required = true)]
    budget_points: Option<i64>,
    /// Share of the budget used, in percent.
    #[schema(required = true)]
    budget_used_percent: Option<f64>,
    /// A one-off promotion's window (null for a recurring one: see `occurrences`).
    #[schema(required = true)]
    during: Option<Window>,
    /// The same weekdays and hours, whole weeks before (null for a recurring promotion).
    #[schema(required = true)]
    before: Option<Window>,
    /// Change in spend against `before`, in percent (null when `before` had none).
    #[schema(required = true)]
    spend_change_percent: Option<f64>,
    /// A recurring promotion's occurrences so far, newest first (at most 12; empty for a
    /// one-off promotion).
    occurrences: Vec<PromotionOccurrence>,
}

// A stamp card's results.
#[derive(Serialize, ToSchema)]
struct StampCardReport {
    id: String,
    name: String,
    /// Stamps that complete it.
    stamps: i64,
    /// Customers holding at least one stamp now.
    holders: i64,
    /// Cards completed (reward coupons issued).
    completed: i64,
    /// Reward coupons used.
    rewards_used: i64,
}

// A membership plan's fee revenue.
#[derive(Serialize, ToSchema)]
struct MembershipReport {
    /// Plan id.
    plan: String,
    /// Fee payments.
    payments: i64,
    /// Fee revenue.
    revenue: Money,
    /// Members now (active or cancelled but paid up).
    members: i64,
}

// What worked: the programme's report.
#[derive(Serialize, ToSchema)]
struct ProgramReport {
    /// Version reported on.
    program_version: i64,
    promotions: Vec<PromotionReport>,
    stamp_cards: Vec<StampCardReport>,
    memberships: Vec<MembershipReport>,
}

impl From<enishi_rewards::ProgramReport> for ProgramReport {
    fn from(r: enishi_rewards::ProgramReport) -> Self {
        ProgramReport {
            program_version: r.program_version,
            promotions: r
                .promotions
                .into_iter()
                .map(|p| PromotionReport {
                    id: p.id,
                    name: p.name,
                    repeat: p.repeat.map(|r| PromotionRepeat {
                        weekdays: r
                            .weekdays
                            .iter()
                            .filter_map(|d| serde_json::to_value(d).ok()?.as_str().map(str::to_string))
                            .collect(),
                        from: r.from,
                        until: r.until,
                    }),
                    participants: p.participants,
                    points_given: p.points_given,
                    budget_points: p.budget_points,
                    budget_used_percent: p.budget_used_percent,
                    during: p.during.map(|w| window!(w)),
                    before: p.before.map(|w| window!(w)),
                    spend_change_percent: p.spend_change_percent,
                    occurrences: p
                        .occurrences
                        .into_iter()
                        .map(|o| PromotionOccurrence {
                            during: window!(o.during),
                            participants: o.participants,
                            points_given: o.points_given,
                            baseline: o.baseline.map(|b| OccurrenceBaseline {
                                weeks: b.weeks.into_iter().map(Timestamp).collect(),
                                customers: b.customers,
                                orders: b.orders,
                                spend: Money(b.spend),
                                points: b.points,
                            }),
                            orders_change_percent: o.orders_change_percent,
                            spend_change_percent: o.spend_change_percent,
                        })
                        .collect(),
                })
                .collect(),
            stamp_cards: r
                .stamp_cards
                .into_iter()
                .map(|c| StampCardReport {
                    id: c.id,
                    name: c.name,
                    stamps: c.stamps,
                    holders: c.holders,
                    completed: c.completed,
                    rewards_used: c.rewards_used,
                })
                .collect(),
            memberships: r
                .memberships
                .into_iter()
                .map(|m| MembershipReport {
                    plan: m.plan,
                    payments: m.payments,
                    revenue: Money(m.revenue),
                    members: m.members,
                })
                .collect(),
        }
    }
}

impl From<LoyaltyError> for ApiError {
    fn from(e: LoyaltyError) -> Self {
        let conflict = |code, detail: String| ApiError::new(StatusCode::CONFLICT, code, detail);
        match e {
            LoyaltyError::NoProgram => conflict("no_program", e.to_string()),
            LoyaltyError::Program(p) => ApiError {
                field: Some(p.path.clone()),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_program", p.to_string())
            },
            LoyaltyError::Invalid { field, reason } => ApiError::invalid(field, reason),
            LoyaltyError::InsufficientPoints { .. } => conflict("insufficient_points", e.to_string()),
            LoyaltyError::Debt(_) => conflict("points_debt", e.to_string()),
            LoyaltyError::Limit(m) => conflict("limit_reached", m),
            LoyaltyError::Coupon(m) => conflict("coupon_unusable", m),
            LoyaltyError::NotFound(m) => ApiError::not_found(m),
            LoyaltyError::AlreadyReversed(m) => conflict("already_reversed", m),
            LoyaltyError::Store(s) => s.into(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/loyalty/program", operation_id = "getLoyaltyProgram", tag = "loyalty",
    summary = "The loyalty programme in force",
    description = "The newest programme document, its version and the history of versions. 409 `no_program` before one is applied.\n\nRoles: admin, marketer, staff.",
    responses(
        (status = 200, description = "The programme.", body = ProgramView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`no_program`: none applied yet.", body = Problem, content_type = "application/problem+json"),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_program(_: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    let versions = state.run(|s| Ok(s.read(loyalty::programs)?)).await?;
    let latest = versions.last().ok_or(LoyaltyError::NoProgram)?;
    let document: Value = serde_json::from_str(&latest.document).map_err(ApiError::internal)?;
    let history = versions
        .iter()
        .map(|v| ProgramVersion {
            version: v.version,
            effective_from: at(v.effective_from),
            applied_at: at(v.applied_at),
            applied_by: v.applied_by.clone(),
        })
        .collect();
    Ok(ok(ProgramView { version: latest.version, document, versions: history }))
}

#[utoipa::path(put, path = "/api/v1/loyalty/program", operation_id = "putLoyaltyProgram", tag = "loyalty",
    summary = "Apply a new programme version",
    description = "Validates the document and stores it as a new version. Orders placed from its `effective_from` (default: now) earn under it; earlier orders keep what they earned. A wrong document is 422 `invalid_program` with `field` naming the path (`rules[2].multiplier`).\n\nRoles: admin, marketer.",
    request_body(content((ProgramDocument = "application/json"))),
    responses(
        (status = 201, description = "Applied: the version and the normalised document.", body = ProgramApplied),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_program`: which field and why.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn put_program(
    Manager(caller): Manager,
    State(state): State<AppState>,
    JsonText(body): JsonText,
) -> Result<Response, ApiError> {
    let clock = state.workspace().clock;
    let who = format!("api ({})", caller.role);
    let (version, program) = state
        .run(move |s| {
            s.write(|c| {
                let (version, program) = enishi_rewards::apply_program(c, &body, clock, &who)?;
                let after = json!({"version": version, "name": program.doc.name});
                crate::audit::record(c, &caller.actor, "program.apply", "program", Some(after))?;
                Ok((version, program))
            })
        })
        .await?;
    let document: Value = serde_json::from_str(&program.to_json()).map_err(ApiError::internal)?;
    Ok(created(ProgramApplied { version, document }))
}

#[utoipa::path(post, path = "/api/v1/loyalty/jobs", operation_id = "runLoyaltyJobs", tag = "loyalty",
    summary = "Run the loyalty jobs now",
    description = "Expires due points (oldest lots first), gives birthday rewards, reviews tiers (downgrades after the grace period), announces promotions that started (outbox topic `loyalty.promotion_started`) and expires memberships. Idempotent. No request body.\n\nRoles: admin, marketer.",
    responses(
        (status = 200, description = "What the jobs did.", body = JobReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn run_jobs(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    let report = state.with_programs(true, move |c, programs| Ok(enishi_rewards::run_jobs(c, programs, now)?)).await?;
    Ok(ok(JobReport::from(report)))
}

#[utoipa::path(get, path = "/api/v1/loyalty/verify", operation_id = "verifyLoyalty", tag = "loyalty",
    summary = "Re-derive every balance from the ledger",
    description = "Checks, for every customer, that the stored balance equals the sum of the ledger and that the points left in lots equal it (0 when in debt).\n\nRoles: admin, marketer.",
    responses(
        (status = 200, description = "Customers checked and the mismatches.", body = Verified),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn verify(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let (checked, mismatches) = state.run(|s| Ok(s.read(enishi_rewards::verify)?)).await?;
    let mismatches = mismatches
        .into_iter()
        .map(|m| Mismatch { customer_id: m.customer_id, stored: m.stored, ledger: m.ledger, lots: m.lots })
        .collect();
    Ok(ok(Verified { customers_checked: checked, mismatches }))
}

#[utoipa::path(get, path = "/api/v1/loyalty/report", operation_id = "loyaltyReport", tag = "loyalty",
    summary = "What worked: promotions, stamp cards, memberships",
    description = "Per promotion: participants, points given, budget used, and orders, customers, spend and points in its window against the same weekdays and hours whole weeks before; for a recurring promotion, the same per occurrence (the newest 12) against the mean of the same weekday and hours in up to four earlier weeks without one. Per stamp card: holders, cards completed, rewards used. Per membership plan: payments, fee revenue, members.\n\nRoles: admin, marketer.",
    responses(
        (status = 200, description = "The report.", body = ProgramReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`no_program`: none applied yet.", body = Problem, content_type = "application/problem+json"),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn report(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let r = state.with_programs(false, move |c, programs| Ok(enishi_rewards::report(c, programs)?)).await?;
    Ok(ok(ProgramReport::from(r.ok_or(LoyaltyError::NoProgram)?)))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/loyalty", operation_id = "getCustomerLoyalty", tag = "loyalty",
    summary = "A customer's loyalty",
    description = "Balance, usable and pending points, debt, points expiring in the next 60 days by date, tier with progress to the next, stamp cards, membership, referral code and count, coupons.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    responses(
        (status = 200, description = "The summary.", body = LoyaltySummary),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn summary(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    existing(&state, id).await?;
    let s = state.with_programs(false, move |c, programs| Ok(enishi_rewards::summary(c, programs, id, now)?)).await?;
    Ok(ok(LoyaltySummary::from(s)))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/loyalty/ledger", operation_id = "getCustomerLedger", tag = "loyalty",
    summary = "A customer's ledger entries",
    description = "Entries newest first (earn, bonus, redeem, expire, adjust, reverse) with source, programme version and idempotency key, paged with `limit` and `offset`.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0), PageQuery),
    responses(
        (status = 200, description = "A page of entries.", body = LedgerPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn ledger(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    QueryParams(p): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (limit, offset) = (p.limit()?, p.offset()?);
    existing(&state, id).await?;
    let entries = state
        .with_programs(false, move |c, programs| Ok(enishi_rewards::ledger(c, programs, id, limit, offset)?))
        .await?;
    Ok(ok(LedgerPage { entries: entries.into_iter().map(LedgerEntry::from).collect(), limit, offset }))
}

/// A reward to redeem.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RedemptionInput)]
struct RedeemBody {
    /// The catalogue reward's id.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    reward_id: String,
    /// The same key again answers the first outcome.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 200
    )]
    idempotency_key: String,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/redemptions", operation_id = "redeemReward", tag = "loyalty",
    summary = "Redeem points for a reward",
    description = "Atomic: the account is locked, so concurrent redemptions never spend the same points. Pending points cannot be spent; a customer in debt cannot redeem. Idempotent on `idempotency_key` (201 first, 200 replay).\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((RedeemBody = "application/json", examples(("redeem" = (value = json!({"reward_id": "free-coffee", "idempotency_key": "pos-7-0001"}))))))),
    responses(
        (status = 200, description = "Replay: the first outcome.", body = Redemption),
        (status = 201, description = "Redeemed: the coupon, points spent and balance.", body = Redemption),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`insufficient_points`, `points_debt`, `limit_reached`, `no_program` or `conflict`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn redeem(
    caller: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<RedeemBody>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    existing(&state, id).await?;
    let (r, new) = state
        .with_programs(true, move |c, programs| {
            let (r, new) = enishi_rewards::redeem(c, programs, id, b.reward_id.trim(), &b.idempotency_key, now)?;
            if new {
                let after = json!({"reward_id": b.reward_id.trim(), "points": r.points, "balance": r.balance});
                crate::audit::record(c, &caller.actor, "points.redeem", &format!("customer:{id}"), Some(after))?;
            }
            Ok((r, new))
        })
        .await?;
    let r = Redemption { coupon: Coupon::from(r.coupon), points: r.points, balance: r.balance };
    Ok(if new { created(r) } else { ok(r) })
}

/// Which round of a personal offer to issue.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OfferRound {
    /// Each customer gets the offer once per round (`once` when not given), such as `2026-12`:
    /// 1 to 64 letters, digits, `-`, `_` or `.`.
    #[serde(default)]
    round: Option<String>,
}

/// What issuing a personal offer did.
#[derive(Serialize, ToSchema)]
struct OfferIssued {
    /// The offer's id.
    offer: String,
    /// The round.
    round: String,
    /// Members of its segment today.
    members: usize,
    /// Members given it now.
    issued: usize,
    /// Members who had it in this round already.
    already: usize,
    /// Members with no qualifying product to name (given nothing).
    without_product: usize,
}

#[utoipa::path(post, path = "/api/v1/loyalty/offers/{id}/issue", operation_id = "issueOffer", tag = "loyalty",
    summary = "Give a personal offer to its segment's members",
    description = "Gives the programme's offer `id` to every member of its segment as of today: its coupon (naming the product each customer bought most, when the offer says so) or its bonus points, valid for the offer's days. Each customer gets it once per round; issuing the same round again gives only customers who joined the segment since. No request body.\n\nRoles: admin, marketer.",
    params(("id" = String, Path, description = "The offer's id in the programme."), OfferRound),
    responses(
        (status = 200, description = "How many members got it.", body = OfferIssued),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`no_program`: none applied yet.", body = Problem, content_type = "application/problem+json"),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn issue_offer(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    QueryParams(q): QueryParams<OfferRound>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    let r = state
        .with_programs(true, move |c, programs| {
            let r = enishi_rewards::issue_offer(c, programs, &id, q.round.as_deref(), now)?;
            let after = json!({"round": r.round, "members": r.members, "issued": r.issued});
            crate::audit::record(c, &caller.actor, "offer.issue", &format!("offer:{id}"), Some(after))?;
            Ok(r)
        })
        .await?;
    Ok(ok(OfferIssued {
        offer: r.offer,
        round: r.round,
        members: r.members,
        issued: r.issued,
        already: r.already,
        without_product: r.without_product,
    }))
}

/// What to look for in the shop's quiet hours.
/// Weeks of orders a suggestion may read.
const SUGGESTION_WEEKS: std::ops::RangeInclusive<i64> = 2..=52;

/// Points multipliers a suggested promotion may have.
const SUGGESTION_MULTIPLIERS: std::ops::RangeInclusive<u32> = 2..=10;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SuggestionQuery {
    /// Weeks of orders to read, 2 to 52.
    #[serde(default)]
    #[param(default = 8, minimum = 2, maximum = 52)]
    weeks: Option<i64>,
    /// Hours in a window, 1 to 12.
    #[serde(default)]
    #[param(default = 3, minimum = 1, maximum = 12)]
    hours: Option<u32>,
    /// The drafted promotion's points multiplier, 2 to 10.
    #[serde(default)]
    #[param(default = 2, minimum = 2, maximum = 10)]
    multiplier: Option<u32>,
}

/// A suggested happy hour.
#[derive(Serialize, ToSchema)]
struct SuggestionOut {
    /// The quiet window: `weekday`, `from_hour`, `until_hour`, `orders_per_week`,
    /// `revenue_per_week`, `share_of_day`.
    #[schema(value_type = Object)]
    window: Value,
    /// The recurring promotion drafted for it (docs/loyalty.md).
    #[schema(value_type = Object)]
    promotion: Value,
    /// The programme with it added: PUT it to /api/v1/loyalty/program to apply it.
    #[schema(value_type = Object)]
    draft: Value,
    /// What it would have cost over the weeks read: `orders`, `points_in_force`,
    /// `points_with_draft`, `extra_points`, `since`, `until`.
    #[schema(value_type = Object)]
    cost: Value,
}

#[utoipa::path(get, path = "/api/v1/loyalty/suggestions", operation_id = "loyaltySuggestions", tag = "loyalty",
    summary = "Happy hours suggested from the shop's quiet windows",
    description = "The three quietest windows of the shop's week (by weekday and hour in the business time zone, within the hours it trades), each drafted as a recurring promotion added to the programme in force, with what it would have cost: the period's orders replayed in a fresh temporary database with and without it. Nothing is written.\n\nRoles: admin, marketer.",
    params(SuggestionQuery),
    responses(
        (status = 200, description = "The suggestions, quietest first (empty with too few orders).", body = Vec<SuggestionOut>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn suggestions(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<SuggestionQuery>,
) -> Result<Response, ApiError> {
    let weeks = bounded("weeks", q.weeks, 8, SUGGESTION_WEEKS)?;
    let hours = bounded("hours", q.hours, 3, 1..=12)?;
    let multiplier = bounded("multiplier", q.multiplier, 2, SUGGESTION_MULTIPLIERS)?;
    let (now, w) = (state.now(), state.workspace());
    let found = state
        .run(move |s| {
            enishi_ingest::drafts::suggest_happy_hours(s, w.clock, w.currency, now, weeks, hours, multiplier)
                .map_err(ApiError::internal)
        })
        .await?;
    let out: Result<Vec<SuggestionOut>, serde_json::Error> = found
        .iter()
        .map(|f| {
            Ok(SuggestionOut {
                window: serde_json::to_value(&f.window)?,
                promotion: serde_json::to_value(&f.promotion)?,
                draft: serde_json::to_value(&f.draft)?,
                cost: serde_json::to_value(&f.cost)?,
            })
        })
        .collect();
    Ok(ok(out.map_err(ApiError::internal)?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LoyalSuggestionQuery {
    /// Weeks of orders to replay, 2 to 52.
    #[serde(default)]
    #[param(default = 8, minimum = 2, maximum = 52)]
    weeks: Option<i64>,
    /// The drafted promotion's points multiplier, 2 to 10.
    #[serde(default)]
    #[param(default = 2, minimum = 2, maximum = 10)]
    multiplier: Option<u32>,
}

/// A suggested multiplier for loyal customers.
#[derive(Serialize, ToSchema)]
struct LoyalSuggestionOut {
    /// The saved segment it is limited to: `name`, `description`, `saved`, and `rule` (the
    /// segment language) when it is not saved yet: save it with `POST /api/v1/segments` before
    /// applying the draft.
    #[schema(value_type = Object)]
    segment: Value,
    /// Customers ranked loyal or semi-loyal now.
    members: u64,
    /// The promotion drafted (docs/loyalty.md).
    #[schema(value_type = Object)]
    promotion: Value,
    /// The programme with it added: PUT it to /api/v1/loyalty/program to apply it.
    #[schema(value_type = Object)]
    draft: Value,
    /// What it would have cost over the weeks read, with today's loyal and semi-loyal
    /// customers: `orders`, `points_in_force`, `points_with_draft`, `extra_points`, `since`,
    /// `until`.
    #[schema(value_type = Object)]
    cost: Value,
}

#[utoipa::path(get, path = "/api/v1/loyalty/suggestions/loyal", operation_id = "loyalSuggestion", tag = "loyalty",
    summary = "A multiplier for loyal customers, suggested from the loyal-class ranking",
    description = "The loyal and semi-loyal customers of the last ranking (`enishi analyze`) earning `multiplier` × points all week, as a promotion limited to the segment `Loyal and semi-loyal` (or the shop's own segment of that name), added to the programme in force, with what it would have cost: the period's orders replayed in a fresh temporary database with today's ranking, with and without it. Nothing is written. 404 while nobody is ranked loyal or semi-loyal.\n\nRoles: admin, marketer.",
    params(LoyalSuggestionQuery),
    responses(
        (status = 200, description = "The suggestion.", body = LoyalSuggestionOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn loyal_suggestion(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<LoyalSuggestionQuery>,
) -> Result<Response, ApiError> {
    let weeks = bounded("weeks", q.weeks, 8, SUGGESTION_WEEKS)?;
    let multiplier = bounded("multiplier", q.multiplier, 2, SUGGESTION_MULTIPLIERS)?;
    let (now, w) = (state.now(), state.workspace());
    let found = state
        .run(move |s| {
            enishi_ingest::drafts::suggest_loyal_promotion(s, w.clock, w.currency, now, weeks, multiplier)
                .map_err(ApiError::internal)
        })
        .await?;
    let s = found.ok_or_else(|| {
        ApiError::not_found("no customer is ranked loyal or semi-loyal yet: the analysis ranks them (enishi analyze)")
    })?;
    let out = || -> Result<LoyalSuggestionOut, serde_json::Error> {
        Ok(LoyalSuggestionOut {
            segment: serde_json::to_value(&s.segment)?,
            members: s.members,
            promotion: serde_json::to_value(&s.promotion)?,
            draft: serde_json::to_value(&s.draft)?,
            cost: serde_json::to_value(&s.cost)?,
        })
    };
    Ok(ok(out().map_err(ApiError::internal)?))
}

/// A manual adjustment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdjustmentInput)]
struct AdjustBody {
    /// Points to add (positive) or take (negative): not 0, at most 10,000,000 either way.
    #[schema(minimum = -10000000, maximum = 10000000)]
    points: i64,
    /// Why; not empty.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    reason: String,
    /// The same key again changes nothing.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 200
    )]
    idempotency_key: String,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/adjustments", operation_id = "adjustPoints", tag = "loyalty",
    summary = "Adjust points by hand",
    description = "Adds or removes points with a reason; removing more than the balance leaves a recorded debt. Idempotent on `idempotency_key`.\n\nRoles: admin, marketer.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((AdjustBody = "application/json", examples(("goodwill" = (value = json!({"points": 100, "reason": "goodwill for a late delivery", "idempotency_key": "adj-2026-11-21-1"}))))))),
    responses(
        (status = 200, description = "Replay: the balance now.", body = Balance),
        (status = 201, description = "Posted: the balance.", body = Balance),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`no_program` or `conflict`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn adjust(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<AdjustBody>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    existing(&state, id).await?;
    let by = caller.actor.clone();
    let (balance, new) = state
        .with_programs(true, move |c, programs| {
            let a = Adjustment {
                customer_id: id,
                points: b.points,
                reason: &b.reason,
                idempotency_key: &b.idempotency_key,
                by: &by,
            };
            let (balance, new) = enishi_rewards::adjust(c, programs, &a, now)?;
            if new {
                let after = json!({"points": b.points, "reason": b.reason, "balance": balance});
                crate::audit::record(c, &caller.actor, "points.adjust", &format!("customer:{id}"), Some(after))?;
            }
            Ok((balance, new))
        })
        .await?;
    let body = Balance { balance };
    Ok(if new { created(body) } else { ok(body) })
}

/// Why an adjustment is reversed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReversalInput)]
struct ReversalBody {
    /// Why; not empty.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/adjustments/{entry_id}/reversal", operation_id = "reverseAdjustment", tag = "loyalty",
    summary = "Reverse a manual adjustment",
    description = "Posts an adjustment of the opposite points, linked to the one reversed (its `source_ref` is the reversed entry's id), with a reason. An adjustment is reversed once: a second reversal, or reversing a reversal, is 409 `already_reversed`. Taking back points already spent leaves a debt.\n\nRoles: admin, marketer.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0),
        ("entry_id" = i64, Path, description = "The ledger entry of the adjustment (see the customer's ledger).", minimum = 0)),
    request_body(content((ReversalBody = "application/json", examples(("mistake" = (value = json!({"reason": "typed 1000 instead of 100"}))))))),
    responses(
        (status = 201, description = "Reversed: the balance.", body = Balance),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`already_reversed`, `no_program` or `conflict`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn reverse_adjustment(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam((Id(id), Id(entry_id))): PathParam<(Id, Id)>,
    Body(b): Body<ReversalBody>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    existing(&state, id).await?;
    let by = caller.actor.clone();
    let balance = state
        .with_programs(true, move |c, programs| {
            let r = enishi_rewards::Reversal { customer_id: id, entry_id, reason: &b.reason, by: &by };
            let balance = enishi_rewards::reverse_adjustment(c, programs, &r, now)?;
            let after = json!({"reverses": entry_id, "reason": b.reason, "balance": balance});
            crate::audit::record(c, &caller.actor, "points.reverse", &format!("customer:{id}"), Some(after))?;
            Ok(balance)
        })
        .await?;
    Ok(created(Balance { balance }))
}

/// A tier override.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TierInput)]
struct TierBody {
    /// A tier id of the programme.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    tier: String,
    /// Why; not empty.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    reason: String,
    /// When the tier ends (see `TimestampInput`).
    #[serde(default)]
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    until: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/tier", operation_id = "setTier", tag = "loyalty",
    summary = "Override a customer's tier",
    description = "Puts the customer in a tier with a reason; reviews leave it until `until`.\n\nRoles: admin, marketer.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((TierBody = "application/json", examples(("gold" = (value = json!({"tier": "gold", "reason": "VIP event", "until": "2027-03-31"}))))))),
    responses(
        (status = 200, description = "Set.", body = TierSet),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`no_program` or `conflict`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn set_tier(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<TierBody>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    let ws = state.workspace();
    let until = b
        .until
        .as_deref()
        .map(|t| ws.clock.parse_timestamp(t).map(|d| d.timestamp()).map_err(|e| ApiError::invalid("until", e.0)))
        .transpose()?;
    existing(&state, id).await?;
    let tier = b.tier.trim().to_string();
    let answer = TierSet { customer_id: id, tier: tier.clone(), locked_until: until.map(at) };
    state
        .with_programs(true, move |c, programs| {
            enishi_rewards::set_tier(c, programs, id, &tier, &b.reason, until, now)?;
            let after = json!({"tier": tier, "reason": b.reason, "until": until});
            Ok(crate::audit::record(c, &caller.actor, "loyalty.tier", &format!("customer:{id}"), Some(after))?)
        })
        .await?;
    Ok(ok(answer))
}

/// A membership action.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MembershipInput)]
struct MembershipBody {
    #[schema(schema_with = membership_action)]
    action: String,
    /// The plan id (to start).
    #[serde(default)]
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    plan: Option<String>,
}

/// The membership actions [`membership`] reads.
fn membership_action() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .description(Some("`start` (with `plan`), `renew` or `cancel`."))
        .enum_values(Some(["start", "renew", "cancel"]))
        .build()
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/loyalty/membership", operation_id = "membership", tag = "loyalty",
    summary = "Start, renew or cancel a paid membership",
    description = "`action` is start (with `plan`), renew (one more period, fee recorded) or cancel (perks last to the end of the paid period).\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((MembershipBody = "application/json", examples(("start" = (value = json!({"action": "start", "plan": "club"}))))))),
    responses(
        (status = 200, description = "The membership.", body = Membership),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`limit_reached`, `no_program` or `conflict`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn membership(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<MembershipBody>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    let action = match b.action.as_str() {
        "start" => MembershipAction::Start,
        "renew" => MembershipAction::Renew,
        "cancel" => MembershipAction::Cancel,
        other => return Err(ApiError::invalid("action", format!("'{other}' is not one of start, renew, cancel"))),
    };
    existing(&state, id).await?;
    let m = state
        .with_programs(true, move |c, programs| {
            Ok(enishi_rewards::membership(c, programs, id, action, b.plan.as_deref(), now)?)
        })
        .await?;
    Ok(ok(Membership::from(m)))
}

/// A coupon use.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CouponUseInput)]
struct UseBody {
    /// What the coupon was used on (the order id, say): the idempotency key.
    #[schema(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    use_ref: String,
}

#[utoipa::path(post, path = "/api/v1/coupons/{code}/uses", operation_id = "useCoupon", tag = "loyalty",
    summary = "Use a coupon",
    description = "Records one use under `use_ref` (the order id, say); the same `use_ref` again answers 200 and uses nothing. Expired or used-up coupons are 409 `coupon_unusable`.\n\nRoles: admin, marketer, staff.",
    params(("code" = String, Path, description = "Coupon code (XXXX-XXXX-XXXX).", pattern = r"^[^\u0000-\u001F]*$")),
    request_body(content((UseBody = "application/json", examples(("use" = (value = json!({"use_ref": "A-1002"}))))))),
    responses(
        (status = 200, description = "Replay: the coupon, unchanged.", body = Coupon),
        (status = 201, description = "Used: the coupon.", body = Coupon),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`coupon_unusable` or `conflict`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn use_coupon(
    _: Caller,
    State(state): State<AppState>,
    PathParam(code): PathParam<String>,
    Body(b): Body<UseBody>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    let (coupon, new) = state
        .run(move |s| {
            s.write(|c| -> Result<_, ApiError> { Ok(enishi_rewards::use_coupon(c, &code, &b.use_ref, now)?) })
        })
        .await?;
    let coupon = Coupon::from(coupon);
    Ok(if new { created(coupon) } else { ok(coupon) })
}
