//! The hash chain: each event's hash covers its own content and the previous
//! event's hash, so changing, removing or reordering any event breaks every
//! hash after it.

use sha2::{Digest, Sha256};

pub const GENESIS: [u8; 32] = [0; 32];

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
    let mut h = Sha256::new();
    h.update(prev);
    h.update(f.position.to_be_bytes());
    h.update(f.id.as_bytes());
    // Length prefixes keep field boundaries unambiguous.
    for part in [f.stream, f.event_type, f.payload, f.meta] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.update(f.version.to_be_bytes());
    h.finalize().into()
}

pub fn hash_of(e: &crate::StoredEvent) -> [u8; 32] {
    event_hash(
        &e.prev_hash,
        &Fields {
            position: e.position,
            id: &e.id,
            stream: &e.stream,
            version: e.version,
            event_type: &e.event_type,
            payload: &e.payload,
            meta: &e.meta,
        },
    )
}
