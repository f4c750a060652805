//! The report endpoints beyond separated children: data-quality findings
//! and the legal clocks. Like every handler, they only translate HTTP to
//! service calls; reach, field classes and audit are applied in
//! `kinship_app::service_reports`.

use crate::auth::Caller;
use crate::handlers::{ApiResult, app, json};
use crate::problem::ProblemBody;
use crate::state::{Shared, blocking};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct FindingsParams {
    /// Include resolved findings too (default: open ones only).
    #[serde(default)]
    pub all: bool,
    /// Why the caller reads this (recorded in the audit).
    pub purpose: Option<String>,
}

/// Data-quality findings whose every subject the caller reaches: family
/// composition problems, implausible age gaps, minors encountered with
/// adults and no family recorded. Messages name persons, so a role that does
/// not see identities gets kinds and subject ids only.
#[utoipa::path(get, path = "/api/reports/findings", params(FindingsParams), tag = "reports",
    responses((status = 200, description = "Findings", body = Object), (status = 403, body = ProblemBody), (status = 401, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn findings(State(state): State<Shared>, caller: Caller, Query(p): Query<FindingsParams>) -> ApiResult {
    caller.require("read")?;
    let rows = blocking(move || state.service.findings(&caller.principal, p.all, p.purpose.as_deref())).await?;
    Ok(json(StatusCode::OK, &app(rows)?))
}

#[derive(Deserialize, IntoParams)]
pub struct ClocksParams {
    /// Why the caller reads this (recorded in the audit).
    pub purpose: Option<String>,
}

/// Legal clocks running now (72 h for a child in border custody, 48 h to
/// refer an adult for prosecution, court-ordered deadlines) for the persons
/// the caller reaches, overdue and soonest due first.
#[utoipa::path(get, path = "/api/reports/clocks", params(ClocksParams), tag = "reports",
    responses((status = 200, description = "Running clocks", body = Object), (status = 403, body = ProblemBody), (status = 401, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn clocks(State(state): State<Shared>, caller: Caller, Query(p): Query<ClocksParams>) -> ApiResult {
    caller.require("read")?;
    let now = kinship_app::engine::now();
    let rows = blocking(move || state.service.clocks(&caller.principal, now, p.purpose.as_deref())).await?;
    Ok(json(StatusCode::OK, &app(rows)?))
}
