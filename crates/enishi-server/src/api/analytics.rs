//! `/api/v1/analytics`: RFM, revenue concentration, loyal customers, KPIs, the lifecycle
//! funnel, B2B account roll-ups and CLV (admins and marketers). Read-only.

use super::shared::{bounded, ok, Money, QueryParams, Timestamp};
use crate::auth::Manager;
use crate::error::Problem;
use crate::openapi::{BadRequest, Forbidden, Internal, Unauthorized, Unavailable, UnprocessableEntity};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use enishi_core::BusinessClock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The analytics routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(analytics_rfm))
        .routes(routes!(analytics_pareto))
        .routes(routes!(analytics_loyal))
        .routes(routes!(analytics_kpis))
        .routes(routes!(analytics_lifecycle))
        .routes(routes!(analytics_accounts))
        .routes(routes!(analytics_clv))
}

/// A number that is null when it cannot be computed (no customers to compute it over).
fn number_or_null() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::Type::Number,
            utoipa::openapi::Type::Null,
        ]))
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Double)))
        .build()
}

/// The names of the eleven RFM segments, as serde writes them.
fn segment_name() -> utoipa::openapi::Object {
    let names = enishi_analytics::rfm::Segment::ALL.iter().filter_map(|s| serde_json::to_value(s).ok());
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).enum_values(Some(names)).build()
}

/// The time units [`analytics_clv`] reads.
fn time_unit() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["week", "day"]))
        .build()
}

/// The purchase-count models [`enishi_insights::CountModel`] reads.
fn count_model() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["bg-nbd", "mbg-nbd", "pareto-nbd"]))
        .build()
}

/// The names of the lifecycle stages.
fn stage_name() -> utoipa::openapi::Object {
    let names = enishi_analytics::lifecycle::Stage::ALL.iter().map(|s| s.as_str());
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .description(Some("`new`, `active`, `inactive`, `at_risk` or `lost`."))
        .enum_values(Some(names))
        .build()
}

// One segment's size and revenue.
#[derive(Serialize, ToSchema)]
struct SegmentSize {
    #[schema(schema_with = segment_name)]
    segment: enishi_analytics::rfm::Segment,
    /// Its name for people.
    label: &'static str,
    customers: usize,
    /// Share of all scored customers.
    #[schema(schema_with = number_or_null)]
    share: f64,
    revenue: f64,
}

// The RFM view of the customer base.
#[derive(Serialize, ToSchema)]
struct RfmReport {
    /// Customers scored.
    customers: usize,
    /// Every segment, best first, with its size.
    segments: Vec<SegmentSize>,
    /// Customers per cell: rows R = 5 … 1, columns F = 1 … 5.
    #[schema(value_type = Vec<Vec<u64>>, min_items = 5, max_items = 5)]
    grid: [[u64; 5]; 5],
}

impl From<enishi_insights::RfmReport> for RfmReport {
    fn from(r: enishi_insights::RfmReport) -> Self {
        let segments = r
            .segments
            .into_iter()
            .map(|s| SegmentSize {
                segment: s.segment,
                label: s.label,
                customers: s.customers,
                share: s.share,
                revenue: s.revenue,
            })
            .collect();
        RfmReport { customers: r.customers, segments, grid: r.grid }
    }
}

// Revenue concentration.
#[derive(Serialize, ToSchema)]
struct Concentration {
    customers: usize,
    revenue: f64,
    /// Share of revenue from the top 20% of customers.
    #[schema(schema_with = number_or_null)]
    top_20_share: f64,
    /// Gini coefficient of revenue per customer (0: equal, 1: one customer has it all).
    #[schema(schema_with = number_or_null)]
    gini: f64,
    /// (share of customers from the top, share of revenue) at every 5%.
    #[schema(value_type = Vec<Vec<f64>>)]
    curve: Vec<(f64, f64)>,
}

impl From<enishi_analytics::pareto::Concentration> for Concentration {
    fn from(c: enishi_analytics::pareto::Concentration) -> Self {
        Concentration {
            customers: c.customers,
            revenue: c.revenue,
            top_20_share: c.top_20_share,
            gini: c.gini,
            curve: c.curve,
        }
    }
}

// The frozen thresholds of the loyal report.
#[derive(Serialize, ToSchema)]
struct LoyalBaseline {
    /// Customers in the baseline.
    customers: usize,
    /// Composite score (mean of three percentiles, 0–1) from which a customer is loyal.
    #[schema(schema_with = number_or_null)]
    loyal_cut: f64,
    /// Composite score from which a customer is semi-loyal.
    #[schema(schema_with = number_or_null)]
    semi_cut: f64,
}

// One month of the loyal-customer trend.
#[derive(Serialize, ToSchema)]
struct LoyalMonth {
    /// Last day of the month (or the as-of day).
    #[schema(format = Date)]
    date: String,
    /// Customers who had bought by then.
    customers: usize,
    /// Of them, loyal under the frozen thresholds.
    loyal: usize,
    /// Of them, semi-loyal.
    semi_loyal: usize,
    /// (loyal + semi-loyal) / customers.
    #[schema(schema_with = number_or_null)]
    share: f64,
}

// Loyal and semi-loyal customers: the frozen baseline and the monthly trend.
#[derive(Serialize, ToSchema)]
struct LoyalReport {
    #[schema(format = Date)]
    baseline_date: String,
    /// Share of the baseline ranked loyal.
    loyal_share: f64,
    /// Share ranked semi-loyal.
    semi_share: f64,
    baseline: LoyalBaseline,
    /// Month by month from the baseline to the as-of day.
    trend: Vec<LoyalMonth>,
}

impl From<enishi_insights::LoyalReport> for LoyalReport {
    fn from(r: enishi_insights::LoyalReport) -> Self {
        let b = r.baseline;
        LoyalReport {
            baseline_date: r.baseline_date,
            loyal_share: r.loyal_share,
            semi_share: r.semi_share,
            baseline: LoyalBaseline { customers: b.customers, loyal_cut: b.loyal_cut, semi_cut: b.semi_cut },
            trend: r
                .trend
                .into_iter()
                .map(|m| LoyalMonth {
                    date: m.date,
                    customers: m.customers,
                    loyal: m.loyal,
                    semi_loyal: m.semi_loyal,
                    share: m.share,
                })
                .collect(),
        }
    }
}

// A distribution: count, mean and quantiles (all null when nothing was counted).
#[derive(Serialize, ToSchema)]
struct Distribution {
    count: usize,
    #[schema(schema_with = number_or_null)]
    mean: f64,
    #[schema(schema_with = number_or_null)]
    p10: f64,
    #[schema(schema_with = number_or_null)]
    p25: f64,
    #[schema(schema_with = number_or_null)]
    median: f64,
    #[schema(schema_with = number_or_null)]
    p75: f64,
    #[schema(schema_with = number_or_null)]
    p90: f64,
    #[schema(schema_with = number_or_null)]
    max: f64,
}

impl From<enishi_analytics::kpis::Distribution> for Distribution {
    fn from(d: enishi_analytics::kpis::Distribution) -> Self {
        Distribution {
            count: d.count,
            mean: d.mean,
            p10: d.p10,
            p25: d.p25,
            median: d.median,
            p75: d.p75,
            p90: d.p90,
            max: d.max,
        }
    }
}

// One monthly acquisition cohort.
#[derive(Serialize, ToSchema)]
struct Cohort {
    /// Months since January 1970 of the first purchase.
    month: i64,
    customers: usize,
    /// Share of them buying in month k after the first (k = 0, 1, …).
    retention: Vec<f64>,
}

// The KPIs.
#[derive(Serialize, ToSchema)]
#[schema(as = Kpis)]
struct KpiReport {
    /// Customers with at least one order.
    customers: usize,
    orders: usize,
    /// Share of customers who bought on more than one day.
    #[schema(schema_with = number_or_null)]
    repeat_purchase_rate: f64,
    order_value: Distribution,
    orders_per_customer: Distribution,
    revenue_per_customer: Distribution,
    days_between_purchases: Distribution,
    /// Monday first.
    #[schema(value_type = Vec<usize>, min_items = 7, max_items = 7)]
    orders_by_weekday: [usize; 7],
    cohorts: Vec<Cohort>,
    /// Orders per hour of the day in the business time zone, 0–23.
    #[schema(value_type = Vec<usize>, min_items = 24, max_items = 24)]
    orders_by_hour: [usize; 24],
    /// Customers whose first order was on or before the as-of day.
    customers_acquired: i64,
    /// Of them, customers referred by another customer.
    acquired_by_referral: i64,
    /// Share of customers acquired by referral.
    #[schema(schema_with = number_or_null)]
    referral_share: f64,
}

impl From<enishi_insights::KpiReport> for KpiReport {
    fn from(r: enishi_insights::KpiReport) -> Self {
        let k = r.kpis;
        KpiReport {
            customers: k.customers,
            orders: k.orders,
            repeat_purchase_rate: k.repeat_purchase_rate,
            order_value: k.order_value.into(),
            orders_per_customer: k.orders_per_customer.into(),
            revenue_per_customer: k.revenue_per_customer.into(),
            days_between_purchases: k.days_between_purchases.into(),
            orders_by_weekday: k.orders_by_weekday,
            cohorts: k
                .cohorts
                .into_iter()
                .map(|c| Cohort { month: c.month, customers: c.customers, retention: c.retention })
                .collect(),
            orders_by_hour: r.orders_by_hour,
            customers_acquired: r.customers_acquired,
            acquired_by_referral: r.acquired_by_referral,
            referral_share: r.referral_share,
        }
    }
}

// Customers in one lifecycle stage.
#[derive(Serialize, ToSchema)]
struct StageCount {
    #[schema(schema_with = stage_name)]
    stage: enishi_analytics::lifecycle::Stage,
    customers: u64,
    /// Share of buying customers.
    #[schema(schema_with = number_or_null)]
    share: f64,
}

// A lapsed customer (inactive, at risk or lost), with what is at stake.
#[derive(Serialize, ToSchema)]
struct Lapsed {
    /// Enishi id.
    id: i64,
    /// The shop's id.
    external_id: String,
    #[schema(schema_with = stage_name)]
    stage: enishi_analytics::lifecycle::Stage,
    /// Days since the last purchase.
    days_silent: i64,
    /// The customer's usual gap between purchase days (their own, or the shop's median).
    usual_gap_days: f64,
    /// The customer's CLV when a model has scored it, otherwise their net spend per year of their history.
    #[schema(schema_with = number_or_null)]
    value_at_stake: f64,
    /// P(alive), when scored.
    #[schema(required = true)]
    p_alive: Option<f64>,
}

// The lifecycle funnel and the lapsed customers.
#[derive(Serialize, ToSchema)]
struct LifecycleReport {
    /// Day judged (days since 1970-01-01).
    as_of_day: i64,
    /// The gap lent to single-purchase customers (median of repeat buyers), in days.
    #[schema(schema_with = number_or_null)]
    population_gap_days: f64,
    /// Customers with a P(alive) from `enishi analyze clv` (the rest are judged by rhythm alone).
    with_p_alive: u64,
    /// The funnel, new to lost.
    funnel: Vec<StageCount>,
    /// Stage changes recorded (always 0 here: the API does not store stages).
    changes_recorded: u64,
    /// Lapsed customers, most value at stake first.
    lapsed: Vec<Lapsed>,
}

impl From<enishi_insights::LifecycleReport> for LifecycleReport {
    fn from(r: enishi_insights::LifecycleReport) -> Self {
        LifecycleReport {
            as_of_day: r.as_of_day,
            population_gap_days: r.population_gap_days,
            with_p_alive: r.with_p_alive,
            funnel: r
                .funnel
                .into_iter()
                .map(|f| StageCount { stage: f.stage, customers: f.customers, share: f.share })
                .collect(),
            changes_recorded: r.changes_recorded,
            lapsed: r
                .lapsed
                .into_iter()
                .map(|l| Lapsed {
                    id: l.id,
                    external_id: l.external_id,
                    stage: l.stage,
                    days_silent: l.days_silent,
                    usual_gap_days: l.usual_gap_days,
                    value_at_stake: l.value_at_stake,
                    p_alive: l.p_alive,
                })
                .collect(),
        }
    }
}

// One account, its contacts' purchases summed.
#[derive(Serialize, ToSchema)]
struct AccountSummary {
    /// Enishi's id.
    id: i64,
    external_id: String,
    name: String,
    #[schema(required = true)]
    industry: Option<String>,
    #[schema(required = true)]
    region: Option<String>,
    #[schema(required = true)]
    size_band: Option<String>,
    contacts: i64,
    /// Contacts who ordered in the last 90 days.
    active_contacts: i64,
    orders: i64,
    /// Revenue, net of returns.
    revenue: Money,
    /// Revenue in the last 90 days.
    last_90_days: Money,
    /// Revenue in the 90 days before.
    previous_90_days: Money,
    /// Change of the last 90 days against the 90 before, in percent (null when there was none before).
    #[schema(required = true)]
    trend_percent: Option<f64>,
    #[schema(required = true)]
    last_order_at: Option<Timestamp>,
}

impl From<enishi_insights::AccountSummary> for AccountSummary {
    fn from(s: enishi_insights::AccountSummary) -> Self {
        let a = s.account;
        AccountSummary {
            id: a.id,
            external_id: a.external_id,
            name: a.name,
            industry: a.industry,
            region: a.region,
            size_band: a.size_band,
            contacts: s.contacts,
            active_contacts: s.active_contacts,
            orders: s.orders,
            revenue: Money(s.revenue),
            last_90_days: Money(s.last_90_days),
            previous_90_days: Money(s.previous_90_days),
            trend_percent: s.trend_percent,
            last_order_at: s.last_order_at.map(Timestamp),
        }
    }
}

// Accounts ranked by revenue.
#[derive(Serialize, ToSchema)]
struct AccountRollups {
    items: Vec<AccountSummary>,
}

// A fitted model: its parameters by name (`r`, `alpha`, `a`, `b`; `p`, `q`, `gamma`; …) beside
// these fields.
#[derive(Serialize, ToSchema)]
struct ModelFit {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    parameters: BTreeMap<String, f64>,
    /// Standard errors by parameter name (null where the fit gives none).
    #[schema(value_type = Object)]
    standard_errors: BTreeMap<String, f64>,
    /// Log-likelihood at the optimum.
    #[schema(schema_with = number_or_null)]
    log_likelihood: f64,
    /// Optimiser iterations.
    iterations: usize,
    converged: bool,
    /// Customers fitted.
    customers: u64,
}

/// A [`ModelFit`] of a fit in the report (whose type `enishi_insights` does not name).
macro_rules! model_fit {
    ($f:expr) => {{
        let f = $f;
        ModelFit {
            parameters: f.parameters,
            standard_errors: f.standard_errors,
            log_likelihood: f.log_likelihood,
            iterations: f.iterations,
            converged: f.converged,
            customers: f.customers,
        }
    }};
}

// Predicted against actual repeat purchases for customers with one calibration frequency.
#[derive(Serialize, ToSchema)]
struct ByFrequency {
    /// Repeat purchases in calibration (`7+` for seven or more).
    frequency: String,
    customers: u64,
    actual: f64,
    #[schema(schema_with = number_or_null)]
    predicted: f64,
}

// The holdout check.
#[derive(Serialize, ToSchema)]
struct Holdout {
    /// Days of the holdout period.
    days: i64,
    actual_repeat_transactions: u64,
    #[schema(schema_with = number_or_null)]
    predicted_repeat_transactions: f64,
    by_frequency: Vec<ByFrequency>,
}

// Customers left out of a fit, and why.
#[derive(Serialize, ToSchema)]
struct Exclusions {
    /// First bought after the calibration end.
    first_purchase_after_calibration: u64,
    /// Without repeat purchases (not in the Gamma-Gamma fit; BG/NBD includes them).
    gamma_gamma_without_repeat_purchases: u64,
    /// With repeat purchases of zero value (not in the Gamma-Gamma fit).
    gamma_gamma_zero_value: u64,
}

// A customer's predictions.
#[derive(Serialize, ToSchema)]
struct CustomerValue {
    /// Enishi id.
    id: i64,
    /// The shop's id.
    external_id: String,
    /// Business day the models were fitted as of.
    as_of_day: i64,
    /// Probability of still being a customer.
    #[schema(schema_with = number_or_null)]
    p_alive: f64,
    /// Expected purchases in the next `expected_days` days.
    #[schema(schema_with = number_or_null)]
    expected_purchases: f64,
    expected_days: i64,
    /// Expected value per purchase.
    #[schema(schema_with = number_or_null)]
    expected_value: f64,
    /// Discounted customer lifetime value over `months`.
    #[schema(schema_with = number_or_null)]
    clv: f64,
}

// The CLV fit report and the top customers.
#[derive(Serialize, ToSchema)]
struct ClvReport {
    /// Customers scored.
    customers: usize,
    /// Days per time unit.
    unit_days: f64,
    /// The purchase-count model fitted.
    count_model: &'static str,
    /// Its fit: (r, alpha, a, b), or (r, alpha, s, beta) for Pareto/NBD; named `bgnbd` whichever model it is.
    bgnbd: ModelFit,
    /// Gamma-Gamma (p, q, gamma), when there were at least three repeat buyers.
    #[schema(required = true)]
    gamma_gamma: Option<ModelFit>,
    /// The holdout check, when `holdout_end` was given.
    #[schema(required = true)]
    holdout: Option<Holdout>,
    excluded: Exclusions,
    /// The `top` customers by CLV, highest first.
    top_customers: Vec<CustomerValue>,
}

impl ClvReport {
    /// The report with `top` as its top customers.
    fn new(r: enishi_insights::ClvReport, top: Vec<enishi_insights::CustomerValue>) -> Self {
        let e = r.excluded;
        ClvReport {
            customers: r.customers,
            unit_days: r.unit_days,
            count_model: r.count_model,
            bgnbd: model_fit!(r.bgnbd),
            gamma_gamma: r.gamma_gamma.map(|f| model_fit!(f)),
            holdout: r.holdout.map(|h| Holdout {
                days: h.days,
                actual_repeat_transactions: h.actual_repeat_transactions,
                predicted_repeat_transactions: h.predicted_repeat_transactions,
                by_frequency: h
                    .by_frequency
                    .into_iter()
                    .map(|b| ByFrequency {
                        frequency: b.frequency,
                        customers: b.customers,
                        actual: b.actual,
                        predicted: b.predicted,
                    })
                    .collect(),
            }),
            excluded: Exclusions {
                first_purchase_after_calibration: e.first_purchase_after_calibration,
                gamma_gamma_without_repeat_purchases: e.gamma_gamma_without_repeat_purchases,
                gamma_gamma_zero_value: e.gamma_gamma_zero_value,
            },
            top_customers: top
                .into_iter()
                .map(|v| CustomerValue {
                    id: v.id,
                    external_id: v.external_id,
                    as_of_day: v.scores.as_of_day,
                    p_alive: v.scores.p_alive,
                    expected_purchases: v.scores.expected_purchases,
                    expected_days: v.scores.expected_days,
                    expected_value: v.scores.expected_value,
                    clv: v.scores.clv,
                })
                .collect(),
        }
    }
}

/// The day an analysis counts up to.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AsOfQuery {
    /// Count purchases up to this business day (YYYY-MM-DD); default: today in the business time zone.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", nullable = false)]
    as_of: Option<String>,
}

impl AsOfQuery {
    /// The business day asked for (default: today in the business time zone).
    fn day(&self, clock: BusinessClock, now: chrono::DateTime<chrono::Utc>) -> Result<i64, ApiError> {
        match &self.as_of {
            None => Ok(clock.day_number(now)),
            Some(t) => {
                let d = enishi_core::time::parse_date(t).map_err(|e| ApiError::invalid("as_of", e.0))?;
                Ok(enishi_core::time::day_of_date(d))
            }
        }
    }
}

#[utoipa::path(get, path = "/api/v1/analytics/rfm", operation_id = "analyticsRfm", tag = "analytics",
    summary = "RFM segments",
    description = "Recency, frequency and monetary scores 1–5 by quintiles (ties share the lower score) and the eleven named segments, counted from order totals up to as_of.\n\nRoles: admin, marketer.",
    params(AsOfQuery),
    responses(
        (status = 200, description = "Segment sizes and the R×F grid.", body = RfmReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn analytics_rfm(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AsOfQuery>,
) -> Result<Response, ApiError> {
    let day = q.day(state.workspace().clock, state.now())?;
    let report = state.run(move |s| Ok(enishi_insights::rfm_report(s, day)?)).await?;
    Ok(ok(RfmReport::from(report)))
}

/// The lifecycle report's parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LifecycleQuery {
    /// Day judged (YYYY-MM-DD); default today.
    #[serde(default)]
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", nullable = false)]
    as_of: Option<String>,
    /// Lapsed customers listed (default 50, at most 1000).
    #[serde(default)]
    #[param(minimum = 0, maximum = 1000, nullable = false)]
    lapsed: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/analytics/lifecycle", operation_id = "analyticsLifecycle", tag = "analytics",
    summary = "Lifecycle funnel and lapsed customers",
    description = "Every buying customer's stage — new, active, inactive, at risk, lost — judged from their own purchase rhythm and, when `enishi analyze clv` has scored it, their P(alive); the funnel, and lapsed customers (inactive or worse) ordered by the value at stake (CLV when scored, else net spend per year). Read-only: `enishi analyze lifecycle` stores the stages and records every change. See docs/analytics.md.\n\nRoles: admin, marketer.",
    params(LifecycleQuery),
    responses(
        (status = 200, description = "The report.", body = LifecycleReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn analytics_lifecycle(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<LifecycleQuery>,
) -> Result<Response, ApiError> {
    let day = AsOfQuery { as_of: q.as_of }.day(state.workspace().clock, state.now())?;
    let lapsed = q.lapsed.unwrap_or(50);
    if lapsed > 1000 {
        return Err(ApiError::invalid("lapsed", "must be at most 1000"));
    }
    let report = state.run(move |s| Ok(enishi_insights::lifecycle(s, day, lapsed, false)?)).await?;
    Ok(ok(LifecycleReport::from(report)))
}

/// The account roll-ups' parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AccountsQuery {
    /// Day (YYYY-MM-DD); default today.
    #[serde(default)]
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", nullable = false)]
    as_of: Option<String>,
    /// Only this industry.
    #[serde(default)]
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        nullable = false
    )]
    industry: Option<String>,
    /// Only this region.
    #[serde(default)]
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        nullable = false
    )]
    region: Option<String>,
    /// Most accounts (1–1000, default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000, nullable = false)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/analytics/accounts", operation_id = "analyticsAccounts", tag = "analytics",
    summary = "B2B account roll-ups: the target-account list",
    description = "Accounts ranked by revenue (net of returns) up to the as-of day, summed over their contacts: contacts, contacts active in the last 90 days, orders, revenue in the last 90 days against the 90 before (trend in percent), last order. Filter by `industry` and `region` for account-based marketing.\n\nRoles: admin, marketer.",
    params(AccountsQuery),
    responses(
        (status = 200, description = "The accounts, most revenue first.", body = AccountRollups),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn analytics_accounts(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AccountsQuery>,
) -> Result<Response, ApiError> {
    let clock = state.workspace().clock;
    let day = AsOfQuery { as_of: q.as_of }.day(clock, state.now())?;
    let limit = bounded("limit", q.limit, 100, 1..=1000)?;
    let (industry, region) = (q.industry, q.region);
    let items =
        state.run(move |s| Ok(enishi_insights::account_rollups(s, day, clock, industry, region, limit)?)).await?;
    Ok(ok(AccountRollups { items: items.into_iter().map(AccountSummary::from).collect() }))
}

/// The CLV fit's parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ClvQuery {
    /// Last day of calibration (YYYY-MM-DD); default today.
    #[serde(default)]
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", nullable = false)]
    calibration_end: Option<String>,
    /// Last day of the holdout period (YYYY-MM-DD), after `calibration_end`.
    #[serde(default)]
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", nullable = false)]
    holdout_end: Option<String>,
    /// `week` (default) or `day`.
    #[serde(default)]
    #[param(schema_with = time_unit)]
    time_unit: Option<String>,
    /// Prediction horizon in days without a holdout (1–3650, default 90).
    #[serde(default)]
    #[param(minimum = 1, maximum = 3650, nullable = false)]
    horizon_days: Option<u32>,
    /// Months of CLV (1–120, default 12).
    #[serde(default)]
    #[param(minimum = 1, maximum = 120, nullable = false)]
    months: Option<u32>,
    /// Monthly discount rate, at least 0 and below 1 (default 0.01).
    #[serde(default)]
    #[param(minimum = 0, exclusive_maximum = 1, nullable = false)]
    discount: Option<f64>,
    /// Customers listed by CLV (1–1000, default 20).
    #[serde(default)]
    #[param(minimum = 1, maximum = 1000, nullable = false)]
    top: Option<usize>,
    /// Purchase-count model: `bg-nbd` (default); `mbg-nbd`, where customers may also drop out before buying again; `pareto-nbd`, where they may leave at any moment. The report's `count_model` says which was fitted; its fit (r, alpha, a, b or r, alpha, s, beta) is under `bgnbd` whichever it is.
    #[serde(default)]
    #[param(schema_with = count_model)]
    model: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/analytics/clv", operation_id = "analyticsClv", tag = "analytics",
    summary = "CLV and churn: BG/NBD and Gamma-Gamma",
    description = "Fits BG/NBD (purchase counts, P(alive)) and Gamma-Gamma (spend) by maximum likelihood on purchases up to `calibration_end`, with parameters, standard errors, log-likelihood and convergence; with `holdout_end`, predicted against actual repeat purchases in total and by calibration frequency; counts of customers left out and why; and the `top` customers by discounted CLV over `months`. Read-only: `enishi analyze clv` stores every customer's scores. 409 `no_purchases` when nobody bought by the calibration end.\n\nRoles: admin, marketer.",
    params(ClvQuery),
    responses(
        (status = 200, description = "The fit report and `top_customers`.", body = ClvReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 409, description = "`no_purchases`: nobody bought by the calibration end.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn analytics_clv(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ClvQuery>,
) -> Result<Response, ApiError> {
    let clock = state.workspace().clock;
    let calibration_end = AsOfQuery { as_of: q.calibration_end }.day(clock, state.now())?;
    let holdout_end = match q.holdout_end {
        Some(h) => {
            let day = AsOfQuery { as_of: Some(h) }
                .day(clock, state.now())
                .map_err(|e| ApiError { field: Some("holdout_end".into()), ..e })?;
            if day <= calibration_end {
                return Err(ApiError::invalid("holdout_end", "must be after calibration_end"));
            }
            Some(day)
        }
        None => None,
    };
    let unit_days = match q.time_unit.as_deref().unwrap_or("week") {
        "week" => 7.0,
        "day" => 1.0,
        other => return Err(ApiError::invalid("time_unit", format!("'{other}' is not week or day"))),
    };
    let discount = q.discount.unwrap_or(0.01);
    if !(0.0..1.0).contains(&discount) {
        return Err(ApiError::invalid("discount", "must be at least 0 and below 1 (a monthly rate)"));
    }
    let months = bounded("months", q.months, 12, 1..=120)?;
    let horizon_days = bounded("horizon_days", q.horizon_days, 90, 1..=3650)?;
    let top = bounded("top", q.top, 20, 1..=1000)?;
    let model: enishi_insights::CountModel =
        q.model.as_deref().unwrap_or("bg-nbd").parse().map_err(|e: String| ApiError::invalid("model", e))?;
    let opts =
        enishi_insights::ClvOptions { calibration_end, holdout_end, unit_days, horizon_days, months, discount, model };
    let (report, mut values) = state
        .run(move |s| {
            enishi_insights::clv_report(s, &opts).map_err(|e| match e {
                enishi_insights::ClvError::NoCustomers => {
                    ApiError::new(StatusCode::CONFLICT, "no_purchases", e.to_string())
                }
                enishi_insights::ClvError::Store(s) => s.into(),
            })
        })
        .await?;
    values.sort_by(|a, b| b.scores.clv.total_cmp(&a.scores.clv));
    values.truncate(top);
    Ok(ok(ClvReport::new(report, values)))
}

#[utoipa::path(get, path = "/api/v1/analytics/pareto", operation_id = "analyticsPareto", tag = "analytics",
    summary = "Revenue concentration (80/20)",
    description = "Share of revenue from the top 20% of customers, the Lorenz curve at every 5% and the Gini coefficient, from order totals up to as_of.\n\nRoles: admin, marketer.",
    params(AsOfQuery),
    responses(
        (status = 200, description = "Concentration.", body = Concentration),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn analytics_pareto(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AsOfQuery>,
) -> Result<Response, ApiError> {
    let day = q.day(state.workspace().clock, state.now())?;
    let report = state.run(move |s| Ok(enishi_insights::pareto_report(s, day)?)).await?;
    Ok(ok(Concentration::from(report)))
}

/// The loyal report's parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LoyalQuery {
    /// Day whose customers set the thresholds (YYYY-MM-DD).
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    baseline: String,
    /// Last day of the trend (YYYY-MM-DD); default today.
    #[param(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", nullable = false)]
    as_of: Option<String>,
    /// Percent ranked loyal (default 7); with `semi_percent` at most 100.
    #[param(minimum = 0, maximum = 100, nullable = false)]
    loyal_percent: Option<f64>,
    /// Percent ranked semi-loyal (default 13).
    #[param(minimum = 0, maximum = 100, nullable = false)]
    semi_percent: Option<f64>,
}

#[utoipa::path(get, path = "/api/v1/analytics/loyal", operation_id = "analyticsLoyal", tag = "analytics",
    summary = "Loyal and semi-loyal customers over time",
    description = "Ranks the customers of the baseline day on a composite of spend, tenure and repeat purchase days; the top loyal_percent are loyal, the next semi_percent semi-loyal. Those thresholds are frozen, and the share of customers meeting them is given at every month end up to as_of.\n\nRoles: admin, marketer.",
    params(LoyalQuery),
    responses(
        (status = 200, description = "Frozen thresholds and the monthly trend.", body = LoyalReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn analytics_loyal(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<LoyalQuery>,
) -> Result<Response, ApiError> {
    let clock = state.workspace().clock;
    let baseline = AsOfQuery { as_of: Some(q.baseline.clone()) }
        .day(clock, state.now())
        .map_err(|_| ApiError::invalid("baseline", "is not a YYYY-MM-DD date"))?;
    let as_of = AsOfQuery { as_of: q.as_of.clone() }.day(clock, state.now())?;
    let (loyal, semi) = (q.loyal_percent.unwrap_or(7.0), q.semi_percent.unwrap_or(13.0));
    if !loyal.is_finite() || !semi.is_finite() || loyal < 0.0 || semi < 0.0 || loyal + semi > 100.0 {
        return Err(ApiError::invalid(
            "loyal_percent",
            "loyal_percent and semi_percent must be 0–100 and add up to at most 100",
        ));
    }
    if as_of < baseline {
        return Err(ApiError::invalid("as_of", "must not be before baseline"));
    }
    let report =
        state.run(move |s| Ok(enishi_insights::loyal_report(s, baseline, as_of, loyal / 100.0, semi / 100.0)?)).await?;
    Ok(ok(LoyalReport::from(report)))
}

#[utoipa::path(get, path = "/api/v1/analytics/kpis", operation_id = "analyticsKpis", tag = "analytics",
    summary = "KPIs as distributions",
    description = "Repeat purchase rate; order value, orders and revenue per customer and days between purchases as distributions (quantiles, not only means); orders by weekday and by hour; monthly cohort retention; customers acquired and by referral. From orders up to as_of.\n\nRoles: admin, marketer.",
    params(AsOfQuery),
    responses(
        (status = 200, description = "The KPIs.", body = KpiReport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn analytics_kpis(
    _: Manager,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AsOfQuery>,
) -> Result<Response, ApiError> {
    let day = q.day(state.workspace().clock, state.now())?;
    let clock = state.workspace().clock;
    let report = state.run(move |s| Ok(enishi_insights::kpis_report(s, day, clock)?)).await?;
    Ok(ok(KpiReport::from(report)))
}
