//! Linkage inside the system of record: the records that arrived since the
//! last run are linked against their neighbours in time, and what the linker
//! finds becomes worklist proposals (events, through the engine). Family
//! ties are only proposed; identity links the linker is sure of are asserted
//! at once, visibly and reversibly. The run's cursor (the log position it
//! read to) is itself an event, so a rebuilt store resumes where it was.

use crate::engine::Engine;
use crate::error::AppError;
use jiff::civil::Date;
use kinship_domain::command::Command;
use kinship_domain::link::{LinkKind, Relation, score_permille};
use kinship_domain::person::Sex;
use kinship_domain::time::Instant;
use kinship_domain::{Actor, Event, LinkId, PersonId, StreamId};
use kinship_linkage::{FamilyOptions, IdentityOptions, Record};
use kinship_store::{LinkageRow, Store};
use std::collections::{BTreeMap, HashSet};

/// How a run links and what it proposes.
#[derive(Clone, Debug)]
pub struct LinkageOptions {
    /// Records encountered this many days before the first new record or
    /// after the last are read as their neighbours (an ORR record of a child
    /// arrives days after Border Patrol's).
    pub window_days: i64,
    /// Family candidates scoring below this are not proposed.
    pub family_min_score: f64,
    /// Identity links below this match probability are not proposed.
    pub identity_min_score: f64,
    /// Identity links at or above this are asserted at once (reversible);
    /// above 1 means never.
    pub identity_assert_score: f64,
    pub threads: usize,
}

impl Default for LinkageOptions {
    fn default() -> Self {
        Self { window_days: 30, family_min_score: 0.5, identity_min_score: 0.5, identity_assert_score: 0.99, threads: 1 }
    }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// The log position the run read to (its cursor afterwards).
    pub through: u64,
    /// Records that arrived since the previous run.
    pub new_records: u64,
    /// Records linked (the new ones and their neighbours).
    pub rows: u64,
    pub family_proposed: u64,
    pub identity_proposed: u64,
    /// Identity links asserted at once.
    pub identity_asserted: u64,
    /// Candidates not proposed: the pair was proposed (or decided) before,
    /// or the core refused it (e.g. both already in one family).
    pub skipped: u64,
}

/// The linkage worker's identity: it may only propose and record its cursor.
pub fn linker_actor() -> Actor {
    Actor { user: "kinship-linkage".into(), agency: "HQ".into(), role: "linker".into() }
}

/// One proposal before it becomes a command.
struct Proposal {
    kind: LinkKind,
    a: PersonId,
    b: PersonId,
    relation: Option<Relation>,
    score: f64,
    evidence: Vec<String>,
}

/// Links what arrived since the last run. Nothing is written when nothing
/// arrived.
pub fn run<S: Store>(engine: &Engine<S>, opts: &LinkageOptions) -> Result<RunReport, AppError> {
    let store = &engine.store;
    let cursor = store.linkage_cursor()?;
    let head = store.head()?.position;
    let (new, first, last) = arrivals(store, cursor, head)?;
    let mut report = RunReport { through: cursor, new_records: new.len() as u64, ..Default::default() };
    let (Some(first), Some(last)) = (first, last) else { return Ok(report) };
    let span = jiff::Span::new().days(opts.window_days.max(0));
    let from = first.checked_sub(span).unwrap_or(first);
    let to = last.checked_add(span).unwrap_or(last);
    let rows = store.linkage_rows(from, to)?;
    report.rows = rows.len() as u64;
    let records: Vec<Record> = rows.iter().map(record_of).collect();
    let is_new: Vec<bool> = rows.iter().map(|r| new.contains(&(r.source.clone(), r.record_id.clone()))).collect();

    let mut best: BTreeMap<LinkId, Proposal> = BTreeMap::new();
    let mut keep = |p: Proposal| {
        let id = LinkId::for_pair(p.kind, p.a, p.b);
        if best.get(&id).is_none_or(|q| q.score < p.score) {
            best.insert(id, p);
        }
    };
    let identity = IdentityOptions { threads: opts.threads.max(1), ..IdentityOptions::default() };
    let family_opts = FamilyOptions { identity: identity.clone(), min_score: opts.family_min_score, ..FamilyOptions::default() };
    let (candidates, _) = kinship_linkage::link_families(&records, &family_opts, &|_, _, _| {});
    for c in candidates {
        let (a, m) = (&rows[c.adult], &rows[c.minor]);
        if a.person == m.person || !(is_new[c.adult] || is_new[c.minor]) {
            continue;
        }
        let relation = match c.relation {
            kinship_linkage::Relation::ParentChild => Relation::ParentChild,
            kinship_linkage::Relation::OtherRelative => Relation::OtherRelative,
        };
        keep(Proposal { kind: LinkKind::Family, a: a.person, b: m.person, relation: Some(relation), score: c.score, evidence: c.evidence });
    }
    let ids =
        kinship_linkage::link_identities(&records, 0, &IdentityOptions { threshold: opts.identity_min_score, ..identity }, &|_, _, _| {});
    for cluster in &ids.clusters {
        if !cluster.records.iter().any(|&i| is_new[i]) {
            continue;
        }
        // One row per person of the cluster (their records agree: the store
        // merged them), in order.
        let mut persons: Vec<&LinkageRow> = vec![];
        for &i in &cluster.records {
            if !persons.iter().any(|r| r.person == rows[i].person) {
                persons.push(&rows[i]);
            }
        }
        for (i, x) in persons.iter().enumerate() {
            for y in &persons[i + 1..] {
                let mut evidence = identity_evidence(x, y);
                evidence.push(format!("match probability {:.2}", cluster.score));
                keep(Proposal { kind: LinkKind::Identity, a: x.person, b: y.person, relation: None, score: cluster.score, evidence });
            }
        }
    }

    let actor = linker_actor();
    let mut items = vec![];
    for (link, p) in best {
        // A pair already proposed (or decided) is never proposed again; the
        // core refuses it too, this only saves loading the two persons.
        if store.stream_version(&StreamId::Link(link))? > 0 {
            report.skipped += 1;
            continue;
        }
        let assert = p.kind == LinkKind::Identity && p.score >= opts.identity_assert_score;
        let cmd = Command::ProposeLink {
            link,
            kind: p.kind,
            a: p.a,
            b: p.b,
            relation: p.relation,
            score: score_permille(p.score),
            evidence: p.evidence,
            assert,
        };
        items.push((Engine::<S>::meta(&actor, format!("linkage:propose:{link}")), cmd));
    }
    for chunk in items.chunks(500) {
        for ((_, cmd), outcome) in chunk.iter().zip(engine.execute_batch(chunk)?) {
            let Command::ProposeLink { kind, assert, .. } = cmd else { continue };
            match outcome {
                crate::BatchOutcome::Applied => match kind {
                    LinkKind::Family => report.family_proposed += 1,
                    LinkKind::Identity if *assert => report.identity_asserted += 1,
                    LinkKind::Identity => report.identity_proposed += 1,
                },
                crate::BatchOutcome::Replayed | crate::BatchOutcome::Refused(_) => report.skipped += 1,
            }
        }
    }
    let proposed = report.family_proposed + report.identity_proposed + report.identity_asserted;
    let run = Command::RecordLinkageRun { through: head, records: report.new_records, proposed };
    engine.execute(&Engine::<S>::meta(&actor, format!("linkage:run:{head}")), &run)?;
    report.through = head;
    Ok(report)
}

type Arrivals = (HashSet<(String, String)>, Option<Date>, Option<Date>);

/// The records that arrived (or were corrected) after `cursor`, and the
/// span of their encounter dates.
fn arrivals<S: Store>(store: &S, cursor: u64, head: u64) -> Result<Arrivals, AppError> {
    let mut new = HashSet::new();
    let (mut first, mut last): (Option<Date>, Option<Date>) = (None, None);
    let mut after = cursor;
    while after < head {
        let page = store.read_from(after, 10_000)?;
        let Some(end) = page.last() else { break };
        after = end.position;
        for e in page.iter().filter(|e| e.position <= head) {
            if !matches!(e.event_type.as_str(), "PersonRecorded" | "RecordAttached" | "RecordCorrected") {
                continue;
            }
            let (Event::PersonRecorded { record, encounter, .. }
            | Event::RecordAttached { record, encounter, .. }
            | Event::RecordCorrected { record, encounter, .. }) = e.event()?
            else {
                continue;
            };
            let day = encounter.at.local_date();
            first = Some(first.map_or(day, |f| f.min(day)));
            last = Some(last.map_or(day, |l| l.max(day)));
            new.insert((record.source, record.record_id));
        }
    }
    Ok((new, first, last))
}

fn record_of(r: &LinkageRow) -> Record {
    let at = Instant::parse(&r.at, None).ok();
    let on = r.local_date.parse::<Date>().unwrap_or(Date::ZERO);
    let mut rec = Record::new(&r.source, &r.record_id, at.map_or(0, |a| a.timestamp().as_second()), on);
    rec.event_id = Some(r.encounter_key.clone());
    rec.station.clone_from(&r.station);
    rec.a_number = r.a_number.as_deref().and_then(|a| a.parse().ok());
    rec.given.clone_from(&r.given);
    rec.family.clone_from(&r.family);
    rec.birth = r.birth_date.as_deref().and_then(|b| b.parse().ok());
    rec.birth_estimated = r.birth_estimated;
    rec.sex = r.sex.as_deref().and_then(Sex::parse);
    rec.citizenship.clone_from(&r.citizenship);
    // Records of one Kinship family are recorded ties already.
    rec.family_id = r.family_id.clone();
    rec
}

/// Why two persons may be one, in words: which identifiers agree, which do
/// not, and which agencies recorded them. No names or dates are repeated.
fn identity_evidence(x: &LinkageRow, y: &LinkageRow) -> Vec<String> {
    let mut ev = vec![];
    match (&x.a_number, &y.a_number) {
        (Some(a), Some(b)) if a == b => ev.push("same A-number".to_string()),
        (Some(_), Some(_)) => ev.push("different A-numbers".to_string()),
        _ => {}
    }
    match (x.birth_date.as_deref().and_then(|d| d.parse::<Date>().ok()), y.birth_date.as_deref().and_then(|d| d.parse::<Date>().ok())) {
        (Some(a), Some(b)) if a == b => ev.push("same birth date".to_string()),
        (Some(a), Some(b)) => {
            let days = a.until(b).map(|s| s.get_days().abs()).unwrap_or(0);
            ev.push(format!("birth dates {days} days apart"));
        }
        _ => ev.push("a birth date is missing".to_string()),
    }
    let fold = |s: &Option<String>| s.as_deref().map(kinship_domain::name::fold);
    for (what, a, b) in [("given names", fold(&x.given), fold(&y.given)), ("family names", fold(&x.family), fold(&y.family))] {
        match (a, b) {
            (Some(a), Some(b)) if a == b => ev.push(format!("{what} agree")),
            (Some(a), Some(b)) => {
                let sim = kinship_linkage::similarity::jaro_winkler(&a, &b);
                ev.push(format!("{what} similar (Jaro–Winkler {sim:.2})"));
            }
            _ => ev.push(format!("{what} missing on one record")),
        }
    }
    if x.sex.is_some() && x.sex == y.sex {
        ev.push("same sex".to_string());
    }
    if x.source == y.source {
        ev.push(format!("both recorded by {}", x.source));
    } else {
        ev.push(format!("recorded by {} and {}", x.source, y.source));
    }
    ev
}

/// The linkage worker thread; dropping it stops the thread after its
/// current run (the server keeps it for as long as it serves).
pub struct Worker {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Runs [`run`] every `every` on a thread of its own (`kinship serve`). A
/// failed run is reported on stderr by its kind only (never with personal
/// data) and retried at the next tick.
pub fn spawn_worker<S: Store + 'static>(engine: Engine<S>, every: std::time::Duration, opts: LinkageOptions) -> Worker {
    use std::sync::atomic::Ordering;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        // Sleep in short steps so that stopping does not wait a whole period.
        let step = every.min(std::time::Duration::from_millis(200));
        'ticks: loop {
            let mut slept = std::time::Duration::ZERO;
            while slept < every {
                if flag.load(Ordering::Relaxed) {
                    break 'ticks;
                }
                std::thread::sleep(step);
                slept += step;
            }
            match run(&engine, &opts) {
                Ok(r) if r.new_records > 0 => eprintln!(
                    "linkage: {} new records; proposed {} family, {} identity; asserted {}; through {}",
                    r.new_records, r.family_proposed, r.identity_proposed, r.identity_asserted, r.through
                ),
                Ok(_) => {}
                Err(e) => {
                    let kind = match &e {
                        AppError::Domain(d) => d.rule,
                        AppError::Store(kinship_store::StoreError::Conflict { .. }) => "conflict with another writer",
                        AppError::Store(_) => "store error",
                        _ => "error",
                    };
                    eprintln!("linkage: run failed ({kind}); retrying in {}s", every.as_secs());
                }
            }
        }
    });
    Worker { stop, handle: Some(handle) }
}
