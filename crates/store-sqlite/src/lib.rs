//! The embedded SQLite store: WAL mode, writes in `BEGIN IMMEDIATE`, the log
//! guarded by triggers, projections updated in the same transaction as the
//! append. All of Kinship's SQLite SQL lives in this crate.

mod accounts;
mod append;
mod audit;
mod checkpoint;
mod codec;
mod event_body;
mod fold;
mod phases;
mod project;
mod queries;
mod rebuild;
mod rebuild_write;
mod scan;
mod schema;
mod scratch;
mod upgrade;
mod worklist;

use kinship_store::{Append, Appended, LogHead, Store, StoreError, StoredEvent};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use checkpoint::{CheckpointPolicy, CheckpointStats};

pub struct SqliteStore {
    // Fields drop in this order. The checkpointer first (its thread stopped),
    // then the read-only connection, so that the writer is the last
    // connection to close: only a read-write last close copies the WAL into
    // the database and deletes it. Closed last by the reader, the WAL stayed
    // on disk at its largest size (368 MB after a rebuild), and every later
    // process re-read all of it to recover the WAL index before its first
    // read (`verify` 0.48 s instead of 0.35 s).
    checkpointer: Mutex<Option<checkpoint::Checkpointer>>,
    read: Mutex<Connection>,
    path: PathBuf,
    write: Arc<Mutex<Connection>>,
    /// The log begins with rows written before format 4, whose streams are
    /// text: a stream is then looked up under both keys.
    text_streams: bool,
}

/// What [`SqliteStore::open_dir_reporting`] says while it opens a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// The store is in format `from`; it is being brought to `to` by
    /// rebuilding its projections from its `events` events (the log itself
    /// is never rewritten).
    Upgrading { from: i64, to: i64, events: u64 },
    /// Events folded into the new projections so far.
    Rebuilt(u64),
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) `kinship.db` inside `dir`, creating the
    /// directory on first use.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        Self::open_dir_reporting(dir, &mut |_| {})
    }

    /// [`SqliteStore::open_dir`], telling `report` when a store in an older
    /// format is being upgraded: on a large store that rebuilds every
    /// projection from the log and takes minutes, which a person at a
    /// terminal must not take for a hang.
    pub fn open_dir_reporting(dir: &Path, report: &mut dyn FnMut(Opening)) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(format!("cannot create data directory {}: {e}", dir.display())))?;
        Self::open_reporting(&dir.join("kinship.db"), report)
    }

    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_reporting(path, &mut |_| {})
    }

    pub fn open_reporting(path: &Path, report: &mut dyn FnMut(Opening)) -> Result<Self, StoreError> {
        let mut write = Connection::open(path).map_err(db_err)?;
        write
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = 10000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
            )
            .map_err(db_err)?;
        if let Some(from) = check_format(&write, path)? {
            upgrade::upgrade(&mut write, path, from, report)?;
        }
        write.execute_batch(schema::LOG).map_err(db_err)?;
        write.execute_batch(schema::PROJECTIONS).map_err(db_err)?;
        write.execute_batch(schema::PROJECTION_INDEXES).map_err(db_err)?;
        write.execute_batch(audit::SCHEMA).and_then(|_| write.execute_batch(accounts::SCHEMA)).map_err(db_err)?;
        if !format_recorded(&write)? {
            write.execute_batch(&format!("PRAGMA user_version = {};", schema::FORMAT)).map_err(db_err)?;
        }
        check_dictionary(&write, path)?;
        let text_streams = append::has_text_streams(&write)?;
        let read = open_reader(path, false)?;
        Ok(Self {
            path: path.to_path_buf(),
            write: Arc::new(Mutex::new(write)),
            read: Mutex::new(read),
            checkpointer: Mutex::new(None),
            text_streams,
        })
    }

    /// Moves WAL checkpoints off the commit path onto a thread of their own
    /// (see `checkpoint.rs`): for the server, whose requests must not wait
    /// for a checkpoint's copy and fsyncs. One-shot commands (import,
    /// rebuild) keep SQLite's automatic checkpoint. Stops when the store is
    /// dropped.
    pub fn checkpoint_in_background(&self, policy: CheckpointPolicy) -> Result<Arc<CheckpointStats>, StoreError> {
        let mut slot = self.checkpointer.lock().map_err(|_| StoreError::Backend("checkpointer poisoned by an earlier panic".into()))?;
        if let Some(c) = slot.as_ref() {
            return Ok(c.stats.clone());
        }
        // The writer's own checkpoint stays as a bound at 4× the thread's
        // length; journal_size_limit: after a burst, the rewound WAL file is
        // cut back to 64 MB instead of keeping its largest size on disk.
        let bound = policy.restart_frames.saturating_mul(4);
        self.writer()?
            .execute_batch(&format!("PRAGMA wal_autocheckpoint = {bound}; PRAGMA journal_size_limit = 67108864;"))
            .map_err(db_err)?;
        let c = checkpoint::Checkpointer::start(&self.path, Arc::downgrade(&self.write), policy)?;
        let stats = c.stats.clone();
        *slot = Some(c);
        Ok(stats)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.write.lock().map_err(|_| StoreError::Backend("writer connection poisoned by an earlier panic".into()))
    }

    /// A connection for a read: the writer when no append holds it (its page
    /// cache is current, while the reader's is discarded after every commit,
    /// which made each import lookup re-read its pages), else the reader.
    /// Both see the same committed log: an append holds the writer for its
    /// whole transaction.
    fn reader(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        if let Ok(w) = self.write.try_lock() {
            return Ok(w);
        }
        self.read.lock().map_err(|_| StoreError::Backend("reader connection poisoned by an earlier panic".into()))
    }
}

/// Refuses a database written in another on-disk format: reading it with
/// this version's SQL would misread it (or corrupt it on the next write).
/// Answers the format to upgrade from when it is one `upgrade` handles.
fn check_format(conn: &Connection, path: &Path) -> Result<Option<i64>, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(db_err)?;
    let has_log: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'events')", [], |r| r.get(0)).map_err(db_err)?;
    let found = if has_log && version == 0 { 1 } else { version };
    if has_log && (upgrade::UPGRADABLE_FROM..schema::FORMAT).contains(&found) {
        return Ok(Some(found));
    }
    if has_log && found != schema::FORMAT {
        return Err(StoreError::Backend(format!(
            "{} is in storage format {found}, but this version of Kinship reads format {}. \
             Export it with the Kinship version that wrote it (`kinship export`) and import the file into a new data directory",
            path.display(),
            schema::FORMAT
        )));
    }
    Ok(None)
}

/// Keeps the store's copy of the dictionary its bodies are compressed with
/// (written on first open), and refuses a store whose copy differs from the
/// one compiled in: its format-4 rows would not decode.
fn check_dictionary(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let stored: Option<Vec<u8>> = conn
        .query_row("SELECT bytes FROM log_dictionaries WHERE id = ?1", params![codec::ZSTD_DICT_1], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    match stored {
        None => {
            conn.execute("INSERT INTO log_dictionaries (id, bytes) VALUES (?1, ?2)", params![codec::ZSTD_DICT_1, codec::DICT_1])
                .map_err(db_err)?;
            Ok(())
        }
        Some(bytes) if bytes == codec::DICT_1 => Ok(()),
        Some(_) => Err(StoreError::Backend(format!(
            "{}: its copy of event dictionary {} differs from this program's; the store or the program is damaged",
            path.display(),
            codec::ZSTD_DICT_1
        ))),
    }
}

fn format_recorded(conn: &Connection) -> Result<bool, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(db_err)?;
    Ok(version == schema::FORMAT)
}

/// A read-only connection. `mapped`: read pages through a memory map, which
/// spares a copy of every page for a scan of the whole log (the mapped pages
/// count in the process's resident size, though they are the OS file cache).
pub(crate) fn open_reader(path: &Path, mapped: bool) -> Result<Connection, StoreError> {
    let read = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(db_err)?;
    read.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -65536;").map_err(db_err)?;
    if mapped {
        read.execute_batch("PRAGMA mmap_size = 2147418112;").map_err(db_err)?;
    }
    Ok(read)
}

/// A person or family id as the projections store it (format 5): its 16
/// bytes, not the `P-…`/`F-…` text users see. Half the size in every key
/// and index, compared with one `memcmp`, bound without formatting a string.
pub(crate) trait Key {
    fn key(&self) -> &[u8];
}

impl Key for kinship_domain::PersonId {
    fn key(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Key for kinship_domain::FamilyId {
    fn key(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A stored person or family key read back (see [`Key`]).
pub(crate) fn key_uuid(v: rusqlite::types::ValueRef<'_>, what: &str) -> Result<uuid::Uuid, StoreError> {
    match v {
        rusqlite::types::ValueRef::Blob(b) => uuid::Uuid::from_slice(b).ok(),
        _ => None,
    }
    .ok_or_else(|| StoreError::Backend(format!("bad {what} id in projection: expected 16 bytes")))
}

/// An event id as stored: 16 bytes (a malformed one reads as nil, which
/// `verify` then reports as altered).
pub(crate) fn uuid_of(bytes: &[u8]) -> uuid::Uuid {
    uuid::Uuid::from_slice(bytes).unwrap_or_default()
}

const EVENT_COLS: &str = "position, id, stream, version, type, payload, meta, prev_hash, hash";

impl Store for SqliteStore {
    fn append(&self, batch: &[Append]) -> Result<Vec<Appended>, StoreError> {
        let mut conn = self.writer()?;
        append::append(&mut conn, batch, None, self.text_streams)
    }

    fn encode(&self, batch: &[Append]) -> Result<Option<kinship_store::Encoded>, StoreError> {
        Ok(Some(kinship_store::Encoded(Box::new(append::prepare(batch)?))))
    }

    fn append_encoded(&self, batch: &[Append], encoded: Option<kinship_store::Encoded>) -> Result<Vec<Appended>, StoreError> {
        let prepared = encoded.and_then(|e| e.0.downcast::<append::Prepared>().ok()).map(|p| *p);
        let mut conn = self.writer()?;
        append::append(&mut conn, batch, prepared, self.text_streams)
    }

    fn recall(&self, key: &str) -> Result<Option<(String, u64, u64)>, StoreError> {
        let conn = self.reader()?;
        conn.prepare_cached("SELECT command_hash, first_position, last_position FROM idempotency WHERE key = ?1")
            .and_then(|mut s| {
                s.query_row(params![&codec::key_digest(key)[..]], |r| {
                    Ok((codec::hash_text(r.get_ref(0)?), r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64))
                })
                .optional()
            })
            .map_err(db_err)
    }

    fn stream_version(&self, stream: &kinship_domain::StreamId) -> Result<u64, StoreError> {
        let conn = self.reader()?;
        let sql = format!("SELECT max(version) FROM events WHERE {}", append::stream_match(self.text_streams));
        let key = codec::stream_key(stream);
        let v: Option<i64> = conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                if self.text_streams {
                    s.query_row(params![&key[..], stream.to_string()], |r| r.get(0))
                } else {
                    s.query_row(params![&key[..]], |r| r.get(0))
                }
            })
            .map_err(db_err)?;
        Ok(v.unwrap_or(0) as u64)
    }

    fn read_stream(&self, stream: &kinship_domain::StreamId) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.reader()?;
        let sql = format!("SELECT {EVENT_COLS} FROM events WHERE {} ORDER BY version", append::stream_match(self.text_streams));
        let mut st = conn.prepare_cached(&sql).map_err(db_err)?;
        let key = codec::stream_key(stream);
        let rows = if self.text_streams {
            st.query_map(params![&key[..], stream.to_string()], codec::stored_event)
        } else {
            st.query_map(params![&key[..]], codec::stored_event)
        }
        .map_err(db_err)?;
        rows.map(|r| r.map_err(db_err).and_then(|e| e)).collect()
    }

    fn read_from(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn
            .prepare_cached(&format!("SELECT {EVENT_COLS} FROM events WHERE position > ?1 ORDER BY position LIMIT ?2"))
            .map_err(db_err)?;
        let rows = st.query_map(params![after as i64, limit as i64], codec::stored_event).map_err(db_err)?;
        rows.map(|r| r.map_err(db_err).and_then(|e| e)).collect()
    }

    fn head(&self) -> Result<LogHead, StoreError> {
        let conn = self.reader()?;
        append::read_head(&conn)
    }

    fn scan(&self, after: u64, until: u64, f: &mut dyn FnMut(&kinship_store::RawEvent<'_>) -> bool) -> Result<(), StoreError> {
        scan::scan(&self.path, after, until, f)
    }

    fn rebuild(&self, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
        let mut conn = self.writer()?;
        rebuild::rebuild(&mut conn, &self.path, progress)
    }

    fn person_by_record(&self, record: &kinship_domain::person::SourceRef) -> Result<Option<kinship_domain::PersonId>, StoreError> {
        queries::person_by_record(&*self.reader()?, record)
    }

    fn persons_by_a_number(&self, a: &kinship_domain::ANumber) -> Result<Vec<kinship_domain::PersonId>, StoreError> {
        queries::persons_by_a_number(&*self.reader()?, a)
    }

    fn family_by_source(&self, family: &kinship_domain::person::SourceRef) -> Result<Option<kinship_domain::FamilyId>, StoreError> {
        queries::family_by_source(&*self.reader()?, family)
    }

    fn lookup_many(
        &self,
        records: &[&kinship_domain::person::SourceRef],
        a_numbers: &[&kinship_domain::ANumber],
        families: &[&kinship_domain::person::SourceRef],
    ) -> Result<kinship_store::Known, StoreError> {
        queries::lookup_many(&*self.reader()?, records, a_numbers, families)
    }

    fn persons_in_encounter(&self, key: &str) -> Result<Vec<kinship_domain::PersonId>, StoreError> {
        queries::persons_in_encounter(&*self.reader()?, key)
    }

    fn person(&self, id: kinship_domain::PersonId) -> Result<Option<kinship_store::PersonView>, StoreError> {
        queries::person(&*self.reader()?, id)
    }

    fn custody_history(&self, id: kinship_domain::PersonId) -> Result<Vec<kinship_store::CustodyEntry>, StoreError> {
        queries::custody_history(&*self.reader()?, id)
    }

    fn search(&self, q: &kinship_store::SearchQuery) -> Result<Vec<kinship_store::PersonView>, StoreError> {
        queries::search(&*self.reader()?, q)
    }

    fn separated_children(&self, today: jiff::civil::Date) -> Result<Vec<kinship_store::SeparatedChild>, StoreError> {
        queries::separated_children(&*self.reader()?, today)
    }

    fn findings(&self, open_only: bool) -> Result<Vec<kinship_store::FindingView>, StoreError> {
        queries::findings(&*self.reader()?, open_only)
    }

    fn worklist(&self, q: &kinship_store::WorklistQuery) -> Result<Vec<kinship_store::WorklistItem>, StoreError> {
        worklist::worklist(&*self.reader()?, q)
    }

    fn linkage_rows(&self, from: jiff::civil::Date, to: jiff::civil::Date) -> Result<Vec<kinship_store::LinkageRow>, StoreError> {
        worklist::linkage_rows(&*self.reader()?, from, to)
    }

    fn linkage_cursor(&self) -> Result<u64, StoreError> {
        worklist::linkage_cursor(&*self.reader()?)
    }

    fn projection_dump(&self) -> Result<String, StoreError> {
        queries::dump(&*self.reader()?)
    }
}
