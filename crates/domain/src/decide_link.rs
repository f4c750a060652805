//! The worklist's rules: proposing, confirming, rejecting and withdrawing
//! links. A family tie is only ever recorded by a reviewer's confirmation,
//! through the same family rules as any other command.

use crate::actor::CommandMeta;
use crate::command::{Command, NewMember};
use crate::decide::{Decision, R, apply, non_empty, person_of};
use crate::error::DomainError;
use crate::event::Event;
use crate::family::{Establishment, FamilyKind, Role};
use crate::ids::{FamilyId, LinkId, PersonId};
use crate::link::{LinkKind, LinkState, LinkStatus, Relation};
use crate::person::Sex;
use crate::profile::Profile;
use crate::state::{PersonState, World};
use uuid::Uuid;

pub(crate) fn decide_link(world: &World, profile: &Profile, meta: &CommandMeta, cmd: &Command) -> R<Decision> {
    let by = meta.actor.user.clone();
    match cmd {
        Command::ProposeLink { link, kind, a, b, relation, score, evidence, assert } => {
            if *link != LinkId::for_pair(*kind, *a, *b) {
                return Err(DomainError::field("link-id", "link", "a proposal's id is derived from its kind and pair (LinkId::for_pair)"));
            }
            if let Some(l) = world.links.get(link) {
                return Err(DomainError::new(
                    "link-exists",
                    format!("this pair was already proposed (now {}); a pair is proposed once", l.status.as_str()),
                ));
            }
            if a == b {
                return Err(DomainError::field("link-same-person", "b", "a link needs two different persons"));
            }
            person_of(world, *a)?;
            person_of(world, *b)?;
            if *score > 1000 {
                return Err(DomainError::field("score-range", "score", "the score is in thousandths, 0 to 1000"));
            }
            if *kind == LinkKind::Family {
                if relation.is_none() {
                    return Err(DomainError::field(
                        "relation-required",
                        "relation",
                        "a family proposal says PARENT_CHILD or OTHER_RELATIVE",
                    ));
                }
                if *assert {
                    return Err(DomainError::field(
                        "family-never-automatic",
                        "assert",
                        "a family tie is recorded only when a reviewer confirms it",
                    ));
                }
                if let Some(f) = world.active_family(*a).filter(|f| world.active_family(*b) == Some(*f)) {
                    return Err(DomainError::new("already-family", format!("both persons are already in family {f}")));
                }
            }
            let mut out = vec![Event::LinkProposed {
                link: *link,
                kind: *kind,
                a: *a,
                b: *b,
                relation: *relation,
                score: *score,
                evidence: evidence.clone(),
                by: by.clone(),
            }];
            if *assert {
                out.push(Event::IdentityLinked { link: *link, a: *a, b: *b, automatic: true, by });
            }
            Ok(out)
        }
        Command::ConfirmLink { link, a, b, adult_role, minor_role, note } => {
            let l = open_link(world, *link)?;
            if l.a != *a || l.b != *b {
                return Err(DomainError::field("link-persons", "a", format!("proposal {link} is about {} and {}", l.a, l.b)));
            }
            let note = note.as_ref().map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
            match l.kind {
                LinkKind::Identity => Ok(vec![
                    Event::LinkConfirmed { link: *link, family: None, note, by: by.clone() },
                    Event::IdentityLinked { link: *link, a: *a, b: *b, automatic: false, by },
                ]),
                LinkKind::Family => {
                    let (family, family_events) = record_tie(world, profile, meta, l, *adult_role, *minor_role)?;
                    let mut out = vec![Event::LinkConfirmed { link: *link, family: Some(family), note, by }];
                    out.extend(family_events);
                    Ok(out)
                }
            }
        }
        Command::RejectLink { link, reason } => {
            open_link(world, *link)?;
            non_empty(reason, "reason", "rejecting a proposal needs a reason")?;
            Ok(vec![Event::LinkRejected { link: *link, reason: reason.clone(), by }])
        }
        Command::UnlinkIdentity { link, reason } => {
            let l = world.links.get(link).ok_or_else(|| not_found(*link))?;
            if l.kind != LinkKind::Identity || l.status != LinkStatus::Linked {
                return Err(DomainError::new(
                    "not-linked",
                    format!(
                        "only an asserted identity link can be withdrawn; this one is a {} proposal, {}",
                        l.kind.as_str(),
                        l.status.as_str()
                    ),
                ));
            }
            non_empty(reason, "reason", "withdrawing an identity link needs a reason")?;
            Ok(vec![Event::IdentityUnlinked { link: *link, reason: reason.clone(), by }])
        }
        Command::RecordLinkageRun { through, records, proposed } => {
            Ok(vec![Event::LinkageRan { run: LinkId::for_run(*through), through: *through, records: *records, proposed: *proposed }])
        }
        _ => Err(DomainError::new("not-a-link-command", "this command is not about links")),
    }
}

fn not_found(link: LinkId) -> DomainError {
    DomainError::field("link-not-found", "link", format!("no proposal {link}"))
}

/// A proposal still waiting for a reviewer: decided once, never twice.
fn open_link(world: &World, link: LinkId) -> R<&LinkState> {
    let l = world.links.get(&link).ok_or_else(|| not_found(link))?;
    if l.status != LinkStatus::Proposed {
        return Err(DomainError::new(
            "link-decided",
            format!("this proposal is already {} (by {})", l.status.as_str(), l.decided_by.as_deref().unwrap_or("the linker")),
        ));
    }
    Ok(l)
}

/// The family a confirmed tie creates, derived from the proposal so a retry
/// forms the same family.
pub fn family_for_link(link: LinkId) -> FamilyId {
    FamilyId(Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("kinship/link-family/{}", link.0).as_bytes()))
}

fn default_roles(adult: &PersonState, minor: &PersonState, relation: Relation) -> (Option<Role>, Role) {
    match relation {
        Relation::OtherRelative => (Some(Role::OtherRelative), Role::OtherRelative),
        Relation::ParentChild => (
            match adult.identity.sex {
                Some(Sex::F) => Some(Role::Mother),
                Some(Sex::M) => Some(Role::Father),
                _ => None,
            },
            match minor.identity.sex {
                Some(Sex::F) => Role::Daughter,
                Some(Sex::M) => Role::Son,
                _ => Role::Child,
            },
        ),
    }
}

/// Records the adult–minor tie: into the family one of them is already with,
/// or a new family (UNIT for a parent, GROUP for another relative) when
/// neither is. Everything is checked by the family rules themselves.
fn record_tie(
    world: &World,
    profile: &Profile,
    meta: &CommandMeta,
    l: &LinkState,
    adult_role: Option<Role>,
    minor_role: Option<Role>,
) -> R<(FamilyId, Vec<Event>)> {
    let adult = person_of(world, l.a)?;
    let minor = person_of(world, l.b)?;
    let relation = l.relation.unwrap_or(Relation::OtherRelative);
    let (default_adult, default_minor) = default_roles(adult, minor, relation);
    let Some(adult_role) = adult_role.or(default_adult) else {
        return Err(DomainError::field(
            "adult-role-needed",
            "adult_role",
            "the adult's sex is not recorded: say the adult's role (MOTHER, FATHER or LEGAL_GUARDIAN)",
        ));
    };
    let minor_role = minor_role.unwrap_or(default_minor);
    let member = |person: PersonId, role: Role| NewMember { person, role, established: Establishment::Inferred };
    let sub = |cmd: Command| apply(world, profile, meta, &cmd);
    match (world.active_family(l.a), world.active_family(l.b)) {
        (None, None) => {
            let family = family_for_link(l.id);
            let kind = if relation == Relation::ParentChild { FamilyKind::Unit } else { FamilyKind::Group };
            let events = sub(Command::FormFamily {
                family,
                kind,
                formed_at: minor.first_encountered.clone(),
                members: vec![member(l.a, adult_role), member(l.b, minor_role)],
                lead: l.a,
            })?;
            Ok((family, events))
        }
        (Some(f), None) => Ok((f, sub(Command::AddMember { family: f, member: member(l.b, minor_role), source_claim: false })?)),
        (None, Some(f)) => Ok((f, sub(Command::AddMember { family: f, member: member(l.a, adult_role), source_claim: false })?)),
        (Some(fa), Some(fm)) if fa == fm => Err(DomainError::new("already-family", format!("both persons are already in family {fa}"))),
        (Some(fa), Some(fm)) => Err(DomainError::new(
            "in-other-families",
            format!(
                "the adult is with family {fa} and the minor with family {fm}; a person is in one active family: record this tie by hand or reject it"
            ),
        )),
    }
}
