//! `/api/v1/campaigns`: campaigns (admins and marketers) — create one from its document
//! (docs/campaigns.md; a mistake is 422 `invalid_campaign` naming the field), list and read
//! them, schedule, start and cancel, preview a message, the results per variant and per version
//! (conversions, uplift over the holdout with its 95% interval and p-value, cost, ROI), the
//! customers skipped with their reasons, and a postal campaign's letters (the print shop's
//! CSV, then confirmed as posted).

use super::shared::{
    created, invalid_template, ok, Body, JsonText, Money, PageQuery, PathParam, QueryParams, RenderedMessage, Timestamp,
};
use crate::auth::Manager;
use crate::error::Problem;
use crate::openapi::{
    BadRequest, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable, UnprocessableEntity,
    UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use enishi_campaigns::campaigns as ops;
use enishi_campaigns::definition::Audience;
use enishi_campaigns::results::{self, ArmDelivery, ArmResult, Results};
use enishi_campaigns::Error;
use enishi_store::repo::campaigns::{self as repo, Campaign};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The campaign routes, each registered with its documentation.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show))
        .routes(routes!(schedule))
        .routes(routes!(start))
        .routes(routes!(cancel))
        .routes(routes!(preview))
        .routes(routes!(results_of))
        .routes(routes!(versions))
        .routes(routes!(skipped))
        .routes(routes!(letters))
        .routes(routes!(confirm))
}

/// The campaign document, as docs/campaigns.md describes it (for the documentation; the
/// server reads the document with its own checks).
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
struct CampaignDocument {
    /// A unique name, 1 to 120 characters.
    name: String,
    /// The mailing this is a version of; the name when absent.
    #[schema(nullable = false)]
    mailing: Option<String>,
    /// The version label (`v2`).
    #[schema(nullable = false)]
    version: Option<String>,
    /// `email`, `postal`, `webhook` or `call`.
    channel: String,
    /// `{"segment": NAME}` or `{"list": NAME}`.
    #[schema(value_type = Object)]
    audience: Value,
    /// `[{"key": "A", "template": NAME, "share": 50}, …]`, shares adding up to 100.
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    variants: Option<Vec<Value>>,
    /// The template when there is one variant.
    #[schema(nullable = false)]
    template: Option<String>,
    /// 0–50.
    #[schema(nullable = false, minimum = 0, maximum = 50)]
    holdout_percent: Option<u32>,
    /// `{"kind": "purchase"}`, `{"kind": "sku", "sku": …}` or `{"kind": "category", "category": …}`.
    #[schema(nullable = false, value_type = Option<Object>)]
    goal: Option<Value>,
    /// 1–365 (default 14).
    #[schema(nullable = false, minimum = 1, maximum = 365)]
    attribution_days: Option<u32>,
    /// A decimal string in the workspace currency.
    #[schema(nullable = false, pattern = r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
    cost_per_message: Option<String>,
    /// `{"name": …, "email": …}`.
    #[schema(nullable = false, value_type = Option<Object>)]
    sender: Option<Value>,
    /// The webhook channel's address.
    #[schema(nullable = false)]
    webhook_url: Option<String>,
}

/// When to send a campaign.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleBody {
    /// When (see `TimestampInput`; a local time is read in the business time zone).
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    at: String,
}

/// Whom to preview a campaign's message for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CampaignPreviewBody {
    /// The shop's id of the customer.
    #[schema(min_length = 1)]
    customer: String,
    /// The variant (default `A`).
    #[serde(default)]
    #[schema(min_length = 1)]
    variant: Option<String>,
}

/// Which letters to record as posted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmBody {
    /// Only this variant's letters; every variant's when absent.
    #[serde(default)]
    #[schema(min_length = 1)]
    variant: Option<String>,
}

/// Which letters to export.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct LettersQuery {
    /// Only this variant's letters.
    #[serde(default)]
    variant: Option<String>,
}

/// Who a campaign is for.
#[derive(Serialize, ToSchema)]
pub(crate) struct AudienceView {
    /// `segment`, `list`, or `journey` (a journey step's campaign: who reached the step).
    kind: String,
    /// Its name.
    name: String,
}

/// A campaign as the API answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Campaign)]
pub(crate) struct CampaignView {
    name: String,
    /// The mailing it is a version of.
    mailing: String,
    /// The version label.
    version: String,
    /// `email`, `postal`, `webhook` or `call`.
    channel: String,
    /// `draft`, `scheduled`, `sending`, `done` or `cancelled`.
    state: String,
    audience: AudienceView,
    /// When it is to be (or was) sent.
    send_at: Option<Timestamp>,
    /// When sending started (the audience was materialised).
    started_at: Option<Timestamp>,
    /// When the last message was settled, or it was cancelled.
    finished_at: Option<Timestamp>,
    created_at: Timestamp,
    /// The checked document, with its defaults filled in.
    #[schema(value_type = Object)]
    definition: Value,
}

/// Every campaign, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct CampaignList {
    items: Vec<CampaignView>,
}

/// How many, of a variant or a reason.
#[derive(Serialize, ToSchema)]
pub(crate) struct Count {
    /// The variant key, reason or status.
    key: String,
    count: i64,
}

/// What starting a campaign did.
#[derive(Serialize, ToSchema)]
pub(crate) struct Started {
    /// Members of the audience snapshot.
    audience: i64,
    /// Messages queued per variant (`enishi serve` sends them; a postal campaign's letters wait for export).
    queued: Vec<Count>,
    /// Kept back.
    holdout: i64,
    /// Skipped per reason: `no_consent`, `no_address`, `suppressed`, `frequency_cap`.
    skipped: Vec<Count>,
}

/// The uplift of a variant over the holdout (two-proportion z-test).
#[derive(Serialize, ToSchema)]
pub(crate) struct UpliftView {
    /// Difference of the conversion rates (a fraction: 0.03 is 3 points).
    difference: f64,
    /// 95% confidence interval, low end.
    low: f64,
    /// 95% confidence interval, high end.
    high: f64,
    /// Two-sided p-value.
    p_value: f64,
}

/// One variant's (or the holdout's, or all variants') figures.
#[derive(Serialize, ToSchema)]
pub(crate) struct ArmView {
    /// Variant key, `holdout` or `all`.
    arm: String,
    /// Messages sent (for the holdout: customers kept back).
    members: i64,
    /// Messages sent (null for the holdout).
    sent: Option<i64>,
    /// Messages that failed for good (null for the holdout).
    failed: Option<i64>,
    /// Recipients who unsubscribed through the campaign's link (null for the holdout).
    unsubscribed: Option<i64>,
    /// Members with a goal order within the attribution window.
    conversions: i64,
    /// `conversions / members`.
    conversion_rate: f64,
    /// Revenue of those orders, in the workspace currency.
    revenue: Money,
    /// What the messages cost.
    cost: Money,
    /// `(revenue - cost) / cost`; null without a cost.
    roi: Option<f64>,
    /// Median hours from the message to the first goal order.
    median_hours_to_convert: Option<f64>,
    /// Over the holdout; null without one (and for the holdout).
    uplift: Option<UpliftView>,
}

/// A campaign's results as of now.
#[derive(Serialize, ToSchema)]
#[schema(as = CampaignResults)]
pub(crate) struct ResultsView {
    campaign: String,
    mailing: String,
    version: String,
    state: String,
    /// Members of the audience.
    audience: i64,
    /// Days after a message in which a goal order counts.
    attribution_days: u32,
    /// Customers skipped, per reason.
    skipped: Vec<Count>,
    /// Recipients by status (`queued`, `sent`, `failed`, `holdout`, `skipped`, …).
    statuses: Vec<Count>,
    /// Per variant, then the holdout.
    arms: Vec<ArmView>,
    /// All variants together.
    total: ArmView,
}

/// Every version of a campaign's mailing, oldest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct VersionList {
    items: Vec<ResultsView>,
}

/// A customer who got nothing, and why.
#[derive(Serialize, ToSchema)]
pub(crate) struct SkippedView {
    /// Enishi's id.
    customer_id: i64,
    /// The shop's id.
    external_id: String,
    /// `no_consent`, `no_address`, `suppressed`, `frequency_cap` or `cancelled`.
    reason: String,
}

/// A page of skipped customers, by reason then id.
#[derive(Serialize, ToSchema)]
pub(crate) struct SkippedPage {
    items: Vec<SkippedView>,
    /// Skipped customers in all.
    total: i64,
    limit: i64,
    offset: i64,
}

/// Letters recorded as posted.
#[derive(Serialize, ToSchema)]
pub(crate) struct LettersPosted {
    letters: i64,
}

fn at(t: Option<i64>) -> Option<Timestamp> {
    t.map(|t| Timestamp(enishi_store::instant(t)))
}

fn view(k: &Campaign) -> Result<CampaignView, ApiError> {
    let d = ops::definition(k).map_err(ApiError::internal)?;
    let audience = match &d.audience {
        Audience::Segment(n) => AudienceView { kind: "segment".into(), name: n.clone() },
        Audience::List(n) => AudienceView { kind: "list".into(), name: n.clone() },
        Audience::Journey(n) => AudienceView { kind: "journey".into(), name: n.clone() },
    };
    Ok(CampaignView {
        name: k.name.clone(),
        mailing: k.mailing.clone(),
        version: k.version.clone(),
        channel: k.channel.clone(),
        state: k.state.as_str().to_string(),
        audience,
        send_at: at(k.send_at),
        started_at: at(k.started_at),
        finished_at: at(k.finished_at),
        created_at: Timestamp(enishi_store::instant(k.created_at)),
        definition: serde_json::to_value(&d).map_err(ApiError::internal)?,
    })
}

fn money(text: &str) -> Result<Money, ApiError> {
    text.parse().map(Money).map_err(|e: enishi_core::ParseError| ApiError::internal(e.0))
}

fn arm_view(a: &ArmResult, delivery: Option<&ArmDelivery>) -> Result<ArmView, ApiError> {
    Ok(ArmView {
        arm: a.arm.clone(),
        members: a.members,
        sent: delivery.map(|d| d.sent),
        failed: delivery.map(|d| d.failed),
        unsubscribed: delivery.map(|d| d.unsubscribed),
        conversions: a.conversions,
        conversion_rate: a.conversion_rate,
        revenue: money(&a.revenue)?,
        cost: money(&a.cost)?,
        roi: a.roi,
        median_hours_to_convert: a.median_hours_to_convert,
        uplift: a.uplift.as_ref().map(|u| UpliftView {
            difference: u.difference,
            low: u.low,
            high: u.high,
            p_value: u.p_value,
        }),
    })
}

/// The results of a campaign with its deliveries, as answered.
fn results_view(r: &Results, deliveries: &[ArmDelivery]) -> Result<ResultsView, ApiError> {
    let of = |arm: &str| deliveries.iter().find(|d| d.arm == arm);
    let all = ArmDelivery {
        arm: "all".into(),
        sent: deliveries.iter().map(|d| d.sent).sum(),
        failed: deliveries.iter().map(|d| d.failed).sum(),
        unsubscribed: deliveries.iter().map(|d| d.unsubscribed).sum(),
    };
    let mut statuses: Vec<Count> = Vec::new();
    let mut skipped: Vec<Count> = Vec::new();
    for s in &r.statuses {
        match statuses.iter_mut().find(|c| c.key == s.status) {
            Some(c) => c.count += s.count,
            None => statuses.push(Count { key: s.status.clone(), count: s.count }),
        }
        if s.status == "skipped" {
            skipped.push(Count { key: s.reason.clone().unwrap_or_default(), count: s.count });
        }
    }
    Ok(ResultsView {
        campaign: r.campaign.clone(),
        mailing: r.mailing.clone(),
        version: r.version.clone(),
        state: r.state.clone(),
        audience: r.audience,
        attribution_days: r.attribution_days,
        skipped,
        statuses,
        arms: r.arms.iter().map(|a| arm_view(a, of(&a.arm))).collect::<Result<_, _>>()?,
        total: arm_view(&r.total, Some(&all))?,
    })
}

/// 422 `invalid_campaign` with the field the message names (`variants[1].share: …`).
fn invalid_campaign(detail: String) -> ApiError {
    let field = detail.split_once(": ").map(|(f, _)| f).filter(|f| !f.contains(' ')).map(String::from);
    ApiError { field, ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_campaign", detail) }
}

/// A campaign error as the API answers it.
fn answer(e: Error) -> ApiError {
    match e {
        Error::Invalid(m) => invalid_campaign(m),
        Error::Template(_) => invalid_template(e.to_string()),
        Error::NotFound(m) => ApiError::not_found(m),
        Error::State(m) => ApiError::new(StatusCode::CONFLICT, "wrong_state", m),
        Error::Segment(enishi_segments::Error::NotFound(what, name)) => ApiError {
            field: Some("audience".into()),
            ..invalid_campaign(format!("audience: there is no {what} named \"{name}\""))
        },
        Error::Segment(enishi_segments::Error::Store(s)) | Error::Store(s) => s.into(),
        other => ApiError::internal(other),
    }
}

/// The campaign named `name`, inside a transaction.
fn find(c: &mut dyn enishi_store::Conn, name: &str) -> Result<Campaign, ApiError> {
    ops::find(c, name).map_err(answer)
}

#[utoipa::path(get, path = "/api/v1/campaigns", operation_id = "listCampaigns", tag = "campaigns",
    summary = "List campaigns",
    description = "Every campaign, newest first, with its state, audience and document.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    responses(
        (status = 200, description = "The campaigns.", body = CampaignList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = state.run(|s| Ok(s.read(repo::list)?)).await?;
    Ok(ok(CampaignList { items: all.iter().map(view).collect::<Result<_, _>>()? }))
}

#[utoipa::path(post, path = "/api/v1/campaigns", operation_id = "createCampaign", tag = "campaigns",
    summary = "Create a campaign from its document",
    description = "Checks the campaign document (docs/campaigns.md) — every field, that the shares add up to 100, that each variant's template exists and compiles, that the audience's segment or list exists — and saves it as a draft. A mistake is 422 `invalid_campaign` whose `field` names the field (`variants[1].share`, `audience`, `holdout_percent`); a name in use is 409 `name_taken`. Nothing is saved then.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((CampaignDocument = "application/json", examples(("two variants" = (value = json!({"name": "coffee DM v2", "mailing": "coffee DM", "version": "v2", "channel": "email", "audience": {"segment": "bought A only"}, "variants": [{"key": "A", "template": "offer-b", "share": 50}, {"key": "B", "template": "offer-b-short", "share": 50}], "holdout_percent": 10, "goal": {"kind": "sku", "sku": "B"}, "attribution_days": 14, "cost_per_message": "12", "sender": {"name": "Aya"}}))))))),
    responses(
        (status = 201, description = "Created as a draft.", body = CampaignView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`name_taken`: a campaign has this name.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_campaign`: which field and why.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn create(
    Manager(caller): Manager,
    State(state): State<AppState>,
    JsonText(body): JsonText,
) -> Result<Response, ApiError> {
    let currency = state.workspace().currency;
    let k = state
        .run(move |s| {
            s.write(|c| {
                let d = enishi_campaigns::Definition::parse(&body).map_err(answer)?;
                if repo::by_name(c, &d.name)?.is_some() {
                    let why = format!("a campaign named \"{}\" exists", d.name);
                    return Err(ApiError::new(StatusCode::CONFLICT, "name_taken", why));
                }
                let k = ops::create(c, &body, currency).map_err(answer)?;
                let after = serde_json::json!({"channel": k.channel});
                crate::audit::record(c, &caller.actor, "campaign.create", &k.name, Some(after))?;
                Ok(k)
            })
        })
        .await?;
    Ok(created(view(&k)?))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{name}", operation_id = "getCampaign", tag = "campaigns",
    summary = "Get a campaign",
    description = "The campaign's state, times and document.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded).")),
    responses(
        (status = 200, description = "The campaign.", body = CampaignView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn show(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let k = state.run(move |s| s.read(|c| find(c, &name))).await?;
    Ok(ok(view(&k)?))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{name}/schedule", operation_id = "scheduleCampaign", tag = "campaigns",
    summary = "Schedule a campaign",
    description = "Schedules a draft (or reschedules a scheduled) campaign: `enishi serve` starts it when the time comes. A local time is read in the business time zone. A campaign that has started is 409 `wrong_state`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded).")),
    request_body(content((ScheduleBody = "application/json", examples(("local" = (value = json!({"at": "2026-12-05 10:00"}))))))),
    responses(
        (status = 200, description = "Scheduled.", body = CampaignView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`wrong_state`: the campaign has started, finished or was cancelled.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn schedule(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    Body(b): Body<ScheduleBody>,
) -> Result<Response, ApiError> {
    let when = state.workspace().clock.parse_timestamp(&b.at).map_err(|e| ApiError::invalid("at", e.0))?;
    let k = state
        .run(move |s| {
            s.write(|c| {
                let k = find(c, &name)?;
                ops::schedule(c, &k, when.timestamp()).map_err(answer)?;
                let after = serde_json::json!({"send_at": when.to_rfc3339()});
                crate::audit::record(c, &caller.actor, "campaign.schedule", &k.name, Some(after))?;
                find(c, &name)
            })
        })
        .await?;
    Ok(ok(view(&k)?))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{name}/start", operation_id = "startCampaign", tag = "campaigns",
    summary = "Start a campaign now",
    description = "Starts a draft or scheduled campaign: snapshots its audience, skips who must not be contacted (with the reason), keeps the holdout back and queues one message per recipient, which the senders of `enishi serve` deliver (a postal campaign's letters wait for `GET …/letters`). No request body. A campaign that has started is 409 `wrong_state`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded).")),
    responses(
        (status = 200, description = "Started: the audience and where each member went.", body = Started),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`wrong_state`: the campaign has started, finished or was cancelled.", body = Problem, content_type = "application/problem+json"),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn start(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let calendar = state.workspace().clock;
    let m = state
        .run(move |s| {
            s.write(|c| {
                let k = find(c, &name)?;
                let m = ops::start(c, &k, &calendar).map_err(answer)?;
                let after = serde_json::json!({"audience": m.audience, "holdout": m.holdout});
                crate::audit::record(c, &caller.actor, "campaign.start", &k.name, Some(after))?;
                Ok(m)
            })
        })
        .await?;
    let count = |key: &str, n: usize| Count { key: key.to_string(), count: i64::try_from(n).unwrap_or(i64::MAX) };
    Ok(ok(Started {
        audience: i64::try_from(m.audience).unwrap_or(i64::MAX),
        queued: m.queued.iter().map(|(k, n)| count(k, *n)).collect(),
        holdout: i64::try_from(m.holdout).unwrap_or(i64::MAX),
        skipped: m.skipped.iter().map(|(k, n)| count(k, *n)).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{name}/cancel", operation_id = "cancelCampaign", tag = "campaigns",
    summary = "Cancel a campaign",
    description = "Cancels a campaign that has not finished: messages still queued are not sent (they are recorded as skipped, `cancelled`). No request body. A finished or cancelled campaign is 409 `wrong_state`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded).")),
    responses(
        (status = 200, description = "Cancelled.", body = CampaignView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`wrong_state`: the campaign has finished or was cancelled.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn cancel(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let k = state
        .run(move |s| {
            s.write(|c| {
                let k = find(c, &name)?;
                ops::cancel(c, &k).map_err(answer)?;
                crate::audit::record(c, &caller.actor, "campaign.cancel", &k.name, None)?;
                find(c, &name)
            })
        })
        .await?;
    Ok(ok(view(&k)?))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{name}/preview", operation_id = "previewCampaign", tag = "campaigns",
    summary = "Render a campaign's message for a customer",
    description = "The message the variant (default `A`) would send to the customer with the shop's id `customer`, rendered now with the campaign's sender and the customer's own unsubscribe link. An unknown customer or variant is 404; a channel without a message (postal, call) is 422 `invalid_campaign`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded).")),
    request_body(content((CampaignPreviewBody = "application/json", examples(("customer" = (value = json!({"customer": "C-1", "variant": "B"}))))))),
    responses(
        (status = 200, description = "The rendered message.", body = RenderedMessage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_campaign` (no message on this channel), `invalid_template` (the template fails to render) or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn preview(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    Body(b): Body<CampaignPreviewBody>,
) -> Result<Response, ApiError> {
    let w = state.workspace();
    let rendered = state
        .run(move |s| {
            s.write(|c| {
                let k = find(c, &name)?;
                let variant = b.variant.as_deref().unwrap_or("A");
                ops::preview(c, &k, variant, &b.customer, w.currency, &w.clock).map_err(answer)
            })
        })
        .await?;
    Ok(ok(RenderedMessage::from(rendered)))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{name}/results", operation_id = "campaignResults", tag = "campaigns",
    summary = "A campaign's results",
    description = "As of now: the audience, customers skipped per reason and recipients per status; then per variant, for the holdout and for all variants together: members, sent, failed, unsubscribed, conversions (members with a goal order from the message's time up to the attribution window later), conversion rate, revenue of those orders, cost, ROI, median hours to convert, and the uplift over the holdout — the difference of conversion rates with its 95% confidence interval and the two-sided p-value of the two-proportion z-test.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded).")),
    responses(
        (status = 200, description = "The results.", body = ResultsView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn results_of(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let (r, d) = state
        .run(move |s| {
            s.read(|c| {
                let k = find(c, &name)?;
                Ok((results::results(c, &k).map_err(answer)?, results::deliveries(c, &k).map_err(answer)?))
            })
        })
        .await?;
    Ok(ok(results_view(&r, &d)?))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{name}/versions", operation_id = "campaignVersions", tag = "campaigns",
    summary = "Compare the versions of a campaign's mailing",
    description = "The results (as `…/results`) of every campaign of the same mailing, oldest first: coffee DM v1 beside v2.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded).")),
    responses(
        (status = 200, description = "Every version's results.", body = VersionList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn versions(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let all = state
        .run(move |s| {
            s.read(|c| {
                let k = find(c, &name)?;
                let mut out = Vec::new();
                for v in repo::versions(c, &k.mailing)? {
                    out.push((results::results(c, &v).map_err(answer)?, results::deliveries(c, &v).map_err(answer)?));
                }
                Ok(out)
            })
        })
        .await?;
    let items = all.iter().map(|(r, d)| results_view(r, d)).collect::<Result<_, _>>()?;
    Ok(ok(VersionList { items }))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{name}/skipped", operation_id = "campaignSkipped", tag = "campaigns",
    summary = "Who got nothing, and why",
    description = "A page of the customers of the audience who were skipped, by reason then id: `no_consent` (not opted in on the channel), `no_address`, `suppressed`, `frequency_cap`, or `cancelled` (queued when the campaign was cancelled).\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded)."), PageQuery),
    responses(
        (status = 200, description = "A page of skipped customers.", body = SkippedPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn skipped(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    QueryParams(p): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (limit, offset) = (p.limit()?, p.offset()?);
    let (rows, total) = state
        .run(move |s| {
            s.read(|c| {
                let k = find(c, &name)?;
                Ok(repo::skipped_page(c, k.id, limit, offset)?)
            })
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|(customer_id, external_id, reason)| SkippedView { customer_id, external_id, reason })
        .collect();
    Ok(ok(SkippedPage { items, total, limit, offset }))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{name}/letters", operation_id = "exportCampaignLetters", tag = "campaigns",
    summary = "A postal campaign's letters, for the print shop",
    description = "The letters of a started postal campaign still to post (of one variant, or all), as CSV (UTF-8, with a header) in Japanese address order, sorted by postal code: 〒 code, prefecture, city, street, building, name with 様, the shop's id. Cells a spreadsheet would run as formulas are neutralised with a leading `'`. Recorded in the audit log (`campaign.export`). A campaign that is not postal is 422 `invalid_campaign`; one not started is 409 `wrong_state`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded)."), LettersQuery),
    responses(
        (status = 200, description = "The mailing list, as CSV.", body = String, content_type = "text/csv"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`wrong_state`: the campaign has not started, or has finished.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_campaign`: not a postal campaign.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn letters(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    QueryParams(q): QueryParams<LettersQuery>,
) -> Result<Response, ApiError> {
    let csv = state
        .run(move |s| {
            let contacts = s.read(|c| {
                let k = find(c, &name)?;
                enishi_campaigns::postal::mailing_list(c, &k, q.variant.as_deref()).map_err(answer)
            })?;
            let mut csv = Vec::new();
            let layout = enishi_ingest::export::MemberLayout::Postal;
            let rows =
                enishi_ingest::export::export_members(&contacts, layout, &mut csv).map_err(ApiError::internal)?;
            let after = serde_json::json!({"letters": rows, "variant": q.variant});
            s.write(|c| crate::audit::record(c, &caller.actor, "campaign.export", &name, Some(after)))?;
            Ok(csv)
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"campaign-letters.csv\""),
        ],
        csv,
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/campaigns/{name}/letters/confirm", operation_id = "confirmCampaignLetters", tag = "campaigns",
    summary = "Record a postal campaign's letters as posted",
    description = "Records the letters still to post (of one variant, or all) as posted now, each on its customer's communication history; results count conversions from this moment. The campaign is done when none is left. A campaign that is not postal is 422 `invalid_campaign`; one not started is 409 `wrong_state`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The campaign's name (URL-encoded).")),
    request_body(content((ConfirmBody = "application/json", examples(("all" = (value = json!({}))), ("one variant" = (value = json!({"variant": "A"}))))))),
    responses(
        (status = 200, description = "How many letters were recorded.", body = LettersPosted),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`wrong_state`: the campaign has not started, or has finished.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_campaign` (not a postal campaign) or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn confirm(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    Body(b): Body<ConfirmBody>,
) -> Result<Response, ApiError> {
    let n = state
        .run(move |s| {
            s.write(|c| {
                let k = find(c, &name)?;
                let n = enishi_campaigns::postal::confirm(c, &k, b.variant.as_deref()).map_err(answer)?;
                let after = serde_json::json!({"letters": n, "variant": b.variant});
                crate::audit::record(c, &caller.actor, "campaign.confirm", &k.name, Some(after))?;
                Ok(n)
            })
        })
        .await?;
    Ok(ok(LettersPosted { letters: i64::try_from(n).unwrap_or(i64::MAX) }))
}
