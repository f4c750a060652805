//! The SQLite backend: the shared conformance suite, the database-level
//! append-only guarantee, and tamper detection by `verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kinship_store::{Store, conformance, verify};
use kinship_store_sqlite::SqliteStore;
use rusqlite::Connection;
use std::sync::Arc;
use tempfile::TempDir;

fn fresh(dirs: &std::sync::Mutex<Vec<TempDir>>) -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    dirs.lock().unwrap().push(dir);
    Arc::new(store)
}

#[test]
fn conformance_suite() {
    let dirs = std::sync::Mutex::new(vec![]);
    let failures = conformance::run_all(&|| fresh(&dirs));
    assert!(failures.is_empty(), "conformance failures:\n{}", failures.join("\n"));
}

/// A store with a small chained log, and a raw connection to tamper with it.
fn populated() -> (TempDir, SqliteStore, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    // Reuse the conformance story's data shape: 5 persons, 10 events.
    let make = || -> Arc<dyn Store> { Arc::new(SqliteStore::open_dir(dir.path()).unwrap()) };
    conformance::chain_verifies(&make).unwrap();
    let raw = Connection::open(dir.path().join("kinship.db")).unwrap();
    (dir, store, raw)
}

/// The first bad position, checked in one pass and with the log cut into
/// 2, 3 and 4 ranges verified at once: every cut must find the same event.
fn first_bad(store: &SqliteStore) -> Option<u64> {
    let whole = verify::verify(store, &mut |_| {}).unwrap().first_bad;
    for parts in 2..=4 {
        let cut = verify::verify_in_parts(store, parts, 0, &mut |_| {}).unwrap().first_bad;
        assert_eq!(cut, whole, "verify in {parts} parts disagrees with one pass");
    }
    whole.map(|b| b.position)
}

#[test]
fn the_database_refuses_update_and_delete_on_the_log() {
    let (_dir, store, raw) = populated();
    let upd = raw.execute("UPDATE events SET payload = 'x' WHERE position = 3", []);
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = raw.execute("DELETE FROM events WHERE position = 3", []);
    assert!(del.unwrap_err().to_string().contains("append-only"));
    assert_eq!(first_bad(&store), None);
}

fn drop_guards(raw: &Connection) {
    raw.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;").unwrap();
}

#[test]
fn verify_detects_a_flipped_byte() {
    let (_dir, store, raw) = populated();
    drop_guards(&raw);
    raw.execute("UPDATE events SET payload = replace(payload, 'ANA', 'ANB') WHERE position = 5", []).unwrap();
    assert_eq!(first_bad(&store), Some(5));
}

#[test]
fn verify_detects_a_deleted_event() {
    let (_dir, store, raw) = populated();
    drop_guards(&raw);
    raw.execute("DELETE FROM events WHERE position = 4", []).unwrap();
    assert_eq!(first_bad(&store), Some(4));
}

#[test]
fn verify_detects_reordered_events() {
    let (_dir, store, raw) = populated();
    drop_guards(&raw);
    // Swap the contents of positions 6 and 7 (keeping each row's position).
    raw.execute_batch(
        "CREATE TEMP TABLE s AS SELECT * FROM events WHERE position IN (6, 7);
         DELETE FROM events WHERE position IN (6, 7);
         INSERT INTO events SELECT 13 - position, id, stream, version, type, payload, meta, prev_hash, hash FROM s;",
    )
    .unwrap();
    assert_eq!(first_bad(&store), Some(6));
}

#[test]
fn verify_detects_a_truncated_log() {
    let (_dir, store, raw) = populated();
    drop_guards(&raw);
    raw.execute("DELETE FROM events WHERE position >= 9", []).unwrap();
    assert_eq!(first_bad(&store), Some(9));
}

#[test]
fn verify_detects_a_forged_hash_chain_that_does_not_match_the_head() {
    let (_dir, store, raw) = populated();
    drop_guards(&raw);
    // Rewriting the last event and its own hash still breaks the link to the head.
    raw.execute("UPDATE events SET hash = zeroblob(32) WHERE position = 10", []).unwrap();
    assert_eq!(first_bad(&store), Some(10));
}

#[test]
fn data_directory_is_created_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/kinship-data");
    let store = SqliteStore::open_dir(&nested).unwrap();
    assert!(nested.join("kinship.db").is_file());
    assert_eq!(store.head().unwrap().position, 0);
    let mode: String = Connection::open(nested.join("kinship.db")).unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

/// Separate connections (as separate processes would have) racing to append
/// at the same version: BEGIN IMMEDIATE serialises them and exactly one wins.
#[test]
fn separate_connections_race_and_exactly_one_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let make = || -> Arc<dyn Store> { Arc::new(SqliteStore::open_dir(&path).unwrap()) };
    // Seed one person at version 1.
    conformance::optimistic_concurrency(&|| make()).ok();
    let first = make().read_from(0, 1).unwrap();
    let person_stream = kinship_domain::StreamId::parse(&first[0].stream).unwrap();
    let version = make().stream_version(&person_stream).unwrap();
    let event: kinship_domain::Event = first[0].event().unwrap();
    let kinship_domain::Event::PersonRecorded { person, .. } = event else { panic!("seed event") };
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let path = path.clone();
            let stream = person_stream.clone();
            std::thread::spawn(move || {
                let store = SqliteStore::open_dir(&path).unwrap();
                let at = kinship_domain::time::Instant::parse("2018-05-08T10:00:00-05:00", None).unwrap();
                let ev = kinship_domain::Event::ReferredForProsecution { person, at, by: format!("u{i}") };
                store.append(&[kinship_store::Append {
                    key: format!("race-{i}"),
                    command_hash: "h".into(),
                    meta_json: "{}".into(),
                    expected: vec![(stream, version)],
                    events: vec![(uuid::Uuid::now_v7(), ev)],
                }])
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results.iter().filter(|r| matches!(r, Err(kinship_store::StoreError::Conflict { .. }))).count();
    assert_eq!((wins, conflicts), (1, 5), "{results:?}");
    assert!(verify::verify(&*make(), &mut |_| {}).unwrap().first_bad.is_none());
}

#[test]
fn verify_in_parts_counts_every_event_of_an_intact_log() {
    let (_dir, store, _raw) = populated();
    for parts in 1..=4 {
        let r = verify::verify_in_parts(&store, parts, 0, &mut |_| {}).unwrap();
        assert_eq!((r.events, r.first_bad), (10, None), "{parts} parts");
    }
}

#[test]
fn an_event_past_the_head_is_reported() {
    let (_dir, store, raw) = populated();
    raw.execute_batch(
        "INSERT INTO events SELECT 11, randomblob(16), stream, version + 100, type, payload, meta, hash, hash FROM events WHERE position = 10;",
    )
    .unwrap();
    assert_eq!(first_bad(&store), Some(11));
}

#[test]
fn a_data_directory_in_an_older_format_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    // Format 1 had no user_version and text event ids.
    Connection::open(dir.path().join("kinship.db"))
        .unwrap()
        .execute_batch("CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);")
        .unwrap();
    let err = SqliteStore::open_dir(dir.path()).err().expect("an old format must be refused").to_string();
    assert!(err.contains("storage format 1") && err.contains("kinship export"), "{err}");
}

#[path = "parts/security.rs"]
mod security;

#[path = "parts/checkpoint.rs"]
mod checkpoint;

#[path = "parts/format4.rs"]
mod format4;

#[test]
fn a_format_2_store_gains_the_separated_children_projection_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        kinship_store::conformance_separated::a_family_apart(&store).unwrap();
        (store.separated_children(jiff::civil::date(2000, 6, 1)).unwrap(), store.projection_dump().unwrap())
    };
    assert_eq!(before.0.len(), 2);
    // What a format-2 store looks like: no such tables.
    let raw = Connection::open(dir.path().join("kinship.db")).unwrap();
    raw.execute_batch("DROP TABLE separated_children; DROP TABLE separated_parents; PRAGMA user_version = 2;").unwrap();
    drop(raw);
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(store.separated_children(jiff::civil::date(2000, 6, 1)).unwrap(), before.0);
    assert_eq!(store.projection_dump().unwrap(), before.1);
    let raw = Connection::open(dir.path().join("kinship.db")).unwrap();
    assert_eq!(raw.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 5);
}

/// `tests/fixtures/format3-projections.db` was written by the session-4 code (main at
/// 5601bd7: `kinship sim --seed 7 --days 6 --per-day 30 --start 2018-06-01
/// --error-rate time_without_offset=0`, its BP import and `sim --load-only`,
/// then VACUUM): text person and family ids. Opening it rebuilds the
/// projections from its log in format 5, and every answer is the one the old
/// tables held: persons (by their `P-…` id), custody, families, the
/// separated-children list, A-number lookups.
#[test]
fn a_format_3_store_is_upgraded_by_rebuilding_its_projections_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kinship.db");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/format3-projections.db"), &db).unwrap();
    let raw = Connection::open(&db).unwrap();
    let strings = |sql: &str| -> Vec<String> {
        raw.prepare(sql).unwrap().query_map([], |r| r.get::<_, String>(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(raw.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 3);
    let persons = strings(
        "SELECT id || '|' || coalesce(given, '') || '|' || coalesce(family, '') || '|' || custody_status || '|' || \
         coalesce(family_id, '') || '|' || first_encountered FROM persons ORDER BY id",
    );
    let custody = strings("SELECT person_id || '|' || position || '|' || kind FROM custody ORDER BY person_id, position");
    let separated = strings("SELECT family_id || '|' || child_id || '|' || separation_id FROM separated_children ORDER BY 1");
    let memberships = strings("SELECT family_id || '|' || person_id || '|' || role || '|' || status FROM memberships ORDER BY 1");
    let a_numbers = strings(
        "SELECT a_number || '|' || group_concat(id) FROM (SELECT a_number, id FROM persons WHERE a_number IS NOT NULL ORDER BY id) GROUP BY a_number ORDER BY 1",
    );
    assert!(persons.len() > 100 && separated.len() > 3 && !custody.is_empty() && !memberships.is_empty(), "the fixture holds too little");
    drop(raw);

    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let raw = Connection::open(&db).unwrap();
    assert_eq!(raw.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 5);
    assert_eq!(raw.query_row("SELECT typeof(id) FROM persons LIMIT 1", [], |r| r.get::<_, String>(0)).unwrap(), "blob");
    let mut history = vec![];
    for line in &persons {
        let f: Vec<&str> = line.split('|').collect();
        let id = kinship_domain::PersonId::parse(f[0]).unwrap();
        let p = store.person(id).unwrap().expect("every person is still there");
        let family = p.family.as_ref().map(|m| m.family.to_string()).unwrap_or_default();
        let shown = [
            p.id.to_string(),
            p.given_names.unwrap_or_default(),
            p.family_names.unwrap_or_default(),
            p.custody.status.clone(),
            family,
            p.first_encountered.clone(),
        ];
        assert_eq!(shown.join("|"), *line);
        history.extend(store.custody_history(id).unwrap().into_iter().map(|c| format!("{}|{}|{}", f[0], c.position, c.kind)));
    }
    assert_eq!(history, custody);
    let listed: std::collections::BTreeSet<String> = store
        .separated_children(jiff::civil::date(2018, 6, 7))
        .unwrap()
        .into_iter()
        .map(|c| format!("{}|{}|{}", c.family, c.child.id, c.separation))
        .collect();
    assert!(!listed.is_empty());
    assert!(listed.iter().all(|l| separated.contains(l)), "{listed:?} not all in {separated:?}");
    for line in &a_numbers {
        let (a, ids) = line.split_once('|').unwrap();
        let found = store.persons_by_a_number(&kinship_domain::ANumber::parse(a).unwrap()).unwrap();
        assert_eq!(found.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","), ids);
    }
    // The upgraded projections are exactly what a rebuild makes.
    let upgraded = store.projection_dump().unwrap();
    store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(store.projection_dump().unwrap(), upgraded);
}

/// A payload that no longer parses stops `rebuild` at its position (found by
/// a reading thread), and the projections stay as they were: the rebuild is
/// one transaction.
#[test]
fn rebuild_stops_at_an_unreadable_event_and_changes_nothing() {
    let (dir, store, raw) = populated();
    let before = store.projection_dump().unwrap();
    drop_guards(&raw);
    raw.execute("UPDATE events SET payload = '{\"type\":' WHERE position = 7", []).unwrap();
    let err = store.rebuild(&mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("position 7") && err.contains("does not parse"), "{err}");
    assert_eq!(store.projection_dump().unwrap(), before);
    assert_eq!(scratch_files(dir.path()), Vec::<String>::new(), "a failed rebuild leaves its scratch files");
}

/// The scratch files `rebuild` writes its tables into, left in `dir`.
fn scratch_files(dir: &std::path::Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.filter(|n| n.contains(".rebuild-")).collect()
}

/// A rebuild killed mid-way leaves scratch files beside the store (here one
/// of garbage): the next rebuild replaces them, gives the same projections,
/// and removes its own files when done.
#[test]
fn rebuild_replaces_scratch_files_left_by_a_killed_rebuild() {
    let (dir, store, _raw) = populated();
    let before = store.projection_dump().unwrap();
    std::fs::write(dir.path().join("kinship.db.rebuild-1"), b"not a database").unwrap();
    // A part only an earlier version wrote (it wrote three).
    std::fs::write(dir.path().join("kinship.db.rebuild-2"), b"stale").unwrap();
    std::fs::write(dir.path().join("kinship.db.rebuild-0-journal"), b"stale").unwrap();
    store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(store.projection_dump().unwrap(), before);
    assert_eq!(scratch_files(dir.path()), Vec::<String>::new());
}
