//! Property tests over random command sequences: the invariants hold after
//! any sequence, replay is deterministic, and rebuild equals live.

use crate::{actor, env};
use kinship_domain::command::{Command, NewMember};
use kinship_domain::event::{EncounterRef, RecordDetails};
use kinship_domain::family::{Establishment, FamilyKind, ReviewDecision, Role};
use kinship_domain::name::PersonName;
use kinship_domain::person::{BirthDate, Identity, SourceRef};
use kinship_domain::state::{Custody, World};
use kinship_domain::time::Instant;
use kinship_domain::{CommandMeta, FamilyId, PersonId, SeparationId, evolve};
use kinship_store::Store;
use proptest::prelude::*;

const PERSONS: usize = 6;

#[derive(Clone, Debug)]
enum Step {
    Form { kind: bool, members: Vec<(usize, usize)>, lead: usize },
    Add { family: usize, person: usize, role: usize },
    Separate { family: usize, person: usize, code: usize },
    Review { family: usize, level: u8, approve: bool, reviewer: usize },
    Reunify { family: usize, person: usize },
    Lead { family: usize, person: usize },
    Withdraw { family: usize, person: usize },
    Offer { person: usize, to: usize },
    Accept { person: usize },
    Reject { person: usize },
    Release { person: usize, address: bool },
    BookIn { person: usize },
}

fn step() -> impl Strategy<Value = Step> {
    let p = 0..PERSONS;
    // Families that are mostly plausible (an adult parent with children),
    // so that separations, reviews and reunifications get exercised; plus
    // arbitrary ones, which the core must refuse or accept correctly.
    let plausible =
        (0..2usize, 0..2usize, proptest::collection::vec(2..PERSONS, 1..3), any::<bool>()).prop_map(|(adult, parent_role, kids, unit)| {
            let mut members = vec![(adult, parent_role)]; // MOTHER or FATHER
            members.extend(kids.into_iter().map(|k| (k, 3 + k % 3))); // SON, DAUGHTER, CHILD
            Step::Form { kind: unit, members, lead: adult }
        });
    let arbitrary = (any::<bool>(), proptest::collection::vec((0..PERSONS, 0..13usize), 1..4), 0..PERSONS)
        .prop_map(|(kind, members, lead)| Step::Form { kind, members, lead });
    prop_oneof![
        4 => plausible,
        1 => arbitrary,
        2 => (0..4usize, p.clone(), 0..13usize).prop_map(|(family, person, role)| Step::Add { family, person, role }),
        4 => (0..4usize, p.clone(), 0..12usize).prop_map(|(family, person, code)| Step::Separate { family, person, code }),
        4 => (0..4usize, 1..3u8, proptest::bool::weighted(0.8), 0..3usize).prop_map(|(family, level, approve, reviewer)| Step::Review { family, level, approve, reviewer }),
        3 => (0..4usize, p.clone()).prop_map(|(family, person)| Step::Reunify { family, person }),
        1 => (0..4usize, p.clone()).prop_map(|(family, person)| Step::Lead { family, person }),
        1 => (0..4usize, p.clone()).prop_map(|(family, person)| Step::Withdraw { family, person }),
        1 => (p.clone(), 0..3usize).prop_map(|(person, to)| Step::Offer { person, to }),
        1 => p.clone().prop_map(|person| Step::Accept { person }),
        1 => p.clone().prop_map(|person| Step::Reject { person }),
        1 => (p.clone(), any::<bool>()).prop_map(|(person, address)| Step::Release { person, address }),
        1 => p.prop_map(|person| Step::BookIn { person }),
    ]
}

const CODES: &[&str] = &["ERR", "FCCO", "FCNR", "FCNFRP", "FMEW", "FMGA", "FMH", "FMPC", "FMPO", "FMPIV", "FMT", "FMPP"];
const AGENCIES: &[&str] = &["ICE", "ORR", "BP"];
const BIRTHS: [(i16, i8, i8); PERSONS] = [(1980, 1, 1), (1992, 6, 6), (2008, 3, 3), (2012, 9, 9), (2001, 5, 5), (2015, 2, 2)];

fn at() -> Instant {
    Instant::parse("2018-05-08T10:00:00-05:00", None).unwrap()
}

fn record_person(i: usize, id: PersonId) -> Command {
    let (y, m, d) = BIRTHS[i];
    Command::RecordPerson {
        person: id,
        identity: Identity {
            name: PersonName::parse(["ANA", "JUAN", "LUIS", "ROSA", "KARLA", "OSCAR"][i], "PEREZ LOPEZ").unwrap(),
            birth: Some(BirthDate { date: jiff::civil::date(y, m, d), estimated: false }),
            sex: None,
            citizenship: None,
            a_number: None,
        },
        record: SourceRef { source: "BP".into(), record_id: format!("R{i}") },
        encounter: EncounterRef { key: "BP:EV1".into(), at: at(), sector: None, station: Some("MCS".into()) },
        details: RecordDetails::default(),
        custody: Some(("BP".into(), Some("MCS".into()))),
        family: None,
    }
}

/// Turns a step into a command against the current world (picking existing
/// separations etc.), and the actor who issues it.
fn command(step: &Step, persons: &[PersonId], families: &[FamilyId], world: &World) -> (Command, kinship_domain::Actor) {
    let agent = actor("agent.a", "BP", "bp_agent");
    let fam = |i: usize| families.get(i % families.len().max(1)).copied().unwrap_or_else(FamilyId::new_v7);
    match step {
        Step::Form { kind, members, lead } => {
            let id = FamilyId::new_v7();
            let members: Vec<NewMember> = members
                .iter()
                .map(|(p, r)| NewMember { person: persons[*p], role: Role::ALL[*r], established: Establishment::Claimed })
                .collect();
            let kind = if *kind { FamilyKind::Unit } else { FamilyKind::Group };
            (Command::FormFamily { family: id, kind, formed_at: at(), members, lead: persons[*lead] }, agent)
        }
        Step::Add { family, person, role } => (
            Command::AddMember {
                family: fam(*family),
                member: NewMember { person: persons[*person], role: Role::ALL[*role], established: Establishment::Documented },
                source_claim: false,
            },
            agent,
        ),
        Step::Separate { family, person, code } => (
            Command::RecordSeparation {
                family: fam(*family),
                separation: SeparationId::new_v7(),
                members: vec![persons[*person]],
                reason_code: CODES[*code].into(),
                policy: (CODES[*code] == "FMPP").then(|| "Zero Tolerance".into()),
                narrative: "n".into(),
                approved_by: "PAIC".into(),
            },
            agent,
        ),
        Step::Review { family, level, approve, reviewer } => {
            let f = fam(*family);
            let sep = world.families.get(&f).and_then(|s| s.separations.last()).map(|s| s.id).unwrap_or_else(SeparationId::new_v7);
            (
                Command::ReviewSeparation {
                    family: f,
                    separation: sep,
                    level: *level,
                    decision: if *approve { ReviewDecision::Approve } else { ReviewDecision::Return },
                    note: Some("check".into()),
                },
                actor(["sup.1", "sup.2", "agent.a"][*reviewer], "BP", "bp_supervisor"),
            )
        }
        Step::Reunify { family, person } => {
            (Command::Reunify { family: fam(*family), members: vec![persons[*person]], location: "X".into() }, agent)
        }
        Step::Lead { family, person } => (Command::DesignateLead { family: fam(*family), person: persons[*person] }, agent),
        Step::Withdraw { family, person } => {
            (Command::WithdrawMembership { family: fam(*family), person: persons[*person], reason: "recorded in error".into() }, agent)
        }
        Step::Offer { person, to } => (
            Command::OfferTransfer { person: persons[*person], to_agency: AGENCIES[*to].into(), to_facility: None },
            actor("admin", "HQ", "admin"),
        ),
        Step::Accept { person } => (Command::AcceptTransfer { person: persons[*person], facility: None }, actor("admin", "HQ", "admin")),
        Step::Reject { person } => {
            (Command::RejectTransfer { person: persons[*person], reason: "no beds".into() }, actor("admin", "HQ", "admin"))
        }
        Step::Release { person, address } => (
            Command::Release { person: persons[*person], us_address: address.then(|| "1 Main St, Houston TX".into()), conditions: None },
            actor("admin", "HQ", "admin"),
        ),
        Step::BookIn { person } => (Command::BookIn { person: persons[*person], agency: "BP".into(), facility: None }, agent),
    }
}

fn check_invariants(world: &World) -> Result<(), TestCaseError> {
    for p in world.persons.values() {
        // A person is in at most one active family at a time.
        let active = world.families.values().filter(|f| f.member(p.id).is_some_and(|m| m.status.is_with_family())).count();
        prop_assert!(active <= 1, "person {} is active in {active} families", p.id);
        // A pending transfer exists only while someone holds the person.
        if p.pending_transfer.is_some() {
            let held = matches!(p.custody, Some(Custody::InCustody { .. }));
            prop_assert!(held, "pending transfer without custody");
        }
    }
    for f in world.families.values() {
        // Nothing is deleted: every separation's members are still members.
        for s in &f.separations {
            prop_assert!(s.members.iter().all(|m| f.member(*m).is_some()));
            prop_assert!(CODES.contains(&s.reason_code.as_str()));
        }
        // The lead is a member.
        if let Some(l) = f.lead {
            prop_assert!(f.member(l).is_some());
        }
        // A UNIT formed by command has an adult parent and a minor child.
        if f.kind == FamilyKind::Unit && f.source_family.is_none() {
            let on = f.formed_at.local_date();
            let age = |p: PersonId| world.persons.get(&p).and_then(|s| s.identity.birth).map(|b| b.age_on(on));
            prop_assert!(f.members.iter().any(|m| m.role.is_parent_or_guardian() && age(m.person).is_some_and(|a| a >= 18)));
            prop_assert!(f.members.iter().any(|m| m.role.is_child() && age(m.person).is_some_and(|a| a < 18)));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_the_invariants(steps in proptest::collection::vec(step(), 1..50)) {
        let env = env();
        let importer = actor("import", "BP", "importer");
        let persons: Vec<PersonId> = (0..PERSONS).map(|_| PersonId::new_v7()).collect();
        let mut n = 0u64;
        let mut next_meta = |a: &kinship_domain::Actor| {
            n += 1;
            CommandMeta { actor: a.clone(), idempotency_key: format!("k{n}"), at: at() }
        };
        for (i, p) in persons.iter().enumerate() {
            env.engine.execute(&next_meta(&importer), &record_person(i, *p)).unwrap();
        }
        // The world as the commands built it, folded from the decisions alone.
        let mut families = vec![];
        for s in &steps {
            let world = env.engine.replay_all().unwrap();
            let (cmd, who) = command(s, &persons, &families, &world);
            match env.engine.execute(&next_meta(&who), &cmd) {
                Ok(_) => {
                    if let Command::FormFamily { family, .. } = cmd {
                        families.push(family); // only families that exist are used later
                    }
                }
                Err(kinship_app::AppError::Domain(_)) => {} // refused: fine, nothing written
                Err(e) => return Err(TestCaseError::fail(format!("store error: {e}"))),
            }
        }
        let world = env.engine.replay_all().unwrap();
        check_invariants(&world)?;

        // Replay is deterministic: folding the log again gives the same world.
        let mut again = World::default();
        for e in env.engine.store.read_from(0, usize::MAX >> 1).unwrap() {
            evolve(&mut again, e.id, &e.event().unwrap());
        }
        prop_assert_eq!(&again, &world);

        // Projections agree with the domain's state on custody and families.
        for p in world.persons.values() {
            let v = env.engine.store.person(p.id).unwrap().unwrap();
            let expected = match &p.custody {
                Some(Custody::InCustody { agency, .. }) => ("in_custody", Some(agency.clone())),
                Some(Custody::Released { .. }) => ("released", None),
                Some(Custody::Removed { .. }) => ("removed", None),
                None => ("none", None),
            };
            prop_assert_eq!((v.custody.status.as_str(), v.custody.agency.clone()), expected);
            let status = p.family.and_then(|f| world.families.get(&f)).and_then(|f| f.member(p.id)).map(|m| m.status.as_str().to_string());
            prop_assert_eq!(v.family.map(|m| m.status), status);
        }

        // Rebuild equals live, and the chain verifies.
        let live = env.engine.store.projection_dump().unwrap();
        env.engine.store.rebuild(&mut |_| {}).unwrap();
        prop_assert_eq!(live, env.engine.store.projection_dump().unwrap());
        let intact = kinship_store::verify::verify(&env.engine.store, &mut |_| {}).unwrap().first_bad.is_none();
        prop_assert!(intact, "chain broken");
    }
}
