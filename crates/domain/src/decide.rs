//! `decide`: a command and the current state in, events or the broken rule out.

use crate::actor::CommandMeta;
use crate::command::{Command, NewMember, derived_id};
use crate::error::DomainError;
use crate::event::{Custodian, Event, FamilyLink, Subject};
use crate::family::{Establishment, FamilyKind, MemberStatus, ReviewDecision, Role};
use crate::ids::{FamilyId, FindingId, PersonId};
use crate::profile::Profile;
use crate::state::{Custody, FamilyState, PersonState, ReviewState, World};
use crate::time::Instant;

/// The events a command produced.
pub type Decision = Vec<Event>;

pub(crate) type R<T> = Result<T, DomainError>;

pub fn decide(world: &World, profile: &Profile, meta: &CommandMeta, cmd: &Command) -> R<Decision> {
    let actor = &meta.actor;
    let permission = cmd.permission(profile);
    if !profile.permits(&actor.role, &actor.agency, permission) {
        return Err(DomainError::new(
            "not-permitted",
            format!(
                "role {:?} of agency {:?} may not do {:?}; ask someone whose role holds that permission",
                actor.role, actor.agency, permission
            ),
        ));
    }
    apply(world, profile, meta, cmd)
}

/// The rules of a command whose permission was checked. A confirmed link
/// records its family tie through these same rules (without asking the
/// reviewer for `family.form`: the review permission is the one that counts).
pub(crate) fn apply(world: &World, profile: &Profile, meta: &CommandMeta, cmd: &Command) -> R<Decision> {
    let actor = &meta.actor;
    let by = actor.user.clone();
    let at = meta.at.clone();
    match cmd {
        Command::ProposeLink { .. }
        | Command::ConfirmLink { .. }
        | Command::RejectLink { .. }
        | Command::UnlinkIdentity { .. }
        | Command::RecordLinkageRun { .. } => crate::decide_link::decide_link(world, profile, meta, cmd),
        Command::RecordPerson { person, identity, record, encounter, details, custody, family } => {
            if world.persons.contains_key(person) {
                return Err(DomainError::new("person-exists", format!("person {person} is already recorded")));
            }
            // The book-in rides on the first event: one event per person.
            let custody = match custody {
                Some((agency, facility)) => {
                    known_agency(profile, agency, "custody.agency")?;
                    Some(Custodian { agency: agency.clone(), facility: facility.clone() })
                }
                None => None,
            };
            let recorded = |link: Option<FamilyLink>| Event::PersonRecorded {
                person: *person,
                identity: identity.clone(),
                record: record.clone(),
                encounter: encounter.clone(),
                details: details.clone(),
                custody: custody.clone(),
                family: link,
            };
            let Some(claim) = family else {
                return Ok(vec![recorded(None)]);
            };
            if !profile.permits(&actor.role, &actor.agency, "family.form") {
                return Err(DomainError::new(
                    "not-permitted",
                    format!(
                        "role {:?} of agency {:?} may not do \"family.form\"; a record that places a person in a family needs it",
                        actor.role, actor.agency
                    ),
                ));
            }
            let mut out = Vec::with_capacity(3);
            // A new person is in no family yet and cannot be a member
            // already: of AddMember's rules only the lead's remains.
            let lead = match &claim.form {
                Some(form) => {
                    if world.families.contains_key(&claim.family) {
                        return Err(DomainError::new("family-exists", format!("family {} already exists", claim.family)));
                    }
                    out.push(Event::FamilyFormed {
                        family: claim.family,
                        kind: form.kind,
                        formed_at: form.formed_at.clone(),
                        source_family: Some(form.source_family.clone()),
                        by: by.clone(),
                    });
                    true
                }
                None => {
                    let f = family_of(world, claim.family)?;
                    takes_lead(f, claim.role)
                }
            };
            out.push(recorded(Some(FamilyLink { family: claim.family, role: claim.role })));
            out.push(Event::MemberAdded {
                family: claim.family,
                person: *person,
                role: claim.role,
                established: Establishment::Claimed,
                by,
                lead,
            });
            Ok(out)
        }
        Command::AttachRecord { person, identity, record, encounter, details, custody } => {
            let p = person_of(world, *person)?;
            if p.records.iter().any(|r| &r.record == record) {
                return Err(DomainError::field(
                    "record-already-attached",
                    "record_id",
                    format!("record {}/{} is already on this person; correct it instead", record.source, record.record_id),
                ));
            }
            let mut out = vec![Event::RecordAttached {
                person: *person,
                identity: identity.clone(),
                record: record.clone(),
                encounter: encounter.clone(),
                details: details.clone(),
            }];
            if let Some((agency, facility)) = custody {
                known_agency(profile, agency, "custody.agency")?;
                match &p.custody {
                    // Only a later record moves custody; an older one is history.
                    Some(Custody::InCustody { agency: cur, since, .. }) if cur != agency && encounter.at > *since => {
                        out.push(Event::TransferOffered {
                            person: *person,
                            from_agency: cur.clone(),
                            to_agency: agency.clone(),
                            to_facility: facility.clone(),
                            at: encounter.at.clone(),
                            by: by.clone(),
                        });
                        out.push(Event::TransferAccepted {
                            person: *person,
                            agency: agency.clone(),
                            facility: facility.clone(),
                            at: encounter.at.clone(),
                            by,
                        });
                    }
                    Some(Custody::InCustody { .. }) => {}
                    Some(Custody::Released { at: since, .. } | Custody::Removed { at: since }) if encounter.at <= *since => {}
                    _ => out.push(Event::BookedIn {
                        person: *person,
                        agency: agency.clone(),
                        facility: facility.clone(),
                        at: encounter.at.clone(),
                    }),
                }
            }
            Ok(out)
        }
        Command::CorrectRecord { person, record, identity, encounter, details, reason } => {
            let p = person_of(world, *person)?;
            let Some(r) = p.records.iter().find(|r| &r.record == record) else {
                return Err(DomainError::field(
                    "record-not-found",
                    "record_id",
                    format!("person {person} has no record {}/{}", record.source, record.record_id),
                ));
            };
            non_empty(reason, "reason", "a correction needs a reason")?;
            let mut changed = vec![];
            {
                let old = &r.identity;
                if old.name != identity.name {
                    changed.push("name".to_string());
                }
                if old.birth != identity.birth {
                    changed.push("birth_date".to_string());
                }
                if old.sex != identity.sex {
                    changed.push("sex".to_string());
                }
                if old.citizenship != identity.citizenship {
                    changed.push("citizenship".to_string());
                }
                if old.a_number != identity.a_number {
                    changed.push("a_number".to_string());
                }
            }
            if r.encounter != *encounter {
                changed.push("encounter".to_string());
            }
            if r.details != *details {
                changed.push("details".to_string());
            }
            let person_identity = crate::state::identity_from_records(
                p.records.iter().map(|other| if &other.record == record { identity } else { &other.identity }),
            )
            .unwrap_or_else(|| identity.clone());
            Ok(vec![Event::RecordCorrected {
                person: *person,
                record: record.clone(),
                corrects: r.event_id,
                reason: reason.clone(),
                identity: identity.clone(),
                encounter: encounter.clone(),
                details: details.clone(),
                changed,
                person_identity,
            }])
        }
        Command::FormFamily { family, kind, formed_at, members, lead } => {
            if world.families.contains_key(family) {
                return Err(DomainError::new("family-exists", format!("family {family} already exists")));
            }
            if !members.iter().any(|m| m.person == *lead) {
                return Err(DomainError::field("lead-must-be-member", "lead", "the lead must be one of the family's members"));
            }
            let mut seen = std::collections::BTreeSet::new();
            for m in members {
                if !seen.insert(m.person) {
                    return Err(DomainError::field("member-listed-twice", "members", format!("person {} is listed twice", m.person)));
                }
                let p = person_of(world, m.person)?;
                not_in_other_family(world, p, None)?;
                check_member_fits(*kind, p, m, formed_at)?;
            }
            check_unit_composition(world, *kind, members, formed_at)?;
            let mut out = vec![Event::FamilyFormed {
                family: *family,
                kind: *kind,
                formed_at: formed_at.clone(),
                source_family: None,
                by: by.clone(),
            }];
            for m in members {
                out.extend(member_events(*family, m, &by));
            }
            out.push(Event::LeadDesignated { family: *family, person: *lead, by });
            Ok(out)
        }
        Command::RecordSourceFamily { family, kind, formed_at, source_family } => {
            if world.families.contains_key(family) {
                return Err(DomainError::new("family-exists", format!("family {family} already exists")));
            }
            Ok(vec![Event::FamilyFormed {
                family: *family,
                kind: *kind,
                formed_at: formed_at.clone(),
                source_family: Some(source_family.clone()),
                by,
            }])
        }
        Command::AddMember { family, member, source_claim } => {
            let f = family_of(world, *family)?;
            // A withdrawn member may be added again (the source moved them back).
            if f.member(member.person).is_some_and(|m| m.status != MemberStatus::Withdrawn) {
                return Err(DomainError::field(
                    "already-a-member",
                    "person",
                    format!("person {} is already in family {family}", member.person),
                ));
            }
            let p = person_of(world, member.person)?;
            not_in_other_family(world, p, Some(*family))?;
            if !source_claim {
                check_member_fits(f.kind, p, member, &f.formed_at)?;
            }
            let mut out = Vec::with_capacity(3);
            out.extend(member_events(*family, member, &by));
            // The first adult parent (or, failing that, the first member) leads
            // until someone designates otherwise.
            if takes_lead(f, member.role) {
                out.push(Event::LeadDesignated { family: *family, person: member.person, by });
            }
            Ok(out)
        }
        Command::CorrectMembership { family, person, role, reason } => {
            let f = family_of(world, *family)?;
            let Some(m) = f.member(*person).filter(|m| m.status != MemberStatus::Withdrawn) else {
                return Err(DomainError::field("not-a-member", "person", format!("person {person} is not in family {family}")));
            };
            if m.role == *role {
                return Err(DomainError::field("role-unchanged", "role", format!("the member already has the role {}", role.as_str())));
            }
            non_empty(reason, "reason", "a correction needs a reason")?;
            Ok(vec![Event::MembershipCorrected {
                family: *family,
                person: *person,
                corrects: m.role_event,
                role: *role,
                previous: m.role,
                reason: reason.clone(),
                by,
            }])
        }
        Command::WithdrawMembership { family, person, reason } => {
            let f = family_of(world, *family)?;
            let m = match f.member(*person) {
                Some(m) if m.status.is_with_family() => m,
                Some(m) if m.status == MemberStatus::Separated => {
                    return Err(DomainError::field(
                        "withdraw-separated",
                        "person",
                        "this member is separated from the family: correct the separation (or reunify them) instead of withdrawing the membership",
                    ));
                }
                _ => return Err(DomainError::field("not-a-member", "person", format!("person {person} is not in family {family}"))),
            };
            non_empty(reason, "reason", "withdrawing a membership needs a reason")?;
            let mut out = vec![Event::MembershipWithdrawn {
                family: *family,
                person: *person,
                corrects: m.role_event,
                role: m.role,
                reason: reason.clone(),
                by: by.clone(),
            }];
            if world.persons.get(person).is_some_and(|p| p.family == Some(*family)) {
                out.push(Event::LeftFamily { person: *person, family: *family });
            }
            // The lead leaving hands the lead on as a new member would take it:
            // the first adult parent or guardian with the family, else the
            // first member with the family.
            if f.lead == Some(*person) {
                let staying = || f.members.iter().filter(|o| o.person != *person && o.status.is_with_family());
                if let Some(next) = staying().find(|o| o.role.is_parent_or_guardian()).or_else(|| staying().next()) {
                    out.push(Event::LeadDesignated { family: *family, person: next.person, by });
                }
            }
            Ok(out)
        }
        Command::DesignateLead { family, person } => {
            let f = family_of(world, *family)?;
            match f.member(*person) {
                Some(m) if m.status.is_with_family() => {}
                Some(_) => {
                    return Err(DomainError::field(
                        "lead-must-be-with-family",
                        "person",
                        "a separated member cannot lead the family; reunify them first or choose a member who is with the family",
                    ));
                }
                None => {
                    return Err(DomainError::field("lead-must-be-member", "person", format!("person {person} is not in family {family}")));
                }
            }
            Ok(vec![Event::LeadDesignated { family: *family, person: *person, by }])
        }
        Command::RecordSeparation { family, separation, members, reason_code, policy, narrative, approved_by } => {
            let f = family_of(world, *family)?;
            if f.separations.iter().any(|s| s.id == *separation) {
                return Err(DomainError::new("separation-exists", format!("separation {separation} is already recorded")));
            }
            if members.is_empty() {
                return Err(DomainError::field("separation-needs-members", "members", "name at least one member to separate"));
            }
            for m in members {
                match f.member(*m) {
                    Some(mm) if mm.status.is_with_family() => {}
                    Some(mm) if mm.status == MemberStatus::Withdrawn => {
                        return Err(DomainError::field(
                            "not-a-member",
                            "members",
                            format!("person {m}'s membership of family {family} was withdrawn"),
                        ));
                    }
                    Some(_) => {
                        return Err(DomainError::field(
                            "already-separated",
                            "members",
                            format!("person {m} is already separated from this family"),
                        ));
                    }
                    None => return Err(DomainError::field("not-a-member", "members", format!("person {m} is not in family {family}"))),
                }
            }
            if f.members.iter().filter(|m| m.status.is_with_family()).all(|m| members.contains(&m.person)) {
                return Err(DomainError::field(
                    "separation-leaves-someone",
                    "members",
                    "a separation names who is separated from whom: at least one member must stay with the family",
                ));
            }
            check_reason(profile, reason_code, policy)?;
            non_empty(narrative, "narrative", "a separation needs a narrative saying why, in words")?;
            non_empty(approved_by, "approved_by", "a separation needs the approving official")?;
            Ok(vec![Event::SeparationRecorded {
                family: *family,
                separation: *separation,
                members: members.clone(),
                reason_code: reason_code.clone(),
                policy: policy.as_ref().map(|p| p.trim().to_string()),
                narrative: narrative.clone(),
                approved_by: approved_by.clone(),
                recorded_by: by,
                at,
            }])
        }
        Command::ReviewSeparation { family, separation, level, decision, note } => {
            let f = family_of(world, *family)?;
            let Some(s) = f.separation(*separation) else {
                return Err(DomainError::field(
                    "separation-not-found",
                    "separation",
                    format!("family {family} has no separation {separation}"),
                ));
            };
            match &s.review {
                ReviewState::AwaitingLevel(l) if l == level => {}
                ReviewState::AwaitingLevel(l) => {
                    return Err(DomainError::field(
                        "review-out-of-order",
                        "level",
                        format!("this separation awaits level {l} review, not level {level}"),
                    ));
                }
                ReviewState::Approved => {
                    return Err(DomainError::new("review-complete", "this separation has already been approved at both levels"));
                }
                ReviewState::Returned { .. } => {
                    return Err(DomainError::new(
                        "review-returned",
                        "this separation was returned; it must be corrected before it is reviewed again",
                    ));
                }
            }
            if by == s.approved_by || by == s.recorded_by || s.reviewers.contains(&by) {
                return Err(DomainError::new(
                    "reviewer-must-be-independent",
                    "a reviewer cannot be the approving official, the agent who recorded the separation, or the reviewer of the other level",
                ));
            }
            if *decision == ReviewDecision::Return && note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                return Err(DomainError::field("return-needs-note", "note", "returning a separation needs a note saying what to fix"));
            }
            Ok(vec![Event::SeparationReviewed {
                family: *family,
                separation: *separation,
                level: *level,
                decision: *decision,
                note: note.clone(),
                by,
                at,
            }])
        }
        Command::CorrectSeparation { family, separation, reason_code, policy, narrative, reason } => {
            let f = family_of(world, *family)?;
            let Some(s) = f.separation(*separation) else {
                return Err(DomainError::field(
                    "separation-not-found",
                    "separation",
                    format!("family {family} has no separation {separation}"),
                ));
            };
            // An approved (or half-approved) separation is not reopened by a
            // correction: the reviewers signed what it said.
            if !matches!(s.review, ReviewState::Returned { .. } | ReviewState::AwaitingLevel(1)) {
                return Err(DomainError::new(
                    "separation-under-review",
                    "a separation can be corrected only before its first approval or after it was returned",
                ));
            }
            check_reason(profile, reason_code, policy)?;
            non_empty(narrative, "narrative", "a separation needs a narrative")?;
            non_empty(reason, "reason", "a correction needs a reason")?;
            Ok(vec![Event::SeparationCorrected {
                family: *family,
                separation: *separation,
                corrects: s.event_id,
                reason_code: reason_code.clone(),
                policy: policy.as_ref().map(|p| p.trim().to_string()),
                narrative: narrative.clone(),
                reason: reason.clone(),
                by,
                at,
            }])
        }
        Command::Reunify { family, members, location } => {
            let f = family_of(world, *family)?;
            if members.is_empty() {
                return Err(DomainError::field("reunify-needs-members", "members", "name the members who rejoin the family"));
            }
            non_empty(location, "location", "say where the family was reunified")?;
            for m in members {
                match f.member(*m) {
                    Some(mm) if mm.status == MemberStatus::Separated => {}
                    Some(_) => {
                        return Err(DomainError::field(
                            "not-separated",
                            "members",
                            format!("person {m} is not separated from this family"),
                        ));
                    }
                    None => {
                        return Err(DomainError::field(
                            "reunify-original-family",
                            "members",
                            format!("person {m} was never in family {family}; reunification rejoins the original family"),
                        ));
                    }
                }
                let p = person_of(world, *m)?;
                not_in_other_family(world, p, Some(*family))?;
            }
            if let Some(lead) = f.lead {
                let lead_separated = f.member(lead).is_some_and(|m| m.status == MemberStatus::Separated);
                if lead_separated && !members.contains(&lead) {
                    return Err(DomainError::field(
                        "lead-first",
                        "members",
                        "the family's lead is separated: reunify the lead first (or with these members), or designate a new lead who is with the family",
                    ));
                }
            }
            let mut out = vec![Event::MembersReunified { family: *family, members: members.clone(), location: location.clone(), by, at }];
            // The person's own stream says which family they are with again,
            // so "one active family" holds whichever stream is read.
            for m in members {
                let role = f.member(*m).map(|mm| mm.role).unwrap_or(Role::OtherRelative);
                if world.persons.get(m).is_some_and(|p| p.family != Some(*family)) {
                    out.push(Event::JoinedFamily { person: *m, family: *family, role });
                }
            }
            Ok(out)
        }
        Command::BookIn { person, agency, facility } => {
            let p = person_of(world, *person)?;
            known_agency(profile, agency, "agency")?;
            acting_for(profile, meta, agency)?;
            if let Some(Custody::InCustody { agency: cur, .. }) = &p.custody {
                return Err(DomainError::field(
                    "one-custody",
                    "agency",
                    format!("the person is in {cur} custody; a move between custodies is a transfer (offer, then accept)"),
                ));
            }
            Ok(vec![Event::BookedIn { person: *person, agency: agency.clone(), facility: facility.clone(), at }])
        }
        Command::OfferTransfer { person, to_agency, to_facility } => {
            let p = person_of(world, *person)?;
            known_agency(profile, to_agency, "to_agency")?;
            let cur = in_custody_of(p)?;
            acting_for(profile, meta, cur)?;
            if p.pending_transfer.is_some() {
                return Err(DomainError::new("transfer-pending", "a transfer is already offered; it must be accepted or rejected first"));
            }
            if cur == to_agency {
                return Err(DomainError::field("transfer-to-self", "to_agency", format!("the person is already in {cur} custody")));
            }
            Ok(vec![Event::TransferOffered {
                person: *person,
                from_agency: cur.to_string(),
                to_agency: to_agency.clone(),
                to_facility: to_facility.clone(),
                at,
                by,
            }])
        }
        Command::AcceptTransfer { person, facility } => {
            let p = person_of(world, *person)?;
            let Some(t) = &p.pending_transfer else {
                return Err(DomainError::new("no-transfer-offered", "no transfer of this person has been offered"));
            };
            acting_for(profile, meta, &t.to_agency)?;
            let facility = facility.clone().or_else(|| t.to_facility.clone());
            Ok(vec![Event::TransferAccepted { person: *person, agency: t.to_agency.clone(), facility, at, by }])
        }
        Command::RejectTransfer { person, reason } => {
            let p = person_of(world, *person)?;
            let Some(t) = &p.pending_transfer else {
                return Err(DomainError::new("no-transfer-offered", "no transfer of this person has been offered"));
            };
            acting_for(profile, meta, &t.to_agency)?;
            non_empty(reason, "reason", "rejecting a transfer needs a reason")?;
            Ok(vec![Event::TransferRejected { person: *person, agency: t.to_agency.clone(), reason: reason.clone(), at, by }])
        }
        Command::Release { person, us_address, conditions } => {
            let p = person_of(world, *person)?;
            let cur = in_custody_of(p)?;
            acting_for(profile, meta, cur)?;
            let address = us_address.as_ref().map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
            let mut out = vec![Event::Released { person: *person, at, us_address: address.clone(), conditions: conditions.clone(), by }];
            if address.is_none() {
                out.push(Event::FindingRaised {
                    finding: FindingId(derived_id(&meta.idempotency_key, 0)),
                    kind: "release-without-address".into(),
                    subjects: vec![Subject::Person(*person)],
                    message: "released without an intended U.S. address".into(),
                    record: None,
                });
            }
            Ok(out)
        }
        Command::Remove { person, to_country } => {
            let p = person_of(world, *person)?;
            let cur = in_custody_of(p)?;
            acting_for(profile, meta, cur)?;
            Ok(vec![Event::Removed { person: *person, at, to_country: to_country.clone(), by }])
        }
        Command::ReferForProsecution { person } => {
            let p = person_of(world, *person)?;
            in_custody_of(p)?;
            if p.referred_for_prosecution.is_some() {
                return Err(DomainError::new("already-referred", "this person has already been referred for prosecution"));
            }
            if is_minor_on(p, &at) == Some(true) {
                return Err(DomainError::new("minor-not-prosecuted", "a child under 18 is not referred for adult prosecution"));
            }
            Ok(vec![Event::ReferredForProsecution { person: *person, at, by }])
        }
        Command::RecordAgeOut { person, on } => {
            let p = person_of(world, *person)?;
            in_custody_of(p)?;
            if p.aged_out {
                return Err(DomainError::new("already-aged-out", "this person's turning 18 is already recorded"));
            }
            let Some(adult_on) = p.identity.birth.and_then(|b| b.adult_on()) else {
                return Err(DomainError::new("birth-date-unknown", "the person's birth date is not known"));
            };
            if *on < adult_on || p.first_encountered.local_date() >= adult_on {
                return Err(DomainError::field(
                    "not-aged-out",
                    "on",
                    format!("the person turns 18 on {adult_on} and must have been encountered as a minor"),
                ));
            }
            let family = world.active_family(*person);
            let mut out = vec![Event::AgedOut { person: *person, on: adult_on, family }];
            out.push(Event::FindingRaised {
                finding: FindingId(derived_id(&meta.idempotency_key, 0)),
                kind: "aged-out-in-custody".into(),
                subjects: std::iter::once(Subject::Person(*person)).chain(family.map(Subject::Family)).collect(),
                message: format!("turned 18 in custody on {adult_on}: no longer a child; review placement and family classification"),
                record: None,
            });
            Ok(out)
        }
        Command::RaiseFinding { finding, kind, subjects, message, record } => {
            if world.findings.contains_key(finding) {
                return Err(DomainError::new("finding-exists", "this finding is already raised"));
            }
            Ok(vec![Event::FindingRaised {
                finding: *finding,
                kind: kind.clone(),
                subjects: subjects.clone(),
                message: message.clone(),
                record: record.clone(),
            }])
        }
        Command::ResolveFinding { finding, resolution } => {
            let Some(f) = world.findings.get(finding) else {
                return Err(DomainError::field("finding-not-found", "finding", format!("no finding {finding}")));
            };
            if f.resolved.is_some() {
                return Err(DomainError::new("finding-resolved", "this finding is already resolved"));
            }
            non_empty(resolution, "resolution", "say how the finding was resolved")?;
            Ok(vec![Event::FindingResolved { finding: *finding, resolution: resolution.clone(), by }])
        }
    }
}

pub(crate) fn person_of(world: &World, id: PersonId) -> R<&PersonState> {
    world.persons.get(&id).ok_or_else(|| DomainError::field("person-not-found", "person", format!("no person {id}")))
}

fn family_of(world: &World, id: FamilyId) -> R<&FamilyState> {
    world.families.get(&id).ok_or_else(|| DomainError::field("family-not-found", "family", format!("no family {id}")))
}

pub(crate) fn non_empty(value: &str, field: &'static str, message: &str) -> R<()> {
    if value.trim().is_empty() {
        return Err(DomainError::field("required", field, message.to_string()));
    }
    Ok(())
}

fn known_agency(profile: &Profile, agency: &str, field: &'static str) -> R<()> {
    if profile.agencies.contains_key(agency) {
        return Ok(());
    }
    let known: Vec<&str> = profile.agencies.keys().map(String::as_str).collect();
    Err(DomainError::field("unknown-agency", field, format!("agency {agency:?} is not in the profile; known: {}", known.join(", "))))
}

/// Custody acts are done by the agency that holds (or receives) the person,
/// unless the actor's role holds `custody.any_agency` in the profile.
fn acting_for(profile: &Profile, meta: &CommandMeta, agency: &str) -> R<()> {
    if meta.actor.agency == agency || profile.permits(&meta.actor.role, &meta.actor.agency, "custody.any_agency") {
        return Ok(());
    }
    Err(DomainError::new(
        "custody-agency-only",
        format!("only {agency} can do this while it holds the person; you act for {}", meta.actor.agency),
    ))
}

fn in_custody_of(p: &PersonState) -> R<&str> {
    match &p.custody {
        Some(Custody::InCustody { agency, .. }) => Ok(agency),
        _ => Err(DomainError::new("not-in-custody", "the person is not in custody")),
    }
}

fn check_reason(profile: &Profile, code: &str, policy: &Option<String>) -> R<()> {
    let Some(rc) = profile.reason_codes.get(code) else {
        let known: Vec<&str> = profile.reason_codes.keys().map(String::as_str).collect();
        return Err(DomainError::field(
            "unknown-reason-code",
            "reason_code",
            format!("reason code {code:?} is not in the profile; use exactly one of {}", known.join(", ")),
        ));
    };
    let has_policy = policy.as_deref().is_some_and(|p| !p.trim().is_empty());
    if rc.requires_policy && !has_policy {
        return Err(DomainError::field(
            "policy-required",
            "policy",
            format!("reason {code} ({}) must name the enforcement policy", rc.meaning),
        ));
    }
    if !rc.requires_policy && has_policy {
        return Err(DomainError::field(
            "policy-not-applicable",
            "policy",
            format!("reason {code} does not take a policy; use the policy code"),
        ));
    }
    Ok(())
}

/// A person is in at most one active family at a time.
fn not_in_other_family(world: &World, p: &PersonState, this: Option<FamilyId>) -> R<()> {
    match world.active_family(p.id) {
        Some(other) if Some(other) != this => Err(DomainError::field(
            "one-active-family",
            "person",
            format!("person {} is already with family {other}; a person is in at most one active family", p.id),
        )),
        _ => Ok(()),
    }
}

fn is_minor_on(p: &PersonState, at: &Instant) -> Option<bool> {
    p.identity.birth.map(|b| b.age_on(at.local_date()) < 18)
}

/// Per-member rules of a UNIT: the parent or guardian is 18+, the child under 18
/// (ages at the encounter).
fn check_member_fits(kind: FamilyKind, p: &PersonState, m: &NewMember, formed_at: &Instant) -> R<()> {
    if kind != FamilyKind::Unit {
        return Ok(());
    }
    let minor = is_minor_on(p, formed_at);
    if m.role.is_parent_or_guardian() && minor == Some(true) {
        return Err(DomainError::field("unit-parent-adult", "role", "a parent under 18 with a child is a family GROUP, not a UNIT"));
    }
    if m.role.is_child() && minor == Some(false) {
        return Err(DomainError::field("unit-child-minor", "role", "a child in a family UNIT must be under 18 at the encounter"));
    }
    if !m.role.is_parent_or_guardian() && !m.role.is_child() {
        return Err(DomainError::field(
            "unit-roles",
            "role",
            format!("a {} belongs in a family GROUP; a UNIT is parents or legal guardians with their children", m.role.as_str()),
        ));
    }
    Ok(())
}

/// A UNIT needs a parent or legal guardian aged 18+ and a child under 18.
fn check_unit_composition(world: &World, kind: FamilyKind, members: &[NewMember], formed_at: &Instant) -> R<()> {
    if kind != FamilyKind::Unit {
        return Ok(());
    }
    let on = formed_at.local_date();
    let ages: Vec<(Role, Option<i16>)> =
        members.iter().map(|m| (m.role, world.persons.get(&m.person).and_then(|p| p.identity.birth).map(|b| b.age_on(on)))).collect();
    let check = crate::family::UnitCheck::of(&ages);
    if !check.has_adult_parent {
        return Err(DomainError::field(
            "unit-needs-adult-parent",
            "members",
            "a family UNIT needs a parent or legal guardian aged 18 or over with a known birth date",
        ));
    }
    if !check.has_minor_child {
        return Err(DomainError::field("unit-needs-child", "members", "a family UNIT needs a child under 18 with a known birth date"));
    }
    Ok(())
}

/// The first adult parent (or, failing that, the first member) leads until
/// someone designates otherwise: does a new member with `role` take the lead?
fn takes_lead(f: &FamilyState, role: Role) -> bool {
    let current_lead_is_parent = f.lead.and_then(|l| f.member(l)).is_some_and(|m| m.role.is_parent_or_guardian());
    f.lead.is_none() || (!current_lead_is_parent && role.is_parent_or_guardian())
}

fn member_events(family: FamilyId, m: &NewMember, by: &str) -> Vec<Event> {
    vec![
        Event::MemberAdded { family, person: m.person, role: m.role, established: m.established, by: by.to_string(), lead: false },
        Event::JoinedFamily { person: m.person, family, role: m.role },
    ]
}
