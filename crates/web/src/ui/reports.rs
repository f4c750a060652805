//! The lists: separated children, running legal clocks, data-quality
//! findings (with the form that resolves one). Each is one `Service` call,
//! audited there, cut down to the role's field classes there.

use super::chrome::{FormError, Me, app_error_page, form_key, html, today};
use super::people::{Hit, NOT_VISIBLE, custody_text};
use crate::state::{Shared, blocking};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kinship_app::AppError;
use kinship_app::access::view::BriefPart;
use kinship_app::service_reports::{self, ClockRow};
use kinship_domain::{Command, FindingId};
use serde::Deserialize;

async fn run<T: Send + 'static>(f: impl FnOnce() -> Result<T, AppError> + Send + 'static) -> Result<T, AppError> {
    blocking(f).await.unwrap_or_else(|_| Err(AppError::Input("the request's worker stopped; try again".into())))
}

struct Brief {
    id: String,
    name: String,
    birth: String,
    custody: String,
}

impl Brief {
    fn of(b: &BriefPart) -> Self {
        Self {
            id: b.id.to_string(),
            name: b.name.clone().unwrap_or_else(|| NOT_VISIBLE.into()),
            birth: match (&b.name, &b.birth_date) {
                (None, _) => NOT_VISIBLE.into(),
                (Some(_), d) => d.clone().unwrap_or_else(|| "unknown".into()),
            },
            custody: b.custody.as_ref().map(custody_text).unwrap_or_else(|| NOT_VISIBLE.into()),
        }
    }
}

struct SeparatedRow {
    child: Brief,
    family: String,
    since: String,
    reason: String,
    review: String,
    parents: Vec<(Brief, String, String)>,
}

#[derive(Template)]
#[template(path = "separated.html")]
struct SeparatedPage {
    me: Option<Me>,
    rows: Vec<SeparatedRow>,
}

pub async fn separated(State(state): State<Shared>, me: Me) -> Response {
    let (s, who) = (state.clone(), me.principal.clone());
    match run(move || s.service.separated_children(&who, today(), None)).await {
        Ok(rows) => {
            let profile = &state.service.engine.profile;
            let rows = rows
                .iter()
                .map(|r| SeparatedRow {
                    child: Brief::of(&r.child),
                    family: r.family.to_string(),
                    since: r.since.clone(),
                    reason: format!(
                        "{} ({}){}",
                        r.reason_code,
                        profile.reason_codes.get(&r.reason_code).map(|c| c.meaning.as_str()).unwrap_or(""),
                        r.policy.as_deref().map(|p| format!(", policy {p}")).unwrap_or_default()
                    ),
                    review: r.review.replace('_', " "),
                    parents: r.parents.iter().map(|p| (Brief::of(&p.person), p.role.to_lowercase(), p.status.replace('_', " "))).collect(),
                })
                .collect();
            html(StatusCode::OK, &SeparatedPage { me: Some(me), rows })
        }
        Err(e) => app_error_page(me, e),
    }
}

struct ClockRowView {
    person: Hit,
    label: String,
    due: String,
    overdue: bool,
    left: String,
}

#[derive(Template)]
#[template(path = "clocks.html")]
struct ClocksPage {
    me: Option<Me>,
    rows: Vec<ClockRowView>,
}

/// `GET /reports/clocks`: `Service::clocks` (the API's `/api/reports/clocks`),
/// shown with children past the border-custody clock first.
pub async fn clocks(State(state): State<Shared>, me: Me) -> Response {
    let (s, who) = (state.clone(), me.principal.clone());
    let now = kinship_app::engine::now();
    match run(move || s.service.clocks(&who, now, None)).await {
        Ok(mut rows) => {
            let child_overdue = |r: &ClockRow| r.overdue && r.clock == "child_border_custody";
            // Stable: within each group the service's order (soonest due first) stays.
            rows.sort_by_key(|r| (!child_overdue(r), !r.overdue));
            let rows = rows
                .into_iter()
                .map(|r| {
                    let left = if r.overdue { format!("overdue by {} h", -r.hours_left) } else { format!("{} h left", r.hours_left) };
                    ClockRowView { label: r.label, due: r.due, overdue: r.overdue, left, person: Hit::of(r.person) }
                })
                .collect();
            html(StatusCode::OK, &ClocksPage { me: Some(me), rows })
        }
        Err(e) => app_error_page(me, e),
    }
}

#[derive(Deserialize, Default)]
pub struct FindingsQuery {
    /// `all=1` lists resolved findings too.
    #[serde(default)]
    all: String,
}

struct FindingRow {
    id: String,
    kind: String,
    message: String,
    record: String,
    resolution: Option<String>,
    error: Option<FormError>,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    me: Option<Me>,
    all: bool,
    may_resolve: bool,
    key: String,
    rows: Vec<FindingRow>,
}

async fn findings_page(state: &Shared, me: Me, all: bool, error: Option<(String, FormError)>, status: StatusCode) -> Response {
    let (s, who) = (state.clone(), me.principal.clone());
    match run(move || s.service.findings(&who, all, None)).await {
        Ok(list) => {
            let may_resolve = state.service.engine.profile.permits(&me.principal.role, &me.principal.agency, "finding.resolve");
            let rows = list
                .into_iter()
                .map(|f: service_reports::FindingRow| {
                    let id = FindingId::parse(&f.id).map(|q| q.to_string()).unwrap_or(f.id);
                    let error = error.as_ref().filter(|(eid, _)| *eid == id).map(|(_, e)| e.clone());
                    FindingRow {
                        kind: f.kind,
                        message: f.message.unwrap_or_else(|| NOT_VISIBLE.into()),
                        record: f.record.map(|r| format!("{}/{}", r.source, r.record_id)).unwrap_or_default(),
                        resolution: f.resolution,
                        error,
                        id,
                    }
                })
                .collect();
            html(status, &FindingsPage { me: Some(me), all, may_resolve, key: form_key(), rows })
        }
        Err(e) => app_error_page(me, e),
    }
}

pub async fn findings(State(state): State<Shared>, me: Me, Query(q): Query<FindingsQuery>) -> Response {
    findings_page(&state, me, !q.all.is_empty(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    resolution: String,
}

/// `POST /findings/{id}/resolve`: the same `ResolveFinding` command, through
/// the same `Service::execute`, as `POST /api/commands`.
pub async fn resolve(State(state): State<Shared>, me: Me, Path(id): Path<String>, Form(f): Form<ResolveForm>) -> Response {
    if let Some(r) = me.csrf_refusal(&f.csrf) {
        return r;
    }
    let Some(finding) = FindingId::parse(&id) else { return app_error_page(me, AppError::NotFound(String::new())) };
    let resolution = f.resolution.trim().to_string();
    let (s, who) = (state.clone(), me.principal.clone());
    let key = format!("ui:{}:{}", who.user, if f.key.is_empty() { form_key() } else { f.key });
    let cmd = Command::ResolveFinding { finding, resolution };
    match run(move || s.service.execute(&who, &key, &cmd)).await {
        Ok(_) => Redirect::to("/reports/findings").into_response(),
        Err(AppError::NotFound(_)) => app_error_page(me, AppError::NotFound(String::new())),
        Err(e) => {
            let status = FormError::status(&e);
            findings_page(&state, me, false, Some((finding.to_string(), FormError::from(&e))), status).await
        }
    }
}
