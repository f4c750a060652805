//! Data-quality checks: what is wrong with a family or an encounter becomes a
//! finding that a person resolves; the data itself is kept as recorded.

use crate::engine::Engine;
use crate::error::AppError;
use jiff::civil::Date;
use kinship_domain::event::{EncounterRef, Subject};
use kinship_domain::family::{FamilyKind, Role, UnitCheck};
use kinship_domain::{FamilyId, PersonId};
use kinship_store::Store;
use std::collections::BTreeMap;

/// A parent fewer years older than this than their child is implausible.
pub const MIN_PARENT_GAP: i16 = 14;
/// ...and more years older than this.
pub const MAX_PARENT_GAP: i16 = 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub kind: String,
    pub subjects: Vec<Subject>,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub person: PersonId,
    pub birth: Option<Date>,
    pub on: Date,
    pub family_claimed: bool,
}

/// A family as the import built it: enough to check it without reading it back.
#[derive(Clone, Debug)]
pub struct FamilySummary {
    pub label: String,
    pub kind: FamilyKind,
    /// The date ages are taken on (the encounter).
    pub on: Date,
    pub members: Vec<MemberSummary>,
}

#[derive(Clone, Debug)]
pub struct MemberSummary {
    pub person: PersonId,
    pub role: Role,
    pub birth: Option<Date>,
    pub name: String,
}

/// What an import touched, for the checks that need whole families.
#[derive(Default)]
pub struct Touched {
    /// Families created by this import carry their summary; families that
    /// existed before (`None`) are read back from the store.
    pub families: BTreeMap<FamilyId, Option<FamilySummary>>,
    pub encounters: BTreeMap<String, Vec<Seen>>,
    pub findings_raised: u64,
}

impl Touched {
    pub fn encounter(&mut self, e: &EncounterRef, person: PersonId, birth: Option<Date>, family_claimed: bool) {
        let list = self.encounters.entry(e.key.clone()).or_default();
        if !list.iter().any(|s| s.person == person) {
            list.push(Seen { person, birth, on: e.at.local_date(), family_claimed });
        }
    }
}

fn age(birth: Date, on: Date) -> i16 {
    kinship_domain::person::BirthDate { date: birth, estimated: false }.age_on(on)
}

/// UNIT composition and parent–child age gaps, per family.
pub fn check_families<S: Store>(engine: &Engine<S>, families: &BTreeMap<FamilyId, Option<FamilySummary>>) -> Result<Vec<Draft>, AppError> {
    let mut out = vec![];
    for (fid, summary) in families {
        match summary {
            Some(s) => check_family(*fid, s, &mut out),
            None => {
                if let Some(s) = summary_from_store(engine, *fid)? {
                    check_family(*fid, &s, &mut out);
                }
            }
        }
    }
    Ok(out)
}

fn summary_from_store<S: Store>(engine: &Engine<S>, fid: FamilyId) -> Result<Option<FamilySummary>, AppError> {
    let world = engine.family_state(fid)?;
    let Some(f) = world.families.get(&fid) else { return Ok(None) };
    let members = f
        .members
        .iter()
        .map(|m| {
            let p = world.persons.get(&m.person);
            MemberSummary {
                person: m.person,
                role: m.role,
                birth: p.and_then(|p| p.identity.birth).map(|b| b.date),
                name: p.map(|p| p.identity.name.display()).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Some(FamilySummary {
        label: f.source_family.as_ref().map(|s| format!("{}/{}", s.source, s.record_id)).unwrap_or_else(|| fid.to_string()),
        kind: f.kind,
        on: f.formed_at.local_date(),
        members,
    }))
}

fn check_family(fid: FamilyId, f: &FamilySummary, out: &mut Vec<Draft>) {
    let (on, label) = (f.on, &f.label);
    if f.kind == FamilyKind::Unit {
        let ages: Vec<(Role, Option<i16>)> = f.members.iter().map(|m| (m.role, m.birth.map(|b| age(b, on)))).collect();
        let check = UnitCheck::of(&ages);
        if !check.has_adult_parent {
            out.push(Draft {
                kind: "unit-without-adult-parent".into(),
                subjects: vec![Subject::Family(fid)],
                message: format!("family UNIT {label} has no parent or legal guardian known to be 18 or over"),
            });
        }
        if !check.has_minor_child {
            out.push(Draft {
                kind: "unit-without-child".into(),
                subjects: vec![Subject::Family(fid)],
                message: format!("family UNIT {label} has no child known to be under 18"),
            });
        }
        for i in check.minor_parents {
            let (Some(p), Some((_, Some(parent_age)))) = (f.members.get(i), ages.get(i)) else { continue };
            out.push(Draft {
                kind: "unit-parent-under-18".into(),
                subjects: vec![Subject::Family(fid), Subject::Person(p.person)],
                message: format!(
                    "{} ({}) is {parent_age} at the encounter: a parent under 18 with a child is a family GROUP, not a UNIT",
                    p.name,
                    p.role.as_str()
                ),
            });
        }
    }
    // The child's 72-hour clock then runs on a presumption (clocks.rs): the
    // birth date, or an estimate, is what a person must supply.
    for child in f.members.iter().filter(|m| m.role.is_child() && m.birth.is_none()) {
        out.push(Draft {
            kind: "child-without-birth-date".into(),
            subjects: vec![Subject::Family(fid), Subject::Person(child.person)],
            message: format!(
                "{} ({}) in family {label} has no birth date: the 72-hour clock runs on the presumption of a minor; record the birth date or an estimate",
                child.name,
                child.role.as_str()
            ),
        });
    }
    // A legal guardian need not be a generation older; parents must be.
    for parent in f.members.iter().filter(|m| matches!(m.role, Role::Mother | Role::Father)) {
        for child in f.members.iter().filter(|m| m.role.is_child()) {
            let (Some(pb), Some(cb)) = (parent.birth, child.birth) else { continue };
            let gap = age(pb, cb);
            if !(MIN_PARENT_GAP..=MAX_PARENT_GAP).contains(&gap) {
                out.push(Draft {
                    kind: "implausible-age-gap".into(),
                    subjects: vec![Subject::Family(fid), Subject::Person(parent.person), Subject::Person(child.person)],
                    message: format!(
                        "{} ({}) is {gap} years older than {} ({}): check the relationship and the birth dates",
                        parent.name,
                        parent.role.as_str(),
                        child.name,
                        child.role.as_str()
                    ),
                });
            }
        }
    }
}

/// A minor encountered with adults, with no family recorded: the relationship
/// nobody recorded, put to a human.
/// `has_family` answers whether a person is in a family now (the store's
/// state, or the importer's cache of it: the finding raised next loads the
/// same person, so asking the cache reads each person once).
pub fn check_encounters(
    encounters: &BTreeMap<String, Vec<Seen>>,
    mut has_family: impl FnMut(PersonId) -> Result<bool, AppError>,
) -> Result<Vec<Draft>, AppError> {
    let mut out = vec![];
    for people in encounters.values() {
        let adults: Vec<&Seen> = people.iter().filter(|s| s.birth.is_some_and(|b| age(b, s.on) >= 18)).collect();
        if adults.is_empty() {
            continue;
        }
        for minor in people.iter().filter(|s| !s.family_claimed && s.birth.is_some_and(|b| age(b, s.on) < 18)) {
            // A family recorded since (another source, a later command) settles it.
            if has_family(minor.person)? {
                continue;
            }
            let mut subjects = vec![Subject::Person(minor.person)];
            subjects.extend(adults.iter().map(|a| Subject::Person(a.person)));
            out.push(Draft {
                kind: "minor-with-adults-no-family".into(),
                subjects,
                message: format!(
                    "a child aged {} was encountered with {} adult(s) but no family is recorded: record the family, or confirm the child is unaccompanied",
                    minor.birth.map(|b| age(b, minor.on)).unwrap_or_default(),
                    adults.len()
                ),
            });
        }
    }
    Ok(out)
}
