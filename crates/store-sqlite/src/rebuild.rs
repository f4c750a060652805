//! `rebuild`: recreates the projections from the log. Threads read and
//! parse the events, one position range each at a time (on connections of
//! their own, which see the same committed log: the rebuild holds the write
//! lock from before the reads begin); this thread folds them into rows in memory ([`crate::fold`]) and then writes
//! each table once, in key order, before building the secondary indexes,
//! the name index and the separated-children tables in one statement each.
//! Replaying event by event through the live projector's SQL cost a
//! statement (and a full-text flush) per event: 30 k events/s.

use crate::fold::{Custody, Fold};
use crate::project::{INSERT_PERSON, name_tokens};
use crate::{Key, codec, db_err, open_reader, schema, uuid_of};
use kinship_domain::Event;
use kinship_store::StoreError;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use std::path::Path;
use std::sync::mpsc;
use uuid::Uuid;

/// Positions per message from a reading thread.
const CHUNK: u64 = 1024;
/// Messages in flight per reader: bounds what the readers hold ahead of the fold.
const IN_FLIGHT: usize = 4;
/// Threads reading and parsing at once (at most one per core).
const MAX_READERS: usize = 4;
/// Custody lines are insert-only: written (sorted) whenever this many are
/// held, so they do not all sit in memory on a large store.
const CUSTODY_CHUNK: usize = 1 << 20;
/// Progress is reported about this often (events).
const PROGRESS_EVERY: u64 = 50_000;
/// Page cache of the rebuilding connection (KiB, as `PRAGMA cache_size` takes
/// it negated), and the one it goes back to.
const REBUILD_CACHE_KIB: i64 = 262_144;
const NORMAL_CACHE_KIB: i64 = 65_536;
/// Helper threads SQLite's sorter may start while `CREATE INDEX` sorts.
const SORT_THREADS: usize = 2;

type Parsed = Result<Vec<(u64, Uuid, Event)>, StoreError>;

fn corrupt(position: u64, what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt { position, reason: format!("{what}: {e}") }
}

pub fn rebuild(conn: &mut Connection, path: &Path, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    // `threads`: the sorts that build the secondary indexes may use a second core.
    conn.execute_batch(&format!("PRAGMA cache_size = -{REBUILD_CACHE_KIB}; PRAGMA threads = {SORT_THREADS};")).map_err(db_err)?;
    let result = run(conn, path, progress);
    conn.execute_batch(&format!("PRAGMA cache_size = -{NORMAL_CACHE_KIB}; PRAGMA threads = 0;")).map_err(db_err)?;
    result
}

fn run(conn: &mut Connection, path: &Path, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    for t in schema::PROJECTION_TABLES {
        tx.execute_batch(&format!("DROP TABLE IF EXISTS {t};")).map_err(db_err)?;
    }
    tx.execute_batch(schema::PROJECTIONS).map_err(db_err)?;
    let end = tx.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| r.get::<_, i64>(0)).map_err(db_err)? as u64;
    let chunks = end.div_ceil(CHUNK);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_READERS) as u64;
    let readers = (0..threads).map(|_| open_reader(path, true)).collect::<Result<Vec<_>, _>>()?;
    let mut fold = Fold::default();
    let mut count = 0u64;
    let mut last = 0u64;
    std::thread::scope(|scope| {
        let mut receivers = Vec::new();
        for (k, conn) in readers.into_iter().enumerate() {
            let (send, receive) = mpsc::sync_channel::<Parsed>(IN_FLIGHT);
            scope.spawn(move || read(&conn, k as u64, threads, chunks, &send));
            receivers.push(receive);
        }
        let mut next_progress = PROGRESS_EVERY;
        // Chunk c comes from reader c mod threads: the fold sees the log in order.
        for (c, receive) in (0..chunks).zip(receivers.iter().cycle()) {
            let batch =
                receive.recv().map_err(|_| StoreError::Backend(format!("the thread reading events after {} stopped", c * CHUNK)))?;
            for (position, id, event) in batch? {
                fold.apply(position, &id, &event)
                    .map_err(|reason| StoreError::Corrupt { position, reason: format!("event cannot be projected: {reason}") })?;
                last = position;
                count += 1;
            }
            if fold.custody.len() >= CUSTODY_CHUNK {
                write_custody(&tx, &mut fold.custody).map_err(corrupt(last, "custody cannot be written"))?;
            }
            if last >= next_progress {
                progress(last);
                next_progress = last + PROGRESS_EVERY;
            }
        }
        Ok::<_, StoreError>(())
    })?;
    write(&tx, &mut fold).map_err(corrupt(last, "projections cannot be written"))?;
    tx.execute_batch(schema::PROJECTION_INDEXES).map_err(db_err)?;
    let all = "1";
    tx.execute_batch(&schema::FILL_SEPARATED_CHILDREN.replace("{families}", all)).map_err(db_err)?;
    tx.execute_batch(&schema::FILL_SEPARATED_PARENTS.replace("{families}", all)).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    progress(last);
    Ok(count)
}

/// A reading thread: the events of chunks `k`, `k + n`, `k + 2n`… (each
/// [`CHUNK`] positions), parsed, one message per chunk. Parsing JSON is most
/// of the reading's work, so `n` threads parse at once. Stops early when the
/// fold hangs up (it failed).
fn read(conn: &Connection, k: u64, n: u64, chunks: u64, send: &mpsc::SyncSender<Parsed>) {
    let result = (|| {
        let mut st = conn
            .prepare("SELECT position, id, type, payload FROM events WHERE position > ?1 AND position <= ?2 ORDER BY position")
            .map_err(db_err)?;
        for c in (k..chunks).step_by(n as usize) {
            let mut batch = Vec::with_capacity(CHUNK as usize);
            let mut rows = st.query(params![(c * CHUNK) as i64, ((c + 1) * CHUNK) as i64]).map_err(db_err)?;
            while let Some(r) = rows.next().map_err(db_err)? {
                let position = r.get::<_, i64>(0).map_err(db_err)? as u64;
                let id = match r.get_ref(1).map_err(db_err)? {
                    ValueRef::Blob(b) => uuid_of(b),
                    _ => Uuid::nil(),
                };
                let event_type = r.get_ref(2).map_err(db_err)?.as_str().unwrap_or_default();
                let event: Event = codec::decode_event(position, event_type, r.get_ref(3).map_err(db_err)?)?;
                batch.push((position, id, event));
            }
            if send.send(Ok(batch)).is_err() {
                return Ok(());
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = send.send(Err(e));
    }
}

/// Writes held custody lines in key order (person, position) and forgets them.
fn write_custody(tx: &Transaction<'_>, rows: &mut Vec<Custody>) -> rusqlite::Result<()> {
    rows.sort_unstable_by_key(|c| (c.person, c.position));
    let mut insert = tx.prepare_cached(
        "INSERT INTO custody (position, person_id, at, kind, agency, facility, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for c in rows.drain(..) {
        insert.execute(params![c.position, c.person.key(), c.at, c.kind, c.agency, c.facility, c.detail])?;
    }
    Ok(())
}

/// Writes every folded table, each in its key order (so each insert lands
/// at the end of its B-tree), and the name index in one statement.
fn write(tx: &Transaction<'_>, fold: &mut Fold) -> rusqlite::Result<()> {
    write_custody(tx, &mut fold.custody)?;
    tx.execute_batch("CREATE TEMP TABLE rebuild_names (num INTEGER PRIMARY KEY, tokens TEXT NOT NULL);")?;
    {
        let mut insert = tx.prepare(INSERT_PERSON)?;
        let mut names = tx.prepare("INSERT INTO temp.rebuild_names (num, tokens) VALUES (?1, ?2)")?;
        for (i, p) in std::mem::take(&mut fold.persons).into_iter().enumerate() {
            let num = i as i64 + 1;
            p.insert(&mut insert, Some(num))?;
            let [given, family, ..] = &p.identity;
            let tokens = name_tokens(given.as_deref(), family.as_deref());
            if !tokens.is_empty() {
                names.execute(params![num, tokens])?;
            }
        }
    }
    // One statement fills the full-text index: it is flushed once, not per row.
    tx.execute_batch(
        "INSERT INTO person_names (rowid, tokens) SELECT num, tokens FROM temp.rebuild_names ORDER BY num; DROP TABLE temp.rebuild_names;",
    )?;
    {
        let mut records = std::mem::take(&mut fold.records);
        records.sort_unstable_by(|a, b| (&a.source, &a.record_id).cmp(&(&b.source, &b.record_id)));
        let mut insert = tx.prepare(
            "INSERT INTO person_records (source, record_id, person_id, event_id, is_primary, encounter_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in records {
            insert.execute(params![r.source, r.record_id, r.person.key(), &r.event_id.as_bytes()[..], r.primary, r.encounter_key])?;
        }
    }
    {
        let mut encounters: Vec<_> = std::mem::take(&mut fold.encounters).into_iter().collect();
        encounters.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut insert =
            tx.prepare("INSERT INTO encounters (key, at, at_utc, local_date, sector, station) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for (key, e) in encounters {
            insert.execute(params![key, e.at, e.at_utc, e.local_date, e.sector, e.station])?;
        }
    }
    write_families(tx, fold)?;
    write_separations(tx, fold)?;
    write_findings_and_links(tx, fold)
}

fn write_families(tx: &Transaction<'_>, fold: &mut Fold) -> rusqlite::Result<()> {
    let mut families: Vec<_> = std::mem::take(&mut fold.families).into_iter().collect();
    families.sort_unstable_by_key(|f| f.0);
    let mut insert =
        tx.prepare("INSERT INTO families (id, kind, formed_at, source, source_family_id, lead) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for (id, f) in families {
        insert.execute(params![id.key(), f.kind, f.formed_at, f.source, f.source_family_id, f.lead.as_ref().map(Key::key)])?;
    }
    let mut memberships: Vec<_> = std::mem::take(&mut fold.memberships).into_iter().collect();
    memberships.sort_unstable_by_key(|m| m.0);
    let mut insert = tx.prepare(
        "INSERT INTO memberships (family_id, person_id, role, status, established, added_by, status_since, reunified_location) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for ((family, person), m) in memberships {
        insert.execute(params![
            family.key(),
            person.key(),
            m.role,
            m.status,
            m.established,
            m.added_by,
            m.status_since,
            m.reunified_location
        ])?;
    }
    Ok(())
}

fn write_separations(tx: &Transaction<'_>, fold: &mut Fold) -> rusqlite::Result<()> {
    let mut separations: Vec<_> = std::mem::take(&mut fold.separations).into_iter().collect();
    separations.sort_unstable_by_key(|s| s.0);
    let mut insert = tx.prepare(
        "INSERT INTO separations (id, family_id, reason_code, policy, narrative, approved_by, recorded_by, at, at_utc, review, event_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (id, s) in separations {
        insert.execute(params![
            id.to_string(),
            s.family.key(),
            s.reason_code,
            s.policy,
            s.narrative,
            s.approved_by,
            s.recorded_by,
            s.at,
            s.at_utc,
            s.review,
            &s.event_id.as_bytes()[..]
        ])?;
    }
    // A member named twice fails here, as the live insert does.
    let mut members = std::mem::take(&mut fold.separation_members);
    members.sort_unstable();
    let mut insert = tx.prepare("INSERT INTO separation_members (separation_id, person_id) VALUES (?1, ?2)")?;
    for (separation, person) in members {
        insert.execute(params![separation.to_string(), person.key()])?;
    }
    let mut insert = tx.prepare(
        "INSERT INTO separation_reviews (position, separation_id, level, decision, note, by_user, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for r in std::mem::take(&mut fold.reviews) {
        insert.execute(params![r.position, r.separation.to_string(), r.level, r.decision, r.note, r.by, r.at])?;
    }
    Ok(())
}

fn write_findings_and_links(tx: &Transaction<'_>, fold: &mut Fold) -> rusqlite::Result<()> {
    let mut findings: Vec<_> = std::mem::take(&mut fold.findings).into_iter().collect();
    findings.sort_unstable_by_key(|f| f.0);
    let mut insert = tx.prepare(
        "INSERT INTO findings (id, position, kind, message, record_source, record_id, resolution, resolved_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (id, f) in findings {
        let (source, record_id) = f.record.map(|r| (r.source, r.record_id)).unzip();
        insert.execute(params![id.to_string(), f.position, f.kind, f.message, source, record_id, f.resolution, f.resolved_by])?;
    }
    let mut subjects = std::mem::take(&mut fold.finding_subjects);
    subjects.sort_unstable();
    subjects.dedup();
    let mut insert = tx.prepare("INSERT INTO finding_subjects (finding_id, subject) VALUES (?1, ?2)")?;
    for (finding, subject) in subjects {
        insert.execute(params![finding.to_string(), subject])?;
    }
    let mut links: Vec<_> = std::mem::take(&mut fold.links).into_iter().collect();
    links.sort_unstable_by_key(|l| l.0);
    let mut insert = tx.prepare(
        "INSERT INTO links (id, position, kind, status, person_a, person_b, relation, score, evidence, automatic, decided_by, reason, family_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for (id, l) in links {
        insert.execute(params![
            id.to_string(),
            l.position,
            l.kind,
            l.status,
            l.a.to_string(),
            l.b.to_string(),
            l.relation,
            l.score,
            l.evidence,
            l.automatic,
            l.decided_by,
            l.reason,
            l.family.map(|f| f.to_string())
        ])?;
    }
    let mut insert = tx.prepare("INSERT INTO linkage_runs (position, through, records, proposed) VALUES (?1, ?2, ?3, ?4)")?;
    for r in std::mem::take(&mut fold.runs) {
        insert.execute(params![r.position, r.through as i64, r.records as i64, r.proposed as i64])?;
    }
    Ok(())
}
