//! The read the HTML interface needs beyond the JSON API's: a person's page
//! (the record plus family member names, legal clocks and the events
//! timeline). Same rules as every other
//! [`Service`] read: reach first (out of reach = not found), the answer cut
//! down to the caller's field classes by [`crate::access::view`], and one
//! audit record before anything is returned.

use super::Service;
use crate::access::Principal;
use crate::access::reach::Reacher;
use crate::access::view::{self, CUSTODY, FAMILY, IDENTITY, PersonRecord};
use crate::error::AppError;
use jiff::Timestamp;
use kinship_domain::clocks::{self, ClockReading};
use kinship_domain::{Event, PersonId, StreamId};
use kinship_store::Store;
use serde::Serialize;

/// A person's page: what `GET /api/persons/{id}` returns, plus what a
/// caseworker needs on one screen, each part only when its class is shown.
#[derive(Clone, Debug, Serialize)]
pub struct PersonPage {
    pub record: PersonRecord,
    /// The family's members (family class); names only with the identity class.
    pub members: Vec<MemberLine>,
    /// Running legal clocks (custody class), overdue first.
    pub clocks: Vec<ClockReading>,
    /// The person's and their family's events, oldest first, only those of
    /// classes the answer contains.
    pub events: Vec<EventLine>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MemberLine {
    pub person: PersonId,
    pub name: Option<String>,
    pub role: String,
    pub status: String,
    pub lead: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct EventLine {
    pub position: u64,
    pub at: String,
    /// The event's type, e.g. `TransferAccepted`.
    pub kind: String,
    /// The field class the event belongs to.
    pub class: &'static str,
    /// Agency and user that recorded it.
    pub by: String,
    /// A few facts of the event, all of its own class (never names or columns).
    pub details: Vec<(String, String)>,
}

/// The class an event's facts belong to. Exhaustive on purpose: a new event
/// type must be classified here before it can be shown.
pub fn event_class(e: &Event) -> &'static str {
    match e {
        Event::PersonRecorded { .. }
        | Event::RecordAttached { .. }
        | Event::RecordCorrected { .. }
        | Event::AgedOut { .. }
        | Event::IdentityLinked { .. }
        | Event::IdentityUnlinked { .. } => IDENTITY,
        Event::BookedIn { .. }
        | Event::TransferOffered { .. }
        | Event::TransferAccepted { .. }
        | Event::TransferRejected { .. }
        | Event::Released { .. }
        | Event::Removed { .. }
        | Event::ReferredForProsecution { .. } => CUSTODY,
        Event::JoinedFamily { .. }
        | Event::LeftFamily { .. }
        | Event::FamilyFormed { .. }
        | Event::MemberAdded { .. }
        | Event::MembershipCorrected { .. }
        | Event::MembershipWithdrawn { .. }
        | Event::LeadDesignated { .. }
        | Event::SeparationRecorded { .. }
        | Event::SeparationReviewed { .. }
        | Event::SeparationCorrected { .. }
        | Event::MembersReunified { .. } => FAMILY,
        // Findings are listed on their own page, never in a person's timeline.
        Event::FindingRaised { .. } | Event::FindingResolved { .. } => "finding",
        // The linkage worklist has its own pages (proposals name two persons).
        Event::LinkProposed { .. } | Event::LinkConfirmed { .. } | Event::LinkRejected { .. } | Event::LinkageRan { .. } => "link",
    }
}

/// The event fields a timeline shows, per class. Anything else (names,
/// narratives, record columns) stays out.
fn shown_fields(class: &str) -> &'static [&'static str] {
    match class {
        CUSTODY => &["agency", "facility", "to_agency", "to_facility", "reason"],
        FAMILY => &["kind", "role", "reason_code", "policy", "level", "decision", "location"],
        _ => &[],
    }
}

fn event_line(position: u64, event: &Event, meta: &serde_json::Value) -> EventLine {
    let class = event_class(event);
    let json = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let details = shown_fields(class).iter().filter_map(|k| json.get(*k).and_then(text).map(|v| (k.replace('_', " "), v))).collect();
    let actor = &meta["actor"];
    EventLine {
        position,
        at: meta["at"].as_str().unwrap_or("").to_string(),
        kind: json["type"].as_str().unwrap_or("?").to_string(),
        class,
        by: format!("{} {}", actor["agency"].as_str().unwrap_or(""), actor["user"].as_str().unwrap_or("")).trim().to_string(),
        details,
    }
}

impl<S: Store> Service<S> {
    /// A person's page. One audit record (`person.read`, like the API's read)
    /// listing the classes returned.
    pub fn person_page(&self, who: &Principal, id: PersonId, purpose: Option<&str>, now: Timestamp) -> Result<PersonPage, AppError> {
        let vis = self.visibility(who);
        let result = (|| {
            let mut reach = Reacher::new(&self.engine, who);
            if !reach.person(id)? {
                return Err(AppError::NotFound(format!("no person {id}")));
            }
            let not_found = || AppError::NotFound(format!("no person {id}"));
            // Load every member, so names and the clocks (which ask whether a
            // parent is with the child) read the whole family.
            let family_id = reach.world().persons.get(&id).ok_or_else(not_found)?.family;
            let member_ids: Vec<PersonId> = family_id
                .and_then(|f| reach.world().families.get(&f))
                .map(|f| f.members.iter().map(|m| m.person).collect())
                .unwrap_or_default();
            for m in &member_ids {
                reach.person(*m)?;
            }
            let world = reach.world();
            let person = world.persons.get(&id).ok_or_else(not_found)?;
            let family = family_id.and_then(|f| world.families.get(&f));
            let history = self.engine.store.custody_history(id)?;
            let record = view::person_record(&self.engine.profile, &vis, person, family, history, purpose);
            let members = match (&record.family, family) {
                (Some(_), Some(f)) => f
                    .members
                    .iter()
                    .map(|m| MemberLine {
                        person: m.person,
                        name: record.identity.as_ref().and(world.persons.get(&m.person)).map(|p| p.identity.name.display()),
                        role: m.role.as_str().to_string(),
                        status: m.status.as_str().to_string(),
                        lead: f.lead == Some(m.person),
                    })
                    .collect(),
                _ => vec![],
            };
            let mut clocks = if record.custody.is_some() { clocks::running(world, &self.engine.profile, person, now) } else { vec![] };
            clocks.sort_by_key(|c| (!c.overdue, c.due));
            let mut streams = vec![StreamId::Person(id)];
            if let (Some(_), Some(f)) = (&record.family, family_id) {
                streams.push(StreamId::Family(f));
            }
            let mut events = vec![];
            for s in &streams {
                for (position, event, meta) in self.engine.history(s)? {
                    if record.classes.contains_key(event_class(&event)) {
                        events.push(event_line(position, &event, &meta));
                    }
                }
            }
            events.sort_by_key(|e| e.position);
            Ok(PersonPage { record, members, clocks, events })
        })();
        let classes = result.as_ref().map(|r| r.record.classes.keys().cloned().collect()).unwrap_or_default();
        self.audited(who, "person.read", vec![id.to_string()], classes, purpose, result)
    }
}
