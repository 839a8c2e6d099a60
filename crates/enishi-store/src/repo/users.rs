//! Console users and their sessions. Passwords are stored only as argon2id hashes; a session
//! is a random token whose SHA-256 hash is stored, so a copy of the database signs nobody in.

use crate::db::{Conn, Row};
use crate::{params, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use enishi_core::{Language, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// How long a session lasts after sign-in, in seconds (twelve hours: one working day).
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// A console user (never their password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Sign-in name: an email address, unique, kept in lower case.
    pub email: String,
    /// Name shown in the console.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The console's language for them.
    pub language: Language,
    /// Created (Unix seconds).
    pub created_at: i64,
    /// When they were disabled; a disabled user cannot sign in.
    pub disabled_at: Option<i64>,
}

/// Why a user could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The email is not an address.
    #[error("email: '{0}' is not an email address")]
    BadEmail(String),
    /// The password is too short.
    #[error("password: use at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// Another user has the email.
    #[error("email: a user with {0} already exists")]
    Taken(String),
    /// No such user.
    #[error("no user {0}")]
    NotFound(i64),
    /// The only enabled owner cannot be disabled or lose the admin role.
    #[error("the last enabled admin must stay an enabled admin")]
    LastAdmin,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A random 16-character password (letters and digits, without look-alikes such as 0/O, 1/l).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

fn hash_password(password: &str) -> Result<String, UserError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::WeakPassword);
    }
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Decode(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| StoreError::Decode(format!("password hash: {e}")))?
        .to_string())
}

fn normal_email(email: &str) -> Result<String, UserError> {
    let e = email.trim().to_lowercase();
    match e.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !e.contains(char::is_whitespace) => Ok(e),
        _ => Err(UserError::BadEmail(email.trim().to_string())),
    }
}

const COLUMNS: &str = "id, email, name, role, language, created_at, disabled_at";

fn user_of(r: &Row) -> Result<User, StoreError> {
    let decode = |what: &str, e: enishi_core::ParseError| StoreError::Decode(format!("user {what}: {e}"));
    Ok(User {
        id: r.int(0)?,
        email: r.text(1)?,
        name: r.text(2)?,
        role: r.text(3)?.parse().map_err(|e| decode("role", e))?,
        language: r.text(4)?.parse().map_err(|e| decode("language", e))?,
        created_at: r.int(5)?,
        disabled_at: r.opt_int(6)?,
    })
}

/// Creates a user; returns their id.
pub fn create(
    c: &mut dyn Conn,
    email: &str,
    name: &str,
    role: Role,
    language: Language,
    password: &str,
) -> Result<i64, UserError> {
    let email = normal_email(email)?;
    if c.query_opt("SELECT id FROM users WHERE email = $1", params![email.as_str()])?.is_some() {
        return Err(UserError::Taken(email));
    }
    let hash = hash_password(password)?;
    let name =
        if name.trim().is_empty() { email.split('@').next().unwrap_or("").to_string() } else { name.trim().into() };
    let row = c.query_one(
        "INSERT INTO users (email, name, role, language, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        params![email.as_str(), name, role.as_str(), language.as_str(), hash, c.now()],
    );
    match row {
        Ok(r) => Ok(r.int(0)?),
        Err(StoreError::Conflict(_)) => Err(UserError::Taken(email)),
        Err(e) => Err(e.into()),
    }
}

/// Every user, by email.
pub fn list(c: &mut dyn Conn) -> Result<Vec<User>, StoreError> {
    c.query(&format!("SELECT {COLUMNS} FROM users ORDER BY email"), &[])?.iter().map(user_of).collect()
}

/// One user.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<User>, StoreError> {
    c.query_opt(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"), params![id])?.as_ref().map(user_of).transpose()
}

/// The enabled user whose email and password these are; `None` for a wrong pair (which of
/// the two is wrong is not told). A wrong email costs as much time as a wrong password.
pub fn check_password(c: &mut dyn Conn, email: &str, password: &str) -> Result<Option<User>, StoreError> {
    let row = c.query_opt(
        &format!("SELECT {COLUMNS}, password_hash FROM users WHERE email = $1 AND disabled_at IS NULL"),
        params![email.trim().to_lowercase()],
    )?;
    // An unknown email is checked against a hash made once, so that timing does not reveal it.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = match &row {
        Some(r) => r.text(7)?,
        None => DUMMY.get_or_init(|| hash_password("not anybody's password").unwrap_or_default()).clone(),
    };
    let ok = PasswordHash::new(&stored)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    match row {
        Some(r) if ok => Ok(Some(user_of(&r)?)),
        _ => Ok(None),
    }
}

fn enabled_admins_other_than(c: &mut dyn Conn, id: i64) -> Result<i64, StoreError> {
    c.query_one("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1", params![id])?
        .int(0)
}

/// Changes a user's role; the last enabled admin keeps theirs.
pub fn set_role(c: &mut dyn Conn, id: i64, role: Role) -> Result<(), UserError> {
    let user = get(c, id)?.ok_or(UserError::NotFound(id))?;
    if user.role == Role::Admin && role != Role::Admin && enabled_admins_other_than(c, id)? == 0 {
        return Err(UserError::LastAdmin);
    }
    c.execute("UPDATE users SET role = $1 WHERE id = $2", params![role.as_str(), id])?;
    Ok(())
}

/// Disables (signing them out everywhere) or re-enables a user; the last enabled admin stays.
pub fn set_disabled(c: &mut dyn Conn, id: i64, disabled: bool) -> Result<(), UserError> {
    let user = get(c, id)?.ok_or(UserError::NotFound(id))?;
    if disabled {
        if user.role == Role::Admin && user.disabled_at.is_none() && enabled_admins_other_than(c, id)? == 0 {
            return Err(UserError::LastAdmin);
        }
        c.execute("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL", params![c.now(), id])?;
        c.execute("DELETE FROM sessions WHERE user_id = $1", params![id])?;
    } else {
        c.execute("UPDATE users SET disabled_at = NULL WHERE id = $1", params![id])?;
    }
    Ok(())
}

/// Sets a user's console language.
pub fn set_language(c: &mut dyn Conn, id: i64, language: Language) -> Result<(), UserError> {
    match c.execute("UPDATE users SET language = $1 WHERE id = $2", params![language.as_str(), id])? {
        0 => Err(UserError::NotFound(id)),
        _ => Ok(()),
    }
}

/// Sets a user's password and ends their other sessions (`keep` is the one in use, if any).
pub fn set_password(c: &mut dyn Conn, id: i64, password: &str, keep: Option<&str>) -> Result<(), UserError> {
    let hash = hash_password(password)?;
    if c.execute("UPDATE users SET password_hash = $1 WHERE id = $2", params![hash, id])? == 0 {
        return Err(UserError::NotFound(id));
    }
    let kept = keep.map(token_hash).unwrap_or_default();
    c.execute("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2", params![id, kept])?;
    Ok(())
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session for a user at `now`; returns its token, to be kept in a cookie.
pub fn start_session(c: &mut dyn Conn, user_id: i64, now: i64) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    c.execute("DELETE FROM sessions WHERE expires_at <= $1", params![now])?;
    c.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        params![token_hash(&token), user_id, now, now + SESSION_SECONDS],
    )?;
    Ok(token)
}

/// The enabled user of an unexpired session.
pub fn session_user(c: &mut dyn Conn, token: &str, now: i64) -> Result<Option<User>, StoreError> {
    let cols = COLUMNS.split(", ").map(|col| format!("u.{col}")).collect::<Vec<_>>().join(", ");
    c.query_opt(
        &format!(
            "SELECT {cols} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
        ),
        params![token_hash(token), now],
    )?
    .as_ref()
    .map(user_of)
    .transpose()
}

/// Ends a session (signing out).
pub fn end_session(c: &mut dyn Conn, token: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM sessions WHERE token_hash = $1", params![token_hash(token)])?;
    Ok(())
}
