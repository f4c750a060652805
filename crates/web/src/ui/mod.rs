//! The HTML interface: server-rendered pages (askama templates in
//! `crates/web/templates`) with htmx for live search, for people who open
//! the server in a browser. Like the JSON API, the handlers only turn HTTP
//! into `kinship_app::service::Service` calls: reach, field classes and
//! audit are applied there, never here. Everything a page needs is served
//! from the binary (htmx and the stylesheet are compiled in).

mod chrome;
mod people;
mod person;
mod reports;
mod session;
mod worklist;

pub use chrome::{Me, csrf_token};

use crate::state::Shared;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};

/// htmx 2 (BSD Zero Clause; `assets/htmx.LICENSE`), vendored from the npm
/// registry so nothing is fetched at run time.
const HTMX: &[u8] = include_bytes!("../../assets/htmx.min.js");
const CSS: &[u8] = include_bytes!("../../assets/kinship.css");

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(session::home))
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/search", get(people::search))
        .route("/people/{id}", get(person::show))
        .route("/people/{id}/review", post(person::review))
        .route("/reports/separated-children", get(reports::separated))
        .route("/reports/clocks", get(reports::clocks))
        .route("/reports/findings", get(reports::findings))
        .route("/findings/{id}/resolve", post(reports::resolve))
        .route("/worklist", get(worklist::list))
        .route("/worklist/{id}/{action}", post(worklist::decide))
        .route("/assets/htmx.min.js", get(|| async { asset("text/javascript; charset=utf-8", HTMX) }))
        .route("/assets/kinship.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
}

fn asset(kind: &'static str, body: &'static [u8]) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=3600")], body)
}
