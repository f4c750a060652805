//! The JSON API. Handlers only translate HTTP to service calls: access
//! control, reach and audit happen in `kinship_app::service`, and every
//! store call runs on the blocking pool.

use crate::auth::{self, Caller};
use crate::problem::{Problem, ProblemBody};
use crate::state::{Shared, blocking};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kinship_app::AppError;
use kinship_domain::{Command, FamilyId, PersonId};
use kinship_store::SearchQuery;
use kinship_store::audit::AuditQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(crate) type ApiResult = Result<Response, Problem>;

pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the answer could not be encoded").into_response(),
    }
}

pub(crate) fn app<T>(r: Result<T, AppError>) -> Result<T, Problem> {
    r.map_err(Problem::from)
}

pub(crate) fn bad(field: &str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid-parameter", detail).field(field)
}

fn date(field: &str, v: &Option<String>) -> Result<Option<jiff::civil::Date>, Problem> {
    v.as_deref().map(|s| s.parse::<jiff::civil::Date>().map_err(|_| bad(field, format!("{field} must be a date YYYY-MM-DD")))).transpose()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words that must each match a given name or surname (case- and accent-insensitive).
    pub name: Option<String>,
    pub min_age: Option<u16>,
    pub max_age: Option<u16>,
    /// Compute ages on this date (default: today).
    pub age_on: Option<String>,
    /// First encountered on or after this date.
    pub from: Option<String>,
    /// First encountered on or before this date.
    pub to: Option<String>,
    /// Members of this family (`F-…`).
    pub family: Option<String>,
    /// At most this many hits (default 50, at most 500).
    pub limit: Option<usize>,
    /// Why the caller reads this (recorded in the audit log).
    pub purpose: Option<String>,
}

/// Search persons. Hits out of the caller's reach are left out; each hit
/// shows only the caller's field classes.
#[utoipa::path(get, path = "/api/persons", params(SearchParams), tag = "persons",
    responses((status = 200, description = "Hits, cut down to the caller's field classes", body = Object),
              (status = 400, body = ProblemBody), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn search(State(state): State<Shared>, caller: Caller, Query(p): Query<SearchParams>) -> ApiResult {
    caller.require("read")?;
    let family =
        p.family.as_deref().map(|f| FamilyId::parse(f).ok_or_else(|| bad("family", "family must be a family id (F-…)"))).transpose()?;
    let q = SearchQuery {
        name: p.name.filter(|n| !n.trim().is_empty()),
        min_age: p.min_age,
        max_age: p.max_age,
        age_on: date("age_on", &p.age_on)?.or_else(|| Some(kinship_app::engine::now().to_zoned(jiff::tz::TimeZone::UTC).date())),
        encountered_from: date("from", &p.from)?,
        encountered_to: date("to", &p.to)?,
        family,
        limit: p.limit.unwrap_or(50).clamp(1, 500),
    };
    let hits = blocking(move || state.service.search(&caller.principal, &q, p.purpose.as_deref())).await?;
    Ok(json(StatusCode::OK, &app(hits)?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurposeParams {
    /// Why the caller reads this. Required to see sensitive field classes
    /// (criminal history, health, biometrics); without it they are withheld.
    pub purpose: Option<String>,
}

/// One person's record, cut down to the caller's field classes. A person
/// out of the caller's reach answers 404, exactly like one that does not exist.
#[utoipa::path(get, path = "/api/persons/{id}", params(("id" = String, Path, description = "Person id (P-…)"), PurposeParams), tag = "persons",
    responses((status = 200, description = "The person record", body = Object), (status = 404, body = ProblemBody), (status = 401, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn person(State(state): State<Shared>, caller: Caller, Path(id): Path<String>, Query(p): Query<PurposeParams>) -> ApiResult {
    caller.require("read")?;
    let id = PersonId::parse(&id).ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "not-found", "no such person"))?;
    let record = blocking(move || state.service.person(&caller.principal, id, p.purpose.as_deref())).await?;
    Ok(json(StatusCode::OK, &app(record)?))
}

/// Children currently separated from their family, that the caller reaches.
#[utoipa::path(get, path = "/api/reports/separated-children", params(PurposeParams), tag = "reports",
    responses((status = 200, description = "Separated children", body = Object), (status = 403, body = ProblemBody), (status = 401, body = ProblemBody)))]
pub async fn separated_children(State(state): State<Shared>, caller: Caller, Query(p): Query<PurposeParams>) -> ApiResult {
    caller.require("read")?;
    let today = kinship_app::engine::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let rows = blocking(move || state.service.separated_children(&caller.principal, today, p.purpose.as_deref())).await?;
    Ok(json(StatusCode::OK, &app(rows)?))
}

/// Every person the caller reaches, each exactly as `GET /api/persons/{id}` shows it.
#[utoipa::path(get, path = "/api/export", params(PurposeParams), tag = "persons",
    responses((status = 200, description = "Person records", body = Object), (status = 401, body = ProblemBody)))]
pub async fn export(State(state): State<Shared>, caller: Caller, Query(p): Query<PurposeParams>) -> ApiResult {
    caller.require("read")?;
    let rows = blocking(move || state.service.export(&caller.principal, p.purpose.as_deref())).await?;
    Ok(json(StatusCode::OK, &app(rows)?))
}

#[derive(Serialize, ToSchema)]
pub struct CommandAccepted {
    /// First log position written by the command.
    pub first: u64,
    /// Last log position written by the command.
    pub last: u64,
}

pub(crate) const KEY_HEADER: &str = "idempotency-key";

/// Runs one command of the core. The body is the command as JSON, tagged by
/// `command` (e.g. `{"command": "BookIn", "person": "…", "agency": "BP",
/// "facility": null}`); the commands and their fields are those of
/// `kinship_domain::Command`. Send an `Idempotency-Key`: a retry with the
/// same key and body returns the same answer (with `Idempotent-Replayed:
/// true`) and writes nothing; the same key with another body is refused (422).
#[utoipa::path(post, path = "/api/commands", request_body(content = Object, description = "A command, tagged by `command`"), tag = "commands",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried command safe")),
    responses((status = 200, body = CommandAccepted), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 409, body = ProblemBody), (status = 422, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn command(State(state): State<Shared>, caller: Caller, headers: HeaderMap, body: Bytes) -> ApiResult {
    caller.require("command")?;
    let key = match headers.get(KEY_HEADER) {
        Some(v) => {
            let k = v.to_str().ok().filter(|k| (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
            k.ok_or_else(|| bad("Idempotency-Key", "Idempotency-Key must be 1-200 visible ASCII characters"))?.to_string()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let de = &mut serde_json::Deserializer::from_slice(&body);
    let cmd: Command = serde_path_to_error::deserialize(de).map_err(|e| {
        let problem = Problem::new(StatusCode::BAD_REQUEST, "invalid-body", format!("the command does not parse: {}", e.inner()));
        match body_field(&e) {
            Some(f) => problem.field(f),
            None => problem,
        }
    })?;
    // Keys are per caller, so two callers' keys never collide.
    let key = format!("api:{}:{key}", caller.principal.user);
    let outcome = app(blocking(move || state.service.execute(&caller.principal, &key, &cmd)).await?)?;
    let mut response = json(StatusCode::OK, &CommandAccepted { first: outcome.first, last: outcome.last });
    if outcome.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The field a body error is about. Commands are tagged enums, which serde
/// buffers before it picks the variant, so the path is often lost; the
/// message still names a missing field or an unknown command.
fn body_field(e: &serde_path_to_error::Error<serde_json::Error>) -> Option<String> {
    let path = e.path().to_string();
    if path != "." {
        return Some(path);
    }
    let msg = e.inner().to_string();
    if let Some(rest) = msg.strip_prefix("missing field `") {
        return rest.split('`').next().map(str::to_string);
    }
    (msg.starts_with("unknown variant") || msg.contains("missing field `command`")).then(|| "command".to_string())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// A person, family or finding id, prefixed (`P-…`, `F-…`, `Q-…`).
    pub subject: Option<String>,
    pub user: Option<String>,
    /// RFC 3339 time, e.g. 2026-01-01T00:00:00Z.
    pub since: Option<String>,
    /// At most this many records, newest first (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// The audit view: who read or changed whose record. Needs `audit.read`.
#[utoipa::path(get, path = "/api/audit", params(AuditParams), tag = "audit",
    responses((status = 200, description = "Audit records, newest first", body = Object), (status = 403, body = ProblemBody)))]
pub async fn audit(State(state): State<Shared>, caller: Caller, Query(p): Query<AuditParams>) -> ApiResult {
    caller.require("read")?;
    let since =
        p.since.as_deref().map(|s| s.parse::<jiff::Timestamp>().map_err(|_| bad("since", "since must be an RFC 3339 time"))).transpose()?;
    let q = AuditQuery { subject: p.subject, user: p.user, since, limit: p.limit.unwrap_or(100).clamp(1, 1000) };
    let rows = blocking(move || state.service.audit_log(&caller.principal, &q)).await?;
    Ok(json(StatusCode::OK, &app(rows)?))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Whoami {
    pub user: String,
    pub agency: String,
    pub role: String,
    /// The API token id, when authenticated by a token.
    pub token: Option<String>,
}

/// Logs in and sets the session cookie (HttpOnly, SameSite=Strict, Secure under TLS).
#[utoipa::path(post, path = "/api/session", request_body = LoginRequest, tag = "session",
    responses((status = 200, body = Whoami), (status = 401, body = ProblemBody)))]
pub async fn login(State(state): State<Shared>, Json(req): Json<LoginRequest>) -> ApiResult {
    let s = state.clone();
    let (account, secret) = blocking(move || auth::login(s.accounts.as_ref(), &req.username, &req.password)).await??;
    let mut r = json(StatusCode::OK, &Whoami { user: account.username, agency: account.agency, role: account.role, token: None });
    let cookie = auth::set_cookie(&secret, state.secure_cookies, None);
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "cookie"))?,
    );
    Ok(r)
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/session", tag = "session", responses((status = 200, body = Whoami), (status = 401, body = ProblemBody)))]
pub async fn whoami(caller: Caller) -> ApiResult {
    let p = caller.principal;
    Ok(json(StatusCode::OK, &Whoami { user: p.user, agency: p.agency, role: p.role, token: p.token }))
}

/// Logs out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/session", tag = "session", responses((status = 204, description = "Logged out")))]
pub async fn logout(State(state): State<Shared>, headers: HeaderMap) -> ApiResult {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    if let Some(secret) = auth::session_cookie(&parts) {
        let s = state.clone();
        blocking(move || s.accounts.session_end(&auth::sha256_hex(&secret))).await?.map_err(|e| Problem::from(AppError::from(e)))?;
    }
    let cookie = auth::set_cookie("", state.secure_cookies, Some(0));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// What system the token is for, e.g. "ORR case system".
    pub label: String,
    pub agency: String,
    /// A role key from the profile.
    pub role: String,
    /// `read` and/or `command`.
    pub scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenIssued {
    pub id: String,
    /// The bearer token. Shown once; only its hash is stored.
    pub token: String,
}

fn manage(state: &Shared, caller: &Caller) -> Result<(), Problem> {
    let p = &caller.principal;
    if caller.scopes.is_some() || !state.service.engine.profile.permits(&p.role, &p.agency, "account.manage") {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "managing API tokens needs a person's session with the account.manage permission",
        ));
    }
    Ok(())
}

/// Issues an API token for an agency system. Needs `account.manage`.
#[utoipa::path(post, path = "/api/tokens", request_body = TokenRequest, tag = "tokens",
    responses((status = 201, body = TokenIssued), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn issue_token(State(state): State<Shared>, caller: Caller, Json(req): Json<TokenRequest>) -> ApiResult {
    manage(&state, &caller)?;
    let profile = &state.service.engine.profile;
    if !profile.roles.contains_key(&req.role) {
        return Err(bad("role", format!("unknown role {:?}", req.role)));
    }
    if !profile.agencies.contains_key(&req.agency) {
        return Err(bad("agency", format!("unknown agency {:?}", req.agency)));
    }
    let s = state.clone();
    let by = caller.principal.user.clone();
    let issued = blocking(move || auth::issue_token(s.accounts.as_ref(), &req.label, &req.agency, &req.role, &req.scopes, &by)).await?;
    let (token, secret) = issued.map_err(|e| bad("scopes", e))?;
    Ok(json(StatusCode::CREATED, &TokenIssued { id: token.id, token: secret }))
}

/// Revokes an API token. Needs `account.manage`.
#[utoipa::path(delete, path = "/api/tokens/{id}", params(("id" = String, Path)), tag = "tokens",
    responses((status = 204, description = "Revoked"), (status = 404, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn revoke_token(State(state): State<Shared>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    manage(&state, &caller)?;
    let s = state.clone();
    let done =
        blocking(move || s.accounts.token_revoke(&id, jiff::Timestamp::now())).await?.map_err(|e| Problem::from(AppError::from(e)))?;
    if !done {
        return Err(Problem::new(StatusCode::NOT_FOUND, "not-found", "no such active token"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Liveness and store reachability.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "ok"), (status = 503, description = "store unreachable")))]
pub async fn health(State(state): State<Shared>) -> Response {
    let ok = blocking(move || state.service.engine.store.head().is_ok()).await.unwrap_or(false);
    if ok { (StatusCode::OK, "ok\n").into_response() } else { (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n").into_response() }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
