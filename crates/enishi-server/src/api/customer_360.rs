//! `GET /api/v1/customers/{id}/360`: everything about one customer in one call, read in one
//! transaction — the profile, consent on every channel, loyalty, the analytics scores, the
//! owner, open issues, open tasks, the latest survey answers and the recent timeline — for a
//! till, a call screen or an integrator that shows the customer (docs/api.md, "Customer 360").

use super::customers::{ConsentChannelName, ConsentStatusName, CustomerView, ScoresView, TimelineView};
use super::interactions::InteractionView;
use super::loyalty::LoyaltySummary;
use super::shared::{ok, Id, PathParam, Timestamp, UserView};
use super::tasks::TaskView;
use crate::auth::Caller;
use crate::openapi::{BadRequest, Forbidden, Internal, NotFound, Unauthorized, Unavailable};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::response::Response;
use enishi_core::{ConsentChannel, ConsentStatus, TaskStatus};
use enishi_store::repo::surveys::Invitation;
use enishi_store::repo::tasks::TaskQuery;
use enishi_store::repo::{customers, history, scores, surveys, tasks};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most open issues, open tasks and timeline entries the answer lists.
const LISTED: i64 = 20;
/// Most survey answers the answer lists.
const ANSWERS: i64 = 5;

/// The customer 360 route, registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(customer_360))
}

/// Consent on one channel, also for a channel never set (`unknown`).
#[derive(Serialize, ToSchema)]
pub(crate) struct ChannelConsent {
    channel: ConsentChannelName,
    status: ConsentStatusName,
    /// When it was last changed; null when it was never set.
    #[schema(required = true)]
    changed_at: Option<Timestamp>,
    /// How it was given or withdrawn (`api`, `customer page`, `unsubscribe_link`, …); null when it was never set.
    #[schema(required = true)]
    source: Option<String>,
}

/// One answer the customer gave to a survey.
#[derive(Serialize, ToSchema)]
pub(crate) struct SurveyAnswer {
    /// The survey's name.
    survey: String,
    /// `nps`, `csat` or `stop`.
    kind: String,
    answered_at: Timestamp,
    /// NPS 0–10 or CSAT level 1–5; null for a stop survey.
    #[schema(required = true)]
    score: Option<i64>,
    /// For an NPS answer: `promoter`, `passive` or `detractor`; null otherwise.
    #[schema(required = true)]
    nps_group: Option<String>,
    /// For a stop survey: the reason's key (`price`, …); null otherwise.
    #[schema(required = true)]
    reason: Option<String>,
    /// What they wrote, as written (escape it to show it).
    #[schema(required = true)]
    comment: Option<String>,
}

impl From<Invitation> for SurveyAnswer {
    fn from(i: Invitation) -> Self {
        SurveyAnswer {
            nps_group: (i.kind == "nps")
                .then_some(i.score)
                .flatten()
                .map(|s| enishi_campaigns::surveys::nps_group(s).to_string()),
            survey: i.survey,
            kind: i.kind,
            answered_at: Timestamp(i.answered_at.unwrap_or(i.created_at)),
            score: i.score,
            reason: i.reason,
            comment: i.comment,
        }
    }
}

/// Everything about one customer.
#[derive(Serialize, ToSchema)]
#[schema(as = Customer360)]
pub(crate) struct Customer360 {
    /// The profile with its running totals (as `GET /api/v1/customers/{id}`, without `scores`).
    customer: CustomerView,
    /// Every channel (email, sms, postal, phone), in that order.
    consent: Vec<ChannelConsent>,
    /// Points (balance, available, pending, expiring), tier, stamp cards, coupons, membership, referral code (as `GET /api/v1/customers/{id}/loyalty`).
    loyalty: LoyaltySummary,
    /// RFM, lifecycle stage, loyal class, P(alive) and CLV; null before any analysis ran.
    #[schema(required = true)]
    scores: Option<ScoresView>,
    /// The customer's owner (their dedicated person); null for nobody.
    #[schema(required = true)]
    owner: Option<UserView>,
    /// Open issues (`open` or `in_progress` interactions), newest first, at most 20.
    open_issues: Vec<InteractionView>,
    /// Open tasks, the soonest due first, at most 20.
    open_tasks: Vec<TaskView>,
    /// The latest survey answers, newest first, at most 5.
    survey_answers: Vec<SurveyAnswer>,
    /// The newest timeline entries, at most 20 (as `GET /api/v1/customers/{id}/timeline`).
    timeline: Vec<TimelineView>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/360", operation_id = "getCustomer360", tag = "customers",
    summary = "Everything about a customer in one call",
    description = "The customer 360, read in one transaction: the profile with its totals; consent on every channel (`unknown` where never set); loyalty (balance, available, pending, expiring points by date, tier with progress, stamp cards, coupons, membership, referral code); the analytics scores (RFM, lifecycle stage, loyal class, P(alive), CLV; null before any analysis); the owner; open issues (newest first, at most 20); open tasks (soonest due first, at most 20); the latest survey answers (at most 5); and the newest 20 timeline entries. An unknown customer is 404.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    responses(
        (status = 200, description = "The customer 360.", body = Customer360),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn customer_360(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let found = state
        .with_programs(false, move |c, programs| {
            let Some(k) = customers::get(c, id)? else { return Ok(None) };
            let loyalty = enishi_rewards::summary(c, programs, id, now.timestamp())?;
            let scores = scores::get(c, id)?;
            let owner = tasks::customer_owner(c, id)?;
            let issues = history::open_issues(c, id, LISTED)?;
            let open = TaskQuery { customer_id: Some(id), status: Some(TaskStatus::Open), ..TaskQuery::default() };
            let open_tasks = tasks::list(c, &open, LISTED, 0)?;
            let answers = surveys::customer_answers(c, id, ANSWERS)?;
            let timeline = history::timeline(c, id, LISTED, 0)?;
            let consent = ConsentChannel::ALL
                .iter()
                .map(|channel| match k.consents.iter().find(|x| x.channel == *channel) {
                    Some(x) => ChannelConsent {
                        channel: ConsentChannelName(*channel),
                        status: ConsentStatusName(x.status),
                        changed_at: Some(Timestamp(x.changed_at)),
                        source: Some(x.source.clone()),
                    },
                    None => ChannelConsent {
                        channel: ConsentChannelName(*channel),
                        status: ConsentStatusName(ConsentStatus::Unknown),
                        changed_at: None,
                        source: None,
                    },
                })
                .collect();
            Ok(Some(Customer360 {
                customer: CustomerView::from(k),
                consent,
                loyalty: LoyaltySummary::from(loyalty),
                scores: scores.map(ScoresView::from),
                owner: owner.map(UserView::from),
                open_issues: issues.into_iter().map(InteractionView::from).collect(),
                open_tasks: open_tasks.into_iter().map(|t| TaskView::of(t, now)).collect(),
                survey_answers: answers.into_iter().map(SurveyAnswer::from).collect(),
                timeline: timeline.into_iter().map(TimelineView::from).collect(),
            }))
        })
        .await?;
    Ok(ok(found.ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?))
}
