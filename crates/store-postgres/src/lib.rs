//! The PostgreSQL store: a second implementation of [`kinship_store::Store`]
//! that tells the same story as the embedded SQLite store (the conformance
//! suite and a projection-dump comparison check it). All of Kinship's
//! PostgreSQL SQL lives in this crate.
//!
//! - The log is append-only in the database: triggers refuse UPDATE, DELETE
//!   and TRUNCATE on `events`, and the role the application connects as is
//!   granted only SELECT and INSERT on it (`kinship migrate --app-role`).
//! - Appends lock the single `log_head` row first (`UPDATE … RETURNING`), so
//!   appends are serialised and events commit in position order.
//! - Connections come from a pool; the store is safe to call from many
//!   threads (the server calls it from a blocking pool).

mod accounts;
mod append;
mod audit;
mod conn;
pub mod migrate;
mod project;
mod queries;
#[cfg(feature = "testing")]
pub mod testing;
mod worklist;

use conn::{Conn, Manager, Session, db_err};
use kinship_domain::person::SourceRef;
use kinship_domain::{ANumber, FamilyId, PersonId, StreamId};
use kinship_store::{
    Append, Appended, CustodyEntry, FindingView, LogHead, PersonView, SearchQuery, SeparatedChild, Store, StoreError, StoredEvent,
};
use postgres::NoTls;
use std::time::Duration;

/// How many connections one store may hold at once.
const POOL_SIZE: u32 = 16;

pub struct PgStore {
    pool: r2d2::Pool<Manager>,
}

/// Whether a `--database` value names a PostgreSQL server.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn parse_url(url: &str) -> Result<postgres::Config, StoreError> {
    // The driver's message may quote the URL, and with it a password: say
    // what is wrong without repeating it.
    url.parse::<postgres::Config>().map_err(|_| {
        StoreError::Invalid("the database URL does not parse; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE".into())
    })
}

impl PgStore {
    /// Connects to `url` (`postgres://…`), migrating the schema if it is
    /// behind and this role may.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_config(parse_url(url)?)
    }

    pub fn open_config(config: postgres::Config) -> Result<Self, StoreError> {
        let mut client = config.connect(NoTls).map_err(connect_err)?;
        migrate::ensure_current(&mut client)?;
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .build(Manager { config })
            .map_err(|e| StoreError::Backend(format!("PostgreSQL connection pool: {e}")))?;
        Ok(Self { pool })
    }

    /// Creates or upgrades the schema as the role in `url` (its owner) and,
    /// with `app_role`, grants that role exactly what the application needs:
    /// SELECT and INSERT on the log, never UPDATE or DELETE.
    pub fn migrate(url: &str, app_role: Option<&str>) -> Result<usize, StoreError> {
        Self::migrate_config(&parse_url(url)?, app_role)
    }

    pub fn migrate_config(config: &postgres::Config, app_role: Option<&str>) -> Result<usize, StoreError> {
        let mut client = config.connect(NoTls).map_err(connect_err)?;
        migrate::migrate(&mut client, app_role)
    }

    pub(crate) fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool.get().map_err(|e| StoreError::Backend(format!("no PostgreSQL connection available: {e}")))
    }

    /// Runs `f` with a session on a pooled connection (no transaction).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&mut Session<'_, postgres::Client>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, cache } = &mut *conn;
        f(&mut Session::new(client, cache))
    }
}

fn connect_err(e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("cannot connect to PostgreSQL: {}", db_err(e)))
}

pub(crate) const EVENT_COLS: &str = "position, id, stream, version, type, payload, meta, prev_hash, hash";

pub(crate) fn row_to_event(r: &postgres::Row) -> Result<StoredEvent, StoreError> {
    let position: i64 = r.try_get(0).map_err(db_err)?;
    let prev: Vec<u8> = r.try_get(7).map_err(db_err)?;
    let hash: Vec<u8> = r.try_get(8).map_err(db_err)?;
    let bad = |what: &str| StoreError::Corrupt { position: position as u64, reason: format!("{what} is not 32 bytes") };
    Ok(StoredEvent {
        position: position as u64,
        id: r.try_get(1).map_err(db_err)?,
        stream: r.try_get(2).map_err(db_err)?,
        version: r.try_get::<_, i64>(3).map_err(db_err)? as u64,
        event_type: r.try_get(4).map_err(db_err)?,
        payload: r.try_get(5).map_err(db_err)?,
        meta: r.try_get(6).map_err(db_err)?,
        prev_hash: prev.try_into().map_err(|_| bad("prev_hash"))?,
        hash: hash.try_into().map_err(|_| bad("hash"))?,
    })
}

impl Store for PgStore {
    fn append(&self, batch: &[Append]) -> Result<Vec<Appended>, StoreError> {
        append::append(&mut *self.conn()?, batch)
    }

    fn recall(&self, key: &str) -> Result<Option<(String, u64, u64)>, StoreError> {
        self.read(|db| {
            let row = db
                .query_opt("SELECT command_hash, first_position, last_position FROM idempotency WHERE key = $1", &[&key])
                .map_err(db_err)?;
            Ok(row.map(|r| (r.get(0), r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64)))
        })
    }

    fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        self.read(|db| {
            let row = db.query_opt("SELECT version FROM streams WHERE stream = $1", &[&stream.to_string()]).map_err(db_err)?;
            Ok(row.map(|r| r.get::<_, i64>(0) as u64).unwrap_or(0))
        })
    }

    fn read_stream(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(|db| {
            let sql = format!("SELECT {EVENT_COLS} FROM events WHERE stream = $1 ORDER BY version");
            db.query(&sql, &[&stream.to_string()]).map_err(db_err)?.iter().map(row_to_event).collect()
        })
    }

    fn read_from(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(|db| {
            let sql = format!("SELECT {EVENT_COLS} FROM events WHERE position > $1 ORDER BY position LIMIT $2");
            let (after, limit) = (i64::try_from(after).unwrap_or(i64::MAX), i64::try_from(limit).unwrap_or(i64::MAX));
            db.query(&sql, &[&after, &limit]).map_err(db_err)?.iter().map(row_to_event).collect()
        })
    }

    fn head(&self) -> Result<LogHead, StoreError> {
        self.read(append::read_head)
    }

    fn rebuild(&self, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
        project::rebuild(&mut *self.conn()?, progress)
    }

    fn person_by_record(&self, record: &SourceRef) -> Result<Option<PersonId>, StoreError> {
        self.read(|db| queries::person_by_record(db, record))
    }

    fn persons_by_a_number(&self, a: &ANumber) -> Result<Vec<PersonId>, StoreError> {
        self.read(|db| queries::persons_by_a_number(db, a))
    }

    fn family_by_source(&self, family: &SourceRef) -> Result<Option<FamilyId>, StoreError> {
        self.read(|db| queries::family_by_source(db, family))
    }

    fn persons_in_encounter(&self, key: &str) -> Result<Vec<PersonId>, StoreError> {
        self.read(|db| queries::persons_in_encounter(db, key))
    }

    fn person(&self, id: PersonId) -> Result<Option<PersonView>, StoreError> {
        self.read(|db| queries::person(db, id))
    }

    fn custody_history(&self, id: PersonId) -> Result<Vec<CustodyEntry>, StoreError> {
        self.read(|db| queries::custody_history(db, id))
    }

    fn search(&self, q: &SearchQuery) -> Result<Vec<PersonView>, StoreError> {
        self.read(|db| queries::search(db, q))
    }

    fn separated_children(&self, today: jiff::civil::Date) -> Result<Vec<SeparatedChild>, StoreError> {
        self.read(|db| queries::separated_children(db, today))
    }

    fn findings(&self, open_only: bool) -> Result<Vec<FindingView>, StoreError> {
        self.read(|db| queries::findings(db, open_only))
    }

    fn worklist(&self, q: &kinship_store::WorklistQuery) -> Result<Vec<kinship_store::WorklistItem>, StoreError> {
        self.read(|db| worklist::worklist(db, q))
    }

    fn linkage_rows(&self, from: jiff::civil::Date, to: jiff::civil::Date) -> Result<Vec<kinship_store::LinkageRow>, StoreError> {
        self.read(|db| worklist::linkage_rows(db, from, to))
    }

    fn linkage_cursor(&self) -> Result<u64, StoreError> {
        self.read(worklist::linkage_cursor)
    }

    fn projection_dump(&self) -> Result<String, StoreError> {
        self.read(queries::dump)
    }
}
