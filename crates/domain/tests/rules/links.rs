//! Worklist rules: a pair is proposed once, decided once; a family tie is
//! recorded only on confirmation, as `inferred`; identity links are
//! reversible assertions.

use super::*;
use kinship_domain::LinkId;
use kinship_domain::link::{LinkKind, LinkStatus, Relation, family_for_link};

fn linker() -> Actor {
    actor("kinship-linkage", "HQ", "linker")
}
fn coordinator() -> Actor {
    actor("jc.salinas", "ICE", "ice_juvenile_coordinator")
}

fn propose(w: &mut World, kind: LinkKind, a: PersonId, b: PersonId, assert: bool) -> LinkId {
    let link = LinkId::for_pair(kind, a, b);
    ok(w, meta(linker()), propose_cmd(kind, a, b, assert));
    link
}

fn propose_cmd(kind: LinkKind, a: PersonId, b: PersonId, assert: bool) -> Command {
    Command::ProposeLink {
        link: LinkId::for_pair(kind, a, b),
        kind,
        a,
        b,
        relation: (kind == LinkKind::Family).then_some(Relation::ParentChild),
        score: 870,
        evidence: vec!["same event".into(), "child's first surname = adult's first surname".into()],
        assert,
    }
}

fn confirm_cmd(link: LinkId, a: PersonId, b: PersonId) -> Command {
    Command::ConfirmLink { link, a, b, adult_role: None, minor_role: None, note: Some("mother's statement".into()) }
}

#[test]
fn a_family_proposal_records_nothing_until_confirmed_then_an_inferred_unit() {
    let mut w = World::default();
    let (f, s) = (father(&mut w), son(&mut w));
    let link = propose(&mut w, LinkKind::Family, f, s, false);
    assert_eq!(w.links[&link].status, LinkStatus::Proposed);
    assert!(w.families.is_empty(), "nothing is acted on automatically");
    let events = ok(&mut w, meta(coordinator()), confirm_cmd(link, f, s));
    assert_eq!(type_names(&events)[..2], ["LinkConfirmed", "FamilyFormed"]);
    let family = family_for_link(link);
    let fam = &w.families[&family];
    assert_eq!(fam.kind, FamilyKind::Unit);
    assert_eq!(fam.member(f).unwrap().role, Role::Father);
    assert_eq!(fam.member(s).unwrap().role, Role::Son);
    assert!(fam.members.iter().all(|m| m.established == Establishment::Inferred));
    assert!(events.iter().any(|e| matches!(e, Event::MemberAdded { by, .. } if by == "jc.salinas")), "the confirmer is recorded");
    assert_eq!(w.links[&link].status, LinkStatus::Confirmed);
    assert_eq!(w.links[&link].family, Some(family));
}

#[test]
fn confirming_twice_is_refused() {
    let mut w = World::default();
    let (f, s) = (father(&mut w), son(&mut w));
    let link = propose(&mut w, LinkKind::Family, f, s, false);
    ok(&mut w, meta(coordinator()), confirm_cmd(link, f, s));
    assert_eq!(refused(&w, meta(coordinator()), confirm_cmd(link, f, s)).rule, "link-decided");
    let reject = Command::RejectLink { link, reason: "changed my mind".into() };
    assert_eq!(refused(&w, meta(coordinator()), reject).rule, "link-decided");
}

#[test]
fn a_rejected_pair_is_never_proposed_again_in_either_order() {
    let mut w = World::default();
    let (f, s) = (father(&mut w), son(&mut w));
    let link = propose(&mut w, LinkKind::Family, f, s, false);
    let no_reason = Command::RejectLink { link, reason: "  ".into() };
    assert_eq!(refused(&w, meta(coordinator()), no_reason).rule, "required");
    ok(&mut w, meta(coordinator()), Command::RejectLink { link, reason: "the uncle, not the father (interview)".into() });
    assert_eq!(w.links[&link].status, LinkStatus::Rejected);
    assert_eq!(refused(&w, meta(linker()), propose_cmd(LinkKind::Family, f, s, false)).rule, "link-exists");
    // (b, a) is the same pair.
    let swapped = Command::ProposeLink {
        link: LinkId::for_pair(LinkKind::Family, s, f),
        kind: LinkKind::Family,
        a: s,
        b: f,
        relation: Some(Relation::ParentChild),
        score: 900,
        evidence: vec![],
        assert: false,
    };
    assert_eq!(refused(&w, meta(linker()), swapped).rule, "link-exists");
    assert!(w.families.is_empty());
}

#[test]
fn family_ties_are_never_asserted_automatically_and_ids_are_derived() {
    let mut w = World::default();
    let (f, s) = (father(&mut w), son(&mut w));
    assert_eq!(refused(&w, meta(linker()), propose_cmd(LinkKind::Family, f, s, true)).rule, "family-never-automatic");
    let mut wrong = propose_cmd(LinkKind::Family, f, s, false);
    if let Command::ProposeLink { link, .. } = &mut wrong {
        *link = LinkId::new_v7();
    }
    assert_eq!(refused(&w, meta(linker()), wrong).rule, "link-id");
    // Only the linker (or admin) proposes; only a reviewer confirms.
    assert_eq!(refused(&w, meta(agent()), propose_cmd(LinkKind::Family, f, s, false)).rule, "not-permitted");
    let link = propose(&mut w, LinkKind::Family, f, s, false);
    assert_eq!(refused(&w, meta(agent()), confirm_cmd(link, f, s)).rule, "not-permitted");
    assert_eq!(refused(&w, meta(linker()), confirm_cmd(link, f, s)).rule, "not-permitted");
}

#[test]
fn a_confirmed_tie_joins_the_family_one_of_them_is_with() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let d = daughter(&mut w);
    let link = propose(&mut w, LinkKind::Family, pl.mother, d, false);
    let events = ok(&mut w, meta(orr()), confirm_cmd(link, pl.mother, d));
    assert!(events.iter().any(|e| matches!(e, Event::LinkConfirmed { family: Some(fam), .. } if *fam == pl.family)));
    let m = w.families[&pl.family].member(d).unwrap();
    assert_eq!((m.role, m.established), (Role::Daughter, Establishment::Inferred));
    // Both already with the same family: nothing to propose.
    assert_eq!(refused(&w, meta(linker()), propose_cmd(LinkKind::Family, pl.father, d, false)).rule, "already-family");
}

#[test]
fn a_tie_across_two_recorded_families_is_refused_with_the_way_out() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let (tm, b) = (teen_mother(&mut w), baby(&mut w));
    form(&mut w, FamilyKind::Group, &[(tm, Role::Mother), (b, Role::Son)], tm);
    let link = propose(&mut w, LinkKind::Family, pl.father, b, false);
    assert_eq!(refused(&w, meta(coordinator()), confirm_cmd(link, pl.father, b)).rule, "in-other-families");
}

#[test]
fn the_adult_role_is_asked_for_when_sex_is_unknown_and_unit_rules_still_apply() {
    let mut w = World::default();
    let a = record(&mut w, Someone { given: "ALEX", family: "PEREZ GARCIA", birth: Some(date(1984, 1, 1)), sex: Sex::U }, Some("BP"));
    let s = son(&mut w);
    let link = propose(&mut w, LinkKind::Family, a, s, false);
    let err = refused(&w, meta(coordinator()), confirm_cmd(link, a, s));
    assert_eq!(err.rule, "adult-role-needed");
    assert_eq!(err.field, Some("adult_role"));
    let with_role = Command::ConfirmLink { link, a, b: s, adult_role: Some(Role::LegalGuardian), minor_role: None, note: None };
    ok(&mut w, meta(coordinator()), with_role);
    // A "child" of 19 cannot be confirmed into a UNIT: the family rules refuse it.
    let (f2, grown) = (father(&mut w), grown_son(&mut w));
    let link2 = propose(&mut w, LinkKind::Family, f2, grown, false);
    assert_eq!(refused(&w, meta(coordinator()), confirm_cmd(link2, f2, grown)).rule, "unit-child-minor");
}

#[test]
fn identity_links_are_reversible_assertions_and_unlink_restores() {
    let mut w = World::default();
    let (a, b) = (son(&mut w), son(&mut w));
    let before = (w.persons.clone(), w.families.clone());
    // Sure: asserted at once, visibly (the worklist shows it linked).
    let link = propose(&mut w, LinkKind::Identity, a, b, true);
    assert_eq!(w.links[&link].status, LinkStatus::Linked);
    assert_eq!((w.persons.clone(), w.families.clone()), before, "an identity link merges nothing");
    assert_eq!(refused(&w, meta(coordinator()), Command::UnlinkIdentity { link, reason: " ".into() }).rule, "required");
    ok(&mut w, meta(coordinator()), Command::UnlinkIdentity { link, reason: "twins, per the mother".into() });
    assert_eq!(w.links[&link].status, LinkStatus::Unlinked);
    assert_eq!((w.persons.clone(), w.families.clone()), before, "unlinking leaves both records as they were");
    assert_eq!(refused(&w, meta(coordinator()), Command::UnlinkIdentity { link, reason: "again".into() }).rule, "not-linked");
    assert_eq!(refused(&w, meta(linker()), propose_cmd(LinkKind::Identity, a, b, true)).rule, "link-exists");
    // Unsure: proposed, then a reviewer confirms it.
    let c = son(&mut w);
    let link2 = propose(&mut w, LinkKind::Identity, a, c, false);
    assert_eq!(w.links[&link2].status, LinkStatus::Proposed);
    let events = ok(&mut w, meta(coordinator()), confirm_cmd(link2, a, c));
    assert_eq!(type_names(&events), ["LinkConfirmed", "IdentityLinked"]);
    assert_eq!(w.links[&link2].status, LinkStatus::Linked);
}
