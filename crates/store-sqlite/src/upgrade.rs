//! Upgrades of older on-disk formats. The events are never rewritten.
//! The log's side (3 → 4) converts the idempotency index to digests and
//! drops `streams` (derived from the log); later events are written in
//! format 4 beside the old rows. Every other change since format 2 is in the
//! projections (new tables, dropped indexes, 16-byte person and family keys
//! in format 5), so one rebuild from the log gives exactly the current
//! projections, however old they were.

use crate::{Opening, codec, db_err, schema};
use kinship_store::StoreError;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// The oldest format this version upgrades in place; older ones are refused.
pub const UPGRADABLE_FROM: i64 = 2;

/// Brings a store in format [`UPGRADABLE_FROM`]..[`schema::FORMAT`] up to
/// the current format. The log's step is one transaction and records
/// format 4; the projections' rebuild is another and records the current
/// format. A crash in between leaves a format-4 store, whose projections are
/// rebuilt on the next open.
pub fn upgrade(conn: &mut Connection, path: &Path, from: i64, report: &mut dyn FnMut(Opening)) -> Result<(), StoreError> {
    let events = conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| r.get::<_, i64>(0)).map_err(db_err)?;
    report(Opening::Upgrading { from, to: schema::FORMAT, events: events as u64 });
    if from < 4 {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        to_format_4(&tx)?;
        tx.execute_batch("PRAGMA user_version = 4;").map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    crate::rebuild::rebuild(conn, path, &mut |n| report(Opening::Rebuilt(n)))?;
    conn.execute_batch(&format!("PRAGMA user_version = {};", schema::FORMAT)).map_err(db_err)
}

/// 3 → 4: idempotency rows keyed by digest, command hashes as bytes (the
/// answers stay the same: `recall` gives the hash back as the same hex); the
/// `streams` table dropped, since versions are read from the log's index.
fn to_format_4(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE idempotency_4 (key BLOB PRIMARY KEY, command_hash BLOB NOT NULL, \
           first_position INTEGER NOT NULL, last_position INTEGER NOT NULL) WITHOUT ROWID;",
    )
    .map_err(db_err)?;
    {
        let mut read = tx.prepare("SELECT key, command_hash, first_position, last_position FROM idempotency").map_err(db_err)?;
        let mut write = tx.prepare("INSERT INTO idempotency_4 VALUES (?1, ?2, ?3, ?4)").map_err(db_err)?;
        let mut rows = read.query([]).map_err(db_err)?;
        while let Some(r) = rows.next().map_err(db_err)? {
            // Text is format 3's; a value already in bytes is kept as it is.
            let key: Value = match r.get_ref(0).map_err(db_err)? {
                ValueRef::Text(t) => Value::Blob(codec::key_digest(&String::from_utf8_lossy(t)).to_vec()),
                other => other.into(),
            };
            let hash: Value = match r.get_ref(1).map_err(db_err)? {
                ValueRef::Text(t) => codec::hash_value(&String::from_utf8_lossy(t)),
                other => other.into(),
            };
            let (first, last): (i64, i64) = (r.get(2).map_err(db_err)?, r.get(3).map_err(db_err)?);
            write.execute(rusqlite::params![key, hash, first, last]).map_err(db_err)?;
        }
    }
    tx.execute_batch("DROP TABLE idempotency; ALTER TABLE idempotency_4 RENAME TO idempotency; DROP TABLE IF EXISTS streams;")
        .map_err(db_err)
}
