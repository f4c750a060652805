//! The conformance suite: one story every backend must tell the same way.
//! Each backend's tests call [`run_all`] with a factory for a fresh, empty
//! store. Failures are returned, not panicked, so the caller reports them all.

use crate::{Append, Appended, SearchQuery, Store, StoreError, verify};
use kinship_domain::event::{EncounterRef, RecordDetails};
use kinship_domain::name::PersonName;
use kinship_domain::person::{BirthDate, Identity, SourceRef};
use kinship_domain::time::Instant;
use kinship_domain::{ANumber, Event, PersonId, StreamId};
use std::sync::Arc;
use uuid::Uuid;

pub type Factory<'a> = &'a dyn Fn() -> Arc<dyn Store>;
type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

pub(crate) fn at(text: &str) -> Result<Instant, String> {
    Instant::parse(text, None).map_err(|e| e.to_string())
}

pub(crate) fn recorded(person: PersonId, given: &str, family: &str, a: Option<&str>, record: &str) -> Result<Event, String> {
    Ok(Event::PersonRecorded {
        person,
        identity: Identity {
            name: PersonName::parse(given, family).map_err(|e| e.to_string())?,
            birth: Some(BirthDate { date: jiff::civil::date(1990, 3, 4), estimated: false }),
            sex: None,
            citizenship: None,
            a_number: a.map(ANumber::parse).transpose().map_err(|e| e.to_string())?,
        },
        record: SourceRef { source: "BP".into(), record_id: record.into() },
        encounter: EncounterRef {
            key: format!("BP:EV-{record}"),
            at: at("2018-05-07T14:32:00-06:00")?,
            sector: Some("RGV".into()),
            station: None,
        },
        details: RecordDetails::default(),
        custody: None,
        family: None,
    })
}

fn booked(person: PersonId) -> Result<Event, String> {
    Ok(Event::BookedIn { person, agency: "BP".into(), facility: Some("MCS".into()), at: at("2018-05-07T15:00:00-06:00")? })
}

pub(crate) fn append(key: &str, expected: Vec<(StreamId, u64)>, events: Vec<Event>) -> Append {
    Append {
        key: key.into(),
        command_hash: format!("hash-of-{key}"),
        meta_json: format!("{{\"key\":\"{key}\"}}"),
        expected,
        events: events.into_iter().map(|e| (Uuid::now_v7(), e)).collect(),
    }
}

fn s(p: PersonId) -> StreamId {
    StreamId::Person(p)
}

pub(crate) fn err<T>(r: Result<T, StoreError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// Positions come in commit order from 1; versions count per stream.
pub fn positions_and_versions(make: Factory<'_>) -> Check {
    let store = make();
    let (a, b) = (PersonId::new_v7(), PersonId::new_v7());
    let r = err(store.append(&[append("k1", vec![(s(a), 0)], vec![recorded(a, "ANA", "LOPEZ", None, "R1")?, booked(a)?])]))?;
    ensure!(r == vec![Appended::Committed { first: 1, last: 2 }], "first append: {r:?}");
    let r = err(store.append(&[append("k2", vec![(s(b), 0)], vec![recorded(b, "JUAN", "PEREZ", None, "R2")?])]))?;
    ensure!(r == vec![Appended::Committed { first: 3, last: 3 }], "second append: {r:?}");
    ensure!(err(store.stream_version(&s(a)))? == 2, "version of a");
    ensure!(err(store.stream_version(&s(b)))? == 1, "version of b");
    let all = err(store.read_from(0, 100))?;
    ensure!(all.iter().map(|e| e.position).collect::<Vec<_>>() == vec![1, 2, 3], "positions");
    let sa = err(store.read_stream(&s(a)))?;
    ensure!(sa.iter().map(|e| e.version).collect::<Vec<_>>() == vec![1, 2], "versions of a");
    ensure!(sa.first().map(|e| e.event_type.as_str()) == Some("PersonRecorded"), "type");
    ensure!(err(store.head())?.position == 3, "head");
    Ok(())
}

/// Two commands decided on the same version: exactly one commits; the loser
/// writes nothing at all.
pub fn optimistic_concurrency(make: Factory<'_>) -> Check {
    let store = make();
    let a = PersonId::new_v7();
    err(store.append(&[append("k1", vec![(s(a), 0)], vec![recorded(a, "ANA", "LOPEZ", None, "R1")?])]))?;
    err(store.append(&[append("k2", vec![(s(a), 1)], vec![booked(a)?])]))?;
    let head = err(store.head())?;
    match store.append(&[append("k3", vec![(s(a), 1)], vec![booked(a)?])]) {
        Err(StoreError::Conflict { expected: 1, actual: 2, .. }) => {}
        other => return Err(format!("stale version must conflict, got {other:?}")),
    }
    ensure!(err(store.head())? == head, "a conflicting append must not move the head");
    ensure!(err(store.recall("k3"))?.is_none(), "a conflicting append must not record its key");
    Ok(())
}

/// A command that expects a stream to be empty (a new person) conflicts if
/// the stream has events, whether it writes that stream or only reads it,
/// alone or in a batch of new streams; the batch writes nothing.
pub fn new_stream_taken_conflicts(make: Factory<'_>) -> Check {
    let store = make();
    let (a, b, c) = (PersonId::new_v7(), PersonId::new_v7(), PersonId::new_v7());
    err(store.append(&[append("k1", vec![(s(a), 0)], vec![recorded(a, "ANA", "LOPEZ", None, "R1")?])]))?;
    let head = err(store.head())?;
    let fresh = append("k2", vec![(s(b), 0)], vec![recorded(b, "JUAN", "PEREZ", None, "R2")?]);
    let again = append("k3", vec![(s(a), 0)], vec![recorded(a, "ANA", "LOPEZ", None, "R3")?]);
    match store.append(&[fresh.clone(), again]) {
        Err(StoreError::Conflict { expected: 0, actual: 1, .. }) => {}
        other => return Err(format!("a written stream expected empty must conflict, got {other:?}")),
    }
    // Only read (stated at 0, written by nobody): the same.
    let reads = append("k4", vec![(s(c), 0), (s(a), 0)], vec![recorded(c, "LUZ", "DIAZ", None, "R4")?]);
    match store.append(&[fresh, reads]) {
        Err(StoreError::Conflict { expected: 0, actual: 1, .. }) => {}
        other => return Err(format!("a read stream expected empty must conflict, got {other:?}")),
    }
    ensure!(err(store.head())? == head, "a conflicting batch must not move the head");
    ensure!(err(store.recall("k2"))?.is_none() && err(store.person(b))?.is_none(), "nothing of the batch is kept");
    Ok(())
}

/// A batch is all or nothing.
pub fn batch_is_atomic(make: Factory<'_>) -> Check {
    let store = make();
    let (a, b) = (PersonId::new_v7(), PersonId::new_v7());
    let good = append("k1", vec![(s(a), 0)], vec![recorded(a, "ANA", "LOPEZ", None, "R1")?]);
    let bad = append("k2", vec![(s(b), 5)], vec![recorded(b, "JUAN", "PEREZ", None, "R2")?]);
    ensure!(store.append(&[good, bad]).is_err(), "batch with a conflict must fail");
    ensure!(err(store.head())?.position == 0, "nothing of a failed batch may commit");
    ensure!(err(store.person(a))?.is_none(), "no projection of a failed batch");
    Ok(())
}

/// The same key with the same command answers with the first result.
pub fn idempotency(make: Factory<'_>) -> Check {
    let store = make();
    let a = PersonId::new_v7();
    let first = append("same", vec![(s(a), 0)], vec![recorded(a, "ANA", "LOPEZ", None, "R1")?]);
    let r1 = err(store.append(std::slice::from_ref(&first)))?;
    let r2 = err(store.append(std::slice::from_ref(&first)))?;
    ensure!(r1 == vec![Appended::Committed { first: 1, last: 1 }], "{r1:?}");
    ensure!(r2 == vec![Appended::Replayed { first: 1, last: 1 }], "{r2:?}");
    ensure!(err(store.head())?.position == 1, "a replay writes nothing");
    let mut other = first.clone();
    other.command_hash = "something else".into();
    ensure!(matches!(store.append(&[other]), Err(StoreError::KeyReused { .. })), "a reused key with another command is refused");
    ensure!(err(store.recall("same"))? == Some(("hash-of-same".into(), 1, 1)), "recall");
    Ok(())
}

/// An event for a stream whose version the append does not state is refused.
pub fn undeclared_stream_refused(make: Factory<'_>) -> Check {
    let store = make();
    let a = PersonId::new_v7();
    ensure!(
        matches!(store.append(&[append("k", vec![], vec![recorded(a, "ANA", "LOPEZ", None, "R1")?])]), Err(StoreError::Invalid(_))),
        "undeclared stream must be refused"
    );
    Ok(())
}

/// Many writers racing on one stream at one version: exactly one wins.
pub fn racing_writers(make: Factory<'_>) -> Check {
    let store = make();
    let a = PersonId::new_v7();
    err(store.append(&[append("k0", vec![(s(a), 0)], vec![recorded(a, "ANA", "LOPEZ", None, "R1")?])]))?;
    let ev = booked(a)?;
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let ev = ev.clone();
            std::thread::spawn(move || store.append(&[append(&format!("race{i}"), vec![(s(a), 1)], vec![ev])]))
        })
        .collect();
    let mut wins = 0;
    let mut conflicts = 0;
    for h in handles {
        match h.join() {
            Ok(Ok(_)) => wins += 1,
            Ok(Err(StoreError::Conflict { .. })) => conflicts += 1,
            other => return Err(format!("unexpected outcome {other:?}")),
        }
    }
    ensure!(wins == 1 && conflicts == 7, "wins {wins}, conflicts {conflicts}");
    ensure!(err(store.stream_version(&s(a)))? == 2, "exactly one event appended");
    Ok(())
}

/// The chain verifies, and the head is the last event's hash.
pub fn chain_verifies(make: Factory<'_>) -> Check {
    let store = make();
    for i in 0..5 {
        let p = PersonId::new_v7();
        err(store.append(&[append(
            &format!("k{i}"),
            vec![(s(p), 0)],
            vec![recorded(p, "ANA", "LOPEZ", None, &format!("R{i}"))?, booked(p)?],
        )]))?;
    }
    let report = err(verify::verify(store.as_ref(), &mut |_| {}))?;
    ensure!(report.first_bad.is_none(), "{report:?}");
    ensure!(report.events == 10, "{report:?}");
    let last = err(store.read_from(9, 1))?;
    ensure!(last.first().map(|e| e.hash) == Some(err(store.head())?.hash), "head hash");
    Ok(())
}

/// Every event and its metadata read back exactly as appended, whatever
/// characters they hold (a backend may store them in any encoding), by
/// stream and by position.
pub fn events_read_back_as_written(make: Factory<'_>) -> Check {
    let store = make();
    let a = PersonId::new_v7();
    let mut first = recorded(a, "ÑANDÚ", "O'BRIEN-LÓPEZ", Some("A123456789"), "R\"1")?;
    if let Event::PersonRecorded { details, .. } = &mut first {
        details.notes = Some("line one\nline two \"quoted\" \\ tab\t 😀 {\"type\":\"x\"}".into());
        details.extra = vec![("extra.note".into(), "a\u{0}b".into())];
    }
    let events = vec![first, booked(a)?];
    let mut command = append("odd \"key\"\n", vec![(s(a), 0)], events.clone());
    command.meta_json =
        r#"{"actor":{"user":"ana\nb","agency":"BP","role":"agent"},"idempotency_key":"odd","at":"2018-05-07T15:00:00+00:00"}"#.into();
    err(store.append(std::slice::from_ref(&command)))?;
    let by_stream = err(store.read_stream(&s(a)))?;
    let by_position = err(store.read_from(0, 10))?;
    for read in [&by_stream, &by_position] {
        let back: Vec<Event> = read.iter().map(|e| e.event()).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
        ensure!(back == events, "events read back differ: {back:?}");
        ensure!(read.iter().all(|e| e.meta == command.meta_json), "metadata read back differs: {:?}", read[0].meta);
        ensure!(read.iter().all(|e| e.stream == s(a).to_string()), "stream read back differs: {}", read[0].stream);
        ensure!(read.iter().map(|e| e.event_type.as_str()).eq(["PersonRecorded", "BookedIn"]), "types");
    }
    ensure!(err(store.recall(&command.key))? == Some((command.command_hash.clone(), 1, 2)), "recall of an odd key");
    let report = err(verify::verify(store.as_ref(), &mut |_| {}))?;
    ensure!(report.first_bad.is_none() && report.events == 2, "{report:?}");
    Ok(())
}

/// Projections: lookups and name search (case- and accent-insensitive, any part).
pub fn projections_and_search(make: Factory<'_>) -> Check {
    let store = make();
    let (a, b) = (PersonId::new_v7(), PersonId::new_v7());
    err(store.append(&[
        append("k1", vec![(s(a), 0)], vec![recorded(a, "José Luis", "Hernández de la Cruz", Some("A-012-345-678"), "R1")?, booked(a)?]),
        append("k2", vec![(s(b), 0)], vec![recorded(b, "ANA", "LOPEZ", Some("012345679"), "R2")?]),
    ]))?;
    ensure!(err(store.person_by_record(&SourceRef { source: "BP".into(), record_id: "R1".into() }))? == Some(a), "by record");
    let an = ANumber::parse("12345678").map_err(|e| e.to_string())?;
    ensure!(err(store.persons_by_a_number(&an))? == vec![a], "by A-number");
    // The batched lookup answers what the one-key lookups answer; keys the
    // store does not know are absent.
    let (r1, r9) = (SourceRef { source: "BP".into(), record_id: "R1".into() }, SourceRef { source: "BP".into(), record_id: "R9".into() });
    let no_family = SourceRef { source: "BP".into(), record_id: "F9".into() };
    let known = err(store.lookup_many(&[&r1, &r9], &[&an], &[&no_family]))?;
    ensure!(known.records.len() == 1 && known.records.get(&r1) == Some(&a), "lookup_many records {:?}", known.records);
    ensure!(known.a_numbers.len() == 1 && known.a_numbers.get(&an) == Some(&vec![a]), "lookup_many A-numbers {:?}", known.a_numbers);
    ensure!(known.families.is_empty(), "lookup_many families {:?}", known.families);
    let v = err(store.person(a))?.ok_or("person a missing")?;
    ensure!(v.custody.status == "in_custody" && v.custody.agency.as_deref() == Some("BP"), "custody {:?}", v.custody);
    ensure!(v.given_names.as_deref() == Some("José Luis"), "names stored as given");
    for q in ["jose", "HERNANDEZ", "cruz", "de la cruz", "luis hernandez"] {
        let hits = err(store.search(&SearchQuery { name: Some(q.into()), limit: 10, ..Default::default() }))?;
        ensure!(hits.iter().map(|p| p.id).collect::<Vec<_>>() == vec![a], "search {q:?}: {hits:?}");
    }
    let none = err(store.search(&SearchQuery { name: Some("garcia".into()), limit: 10, ..Default::default() }))?;
    ensure!(none.is_empty(), "no false hit");
    ensure!(err(store.persons_in_encounter("BP:EV-R1"))? == vec![a], "encounter members");
    ensure!(err(store.custody_history(a))?.len() == 1, "custody history");
    Ok(())
}

/// Rebuilding the projections from the log reproduces them exactly.
pub fn rebuild_equals_live(make: Factory<'_>) -> Check {
    let store = make();
    for i in 0..20 {
        let p = PersonId::new_v7();
        err(store.append(&[append(
            &format!("k{i}"),
            vec![(s(p), 0)],
            vec![recorded(p, "ANA", "LOPEZ", Some(&format!("0123456{i:02}")), &format!("R{i}"))?, booked(p)?],
        )]))?;
    }
    let live = err(store.projection_dump())?;
    let n = err(store.rebuild(&mut |_| {}))?;
    ensure!(n == 40, "replayed {n}");
    let rebuilt = err(store.projection_dump())?;
    ensure!(live == rebuilt, "rebuild differs from live:\n{live}\n---\n{rebuilt}");
    Ok(())
}

/// The worklist: proposals listed best first and filtered, decisions
/// projected, the linker's rows by encounter date and its cursor, and
/// rebuild reproducing all of it.
pub fn worklist_and_linkage_rows(make: Factory<'_>) -> Check {
    use crate::WorklistQuery;
    use kinship_domain::LinkId;
    use kinship_domain::link::{LinkKind, Relation};
    let store = make();
    let (a, b, c) = (PersonId::new_v7(), PersonId::new_v7(), PersonId::new_v7());
    err(store.append(&[
        append("p1", vec![(s(a), 0)], vec![recorded(a, "ANA", "LOPEZ", None, "R1")?]),
        append("p2", vec![(s(b), 0)], vec![recorded(b, "JUAN", "PEREZ LOPEZ", None, "R2")?]),
        append("p3", vec![(s(c), 0)], vec![recorded(c, "ANA", "LOPES", None, "R3")?]),
    ]))?;
    let fam = LinkId::for_pair(LinkKind::Family, a, b);
    let same = LinkId::for_pair(LinkKind::Identity, a, c);
    let l = |id: LinkId| StreamId::Link(id);
    let proposed = |link, kind, x, y, relation, score| Event::LinkProposed {
        link,
        kind,
        a: x,
        b: y,
        relation,
        score,
        evidence: vec!["same event".into(), "age gap 27 y".into()],
        by: "linker".into(),
    };
    err(store.append(&[
        append("l1", vec![(l(fam), 0)], vec![proposed(fam, LinkKind::Family, a, b, Some(Relation::ParentChild), 640)]),
        append(
            "l2",
            vec![(l(same), 0)],
            vec![
                proposed(same, LinkKind::Identity, a, c, None, 990),
                Event::IdentityLinked { link: same, a, b: c, automatic: true, by: "linker".into() },
            ],
        ),
    ]))?;
    let all = err(store.worklist(&WorklistQuery { limit: 10, ..Default::default() }))?;
    ensure!(all.iter().map(|i| i.id).collect::<Vec<_>>() == vec![same, fam], "best first: {all:?}");
    let first = all.first().ok_or("empty worklist")?;
    ensure!(first.status == "linked" && first.automatic && (first.score - 0.99).abs() < 1e-9, "identity item {first:?}");
    let item = all.get(1).ok_or("family item missing")?;
    ensure!(
        item.kind == "family"
            && item.status == "proposed"
            && item.a == a
            && item.b == b
            && item.relation.as_deref() == Some("PARENT_CHILD"),
        "family item {item:?}"
    );
    ensure!(item.evidence == vec!["same event".to_string(), "age gap 27 y".to_string()], "evidence {:?}", item.evidence);
    let q =
        |kind: Option<&str>, status: Option<&str>| WorklistQuery { kind: kind.map(Into::into), status: status.map(Into::into), limit: 10 };
    ensure!(err(store.worklist(&q(Some("family"), None)))?.len() == 1, "kind filter");
    ensure!(err(store.worklist(&q(None, Some("proposed"))))?.iter().all(|i| i.id == fam), "status filter");
    err(store.append(&[append(
        "l3",
        vec![(l(fam), 1)],
        vec![Event::LinkRejected { link: fam, reason: "the uncle".into(), by: "jc".into() }],
    )]))?;
    err(store.append(&[append(
        "l4",
        vec![(l(same), 2)],
        vec![Event::IdentityUnlinked { link: same, reason: "twins".into(), by: "jc".into() }],
    )]))?;
    let after = err(store.worklist(&q(None, None)))?;
    ensure!(after.iter().map(|i| i.status.as_str()).collect::<Vec<_>>() == vec!["unlinked", "rejected"], "decisions: {after:?}");
    ensure!(after.get(1).and_then(|i| i.reason.as_deref()) == Some("the uncle"), "reason kept");
    ensure!(err(store.worklist(&q(None, Some("proposed"))))?.is_empty(), "nothing left to review");

    // Rows by encounter date (2018-05-07 local), with the person's identity.
    let day = jiff::civil::date(2018, 5, 7);
    let rows = err(store.linkage_rows(day, day))?;
    ensure!(rows.len() == 3, "rows on the day: {rows:?}");
    let r1 = rows.iter().find(|r| r.record_id == "R1").ok_or("R1 missing")?;
    ensure!(r1.person == a && r1.source == "BP" && r1.encounter_key == "BP:EV-R1" && r1.local_date == "2018-05-07", "row {r1:?}");
    ensure!(r1.given.as_deref() == Some("ANA") && r1.birth_date.as_deref() == Some("1990-03-04"), "identity {r1:?}");
    ensure!(err(store.linkage_rows(day.tomorrow().map_err(|e| e.to_string())?, jiff::civil::date(2018, 6, 1)))?.is_empty(), "date window");

    ensure!(err(store.linkage_cursor())? == 0, "no run yet");
    for (key, through) in [("r1", 7u64), ("r2", 12)] {
        let run = LinkId::for_run(through);
        err(store.append(&[append(key, vec![(l(run), 0)], vec![Event::LinkageRan { run, through, records: 3, proposed: 2 }])]))?;
    }
    ensure!(err(store.linkage_cursor())? == 12, "cursor is the furthest run");

    let live = err(store.projection_dump())?;
    err(store.rebuild(&mut |_| {}))?;
    let rebuilt = err(store.projection_dump())?;
    ensure!(live == rebuilt, "rebuild differs from live:\n{live}\n---\n{rebuilt}");
    ensure!(live.contains("## links") && live.contains("## linkage_runs"), "the dump covers the worklist");
    Ok(())
}

pub type Story = fn(Factory<'_>) -> Check;

pub const STORIES: &[(&str, Story)] = &[
    ("positions_and_versions", positions_and_versions),
    ("optimistic_concurrency", optimistic_concurrency),
    ("new_stream_taken_conflicts", new_stream_taken_conflicts),
    ("batch_is_atomic", batch_is_atomic),
    ("idempotency", idempotency),
    ("undeclared_stream_refused", undeclared_stream_refused),
    ("racing_writers", racing_writers),
    ("chain_verifies", chain_verifies),
    ("events_read_back_as_written", events_read_back_as_written),
    ("projections_and_search", projections_and_search),
    ("rebuild_equals_live", rebuild_equals_live),
    ("worklist_and_linkage_rows", worklist_and_linkage_rows),
    ("separated_children_follow_the_log", crate::conformance_separated::separated_children_follow_the_log),
];

/// Runs every story; returns the failures as `name: reason`.
pub fn run_all(make: Factory<'_>) -> Vec<String> {
    STORIES.iter().filter_map(|(name, story)| story(make).err().map(|e| format!("{name}: {e}"))).collect()
}
