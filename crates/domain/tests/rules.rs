#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The domain rules, one accepted and one refused case per rule.
//!
//! State is always built the way the application builds it: decide a command,
//! then evolve every resulting event into the world. Refusals are asserted by
//! their stable `rule` code (and the field at fault where there is one), never
//! by message text, which is written for people and may change.

use jiff::SignedDuration;
use jiff::civil::{Date, date};
use kinship_domain::classify::classify;
use kinship_domain::clocks::{ClockReading, running};
use kinship_domain::command::{NewMember, derived_id};
use kinship_domain::event::{EncounterRef, RecordDetails, Subject};
use kinship_domain::family::{Classification, Establishment, FamilyKind, MemberStatus, ReviewDecision, Role};
use kinship_domain::name::PersonName;
use kinship_domain::person::{BirthDate, Citizenship, Identity, Sex, SourceRef};
use kinship_domain::state::{Custody, ReviewState};
use kinship_domain::time::Instant;
use kinship_domain::{
    ANumber, Actor, Command, CommandMeta, DomainError, Event, FamilyId, FindingId, PersonId, Profile, SeparationId, World, decide, evolve,
};
use proptest::prelude::*;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

// ===========================================================================
// Harness
// ===========================================================================

static PROFILE: LazyLock<Profile> = LazyLock::new(|| Profile::default_profile().expect("the default profile loads"));
static SEQ: AtomicU64 = AtomicU64::new(1);

/// The apprehension: McAllen station, Rio Grande Valley sector, local time.
const ENCOUNTER: &str = "2018-05-07T14:32:00-06:00";
/// The next morning, when separations and transfers are decided.
const NEXT_DAY: &str = "2018-05-08T09:15:00-06:00";
const ZERO_TOLERANCE: &str = "Zero Tolerance, 2018-04-06";

fn seq() -> u64 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

fn at(text: &str) -> Instant {
    Instant::parse(text, None).expect("a valid RFC 3339 instant")
}

fn hours_after(text: &str, hours: i64) -> jiff::Timestamp {
    at(text).timestamp().checked_add(SignedDuration::from_hours(hours)).unwrap()
}

fn actor(user: &str, agency: &str, role: &str) -> Actor {
    Actor { user: user.into(), agency: agency.into(), role: role.into() }
}
fn agent() -> Actor {
    actor("agent.morales", "BP", "bp_agent")
}
fn supervisor(user: &str) -> Actor {
    actor(user, "BP", "bp_supervisor")
}
fn orr() -> Actor {
    actor("cm.vasquez", "ORR", "orr_case_manager")
}
fn ice() -> Actor {
    actor("officer.reyes", "ICE", "ice_officer")
}
fn admin() -> Actor {
    actor("admin.ortiz", "HQ", "admin")
}
fn importer() -> Actor {
    actor("import.e3", "HQ", "importer")
}
fn analyst() -> Actor {
    actor("analyst.nunez", "HQ", "hq_analyst")
}

/// Every command gets its own idempotency key: derived finding ids depend on it.
fn meta_at(actor: Actor, when: &str) -> CommandMeta {
    CommandMeta { actor, idempotency_key: format!("rules-test-{}", seq()), at: at(when) }
}
fn meta(actor: Actor) -> CommandMeta {
    meta_at(actor, NEXT_DAY)
}

/// Decides, then evolves each event under a fresh log id; returns the ids too
/// so that tests can check what corrections point at.
fn apply_ids(world: &mut World, meta: &CommandMeta, cmd: &Command) -> Result<Vec<(Uuid, Event)>, DomainError> {
    let events = decide(world, &PROFILE, meta, cmd)?;
    Ok(events
        .into_iter()
        .map(|e| {
            let id = Uuid::now_v7();
            evolve(world, id, &e);
            (id, e)
        })
        .collect())
}

fn apply(world: &mut World, meta: &CommandMeta, cmd: &Command) -> Result<Vec<Event>, DomainError> {
    Ok(apply_ids(world, meta, cmd)?.into_iter().map(|(_, e)| e).collect())
}

/// Applies a command that must be accepted.
#[track_caller]
fn ok(world: &mut World, meta: CommandMeta, cmd: Command) -> Vec<Event> {
    match apply(world, &meta, &cmd) {
        Ok(events) => events,
        Err(e) => panic!("expected {cmd:?} to be accepted, got {e}"),
    }
}

/// Decides a command that must be refused and returns the error. The world
/// is untouched (decide only reads it).
#[track_caller]
fn refused(world: &World, meta: CommandMeta, cmd: Command) -> DomainError {
    match decide(world, &PROFILE, &meta, &cmd) {
        Ok(events) => panic!("expected {cmd:?} to be refused, got {events:?}"),
        Err(e) => e,
    }
}

fn type_names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::type_name).collect()
}

// ---- people ---------------------------------------------------------------

struct Someone {
    given: &'static str,
    family: &'static str,
    birth: Option<Date>,
    sex: Sex,
}

fn identity(s: &Someone) -> Identity {
    Identity {
        name: PersonName::parse(s.given, s.family).unwrap(),
        birth: s.birth.map(|d| BirthDate { date: d, estimated: false }),
        sex: Some(s.sex),
        citizenship: Citizenship::parse("GTM"),
        a_number: None,
    }
}

fn encounter() -> EncounterRef {
    EncounterRef { key: "BP:RGV1805070012".into(), at: at(ENCOUNTER), sector: Some("RGV".into()), station: Some("MCS".into()) }
}

/// Records a person seen at the encounter, booked into `custody` if given.
fn record(world: &mut World, who: Someone, custody: Option<&str>) -> PersonId {
    let person = PersonId::new_v7();
    let cmd = Command::RecordPerson {
        person,
        identity: identity(&who),
        record: SourceRef { source: "BP-E3".into(), record_id: format!("E3-{:06}", seq()) },
        encounter: encounter(),
        details: RecordDetails::default(),
        custody: custody.map(|a| (a.to_string(), Some("McAllen Station".to_string()))),
        family: None,
    };
    ok(world, meta_at(agent(), ENCOUNTER), cmd);
    person
}

// Ages are at the encounter, 2018-05-07.
fn father(w: &mut World) -> PersonId {
    record(w, Someone { given: "JOSE LUIS", family: "PEREZ GARCIA", birth: Some(date(1984, 11, 3)), sex: Sex::M }, Some("BP"))
}
fn mother(w: &mut World) -> PersonId {
    record(w, Someone { given: "MARIA GUADALUPE", family: "LOPEZ HERNANDEZ", birth: Some(date(1988, 3, 12)), sex: Sex::F }, Some("BP"))
}
/// Six years old.
fn son(w: &mut World) -> PersonId {
    record(w, Someone { given: "CARLOS DANIEL", family: "PEREZ LOPEZ", birth: Some(date(2011, 9, 2)), sex: Sex::M }, Some("BP"))
}
/// Four years old.
fn daughter(w: &mut World) -> PersonId {
    record(w, Someone { given: "ANA SOFIA", family: "PEREZ LOPEZ", birth: Some(date(2014, 1, 20)), sex: Sex::F }, Some("BP"))
}
/// Sixteen, travelling with her baby.
fn teen_mother(w: &mut World) -> PersonId {
    record(w, Someone { given: "YESENIA", family: "RAMIREZ CRUZ", birth: Some(date(2002, 2, 10)), sex: Sex::F }, Some("BP"))
}
fn baby(w: &mut World) -> PersonId {
    record(w, Someone { given: "KEVIN ALEXANDER", family: "RAMIREZ CRUZ", birth: Some(date(2017, 12, 1)), sex: Sex::M }, Some("BP"))
}
/// Nineteen: not a child any more.
fn grown_son(w: &mut World) -> PersonId {
    record(w, Someone { given: "EDWIN", family: "PEREZ LOPEZ", birth: Some(date(1999, 1, 5)), sex: Sex::M }, Some("BP"))
}
fn aunt(w: &mut World) -> PersonId {
    record(w, Someone { given: "ROSA ELENA", family: "LOPEZ HERNANDEZ", birth: Some(date(1991, 7, 22)), sex: Sex::F }, Some("BP"))
}
fn born(w: &mut World, given: &'static str, birth: Option<Date>) -> PersonId {
    record(w, Someone { given, family: "CHAVEZ OZUNA", birth, sex: Sex::M }, Some("BP"))
}

// ---- families -------------------------------------------------------------

fn member(person: PersonId, role: Role) -> NewMember {
    NewMember { person, role, established: Establishment::Claimed }
}

fn form_cmd(family: FamilyId, kind: FamilyKind, members: &[(PersonId, Role)], lead: PersonId) -> Command {
    Command::FormFamily { family, kind, formed_at: at(ENCOUNTER), members: members.iter().map(|(p, r)| member(*p, *r)).collect(), lead }
}

fn form(world: &mut World, kind: FamilyKind, members: &[(PersonId, Role)], lead: PersonId) -> FamilyId {
    let family = FamilyId::new_v7();
    ok(world, meta_at(agent(), ENCOUNTER), form_cmd(family, kind, members, lead));
    family
}

/// Father (the lead), mother and their six-year-old son, a family UNIT.
struct PerezLopez {
    family: FamilyId,
    father: PersonId,
    mother: PersonId,
    son: PersonId,
}

fn perez_lopez(w: &mut World) -> PerezLopez {
    let (f, m, s) = (father(w), mother(w), son(w));
    let family = form(w, FamilyKind::Unit, &[(f, Role::Father), (m, Role::Mother), (s, Role::Son)], f);
    PerezLopez { family, father: f, mother: m, son: s }
}

// ---- separations ----------------------------------------------------------

/// The approving official, as a user id (independence is checked against it).
const APPROVER: &str = "spa.ramirez";

struct Sep {
    family: FamilyId,
    separation: SeparationId,
    members: Vec<PersonId>,
    reason_code: &'static str,
    policy: Option<&'static str>,
    narrative: &'static str,
    approved_by: &'static str,
}

impl Sep {
    /// The 2018 case: the adult referred for prosecution under a declared policy.
    fn fmpp(family: FamilyId, members: &[PersonId]) -> Self {
        Sep {
            family,
            separation: SeparationId::new_v7(),
            members: members.to_vec(),
            reason_code: "FMPP",
            policy: Some(ZERO_TOLERANCE),
            narrative: "Father referred to USAO for 8 USC 1325 under the declared policy.",
            approved_by: APPROVER,
        }
    }
    /// A child taken to hospital: no policy.
    fn fmh(family: FamilyId, members: &[PersonId]) -> Self {
        Sep {
            reason_code: "FMH",
            policy: None,
            narrative: "Child admitted to McAllen Medical Center with dehydration.",
            ..Sep::fmpp(family, members)
        }
    }
    fn cmd(&self) -> Command {
        Command::RecordSeparation {
            family: self.family,
            separation: self.separation,
            members: self.members.clone(),
            reason_code: self.reason_code.into(),
            policy: self.policy.map(String::from),
            narrative: self.narrative.into(),
            approved_by: self.approved_by.into(),
        }
    }
}

/// Records a separation (by a Border Patrol agent) and returns its id.
fn separate(world: &mut World, sep: Sep) -> SeparationId {
    ok(world, meta(agent()), sep.cmd());
    sep.separation
}

fn review(family: FamilyId, separation: SeparationId, level: u8, decision: ReviewDecision, note: Option<&str>) -> Command {
    Command::ReviewSeparation { family, separation, level, decision, note: note.map(String::from) }
}

fn status(world: &World, family: FamilyId, person: PersonId) -> MemberStatus {
    world.families[&family].member(person).expect("a member").status
}

fn review_state(world: &World, family: FamilyId, separation: SeparationId) -> ReviewState {
    world.families[&family].separation(separation).expect("a separation").review.clone()
}

fn reunify(family: FamilyId, members: &[PersonId]) -> Command {
    Command::Reunify { family, members: members.to_vec(), location: "Port Isabel Detention Center".into() }
}

fn custody(world: &World, person: PersonId) -> Custody {
    world.persons[&person].custody.clone().expect("custody recorded")
}

fn custody_agency(world: &World, person: PersonId) -> Option<String> {
    match custody(world, person) {
        Custody::InCustody { agency, .. } => Some(agency),
        _ => None,
    }
}

// ===========================================================================
// Permissions: checked inside decide, so no caller can bypass them
// ===========================================================================

#[test]
fn permission_hq_analyst_may_not_record_a_separation() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let sep = Sep::fmpp(pl.family, &[pl.father]);

    let err = refused(&w, meta(analyst()), sep.cmd());
    assert_eq!(err.rule, "not-permitted");

    // The Border Patrol agent who holds `separation.record` may.
    ok(&mut w, meta(agent()), sep.cmd());
}

#[test]
fn permission_bp_agent_may_not_review_a_separation_but_a_supervisor_may() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let s = separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));

    let err = refused(&w, meta(actor("agent.flores", "BP", "bp_agent")), review(pl.family, s, 1, ReviewDecision::Approve, None));
    assert_eq!(err.rule, "not-permitted");

    ok(&mut w, meta(supervisor("sup.castillo")), review(pl.family, s, 1, ReviewDecision::Approve, None));
}

#[test]
fn permission_a_role_is_bound_to_its_agency() {
    // A `bp_agent` role claimed by someone acting for ICE grants nothing.
    let mut w = World::default();
    let s = son(&mut w);
    let cmd = Command::Release { person: s, us_address: Some("1402 W Pecan Blvd, McAllen TX".into()), conditions: None };
    let err = refused(&w, meta(actor("agent.morales", "ICE", "bp_agent")), cmd.clone());
    assert_eq!(err.rule, "not-permitted");
    // Auditors and unknown roles may do nothing.
    assert_eq!(refused(&w, meta(actor("audit.gil", "HQ", "auditor")), cmd.clone()).rule, "not-permitted");
    assert_eq!(refused(&w, meta(actor("x", "BP", "bp_agnet")), cmd.clone()).rule, "not-permitted");

    ok(&mut w, meta(agent()), cmd);
}

#[test]
fn permission_importer_and_admin_are_allowed() {
    let mut w = World::default();
    // The importer records people, forms families and books into any agency:
    // an extract speaks for the agency that wrote it.
    let imp = importer();
    let (m, s) = (PersonId::new_v7(), PersonId::new_v7());
    for (p, who) in [
        (m, Someone { given: "LUCIA", family: "MEJIA ORELLANA", birth: Some(date(1990, 4, 2)), sex: Sex::F }),
        (s, Someone { given: "WILMER", family: "MEJIA ORELLANA", birth: Some(date(2009, 8, 14)), sex: Sex::M }),
    ] {
        let cmd = Command::RecordPerson {
            person: p,
            identity: identity(&who),
            record: SourceRef { source: "BP-E3".into(), record_id: format!("E3-{}", seq()) },
            encounter: encounter(),
            details: RecordDetails::default(),
            custody: None,
            family: None,
        };
        ok(&mut w, meta(imp.clone()), cmd);
    }
    let family = FamilyId::new_v7();
    ok(&mut w, meta(imp.clone()), form_cmd(family, FamilyKind::Unit, &[(m, Role::Mother), (s, Role::Son)], m));
    ok(&mut w, meta(imp.clone()), Command::BookIn { person: m, agency: "ICE".into(), facility: Some("Karnes".into()) });
    ok(&mut w, meta(imp.clone()), Command::BookIn { person: s, agency: "BP".into(), facility: None });
    // ...but does not release: that is not in its permissions.
    let release = Command::Release { person: m, us_address: None, conditions: None };
    assert_eq!(refused(&w, meta(imp), release.clone()).rule, "not-permitted");

    // The administrator holds `*`: separation, review, and custody acts of any agency.
    let sep = Sep { members: vec![s], ..Sep::fmh(family, &[]) };
    ok(&mut w, meta(admin()), sep.cmd());
    ok(&mut w, meta(supervisor("sup.castillo")), review(family, sep.separation, 1, ReviewDecision::Approve, None));
    ok(&mut w, meta(actor("admin.lara", "HQ", "admin")), review(family, sep.separation, 2, ReviewDecision::Approve, None));
    ok(&mut w, meta(admin()), release);
}

// ===========================================================================
// Family UNIT composition: ages at the encounter (formed_at)
// ===========================================================================

#[test]
fn a_member_s_role_is_corrected_pointing_at_the_event_that_recorded_it() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let fix = |role, reason: &str| Command::CorrectMembership { family: pl.family, person: pl.son, role, reason: reason.into() };
    let before = w.families[&pl.family].member(pl.son).unwrap().role_event;
    let events = ok(&mut w, meta(agent()), fix(Role::Child, "birth certificate names no sex"));
    match &events[..] {
        [Event::MembershipCorrected { corrects, role, previous, .. }] => {
            assert_eq!((*corrects, *role, *previous), (before, Role::Child, Role::Son));
        }
        other => panic!("{other:?}"),
    }
    let m = w.families[&pl.family].member(pl.son).unwrap();
    assert_eq!((m.role, m.status), (Role::Child, MemberStatus::Active), "only the role changes");
    assert_ne!(m.role_event, before, "a next correction points at this one");
    assert_eq!(refused(&w, meta(agent()), fix(Role::Child, "again")).rule, "role-unchanged");
    let err = refused(&w, meta(agent()), fix(Role::Son, " "));
    assert_eq!((err.rule, err.field), ("required", Some("reason")));
    let stranger = aunt(&mut w);
    let err = refused(
        &w,
        meta(agent()),
        Command::CorrectMembership { family: pl.family, person: stranger, role: Role::Aunt, reason: "x".into() },
    );
    assert_eq!(err.rule, "not-a-member");
}

#[test]
fn a_membership_recorded_in_error_is_withdrawn_not_deleted_and_the_lead_passes_on() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let withdraw = |person, reason: &str| Command::WithdrawMembership { family: pl.family, person, reason: reason.into() };
    let recorded = w.families[&pl.family].member(pl.father).unwrap().role_event;
    // The father leads; withdrawing him hands the lead to the mother (the other adult parent).
    let events = ok(&mut w, meta(agent()), withdraw(pl.father, "the source's family number was wrong"));
    assert_eq!(type_names(&events), ["MembershipWithdrawn", "LeftFamily", "LeadDesignated"]);
    match &events[0] {
        Event::MembershipWithdrawn { corrects, role, .. } => assert_eq!((*corrects, *role), (recorded, Role::Father)),
        other => panic!("{other:?}"),
    }
    let f = &w.families[&pl.family];
    assert_eq!(f.member(pl.father).map(|m| m.status), Some(MemberStatus::Withdrawn), "the member stays in the history");
    assert_eq!(f.lead, Some(pl.mother));
    assert_eq!(w.active_family(pl.father), None, "free to join the family he belongs to");
    // Withdrawn twice, a stranger, no reason, a separated member: refused, each by name.
    assert_eq!(refused(&w, meta(agent()), withdraw(pl.father, "again")).rule, "not-a-member");
    let stranger = aunt(&mut w);
    assert_eq!(refused(&w, meta(agent()), withdraw(stranger, "x")).rule, "not-a-member");
    let err = refused(&w, meta(agent()), withdraw(pl.son, " "));
    assert_eq!((err.rule, err.field), ("required", Some("reason")));
    let sep = Sep { members: vec![pl.mother], ..Sep::fmh(pl.family, &[]) };
    ok(&mut w, meta(agent()), sep.cmd());
    assert_eq!(refused(&w, meta(agent()), withdraw(pl.mother, "x")).rule, "withdraw-separated");
    // Nor can a withdrawn member be separated, corrected or lead.
    let s2 = Sep { members: vec![pl.father], ..Sep::fmh(pl.family, &[]) };
    assert_eq!(refused(&w, meta(agent()), s2.cmd()).rule, "not-a-member");
    let fix = Command::CorrectMembership { family: pl.family, person: pl.father, role: Role::LegalGuardian, reason: "x".into() };
    assert_eq!(refused(&w, meta(agent()), fix).rule, "not-a-member");
    assert_eq!(
        refused(&w, meta(agent()), Command::DesignateLead { family: pl.family, person: pl.father }).rule,
        "lead-must-be-with-family"
    );
    // Added again (the source moves him back), he takes his old place.
    let back = NewMember { person: pl.father, role: Role::Father, established: Establishment::Claimed };
    ok(&mut w, meta(agent()), Command::AddMember { family: pl.family, member: back, source_claim: true });
    let f = &w.families[&pl.family];
    assert_eq!(f.members.iter().filter(|m| m.person == pl.father).count(), 1);
    assert_eq!(f.member(pl.father).map(|m| m.status), Some(MemberStatus::Active));
    assert_eq!(w.active_family(pl.father), Some(pl.family));
}

#[test]
fn unit_of_adult_mother_and_young_son_is_accepted() {
    let mut w = World::default();
    let (m, s) = (mother(&mut w), son(&mut w));
    let family = FamilyId::new_v7();
    let events = ok(&mut w, meta_at(agent(), ENCOUNTER), form_cmd(family, FamilyKind::Unit, &[(m, Role::Mother), (s, Role::Son)], m));
    assert_eq!(type_names(&events), ["FamilyFormed", "MemberAdded", "JoinedFamily", "MemberAdded", "JoinedFamily", "LeadDesignated"]);
    let f = &w.families[&family];
    assert_eq!(f.kind, FamilyKind::Unit);
    assert_eq!(f.lead, Some(m));
    assert_eq!(f.members.len(), 2);
    assert_eq!(w.active_family(s), Some(family));
}

#[test]
fn unit_needs_an_adult_parent_with_a_known_birth_date() {
    let mut w = World::default();
    let (s, d) = (son(&mut w), daughter(&mut w));
    // Two children on their own are not a UNIT.
    let err = refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(s, Role::Son), (d, Role::Daughter)], s));
    assert_eq!(err.rule, "unit-needs-adult-parent");
    assert_eq!(err.field, Some("members"));
    // A father whose birth date is unknown does not count as an adult.
    let undated = born(&mut w, "MARVIN", None);
    let err =
        refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(undated, Role::Father), (s, Role::Son)], undated));
    assert_eq!(err.rule, "unit-needs-adult-parent");

    let f = father(&mut w);
    ok(&mut w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(f, Role::Father), (s, Role::Son)], f));
}

#[test]
fn unit_needs_a_child_under_18_with_a_known_birth_date() {
    let mut w = World::default();
    let m = mother(&mut w);
    let err = refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(m, Role::Mother)], m));
    assert_eq!(err.rule, "unit-needs-child");
    let undated = born(&mut w, "SANTOS", None);
    let err = refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(m, Role::Mother), (undated, Role::Son)], m));
    assert_eq!(err.rule, "unit-needs-child");

    let d = daughter(&mut w);
    ok(&mut w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(m, Role::Mother), (d, Role::Daughter)], m));
}

#[test]
fn unit_parent_under_18_is_refused_but_accepted_as_a_group() {
    let mut w = World::default();
    let (y, k) = (teen_mother(&mut w), baby(&mut w));
    let members = [(y, Role::Mother), (k, Role::Son)];
    let err = refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &members, y));
    assert_eq!(err.rule, "unit-parent-adult");
    assert_eq!(err.field, Some("role"));

    let family = form(&mut w, FamilyKind::Group, &members, y);
    assert_eq!(w.families[&family].kind, FamilyKind::Group);
}

#[test]
fn unit_child_18_or_over_is_refused() {
    let mut w = World::default();
    let (m, e) = (mother(&mut w), grown_son(&mut w));
    let err = refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(m, Role::Mother), (e, Role::Son)], m));
    assert_eq!(err.rule, "unit-child-minor");

    // Boundary: turning 18 on the day of the encounter is 18.
    let today = born(&mut w, "ERICK", Some(date(2000, 5, 7)));
    let err = refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(m, Role::Mother), (today, Role::Son)], m));
    assert_eq!(err.rule, "unit-child-minor");
    // Turning 18 the next day is still 17 at the encounter.
    let tomorrow = born(&mut w, "OSCAR", Some(date(2000, 5, 8)));
    ok(&mut w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(m, Role::Mother), (tomorrow, Role::Son)], m));
}

#[test]
fn unit_ages_are_taken_at_formed_at_not_at_the_command_time() {
    // A boy who was 17 at the encounter and is 18 when the agent gets round to
    // recording the family is still a child of the UNIT.
    let mut w = World::default();
    let m = mother(&mut w);
    let s = born(&mut w, "LUIS", Some(date(2000, 5, 20)));
    let cmd = form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(m, Role::Mother), (s, Role::Son)], m);
    ok(&mut w, meta_at(agent(), "2018-06-01T10:00:00-06:00"), cmd);
}

#[test]
fn unit_with_an_aunt_is_refused_but_a_group_accepts_her() {
    let mut w = World::default();
    let (m, s, a) = (mother(&mut w), son(&mut w), aunt(&mut w));
    let members = [(m, Role::Mother), (s, Role::Son), (a, Role::Aunt)];
    let err = refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &members, m));
    assert_eq!(err.rule, "unit-roles");
    assert_eq!(err.field, Some("role"));

    form(&mut w, FamilyKind::Group, &members, m);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the birth dates, a parent+child UNIT is accepted exactly when
    /// the parent is 18+ and the child under 18 on the day of the encounter.
    #[test]
    fn unit_age_rule_holds_for_any_birth_dates(parent_days in 16 * 365i64..20 * 365, child_days in 16 * 365i64..20 * 365) {
        let mut w = World::default();
        let encounter_day = date(2018, 5, 7);
        let parent_birth = encounter_day.checked_sub(jiff::Span::new().days(parent_days)).unwrap();
        let child_birth = encounter_day.checked_sub(jiff::Span::new().days(child_days)).unwrap();
        let p = born(&mut w, "JORGE", Some(parent_birth));
        let c = born(&mut w, "JUAN", Some(child_birth));
        let age = |b: Date| BirthDate { date: b, estimated: false }.age_on(encounter_day);
        let cmd = form_cmd(FamilyId::new_v7(), FamilyKind::Unit, &[(p, Role::Father), (c, Role::Son)], p);
        let result = decide(&w, &PROFILE, &meta(agent()), &cmd);
        match (age(parent_birth) >= 18, age(child_birth) < 18) {
            (true, true) => prop_assert!(result.is_ok(), "{result:?}"),
            (false, _) => prop_assert_eq!(result.err().map(|e| e.rule), Some("unit-parent-adult")),
            (true, false) => prop_assert_eq!(result.err().map(|e| e.rule), Some("unit-child-minor")),
        }
    }
}

// ===========================================================================
// One active family per person
// ===========================================================================

#[test]
fn one_active_family_via_form_family() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    // The son cannot be put in a second family with his aunt.
    let a = aunt(&mut w);
    let err = refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Group, &[(a, Role::Aunt), (pl.son, Role::Child)], a));
    assert_eq!(err.rule, "one-active-family");
    assert_eq!(err.field, Some("person"));

    // A child who is in no family can be.
    let d = daughter(&mut w);
    form(&mut w, FamilyKind::Group, &[(a, Role::Aunt), (d, Role::Child)], a);
}

#[test]
fn one_active_family_via_add_member() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let other = FamilyId::new_v7();
    let source = SourceRef { source: "BP-E3".into(), record_id: "FMUA000512".into() };
    ok(
        &mut w,
        meta(importer()),
        Command::RecordSourceFamily { family: other, kind: FamilyKind::Group, formed_at: at(ENCOUNTER), source_family: source },
    );
    let err = refused(&w, meta(agent()), Command::AddMember { family: other, member: member(pl.mother, Role::Aunt), source_claim: true });
    assert_eq!(err.rule, "one-active-family");
    // Adding someone already in this very family is a different mistake.
    let err = refused(&w, meta(agent()), Command::AddMember { family: pl.family, member: member(pl.son, Role::Son), source_claim: false });
    assert_eq!(err.rule, "already-a-member");

    let a = aunt(&mut w);
    let events = ok(&mut w, meta(agent()), Command::AddMember { family: other, member: member(a, Role::Aunt), source_claim: true });
    // The first member of a family with no lead becomes the lead.
    assert_eq!(type_names(&events), ["MemberAdded", "JoinedFamily", "LeadDesignated"]);
    assert_eq!(w.active_family(a), Some(other));
}

#[test]
fn a_separated_person_may_join_another_family_but_then_cannot_be_reunified_into_the_first() {
    // active_family counts Active and Reunified members only: once the son is
    // separated (hospitalised) he is in no active family, so he may be placed
    // with his aunt. Reunifying him into his parents' family would then put
    // him in two active families, which is refused.
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmh(pl.family, &[pl.son]));
    assert_eq!(w.active_family(pl.son), None);

    let a = aunt(&mut w);
    let with_aunt = form(&mut w, FamilyKind::Group, &[(a, Role::Aunt), (pl.son, Role::Child)], a);
    assert_eq!(w.active_family(pl.son), Some(with_aunt));

    let err = refused(&w, meta(agent()), reunify(pl.family, &[pl.son]));
    assert_eq!(err.rule, "one-active-family");
}

// ===========================================================================
// Separations: exactly one profile reason code, a narrative, an approver,
// and nobody is ever removed from the family
// ===========================================================================

#[test]
fn separation_under_fmpp_with_policy_is_recorded_and_keeps_every_member() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let sep = Sep { policy: Some("  Zero Tolerance, 2018-04-06 "), ..Sep::fmpp(pl.family, &[pl.father]) };
    let id = sep.separation;
    let events = ok(&mut w, meta(agent()), sep.cmd());
    let [Event::SeparationRecorded { separation, members, reason_code, policy, approved_by, recorded_by, at: when, .. }] =
        events.as_slice()
    else {
        panic!("one SeparationRecorded, got {events:?}");
    };
    assert_eq!(*separation, id);
    assert_eq!(members, &vec![pl.father]);
    assert_eq!(reason_code, "FMPP");
    assert_eq!(policy.as_deref(), Some(ZERO_TOLERANCE), "the policy is stored trimmed");
    assert_eq!(approved_by, APPROVER);
    assert_eq!(recorded_by, "agent.morales");
    assert_eq!(when, &at(NEXT_DAY));

    // Separation never removes anyone: all three are still members.
    let f = &w.families[&pl.family];
    assert_eq!(f.members.len(), 3);
    assert_eq!(status(&w, pl.family, pl.father), MemberStatus::Separated);
    assert_eq!(status(&w, pl.family, pl.mother), MemberStatus::Active);
    assert_eq!(status(&w, pl.family, pl.son), MemberStatus::Active);
    assert_eq!(review_state(&w, pl.family, id), ReviewState::AwaitingLevel(1));

    // A second separation (the son, hospitalised) still removes no one.
    separate(&mut w, Sep::fmh(pl.family, &[pl.son]));
    let f = &w.families[&pl.family];
    assert_eq!(f.members.len(), 3);
    assert_eq!(f.separations.len(), 2);
    assert_eq!(status(&w, pl.family, pl.son), MemberStatus::Separated);
}

#[test]
fn separation_needs_exactly_one_reason_code_from_the_profile() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    for code in ["FMPX", "fmpp", "FMPP FMPO", "FMPP,FMPO", "", "ZERO TOLERANCE"] {
        let sep = Sep { reason_code: code, policy: None, ..Sep::fmpp(pl.family, &[pl.father]) };
        let err = refused(&w, meta(agent()), sep.cmd());
        assert_eq!(err.rule, "unknown-reason-code", "code {code:?}");
        assert_eq!(err.field, Some("reason_code"));
    }
    // Every e3 code works (without policy); the mother stays with the son.
    for code in ["ERR", "FCCO", "FCNR", "FCNFRP", "FMEW", "FMGA", "FMH", "FMPC", "FMPO", "FMPIV", "FMT"] {
        let sep = Sep { reason_code: code, policy: None, ..Sep::fmpp(pl.family, &[pl.father]) };
        assert!(decide(&w, &PROFILE, &meta(agent()), &sep.cmd()).is_ok(), "code {code}");
    }
}

#[test]
fn separation_under_fmpp_requires_a_policy() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    for policy in [None, Some(""), Some("   ")] {
        let err = refused(&w, meta(agent()), Sep { policy, ..Sep::fmpp(pl.family, &[pl.father]) }.cmd());
        assert_eq!(err.rule, "policy-required");
        assert_eq!(err.field, Some("policy"));
    }
    ok(&mut w, meta(agent()), Sep::fmpp(pl.family, &[pl.father]).cmd());
}

#[test]
fn separation_under_other_codes_refuses_a_policy() {
    // Naming a policy under FMPC would hide policy separations in the old code.
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let err = refused(&w, meta(agent()), Sep { reason_code: "FMPC", ..Sep::fmpp(pl.family, &[pl.father]) }.cmd());
    assert_eq!(err.rule, "policy-not-applicable");
    assert_eq!(err.field, Some("policy"));
    // An empty policy is no policy.
    ok(&mut w, meta(agent()), Sep { reason_code: "FMPC", policy: Some(" "), ..Sep::fmpp(pl.family, &[pl.father]) }.cmd());
}

#[test]
fn separation_requires_a_narrative_and_an_approving_official() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let err = refused(&w, meta(agent()), Sep { narrative: " \n ", ..Sep::fmpp(pl.family, &[pl.father]) }.cmd());
    assert_eq!((err.rule, err.field), ("required", Some("narrative")));
    let err = refused(&w, meta(agent()), Sep { approved_by: "", ..Sep::fmpp(pl.family, &[pl.father]) }.cmd());
    assert_eq!((err.rule, err.field), ("required", Some("approved_by")));

    ok(&mut w, meta(agent()), Sep::fmpp(pl.family, &[pl.father]).cmd());
}

#[test]
fn separation_must_leave_someone_with_the_family() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let everyone = [pl.father, pl.mother, pl.son];
    let err = refused(&w, meta(agent()), Sep::fmpp(pl.family, &everyone).cmd());
    assert_eq!(err.rule, "separation-leaves-someone");
    assert_eq!(err.field, Some("members"));

    // Both parents at once is fine: the son stays the family's anchor...
    let sep = Sep { reason_code: "FMPO", policy: None, ..Sep::fmpp(pl.family, &[pl.father, pl.mother]) };
    ok(&mut w, meta(agent()), sep.cmd());
    // ...and then the son, the only one left, cannot be separated.
    let err = refused(&w, meta(agent()), Sep::fmh(pl.family, &[pl.son]).cmd());
    assert_eq!(err.rule, "separation-leaves-someone");
}

#[test]
fn separation_member_must_be_with_the_family() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));

    let err = refused(&w, meta(agent()), Sep { reason_code: "FMPC", policy: None, ..Sep::fmpp(pl.family, &[pl.father]) }.cmd());
    assert_eq!((err.rule, err.field), ("already-separated", Some("members")));

    let stranger = aunt(&mut w);
    let err = refused(&w, meta(agent()), Sep::fmh(pl.family, &[stranger]).cmd());
    assert_eq!((err.rule, err.field), ("not-a-member", Some("members")));

    let err = refused(&w, meta(agent()), Sep::fmh(pl.family, &[]).cmd());
    assert_eq!(err.rule, "separation-needs-members");

    ok(&mut w, meta(agent()), Sep::fmh(pl.family, &[pl.son]).cmd());
}

#[test]
fn separation_id_is_recorded_once() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let sep = Sep::fmpp(pl.family, &[pl.father]);
    ok(&mut w, meta(agent()), sep.cmd());
    let again = Sep { members: vec![pl.son], ..Sep::fmh(pl.family, &[]) };
    let again = Sep { separation: sep.separation, ..again };
    assert_eq!(refused(&w, meta(agent()), again.cmd()).rule, "separation-exists");
}

// ===========================================================================
// Two-level review of a separation
// ===========================================================================

#[test]
fn review_goes_level_1_then_level_2_then_is_complete() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let s = separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));

    let err = refused(&w, meta(supervisor("sup.mendoza")), review(pl.family, s, 2, ReviewDecision::Approve, None));
    assert_eq!((err.rule, err.field), ("review-out-of-order", Some("level")));

    ok(&mut w, meta(supervisor("sup.castillo")), review(pl.family, s, 1, ReviewDecision::Approve, None));
    assert_eq!(review_state(&w, pl.family, s), ReviewState::AwaitingLevel(2));
    // Level 1 again once it is done is out of order too.
    let err = refused(&w, meta(supervisor("sup.mendoza")), review(pl.family, s, 1, ReviewDecision::Approve, None));
    assert_eq!(err.rule, "review-out-of-order");

    ok(&mut w, meta(supervisor("sup.mendoza")), review(pl.family, s, 2, ReviewDecision::Approve, Some("Policy named.")));
    assert_eq!(review_state(&w, pl.family, s), ReviewState::Approved);

    for level in [1, 2] {
        let err = refused(&w, meta(supervisor("sup.herrera")), review(pl.family, s, level, ReviewDecision::Approve, None));
        assert_eq!(err.rule, "review-complete");
    }
}

#[test]
fn reviewer_must_be_independent() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    // Recorded by a supervisor, so that the recorder holds review permission.
    let sep = Sep::fmpp(pl.family, &[pl.father]);
    let s = sep.separation;
    ok(&mut w, meta(supervisor("sup.recorder")), sep.cmd());

    let l1 = |who: &str| (meta(supervisor(who)), review(pl.family, s, 1, ReviewDecision::Approve, None));
    // The approving official...
    let (m, c) = l1(APPROVER);
    assert_eq!(refused(&w, m, c).rule, "reviewer-must-be-independent");
    // ...and the recording agent may not review.
    let (m, c) = l1("sup.recorder");
    assert_eq!(refused(&w, m, c).rule, "reviewer-must-be-independent");

    let (m, c) = l1("sup.castillo");
    ok(&mut w, m, c);
    // The level-1 reviewer may not also review level 2.
    let err = refused(&w, meta(supervisor("sup.castillo")), review(pl.family, s, 2, ReviewDecision::Approve, None));
    assert_eq!(err.rule, "reviewer-must-be-independent");

    ok(&mut w, meta(supervisor("sup.mendoza")), review(pl.family, s, 2, ReviewDecision::Approve, None));
}

#[test]
fn review_return_needs_a_note() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let s = separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));
    for note in [None, Some(""), Some("  ")] {
        let err = refused(&w, meta(supervisor("sup.castillo")), review(pl.family, s, 1, ReviewDecision::Return, note));
        assert_eq!((err.rule, err.field), ("return-needs-note", Some("note")));
    }
    ok(
        &mut w,
        meta(supervisor("sup.castillo")),
        review(pl.family, s, 1, ReviewDecision::Return, Some("Narrative does not say who was told.")),
    );
    assert_eq!(review_state(&w, pl.family, s), ReviewState::Returned { level: 1, by: "sup.castillo".into() });
}

#[test]
fn returned_separation_is_not_reviewed_until_corrected_and_the_correction_points_at_the_record() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let sep = Sep { reason_code: "FMPO", policy: None, ..Sep::fmpp(pl.family, &[pl.father]) };
    let s = sep.separation;
    let recorded = apply_ids(&mut w, &meta(agent()), &sep.cmd()).unwrap();
    let recorded_id = recorded[0].0;
    assert_eq!(recorded[0].1.type_name(), "SeparationRecorded");

    ok(&mut w, meta(supervisor("sup.castillo")), review(pl.family, s, 1, ReviewDecision::Approve, None));
    ok(
        &mut w,
        meta(supervisor("sup.mendoza")),
        review(pl.family, s, 2, ReviewDecision::Return, Some("This was a policy referral: use FMPP and name the policy.")),
    );
    for level in [1, 2] {
        let err = refused(&w, meta(supervisor("sup.herrera")), review(pl.family, s, level, ReviewDecision::Approve, None));
        assert_eq!(err.rule, "review-returned");
    }

    // The correction itself follows the reason-code rules and needs a reason.
    let correct = |code: &str, policy: Option<&str>, reason: &str| Command::CorrectSeparation {
        family: pl.family,
        separation: s,
        reason_code: code.into(),
        policy: policy.map(String::from),
        narrative: "Father referred to USAO for 8 USC 1325 under the declared policy.".into(),
        reason: reason.into(),
    };
    assert_eq!(refused(&w, meta(agent()), correct("FMPP", None, "returned at level 2")).rule, "policy-required");
    let err = refused(&w, meta(agent()), correct("FMPP", Some(ZERO_TOLERANCE), " "));
    assert_eq!((err.rule, err.field), ("required", Some("reason")));

    let corrected = apply_ids(&mut w, &meta(agent()), &correct("FMPP", Some(ZERO_TOLERANCE), "returned at level 2")).unwrap();
    let [(corrected_id, Event::SeparationCorrected { corrects, reason_code, policy, .. })] = corrected.as_slice() else {
        panic!("one SeparationCorrected, got {corrected:?}");
    };
    assert_eq!(*corrects, recorded_id, "the correction names the SeparationRecorded event");
    assert_eq!(reason_code, "FMPP");
    assert_eq!(policy.as_deref(), Some(ZERO_TOLERANCE));

    // Review starts again from level 1, with a clean slate of reviewers.
    let sep_state = w.families[&pl.family].separation(s).unwrap().clone();
    assert_eq!(sep_state.review, ReviewState::AwaitingLevel(1));
    assert_eq!(sep_state.event_id, *corrected_id);
    assert_eq!(sep_state.reason_code, "FMPP");
    ok(&mut w, meta(supervisor("sup.castillo")), review(pl.family, s, 1, ReviewDecision::Approve, None));
    ok(&mut w, meta(supervisor("sup.mendoza")), review(pl.family, s, 2, ReviewDecision::Approve, None));
    assert_eq!(review_state(&w, pl.family, s), ReviewState::Approved);
    let err = refused(&w, meta(supervisor("sup.herrera")), review(pl.family, s, 2, ReviewDecision::Approve, None));
    assert_eq!(err.rule, "review-complete");
}

// ===========================================================================
// Reunification: members rejoin their original family
// ===========================================================================

#[test]
fn reunification_rejoins_the_original_family() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));
    let (persons, families) = (w.persons.len(), w.families.len());

    let events = ok(&mut w, meta(ice()), reunify(pl.family, &[pl.father]));
    assert_eq!(type_names(&events), ["MembersReunified"]);
    let Event::MembersReunified { family, members, .. } = &events[0] else { unreachable!() };
    assert_eq!((*family, members.as_slice()), (pl.family, [pl.father].as_slice()));

    // Same family, same person, status Reunified; nothing new was created.
    assert_eq!(status(&w, pl.family, pl.father), MemberStatus::Reunified);
    assert_eq!(w.families[&pl.family].members.len(), 3);
    assert_eq!((w.persons.len(), w.families.len()), (persons, families));
    assert_eq!(w.active_family(pl.father), Some(pl.family));
}

#[test]
fn reunification_refuses_a_non_member() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmh(pl.family, &[pl.son]));
    let stranger = son(&mut w); // another boy of the same name: not this family's son
    let err = refused(&w, meta(agent()), reunify(pl.family, &[stranger]));
    assert_eq!((err.rule, err.field), ("reunify-original-family", Some("members")));

    ok(&mut w, meta(agent()), reunify(pl.family, &[pl.son]));
}

#[test]
fn reunification_refuses_a_member_who_is_not_separated() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmh(pl.family, &[pl.son]));
    let err = refused(&w, meta(agent()), reunify(pl.family, &[pl.mother]));
    assert_eq!(err.rule, "not-separated");
    // Neither can a member be reunified twice.
    ok(&mut w, meta(agent()), reunify(pl.family, &[pl.son]));
    assert_eq!(refused(&w, meta(agent()), reunify(pl.family, &[pl.son])).rule, "not-separated");
}

#[test]
fn reunification_brings_back_a_separated_lead_first() {
    // The father leads; he is referred for prosecution, and the son is
    // hospitalised the same day. The mother stays.
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));
    separate(&mut w, Sep::fmh(pl.family, &[pl.son]));

    let err = refused(&w, meta(agent()), reunify(pl.family, &[pl.son]));
    assert_eq!((err.rule, err.field), ("lead-first", Some("members")));

    // Together with the lead it is accepted.
    let mut together = w.clone();
    ok(&mut together, meta(agent()), reunify(pl.family, &[pl.son, pl.father]));
    assert_eq!(status(&together, pl.family, pl.son), MemberStatus::Reunified);
    assert_eq!(status(&together, pl.family, pl.father), MemberStatus::Reunified);
}

#[test]
fn designating_a_lead_who_is_with_the_family_unblocks_reunification() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));
    separate(&mut w, Sep::fmh(pl.family, &[pl.son]));

    // A separated member cannot lead.
    let err = refused(&w, meta(agent()), Command::DesignateLead { family: pl.family, person: pl.son });
    assert_eq!((err.rule, err.field), ("lead-must-be-with-family", Some("person")));
    let err = refused(&w, meta(agent()), Command::DesignateLead { family: pl.family, person: pl.father });
    assert_eq!(err.rule, "lead-must-be-with-family");

    // The mother, who stayed, can; then the son comes back without his father.
    ok(&mut w, meta(orr()), Command::DesignateLead { family: pl.family, person: pl.mother });
    assert_eq!(w.families[&pl.family].lead, Some(pl.mother));
    ok(&mut w, meta(agent()), reunify(pl.family, &[pl.son]));
    assert_eq!(status(&w, pl.family, pl.son), MemberStatus::Reunified);
    assert_eq!(status(&w, pl.family, pl.father), MemberStatus::Separated);
}

// ===========================================================================
// Custody: one custodian at a time, moved only by offer + accept
// ===========================================================================

#[test]
fn book_in_while_in_custody_is_refused_and_after_release_is_accepted() {
    let mut w = World::default();
    let m = mother(&mut w); // booked into BP at the encounter
    let err = refused(&w, meta(agent()), Command::BookIn { person: m, agency: "BP".into(), facility: Some("Ursula CPC".into()) });
    assert_eq!((err.rule, err.field), ("one-custody", Some("agency")));
    // Moving to ICE by booking in is the same mistake, whoever does it.
    let err = refused(&w, meta(ice()), Command::BookIn { person: m, agency: "ICE".into(), facility: None });
    assert_eq!(err.rule, "one-custody");

    ok(&mut w, meta(agent()), Command::Release { person: m, us_address: Some("2210 Pine St, Houston TX".into()), conditions: None });
    // Booking is done by the agency itself.
    let err = refused(&w, meta(agent()), Command::BookIn { person: m, agency: "ICE".into(), facility: None });
    assert_eq!(err.rule, "custody-agency-only");
    ok(
        &mut w,
        meta_at(ice(), "2018-07-02T08:00:00-05:00"),
        Command::BookIn { person: m, agency: "ICE".into(), facility: Some("Houston CDF".into()) },
    );
    assert_eq!(custody_agency(&w, m).as_deref(), Some("ICE"));
}

#[test]
fn transfer_offer_then_accept_moves_custody_and_only_the_receiving_agency_accepts() {
    let mut w = World::default();
    let s = son(&mut w);
    let events =
        ok(&mut w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "ORR".into(), to_facility: Some("Casa Padre".into()) });
    assert_eq!(type_names(&events), ["TransferOffered"]);
    // Custody does not move on the offer alone.
    assert_eq!(custody_agency(&w, s).as_deref(), Some("BP"));
    assert!(w.persons[&s].pending_transfer.is_some());

    let accept = Command::AcceptTransfer { person: s, facility: None };
    for who in [ice(), agent()] {
        let err = refused(&w, meta(who), accept.clone());
        assert_eq!(err.rule, "custody-agency-only");
    }

    ok(&mut w, meta(orr()), accept);
    let Custody::InCustody { agency, facility, since } = custody(&w, s) else { panic!("in custody") };
    assert_eq!(agency, "ORR");
    assert_eq!(facility.as_deref(), Some("Casa Padre"), "the offered facility is kept");
    assert_eq!(since, at(NEXT_DAY));
    assert!(w.persons[&s].pending_transfer.is_none());
}

#[test]
fn transfer_is_offered_by_the_holding_agency_only() {
    let mut w = World::default();
    let s = son(&mut w);
    let err = refused(&w, meta(orr()), Command::OfferTransfer { person: s, to_agency: "ORR".into(), to_facility: None });
    assert_eq!(err.rule, "custody-agency-only");
    let err = refused(&w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "BP".into(), to_facility: None });
    assert_eq!(err.rule, "transfer-to-self");
    let err = refused(&w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "DHS".into(), to_facility: None });
    assert_eq!((err.rule, err.field), ("unknown-agency", Some("to_agency")));
    ok(&mut w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "ORR".into(), to_facility: None });
}

#[test]
fn transfer_reject_needs_a_reason_and_leaves_custody_unchanged() {
    let mut w = World::default();
    let s = son(&mut w);
    ok(&mut w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "ORR".into(), to_facility: None });

    let err = refused(&w, meta(orr()), Command::RejectTransfer { person: s, reason: "  ".into() });
    assert_eq!((err.rule, err.field), ("required", Some("reason")));
    // Only the receiving agency rejects.
    let err = refused(&w, meta(agent()), Command::RejectTransfer { person: s, reason: "no bed".into() });
    assert_eq!(err.rule, "custody-agency-only");

    let before = custody(&w, s);
    let events = ok(&mut w, meta(orr()), Command::RejectTransfer { person: s, reason: "No shelter bed for a boy under 12 today.".into() });
    assert_eq!(type_names(&events), ["TransferRejected"]);
    assert_eq!(custody(&w, s), before);
    assert!(w.persons[&s].pending_transfer.is_none());
    // The offer is gone: BP may offer again.
    ok(&mut w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "ORR".into(), to_facility: None });
}

#[test]
fn transfer_second_offer_while_pending_is_refused() {
    let mut w = World::default();
    let s = son(&mut w);
    ok(&mut w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "ORR".into(), to_facility: None });
    let err = refused(&w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "ICE".into(), to_facility: None });
    assert_eq!(err.rule, "transfer-pending");
}

#[test]
fn transfer_accept_or_reject_without_an_offer_is_refused() {
    let mut w = World::default();
    let s = son(&mut w);
    let err = refused(&w, meta(orr()), Command::AcceptTransfer { person: s, facility: None });
    assert_eq!(err.rule, "no-transfer-offered");
    let err = refused(&w, meta(orr()), Command::RejectTransfer { person: s, reason: "no bed".into() });
    assert_eq!(err.rule, "no-transfer-offered");

    ok(&mut w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "ORR".into(), to_facility: None });
    ok(&mut w, meta(orr()), Command::AcceptTransfer { person: s, facility: Some("Southwest Key Casa Padre".into()) });
    // Accepting twice: the offer was consumed.
    let err = refused(&w, meta(orr()), Command::AcceptTransfer { person: s, facility: None });
    assert_eq!(err.rule, "no-transfer-offered");
}

#[test]
fn release_without_address_is_allowed_and_raises_a_finding() {
    let mut w = World::default();
    let m = mother(&mut w);
    for address in [None, Some("   ")] {
        let mut w = w.clone();
        let meta = meta(agent());
        let key = meta.idempotency_key.clone();
        let cmd = Command::Release { person: m, us_address: address.map(String::from), conditions: Some("NTA/OR".into()) };
        let events = apply(&mut w, &meta, &cmd).unwrap();
        assert_eq!(type_names(&events), ["Released", "FindingRaised"]);
        let Event::FindingRaised { finding, kind, subjects, .. } = &events[1] else { unreachable!() };
        assert_eq!(kind, "release-without-address");
        assert_eq!(subjects, &vec![Subject::Person(m)]);
        // The finding id is derived from the idempotency key: stable on retry.
        assert_eq!(*finding, FindingId(derived_id(&key, 0)));
        assert!(w.findings.contains_key(finding));
        assert_eq!(custody(&w, m), Custody::Released { at: at(NEXT_DAY), us_address: None });
    }
}

#[test]
fn release_with_address_raises_no_finding() {
    let mut w = World::default();
    let m = mother(&mut w);
    let cmd = Command::Release { person: m, us_address: Some(" 1402 W Pecan Blvd, McAllen TX 78501 ".into()), conditions: None };
    let events = ok(&mut w, meta(agent()), cmd);
    assert_eq!(type_names(&events), ["Released"]);
    assert!(w.findings.is_empty());
    assert_eq!(custody(&w, m), Custody::Released { at: at(NEXT_DAY), us_address: Some("1402 W Pecan Blvd, McAllen TX 78501".into()) });
}

#[test]
fn remove_ends_custody() {
    let mut w = World::default();
    let f = father(&mut w);
    // Only the holding agency removes.
    let err = refused(&w, meta(ice()), Command::Remove { person: f, to_country: Citizenship::parse("GTM") });
    assert_eq!(err.rule, "custody-agency-only");
    let events = ok(&mut w, meta(agent()), Command::Remove { person: f, to_country: Citizenship::parse("GTM") });
    assert_eq!(type_names(&events), ["Removed"]);
    assert_eq!(custody(&w, f), Custody::Removed { at: at(NEXT_DAY) });
}

#[test]
fn custody_commands_on_a_released_or_removed_person_are_refused() {
    let mut w = World::default();
    let (m, f) = (mother(&mut w), father(&mut w));
    ok(&mut w, meta(agent()), Command::Release { person: m, us_address: Some("Houston TX".into()), conditions: None });
    ok(&mut w, meta(agent()), Command::Remove { person: f, to_country: None });
    for p in [m, f] {
        for cmd in [
            Command::OfferTransfer { person: p, to_agency: "ICE".into(), to_facility: None },
            Command::Release { person: p, us_address: Some("Houston TX".into()), conditions: None },
            Command::Remove { person: p, to_country: None },
            Command::ReferForProsecution { person: p },
        ] {
            assert_eq!(refused(&w, meta(agent()), cmd.clone()).rule, "not-in-custody", "{cmd:?}");
        }
    }
    // A person recorded without custody is not in custody either.
    let never = PersonId::new_v7();
    let who = Someone { given: "DORA", family: "ALVARADO MEJIA", birth: Some(date(1980, 2, 2)), sex: Sex::F };
    let rec = Command::RecordPerson {
        person: never,
        identity: identity(&who),
        record: SourceRef { source: "ICE-EID".into(), record_id: "EID-77812".into() },
        encounter: encounter(),
        details: RecordDetails::default(),
        custody: None,
        family: None,
    };
    ok(&mut w, meta(agent()), rec);
    let err = refused(&w, meta(agent()), Command::Release { person: never, us_address: None, conditions: None });
    assert_eq!(err.rule, "not-in-custody");
}

// ===========================================================================
// Record corrections: new events pointing at what they correct
// ===========================================================================

#[test]
fn correct_record_points_at_the_original_and_replaces_the_identity() {
    let mut w = World::default();
    let person = PersonId::new_v7();
    let record = SourceRef { source: "BP-E3".into(), record_id: "E3-448812".into() };
    let typo = Someone { given: "JOSE LUIS", family: "PERES GARCIA", birth: Some(date(1984, 3, 11)), sex: Sex::M };
    let recorded = apply_ids(
        &mut w,
        &meta_at(agent(), ENCOUNTER),
        &Command::RecordPerson {
            person,
            identity: identity(&typo),
            record: record.clone(),
            encounter: encounter(),
            details: RecordDetails::default(),
            custody: Some(("BP".into(), None)),
            family: None,
        },
    )
    .unwrap();
    let (recorded_id, _) = &recorded[0];
    assert_eq!(recorded[0].1.type_name(), "PersonRecorded");

    let fixed = Identity {
        a_number: ANumber::parse("A-212-555-014").ok(),
        ..identity(&Someone { given: "JOSE LUIS", family: "PEREZ GARCIA", birth: Some(date(1984, 11, 3)), sex: Sex::M })
    };
    let correct = |reason: &str| Command::CorrectRecord {
        person,
        record: record.clone(),
        identity: fixed.clone(),
        encounter: encounter(),
        details: RecordDetails::default(),
        reason: reason.into(),
    };
    let err = refused(&w, meta(supervisor("sup.castillo")), correct("  "));
    assert_eq!((err.rule, err.field), ("required", Some("reason")));

    let corrected =
        apply_ids(&mut w, &meta(supervisor("sup.castillo")), &correct("Passport seen: surname and birth date mistyped")).unwrap();
    let [(corrected_id, Event::RecordCorrected { corrects, changed, .. })] = corrected.as_slice() else {
        panic!("one RecordCorrected, got {corrected:?}");
    };
    assert_eq!(corrects, recorded_id);
    assert_eq!(changed, &["name", "birth_date", "a_number"]);

    let p = &w.persons[&person];
    assert_eq!(p.identity, fixed);
    assert_eq!(p.records.len(), 1, "a correction replaces, it does not add a record");
    assert_eq!(p.records[0].event_id, *corrected_id);

    // A second correction points at the first correction, not the original.
    let again = Command::CorrectRecord {
        person,
        record: record.clone(),
        identity: fixed.clone(),
        encounter: encounter(),
        details: RecordDetails { us_address: Some("Houston TX".into()), ..RecordDetails::default() },
        reason: "Sponsor address added".into(),
    };
    let events = ok(&mut w, meta(agent()), again);
    let [Event::RecordCorrected { corrects, changed, .. }] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(corrects, corrected_id);
    assert_eq!(changed, &["details"]);
}

#[test]
fn correct_record_of_an_unknown_record_is_refused() {
    let mut w = World::default();
    let f = father(&mut w);
    let cmd = Command::CorrectRecord {
        person: f,
        record: SourceRef { source: "ICE-EID".into(), record_id: "EID-1".into() },
        identity: identity(&Someone { given: "JOSE LUIS", family: "PEREZ GARCIA", birth: None, sex: Sex::M }),
        encounter: encounter(),
        details: RecordDetails::default(),
        reason: "typo".into(),
    };
    let err = refused(&w, meta(agent()), cmd);
    assert_eq!((err.rule, err.field), ("record-not-found", Some("record_id")));
}

// ===========================================================================
// Age-out: a child who turns 18 in custody
// ===========================================================================

/// A 17-year-old (18 on 2018-06-15) in his mother's UNIT, in BP custody.
fn almost_eighteen(w: &mut World) -> (PersonId, FamilyId) {
    let m = mother(w);
    let e = born(w, "WILMER", Some(date(2000, 6, 15)));
    let family = form(w, FamilyKind::Unit, &[(m, Role::Mother), (e, Role::Son)], m);
    (e, family)
}

#[test]
fn age_out_in_custody_emits_aged_out_and_a_finding() {
    let mut w = World::default();
    let (e, family) = almost_eighteen(&mut w);
    let meta = meta_at(agent(), "2018-06-16T08:00:00-05:00");
    let key = meta.idempotency_key.clone();
    let events = apply(&mut w, &meta, &Command::RecordAgeOut { person: e, on: date(2018, 6, 16) }).unwrap();
    assert_eq!(type_names(&events), ["AgedOut", "FindingRaised"]);
    let Event::AgedOut { on, family: fam, .. } = &events[0] else { unreachable!() };
    assert_eq!(*on, date(2018, 6, 15), "the day he turned 18, not the day it was noticed");
    assert_eq!(*fam, Some(family));
    let Event::FindingRaised { finding, kind, subjects, .. } = &events[1] else { unreachable!() };
    assert_eq!(kind, "aged-out-in-custody");
    assert_eq!(subjects, &vec![Subject::Person(e), Subject::Family(family)]);
    assert_eq!(*finding, FindingId(derived_id(&key, 0)));
    assert!(w.persons[&e].aged_out);

    let err = refused(&w, meta_at(agent(), "2018-06-17T08:00:00-05:00"), Command::RecordAgeOut { person: e, on: date(2018, 6, 17) });
    assert_eq!(err.rule, "already-aged-out");
}

#[test]
fn age_out_before_the_18th_birthday_is_refused() {
    let mut w = World::default();
    let (e, _) = almost_eighteen(&mut w);
    let err = refused(&w, meta(agent()), Command::RecordAgeOut { person: e, on: date(2018, 6, 14) });
    assert_eq!((err.rule, err.field), ("not-aged-out", Some("on")));
    // Someone already an adult at the encounter never aged out in custody.
    let grown = grown_son(&mut w);
    let err = refused(&w, meta(agent()), Command::RecordAgeOut { person: grown, on: date(2018, 6, 14) });
    assert_eq!(err.rule, "not-aged-out");
    // Without a birth date there is nothing to decide on.
    let undated = born(&mut w, "FRANCISCO", None);
    let err = refused(&w, meta(agent()), Command::RecordAgeOut { person: undated, on: date(2018, 6, 14) });
    assert_eq!(err.rule, "birth-date-unknown");

    ok(&mut w, meta(agent()), Command::RecordAgeOut { person: e, on: date(2018, 6, 15) });
}

// ===========================================================================
// Classification from the facts
// ===========================================================================

#[test]
fn classify_single_adult_and_family_unit_members() {
    let mut w = World::default();
    let lone = aunt(&mut w);
    let pl = perez_lopez(&mut w);
    let now = at(NEXT_DAY);
    assert_eq!(classify(&w, lone, &now), Some(Classification::SingleAdult));
    assert_eq!(classify(&w, pl.father, &now), Some(Classification::FamilyUnitMember));
    assert_eq!(classify(&w, pl.son, &now), Some(Classification::FamilyUnitMember));
}

#[test]
fn classify_child_whose_only_parent_is_separated_is_uac() {
    let mut w = World::default();
    let (f, s, d) = (father(&mut w), son(&mut w), daughter(&mut w));
    let family = form(&mut w, FamilyKind::Unit, &[(f, Role::Father), (s, Role::Son), (d, Role::Daughter)], f);
    let now = at(NEXT_DAY);
    assert_eq!(classify(&w, s, &now), Some(Classification::FamilyUnitMember));
    separate(&mut w, Sep::fmpp(family, &[f]));
    // The children are still together, but no parent is with them.
    assert_eq!(classify(&w, s, &now), Some(Classification::Uac));
    assert_eq!(classify(&w, d, &now), Some(Classification::Uac));
    // The separated father is, in law, a single adult now.
    assert_eq!(classify(&w, f, &now), Some(Classification::SingleAdult));
}

#[test]
fn classify_child_in_a_group_is_uac_and_the_adult_a_group_member() {
    let mut w = World::default();
    let (a, d) = (aunt(&mut w), daughter(&mut w));
    form(&mut w, FamilyKind::Group, &[(a, Role::Aunt), (d, Role::Child)], a);
    let now = at(NEXT_DAY);
    assert_eq!(classify(&w, d, &now), Some(Classification::Uac));
    assert_eq!(classify(&w, a, &now), Some(Classification::FamilyGroupMember));
}

#[test]
fn classify_without_birth_date_is_none() {
    let mut w = World::default();
    let undated = born(&mut w, "MIGUEL ANGEL", None);
    assert_eq!(classify(&w, undated, &at(NEXT_DAY)), None);
    assert_eq!(classify(&w, PersonId::new_v7(), &at(NEXT_DAY)), None);
}

// ===========================================================================
// Legal clocks
// ===========================================================================

fn clock<'a>(readings: &'a [ClockReading], name: &str) -> Option<&'a ClockReading> {
    readings.iter().find(|r| r.clock == name)
}

#[test]
fn clock_72h_runs_for_a_child_in_border_custody_until_transfer_to_orr() {
    let mut w = World::default();
    let s = son(&mut w); // booked into BP at the encounter
    let read = |w: &World, now| running(w, &PROFILE, &w.persons[&s], now);

    let early = read(&w, hours_after(ENCOUNTER, 1));
    let c = clock(&early, "child_border_custody").expect("72 h clock runs");
    assert_eq!(c.started, at(ENCOUNTER).timestamp());
    assert_eq!(c.due, hours_after(ENCOUNTER, 72));
    assert!(!c.overdue);
    assert_eq!(c.hours_left, 71);
    assert!(clock(&early, "adult_prosecution_referral").is_none());

    let late = read(&w, hours_after(ENCOUNTER, 73));
    let c = clock(&late, "child_border_custody").expect("still running");
    assert!(c.overdue);
    assert_eq!(c.hours_left, -1);

    ok(&mut w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "ORR".into(), to_facility: None });
    // Only an offer: still in BP custody, the clock runs on.
    assert!(clock(&read(&w, hours_after(ENCOUNTER, 20)), "child_border_custody").is_some());
    ok(&mut w, meta(orr()), Command::AcceptTransfer { person: s, facility: Some("Casa Padre".into()) });
    assert!(read(&w, hours_after(ENCOUNTER, 73)).is_empty());
}

#[test]
fn clock_72h_runs_for_a_child_with_no_birth_date_presumed_a_minor() {
    let mut w = World::default();
    let (m, d) = (mother(&mut w), daughter(&mut w));
    let undated = born(&mut w, "SANTOS", None);
    let stranger = born(&mut w, "MARVIN", None);
    form(&mut w, FamilyKind::Unit, &[(m, Role::Mother), (d, Role::Daughter), (undated, Role::Son)], m);
    let late = hours_after(ENCOUNTER, 73);
    let readings = running(&w, &PROFILE, &w.persons[&undated], late);
    let c = clock(&readings, "child_border_custody").expect("a son with no birth date is presumed a minor: the clock runs");
    assert!(c.overdue);
    assert!(c.label.contains("presumed a minor"), "the reader is told the age is not recorded: {}", c.label);
    let dated = running(&w, &PROFILE, &w.persons[&d], late);
    assert!(!clock(&dated, "child_border_custody").expect("the daughter's clock").label.contains("presumed"));
    // No birth date and nothing recorded that says child: no child's clock.
    assert!(clock(&running(&w, &PROFILE, &w.persons[&stranger], late), "child_border_custody").is_none());
    // A source that classified the person as an unaccompanied child says child too.
    let uac = PersonId::new_v7();
    let someone = Someone { given: "BRAYAN", family: "CHAVEZ OZUNA", birth: None, sex: Sex::M };
    let cmd = Command::RecordPerson {
        person: uac,
        identity: identity(&someone),
        record: SourceRef { source: "BP-E3".into(), record_id: format!("E3-{:06}", seq()) },
        encounter: encounter(),
        details: RecordDetails { classification: Some(Classification::Uac), ..RecordDetails::default() },
        custody: Some(("BP".into(), None)),
        family: None,
    };
    ok(&mut w, meta_at(agent(), ENCOUNTER), cmd);
    assert!(clock(&running(&w, &PROFILE, &w.persons[&uac], late), "child_border_custody").is_some());
}

#[test]
fn clock_72h_does_not_run_for_an_adult_in_border_custody() {
    let mut w = World::default();
    let m = mother(&mut w);
    assert!(running(&w, &PROFILE, &w.persons[&m], hours_after(ENCOUNTER, 80)).is_empty());
}

#[test]
fn clock_48h_runs_for_an_adult_separated_under_fmpp_until_referred() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let read = |w: &World, now| running(w, &PROFILE, &w.persons[&pl.father], now);
    assert!(read(&w, hours_after(NEXT_DAY, 1)).is_empty(), "no separation, no referral clock");

    separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));
    let readings = read(&w, hours_after(NEXT_DAY, 49));
    let c = clock(&readings, "adult_prosecution_referral").expect("48 h clock runs");
    assert_eq!(c.started, at(NEXT_DAY).timestamp());
    assert_eq!(c.due, hours_after(NEXT_DAY, 48));
    assert!(c.overdue);
    // A separation for a non-prosecution reason (the son, hospitalised)
    // starts no referral clock, nor does staying with the family.
    separate(&mut w, Sep::fmh(pl.family, &[pl.son]));
    assert!(running(&w, &PROFILE, &w.persons[&pl.mother], hours_after(NEXT_DAY, 1)).is_empty());
    assert!(clock(&running(&w, &PROFILE, &w.persons[&pl.son], hours_after(NEXT_DAY, 1)), "adult_prosecution_referral").is_none());

    ok(&mut w, meta(agent()), Command::ReferForProsecution { person: pl.father });
    assert!(read(&w, hours_after(NEXT_DAY, 49)).is_empty());
    let err = refused(&w, meta(agent()), Command::ReferForProsecution { person: pl.father });
    assert_eq!(err.rule, "already-referred");
}

// ===========================================================================
// Regressions found in review: each failed before its fix.
// ===========================================================================

#[test]
fn reunification_makes_the_original_family_active_again_for_the_person() {
    // Son hospitalised (separated from A), placed with his aunt (group B),
    // separated from B, then reunified into A: A is his active family again,
    // so he is a family-unit member and cannot be put in a third family.
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmh(pl.family, &[pl.son]));
    let a = aunt(&mut w);
    let group = form(&mut w, FamilyKind::Group, &[(a, Role::Aunt), (pl.son, Role::Child)], a);
    separate(&mut w, Sep::fmh(group, &[pl.son]));
    ok(&mut w, meta(agent()), reunify(pl.family, &[pl.son]));
    assert_eq!(w.active_family(pl.son), Some(pl.family));
    assert_eq!(classify(&w, pl.son, &at(NEXT_DAY)), Some(Classification::FamilyUnitMember));
    let g = grown_son(&mut w);
    let err =
        refused(&w, meta(agent()), form_cmd(FamilyId::new_v7(), FamilyKind::Group, &[(g, Role::Sibling), (pl.son, Role::Sibling)], g));
    assert_eq!(err.rule, "one-active-family");
}

#[test]
fn correcting_the_first_record_keeps_facts_from_the_other_records() {
    let mut w = World::default();
    let s = son(&mut w);
    let ice_record = SourceRef { source: "ICE".into(), record_id: "EARM-1".into() };
    let with_a_number = Identity { a_number: ANumber::parse("212555014").ok(), ..w.persons[&s].identity.clone() };
    ok(
        &mut w,
        meta(ice()),
        Command::AttachRecord {
            person: s,
            identity: with_a_number,
            record: ice_record,
            encounter: encounter(),
            details: RecordDetails::default(),
            custody: None,
        },
    );
    assert!(w.persons[&s].identity.a_number.is_some());
    let first = w.persons[&s].records[0].clone();
    let fixed = Identity { birth: Some(BirthDate { date: date(2011, 9, 3), estimated: false }), ..first.identity.clone() };
    ok(
        &mut w,
        meta(supervisor("sup.castillo")),
        Command::CorrectRecord {
            person: s,
            record: first.record,
            identity: fixed,
            encounter: encounter(),
            details: RecordDetails::default(),
            reason: "birth certificate".into(),
        },
    );
    let now = &w.persons[&s].identity;
    assert_eq!(now.birth.map(|b| b.date), Some(date(2011, 9, 3)), "the correction applies");
    assert_eq!(now.a_number.as_ref().map(ANumber::as_str), Some("212555014"), "the ICE record's A-number is kept");
}

#[test]
fn the_72h_clock_runs_across_a_transfer_between_border_agencies() {
    let mut w = World::default();
    let s = son(&mut w); // BP since the encounter
    ok(&mut w, meta(agent()), Command::OfferTransfer { person: s, to_agency: "OFO".into(), to_facility: None });
    ok(&mut w, meta(actor("cbpo.lee", "OFO", "ofo_officer")), Command::AcceptTransfer { person: s, facility: None });
    let readings = running(&w, &PROFILE, &w.persons[&s], hours_after(ENCOUNTER, 73));
    let c = clock(&readings, "child_border_custody").expect("still in border custody");
    assert_eq!(c.started, at(ENCOUNTER).timestamp(), "the clock started at the first border book-in");
    assert!(c.overdue);
}

#[test]
fn an_approved_separation_is_not_reopened_by_a_correction() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let sep = separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));
    ok(&mut w, meta(supervisor("sup.one")), review(pl.family, sep, 1, ReviewDecision::Approve, None));
    let correct = Command::CorrectSeparation {
        family: pl.family,
        separation: sep,
        reason_code: "FMPC".into(),
        policy: None,
        narrative: "criminal history".into(),
        reason: "changed my mind".into(),
    };
    assert_eq!(refused(&w, meta(agent()), correct).rule, "separation-under-review");
}

#[test]
fn the_referral_clock_stops_when_the_adult_is_reunified() {
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));
    let read = |w: &World| running(w, &PROFILE, &w.persons[&pl.father], hours_after(NEXT_DAY, 10));
    assert!(clock(&read(&w), "adult_prosecution_referral").is_some());
    ok(&mut w, meta(agent()), reunify(pl.family, &[pl.father]));
    assert!(clock(&read(&w), "adult_prosecution_referral").is_none());
}

#[test]
fn review_permissions_come_from_the_profile() {
    // A profile that gives level-1 review to a different permission: the
    // supervisor (who lacks it) may no longer review, the HQ analyst may.
    let text = kinship_domain::profile::DEFAULT_PROFILE.replace("level1 = \"separation.review.1\"", "level1 = \"finding.resolve\"");
    let profile = Profile::parse(&text, "test").unwrap();
    let mut w = World::default();
    let pl = perez_lopez(&mut w);
    let sep = separate(&mut w, Sep::fmpp(pl.family, &[pl.father]));
    let cmd = review(pl.family, sep, 1, ReviewDecision::Approve, None);
    let err = decide(&w, &profile, &meta(actor("officer.cho", "ICE", "ice_officer")), &cmd).unwrap_err();
    assert_eq!(err.rule, "not-permitted");
    assert!(decide(&w, &profile, &meta(analyst()), &cmd).is_ok());
}

#[test]
fn acting_on_another_agencys_custody_is_a_profile_permission() {
    let mut w = World::default();
    let s = son(&mut w); // in BP custody
    let release = Command::Release { person: s, us_address: Some("12 Elm St, Houston TX".into()), conditions: None };
    // The default admin (may "*") acts for any agency.
    assert!(decide(&w, &PROFILE, &meta(admin()), &release).is_ok());
    // Without custody.any_agency, the same role acting for HQ is refused.
    let text = kinship_domain::profile::DEFAULT_PROFILE.replace(
        "[roles.admin]\nlabel = \"Administrator\"\nagency = \"*\"\nmay = [\"*\"]",
        "[roles.admin]\nlabel = \"Administrator\"\nagency = \"*\"\nmay = [\"custody.release\"]",
    );
    assert_ne!(text, kinship_domain::profile::DEFAULT_PROFILE, "the test edits the admin role");
    let profile = Profile::parse(&text, "test").unwrap();
    assert_eq!(decide(&w, &profile, &meta(admin()), &release).unwrap_err().rule, "custody-agency-only");
}

/// An imported record that names a family: one command forms the family (the
/// first time), records the person booked in and joined, and adds the member
/// with the lead, in three events; state is as the separate commands left it.
#[test]
fn a_new_persons_record_forms_and_joins_its_family_in_one_command() {
    use kinship_domain::command::{FamilyClaim, SourceFamily};
    let mut w = World::default();
    let family = FamilyId::new_v7();
    let source_family = SourceRef { source: "BP-E3".into(), record_id: "FMUA000777".into() };
    let claim = |role, form| Some(FamilyClaim { family, role, form });
    let recorded = |person, who: Someone, rid: &str, family| Command::RecordPerson {
        person,
        identity: identity(&who),
        record: SourceRef { source: "BP-E3".into(), record_id: rid.into() },
        encounter: encounter(),
        details: RecordDetails::default(),
        custody: Some(("BP".to_string(), Some("McAllen Station".to_string()))),
        family,
    };
    let son = PersonId::new_v7();
    let form = SourceFamily { kind: FamilyKind::Unit, formed_at: at(ENCOUNTER), source_family: source_family.clone() };
    let who = Someone { given: "CARLOS", family: "PEREZ", birth: Some(date(2011, 9, 2)), sex: Sex::M };
    let events = ok(&mut w, meta(importer()), recorded(son, who, "E3-777-1", claim(Role::Son, Some(form.clone()))));
    assert_eq!(type_names(&events), ["FamilyFormed", "PersonRecorded", "MemberAdded"]);
    let f = &w.families[&family];
    assert_eq!((f.kind, f.lead, f.members.len()), (FamilyKind::Unit, Some(son), 1));
    let p = &w.persons[&son];
    assert_eq!(p.family, Some(family));
    assert!(matches!(&p.custody, Some(Custody::InCustody { agency, .. }) if agency == "BP"));

    // A parent joining later takes the lead from the child; no new family.
    let father = PersonId::new_v7();
    let who = Someone { given: "JOSE", family: "PEREZ", birth: Some(date(1984, 11, 3)), sex: Sex::M };
    let events = ok(&mut w, meta(importer()), recorded(father, who, "E3-777-2", claim(Role::Father, None)));
    assert_eq!(type_names(&events), ["PersonRecorded", "MemberAdded"]);
    assert_eq!(w.families[&family].lead, Some(father));
    assert_eq!(w.active_family(father), Some(family));

    // Forming a family that exists is refused, as RecordSourceFamily is.
    let who = Someone { given: "ANA", family: "PEREZ", birth: None, sex: Sex::F };
    let err = refused(&w, meta(importer()), recorded(PersonId::new_v7(), who, "E3-777-3", claim(Role::Daughter, Some(form))));
    assert_eq!(err.rule, "family-exists");
    // And a family that does not exist cannot be joined.
    let who = Someone { given: "LUZ", family: "PEREZ", birth: None, sex: Sex::F };
    let other = Some(FamilyClaim { family: FamilyId::new_v7(), role: Role::Daughter, form: None });
    let err = refused(&w, meta(importer()), recorded(PersonId::new_v7(), who, "E3-777-4", other));
    assert_eq!(err.rule, "family-not-found");
}

// ===========================================================================
// The linkage worklist (proposals, confirm, reject, identity links)
// ===========================================================================

#[path = "rules/links.rs"]
mod links;
