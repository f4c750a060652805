//! The hash chain: each event's hash covers its own content and the previous
//! event's hash, so changing, removing or reordering any event breaks every
//! hash after it.

use sha2::{Digest, Sha256};

pub const GENESIS: [u8; 32] = [0; 32];

/// How a row stores its event, as the hash sees it. [`LAYOUT_JSON`]: stream,
/// payload and metadata as JSON text (PostgreSQL, and SQLite rows written
/// before format 4), hashed as they always were. Any other layout (SQLite
/// format 4: [`LAYOUT_BINARY`]) is hashed with its number appended, so a row
/// whose storage was changed (a BLOB made TEXT with the same bytes) no longer
/// matches its hash: `verify` checks how a row is stored, not only its bytes.
pub const LAYOUT_JSON: u8 = 3;
pub const LAYOUT_BINARY: u8 = 4;
/// What a backend reports for a row whose columns mix layouts: it matches
/// no hash, so the row shows as altered.
pub const LAYOUT_MIXED: u8 = 0;

pub struct Fields<'a> {
    pub position: u64,
    pub id: &'a uuid::Uuid,
    pub stream: &'a str,
    pub version: u64,
    pub event_type: &'a str,
    pub payload: &'a str,
    pub meta: &'a str,
}

pub fn event_hash(prev: &[u8; 32], f: &Fields<'_>) -> [u8; 32] {
    hash_parts(
        prev,
        f.position,
        f.id.as_bytes(),
        [f.stream.as_bytes(), f.event_type.as_bytes(), f.payload.as_bytes(), f.meta.as_bytes()],
        f.version,
        LAYOUT_JSON,
    )
}

/// The hash of an event as stored, from its raw bytes (what `verify` reads).
/// `prev` is the event's own stored link; an id that is not 16 bytes long is
/// hashed as the nil id, so the event shows as altered.
pub fn raw_hash(e: &crate::RawEvent<'_>) -> [u8; 32] {
    let prev: [u8; 32] = e.prev_hash.try_into().unwrap_or([0xff; 32]);
    let id: [u8; 16] = e.id.try_into().unwrap_or([0; 16]);
    hash_parts(&prev, e.position, &id, [e.stream, e.event_type, e.payload, e.meta], e.version, e.layout)
}

/// The hash of an event from its stored columns: stream, type, payload,
/// metadata, in `layout` (see [`LAYOUT_JSON`]).
pub fn hash_parts(prev: &[u8; 32], position: u64, id: &[u8; 16], parts: [&[u8]; 4], version: u64, layout: u8) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(position.to_be_bytes());
    h.update(id);
    // Length prefixes keep field boundaries unambiguous.
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(version.to_be_bytes());
    if layout != LAYOUT_JSON {
        // One byte more than a JSON row's input, after fixed-size fields:
        // no JSON row's input can equal it.
        h.update([layout]);
    }
    h.finalize().into()
}
