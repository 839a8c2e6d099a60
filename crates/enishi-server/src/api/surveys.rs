//! `/api/v1/surveys`: NPS, CSAT and "why did you stop buying?" surveys (admins and marketers;
//! docs/listening.md) — make one (a mistake is 422 `invalid_survey` naming the field), list and
//! read them, invite the members of a saved segment or customers by their shop ids, and the
//! results: NPS with its groups, the CSAT distribution over the five levels, the stop reasons,
//! a trend by month and the newest free-text answers, over everyone or one segment's customers.
//! The results are the ones `enishi survey results` prints (`enishi_campaigns::surveys`).

use super::shared::{created, ok, Body, PathParam, QueryParams, Timestamp};
use crate::auth::Manager;
use crate::error::Problem;
use crate::openapi::{
    BadRequest, Forbidden, Internal, NotFound, PayloadTooLarge, Unauthorized, Unavailable, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use enishi_campaigns::surveys::{self as ops, Results};
use enishi_campaigns::template::Language;
use enishi_campaigns::Error;
use enishi_store::repo::surveys::{self as repo, Survey};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The survey routes, each registered with its documentation.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show))
        .routes(routes!(invite))
        .routes(routes!(results_of))
}

/// A survey to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SurveyInput)]
pub(crate) struct SurveyBody {
    /// A unique name, 1 to 200 characters, without control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    name: String,
    /// `nps` (0–10), `csat` (five levels) or `stop` ("why did you stop buying?").
    #[schema(example = "nps")]
    kind: String,
    /// Days each invitation's link is valid, 1 to 365 (default 14).
    #[serde(default)]
    #[schema(nullable = false, minimum = 1, maximum = 365)]
    valid_days: Option<i64>,
}

/// Whom to invite: the members of a saved segment, or customers by their shop ids (one of the
/// two).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SurveyInvitationInput)]
pub(crate) struct InviteBody {
    /// A saved segment's name: its members as of today.
    #[serde(default)]
    #[schema(
        nullable = false,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    segment: Option<String>,
    /// The shop's ids of the customers, 1 to 1000.
    #[serde(default)]
    #[schema(nullable = false, min_items = 1, max_items = 1000)]
    customers: Option<Vec<String>>,
}

/// Which customers the results cover.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResultsQuery {
    /// Only the customers of this saved segment (as of today).
    #[serde(default)]
    segment: Option<String>,
}

/// A survey.
#[derive(Serialize, ToSchema)]
#[schema(as = Survey)]
pub(crate) struct SurveyView {
    /// Enishi's id.
    id: i64,
    /// Its unique name.
    name: String,
    /// `nps`, `csat` or `stop`.
    kind: String,
    /// Days an invitation's link is valid.
    valid_days: i64,
    created_at: Timestamp,
}

/// Every survey, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct SurveyList {
    items: Vec<SurveyView>,
}

/// What inviting did.
#[derive(Serialize, ToSchema)]
pub(crate) struct Invited {
    /// Customers invited now (those with an unanswered, unexpired invitation are skipped).
    invited: u64,
}

/// NPS: the groups and the score.
#[derive(Serialize, ToSchema)]
#[schema(as = NpsResult)]
pub(crate) struct NpsView {
    /// Answers of 9–10.
    promoters: u64,
    /// Answers of 7–8.
    passives: u64,
    /// Answers of 0–6.
    detractors: u64,
    /// % promoters − % detractors, −100 to 100, to one decimal; null without answers.
    #[schema(required = true)]
    score: Option<f64>,
}

/// How many answered one CSAT level.
#[derive(Serialize, ToSchema)]
pub(crate) struct CsatLevel {
    /// 1 (not satisfied) to 5 (extremely satisfied).
    #[schema(minimum = 1, maximum = 5)]
    level: i64,
    /// The level's name in English.
    label: String,
    count: u64,
}

/// CSAT: the distribution over the five levels.
#[derive(Serialize, ToSchema)]
#[schema(as = CsatResult)]
pub(crate) struct CsatView {
    /// Levels 1 to 5, in order (all five, also those nobody chose).
    levels: Vec<CsatLevel>,
    /// Percent of answers at level 4 or 5, to one decimal; null without answers.
    #[schema(required = true)]
    satisfied_percent: Option<f64>,
    /// The average level, to two decimals; null without answers.
    #[schema(required = true)]
    average: Option<f64>,
}

/// How often one stop reason was given.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReasonView {
    /// `price`, `quality`, `service`, `elsewhere`, `moved`, `no_need` or `other`.
    reason: String,
    /// The reason in English.
    label: String,
    count: u64,
}

/// One month of answers.
#[derive(Serialize, ToSchema)]
pub(crate) struct MonthView {
    /// `YYYY-MM`, in the business time zone.
    month: String,
    /// Answers given that month.
    answered: u64,
    /// The month's NPS (NPS surveys; null otherwise).
    #[schema(required = true)]
    nps: Option<f64>,
    /// The month's average CSAT level (CSAT surveys; null otherwise).
    #[schema(required = true)]
    csat_average: Option<f64>,
}

/// One free-text answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct CommentView {
    /// Enishi's id of the customer.
    customer_id: i64,
    answered_at: Timestamp,
    /// The score or level (NPS, CSAT).
    #[schema(required = true)]
    score: Option<i64>,
    /// The reason (stop surveys).
    #[schema(required = true)]
    reason: Option<String>,
    /// What they wrote, as written (escape it to show it).
    comment: String,
}

/// A survey's results as of now.
#[derive(Serialize, ToSchema)]
#[schema(as = SurveyResults)]
pub(crate) struct ResultsView {
    survey: SurveyView,
    /// The segment the results are narrowed to; null for everyone.
    #[schema(required = true)]
    segment: Option<String>,
    /// Invitations made.
    invited: u64,
    /// Invitations answered.
    answered: u64,
    /// NPS surveys only; null otherwise.
    #[schema(required = true)]
    nps: Option<NpsView>,
    /// CSAT surveys only; null otherwise.
    #[schema(required = true)]
    csat: Option<CsatView>,
    /// Stop surveys: the reasons given, the most given first (empty otherwise).
    reasons: Vec<ReasonView>,
    /// The trend: answers per month, oldest first.
    months: Vec<MonthView>,
    /// The newest free-text answers (at most 50), newest first.
    comments: Vec<CommentView>,
}

fn survey_view(s: &Survey) -> SurveyView {
    SurveyView {
        id: s.id,
        name: s.name.clone(),
        kind: s.kind.clone(),
        valid_days: s.valid_days,
        created_at: Timestamp(s.created_at),
    }
}

fn results_view(r: Results) -> ResultsView {
    ResultsView {
        survey: survey_view(&r.survey),
        segment: r.segment,
        invited: r.invited,
        answered: r.answered,
        nps: r.nps.map(|n| NpsView {
            promoters: n.promoters,
            passives: n.passives,
            detractors: n.detractors,
            score: n.score,
        }),
        csat: r.csat.map(|c| CsatView {
            levels: (1..)
                .zip(c.levels)
                .map(|(level, count)| CsatLevel {
                    level,
                    label: ops::csat_label(level, Language::English).to_string(),
                    count,
                })
                .collect(),
            satisfied_percent: c.satisfied_percent,
            average: c.average,
        }),
        reasons: r
            .reasons
            .into_iter()
            .map(|x| ReasonView {
                label: ops::reason_label(&x.reason, Language::English),
                reason: x.reason,
                count: x.count,
            })
            .collect(),
        months: r
            .months
            .into_iter()
            .map(|m| MonthView { month: m.month, answered: m.answered, nps: m.nps, csat_average: m.csat_average })
            .collect(),
        comments: r
            .comments
            .into_iter()
            .map(|c| CommentView {
                customer_id: c.customer_id,
                answered_at: Timestamp(c.answered_at),
                score: c.score,
                reason: c.reason,
                comment: c.comment,
            })
            .collect(),
    }
}

/// 422 `invalid_survey` with the field the message names (`kind: …`, `customers[2]: …`).
fn invalid_survey(detail: String) -> ApiError {
    let field = detail.split_once(": ").map(|(f, _)| f).filter(|f| !f.contains(' ')).map(String::from);
    ApiError { field, ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_survey", detail) }
}

/// A survey error as the API answers it.
fn answer(e: Error) -> ApiError {
    match e {
        Error::Invalid(m) => invalid_survey(m),
        Error::NotFound(m) => ApiError::not_found(m),
        Error::State(m) => ApiError::new(StatusCode::CONFLICT, "name_taken", m),
        Error::Segment(enishi_segments::Error::NotFound(what, name)) => {
            invalid_survey(format!("segment: there is no {what} named \"{name}\""))
        }
        Error::Segment(enishi_segments::Error::Store(s)) | Error::Store(s) => s.into(),
        other => ApiError::internal(other),
    }
}

/// A segment name as sent: not blank.
fn segment_name(v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(t) if t.trim().is_empty() => Err(invalid_survey("segment: must not be blank".into())),
        other => Ok(other.map(|t| t.trim().to_string())),
    }
}

#[utoipa::path(get, path = "/api/v1/surveys", operation_id = "listSurveys", tag = "surveys",
    summary = "List surveys",
    description = "Every survey, newest first.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    responses(
        (status = 200, description = "The surveys.", body = SurveyList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = state.run(|s| Ok(s.read(repo::list)?)).await?;
    Ok(ok(SurveyList { items: all.iter().map(survey_view).collect() }))
}

#[utoipa::path(post, path = "/api/v1/surveys", operation_id = "createSurvey", tag = "surveys",
    summary = "Make a survey",
    description = "Makes an `nps`, `csat` or `stop` survey whose invitation links are valid `valid_days` days (default 14). A wrong field is 422 `invalid_survey` naming it (`name`, `kind`, `valid_days`); a name in use is 409 `name_taken`. Audited as `survey.create`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    request_body(content((SurveyBody = "application/json", examples(("nps" = (value = json!({"name": "After visit", "kind": "nps", "valid_days": 14}))))))),
    responses(
        (status = 201, description = "Made.", body = SurveyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`name_taken`: a survey has this name.", body = Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_survey` (`field` names the field) or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn create(
    Manager(caller): Manager,
    State(state): State<AppState>,
    Body(b): Body<SurveyBody>,
) -> Result<Response, ApiError> {
    let s = state
        .run(move |s| {
            s.write(|c| {
                let made = ops::create(c, &b.name, &b.kind, b.valid_days).map_err(answer)?;
                let after = serde_json::json!({"kind": made.kind, "valid_days": made.valid_days});
                crate::audit::record(c, &caller.actor, "survey.create", &made.name, Some(after))?;
                Ok(made)
            })
        })
        .await?;
    Ok(created(survey_view(&s)))
}

#[utoipa::path(get, path = "/api/v1/surveys/{name}", operation_id = "getSurvey", tag = "surveys",
    summary = "Get a survey",
    description = "The survey's kind and how long its links are valid.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The survey's name (URL-encoded).")),
    responses(
        (status = 200, description = "The survey.", body = SurveyView),
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
    let s = state.run(move |s| s.read(|c| ops::find(c, &name).map_err(answer))).await?;
    Ok(ok(survey_view(&s)))
}

#[utoipa::path(post, path = "/api/v1/surveys/{name}/invitations", operation_id = "inviteToSurvey", tag = "surveys",
    summary = "Invite customers to a survey",
    description = "Invites the members of the saved segment `segment` as of today, or the customers whose shop ids `customers` lists — one of the two — skipping anyone with an invitation to this survey not yet answered nor expired. A campaign then sends each their link with the merge field `{{ survey_url }}` (docs/listening.md). An unknown segment or shop id, both or neither given, is 422 `invalid_survey` naming the field (`segment`, `customers[2]`), and nobody is invited. Audited as `survey.invite`.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The survey's name (URL-encoded).")),
    request_body(content((InviteBody = "application/json", examples(
        ("a segment" = (value = json!({"segment": "Regulars"}))),
        ("customers" = (value = json!({"customers": ["C-1", "C-2"]}))),
    )))),
    responses(
        (status = 200, description = "How many were invited.", body = Invited),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "`invalid_survey` (`field` names the field) or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn invite(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    Body(b): Body<InviteBody>,
) -> Result<Response, ApiError> {
    let calendar = state.workspace().clock;
    let segment = segment_name(b.segment)?;
    let invited = state
        .run(move |s| {
            s.write(|c| {
                let survey = ops::find(c, &name).map_err(answer)?;
                let (n, whom) = match (segment, b.customers) {
                    (Some(seg), None) => {
                        let n = ops::invite_segment(c, &survey, &seg, &calendar).map_err(answer)?;
                        (n, serde_json::json!({"segment": seg}))
                    }
                    (None, Some(ids)) => {
                        let n = ops::invite_customers(c, &survey, &ids).map_err(answer)?;
                        (n, serde_json::json!({"customers": ids.len()}))
                    }
                    _ => return Err(invalid_survey("segment: give a segment or customers, one of the two".into())),
                };
                let after = serde_json::json!({"whom": whom, "invited": n});
                crate::audit::record(c, &caller.actor, "survey.invite", &survey.name, Some(after))?;
                Ok(n)
            })
        })
        .await?;
    Ok(ok(Invited { invited }))
}

#[utoipa::path(get, path = "/api/v1/surveys/{name}/results", operation_id = "getSurveyResults", tag = "surveys",
    summary = "A survey's results",
    description = "Invited and answered; for an NPS survey the promoters (9–10), passives (7–8), detractors (0–6) and the score (% promoters − % detractors, one decimal); for a CSAT survey the count of each of the five levels, the share satisfied (levels 4–5) and the average level; for a stop survey the reasons, the most given first; the trend per month (business time zone) with the month's NPS or average CSAT; and the newest free-text answers. `segment` narrows everything to the customers of a saved segment today (an unknown one is 422 `invalid_survey`).\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("name" = String, Path, description = "The survey's name (URL-encoded)."), ResultsQuery),
    responses(
        (status = 200, description = "The results.", body = ResultsView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, description = "`invalid_survey`: no saved segment has that name.", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn results_of(
    _: Manager,
    State(state): State<AppState>,
    PathParam(name): PathParam<String>,
    QueryParams(q): QueryParams<ResultsQuery>,
) -> Result<Response, ApiError> {
    let calendar = state.workspace().clock;
    let segment = segment_name(q.segment)?;
    let r = state
        .run(move |s| {
            s.read(|c| {
                let survey = ops::find(c, &name).map_err(answer)?;
                ops::results(c, &survey, segment.as_deref(), &calendar).map_err(answer)
            })
        })
        .await?;
    Ok(ok(results_view(r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survey_mistakes_name_their_field() {
        let e = answer(Error::Invalid("kind: 'x' is not a survey kind".into()));
        assert_eq!(
            (e.status, e.code, e.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_survey", Some("kind"))
        );
        let e = answer(Error::Segment(enishi_segments::Error::NotFound("segment", "vip".into())));
        assert_eq!((e.code, e.field.as_deref()), ("invalid_survey", Some("segment")));
        assert_eq!(answer(Error::State("taken".into())).code, "name_taken");
        assert_eq!(answer(Error::NotFound("no survey".into())).status, StatusCode::NOT_FOUND);
    }
}
