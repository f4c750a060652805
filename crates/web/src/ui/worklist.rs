//! The review worklist as a page: the linker's proposals (relationships
//! nobody recorded, the same person across agencies), each with its score and
//! evidence in words, and the forms that confirm, reject or withdraw one.
//! Listing and deciding are `Service::worklist` / `Service::decide_link`, the
//! same calls (permission, reach, audit) as `/api/worklist`. Names are not on
//! this page: the links open each person's page, which is a read of its own,
//! shown and audited by the role's field classes.

use super::chrome::{FormError, Me, app_error_page, form_key, html};
use crate::state::{Shared, blocking};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kinship_app::AppError;
use kinship_app::worklist::{Decision, PERMISSION};
use kinship_domain::LinkId;
use kinship_domain::family::Role;
use kinship_store::{WorklistItem, WorklistQuery};
use serde::Deserialize;

async fn run<T: Send + 'static>(f: impl FnOnce() -> Result<T, AppError> + Send + 'static) -> Result<T, AppError> {
    blocking(f).await.unwrap_or_else(|_| Err(AppError::Input("the request's worker stopped; try again".into())))
}

/// The statuses a reviewer filters by, in the order of the filter links.
const STATUSES: [&str; 5] = ["proposed", "linked", "confirmed", "rejected", "unlinked"];
/// Roles a reviewer may state when confirming a family tie.
const ADULT_ROLES: [Role; 7] = [Role::Mother, Role::Father, Role::LegalGuardian, Role::Aunt, Role::Uncle, Role::Grandparent, Role::Sibling];
const MINOR_ROLES: [Role; 5] = [Role::Son, Role::Daughter, Role::Child, Role::Grandchild, Role::Sibling];

#[derive(Deserialize, Default)]
pub struct WorklistFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
}

struct Row {
    id: String,
    relation: String,
    score: String,
    status: String,
    evidence: Vec<String>,
    a: String,
    b: String,
    a_label: &'static str,
    b_label: &'static str,
    decided: String,
    may_confirm: bool,
    may_unlink: bool,
    family_item: bool,
    error: Option<FormError>,
}

impl Row {
    fn of(i: WorklistItem, error: Option<FormError>) -> Self {
        let family_item = i.kind == "family";
        let decided = match (&i.decided_by, &i.reason) {
            (Some(by), Some(r)) => format!("by {by}: {r}"),
            (Some(by), None) => format!("by {by}"),
            (None, Some(r)) => r.clone(),
            (None, None) => String::new(),
        };
        Self {
            id: i.id.to_string(),
            relation: i.relation.unwrap_or_default().replace('_', " ").to_lowercase(),
            score: format!("{:.2}", i.score),
            may_confirm: i.status == "proposed",
            may_unlink: i.status == "linked",
            evidence: i.evidence,
            a: i.a.to_string(),
            b: i.b.to_string(),
            a_label: if family_item { "adult" } else { "first record's person" },
            b_label: if family_item { "minor" } else { "second record's person" },
            status: i.status,
            decided,
            family_item,
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "worklist.html")]
struct WorklistPage {
    me: Option<Me>,
    status: String,
    kind: String,
    statuses: Vec<&'static str>,
    adult_roles: Vec<&'static str>,
    minor_roles: Vec<&'static str>,
    may_review: bool,
    key: String,
    rows: Vec<Row>,
}

async fn page(state: &Shared, me: Me, filter: WorklistFilter, error: Option<(String, FormError)>, status: StatusCode) -> Response {
    let wanted = if filter.status.is_empty() { "proposed".to_string() } else { filter.status };
    let q = WorklistQuery {
        kind: (!filter.kind.is_empty()).then(|| filter.kind.clone()),
        status: (wanted != "all").then(|| wanted.clone()),
        limit: 200,
    };
    let (s, who) = (state.clone(), me.principal.clone());
    match run(move || s.service.worklist(&who, &q)).await {
        Ok(items) => {
            let may_review = state.service.engine.profile.permits(&me.principal.role, &me.principal.agency, PERMISSION);
            let rows = items
                .into_iter()
                .map(|i| {
                    let e = error.as_ref().filter(|(id, _)| *id == i.id.to_string()).map(|(_, e)| e.clone());
                    Row::of(i, e)
                })
                .collect();
            let page = WorklistPage {
                me: Some(me),
                status: wanted,
                kind: filter.kind,
                statuses: STATUSES.to_vec(),
                adult_roles: ADULT_ROLES.iter().map(|r| r.as_str()).collect(),
                minor_roles: MINOR_ROLES.iter().map(|r| r.as_str()).collect(),
                may_review,
                key: form_key(),
                rows,
            };
            html(status, &page)
        }
        Err(e) => app_error_page(me, e),
    }
}

/// `GET /worklist?status=proposed|linked|confirmed|rejected|unlinked|all&kind=family|identity`.
pub async fn list(State(state): State<Shared>, me: Me, Query(filter): Query<WorklistFilter>) -> Response {
    page(&state, me, filter, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    adult_role: String,
    #[serde(default)]
    minor_role: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
}

fn role(field: &str, text: &str) -> Result<Option<Role>, FormError> {
    if text.is_empty() {
        return Ok(None);
    }
    Role::parse(text).map(Some).ok_or_else(|| FormError::field(field, format!("{text} is not a family role")))
}

/// `POST /worklist/{id}/{confirm|reject|unlink}`: `Service::decide_link`,
/// as `POST /api/worklist/{id}/…`.
pub async fn decide(
    State(state): State<Shared>,
    me: Me,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<DecideForm>,
) -> Response {
    if let Some(r) = me.csrf_refusal(&f.csrf) {
        return r;
    }
    let Some(link) = LinkId::parse(&id) else { return app_error_page(me, AppError::NotFound(String::new())) };
    let back = WorklistFilter { status: "proposed".into(), kind: String::new() };
    let decision = match action.as_str() {
        "confirm" => match (role("adult_role", &f.adult_role), role("minor_role", &f.minor_role)) {
            (Ok(adult_role), Ok(minor_role)) => {
                let note = Some(f.note.trim().to_string()).filter(|n| !n.is_empty());
                Decision::Confirm { adult_role, minor_role, note }
            }
            (Err(e), _) | (_, Err(e)) => return page(&state, me, back, Some((id, e)), StatusCode::UNPROCESSABLE_ENTITY).await,
        },
        "reject" => Decision::Reject { reason: f.reason.trim().to_string() },
        "unlink" => Decision::Unlink { reason: f.reason.trim().to_string() },
        _ => return app_error_page(me, AppError::NotFound(String::new())),
    };
    let (s, who) = (state.clone(), me.principal.clone());
    let key = format!("ui:{}:{}", who.user, if f.key.is_empty() { form_key() } else { f.key });
    match run(move || s.service.decide_link(&who, &key, link, &decision)).await {
        Ok(_) => Redirect::to("/worklist").into_response(),
        Err(AppError::NotFound(_)) => app_error_page(me, AppError::NotFound(String::new())),
        Err(e) => {
            let status = FormError::status(&e);
            page(&state, me, back, Some((link.to_string(), FormError::from(&e))), status).await
        }
    }
}
