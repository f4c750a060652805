//! State: what the events say now. [`evolve`] is the only way state changes,
//! and it never fails: events are facts that already happened.

use crate::event::{EncounterRef, Event, RecordDetails, Subject};
use crate::family::{Establishment, FamilyKind, MemberStatus, ReviewDecision, Role};
use crate::ids::{FamilyId, FindingId, LinkId, PersonId, SeparationId};
use crate::link::{LinkState, LinkStatus};
use crate::person::{Identity, SourceRef};
use crate::time::Instant;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Custody {
    InCustody { agency: String, facility: Option<String>, since: Instant },
    Released { at: Instant, us_address: Option<String> },
    Removed { at: Instant },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingTransfer {
    pub to_agency: String,
    pub to_facility: Option<String>,
    pub at: Instant,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordState {
    pub record: SourceRef,
    /// The event that holds this record's current content (the original or
    /// its latest correction).
    pub event_id: Uuid,
    /// The identity as this record stated it.
    pub identity: Identity,
    pub encounter: EncounterRef,
    pub details: RecordDetails,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonState {
    pub id: PersonId,
    pub identity: Identity,
    pub records: Vec<RecordState>,
    pub first_encountered: Instant,
    pub custody: Option<Custody>,
    /// The agencies that have held the person since they were last booked
    /// in, oldest first: a clock that runs "in border custody" runs across
    /// transfers between border agencies.
    pub custody_spells: Vec<(String, Instant)>,
    pub pending_transfer: Option<PendingTransfer>,
    /// The family the person joined last. Whether they are with it now is the
    /// family's member status.
    pub family: Option<FamilyId>,
    pub referred_for_prosecution: Option<Instant>,
    pub aged_out: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    pub person: PersonId,
    pub role: Role,
    pub status: MemberStatus,
    pub established: Establishment,
    /// The event that recorded the current role (what a correction points at).
    #[serde(skip)]
    pub role_event: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReviewState {
    AwaitingLevel(u8),
    Approved,
    Returned { level: u8, by: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Separation {
    pub id: SeparationId,
    /// The event recording (or last correcting) this separation.
    pub event_id: Uuid,
    pub members: Vec<PersonId>,
    pub reason_code: String,
    pub policy: Option<String>,
    pub narrative: String,
    pub approved_by: String,
    pub recorded_by: String,
    pub at: Instant,
    pub review: ReviewState,
    pub reviewers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FamilyState {
    pub id: FamilyId,
    pub kind: FamilyKind,
    pub formed_at: Instant,
    pub source_family: Option<SourceRef>,
    pub members: Vec<Member>,
    pub lead: Option<PersonId>,
    pub separations: Vec<Separation>,
}

impl FamilyState {
    pub fn member(&self, person: PersonId) -> Option<&Member> {
        self.members.iter().find(|m| m.person == person)
    }
    pub fn separation(&self, id: SeparationId) -> Option<&Separation> {
        self.separations.iter().find(|s| s.id == id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingState {
    pub id: FindingId,
    pub kind: String,
    pub subjects: Vec<Subject>,
    pub message: String,
    pub resolved: Option<String>,
}

/// The part of the record a decision needs (or, in tests, all of it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct World {
    pub persons: BTreeMap<PersonId, PersonState>,
    pub families: BTreeMap<FamilyId, FamilyState>,
    pub findings: BTreeMap<FindingId, FindingState>,
    pub links: BTreeMap<LinkId, LinkState>,
}

impl World {
    /// Is the person with their family now, and which one?
    pub fn active_family(&self, person: PersonId) -> Option<FamilyId> {
        let fid = self.persons.get(&person)?.family?;
        let fam = self.families.get(&fid)?;
        fam.member(person).filter(|m| m.status.is_with_family()).map(|_| fid)
    }
}

/// Folds one event into the world. `event_id` is the id the log gave it, so
/// that corrections can point at what they correct.
pub fn evolve(world: &mut World, event_id: Uuid, event: &Event) {
    match event {
        Event::PersonRecorded { person, identity, record, encounter, details, custody, family } => {
            world.persons.insert(
                *person,
                PersonState {
                    id: *person,
                    identity: identity.clone(),
                    records: vec![RecordState {
                        record: record.clone(),
                        event_id,
                        identity: identity.clone(),
                        encounter: encounter.clone(),
                        details: details.clone(),
                    }],
                    first_encountered: encounter.at.clone(),
                    custody: custody.as_ref().map(|c| Custody::InCustody {
                        agency: c.agency.clone(),
                        facility: c.facility.clone(),
                        since: encounter.at.clone(),
                    }),
                    custody_spells: custody.iter().map(|c| (c.agency.clone(), encounter.at.clone())).collect(),
                    pending_transfer: None,
                    family: family.as_ref().map(|l| l.family),
                    referred_for_prosecution: None,
                    aged_out: false,
                },
            );
        }
        Event::RecordAttached { person, identity, record, encounter, details } => {
            if let Some(p) = world.persons.get_mut(person) {
                merge_identity(&mut p.identity, identity);
                if encounter.at < p.first_encountered {
                    p.first_encountered = encounter.at.clone();
                }
                p.records.push(RecordState {
                    record: record.clone(),
                    event_id,
                    identity: identity.clone(),
                    encounter: encounter.clone(),
                    details: details.clone(),
                });
            }
        }
        Event::RecordCorrected { person, record, identity, encounter, details, person_identity, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                if let Some(r) = p.records.iter_mut().find(|r| &r.record == record) {
                    r.event_id = event_id;
                    r.identity = identity.clone();
                    r.encounter = encounter.clone();
                    r.details = details.clone();
                }
                p.identity = person_identity.clone();
                p.first_encountered = p.records.iter().map(|r| r.encounter.at.clone()).min().unwrap_or(encounter.at.clone());
            }
        }
        Event::BookedIn { person, agency, facility, at } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.custody = Some(Custody::InCustody { agency: agency.clone(), facility: facility.clone(), since: at.clone() });
                p.custody_spells = vec![(agency.clone(), at.clone())];
                p.pending_transfer = None;
            }
        }
        Event::TransferOffered { person, to_agency, to_facility, at, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.pending_transfer =
                    Some(PendingTransfer { to_agency: to_agency.clone(), to_facility: to_facility.clone(), at: at.clone() });
            }
        }
        Event::TransferAccepted { person, agency, facility, at, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.custody = Some(Custody::InCustody { agency: agency.clone(), facility: facility.clone(), since: at.clone() });
                p.custody_spells.push((agency.clone(), at.clone()));
                p.pending_transfer = None;
            }
        }
        Event::TransferRejected { person, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.pending_transfer = None;
            }
        }
        Event::Released { person, at, us_address, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.custody = Some(Custody::Released { at: at.clone(), us_address: us_address.clone() });
                p.custody_spells.clear();
                p.pending_transfer = None;
            }
        }
        Event::Removed { person, at, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.custody = Some(Custody::Removed { at: at.clone() });
                p.custody_spells.clear();
                p.pending_transfer = None;
            }
        }
        Event::JoinedFamily { person, family, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.family = Some(*family);
            }
        }
        Event::LeftFamily { person, family } => {
            if let Some(p) = world.persons.get_mut(person).filter(|p| p.family == Some(*family)) {
                p.family = None;
            }
        }
        Event::ReferredForProsecution { person, at, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.referred_for_prosecution = Some(at.clone());
            }
        }
        Event::AgedOut { person, .. } => {
            if let Some(p) = world.persons.get_mut(person) {
                p.aged_out = true;
            }
        }
        Event::FamilyFormed { family, kind, formed_at, source_family, .. } => {
            world.families.insert(
                *family,
                FamilyState {
                    id: *family,
                    kind: *kind,
                    formed_at: formed_at.clone(),
                    source_family: source_family.clone(),
                    members: vec![],
                    lead: None,
                    separations: vec![],
                },
            );
        }
        Event::MemberAdded { family, person, role, established, lead, .. } => {
            if let Some(f) = world.families.get_mut(family) {
                let member =
                    Member { person: *person, role: *role, status: MemberStatus::Active, established: *established, role_event: event_id };
                // A withdrawn member added again takes their old place.
                match f.members.iter_mut().find(|m| m.person == *person) {
                    Some(m) => *m = member,
                    None => f.members.push(member),
                }
                if *lead {
                    f.lead = Some(*person);
                }
            }
        }
        Event::MembershipWithdrawn { family, person, .. } => {
            if let Some(m) = world.families.get_mut(family).and_then(|f| f.members.iter_mut().find(|m| m.person == *person)) {
                m.status = MemberStatus::Withdrawn;
                m.role_event = event_id;
            }
        }
        Event::MembershipCorrected { family, person, role, .. } => {
            if let Some(m) = world.families.get_mut(family).and_then(|f| f.members.iter_mut().find(|m| m.person == *person)) {
                m.role = *role;
                m.role_event = event_id;
            }
        }
        Event::LeadDesignated { family, person, .. } => {
            if let Some(f) = world.families.get_mut(family) {
                f.lead = Some(*person);
            }
        }
        Event::SeparationRecorded { family, separation, members, reason_code, policy, narrative, approved_by, recorded_by, at } => {
            if let Some(f) = world.families.get_mut(family) {
                for m in f.members.iter_mut().filter(|m| members.contains(&m.person)) {
                    m.status = MemberStatus::Separated;
                }
                f.separations.push(Separation {
                    id: *separation,
                    event_id,
                    members: members.clone(),
                    reason_code: reason_code.clone(),
                    policy: policy.clone(),
                    narrative: narrative.clone(),
                    approved_by: approved_by.clone(),
                    recorded_by: recorded_by.clone(),
                    at: at.clone(),
                    review: ReviewState::AwaitingLevel(1),
                    reviewers: vec![],
                });
            }
        }
        Event::SeparationReviewed { family, separation, level, decision, by, .. } => {
            if let Some(s) = world.families.get_mut(family).and_then(|f| f.separations.iter_mut().find(|s| s.id == *separation)) {
                s.reviewers.push(by.clone());
                s.review = match (decision, level) {
                    (ReviewDecision::Approve, 1) => ReviewState::AwaitingLevel(2),
                    (ReviewDecision::Approve, _) => ReviewState::Approved,
                    (ReviewDecision::Return, l) => ReviewState::Returned { level: *l, by: by.clone() },
                };
            }
        }
        Event::SeparationCorrected { family, separation, reason_code, policy, narrative, .. } => {
            if let Some(s) = world.families.get_mut(family).and_then(|f| f.separations.iter_mut().find(|s| s.id == *separation)) {
                s.event_id = event_id;
                s.reason_code = reason_code.clone();
                s.policy = policy.clone();
                s.narrative = narrative.clone();
                s.review = ReviewState::AwaitingLevel(1);
                s.reviewers.clear();
            }
        }
        Event::MembersReunified { family, members, .. } => {
            if let Some(f) = world.families.get_mut(family) {
                for m in f.members.iter_mut().filter(|m| members.contains(&m.person)) {
                    m.status = MemberStatus::Reunified;
                }
            }
        }
        Event::FindingRaised { finding, kind, subjects, message, .. } => {
            world.findings.insert(
                *finding,
                FindingState { id: *finding, kind: kind.clone(), subjects: subjects.clone(), message: message.clone(), resolved: None },
            );
        }
        Event::FindingResolved { finding, resolution, .. } => {
            if let Some(f) = world.findings.get_mut(finding) {
                f.resolved = Some(resolution.clone());
            }
        }
        Event::LinkProposed { link, kind, a, b, relation, score, evidence, .. } => {
            world.links.insert(
                *link,
                LinkState {
                    id: *link,
                    kind: *kind,
                    a: *a,
                    b: *b,
                    relation: *relation,
                    score: *score,
                    evidence: evidence.clone(),
                    status: LinkStatus::Proposed,
                    decided_by: None,
                    reason: None,
                    family: None,
                },
            );
        }
        Event::LinkConfirmed { link, family, note, by } => {
            if let Some(l) = world.links.get_mut(link) {
                l.status = LinkStatus::Confirmed;
                l.family = *family;
                l.decided_by = Some(by.clone());
                l.reason.clone_from(note);
            }
        }
        Event::LinkRejected { link, reason, by } => {
            if let Some(l) = world.links.get_mut(link) {
                l.status = LinkStatus::Rejected;
                l.decided_by = Some(by.clone());
                l.reason = Some(reason.clone());
            }
        }
        Event::IdentityLinked { link, by, .. } => {
            if let Some(l) = world.links.get_mut(link) {
                l.status = LinkStatus::Linked;
                l.decided_by = Some(by.clone());
            }
        }
        Event::IdentityUnlinked { link, reason, by } => {
            if let Some(l) = world.links.get_mut(link) {
                l.status = LinkStatus::Unlinked;
                l.decided_by = Some(by.clone());
                l.reason = Some(reason.clone());
            }
        }
        Event::LinkageRan { .. } => {}
    }
}

/// A person's identity from their records: the first record's, with gaps
/// filled from the others in the order they arrived.
pub fn identity_from_records<'a>(mut records: impl Iterator<Item = &'a Identity>) -> Option<Identity> {
    let mut out = records.next()?.clone();
    for r in records {
        merge_identity(&mut out, r);
    }
    Some(out)
}

/// Another record of the same person fills facts the first one lacked; it
/// never overwrites what was already recorded.
fn merge_identity(into: &mut Identity, from: &Identity) {
    if into.name.given.is_none() {
        into.name.given.clone_from(&from.name.given);
    }
    if into.name.family.is_none() {
        into.name.family.clone_from(&from.name.family);
    }
    if into.birth.is_none() {
        into.birth = from.birth;
    }
    if into.sex.is_none() {
        into.sex = from.sex;
    }
    if into.citizenship.is_none() {
        into.citizenship.clone_from(&from.citizenship);
    }
    if into.a_number.is_none() {
        into.a_number.clone_from(&from.a_number);
    }
}
