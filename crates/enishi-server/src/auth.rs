//! Bearer-token authentication for the API. (The console's users sign in with passwords;
//! see `shell`.)

use crate::{ApiError, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use enishi_core::Role;
use enishi_store::repo::tokens;
use sha2::Digest;

/// Every role.
pub(crate) const EVERYONE: &[Role] = &[Role::Admin, Role::Marketer, Role::Staff];
/// The roles that run the marketing: admins and marketers.
pub(crate) const MANAGERS: &[Role] = &[Role::Admin, Role::Marketer];

/// The caller's role, from a valid `Authorization: Bearer` token, and a key that tells
/// callers apart (for rate limits) without holding the token. As a handler's argument it
/// admits any valid token (every role); [`Manager`] and [`Admin`] admit fewer.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's role.
    pub role: Role,
    /// `token:` and the first hex digits of the token's SHA-256.
    pub key: String,
    /// Who, as the audit log names them: `token:LABEL (ROLE)`.
    pub actor: String,
}

impl Caller {
    /// Refuses callers whose role is not in `allowed`.
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("the {} role may not do this", self.role)))
        }
    }
}

/// The token sent as a bearer token.
fn token_of(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// Checks a token: its role and label, `None` when it is unknown or revoked.
async fn role_of(state: &AppState, token: String) -> Result<Option<(Role, String)>, ApiError> {
    state.run(move |s| Ok(s.read(|c| tokens::role_and_label_of(c, &token))?)).await
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = |detail: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
        let token = token_of(parts).ok_or_else(|| {
            unauthorized("send Authorization: Bearer TOKEN (make one with `enishi token create --role admin`)")
        })?;
        let digest = sha2::Sha256::digest(token.as_bytes());
        let key = format!("token:{}", hex::encode(&digest[..8]));
        match role_of(state, token).await? {
            Some((role, label)) => {
                let actor = format!("token:{label} ({role})");
                crate::observe::set_caller(actor.clone());
                Ok(Caller { role, key, actor })
            }
            None => Err(unauthorized("the token is unknown or revoked")),
        }
    }
}

/// A caller with the admin or marketer role. As the first argument of a handler it refuses
/// everyone else with 403 before any parameter or body is read (a staff caller with a bad
/// parameter learns only that the route is not theirs).
pub struct Manager(pub Caller);

/// A caller with the admin role, refused like [`Manager`].
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Manager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(MANAGERS)?;
        Ok(Manager(caller))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(&[Role::Admin])?;
        Ok(Admin(caller))
    }
}
