//! Person search: a plain GET form that works without JavaScript, and the
//! same results as a fragment when htmx asks (live search while typing).

use super::chrome::{FormError, Me, app_error_page, html, today};
use crate::state::{Shared, blocking};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kinship_app::access::view::PersonSummary;
use kinship_domain::FamilyId;
use kinship_store::SearchQuery;
use serde::Deserialize;

/// Shown wherever a part of a record belongs to a class the role does not see.
pub const NOT_VISIBLE: &str = "not visible to your role";

/// The search form as typed: every field is text, so an empty or mistyped
/// one can be named in the error instead of failing the whole request.
#[derive(Deserialize, Default, Clone)]
pub struct SearchForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub min_age: String,
    #[serde(default)]
    pub max_age: String,
    #[serde(default)]
    pub family: String,
}

/// One hit as the page shows it.
pub struct Hit {
    pub id: String,
    pub name: String,
    pub birth: String,
    pub a_number: String,
    pub custody: String,
    pub family: String,
}

impl Hit {
    pub fn of(p: PersonSummary) -> Self {
        let (name, birth, a_number) = match &p.identity {
            Some(i) => (
                [i.given_names.as_deref(), i.family_names.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "),
                i.birth_date.clone().map(|b| if i.birth_date_estimated { format!("{b} (estimated)") } else { b }).unwrap_or_default(),
                i.a_number.clone().unwrap_or_default(),
            ),
            None => (NOT_VISIBLE.into(), NOT_VISIBLE.into(), NOT_VISIBLE.into()),
        };
        let custody = match &p.custody {
            Some(c) => custody_text(c),
            None => NOT_VISIBLE.into(),
        };
        let family = match (&p.family, p.classes.iter().any(|c| c == "family")) {
            (Some(m), _) => format!("{} ({}, {}{})", m.family, m.role.to_lowercase(), m.status, if m.is_lead { ", lead" } else { "" }),
            (None, true) => "none".into(),
            (None, false) => NOT_VISIBLE.into(),
        };
        Self { id: p.id.to_string(), name, birth, a_number, custody, family }
    }
}

pub fn custody_text(c: &kinship_store::CustodyNow) -> String {
    match c.status.as_str() {
        "in_custody" => format!(
            "{}{}{}",
            c.agency.as_deref().unwrap_or("?"),
            c.facility.as_deref().map(|f| format!(" / {f}")).unwrap_or_default(),
            c.since.as_deref().map(|s| format!(" since {s}")).unwrap_or_default()
        ),
        other => format!("{}{}", other.replace('_', " "), c.since.as_deref().map(|s| format!(" {s}")).unwrap_or_default()),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    me: Option<Me>,
    form: SearchForm,
    results: Results,
}

#[derive(Template)]
#[template(path = "results.html")]
struct Results {
    searched: bool,
    hits: Vec<Hit>,
    error: Option<FormError>,
}

fn age(field: &str, v: &str) -> Result<Option<u16>, FormError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<u16>().map(Some).map_err(|_| FormError::field(field, "an age is a whole number of years, e.g. 17"))
}

fn query(f: &SearchForm) -> Result<Option<SearchQuery>, FormError> {
    let family = match f.family.trim() {
        "" => None,
        t => Some(
            FamilyId::parse(t).ok_or_else(|| FormError::field("family", "a family id looks like F-0190…; copy it from a person's page"))?,
        ),
    };
    let q = SearchQuery {
        name: Some(f.name.trim().to_string()).filter(|n| !n.is_empty()),
        min_age: age("min_age", &f.min_age)?,
        max_age: age("max_age", &f.max_age)?,
        age_on: Some(today()),
        family,
        limit: 100,
        ..Default::default()
    };
    if let (Some(lo), Some(hi)) = (q.min_age, q.max_age)
        && lo > hi
    {
        return Err(FormError::field("max_age", "the highest age is below the lowest"));
    }
    let empty = q.name.is_none() && q.min_age.is_none() && q.max_age.is_none() && q.family.is_none();
    Ok((!empty).then_some(q))
}

/// `GET /search`: the whole page, or (for htmx) only the results.
pub async fn search(State(state): State<Shared>, me: Me, headers: HeaderMap, Query(form): Query<SearchForm>) -> Response {
    let results = match query(&form) {
        Err(error) => Results { searched: false, hits: vec![], error: Some(error) },
        Ok(None) => Results { searched: false, hits: vec![], error: None },
        Ok(Some(q)) => {
            let (s, who) = (state.clone(), me.principal.clone());
            match blocking(move || s.service.search(&who, &q, None)).await {
                Ok(Ok(hits)) => Results { searched: true, hits: hits.into_iter().map(Hit::of).collect(), error: None },
                Ok(Err(e)) => Results { searched: false, hits: vec![], error: Some(FormError::from(&e)) },
                Err(_) => return app_error_page(me, kinship_app::AppError::Input("the search stopped; try again".into())),
            }
        }
    };
    let status = if results.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    if headers.contains_key("hx-request") {
        // htmx swaps only 2xx answers by default; the error is shown in place.
        return html(StatusCode::OK, &results);
    }
    html(status, &SearchPage { me: Some(me), form, results })
}
