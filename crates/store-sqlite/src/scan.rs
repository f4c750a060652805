//! Scanning the log for `verify`: each scan reads on a connection of its
//! own (so two ranges can be read at once) and lends each row's bytes
//! straight from SQLite, copying nothing.

use crate::{db_err, open_reader};
use kinship_store::{RawEvent, StoreError, chain};
use rusqlite::params;
use rusqlite::types::ValueRef;
use std::path::Path;

fn bytes<'a>(v: ValueRef<'a>) -> &'a [u8] {
    match v {
        ValueRef::Text(b) | ValueRef::Blob(b) => b,
        _ => &[],
    }
}

fn int(v: ValueRef<'_>) -> u64 {
    match v {
        ValueRef::Integer(i) => i as u64,
        _ => u64::MAX,
    }
}

/// How a row stores its event, from its columns' storage classes: all TEXT
/// (written before format 4), all BLOB (format 4), or a mix no append writes.
fn layout(stream: ValueRef<'_>, payload: ValueRef<'_>, meta: ValueRef<'_>) -> u8 {
    match (stream, payload, meta) {
        (ValueRef::Text(_), ValueRef::Text(_), ValueRef::Text(_)) => chain::LAYOUT_JSON,
        (ValueRef::Blob(_), ValueRef::Blob(_), ValueRef::Blob(_)) => chain::LAYOUT_BINARY,
        _ => chain::LAYOUT_MIXED,
    }
}

/// Whether scans read through a memory map.
const MAPPED: bool = true;

pub fn scan(path: &Path, after: u64, until: u64, f: &mut dyn FnMut(&RawEvent<'_>) -> bool) -> Result<(), StoreError> {
    let conn = open_reader(path, MAPPED)?;
    let mut st = conn
        .prepare(
            "SELECT position, id, stream, version, type, payload, meta, prev_hash, hash FROM events \
             WHERE position > ?1 AND position <= ?2 ORDER BY position",
        )
        .map_err(db_err)?;
    let mut rows = st.query(params![after as i64, until as i64]).map_err(db_err)?;
    while let Some(r) = rows.next().map_err(db_err)? {
        let col = |i: usize| r.get_ref(i).map_err(db_err);
        let (stream, payload, meta) = (col(2)?, col(5)?, col(6)?);
        let e = RawEvent {
            position: int(col(0)?),
            id: bytes(col(1)?),
            stream: bytes(stream),
            version: int(col(3)?),
            event_type: bytes(col(4)?),
            payload: bytes(payload),
            meta: bytes(meta),
            prev_hash: bytes(col(7)?),
            hash: bytes(col(8)?),
            layout: layout(stream, payload, meta),
        };
        if !f(&e) {
            break;
        }
    }
    Ok(())
}
