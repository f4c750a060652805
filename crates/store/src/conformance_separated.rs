//! The conformance story of the separated-children list: which children are
//! apart from a parent, and by which separation, as separations are recorded,
//! members reunified and members added; live and rebuilt alike.

use crate::conformance::{Factory, append, at, err, recorded};
use crate::{Store, StoreError};
use kinship_domain::family::{Establishment, FamilyKind, Role};
use kinship_domain::{Event, FamilyId, PersonId, SeparationId, StreamId};
use std::collections::HashMap;

type Check = Result<(), String>;

/// Appends one event at a time, declaring its stream at its current version.
struct Log<'s> {
    store: &'s dyn Store,
    versions: HashMap<StreamId, u64>,
    n: usize,
}

impl Log<'_> {
    fn add(&mut self, e: Event) -> Check {
        let stream = e.stream();
        let v = self.versions.get(&stream).copied().unwrap_or(0);
        self.n += 1;
        err(self.store.append(&[append(&format!("sep{}", self.n), vec![(stream.clone(), v)], vec![e])]))?;
        self.versions.insert(stream, v + 1);
        Ok(())
    }
}

/// (child, separation, parents as (person, status)) for each listed child.
type Listed = Vec<(PersonId, String, Vec<(PersonId, String)>)>;

fn listed(store: &dyn Store) -> Result<Listed, String> {
    // Everyone in this story was born in 1990: a child on this day.
    let today = jiff::civil::date(2000, 6, 1);
    let rows = store.separated_children(today).map_err(|e: StoreError| e.to_string())?;
    Ok(rows.into_iter().map(|r| (r.child.id, r.separation, r.parents.into_iter().map(|p| (p.person.id, p.status)).collect())).collect())
}

fn separation(family: FamilyId, id: SeparationId, members: Vec<PersonId>, when: &str) -> Result<Event, String> {
    Ok(Event::SeparationRecorded {
        family,
        separation: id,
        members,
        reason_code: "FMPO".into(),
        policy: None,
        narrative: "conformance".into(),
        approved_by: "sup".into(),
        recorded_by: "agent".into(),
        at: at(when)?,
    })
}

fn reunified(family: FamilyId, members: Vec<PersonId>) -> Result<Event, String> {
    Ok(Event::MembersReunified { family, members, location: "McAllen".into(), by: "agent".into(), at: at("2018-07-01T10:00:00-05:00")? })
}

fn member(family: FamilyId, person: PersonId, role: Role) -> Event {
    Event::MemberAdded { family, person, role, established: Establishment::Claimed, by: "agent".into(), lead: false }
}

fn sorted(mut ps: Vec<(PersonId, String)>) -> Vec<(PersonId, String)> {
    ps.sort();
    ps
}

/// What [`a_family_apart`] leaves: the log writer, the family, the father
/// still apart from his children, the son and the separation that parted them.
struct Apart<'s> {
    log: Log<'s>,
    family: FamilyId,
    mother: PersonId,
    father: PersonId,
    son: PersonId,
    first: SeparationId,
}

/// Records a family whose parents are separated one after the other, the
/// mother reunified and a daughter added, checking the list at each step.
/// Leaves two children listed (public: backends test their upgrades with it).
pub fn a_family_apart(store: &dyn Store) -> Check {
    family_apart(store).map(|_| ())
}

fn family_apart(store: &dyn Store) -> Result<Apart<'_>, String> {
    let mut log = Log { store, versions: HashMap::new(), n: 0 };
    let [mother, father, son, daughter] = [(); 4].map(|_| PersonId::new_v7());
    for (i, (p, given)) in [(mother, "ANA"), (father, "JUAN"), (son, "LUIS"), (daughter, "SOFIA")].into_iter().enumerate() {
        log.add(recorded(p, given, "LOPEZ", None, &format!("SEP{i}"))?)?;
    }
    let family = FamilyId::new_v7();
    log.add(Event::FamilyFormed {
        family,
        kind: FamilyKind::Unit,
        formed_at: at("2018-05-07T14:32:00-06:00")?,
        source_family: None,
        by: "agent".into(),
    })?;
    log.add(member(family, mother, Role::Mother))?;
    log.add(member(family, father, Role::Father))?;
    log.add(member(family, son, Role::Son))?;
    ensure_eq(listed(store)?, vec![], "nobody separated yet")?;

    let (first, second) = (SeparationId::new_v7(), SeparationId::new_v7());
    log.add(separation(family, first, vec![father], "2018-05-08T09:00:00-05:00")?)?;
    let parents = |m: &str, f: &str| sorted(vec![(mother, m.to_string()), (father, f.to_string())]);
    ensure_eq(listed(store)?, vec![(son, first.to_string(), parents("active", "separated"))], "the father taken")?;
    // A later separation of the mother is now the one that parted the son from a parent.
    log.add(separation(family, second, vec![mother], "2018-05-09T09:00:00-05:00")?)?;
    ensure_eq(listed(store)?, vec![(son, second.to_string(), parents("separated", "separated"))], "both parents taken")?;
    // The mother back: the son is still apart from his father, by the first separation.
    log.add(reunified(family, vec![mother])?)?;
    ensure_eq(listed(store)?, vec![(son, first.to_string(), parents("reunified", "separated"))], "the mother reunified")?;
    // A daughter recorded in the family afterwards is apart from her father too.
    log.add(member(family, daughter, Role::Daughter))?;
    let mut want =
        vec![(son, first.to_string(), parents("reunified", "separated")), (daughter, first.to_string(), parents("reunified", "separated"))];
    want.sort_by_key(|w| w.0);
    ensure_eq(listed(store)?, want, "a daughter added")?;
    Ok(Apart { log, family, mother, father, son, first })
}

pub fn separated_children_follow_the_log(make: Factory<'_>) -> Check {
    let store = make();
    let Apart { mut log, family, mother, father, son, first } = family_apart(&*store)?;
    // The list shows where the child and the parents are now, and the review.
    log.add(Event::BookedIn {
        person: son,
        agency: "ORR".into(),
        facility: Some("Casa Padre".into()),
        at: at("2018-05-10T10:00:00-05:00")?,
    })?;
    log.add(Event::Released {
        person: father,
        at: at("2018-05-11T10:00:00-05:00")?,
        us_address: None,
        conditions: None,
        by: "agent".into(),
    })?;
    log.add(Event::SeparationReviewed {
        family,
        separation: first,
        level: 1,
        decision: kinship_domain::family::ReviewDecision::Approve,
        note: None,
        by: "sup".into(),
        at: at("2018-05-12T10:00:00-05:00")?,
    })?;
    let rows = err(store.separated_children(jiff::civil::date(2000, 6, 1)))?;
    let son_row = rows.iter().find(|r| r.child.id == son).ok_or("the son is no longer listed")?;
    let custody = &son_row.child.custody;
    if custody.status != "in_custody" || custody.agency.as_deref() != Some("ORR") || son_row.review != "awaiting_level_2" {
        return Err(format!("the son's row is stale: {son_row:?}"));
    }
    let dad = son_row.parents.iter().find(|p| p.person.id == father).ok_or("the father is not listed")?;
    if dad.person.custody.status != "released" {
        return Err(format!("the father's brief is stale: {dad:?}"));
    }
    // A role corrected: the list names the parent by the corrected role.
    log.add(Event::MembershipCorrected {
        family,
        person: father,
        corrects: uuid::Uuid::nil(),
        role: Role::LegalGuardian,
        previous: Role::Father,
        reason: "custody order".into(),
        by: "sup".into(),
    })?;
    let rows = err(store.separated_children(jiff::civil::date(2000, 6, 1)))?;
    let son_row = rows.iter().find(|r| r.child.id == son).ok_or("the son is no longer listed")?;
    let dad = son_row.parents.iter().find(|p| p.person.id == father).ok_or("the guardian is not listed")?;
    if dad.role != "LEGAL_GUARDIAN" {
        return Err(format!("the corrected role is not shown: {dad:?}"));
    }
    // A membership withdrawn (recorded in error): the mother is no longer one
    // of the son's parents on the list; added again, she is.
    let parents_of_son = |store: &dyn Store| -> Result<Vec<(PersonId, String)>, String> {
        let rows = listed(store)?;
        let row = rows.into_iter().find(|r| r.0 == son).ok_or("the son is no longer listed")?;
        Ok(sorted(row.2))
    };
    log.add(Event::MembershipWithdrawn {
        family,
        person: mother,
        corrects: uuid::Uuid::nil(),
        role: Role::Mother,
        reason: "wrong family number".into(),
        by: "sup".into(),
    })?;
    log.add(Event::LeftFamily { person: mother, family })?;
    ensure_eq(
        vec![(son, String::new(), parents_of_son(&*store)?)],
        vec![(son, String::new(), vec![(father, "separated".into())])],
        "the mother withdrawn",
    )?;
    let mid = err(store.projection_dump())?;
    err(store.rebuild(&mut |_| {}))?;
    if mid != err(store.projection_dump())? {
        return Err("after a withdrawal, rebuild differs from live".into());
    }
    log.add(member(family, mother, Role::Mother))?;
    ensure_eq(
        vec![(son, String::new(), parents_of_son(&*store)?)],
        vec![(son, String::new(), sorted(vec![(mother, "active".into()), (father, "separated".into())]))],
        "the mother added again",
    )?;
    let live = err(store.projection_dump())?;
    err(store.rebuild(&mut |_| {}))?;
    let rebuilt = err(store.projection_dump())?;
    if live != rebuilt {
        return Err(format!("rebuild differs from live:\n{live}\n---\n{rebuilt}"));
    }
    log.add(reunified(family, vec![father])?)?;
    ensure_eq(listed(&*store)?, vec![], "everyone reunified")?;
    Ok(())
}

fn ensure_eq(got: Listed, want: Listed, when: &str) -> Check {
    if got != want {
        return Err(format!("{when}: listed {got:?}, expected {want:?}"));
    }
    Ok(())
}
