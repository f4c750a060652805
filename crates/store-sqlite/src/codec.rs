//! How an event row is encoded in the log (on-disk format 4), and the one
//! place a stored event is decoded ([`decode_event`], [`stored_event`]).
//!
//! A row written by format 3 or earlier holds TEXT: `stream` as
//! `person/<uuid>`, `payload` as the event's JSON with its `"type"` tag,
//! `meta` as the command's metadata JSON. Those rows are never rewritten.
//! A row written by format 4 holds BLOBs:
//! - `stream`: 17 bytes, the stream's kind ([`kind_byte`]) then its id;
//! - `payload`: byte 0 the body's encoding ([`ZSTD_DICT_1`]), then one zstd
//!   frame of the event's JSON without its `"type"` member (the `type`
//!   column names it), a newline, and the metadata JSON; both keep every
//!   field name, so an event written today still decodes after fields are
//!   added (the log stays self-describing: decompressing gives JSON);
//! - `meta`: empty (the metadata is in the body: it shares strings with the
//!   payload, such as the record id, which compress once).
//!
//! The storage class of `payload` (TEXT or BLOB) tells the two apart.
//! The dictionary the frames are compressed with is fixed forever for its
//! encoding byte (a new one gets a new byte); it is compiled in and a copy is
//! kept in the store (`log_dictionaries`), so the file can be read without
//! this program (`zstd -D`).

use kinship_domain::{Event, StreamId};
use kinship_store::{StoreError, StoredEvent};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::OnceLock;

/// Encoding byte: zstd with dictionary 1 (`event-dict-1.zdict`).
pub const ZSTD_DICT_1: u8 = 1;
/// Dictionary 1, trained on generated events (`bench/train-event-dictionary.sh`).
pub const DICT_1: &[u8] = include_bytes!("event-dict-1.zdict");
/// zstd level: 3 is zstd's default; higher levels saved under 2 % more on
/// these rows for several times the CPU.
const LEVEL: i32 = 3;
/// A body larger than this is refused as damaged rather than allocated.
const MAX_BODY: u64 = 64 << 20;

fn cdict() -> &'static zstd::dict::EncoderDictionary<'static> {
    static D: OnceLock<zstd::dict::EncoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| zstd::dict::EncoderDictionary::copy(DICT_1, LEVEL))
}

fn ddict() -> &'static zstd::dict::DecoderDictionary<'static> {
    static D: OnceLock<zstd::dict::DecoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| zstd::dict::DecoderDictionary::copy(DICT_1))
}

pub fn kind_byte(s: &StreamId) -> u8 {
    match s {
        StreamId::Person(_) => 1,
        StreamId::Family(_) => 2,
        StreamId::Encounter(_) => 3,
        StreamId::Finding(_) => 4,
        StreamId::Link(_) => 5,
    }
}

/// A stream as a format-4 row stores it.
pub fn stream_key(s: &StreamId) -> [u8; 17] {
    let id = match s {
        StreamId::Person(p) => p.0,
        StreamId::Family(f) => f.0,
        StreamId::Encounter(e) => e.0,
        StreamId::Finding(f) => f.0,
        StreamId::Link(l) => l.0,
    };
    let mut key = [0u8; 17];
    key[0] = kind_byte(s);
    key[1..].copy_from_slice(id.as_bytes());
    key
}

/// The stream's text (`person/<uuid>`), from either encoding.
pub fn stream_text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_owned),
        ValueRef::Blob(b) if b.len() == 17 => {
            let kind = match b[0] {
                1 => "person",
                2 => "family",
                3 => "encounter",
                4 => "finding",
                5 => "link",
                _ => return None,
            };
            Some(format!("{kind}/{}", uuid::Uuid::from_slice(&b[1..]).ok()?))
        }
        _ => None,
    }
}

/// An idempotency key as format 4 stores it: the first 16 bytes of its
/// SHA-256. Two keys share a digest with probability about n²/2¹²⁹ (10⁻²¹ at
/// a billion keys); keys are per caller (`api:<user>:…`), so a caller could
/// at most make its own command look like a retry of another of its own.
pub fn key_digest(key: &str) -> [u8; 16] {
    let full = Sha256::digest(key.as_bytes());
    let mut d = [0u8; 16];
    d.copy_from_slice(&full[..16]);
    d
}

/// A command hash as stored: the 32 bytes of a lowercase hex SHA-256 (what
/// the engine computes), any other text as it is.
pub fn hash_value(h: &str) -> rusqlite::types::Value {
    if h.len() == 64
        && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && let Ok(bytes) = hex_decode(h)
    {
        return rusqlite::types::Value::Blob(bytes);
    }
    rusqlite::types::Value::Text(h.to_owned())
}

/// The command hash back as text, from either form.
pub fn hash_text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Blob(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        _ => String::new(),
    }
}

fn hex_decode(h: &str) -> Result<Vec<u8>, ()> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(()),
    };
    h.as_bytes().chunks(2).map(|p| Ok((digit(p[0])? << 4) | digit(*p.get(1).ok_or(())?)?)).collect()
}

/// Encodes events into format-4 bodies. One per thread (or batch): it keeps
/// its zstd context and buffers.
pub struct Encoder {
    zstd: zstd::bulk::Compressor<'static>,
    json: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Result<Self, StoreError> {
        let mut zstd = zstd::bulk::Compressor::with_prepared_dictionary(cdict()).map_err(zstd_err)?;
        // The chain protects every byte; the dictionary is known by the
        // encoding byte: neither a checksum nor a dictionary id is needed.
        zstd.include_checksum(false).map_err(zstd_err)?;
        zstd.include_dictid(false).map_err(zstd_err)?;
        zstd.include_contentsize(true).map_err(zstd_err)?;
        Ok(Self { zstd, json: Vec::with_capacity(2048) })
    }

    /// The stored body of `event` with the command's `meta`.
    pub fn encode(&mut self, event: &Event, meta: &str) -> Result<Vec<u8>, StoreError> {
        self.json.clear();
        serde_json::to_writer(&mut self.json, event).map_err(|e| StoreError::Invalid(e.to_string()))?;
        untag(&mut self.json, event.type_name())?;
        self.json.push(b'\n');
        self.json.extend_from_slice(meta.as_bytes());
        let mut out = vec![0u8; 1 + zstd::zstd_safe::compress_bound(self.json.len())];
        out[0] = ZSTD_DICT_1;
        // Into the slice after the encoding byte (a `Vec` destination would be written from its start).
        let n = self.zstd.compress_to_buffer(&self.json, &mut out[1..]).map_err(zstd_err)?;
        out.truncate(1 + n);
        Ok(out)
    }
}

fn zstd_err(e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("zstd: {e}"))
}

/// Removes the leading `"type":"<T>"` member serde writes for the
/// internally tagged `Event` (it always comes first).
fn untag(json: &mut Vec<u8>, type_name: &str) -> Result<(), StoreError> {
    let prefix_len = "{\"type\":\"".len() + type_name.len() + 1;
    let ok = json.starts_with(b"{\"type\":\"")
        && json.get(9..9 + type_name.len()) == Some(type_name.as_bytes())
        && json.get(prefix_len - 1) == Some(&b'"');
    if !ok {
        return Err(StoreError::Invalid(format!("{type_name}: its JSON does not start with its type tag")));
    }
    // `{"type":"T",…` → `{…`; `{"type":"T"}` → `{}`.
    let cut = if json.get(prefix_len) == Some(&b',') { prefix_len + 1 } else { prefix_len };
    json.drain(1..cut);
    Ok(())
}

/// Decodes format-4 bodies; one per thread, it keeps its zstd context and buffer.
pub struct Decoder {
    zstd: zstd::bulk::Decompressor<'static>,
    body: Vec<u8>,
    tagged: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Result<Self, String> {
        let zstd = zstd::bulk::Decompressor::with_prepared_dictionary(ddict()).map_err(|e| e.to_string())?;
        Ok(Self { zstd, body: Vec::new(), tagged: Vec::new() })
    }

    /// Decompresses a format-4 body: the event's JSON without its `"type"`
    /// member, and the metadata JSON.
    fn open_untagged(&mut self, blob: &[u8]) -> Result<(&[u8], &[u8]), String> {
        let split = self.decompress(blob)?;
        Ok((&self.body[..split], &self.body[split + 1..]))
    }

    /// Decompresses a body into `self.body`; answers where its metadata begins (less one).
    fn decompress(&mut self, blob: &[u8]) -> Result<usize, String> {
        let (&encoding, frame) = blob.split_first().ok_or("empty body")?;
        if encoding != ZSTD_DICT_1 {
            return Err(format!("unknown body encoding {encoding}"));
        }
        let size = match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(n)) if n <= MAX_BODY => n as usize,
            _ => return Err("the body's zstd frame is damaged".into()),
        };
        self.body.clear();
        self.body.reserve(size);
        self.zstd.decompress_to_buffer(frame, &mut self.body).map_err(|e| format!("the body does not decompress: {e}"))?;
        self.body.iter().position(|&b| b == b'\n').ok_or_else(|| "the body has no metadata".into())
    }

    /// Decompresses a format-4 body and answers the event's JSON with its
    /// `"type"` tag put back (as format 3 stored it) and the metadata JSON.
    fn open(&mut self, event_type: &str, blob: &[u8]) -> Result<(&[u8], &[u8]), String> {
        let split = self.decompress(blob)?;
        let (payload, meta) = (&self.body[..split], &self.body[split + 1..]);
        if event_type.is_empty() || !event_type.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("bad event type {event_type:?}"));
        }
        let rest = payload.strip_prefix(b"{").ok_or("the payload is not a JSON object")?;
        let tagged = &mut self.tagged;
        tagged.clear();
        tagged.extend_from_slice(b"{\"type\":\"");
        tagged.extend_from_slice(event_type.as_bytes());
        tagged.push(b'"');
        if rest != b"}" {
            tagged.push(b',');
        }
        tagged.extend_from_slice(rest);
        Ok((tagged, meta))
    }
}

thread_local! {
    static DECODER: RefCell<Option<Decoder>> = const { RefCell::new(None) };
    static ENCODER: RefCell<Option<Encoder>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's encoder (made on first use: a zstd context
/// is worth keeping between a server's single-command appends).
pub fn with_encoder<T>(f: impl FnOnce(&mut Encoder) -> Result<T, StoreError>) -> Result<T, StoreError> {
    ENCODER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Encoder::new()?);
        }
        match slot.as_mut() {
            Some(e) => f(e),
            None => Err(StoreError::Backend("no encoder".into())),
        }
    })
}

/// Runs `f` with this thread's decoder (made on first use).
fn with_decoder<T>(f: impl FnOnce(&mut Decoder) -> Result<T, String>) -> Result<T, String> {
    DECODER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Decoder::new()?);
        }
        match slot.as_mut() {
            Some(d) => f(d),
            None => Err("no decoder".into()),
        }
    })
}

fn corrupt(position: u64) -> impl Fn(String) -> StoreError {
    move |reason| StoreError::Corrupt { position, reason }
}

/// The one way a stored event becomes an [`Event`], for both encodings:
/// `rebuild` and every reader go through it.
pub fn decode_event(position: u64, event_type: &str, payload: ValueRef<'_>) -> Result<Event, StoreError> {
    match payload {
        ValueRef::Text(json) => serde_json::from_slice(json).map_err(|e| format!("payload does not parse: {e}")),
        // The type column names the variant: the body is read straight into
        // it, without serde's buffering of an internally tagged enum.
        ValueRef::Blob(blob) => with_decoder(|d| {
            let (payload, _) = d.open_untagged(blob)?;
            crate::event_body::decode(event_type, payload).map_err(|e| format!("payload does not parse as a {event_type:?} event: {e}"))
        }),
        _ => Err("payload is neither text nor a blob".into()),
    }
    .map_err(corrupt(position))
}

/// A row of `SELECT position, id, stream, version, type, payload, meta,
/// prev_hash, hash` as the store's readers see it: the stream as text and the
/// payload and metadata as JSON, whichever encoding the row has.
pub fn stored_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredEvent, StoreError>> {
    let position = r.get::<_, i64>(0)? as u64;
    let event_type: String = r.get(4)?;
    let (payload, meta) = match (r.get_ref(5)?, r.get_ref(6)?) {
        (ValueRef::Blob(blob), _) => {
            let opened = with_decoder(|d| {
                let (tagged, meta) = d.open(&event_type, blob)?;
                Ok((String::from_utf8_lossy(tagged).into_owned(), String::from_utf8_lossy(meta).into_owned()))
            });
            match opened {
                Ok(pm) => pm,
                Err(reason) => return Ok(Err(StoreError::Corrupt { position, reason })),
            }
        }
        (p, m) => (
            String::from_utf8_lossy(p.as_bytes().unwrap_or_default()).into_owned(),
            String::from_utf8_lossy(m.as_bytes().unwrap_or_default()).into_owned(),
        ),
    };
    let Some(stream) = stream_text(r.get_ref(2)?) else {
        return Ok(Err(StoreError::Corrupt { position, reason: "the stream is neither text nor a stream key".into() }));
    };
    let prev: Vec<u8> = r.get(7)?;
    let hash: Vec<u8> = r.get(8)?;
    Ok(Ok(StoredEvent {
        position,
        id: match r.get_ref(1)? {
            ValueRef::Blob(b) => crate::uuid_of(b),
            _ => uuid::Uuid::nil(),
        },
        stream,
        version: r.get::<_, i64>(3)? as u64,
        event_type,
        payload,
        meta,
        prev_hash: prev.try_into().unwrap_or([0xff; 32]),
        hash: hash.try_into().unwrap_or([0xff; 32]),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// Dictionary 1 may never change: every format-4 row written with it
    /// would stop decoding. A new dictionary gets a new encoding byte.
    #[test]
    fn dictionary_1_is_the_one_format_4_rows_were_written_with() {
        let hex: String = Sha256::digest(DICT_1).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "678d3bbb576030e56d00f927c1aee504a6651de0d44aafde2aec4c26cf0f9309");
    }

    #[test]
    fn a_body_opens_to_the_tagged_json_and_the_metadata() {
        let person = kinship_domain::PersonId::new_v7();
        let at = kinship_domain::time::Instant::parse("2018-05-08T10:00:00-05:00", None).unwrap();
        let event = Event::ReferredForProsecution { person, at, by: "a\nb".into() };
        let meta = r#"{"k":"v\n"}"#;
        let body = Encoder::new().unwrap().encode(&event, meta).unwrap();
        assert_eq!(body[0], ZSTD_DICT_1);
        let mut d = Decoder::new().unwrap();
        let (tagged, m) = d.open("ReferredForProsecution", &body).unwrap();
        assert_eq!(tagged, serde_json::to_vec(&event).unwrap());
        assert_eq!(m, meta.as_bytes());
        assert_eq!(decode_event(1, "ReferredForProsecution", ValueRef::Blob(&body)).unwrap(), event);
        assert!(decode_event(1, "FamilyFormed", ValueRef::Blob(&body)).is_err(), "the type column chooses the variant");
    }

    #[test]
    fn stream_keys_and_digests() {
        let s = StreamId::Family(kinship_domain::FamilyId::new_v7());
        let key = stream_key(&s);
        assert_eq!(stream_text(ValueRef::Blob(&key)), Some(s.to_string()));
        assert_eq!(stream_text(ValueRef::Text(s.to_string().as_bytes())), Some(s.to_string()));
        assert_eq!(stream_text(ValueRef::Blob(&key[1..])), None);
        let h = "0123456789abcdef".repeat(4);
        assert!(matches!(hash_value(&h), rusqlite::types::Value::Blob(ref b) if b.len() == 32));
        match hash_value(&h) {
            rusqlite::types::Value::Blob(b) => assert_eq!(hash_text(ValueRef::Blob(&b)), h),
            other => panic!("{other:?}"),
        }
        assert_eq!(hash_value("ABC"), rusqlite::types::Value::Text("ABC".into()));
        assert_ne!(key_digest("a"), key_digest("b"));
    }
}
