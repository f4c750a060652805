//! The store: one trait every backend implements, the hash chain that links
//! the log, the verifier, and the read-side view types.
//!
//! Backends (`kinship-store-sqlite`, later PostgreSQL) hold the only SQL. The
//! conformance suite in [`conformance`] is run against each of them.

pub mod accounts;
pub mod audit;
pub mod chain;
pub mod conformance;
pub mod conformance_accounts;
pub mod conformance_audit;
pub mod conformance_separated;
pub mod error;
pub mod verify;
pub mod views;
pub mod worklist;

/// Every projection table a backend keeps, in dump order: the same tables
/// in both backends (the conformance suite compares their answers), which
/// `rebuild` empties and refills. `person_names` is the name index (FTS5 in
/// SQLite, a token table in PostgreSQL).
pub const PROJECTION_TABLES: &[&str] = &[
    "persons",
    "person_names",
    "person_records",
    "encounters",
    "custody",
    "families",
    "memberships",
    "separations",
    "separation_members",
    "separation_reviews",
    "findings",
    "finding_subjects",
    "links",
    "linkage_runs",
    "separated_children",
    "separated_parents",
];

pub use accounts::{Account, Accounts, ApiToken, SessionRecord};
pub use audit::{AuditEntry, AuditLog, AuditQuery, AuditRecord};
pub use error::StoreError;
pub use views::*;
pub use worklist::{LinkageRow, WorklistItem, WorklistQuery};

use kinship_domain::{ANumber, Event, FamilyId, PersonId, StreamId, person::SourceRef};
use uuid::Uuid;

/// One command's events, appended atomically with its concurrency checks.
#[derive(Clone, Debug)]
pub struct Append {
    /// Idempotency key: a second append with the same key and the same
    /// `command_hash` is answered with the first result and writes nothing.
    pub key: String,
    pub command_hash: String,
    /// JSON of the command metadata (actor, key, time), stored with each event.
    pub meta_json: String,
    /// Every stream the decision read or writes, with the version it saw
    /// (0 = the stream must not exist yet).
    pub expected: Vec<(StreamId, u64)>,
    pub events: Vec<(Uuid, Event)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Positions `first..=last` were written (empty when `first > last`).
    Committed { first: u64, last: u64 },
    /// The key was seen before with the same command: nothing was written.
    Replayed { first: u64, last: u64 },
}

/// A batch a backend encoded ahead of appending it ([`Store::encode`]),
/// opaque to the caller: handed back to [`Store::append_encoded`].
pub struct Encoded(pub Box<dyn std::any::Any + Send>);

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encoded(..)")
    }
}

/// What [`Store::lookup_many`] found: only keys the store knows are present.
#[derive(Clone, Debug, Default)]
pub struct Known {
    pub records: std::collections::HashMap<SourceRef, PersonId>,
    /// Persons holding an A-number, ordered by id (as `persons_by_a_number`).
    pub a_numbers: std::collections::HashMap<ANumber, Vec<PersonId>>,
    pub families: std::collections::HashMap<SourceRef, FamilyId>,
}

/// An event as the log holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub position: u64,
    pub id: Uuid,
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    pub payload: String,
    pub meta: String,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

impl StoredEvent {
    pub fn event(&self) -> Result<Event, StoreError> {
        serde_json::from_str(&self.payload)
            .map_err(|e| StoreError::Corrupt { position: self.position, reason: format!("payload does not parse: {e}") })
    }
}

/// An event as the log holds it, borrowed from the backend's row: what
/// `verify` hashes, without copying a column. Text columns are bytes so that
/// a damaged (non-UTF-8) value is reported as altered rather than unreadable.
#[derive(Clone, Copy, Debug)]
pub struct RawEvent<'a> {
    pub position: u64,
    pub id: &'a [u8],
    pub stream: &'a [u8],
    pub version: u64,
    pub event_type: &'a [u8],
    pub payload: &'a [u8],
    pub meta: &'a [u8],
    pub prev_hash: &'a [u8],
    pub hash: &'a [u8],
    /// How the row stores the event ([`chain::LAYOUT_JSON`] and others): part of its hash.
    pub layout: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LogHead {
    pub position: u64,
    pub hash: [u8; 32],
}

/// The store every backend implements. Synchronous on purpose: SQLite is
/// embedded and synchronous; the server runs store calls on a blocking pool.
pub trait Store: Send + Sync {
    /// Appends each command's events in order, all in one transaction: all
    /// commit or none do. Each command's expected versions are checked after
    /// the earlier commands of the batch are applied.
    fn append(&self, batch: &[Append]) -> Result<Vec<Appended>, StoreError>;
    /// Does the part of appending `batch` that needs no lock and no log head
    /// (serialising, compressing, digests), on the caller's thread, so a
    /// pipelined writer (the import) keeps it off its appending thread.
    /// `None`: the backend has nothing to do ahead.
    fn encode(&self, batch: &[Append]) -> Result<Option<Encoded>, StoreError> {
        let _ = batch;
        Ok(None)
    }
    /// [`Store::append`] of a batch [`Store::encode`] was given (the same
    /// batch, unchanged since).
    fn append_encoded(&self, batch: &[Append], encoded: Option<Encoded>) -> Result<Vec<Appended>, StoreError> {
        let _ = encoded;
        self.append(batch)
    }
    /// What an idempotency key was used for: (command hash, first, last position).
    fn recall(&self, key: &str) -> Result<Option<(String, u64, u64)>, StoreError>;
    fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError>;
    fn read_stream(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError>;
    /// Events with position > `after`, in position order, at most `limit`.
    fn read_from(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    fn head(&self) -> Result<LogHead, StoreError>;
    /// Calls `f` with each event at positions `after + 1 ..= until`, in
    /// position order, until `f` returns `false`. `verify` uses it, and scans
    /// two ranges at once from two threads. The default reads pages with
    /// [`Store::read_from`]; a backend may override it to lend its rows
    /// without copying and to scan on a connection of its own.
    fn scan(&self, after: u64, until: u64, f: &mut dyn FnMut(&RawEvent<'_>) -> bool) -> Result<(), StoreError> {
        let mut from = after;
        while from < until {
            let page = self.read_from(from, (until - from).min(10_000) as usize)?;
            let Some(last) = page.last() else { return Ok(()) };
            from = last.position;
            for e in page.iter().take_while(|e| e.position <= until) {
                let raw = RawEvent {
                    position: e.position,
                    id: e.id.as_bytes(),
                    stream: e.stream.as_bytes(),
                    version: e.version,
                    event_type: e.event_type.as_bytes(),
                    payload: e.payload.as_bytes(),
                    meta: e.meta.as_bytes(),
                    prev_hash: &e.prev_hash,
                    hash: &e.hash,
                    layout: chain::LAYOUT_JSON,
                };
                if !f(&raw) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
    /// Drops and recreates every projection from the log. Returns the number
    /// of events replayed; calls `progress` with the position reached.
    fn rebuild(&self, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError>;

    // -- lookups that commands need --
    fn person_by_record(&self, record: &SourceRef) -> Result<Option<PersonId>, StoreError>;
    fn persons_by_a_number(&self, a_number: &ANumber) -> Result<Vec<PersonId>, StoreError>;
    fn family_by_source(&self, family: &SourceRef) -> Result<Option<FamilyId>, StoreError>;
    fn persons_in_encounter(&self, key: &str) -> Result<Vec<PersonId>, StoreError>;
    /// The three lookups above for many keys at once: what an import chunk
    /// needs before it decides. The default asks one key at a time; a
    /// backend may answer from one read transaction (per-key autocommit
    /// reads were a tenth of SQLite's import time in lock traffic).
    fn lookup_many(&self, records: &[&SourceRef], a_numbers: &[&ANumber], families: &[&SourceRef]) -> Result<Known, StoreError> {
        let mut known = Known::default();
        for r in records {
            if let Some(p) = self.person_by_record(r)? {
                known.records.insert((*r).clone(), p);
            }
        }
        for a in a_numbers {
            let found = self.persons_by_a_number(a)?;
            if !found.is_empty() {
                known.a_numbers.insert((*a).clone(), found);
            }
        }
        for f in families {
            if let Some(id) = self.family_by_source(f)? {
                known.families.insert((*f).clone(), id);
            }
        }
        Ok(known)
    }

    // -- queries --
    fn person(&self, id: PersonId) -> Result<Option<PersonView>, StoreError>;
    fn custody_history(&self, id: PersonId) -> Result<Vec<CustodyEntry>, StoreError>;
    fn search(&self, query: &SearchQuery) -> Result<Vec<PersonView>, StoreError>;
    fn separated_children(&self, today: jiff::civil::Date) -> Result<Vec<SeparatedChild>, StoreError>;
    fn findings(&self, open_only: bool) -> Result<Vec<FindingView>, StoreError>;
    /// Worklist items (linkage proposals), best first.
    fn worklist(&self, q: &WorklistQuery) -> Result<Vec<WorklistItem>, StoreError>;
    /// Every source record whose encounter's local date is in `from..=to`,
    /// with its person's identity: what the linker reads.
    fn linkage_rows(&self, from: jiff::civil::Date, to: jiff::civil::Date) -> Result<Vec<LinkageRow>, StoreError>;
    /// The highest log position a linkage run has recorded examining (0: none).
    fn linkage_cursor(&self) -> Result<u64, StoreError>;
    /// Every projection row, in a stable order: rebuild must reproduce it exactly.
    fn projection_dump(&self) -> Result<String, StoreError>;
}

/// A boxed or shared store is a store: the CLI picks its backend at run time
/// (`Box<dyn Store>`); the server hands one `Arc<dyn Store>` to the engine,
/// the reports and its own handlers.
macro_rules! forward_store {
    ($ptr:ident) => {
        impl<T: Store + ?Sized> Store for $ptr<T> {
            fn append(&self, batch: &[Append]) -> Result<Vec<Appended>, StoreError> {
                (**self).append(batch)
            }
            fn encode(&self, batch: &[Append]) -> Result<Option<Encoded>, StoreError> {
                (**self).encode(batch)
            }
            fn append_encoded(&self, batch: &[Append], encoded: Option<Encoded>) -> Result<Vec<Appended>, StoreError> {
                (**self).append_encoded(batch, encoded)
            }
            fn recall(&self, key: &str) -> Result<Option<(String, u64, u64)>, StoreError> {
                (**self).recall(key)
            }
            fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
                (**self).stream_version(stream)
            }
            fn read_stream(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError> {
                (**self).read_stream(stream)
            }
            fn read_from(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
                (**self).read_from(after, limit)
            }
            fn head(&self) -> Result<LogHead, StoreError> {
                (**self).head()
            }
            fn scan(&self, after: u64, until: u64, f: &mut dyn FnMut(&RawEvent<'_>) -> bool) -> Result<(), StoreError> {
                (**self).scan(after, until, f)
            }
            fn rebuild(&self, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
                (**self).rebuild(progress)
            }
            fn person_by_record(&self, record: &SourceRef) -> Result<Option<PersonId>, StoreError> {
                (**self).person_by_record(record)
            }
            fn persons_by_a_number(&self, a_number: &ANumber) -> Result<Vec<PersonId>, StoreError> {
                (**self).persons_by_a_number(a_number)
            }
            fn family_by_source(&self, family: &SourceRef) -> Result<Option<FamilyId>, StoreError> {
                (**self).family_by_source(family)
            }
            fn persons_in_encounter(&self, key: &str) -> Result<Vec<PersonId>, StoreError> {
                (**self).persons_in_encounter(key)
            }
            fn lookup_many(&self, records: &[&SourceRef], a_numbers: &[&ANumber], families: &[&SourceRef]) -> Result<Known, StoreError> {
                (**self).lookup_many(records, a_numbers, families)
            }
            fn person(&self, id: PersonId) -> Result<Option<PersonView>, StoreError> {
                (**self).person(id)
            }
            fn custody_history(&self, id: PersonId) -> Result<Vec<CustodyEntry>, StoreError> {
                (**self).custody_history(id)
            }
            fn search(&self, query: &SearchQuery) -> Result<Vec<PersonView>, StoreError> {
                (**self).search(query)
            }
            fn separated_children(&self, today: jiff::civil::Date) -> Result<Vec<SeparatedChild>, StoreError> {
                (**self).separated_children(today)
            }
            fn findings(&self, open_only: bool) -> Result<Vec<FindingView>, StoreError> {
                (**self).findings(open_only)
            }
            fn worklist(&self, q: &WorklistQuery) -> Result<Vec<WorklistItem>, StoreError> {
                (**self).worklist(q)
            }
            fn linkage_rows(&self, from: jiff::civil::Date, to: jiff::civil::Date) -> Result<Vec<LinkageRow>, StoreError> {
                (**self).linkage_rows(from, to)
            }
            fn linkage_cursor(&self) -> Result<u64, StoreError> {
                (**self).linkage_cursor()
            }
            fn projection_dump(&self) -> Result<String, StoreError> {
                (**self).projection_dump()
            }
        }
    };
}

use std::sync::Arc;
forward_store!(Box);
forward_store!(Arc);

/// A boxed audit log is an audit log (`kinship verify` checks the audit log
/// of the store the CLI chose at run time).
impl<T: AuditLog + ?Sized> AuditLog for Box<T> {
    fn audit_append(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        (**self).audit_append(entry)
    }
    fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        (**self).audit_query(q)
    }
    fn audit_read_from(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        (**self).audit_read_from(after, limit)
    }
    fn audit_head(&self) -> Result<LogHead, StoreError> {
        (**self).audit_head()
    }
}
