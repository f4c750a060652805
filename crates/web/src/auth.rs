//! Who is calling: a person through a session cookie, or an agency system
//! through a bearer API token. Passwords are argon2id hashes; session ids
//! and token secrets are 256-bit random values stored as SHA-256.

use crate::problem::Problem;
use crate::state::{Shared, blocking};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use kinship_app::access::Principal;
use kinship_store::{Account, Accounts, ApiToken, SessionRecord};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

pub const COOKIE: &str = "kinship_session";
pub const SCOPES: &[&str] = &["read", "command"];

pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| format!("no system randomness: {e}"))?;
    Ok(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Compares two hex digests without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new random password: 20 characters from an alphabet without look-alikes.
pub fn new_password() -> Result<String, String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    Ok(random_bytes::<20>()?.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
}

/// On an empty store, creates the `admin` account and returns its one-time
/// password (to be printed once, never logged). `None` if accounts exist.
pub fn bootstrap_admin(accounts: &dyn Accounts) -> Result<Option<String>, String> {
    if accounts.account_count().map_err(|e| e.to_string())? > 0 {
        return Ok(None);
    }
    let password = new_password()?;
    let created = add_account(accounts, "admin", "HQ", "admin", &password)?;
    Ok(created.then_some(password))
}

/// Creates an account; `false` if the name is taken.
pub fn add_account(accounts: &dyn Accounts, username: &str, agency: &str, role: &str, password: &str) -> Result<bool, String> {
    let account = Account {
        username: username.into(),
        password_hash: hash_password(password)?,
        agency: agency.into(),
        role: role.into(),
        disabled: false,
        created_at: jiff::Timestamp::now(),
    };
    accounts.account_create(&account).map_err(|e| e.to_string())
}

/// Issues an API token; returns it with the secret string to hand over once.
pub fn issue_token(
    accounts: &dyn Accounts,
    label: &str,
    agency: &str,
    role: &str,
    scopes: &[String],
    by: &str,
) -> Result<(ApiToken, String), String> {
    if let Some(s) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(format!("unknown scope {s:?}; known: {}", SCOPES.join(", ")));
    }
    let id = hex::encode(random_bytes::<8>()?);
    let secret = hex::encode(random_bytes::<32>()?);
    let token = ApiToken {
        id: id.clone(),
        secret_hash: sha256_hex(&secret),
        label: label.into(),
        agency: agency.into(),
        role: role.into(),
        scopes: scopes.to_vec(),
        created_by: by.into(),
        created_at: jiff::Timestamp::now(),
        revoked_at: None,
    };
    if !accounts.token_create(&token).map_err(|e| e.to_string())? {
        return Err("token id collision; try again".into());
    }
    Ok((token, format!("kinship_{id}_{secret}")))
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    /// `None` for a person's session (all scopes); the token's scopes otherwise.
    pub scopes: Option<Vec<String>>,
}

impl Caller {
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        match &self.scopes {
            Some(s) if !s.iter().any(|x| x == scope) => {
                Err(Problem::new(StatusCode::FORBIDDEN, "token-scope", format!("this API token lacks the {scope:?} scope")))
            }
            _ => Ok(()),
        }
    }
}

pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE && !v.is_empty()).then(|| v.to_string())
    })
}

fn source(parts: &Parts) -> String {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

fn resolve(state: &Shared, bearer: Option<String>, cookie: Option<String>, source: String) -> Result<Caller, Problem> {
    let store_err = |_| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "accounts-unavailable", "the accounts store failed; try again");
    if let Some(t) = bearer {
        let (id, secret) = t.strip_prefix("kinship_").and_then(|r| r.split_once('_')).ok_or_else(Problem::unauthorized)?;
        let token = state.accounts.token(id).map_err(store_err)?.ok_or_else(Problem::unauthorized)?;
        if token.revoked_at.is_some() || !same(&token.secret_hash, &sha256_hex(secret)) {
            return Err(Problem::unauthorized());
        }
        let principal =
            Principal { user: format!("token:{}", token.label), agency: token.agency, role: token.role, token: Some(token.id), source };
        return Ok(Caller { principal, scopes: Some(token.scopes) });
    }
    let cookie = cookie.ok_or_else(Problem::unauthorized)?;
    let session = state
        .accounts
        .session_touch(&sha256_hex(&cookie), jiff::Timestamp::now(), state.idle_timeout_s)
        .map_err(store_err)?
        .ok_or_else(Problem::unauthorized)?;
    let account = state.accounts.account(&session.username).map_err(store_err)?.ok_or_else(Problem::unauthorized)?;
    if account.disabled {
        return Err(Problem::unauthorized());
    }
    Ok(Caller {
        principal: Principal { user: account.username, agency: account.agency, role: account.role, token: None, source },
        scopes: None,
    })
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_string());
        let cookie = session_cookie(parts);
        let source = source(parts);
        let state = state.clone();
        blocking(move || resolve(&state, bearer, cookie, source)).await?
    }
}

/// Logs in: checks the password and opens a session. Returns the cookie's secret.
pub fn login(accounts: &dyn Accounts, username: &str, password: &str) -> Result<(Account, String), Problem> {
    let refused = || Problem::new(StatusCode::UNAUTHORIZED, "bad-credentials", "unknown user, wrong password or disabled account");
    let account = accounts.account(username).map_err(|_| refused())?;
    // Verify against a fixed hash when the user is unknown, so timing does not tell.
    let hash = account.as_ref().map(|a| a.password_hash.as_str()).unwrap_or(DUMMY_HASH);
    let ok = verify_password(hash, password);
    let account = account.filter(|a| ok && !a.disabled).ok_or_else(refused)?;
    let secret = hex::encode(random_bytes::<32>().map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?);
    let now = jiff::Timestamp::now();
    accounts
        .session_create(&SessionRecord {
            id_hash: sha256_hex(&secret),
            username: account.username.clone(),
            created_at: now,
            last_seen: now,
        })
        .map_err(|_| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "accounts-unavailable", "the accounts store failed; try again"))?;
    Ok((account, secret))
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0KbLDzQ8r5fW4Xlz0WmXd4p0v4ZgkYtq9qO4P7dF1bI";

/// The session cookie. No `Max-Age` while logged in (the server ends idle
/// sessions itself); `Some(0)` clears it.
pub fn set_cookie(secret: &str, secure: bool, max_age_s: Option<i64>) -> String {
    let secure = if secure { "; Secure" } else { "" };
    let age = max_age_s.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    format!("{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict{age}{secure}")
}
