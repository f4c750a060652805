//! Data-quality checks: what is wrong with a family or an encounter becomes a
//! finding that a person resolves; the data itself is kept as recorded.

use crate::engine::Engine;
use crate::error::AppError;
use jiff::civil::Date;
use kinship_domain::event::{EncounterRef, Subject};
use kinship_domain::family::FamilyKind;
use kinship_domain::{FamilyId, PersonId};
use kinship_store::Store;
use std::collections::{BTreeMap, BTreeSet};

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

/// What an import touched, for the checks that need whole families.
#[derive(Default)]
pub struct Touched {
    pub families: BTreeSet<FamilyId>,
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
pub fn check_families<S: Store>(engine: &Engine<S>, families: &BTreeSet<FamilyId>) -> Result<Vec<Draft>, AppError> {
    let mut out = vec![];
    for fid in families {
        let world = engine.family_state(*fid)?;
        let Some(f) = world.families.get(fid) else { continue };
        let on = f.formed_at.local_date();
        let label = f.source_family.as_ref().map(|s| format!("{}/{}", s.source, s.record_id)).unwrap_or_else(|| fid.to_string());
        let birth = |p: PersonId| world.persons.get(&p).and_then(|s| s.identity.birth).map(|b| b.date);
        let name = |p: PersonId| world.persons.get(&p).map(|s| s.identity.name.display()).unwrap_or_default();
        if f.kind == FamilyKind::Unit {
            let parents: Vec<_> = f.members.iter().filter(|m| m.role.is_parent_or_guardian()).collect();
            let adult_parent = parents.iter().any(|m| birth(m.person).is_some_and(|b| age(b, on) >= 18));
            let minor_child = f.members.iter().any(|m| m.role.is_child() && birth(m.person).is_some_and(|b| age(b, on) < 18));
            if !adult_parent {
                out.push(Draft {
                    kind: "unit-without-adult-parent".into(),
                    subjects: vec![Subject::Family(*fid)],
                    message: format!("family UNIT {label} has no parent or legal guardian known to be 18 or over"),
                });
            }
            if !minor_child {
                out.push(Draft {
                    kind: "unit-without-child".into(),
                    subjects: vec![Subject::Family(*fid)],
                    message: format!("family UNIT {label} has no child known to be under 18"),
                });
            }
            for p in parents {
                if let Some(b) = birth(p.person)
                    && age(b, on) < 18
                {
                    out.push(Draft {
                        kind: "unit-parent-under-18".into(),
                        subjects: vec![Subject::Family(*fid), Subject::Person(p.person)],
                        message: format!(
                            "{} ({}) is {} at the encounter: a parent under 18 with a child is a family GROUP, not a UNIT",
                            name(p.person),
                            p.role.as_str(),
                            age(b, on)
                        ),
                    });
                }
            }
        }
        for parent in f.members.iter().filter(|m| m.role.is_parent_or_guardian() && m.role != kinship_domain::family::Role::LegalGuardian) {
            for child in f.members.iter().filter(|m| m.role.is_child()) {
                let (Some(pb), Some(cb)) = (birth(parent.person), birth(child.person)) else { continue };
                let gap = age(pb, cb);
                if !(MIN_PARENT_GAP..=MAX_PARENT_GAP).contains(&gap) {
                    out.push(Draft {
                        kind: "implausible-age-gap".into(),
                        subjects: vec![Subject::Family(*fid), Subject::Person(parent.person), Subject::Person(child.person)],
                        message: format!(
                            "{} ({}) is {gap} years older than {} ({}): check the relationship and the birth dates",
                            name(parent.person),
                            parent.role.as_str(),
                            name(child.person),
                            child.role.as_str()
                        ),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// A minor encountered with adults, with no family recorded: the relationship
/// nobody recorded, put to a human.
pub fn check_encounters<S: Store>(engine: &Engine<S>, encounters: &BTreeMap<String, Vec<Seen>>) -> Result<Vec<Draft>, AppError> {
    let mut out = vec![];
    for people in encounters.values() {
        let adults: Vec<&Seen> = people.iter().filter(|s| s.birth.is_some_and(|b| age(b, s.on) >= 18)).collect();
        if adults.is_empty() {
            continue;
        }
        for minor in people.iter().filter(|s| !s.family_claimed && s.birth.is_some_and(|b| age(b, s.on) < 18)) {
            // A family recorded since (another source, a later command) settles it.
            if engine.store.person(minor.person)?.is_some_and(|v| v.family.is_some()) {
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
