//! The projections folded in memory, for `rebuild`: each event changes rows
//! held in maps (as the live projector's SQL changes the tables), and
//! [`crate::rebuild`] writes every table once at the end. The live path
//! stays in `project.rs`; a row here must end as the live SQL leaves it,
//! which the rebuild-equals-live tests check (conformance
//! `rebuild_equals_live`, `separated_children_follow_the_log`, the property
//! tests, `the_demo_loads_and_rebuild_equals_live`, and the sim story).
//!
//! Where the live SQL would fail (a duplicate key, a record attached to no
//! person) the fold fails too, with the same effect: the rebuild stops at
//! that position. Where the live SQL updates a row that does not exist, the
//! fold changes nothing.

use crate::project::{PersonRow, identity_columns, utc};
use kinship_domain::event::{EncounterRef, Subject};
use kinship_domain::family::ReviewDecision;
use kinship_domain::person::{Identity, SourceRef};
use kinship_domain::{Event, FamilyId, FindingId, LinkId, PersonId, SeparationId};
use std::collections::HashMap as StdHashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use uuid::Uuid;

/// A `persons` row; `num` is its place in [`Fold::persons`] plus one (the
/// live store numbers persons in the order they were recorded).
pub struct Person {
    pub row: PersonRow,
    /// The person's records (indexes into [`Fold::records`]), for the first encounter.
    records: Vec<u32>,
}

impl std::ops::Deref for Person {
    type Target = PersonRow;
    fn deref(&self) -> &PersonRow {
        &self.row
    }
}

impl std::ops::DerefMut for Person {
    fn deref_mut(&mut self) -> &mut PersonRow {
        &mut self.row
    }
}

pub struct Record {
    pub source: String,
    pub record_id: String,
    pub person: PersonId,
    pub event_id: Uuid,
    pub primary: bool,
    pub encounter_key: String,
}

pub struct Encounter {
    pub at: String,
    pub at_utc: String,
    pub local_date: String,
    pub sector: Option<String>,
    pub station: Option<String>,
}

/// A custody line; insert-only, so [`crate::rebuild`] writes them in chunks.
pub struct Custody {
    pub person: PersonId,
    pub position: i64,
    pub at: String,
    pub kind: &'static str,
    pub agency: Option<String>,
    pub facility: Option<String>,
    pub detail: Option<String>,
}

pub struct Family {
    pub kind: &'static str,
    pub formed_at: String,
    pub source: Option<String>,
    pub source_family_id: Option<String>,
    pub lead: Option<PersonId>,
}

pub struct Membership {
    pub role: &'static str,
    pub status: &'static str,
    pub established: &'static str,
    pub added_by: String,
    pub status_since: Option<String>,
    pub reunified_location: Option<String>,
}

pub struct Separation {
    pub family: FamilyId,
    pub reason_code: String,
    pub policy: Option<String>,
    pub narrative: String,
    pub approved_by: String,
    pub recorded_by: String,
    pub at: String,
    pub at_utc: String,
    pub review: String,
    pub event_id: Uuid,
}

pub struct Review {
    pub position: i64,
    pub separation: SeparationId,
    pub level: u8,
    pub decision: &'static str,
    pub note: Option<String>,
    pub by: String,
    pub at: String,
}

pub struct Finding {
    pub position: i64,
    pub kind: String,
    pub message: String,
    pub record: Option<SourceRef>,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
}

pub struct Link {
    pub position: i64,
    pub kind: &'static str,
    pub status: &'static str,
    pub a: PersonId,
    pub b: PersonId,
    pub relation: Option<&'static str>,
    pub score: u16,
    pub evidence: String,
    pub automatic: bool,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub family: Option<FamilyId>,
}

pub struct Run {
    pub position: i64,
    pub through: u64,
    pub records: u64,
    pub proposed: u64,
}

/// The fold's maps hash with [`Fx`] rather than SipHash: their keys come from
/// the store's own log (chained, written by Kinship), not from someone who
/// could choose colliding keys, and SipHash was 1 % of a rebuild. Nothing is
/// written in map order (every table is sorted first), so the hash cannot
/// change the result.
pub type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<Fx>>;

/// The Fx hash (rustc's): a rotate, xor and multiply per word.
#[derive(Default)]
pub struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Default)]
pub struct Fold {
    pub persons: Vec<Person>,
    person_index: HashMap<PersonId, u32>,
    pub records: Vec<Record>,
    record_index: HashMap<(String, String), u32>,
    pub encounters: HashMap<String, Encounter>,
    pub custody: Vec<Custody>,
    pub families: HashMap<FamilyId, Family>,
    pub memberships: HashMap<(FamilyId, PersonId), Membership>,
    pub separations: HashMap<SeparationId, Separation>,
    pub separation_members: Vec<(SeparationId, PersonId)>,
    pub reviews: Vec<Review>,
    pub findings: HashMap<FindingId, Finding>,
    /// (finding, subject as stored); duplicates are dropped when written (`INSERT OR IGNORE` live).
    pub finding_subjects: Vec<(FindingId, String)>,
    pub links: HashMap<LinkId, Link>,
    pub runs: Vec<Run>,
}

fn exists(what: &str) -> String {
    format!("{what} already exists (the live projection refuses a second insert)")
}

fn s(i: &kinship_domain::time::Instant) -> String {
    i.as_str().to_string()
}

impl Fold {
    fn person_mut(&mut self, id: &PersonId) -> Option<&mut Person> {
        let i = *self.person_index.get(id)?;
        self.persons.get_mut(i as usize)
    }

    /// Applies one event; an error says why the live projection would have refused it.
    pub fn apply(&mut self, position: u64, id: &Uuid, event: &Event) -> Result<(), String> {
        let pos = position as i64;
        match event {
            Event::PersonRecorded { person, identity, record, encounter, custody, family, .. } => {
                if self.person_index.contains_key(person) {
                    return Err(exists(&format!("person {person}")));
                }
                self.person_index.insert(*person, self.persons.len() as u32);
                let row = PersonRow::recorded(*person, identity, encounter, custody.as_ref(), family.as_ref());
                self.persons.push(Person { row, records: Vec::new() });
                self.record(person, record, id, true, encounter)?;
                if let Some(c) = custody {
                    self.custody(pos, person, &encounter.at, "booked_in", Some(&c.agency), c.facility.as_deref(), None);
                }
            }
            Event::RecordAttached { person, identity, record, encounter, .. } => {
                if !self.person_index.contains_key(person) {
                    return Err(format!("record attached to {person}, who was never recorded"));
                }
                self.set_identity(person, identity, false);
                self.record(person, record, id, false, encounter)?;
                self.refresh_first_encounter(person);
            }
            Event::RecordCorrected { person, record, person_identity, encounter, .. } => {
                if !self.person_index.contains_key(person) {
                    return Err(format!("record of {person} corrected, who was never recorded"));
                }
                self.set_identity(person, person_identity, true);
                self.encounter(encounter);
                if let Some(&i) = self.record_index.get(&(record.source.clone(), record.record_id.clone()))
                    && let Some(r) = self.records.get_mut(i as usize)
                {
                    r.event_id = *id;
                    r.encounter_key = encounter.key.clone();
                }
                self.refresh_first_encounter(person);
            }
            Event::BookedIn { person, agency, facility, at } => {
                self.custody(pos, person, at, "booked_in", Some(agency), facility.as_deref(), None);
                self.in_custody(person, agency, facility, at);
            }
            Event::TransferOffered { person, to_agency, to_facility, at, from_agency, .. } => {
                let detail = format!("from {from_agency}");
                self.custody(pos, person, at, "transfer_offered", Some(to_agency), to_facility.as_deref(), Some(detail));
                if let Some(p) = self.person_mut(person) {
                    p.pending_transfer_to = Some(to_agency.clone());
                }
            }
            Event::TransferAccepted { person, agency, facility, at, .. } => {
                self.custody(pos, person, at, "transfer_accepted", Some(agency), facility.as_deref(), None);
                self.in_custody(person, agency, facility, at);
            }
            Event::TransferRejected { person, agency, reason, at, .. } => {
                self.custody(pos, person, at, "transfer_rejected", Some(agency), None, Some(reason.clone()));
                if let Some(p) = self.person_mut(person) {
                    p.pending_transfer_to = None;
                }
            }
            Event::Released { person, at, us_address, conditions, .. } => {
                let detail = kinship_store::release_detail(us_address.as_deref(), conditions.as_deref());
                self.custody(pos, person, at, "released", None, None, Some(detail));
                if let Some(p) = self.person_mut(person) {
                    p.custody_status = "released";
                    p.custody_agency = None;
                    p.custody_facility = None;
                    p.custody_since = Some(s(at));
                    p.pending_transfer_to = None;
                    p.us_address = us_address.clone();
                }
            }
            Event::Removed { person, at, to_country, .. } => {
                let detail = to_country.as_ref().map(|c| format!("to {}", c.as_str()));
                self.custody(pos, person, at, "removed", None, None, detail);
                if let Some(p) = self.person_mut(person) {
                    p.custody_status = "removed";
                    p.custody_agency = None;
                    p.custody_facility = None;
                    p.custody_since = Some(s(at));
                    p.pending_transfer_to = None;
                }
            }
            Event::JoinedFamily { person, family, .. } => {
                if let Some(p) = self.person_mut(person) {
                    p.family_id = Some(*family);
                }
            }
            Event::LeftFamily { person, family } => {
                if let Some(p) = self.person_mut(person).filter(|p| p.family_id == Some(*family)) {
                    p.family_id = None;
                }
            }
            Event::ReferredForProsecution { person, at, .. } => {
                if let Some(p) = self.person_mut(person) {
                    p.referred_at = Some(s(at));
                }
            }
            Event::AgedOut { person, .. } => {
                if let Some(p) = self.person_mut(person) {
                    p.aged_out = true;
                }
            }
            Event::FamilyFormed { family, kind, formed_at, source_family, .. } => match self.families.entry(*family) {
                Entry::Occupied(_) => return Err(exists(&format!("family {family}"))),
                Entry::Vacant(v) => {
                    v.insert(Family {
                        kind: kind.as_str(),
                        formed_at: s(formed_at),
                        source: source_family.as_ref().map(|s| s.source.clone()),
                        source_family_id: source_family.as_ref().map(|s| s.record_id.clone()),
                        lead: None,
                    });
                }
            },
            Event::MemberAdded { family, person, role, established, by, lead } => {
                let established = established.as_str();
                let membership = Membership {
                    role: role.as_str(),
                    status: "active",
                    established,
                    added_by: by.clone(),
                    status_since: None,
                    reunified_location: None,
                };
                match self.memberships.entry((*family, *person)) {
                    // A withdrawn member added again takes their old place.
                    Entry::Occupied(mut o) if o.get().status == "withdrawn" => *o.get_mut() = membership,
                    Entry::Occupied(_) => return Err(exists(&format!("membership of {person} in {family}"))),
                    Entry::Vacant(v) => {
                        v.insert(membership);
                    }
                }
                if *lead && let Some(f) = self.families.get_mut(family) {
                    f.lead = Some(*person);
                }
            }
            Event::MembershipWithdrawn { family, person, .. } => {
                if let Some(m) = self.memberships.get_mut(&(*family, *person)) {
                    m.status = "withdrawn";
                    m.status_since = None;
                }
            }
            Event::MembershipCorrected { family, person, role, .. } => {
                if let Some(m) = self.memberships.get_mut(&(*family, *person)) {
                    m.role = role.as_str();
                }
            }
            Event::LeadDesignated { family, person, .. } => {
                if let Some(f) = self.families.get_mut(family) {
                    f.lead = Some(*person);
                }
            }
            Event::SeparationRecorded { family, separation, members, reason_code, policy, narrative, approved_by, recorded_by, at } => {
                match self.separations.entry(*separation) {
                    Entry::Occupied(_) => return Err(exists(&format!("separation {separation}"))),
                    Entry::Vacant(v) => {
                        v.insert(Separation {
                            family: *family,
                            reason_code: reason_code.clone(),
                            policy: policy.clone(),
                            narrative: narrative.clone(),
                            approved_by: approved_by.clone(),
                            recorded_by: recorded_by.clone(),
                            at: s(at),
                            at_utc: utc(at),
                            review: "awaiting_level_1".into(),
                            event_id: *id,
                        });
                    }
                }
                for m in members {
                    self.separation_members.push((*separation, *m));
                    if let Some(ms) = self.memberships.get_mut(&(*family, *m)) {
                        ms.status = "separated";
                        ms.status_since = Some(s(at));
                    }
                }
            }
            Event::SeparationReviewed { separation, level, decision, note, by, at, .. } => {
                let (d, review) = match (decision, level) {
                    (ReviewDecision::Approve, 1) => ("approve", "awaiting_level_2".to_string()),
                    (ReviewDecision::Approve, _) => ("approve", "approved".to_string()),
                    (ReviewDecision::Return, l) => ("return", format!("returned_at_level_{l}")),
                };
                self.reviews.push(Review {
                    position: pos,
                    separation: *separation,
                    level: *level,
                    decision: d,
                    note: note.clone(),
                    by: by.clone(),
                    at: s(at),
                });
                if let Some(sep) = self.separations.get_mut(separation) {
                    sep.review = review;
                }
            }
            Event::SeparationCorrected { separation, reason_code, policy, narrative, .. } => {
                if let Some(sep) = self.separations.get_mut(separation) {
                    sep.reason_code = reason_code.clone();
                    sep.policy = policy.clone();
                    sep.narrative = narrative.clone();
                    sep.review = "awaiting_level_1".into();
                    sep.event_id = *id;
                }
            }
            Event::MembersReunified { family, members, location, at, .. } => {
                for m in members {
                    if let Some(ms) = self.memberships.get_mut(&(*family, *m)) {
                        ms.status = "reunified";
                        ms.status_since = Some(s(at));
                        ms.reunified_location = Some(location.clone());
                    }
                }
            }
            Event::FindingRaised { finding, kind, subjects, message, record } => {
                match self.findings.entry(*finding) {
                    Entry::Occupied(_) => return Err(exists(&format!("finding {finding}"))),
                    Entry::Vacant(v) => {
                        v.insert(Finding {
                            position: pos,
                            kind: kind.clone(),
                            message: message.clone(),
                            record: record.clone(),
                            resolution: None,
                            resolved_by: None,
                        });
                    }
                }
                for subject in subjects {
                    let subject = match subject {
                        Subject::Person(p) => p.to_string(),
                        Subject::Family(f) => f.to_string(),
                    };
                    self.finding_subjects.push((*finding, subject));
                }
            }
            Event::FindingResolved { finding, resolution, by } => {
                if let Some(f) = self.findings.get_mut(finding) {
                    f.resolution = Some(resolution.clone());
                    f.resolved_by = Some(by.clone());
                }
            }
            Event::LinkProposed { link, kind, a, b, relation, score, evidence, .. } => match self.links.entry(*link) {
                Entry::Occupied(_) => return Err(exists(&format!("link {link}"))),
                Entry::Vacant(v) => {
                    v.insert(Link {
                        position: pos,
                        kind: kind.as_str(),
                        status: "proposed",
                        a: *a,
                        b: *b,
                        relation: relation.map(|r| r.as_str()),
                        score: *score,
                        evidence: serde_json::to_string(evidence).unwrap_or_default(),
                        automatic: false,
                        decided_by: None,
                        reason: None,
                        family: None,
                    });
                }
            },
            Event::LinkConfirmed { link, family, note, by } => {
                if let Some(l) = self.links.get_mut(link) {
                    l.status = "confirmed";
                    l.decided_by = Some(by.clone());
                    l.reason = note.clone();
                    l.family = *family;
                }
            }
            Event::LinkRejected { link, reason, by } => {
                if let Some(l) = self.links.get_mut(link) {
                    l.status = "rejected";
                    l.decided_by = Some(by.clone());
                    l.reason = Some(reason.clone());
                }
            }
            Event::IdentityLinked { link, automatic, by, .. } => {
                if let Some(l) = self.links.get_mut(link) {
                    l.status = "linked";
                    l.decided_by = Some(by.clone());
                    l.automatic = *automatic;
                }
            }
            Event::IdentityUnlinked { link, reason, by } => {
                if let Some(l) = self.links.get_mut(link) {
                    l.status = "unlinked";
                    l.decided_by = Some(by.clone());
                    l.reason = Some(reason.clone());
                }
            }
            Event::LinkageRan { through, records, proposed, .. } => {
                self.runs.push(Run { position: pos, through: *through, records: *records, proposed: *proposed });
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn custody(
        &mut self,
        position: i64,
        person: &PersonId,
        at: &kinship_domain::time::Instant,
        kind: &'static str,
        agency: Option<&str>,
        facility: Option<&str>,
        detail: Option<String>,
    ) {
        self.custody.push(Custody {
            person: *person,
            position,
            at: s(at),
            kind,
            agency: agency.map(str::to_string),
            facility: facility.map(str::to_string),
            detail,
        });
    }

    fn in_custody(&mut self, person: &PersonId, agency: &str, facility: &Option<String>, at: &kinship_domain::time::Instant) {
        if let Some(p) = self.person_mut(person) {
            p.custody_status = "in_custody";
            p.custody_agency = Some(agency.to_string());
            p.custody_facility = facility.clone();
            p.custody_since = Some(s(at));
            p.pending_transfer_to = None;
        }
    }

    /// As `Projector::set_identity`: `replace` overwrites every column, else
    /// only the empty ones are filled (the estimated flag goes with the birth date).
    fn set_identity(&mut self, person: &PersonId, i: &Identity, replace: bool) {
        let Some(p) = self.person_mut(person) else { return };
        let new = identity_columns(i);
        let estimated = i.birth.is_some_and(|b| b.estimated);
        if replace {
            p.identity = new;
            p.birth_estimated = estimated;
            return;
        }
        if p.identity[2].is_none() {
            p.birth_estimated = estimated;
        }
        for (old, new) in p.identity.iter_mut().zip(new) {
            if old.is_none() {
                *old = new;
            }
        }
    }

    fn record(&mut self, person: &PersonId, r: &SourceRef, id: &Uuid, primary: bool, e: &EncounterRef) -> Result<(), String> {
        let index = self.records.len() as u32;
        match self.record_index.entry((r.source.clone(), r.record_id.clone())) {
            Entry::Occupied(_) => return Err(exists(&format!("record {}:{}", r.source, r.record_id))),
            Entry::Vacant(v) => v.insert(index),
        };
        self.records.push(Record {
            source: r.source.clone(),
            record_id: r.record_id.clone(),
            person: *person,
            event_id: *id,
            primary,
            encounter_key: e.key.clone(),
        });
        if let Some(p) = self.person_mut(person) {
            p.records.push(index);
        }
        self.encounter(e);
        Ok(())
    }

    /// The first record of an encounter sets its time and place (`INSERT OR IGNORE`).
    fn encounter(&mut self, e: &EncounterRef) {
        if self.encounters.contains_key(&e.key) {
            return;
        }
        self.encounters.insert(
            e.key.clone(),
            Encounter {
                at: s(&e.at),
                at_utc: utc(&e.at),
                local_date: e.at.local_date().to_string(),
                sector: e.sector.clone(),
                station: e.station.clone(),
            },
        );
    }

    /// The earliest encounter (by UTC text, then local text) of the person's records.
    fn refresh_first_encounter(&mut self, person: &PersonId) {
        let Some(&i) = self.person_index.get(person) else { return };
        let Some(p) = self.persons.get(i as usize) else { return };
        let first = p
            .records
            .iter()
            .filter_map(|&r| self.records.get(r as usize))
            .filter_map(|r| self.encounters.get(&r.encounter_key))
            .min_by(|a, b| (&a.at_utc, &a.at).cmp(&(&b.at_utc, &b.at)))
            .map(|e| (e.at.clone(), e.at_utc.clone()));
        if let (Some((at, at_utc)), Some(p)) = (first, self.persons.get_mut(i as usize)) {
            p.first_encountered = at;
            p.first_encountered_utc = at_utc;
        }
    }
}
