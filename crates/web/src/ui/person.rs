//! A person's page and the separation-review form on it. Every part comes
//! from `Service::person_page`, already cut down to the role's field
//! classes; this module only lays it out, and names the classes it did not
//! get ("not visible to your role", or withheld until a purpose is given).

use super::chrome::{FormError, Me, app_error_page, form_key, html};
use super::people::NOT_VISIBLE;
use crate::state::{Shared, blocking};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kinship_app::AppError;
use kinship_app::access::Visibility;
use kinship_app::access::view::{FamilyPart, PersonRecord};
use kinship_app::service::pages::{EventLine, PersonPage};
use kinship_domain::clocks::ClockReading;
use kinship_domain::family::ReviewDecision;
use kinship_domain::state::Custody;
use kinship_domain::{Command, FamilyId, PersonId, Profile, SeparationId};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct PurposeQuery {
    #[serde(default)]
    purpose: String,
    /// Show the page without the sensitive classes, stating no purpose.
    #[serde(default)]
    withhold: String,
}

#[derive(Template)]
#[template(path = "purpose.html")]
struct PurposePage {
    me: Option<Me>,
    id: String,
    sensitive: Vec<String>,
}

/// One field class on the page, in the profile's order.
struct Section {
    class: String,
    label: String,
    /// `shown`, `withheld` (state a purpose) or `hidden` (not for this role).
    state: &'static str,
    rows: Vec<(String, String)>,
}

struct FamilyView {
    id: String,
    kind: String,
    role: String,
    lead: String,
    members: Vec<MemberRow>,
    separations: Vec<SeparationRow>,
}

struct MemberRow {
    id: String,
    name: String,
    role: String,
    status: String,
    lead: bool,
    is_self: bool,
}

struct SeparationRow {
    id: String,
    reason: String,
    policy: String,
    members: String,
    at: String,
    approved_by: String,
    recorded_by: String,
    review: String,
    /// The review level this role may record now, if any.
    review_level: Option<u8>,
}

struct CustodyView {
    now: String,
    pending: String,
    first_encountered: String,
    referred: String,
    history: Vec<kinship_store::CustodyEntry>,
}

struct ClockLine {
    label: String,
    started: String,
    due: String,
    overdue: bool,
    left: String,
}

impl ClockLine {
    pub fn of(c: &ClockReading) -> Self {
        let left = if c.overdue { format!("overdue by {} h", -c.hours_left) } else { format!("{} h left", c.hours_left) };
        Self { label: c.label.clone(), started: c.started.to_string(), due: c.due.to_string(), overdue: c.overdue, left }
    }
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonHtml {
    me: Option<Me>,
    id: String,
    title: String,
    purpose: String,
    sections: Vec<Section>,
    family: Option<FamilyView>,
    custody: Option<CustodyView>,
    clocks: Option<Vec<ClockLine>>,
    events: Vec<EventLine>,
    error: Option<FormError>,
    key: String,
}

fn identity_rows(r: &PersonRecord) -> Vec<(String, String)> {
    let Some(i) = &r.identity else { return vec![] };
    let id = &i.identity;
    let unknown = || "unknown".to_string();
    vec![
        ("Name".into(), id.name.display()),
        (
            "Birth date".into(),
            id.birth.map(|b| format!("{}{}", b.date, if b.estimated { " (estimated)" } else { "" })).unwrap_or_else(unknown),
        ),
        ("Sex".into(), id.sex.as_ref().map(|s| format!("{s:?}")).unwrap_or_else(unknown)),
        ("Citizenship".into(), id.citizenship.as_ref().map(|c| c.as_str().to_string()).unwrap_or_else(unknown)),
        ("A-number".into(), id.a_number.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "none".into())),
        ("Source records".into(), i.records.iter().map(|s| format!("{}/{}", s.source, s.record_id)).collect::<Vec<_>>().join(", ")),
        ("Aged out in custody".into(), if i.aged_out { "yes" } else { "no" }.into()),
    ]
}

fn family_view(profile: &Profile, me: &Me, page: &PersonPage, f: &FamilyPart) -> FamilyView {
    let name_of = |p: PersonId| page.members.iter().find(|m| m.person == p).and_then(|m| m.name.clone()).unwrap_or_else(|| p.to_string());
    let may_review = |level: u8| {
        let perm = if level == 1 { &profile.review.level1 } else { &profile.review.level2 };
        profile.permits(&me.principal.role, &me.principal.agency, perm)
    };
    FamilyView {
        id: f.family.to_string(),
        kind: f.kind.as_str().to_string(),
        role: f.role.map(|r| r.as_str().to_lowercase()).unwrap_or_default(),
        lead: f.lead.map(name_of).unwrap_or_else(|| "none designated".into()),
        members: page
            .members
            .iter()
            .map(|m| MemberRow {
                id: m.person.to_string(),
                name: m.name.clone().unwrap_or_else(|| NOT_VISIBLE.into()),
                role: m.role.to_lowercase(),
                status: m.status.replace('_', " "),
                lead: m.lead,
                is_self: m.person == page.record.id,
            })
            .collect(),
        separations: f
            .separations
            .iter()
            .map(|s| {
                let meaning = profile.reason_codes.get(&s.reason_code).map(|c| c.meaning.as_str()).unwrap_or("");
                let level = s.review.strip_prefix("awaiting level ").and_then(|l| l.parse::<u8>().ok());
                SeparationRow {
                    id: s.id.to_string(),
                    reason: format!("{} ({meaning})", s.reason_code),
                    policy: s.policy.clone().unwrap_or_default(),
                    members: s.members.iter().map(|p| name_of(*p)).collect::<Vec<_>>().join(", "),
                    at: s.at.to_string(),
                    approved_by: s.approved_by.clone(),
                    recorded_by: s.recorded_by.clone(),
                    review: s.review.clone(),
                    review_level: level.filter(|l| may_review(*l)),
                }
            })
            .collect(),
    }
}

fn custody_view(r: &PersonRecord) -> Option<CustodyView> {
    let c = r.custody.as_ref()?;
    let now = match &c.now {
        Some(Custody::InCustody { agency, facility, since }) => {
            format!("in custody: {agency}{} since {since}", facility.as_deref().map(|f| format!(" / {f}")).unwrap_or_default())
        }
        Some(Custody::Released { at, .. }) => format!("released {at}"),
        Some(Custody::Removed { at }) => format!("removed {at}"),
        None => "never booked in".into(),
    };
    let pending = c
        .pending_transfer
        .as_ref()
        .map(|t| format!("to {}{} offered {}", t.to_agency, t.to_facility.as_deref().map(|f| format!(" / {f}")).unwrap_or_default(), t.at))
        .unwrap_or_else(|| "none".into());
    Some(CustodyView {
        now,
        pending,
        first_encountered: c.first_encountered.to_string(),
        referred: c.referred_for_prosecution.as_ref().map(|t| t.to_string()).unwrap_or_else(|| "no".into()),
        history: c.history.clone(),
    })
}

fn page_html(state: &Shared, me: Me, page: PersonPage, purpose: &str, error: Option<FormError>) -> PersonHtml {
    let profile = &state.service.engine.profile;
    let vis = Visibility::of(profile, &me.principal.role);
    let r = &page.record;
    // The record's own parts first (who, family, custody), then the column classes.
    let rank = |c: &str| ["identity", "family", "custody"].iter().position(|k| *k == c).unwrap_or(3);
    let mut classes: Vec<_> = profile.field_classes.iter().collect();
    classes.sort_by_key(|(c, _)| rank(c));
    let sections = classes
        .into_iter()
        .map(|(class, def)| {
            let state = if r.classes.contains_key(class) {
                "shown"
            } else if r.withheld.contains(class) {
                "withheld"
            } else {
                "hidden"
            };
            let rows = match (state, class.as_str()) {
                ("shown", "identity") => identity_rows(r),
                ("shown", _) => {
                    r.columns.get(class).map(|c| c.iter().map(|(k, v)| (k.replace('_', " "), v.clone())).collect()).unwrap_or_default()
                }
                _ => vec![],
            };
            Section { class: class.clone(), label: def.label.clone(), state, rows }
        })
        .collect();
    let title = r.identity.as_ref().map(|i| i.identity.name.display()).unwrap_or_else(|| format!("Person {}", r.id));
    let family = r.family.as_ref().map(|f| family_view(profile, &me, &page, f));
    let custody = custody_view(r);
    let clocks = vis.sees("custody").then(|| page.clocks.iter().map(ClockLine::of).collect());
    PersonHtml {
        id: r.id.to_string(),
        title,
        purpose: purpose.to_string(),
        sections,
        family,
        custody,
        clocks: if r.custody.is_some() { clocks } else { None },
        events: page.events,
        error,
        key: form_key(),
        me: Some(me),
    }
}

/// The sensitive classes this role could see with a purpose.
fn sensitive_classes(state: &Shared, me: &Me) -> Vec<String> {
    let profile = &state.service.engine.profile;
    let vis = Visibility::of(profile, &me.principal.role);
    profile.field_classes.iter().filter(|(c, d)| d.sensitive && vis.sees(c)).map(|(_, d)| d.label.clone()).collect()
}

async fn load(state: &Shared, me: &Me, id: PersonId, purpose: &str) -> Result<PersonPage, AppError> {
    let (s, who) = (state.clone(), me.principal.clone());
    let purpose = Some(purpose.trim().to_string()).filter(|p| !p.is_empty());
    let now = kinship_app::engine::now();
    blocking(move || s.service.person_page(&who, id, purpose.as_deref(), now))
        .await
        .unwrap_or_else(|_| Err(AppError::Input("the request's worker stopped; try again".into())))
}

/// `GET /people/{id}`. A role that could see sensitive classes is first
/// asked why it is reading (the purpose goes into the audit record);
/// it may also go on without, and those classes stay withheld.
pub async fn show(State(state): State<Shared>, me: Me, Path(id): Path<String>, Query(q): Query<PurposeQuery>) -> Response {
    let Some(id) = PersonId::parse(&id) else { return app_error_page(me, AppError::NotFound(String::new())) };
    let sensitive = sensitive_classes(&state, &me);
    if !sensitive.is_empty() && q.purpose.trim().is_empty() && q.withhold.is_empty() {
        return html(StatusCode::OK, &PurposePage { me: Some(me), id: id.to_string(), sensitive });
    }
    match load(&state, &me, id, &q.purpose).await {
        Ok(page) => {
            let p = page_html(&state, me, page, q.purpose.trim(), None);
            html(StatusCode::OK, &p)
        }
        Err(e) => app_error_page(me, e),
    }
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    separation: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    purpose: String,
}

fn review_command(f: &ReviewForm) -> Result<Command, FormError> {
    let family = FamilyId::parse(&f.family).ok_or_else(|| FormError::field("family", "the form lost its family; reload the page"))?;
    let separation = SeparationId::parse(&f.separation)
        .ok_or_else(|| FormError::field("separation", "the form lost its separation; reload the page"))?;
    let level = f.level.parse::<u8>().map_err(|_| FormError::field("level", "the review level is 1 or 2; reload the page"))?;
    let decision = match f.decision.as_str() {
        "approve" => ReviewDecision::Approve,
        "return" => ReviewDecision::Return,
        _ => return Err(FormError::field("decision", "choose approve or return")),
    };
    let note = Some(f.note.trim().to_string()).filter(|n| !n.is_empty());
    Ok(Command::ReviewSeparation { family, separation, level, decision, note })
}

/// `POST /people/{id}/review`: records a supervisory review of a separation
/// through the same `Service::execute` as `POST /api/commands`.
pub async fn review(State(state): State<Shared>, me: Me, Path(id): Path<String>, Form(f): Form<ReviewForm>) -> Response {
    if let Some(r) = me.csrf_refusal(&f.csrf) {
        return r;
    }
    let Some(person) = PersonId::parse(&id) else { return app_error_page(me, AppError::NotFound(String::new())) };
    let outcome = match review_command(&f) {
        Err(e) => Err((StatusCode::UNPROCESSABLE_ENTITY, e)),
        Ok(cmd) => {
            let (s, who) = (state.clone(), me.principal.clone());
            let key = format!("ui:{}:{}", who.user, if f.key.is_empty() { form_key() } else { f.key.clone() });
            match blocking(move || s.service.execute(&who, &key, &cmd)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err((FormError::status(&e), FormError::from(&e))),
                Err(_) => Err((StatusCode::SERVICE_UNAVAILABLE, FormError { field: None, message: "try again".into() })),
            }
        }
    };
    match outcome {
        Ok(()) => {
            let q = match f.purpose.trim() {
                "" => "withhold=1".to_string(),
                p => serde_urlencoded::to_string([("purpose", p)]).unwrap_or_default(),
            };
            Redirect::to(&format!("/people/{person}?{q}")).into_response()
        }
        Err((status, error)) => match load(&state, &me, person, &f.purpose).await {
            Ok(page) => {
                let p = page_html(&state, me, page, f.purpose.trim(), Some(error));
                html(status, &p)
            }
            Err(e) => app_error_page(me, e),
        },
    }
}
