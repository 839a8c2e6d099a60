//! The loyalty API: the programme, a customer's loyalty, redemptions, coupons, adjustments,
//! tier overrides, memberships, the jobs and the ledger audit.

use crate::api::{created, existing, ok, Body, Id, JsonText, PageQuery, PathParam, QueryParams};
use crate::auth::{Caller, Manager};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use enishi_rewards::{Adjustment, LoyaltyError, MembershipAction};
use enishi_store::repo::loyalty;
use serde::Deserialize;
use serde_json::json;

/// The loyalty routes, as (method, OpenAPI path); part of [`crate::api::ROUTES`].
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/loyalty/program"),
    ("put", "/api/v1/loyalty/program"),
    ("post", "/api/v1/loyalty/jobs"),
    ("get", "/api/v1/loyalty/verify"),
    ("get", "/api/v1/loyalty/report"),
    ("get", "/api/v1/customers/{id}/loyalty"),
    ("get", "/api/v1/customers/{id}/loyalty/ledger"),
    ("post", "/api/v1/customers/{id}/loyalty/redemptions"),
    ("post", "/api/v1/customers/{id}/loyalty/adjustments"),
    ("post", "/api/v1/customers/{id}/loyalty/tier"),
    ("post", "/api/v1/customers/{id}/loyalty/membership"),
    ("post", "/api/v1/coupons/{code}/uses"),
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/loyalty/program", get(get_program).put(put_program))
        .route("/api/v1/loyalty/jobs", post(run_jobs))
        .route("/api/v1/loyalty/verify", get(verify))
        .route("/api/v1/loyalty/report", get(report))
        .route("/api/v1/customers/{id}/loyalty", get(summary))
        .route("/api/v1/customers/{id}/loyalty/ledger", get(ledger))
        .route("/api/v1/customers/{id}/loyalty/redemptions", post(redeem))
        .route("/api/v1/customers/{id}/loyalty/adjustments", post(adjust))
        .route("/api/v1/customers/{id}/loyalty/tier", post(set_tier))
        .route("/api/v1/customers/{id}/loyalty/membership", post(membership))
        .route("/api/v1/coupons/{code}/uses", post(use_coupon))
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
            LoyaltyError::Store(s) => s.into(),
        }
    }
}

async fn get_program(_: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    let versions = state.run(|s| Ok(s.read(loyalty::programs)?)).await?;
    let latest = versions.last().ok_or(LoyaltyError::NoProgram)?;
    let document: serde_json::Value = serde_json::from_str(&latest.document).map_err(ApiError::internal)?;
    let history: Vec<_> = versions
        .iter()
        .map(|v| json!({"version": v.version, "effective_from": enishi_store::instant(v.effective_from), "applied_at": enishi_store::instant(v.applied_at), "applied_by": v.applied_by}))
        .collect();
    Ok(ok(json!({"version": latest.version, "document": document, "versions": history})))
}

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
    let document: serde_json::Value = serde_json::from_str(&program.to_json()).map_err(ApiError::internal)?;
    Ok(created(json!({"version": version, "document": document})))
}

async fn run_jobs(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    let report = state.with_programs(true, move |c, programs| Ok(enishi_rewards::run_jobs(c, programs, now)?)).await?;
    Ok(ok(report))
}

async fn verify(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let (checked, mismatches) = state.run(|s| Ok(s.read(enishi_rewards::verify)?)).await?;
    Ok(ok(json!({"customers_checked": checked, "mismatches": mismatches})))
}

async fn report(_: Manager, State(state): State<AppState>) -> Result<Response, ApiError> {
    let r = state.with_programs(false, move |c, programs| Ok(enishi_rewards::report(c, programs)?)).await?;
    Ok(ok(r.ok_or(LoyaltyError::NoProgram)?))
}

async fn summary(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    existing(&state, id).await?;
    let s = state.with_programs(false, move |c, programs| Ok(enishi_rewards::summary(c, programs, id, now)?)).await?;
    Ok(ok(s))
}

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
    Ok(ok(json!({"entries": entries, "limit": limit, "offset": offset})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    reward_id: String,
    idempotency_key: String,
}

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
    Ok(if new { created(r) } else { ok(r) })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustBody {
    points: i64,
    reason: String,
    idempotency_key: String,
}

async fn adjust(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<AdjustBody>,
) -> Result<Response, ApiError> {
    let now = state.now().timestamp();
    existing(&state, id).await?;
    let by = caller.role.to_string();
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
    let body = json!({"balance": balance});
    Ok(if new { created(body) } else { ok(body) })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierBody {
    tier: String,
    reason: String,
    #[serde(default)]
    until: Option<String>,
}

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
    let answer = json!({"customer_id": id, "tier": tier, "locked_until": until.map(enishi_store::instant)});
    state
        .with_programs(true, move |c, programs| {
            enishi_rewards::set_tier(c, programs, id, &tier, &b.reason, until, now)?;
            let after = json!({"tier": tier, "reason": b.reason, "until": until});
            Ok(crate::audit::record(c, &caller.actor, "loyalty.tier", &format!("customer:{id}"), Some(after))?)
        })
        .await?;
    Ok(ok(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MembershipBody {
    action: String,
    #[serde(default)]
    plan: Option<String>,
}

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
    Ok(ok(m))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UseBody {
    use_ref: String,
}

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
    Ok(if new { created(coupon) } else { ok(coupon) })
}
