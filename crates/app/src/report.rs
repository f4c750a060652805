//! Reports built from queries: the separated-children report as text, a
//! person's full picture, and the legal clocks.

use crate::engine::Engine;
use crate::error::AppError;
use jiff::Timestamp;
use kinship_domain::clocks::{self, ClockReading};
use kinship_domain::{ANumber, Event, PersonId, StreamId};
use kinship_store::{CustodyEntry, CustodyNow, PersonView, SeparatedChild, Store};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct HistoryEntry {
    pub position: u64,
    pub event: Event,
    pub meta: serde_json::Value,
}

#[derive(Clone, Debug, Serialize)]
pub struct PersonReport {
    pub person: PersonView,
    /// Derived from the facts (age now, family, whether a parent is with the
    /// child); `None` when the birth date is unknown.
    pub classification: Option<kinship_domain::family::Classification>,
    pub family_members: Vec<FamilyMemberLine>,
    pub custody_history: Vec<CustodyEntry>,
    pub clocks: Vec<ClockReading>,
    pub events: Vec<HistoryEntry>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FamilyMemberLine {
    pub person: PersonId,
    pub name: String,
    pub role: String,
    pub status: String,
    pub custody: CustodyNow,
}

/// Finds a person by id (`P-…` or bare UUID) or A-number.
pub fn find_person<S: Store>(engine: &Engine<S>, key: &str) -> Result<Vec<PersonId>, AppError> {
    if let Some(id) = PersonId::parse(key) {
        return Ok(vec![id]);
    }
    match ANumber::parse(key) {
        Ok(a) => Ok(engine.store.persons_by_a_number(&a)?),
        Err(_) => Err(AppError::Input(format!("{key:?} is neither a person id (P-…) nor an A-number (8 or 9 digits)"))),
    }
}

pub fn person_report<S: Store>(engine: &Engine<S>, id: PersonId, now: Timestamp) -> Result<PersonReport, AppError> {
    let person = engine.store.person(id)?.ok_or_else(|| AppError::NotFound(format!("no person {id}")))?;
    // The family with all its members (this person included) when there is
    // one: the member lines, the clocks and the classification (is a parent
    // still with the child?) all read it.
    let world = match &person.family {
        Some(m) => engine.family_state(m.family)?,
        None => engine.person_state(id)?,
    };
    let mut family_members = vec![];
    let mut events: Vec<HistoryEntry> =
        engine.history(&StreamId::Person(id))?.into_iter().map(|(position, event, meta)| HistoryEntry { position, event, meta }).collect();
    if let Some(f) = person.family.as_ref().and_then(|m| world.families.get(&m.family)) {
        for mm in &f.members {
            let custody = engine.store.person(mm.person)?.map(|v| v.custody).unwrap_or(CustodyNow {
                status: "none".into(),
                agency: None,
                facility: None,
                since: None,
            });
            family_members.push(FamilyMemberLine {
                person: mm.person,
                name: world.persons.get(&mm.person).map(|p| p.identity.name.display()).unwrap_or_default(),
                role: mm.role.as_str().to_string(),
                status: mm.status.as_str().to_string(),
                custody,
            });
        }
        events.extend(engine.history(&StreamId::Family(f.id))?.into_iter().map(|(position, event, meta)| HistoryEntry {
            position,
            event,
            meta,
        }));
        events.sort_by_key(|e| e.position);
    }
    let clocks = world.persons.get(&id).map(|p| clocks::running(&world, &engine.profile, p, now)).unwrap_or_default();
    let classification = kinship_domain::classify::classify(&world, id, &kinship_domain::time::Instant::from_timestamp(now));
    Ok(PersonReport { person, classification, family_members, custody_history: engine.store.custody_history(id)?, clocks, events })
}

fn custody_text(c: &CustodyNow) -> String {
    match c.status.as_str() {
        "in_custody" => format!(
            "{}{} since {}",
            c.agency.as_deref().unwrap_or("?"),
            c.facility.as_deref().map(|f| format!(" / {f}")).unwrap_or_default(),
            c.since.as_deref().unwrap_or("?")
        ),
        other => format!("{other}{}", c.since.as_deref().map(|s| format!(" {s}")).unwrap_or_default()),
    }
}

pub fn separated_children_text<S: Store>(engine: &Engine<S>, rows: &[SeparatedChild]) -> String {
    let mut out = format!("{} child(ren) currently separated from a parent\n", rows.len());
    for r in rows {
        let meaning = engine.profile.reason_codes.get(&r.reason_code).map(|c| c.meaning.as_str()).unwrap_or("?");
        out.push_str(&format!(
            "\n{}  {} (born {})\n  where:   {}\n  since:   {}\n  why:     {} ({}){}\n  review:  {}\n  family:  {}\n",
            r.child.id,
            r.child.name,
            r.child.birth_date.as_deref().unwrap_or("unknown"),
            custody_text(&r.child.custody),
            r.since,
            r.reason_code,
            meaning,
            r.policy.as_deref().map(|p| format!(", policy: {p}")).unwrap_or_default(),
            r.review,
            r.family
        ));
        for p in &r.parents {
            out.push_str(&format!(
                "  {:<8} {} {} [{}] at {}\n",
                p.role.to_lowercase(),
                p.person.id,
                p.person.name,
                p.status,
                custody_text(&p.person.custody)
            ));
        }
    }
    out
}

/// Persons in custody whose legal clocks are running, overdue first.
pub fn clocks_report<S: Store>(engine: &Engine<S>, now: Timestamp) -> Result<Vec<(PersonView, ClockReading)>, AppError> {
    let world = engine.replay_all()?;
    let mut out = vec![];
    for p in world.persons.values() {
        for c in clocks::running(&world, &engine.profile, p, now) {
            if let Some(v) = engine.store.person(p.id)? {
                out.push((v, c));
            }
        }
    }
    out.sort_by_key(|a| a.1.due);
    Ok(out)
}
