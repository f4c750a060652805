//! `rebuild`: recreates the projections from the log, in one transaction.
//!
//! 1. Threads read and parse the events, one position range each at a time
//!    (on connections of their own, which see the same committed log: the
//!    rebuild holds the write lock from before the reads begin); this thread
//!    folds them into rows in memory ([`crate::fold`]). Custody lines are
//!    final as soon as they are folded: a thread writes them into a scratch
//!    database while the fold goes on (and they do not pile up in memory).
//! 2. A thread writes the other folded tables but `persons` into a scratch
//!    database of its own, each table in key order, then its secondary
//!    indexes. Meanwhile this thread drops the old projections, creates them
//!    empty, and writes `persons` and the name index itself, straight into
//!    the store (no copy), then the persons' indexes.
//! 3. This thread attaches the scratch files and copies every other table
//!    (SQLite's transfer path: the stored records and index entries, as
//!    they are), fills the separated-children tables in one statement each,
//!    and commits: the projections change at once.
//!
//! Replaying event by event through the live projector's SQL cost a
//! statement (and a full-text flush) per event: 30 k events/s. Writing every
//! table on this one thread (session 5) left one core idle for over half
//! the rebuild.

use crate::fold::{Custody, Fold};
use crate::phases::Phases;
use crate::rebuild_write::{write_custody, write_persons, write_rest};
use crate::scratch::{self, Scratch};
use crate::{codec, db_err, open_reader, schema, uuid_of};
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
/// Custody lines are handed to their writing thread this many at a time;
/// with [`CUSTODY_IN_FLIGHT`] batches queued, that bounds what they hold.
const CUSTODY_BATCH: usize = 1 << 16;
const CUSTODY_IN_FLIGHT: usize = 2;
/// Progress is reported about this often (events).
const PROGRESS_EVERY: u64 = 50_000;
/// Page cache of the rebuilding connection (KiB, as `PRAGMA cache_size` takes
/// it negated), and the one it goes back to.
const REBUILD_CACHE_KIB: i64 = 262_144;
const NORMAL_CACHE_KIB: i64 = 65_536;
/// Helper threads SQLite's sorter may start while `CREATE INDEX` sorts.
const SORT_THREADS: usize = 2;

/// The scratch parts: custody (written while the fold goes on) and every
/// other projection table but those written straight into the store
/// ([`DIRECT`]) and those filled from the final rows ([`FILLED`]), in the
/// schema's order. Derived from the one table list, so a new projection table
/// is copied without being named here; `every_projection_table_is_written`
/// checks the split.
const CUSTODY_PART: usize = 0;
const REST_PART: usize = 1;
const PART_COUNT: usize = 2;
const CUSTODY: &str = "custody";
/// Tables this thread writes into the store itself while the scratch parts
/// are written (copying them would only add to the serial tail).
pub(crate) const DIRECT: [&str; 2] = ["persons", "person_names"];
/// Tables filled by a statement of their own after the copies.
pub(crate) const FILLED: [&str; 2] = ["separated_children", "separated_parents"];

/// The tables copied from scratch part `part`.
pub(crate) fn part_tables(part: usize) -> impl Iterator<Item = &'static str> {
    schema::PROJECTION_TABLES.iter().copied().filter(move |t| {
        let custody = *t == CUSTODY;
        let rest = !custody && !DIRECT.contains(t) && !FILLED.contains(t);
        (part == CUSTODY_PART && custody) || (part == REST_PART && rest)
    })
}

type Parsed = Result<Vec<(u64, Uuid, Event)>, StoreError>;

pub fn rebuild(conn: &mut Connection, path: &Path, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    // `threads`: the sorts that build the secondary indexes may use a second core.
    conn.execute_batch(&format!("PRAGMA cache_size = -{REBUILD_CACHE_KIB}; PRAGMA threads = {SORT_THREADS};")).map_err(db_err)?;
    let scratch = Scratch::new(path, PART_COUNT)?;
    let result = run(conn, path, &scratch, progress);
    // After the transaction ended (committed or rolled back); the files go when `scratch` drops.
    scratch.detach(conn);
    conn.execute_batch(&format!("PRAGMA cache_size = -{NORMAL_CACHE_KIB}; PRAGMA threads = 0;")).map_err(db_err)?;
    result
}

fn joined<T>(r: std::thread::Result<Result<T, StoreError>>, what: &str) -> Result<T, StoreError> {
    r.map_err(|_| thread_stopped(what))?
}

fn thread_stopped(what: &str) -> StoreError {
    StoreError::Backend(format!("rebuild: the thread writing {what} stopped unexpectedly"))
}

fn run(conn: &mut Connection, path: &Path, scratch: &Scratch, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    let mut phases = Phases::new();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let end = tx.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| r.get::<_, i64>(0)).map_err(db_err)? as u64;
    let chunks = end.div_ceil(CHUNK);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_READERS) as u64;
    let readers = (0..threads).map(|_| open_reader(path, true)).collect::<Result<Vec<_>, _>>()?;
    let count = std::thread::scope(|scope| {
        let (custody_send, custody_receive) = mpsc::sync_channel::<Vec<Custody>>(CUSTODY_IN_FLIGHT);
        let custody = scope
            .spawn(move || scratch.write_part(CUSTODY_PART, |c| custody_receive.into_iter().try_for_each(|lines| write_custody(c, lines))));
        let mut receivers = Vec::new();
        for (k, conn) in readers.into_iter().enumerate() {
            let (send, receive) = mpsc::sync_channel::<Parsed>(IN_FLIGHT);
            scope.spawn(move || read(&conn, k as u64, threads, chunks, &send));
            receivers.push(receive);
        }
        let mut fold = Fold::default();
        let mut waited = std::time::Duration::ZERO;
        let folded = fold_all(&receivers, chunks, &mut fold, &custody_send, progress, &mut waited);
        phases.mark("read, decode, fold");
        phases.note("fold waiting for readers", waited.as_secs_f64());
        // Hanging up stops the readers (if the fold failed) and ends the custody part.
        drop((receivers, custody_send));
        let folded = folded.map(|n| (n, std::mem::take(&mut fold.persons)));
        let (count, persons) = match folded {
            Ok(f) => f,
            Err(e) => {
                // The custody thread's own error, if it failed first, says more.
                joined(custody.join(), "custody")?;
                return Err(e);
            }
        };
        let since_fold = std::time::Instant::now();
        let rest = scope.spawn(move || {
            let r = scratch.write_part(REST_PART, |c| write_rest(c, fold));
            (r, since_fold.elapsed())
        });
        // Meanwhile: the old projections go, the new ones are created empty,
        // with the indexes of the copied tables (the copies fill those too);
        // `persons` and the name index are written here, then its indexes
        // built (one sort each).
        let direct = replace_tables(&tx).and_then(|()| {
            write_persons(&tx, persons).map_err(|e| StoreError::Backend(format!("rebuild: cannot write persons: {e}")))?;
            tx.execute_batch(&indexes_of(&DIRECT, true)).map_err(db_err)
        });
        let direct_took = since_fold.elapsed();
        joined(custody.join(), "custody")?;
        let custody_took = since_fold.elapsed();
        let (rest, rest_took) = rest.join().map_err(|_| thread_stopped("the other projections"))?;
        rest?;
        direct?;
        // Which of the three writers the phase waited for.
        phases.note("persons, names (this thread)", direct_took.as_secs_f64());
        phases.note("custody's last batch", custody_took.as_secs_f64());
        phases.note("the other tables' part", rest_took.as_secs_f64());
        phases.mark("write parts, replace tables");
        Ok::<_, StoreError>(count)
    })?;
    scratch.attach(&tx)?;
    for part in 0..PART_COUNT {
        for table in part_tables(part) {
            scratch::copy(&tx, part, table)?;
        }
    }
    phases.mark("copy");
    let all = "1";
    tx.execute_batch(&schema::FILL_SEPARATED_CHILDREN.replace("{families}", all)).map_err(db_err)?;
    tx.execute_batch(&schema::FILL_SEPARATED_PARENTS.replace("{families}", all)).map_err(db_err)?;
    phases.mark("separated tables");
    tx.commit().map_err(db_err)?;
    phases.mark("commit");
    phases.total();
    progress(end);
    Ok(count)
}

/// Drops the projection tables and creates them again, empty, with the
/// secondary indexes of the copied tables: a table copied with its indexes
/// must have them all. The tables written here ([`DIRECT`]) get theirs
/// after their rows.
fn replace_tables(tx: &Transaction<'_>) -> Result<(), StoreError> {
    for t in schema::PROJECTION_TABLES {
        tx.execute_batch(&format!("DROP TABLE IF EXISTS {t};")).map_err(db_err)?;
    }
    tx.execute_batch(schema::PROJECTIONS).map_err(db_err)?;
    tx.execute_batch(&indexes_of(&DIRECT, false)).map_err(db_err)
}

/// The statements of [`schema::PROJECTION_INDEXES`] on one of `tables`
/// (`on` true) or on none of them (`on` false).
fn indexes_of(tables: &[&str], on: bool) -> String {
    schema::PROJECTION_INDEXES
        .split_inclusive(';')
        .filter(|stmt| {
            let table = stmt.split(" ON ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_default();
            !stmt.trim().is_empty() && tables.contains(&table) == on
        })
        .collect()
}

/// Folds every chunk, in log order (chunk c comes from reader c mod
/// threads), handing custody lines to their writer as they accumulate.
fn fold_all(
    receivers: &[mpsc::Receiver<Parsed>],
    chunks: u64,
    fold: &mut Fold,
    custody: &mpsc::SyncSender<Vec<Custody>>,
    progress: &mut dyn FnMut(u64),
    waited: &mut std::time::Duration,
) -> Result<u64, StoreError> {
    let mut count = 0u64;
    let mut next_progress = PROGRESS_EVERY;
    let hung_up = || StoreError::Backend("rebuild: the thread writing custody stopped".into());
    for (c, receive) in (0..chunks).zip(receivers.iter().cycle()) {
        let t = std::time::Instant::now();
        let batch = receive.recv().map_err(|_| StoreError::Backend(format!("the thread reading events after {} stopped", c * CHUNK)))?;
        *waited += t.elapsed();
        let mut last = 0;
        for (position, id, event) in batch? {
            fold.apply(position, &id, &event)
                .map_err(|reason| StoreError::Corrupt { position, reason: format!("event cannot be projected: {reason}") })?;
            last = position;
            count += 1;
        }
        if fold.custody.len() >= CUSTODY_BATCH {
            custody.send(std::mem::take(&mut fold.custody)).map_err(|_| hung_up())?;
        }
        if last >= next_progress {
            progress(last);
            next_progress = last + PROGRESS_EVERY;
        }
    }
    custody.send(std::mem::take(&mut fold.custody)).map_err(|_| hung_up())?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A projection table neither copied nor filled would be left empty by
    /// every rebuild: each must be in exactly one part, [`DIRECT`] or [`FILLED`].
    #[test]
    fn every_projection_table_is_written() {
        let mut written: Vec<&str> = (0..PART_COUNT).flat_map(part_tables).chain(DIRECT).chain(FILLED).collect();
        written.sort_unstable();
        let mut tables = schema::PROJECTION_TABLES.to_vec();
        tables.sort_unstable();
        assert_eq!(written, tables);
    }

    /// The indexes built after the direct tables' rows and those created
    /// with the empty tables are every index of the schema, each once.
    #[test]
    fn every_index_is_created_once() {
        let (direct, copied) = (indexes_of(&DIRECT, true), indexes_of(&DIRECT, false));
        assert!(direct.contains("persons_a_number") && direct.contains("persons_birth"), "{direct}");
        assert!(!copied.contains(" ON persons ") && copied.contains("person_records_person"), "{copied}");
        let count = |s: &str| s.matches("CREATE INDEX").count();
        assert_eq!(count(&direct) + count(&copied), count(schema::PROJECTION_INDEXES));
    }

    /// Each copy is compiled to SQLite's transfer path (stored records and
    /// index entries copied as they are: `RowCell`/`RowData`), for every
    /// table, given the empty tables `replace_tables` creates. A schema
    /// change that broke it (a column affinity, an index only on one side)
    /// would silently fall back to decoding and re-encoding every row.
    #[test]
    fn copies_take_the_transfer_path() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("kinship.db");
        let mut conn = Connection::open(&db).unwrap();
        let scratch = Scratch::new(&db, PART_COUNT).unwrap();
        for part in 0..PART_COUNT {
            scratch.write_part(part, |_| Ok(())).unwrap();
        }
        let tx = conn.transaction().unwrap();
        replace_tables(&tx).unwrap();
        scratch.attach(&tx).unwrap();
        let transfers = |sql: &str| {
            let mut st = tx.prepare(&format!("EXPLAIN {sql}")).unwrap();
            let ops: Vec<String> = st.query_map([], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect();
            ops.iter().any(|o| o == "RowCell" || o == "RowData")
        };
        for part in 0..PART_COUNT {
            for table in part_tables(part) {
                assert!(transfers(&scratch::copy_sql(part, table)), "{table}: not copied by transfer");
            }
        }
        // The sign tells the two paths apart: a WHERE clause rules the transfer out.
        assert!(!transfers(&format!("{} WHERE 1", scratch::copy_sql(CUSTODY_PART, CUSTODY))));
        drop(tx);
        scratch.detach(&conn);
        drop(scratch);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.iter().all(|n| !n.to_string_lossy().contains(".rebuild-")), "{left:?}");
    }
}
