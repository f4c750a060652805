//! Event log format 4: compact rows (codec.rs), written beside the rows of
//! a format-3 store, which keep their bytes, hashes and meaning.

use super::{drop_guards, first_bad, populated};
use kinship_domain::{Event, StreamId};
use kinship_store::{Append, Appended, Store, StoreError, verify};
use kinship_store_sqlite::SqliteStore;
use rusqlite::Connection;
use tempfile::TempDir;

/// A store written by format 3: `kinship import` by main at 5601bd7 (the
/// last format-3 version) of the first 40 Border Patrol rows and 12 ICE rows
/// of `kinship sim --seed 1 --days 2 --per-day 100` (84 events of 7 types, 57
/// idempotency keys), then `VACUUM`ed with 1 KB pages to keep the file small.
const FORMAT_3: &[u8] = include_bytes!("../fixtures/format3-log.db");

/// A row as the file holds it: position, storage classes and bytes of every column.
type RawRow = (i64, String, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

/// An idempotency row as format 3 wrote it: key, command hash, first and last position.
type KeyRow = (String, String, i64, i64);

fn raw_rows(path: &std::path::Path) -> Vec<RawRow> {
    let c = Connection::open(path).unwrap();
    let mut st = c
        .prepare(
            "SELECT position, typeof(stream) || typeof(payload) || typeof(meta), CAST(stream AS BLOB), CAST(payload AS BLOB), \
             CAST(meta AS BLOB), prev_hash, hash FROM events ORDER BY position",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A copy of the format-3 fixture, its rows and its idempotency index as written.
fn format_3_store() -> (TempDir, Vec<RawRow>, Vec<KeyRow>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kinship.db");
    std::fs::write(&path, FORMAT_3).unwrap();
    let c = Connection::open(&path).unwrap();
    assert_eq!(c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 3);
    let keys = c
        .prepare("SELECT key, command_hash, first_position, last_position FROM idempotency ORDER BY first_position")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    drop(c);
    let rows = raw_rows(&path);
    assert!(rows.len() > 50 && rows.iter().all(|r| r.1 == "texttexttext"), "the fixture is format 3");
    (dir, rows, keys)
}

#[test]
fn a_format_3_store_opens_verifies_and_reads_as_before_with_its_rows_untouched() {
    let (dir, rows, keys) = format_3_store();
    let path = dir.path().join("kinship.db");
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let report = verify::verify(&store, &mut |_| {}).unwrap();
    assert_eq!((report.first_bad, report.events), (None, rows.len() as u64));
    assert_eq!(first_bad(&store), None);
    // What readers get is what format 3 stored: the JSON text, as it is.
    let read = store.read_from(0, 10_000).unwrap();
    for (e, raw) in read.iter().zip(&rows) {
        assert_eq!((e.stream.as_bytes(), e.payload.as_bytes(), e.meta.as_bytes()), (&raw.2[..], &raw.3[..], &raw.4[..]));
        e.event().unwrap();
    }
    for (key, hash, first, last) in &keys {
        assert_eq!(store.recall(key).unwrap(), Some((hash.clone(), *first as u64, *last as u64)), "{key}");
    }
    // Rebuilding from the old rows gives the projections format 3 kept live.
    let live = store.projection_dump().unwrap();
    store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(store.projection_dump().unwrap(), live);
    drop(store);
    assert_eq!(raw_rows(&path), rows, "no byte of an old event changed");
    let c = Connection::open(&path).unwrap();
    // Format 4's log step, then format 5's rebuilt projections.
    assert_eq!(c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 5);
}

fn referred(person: kinship_domain::PersonId, by: &str) -> Event {
    let at = kinship_domain::time::Instant::parse("2018-05-08T10:00:00-05:00", None).unwrap();
    Event::ReferredForProsecution { person, at, by: by.into() }
}

fn command(key: &str, hash: &str, stream: &StreamId, version: u64, events: Vec<Event>) -> Append {
    Append {
        key: key.into(),
        command_hash: hash.into(),
        meta_json: format!(r#"{{"idempotency_key":"{key}"}}"#),
        expected: vec![(stream.clone(), version)],
        events: events.into_iter().map(|e| (uuid::Uuid::now_v7(), e)).collect(),
    }
}

#[test]
fn new_events_on_a_format_3_store_continue_its_streams_chain_and_keys() {
    let (dir, rows, keys) = format_3_store();
    let path = dir.path().join("kinship.db");
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let first = store.read_from(0, 1).unwrap().remove(0);
    let stream = StreamId::parse(&first.stream).unwrap();
    let Event::PersonRecorded { person, .. } = first.event().unwrap() else { panic!("the fixture begins with a person") };
    let version = store.stream_version(&stream).unwrap();
    assert!(version >= 1);
    let hash = "ab".repeat(32);
    let r = store.append(&[command("new-1", &hash, &stream, version, vec![referred(person, "u1")])]).unwrap();
    let head = rows.len() as u64 + 1;
    assert_eq!(r, vec![Appended::Committed { first: head, last: head }]);
    // The stream goes on across the two encodings: its versions, its
    // events in order, and a decision on the version before is stale.
    assert_eq!(store.stream_version(&stream).unwrap(), version + 1);
    let history = store.read_stream(&stream).unwrap();
    assert_eq!(history.iter().map(|e| e.version).collect::<Vec<_>>(), (1..=version + 1).collect::<Vec<_>>());
    assert_eq!(history.last().unwrap().event().unwrap(), referred(person, "u1"));
    match store.append(&[command("new-2", &hash, &stream, version, vec![referred(person, "u2")])]) {
        Err(StoreError::Conflict { expected, actual, .. }) => assert_eq!((expected, actual), (version, version + 1)),
        other => panic!("a stale version must conflict: {other:?}"),
    }
    // Old keys: the same command replays, another is refused.
    let (key, old_hash, f, l) = keys[0].clone();
    let again = store.append(&[command(&key, &old_hash, &stream, version + 1, vec![referred(person, "u3")])]).unwrap();
    assert_eq!(again, vec![Appended::Replayed { first: f as u64, last: l as u64 }]);
    let other = store.append(&[command(&key, &hash, &stream, version + 1, vec![referred(person, "u3")])]);
    assert!(matches!(other, Err(StoreError::KeyReused { .. })), "{other:?}");
    assert_eq!(store.append(&[command("new-1", &hash, &stream, 0, vec![])]).unwrap(), vec![Appended::Replayed { first: head, last: head }]);
    // One chain over both encodings; rebuild reads both.
    assert_eq!(first_bad(&store), None);
    let live = store.projection_dump().unwrap();
    store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(store.projection_dump().unwrap(), live);
    drop(store);
    let now = raw_rows(&path);
    assert_eq!(now[..rows.len()], rows[..], "no byte of an old event changed");
    assert_eq!(now[rows.len()].1, "blobblobblob", "new events are written in format 4");
    // A reopened store finds the stream's old and new events alike.
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(store.stream_version(&stream).unwrap(), version + 1);
}

#[test]
fn format_4_rows_are_compact_binary_and_verify_checks_their_bytes_and_storage() {
    let (dir, store, raw) = populated();
    let rows = raw_rows(&dir.path().join("kinship.db"));
    assert!(rows.iter().all(|r| r.1 == "blobblobblob" && r.2.len() == 17 && r.4.is_empty()), "{:?}", rows[0].1);
    // A byte flipped inside a compressed body.
    drop_guards(&raw);
    let mut body = rows[4].3.clone();
    let mid = body.len() / 2;
    body[mid] ^= 0x01;
    raw.execute("UPDATE events SET payload = ?1 WHERE position = 5", [&body]).unwrap();
    assert_eq!(first_bad(&store), Some(5));
    raw.execute("UPDATE events SET payload = ?1 WHERE position = 5", [&rows[4].3]).unwrap();
    assert_eq!(first_bad(&store), None);
    // The same bytes stored as TEXT read differently, so they are an alteration too.
    raw.execute("UPDATE events SET stream = CAST(stream AS TEXT) WHERE position = 3", []).unwrap();
    assert_eq!(first_bad(&store), Some(3));
}

#[test]
fn a_damaged_body_stops_rebuild_and_reads_with_its_position() {
    let (_dir, store, raw) = populated();
    let before = store.projection_dump().unwrap();
    drop_guards(&raw);
    raw.execute("UPDATE events SET payload = substr(payload, 1, length(payload) - 3) WHERE position = 7", []).unwrap();
    let err = store.rebuild(&mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("position 7") && err.contains("decompress"), "{err}");
    assert_eq!(store.projection_dump().unwrap(), before);
    let err = store.read_from(6, 1).unwrap_err().to_string();
    assert!(err.contains("position 7"), "{err}");
}

#[test]
fn a_store_whose_dictionary_copy_differs_is_refused() {
    let (dir, store, raw) = populated();
    drop(store);
    raw.execute("UPDATE log_dictionaries SET bytes = zeroblob(16) WHERE id = 1", []).unwrap();
    drop(raw);
    let err = SqliteStore::open_dir(dir.path()).err().expect("refused").to_string();
    assert!(err.contains("dictionary"), "{err}");
}
