//! Logging in and out from the browser: the same account check
//! (`auth::login`) and the same session cookie as `POST /api/session`.

use super::chrome::{FormError, Me, html};
use crate::auth;
use crate::state::{Shared, blocking};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    me: Option<Me>,
    username: String,
    error: Option<FormError>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    me: Option<Me>,
    may_see_lists: bool,
}

/// `/`: the login form, or, once logged in, where to go next.
pub async fn home(State(state): State<Shared>, me: Result<Me, Response>) -> Response {
    match me {
        Ok(me) => {
            let vis = kinship_app::access::Visibility::of(&state.service.engine.profile, &me.principal.role);
            let may_see_lists = vis.sees(kinship_app::access::view::IDENTITY);
            html(StatusCode::OK, &HomePage { me: Some(me), may_see_lists })
        }
        Err(_) => html(StatusCode::OK, &LoginPage { me: None, username: String::new(), error: None }),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn login(State(state): State<Shared>, Form(f): Form<LoginForm>) -> Response {
    let refuse = |username: String, error: FormError| html(StatusCode::UNAUTHORIZED, &LoginPage { me: None, username, error: Some(error) });
    if f.username.trim().is_empty() {
        return refuse(f.username, FormError::field("username", "enter your user name"));
    }
    if f.password.is_empty() {
        return refuse(f.username, FormError::field("password", "enter your password"));
    }
    let s = state.clone();
    let username = f.username.clone();
    let result = blocking(move || auth::login(s.accounts.as_ref(), &f.username, &f.password)).await;
    match result.and_then(|r| r) {
        Ok((_, secret)) => {
            let mut r = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&secret, state.secure_cookies, None)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(p) if p.0.status == StatusCode::UNAUTHORIZED.as_u16() => {
            refuse(username, FormError::field("password", "unknown user, wrong password or disabled account"))
        }
        Err(p) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            &LoginPage { me: None, username, error: Some(FormError { field: None, message: p.0.detail }) },
        ),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session (as `DELETE /api/session` does) and clears the cookie.
pub async fn logout(State(state): State<Shared>, me: Me, headers: axum::http::HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if let Some(r) = me.csrf_refusal(&f.csrf) {
        return r;
    }
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    if let Some(secret) = auth::session_cookie(&parts) {
        let s = state.clone();
        let ended = blocking(move || s.accounts.session_end(&auth::sha256_hex(&secret)).is_ok()).await.unwrap_or(false);
        if !ended {
            // Say so: a person who believes they logged out must not leave a live session behind.
            return super::chrome::error_page(
                Some(me),
                StatusCode::SERVICE_UNAVAILABLE,
                "Not logged out",
                "The session could not be ended; try again.",
            );
        }
    }
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie("", state.secure_cookies, Some(0))) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
