//! What every page shares: the logged-in person (`Me`, from the same session
//! cookie the JSON API uses), the per-session CSRF token, rendering with
//! safe headers, and the error page.

use crate::auth::{self, Caller};
use crate::state::Shared;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use kinship_app::AppError;
use kinship_app::access::Principal;
use kinship_store::StoreError;

/// The person using the browser: who they are (shown in every page's
/// header) and the token their forms must carry.
#[derive(Clone, Debug)]
pub struct Me {
    pub principal: Principal,
    pub agency_name: String,
    pub role_label: String,
    pub csrf: String,
}

/// The CSRF token of a session: derived from the session secret, which only
/// the browser holding the HttpOnly cookie knows, so another site can
/// neither read nor compute it (and SameSite=Strict keeps the cookie off its
/// requests in the first place).
pub fn csrf_token(session_secret: &str) -> String {
    auth::sha256_hex(&format!("kinship-ui-csrf:{session_secret}"))
}

fn to_login(parts: &Parts) -> Response {
    if parts.headers.contains_key("hx-request") {
        // htmx follows this header with a full page load, not a fragment swap.
        (StatusCode::UNAUTHORIZED, [("hx-redirect", "/")]).into_response()
    } else {
        Redirect::to("/").into_response()
    }
}

impl Me {
    pub fn of(state: &Shared, principal: Principal, session_secret: &str) -> Self {
        let profile = &state.service.engine.profile;
        let agency_name = profile.agencies.get(&principal.agency).map(|a| a.name.clone()).unwrap_or_else(|| principal.agency.clone());
        let role_label = profile.roles.get(&principal.role).map(|r| r.label.clone()).unwrap_or_else(|| principal.role.clone());
        Self { principal, agency_name, role_label, csrf: csrf_token(session_secret) }
    }

    /// The refusal for a form whose token is not this session's; `None` when it is.
    pub fn csrf_refusal(&self, given: &str) -> Option<Response> {
        let ok = given.len() == self.csrf.len() && given.bytes().zip(self.csrf.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if ok {
            return None;
        }
        Some(error_page(
            Some(self.clone()),
            StatusCode::FORBIDDEN,
            "Form refused",
            "csrf: this form did not come from this session (it may be from before you last logged in). Reload the page and send it again.",
        ))
    }
}

impl FromRequestParts<Shared> for Me {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        // Pages are for people's sessions; an API token is not a browser login.
        let Some(secret) = auth::session_cookie(parts) else { return Err(to_login(parts)) };
        let caller = match Caller::from_request_parts(parts, state).await {
            Ok(c) if c.scopes.is_none() => c,
            Ok(_) => return Err(to_login(parts)),
            Err(p) if p.0.status == StatusCode::UNAUTHORIZED.as_u16() => return Err(to_login(parts)),
            Err(p) => {
                return Err(error_page(None, StatusCode::SERVICE_UNAVAILABLE, "Try again", &p.0.detail));
            }
        };
        Ok(Me::of(state, caller.principal, &secret))
    }
}

/// Renders a page with headers that keep personal data out of caches and
/// the page out of other sites' frames.
pub fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut r = (status, body).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
            );
            r
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    me: Option<Me>,
    title: &'a str,
    message: &'a str,
}

pub fn error_page(me: Option<Me>, status: StatusCode, title: &str, message: &str) -> Response {
    html(status, &ErrorPage { me, title, message })
}

/// Out of reach and absent read the same, word for word: the page must not
/// tell a probing user which ids exist.
pub const NOT_FOUND: &str = "There is no such record, or it is not one your agency reaches.";

/// The page for a failed read.
pub fn app_error_page(me: Me, e: AppError) -> Response {
    let (status, title, message) = match &e {
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found", NOT_FOUND.to_string()),
        AppError::Denied(m) => (StatusCode::FORBIDDEN, "Not visible to your role", m.clone()),
        AppError::AuditUnavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not shown",
            "The audit record for this page could not be written, so it is not shown. Try again later.".to_string(),
        ),
        other => {
            let f = FormError::from(other);
            (StatusCode::UNPROCESSABLE_ENTITY, "Refused", f.text())
        }
    };
    error_page(Some(me), status, title, &message)
}

/// A refused form, shown above the form: the field at fault and why.
#[derive(Clone, Debug)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_string()), message: message.into() }
    }

    pub fn text(&self) -> String {
        match &self.field {
            Some(f) => format!("{f}: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// The status a page carrying this error answers with.
    pub fn status(e: &AppError) -> StatusCode {
        match e {
            AppError::Domain(d) if d.rule == "not-permitted" => StatusCode::FORBIDDEN,
            AppError::Domain(_) | AppError::Input(_) | AppError::Store(StoreError::KeyReused { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Store(StoreError::Conflict { .. }) => StatusCode::CONFLICT,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Denied(_) => StatusCode::FORBIDDEN,
            AppError::Store(_) | AppError::AuditUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<&AppError> for FormError {
    fn from(e: &AppError) -> Self {
        match e {
            AppError::Domain(d) => Self { field: d.field.map(str::to_string), message: d.message.clone() },
            AppError::Store(StoreError::Conflict { .. }) => {
                Self { field: None, message: "the record changed while this was being decided; reload the page and try again".into() }
            }
            AppError::Store(StoreError::KeyReused { .. }) => {
                Self { field: None, message: "this form was already sent with other values; reload the page".into() }
            }
            AppError::Store(_) => Self { field: None, message: "the store failed; try again later".into() },
            AppError::AuditUnavailable(_) => {
                Self { field: None, message: "the audit record could not be written, so nothing was done; try again later".into() }
            }
            AppError::NotFound(_) => Self { field: None, message: NOT_FOUND.into() },
            AppError::Input(m) | AppError::Denied(m) => Self { field: None, message: m.clone() },
        }
    }
}

/// Today's date (UTC), for ages and the separated-children report.
pub fn today() -> jiff::civil::Date {
    kinship_app::engine::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// A new idempotency key for a form: a form sent twice (double click, back
/// button) is one command.
pub fn form_key() -> String {
    uuid::Uuid::new_v4().to_string()
}
