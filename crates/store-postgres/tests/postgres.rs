//! The PostgreSQL backend: the shared conformance suite, the append-only log
//! (triggers for everyone, grants for the application role), tamper
//! detection, and the same projections as SQLite for the same appends.
//! Each test gets a fresh database on a private PostgreSQL cluster (or on
//! DATABASE_URL's server): see `kinship_store_postgres::testing`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "parts/security.rs"]
mod security;

use kinship_app::Engine;
use kinship_domain::{Profile, StreamId};
use kinship_store::{Append, Store, StoreError, conformance, verify};
use kinship_store_postgres::testing::{self, TestDb};
use kinship_store_postgres::{PgStore, migrate};
use kinship_store_sqlite::SqliteStore;
use std::sync::{Arc, Mutex};

fn fresh(dbs: &Mutex<Vec<TestDb>>) -> Arc<dyn Store> {
    let db = testing::fresh_database().unwrap();
    let store = db.store().unwrap();
    dbs.lock().unwrap().push(db);
    Arc::new(store)
}

#[test]
fn conformance_suite() {
    let dbs = Mutex::new(vec![]);
    let failures = conformance::run_all(&|| fresh(&dbs));
    assert!(failures.is_empty(), "conformance failures:\n{}", failures.join("\n"));
}

/// A database with a small chained log (5 persons, 10 events).
fn populated() -> (TestDb, PgStore) {
    let db = testing::fresh_database().unwrap();
    let make = || -> Arc<dyn Store> { Arc::new(db.store().unwrap()) };
    conformance::chain_verifies(&make).unwrap();
    let store = db.store().unwrap();
    (db, store)
}

fn refused(client: &mut postgres::Client, sql: &str) -> String {
    match client.batch_execute(sql) {
        Ok(()) => panic!("{sql} was allowed"),
        Err(e) => e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()),
    }
}

#[test]
fn triggers_refuse_update_delete_and_truncate_on_the_log_even_for_its_owner() {
    let (db, store) = populated();
    let mut owner = db.connect_as_owner().unwrap();
    for sql in ["UPDATE events SET payload = 'x' WHERE position = 3", "DELETE FROM events WHERE position = 3", "TRUNCATE events"] {
        let msg = refused(&mut owner, sql);
        assert!(msg.contains("append-only"), "{sql}: {msg}");
    }
    assert!(refused(&mut owner, "DELETE FROM log_head").contains("append-only"));
    assert_eq!(verify::verify(&store, &mut |_| {}).unwrap().first_bad, None);
    assert_eq!(store.head().unwrap().position, 10);
}

#[test]
fn the_application_role_may_not_update_or_delete_the_log() {
    let (db, store) = populated();
    let mut app = db.connect_as_app().unwrap();
    // The grant refuses before any trigger runs, and the triggers cannot be
    // switched off by this role either.
    for sql in [
        "UPDATE events SET payload = 'x' WHERE position = 3",
        "DELETE FROM events WHERE position = 3",
        "TRUNCATE events",
        "DELETE FROM idempotency",
        "UPDATE idempotency SET command_hash = 'x'",
        "DELETE FROM log_head",
        "DELETE FROM streams",
    ] {
        let msg = refused(&mut app, sql);
        assert!(msg.contains("permission denied"), "{sql}: {msg}");
    }
    for sql in ["ALTER TABLE events DISABLE TRIGGER USER", "DROP TABLE events", "DROP TRIGGER events_no_update_or_delete ON events"] {
        let msg = refused(&mut app, sql);
        assert!(msg.contains("must be owner"), "{sql}: {msg}");
    }
    // What the application does need still works as this role.
    assert_eq!(app.query_one("SELECT count(*) FROM events", &[]).unwrap().get::<_, i64>(0), 10);
    assert_eq!(store.rebuild(&mut |_| {}).unwrap(), 10);
    assert_eq!(verify::verify(&store, &mut |_| {}).unwrap().first_bad, None);
}

/// The owner may switch the triggers off (as someone with the database's
/// files could do anything): `verify` is what catches it.
fn tamper(db: &TestDb, sql: &str) {
    let mut owner = db.connect_as_owner().unwrap();
    owner.batch_execute(&format!("ALTER TABLE events DISABLE TRIGGER USER; {sql}; ALTER TABLE events ENABLE TRIGGER USER;")).unwrap();
}

fn first_bad(store: &PgStore) -> Option<u64> {
    verify::verify(store, &mut |_| {}).unwrap().first_bad.map(|b| b.position)
}

#[test]
fn verify_detects_tampering_in_postgres() {
    let (db, store) = populated();
    tamper(&db, "UPDATE events SET payload = replace(payload, 'ANA', 'ANB') WHERE position = 5");
    assert_eq!(first_bad(&store), Some(5));

    let (db, store) = populated();
    tamper(&db, "DELETE FROM events WHERE position = 4");
    assert_eq!(first_bad(&store), Some(4));

    let (db, store) = populated();
    tamper(
        &db,
        "CREATE TEMP TABLE s AS SELECT * FROM events WHERE position IN (6, 7);
         DELETE FROM events WHERE position IN (6, 7);
         INSERT INTO events SELECT 13 - position, id, stream, version, type, payload, meta, prev_hash, hash FROM s",
    );
    assert_eq!(first_bad(&store), Some(6));

    let (db, store) = populated();
    tamper(&db, "DELETE FROM events WHERE position >= 9");
    assert_eq!(first_bad(&store), Some(9));

    let (db, store) = populated();
    tamper(&db, "UPDATE events SET hash = decode(repeat('00', 32), 'hex') WHERE position = 10");
    assert_eq!(first_bad(&store), Some(10));
}

/// Separate stores (as separate server processes would have) racing to
/// append at the same version: the log-head lock serialises them and
/// exactly one wins; the others get the same conflict error as on SQLite.
#[test]
fn separate_stores_race_and_exactly_one_commits() {
    let db = testing::fresh_database().unwrap();
    let seed = db.store().unwrap();
    conformance::optimistic_concurrency(&|| -> Arc<dyn Store> { Arc::new(db.store().unwrap()) }).ok();
    let first = seed.read_from(0, 1).unwrap();
    let stream = StreamId::parse(&first[0].stream).unwrap();
    let version = seed.stream_version(&stream).unwrap();
    let kinship_domain::Event::PersonRecorded { person, .. } = first[0].event().unwrap() else { panic!("seed event") };
    let url = db.app_url.clone();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let (url, stream) = (url.clone(), stream.clone());
            std::thread::spawn(move || {
                let store = PgStore::open(&url).unwrap();
                let at = kinship_domain::time::Instant::parse("2018-05-08T10:00:00-05:00", None).unwrap();
                let ev = kinship_domain::Event::ReferredForProsecution { person, at, by: format!("u{i}") };
                store.append(&[Append {
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
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict { expected, actual, .. }) if *expected == version && *actual == version + 1))
        .count();
    assert_eq!((wins, conflicts), (1, 5), "{results:?}");
    assert!(verify::verify(&seed, &mut |_| {}).unwrap().first_bad.is_none());
}

#[test]
fn migrations_run_once_and_a_role_that_may_not_migrate_is_told_what_to_do() {
    let db = testing::server().unwrap().empty_database().unwrap();
    // The application role may not create tables in a database it does not own.
    let err = PgStore::open(&db.app_url).err().expect("the app role cannot create the schema");
    assert!(err.to_string().contains("kinship migrate"), "{err}");
    assert_eq!(PgStore::migrate(&db.owner_url, Some(testing::APP_ROLE)).unwrap(), migrate::MIGRATIONS.len());
    assert_eq!(PgStore::migrate(&db.owner_url, Some(testing::APP_ROLE)).unwrap(), 0, "a second run applies nothing");
    let mut owner = db.connect_as_owner().unwrap();
    assert_eq!(migrate::current_version(&mut owner).unwrap(), migrate::LATEST);
    // Opening as the owner of an unmigrated database migrates it on the way.
    let other = testing::server().unwrap().empty_database().unwrap();
    let store = PgStore::open(&other.owner_url).unwrap();
    assert_eq!(store.head().unwrap().position, 0);
    let bad = PgStore::open("postgres://user:secret-password@127.0.0.1:1/x").err().expect("nothing listens on port 1");
    assert!(!bad.to_string().contains("secret-password"), "{bad}");
}

fn sqlite_demo(families: usize) -> (tempfile::TempDir, Engine<SqliteStore>, kinship_app::demo::DemoSummary) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(SqliteStore::open_dir(&dir.path().join("db")).unwrap(), Profile::default_profile().unwrap());
    let summary = kinship_app::demo::load(&engine, dir.path(), families).unwrap();
    (dir, engine, summary)
}

/// Replays a log into another store, one append per original command (the
/// events that share a command's metadata), stating each stream's version.
fn replay(from: &dyn Store, into: &dyn Store) {
    let events = from.read_from(0, usize::MAX >> 1).unwrap();
    let mut batch: Vec<Append> = vec![];
    for e in &events {
        let stream = StreamId::parse(&e.stream).unwrap();
        let same_command = batch.last().is_some_and(|a| a.meta_json == e.meta);
        if !same_command {
            batch.push(Append {
                key: format!("replay-{}", e.position),
                command_hash: "replay".into(),
                meta_json: e.meta.clone(),
                expected: vec![],
                events: vec![],
            });
        }
        let a = batch.last_mut().unwrap();
        if !a.expected.iter().any(|(s, _)| *s == stream) {
            a.expected.push((stream, e.version - 1));
        }
        a.events.push((e.id, e.event().unwrap()));
    }
    for chunk in batch.chunks(500) {
        into.append(chunk).unwrap();
    }
}

/// The same appends give byte-identical projections, and the same log read
/// back (each backend's chain verifying), on SQLite and PostgreSQL;
/// rebuilding PostgreSQL changes nothing.
#[test]
fn sqlite_and_postgres_project_the_same_appends_identically() {
    let (_dir, sqlite, _) = sqlite_demo(40);
    // A few more kinds of event than the demo makes on its own.
    kinship_app::sweep::age_outs(&sqlite, jiff::civil::date(2040, 1, 1), &|k| {
        Engine::<SqliteStore>::meta(&kinship_app::sweep::system_actor(), k)
    })
    .unwrap();
    // The linker's proposals and its cursor, as the server makes them.
    kinship_app::linkage::run(&sqlite, &kinship_app::linkage::LinkageOptions::default()).unwrap();
    let db = testing::fresh_database().unwrap();
    let pg = db.store().unwrap();
    replay(&sqlite.store, &pg);
    let types: std::collections::BTreeSet<String> = pg.read_from(0, 1_000_000).unwrap().into_iter().map(|e| e.event_type).collect();
    assert!(types.len() >= 12, "the comparison covers many kinds of event: {types:?}");
    // Each backend chains the bytes it stores (SQLite's format-4 rows are
    // compressed), so the hashes differ; the log reads back the same, byte
    // for byte, and each chain verifies.
    assert_eq!(pg.head().unwrap().position, sqlite.store.head().unwrap().position, "same positions");
    let (from_pg, from_sqlite) = (pg.read_from(0, 1_000_000).unwrap(), sqlite.store.read_from(0, 1_000_000).unwrap());
    assert_eq!(from_pg.len(), from_sqlite.len());
    for (p, s) in from_pg.iter().zip(&from_sqlite) {
        let fields = |e: &kinship_store::StoredEvent| {
            (e.position, e.id, e.stream.clone(), e.version, e.event_type.clone(), e.payload.clone(), e.meta.clone())
        };
        assert_eq!(fields(p), fields(s));
    }
    for store in [&pg as &dyn Store, &sqlite.store] {
        let report = kinship_store::verify::verify(store, &mut |_| {}).unwrap();
        assert_eq!(report.first_bad, None);
    }
    let (s, p) = (sqlite.store.projection_dump().unwrap(), pg.projection_dump().unwrap());
    assert!(s.lines().count() > 500, "a substantial dump");
    assert_same(&s, &p);
    pg.rebuild(&mut |_| {}).unwrap();
    assert_same(&s, &pg.projection_dump().unwrap());
    let today = jiff::Zoned::now().date();
    assert_eq!(pg.separated_children(today).unwrap(), sqlite.store.separated_children(today).unwrap());
    assert_eq!(pg.findings(false).unwrap(), sqlite.store.findings(false).unwrap());
    let q = kinship_store::SearchQuery { max_age: Some(17), limit: 50, ..Default::default() };
    assert_eq!(pg.search(&q).unwrap(), sqlite.store.search(&q).unwrap());
    let w = kinship_store::WorklistQuery { limit: 1000, ..Default::default() };
    assert_eq!(pg.worklist(&w).unwrap(), sqlite.store.worklist(&w).unwrap());
    assert!(pg.linkage_cursor().unwrap() > 0);
    assert_eq!(pg.linkage_cursor().unwrap(), sqlite.store.linkage_cursor().unwrap());
    let (from, to) = (jiff::civil::date(2000, 1, 1), jiff::civil::date(2100, 1, 1));
    assert_eq!(pg.linkage_rows(from, to).unwrap(), sqlite.store.linkage_rows(from, to).unwrap());
}

fn assert_same(sqlite: &str, pg: &str) {
    if sqlite != pg {
        let (s, p): (Vec<_>, Vec<_>) = (sqlite.lines().collect(), pg.lines().collect());
        let at = s.iter().zip(&p).position(|(a, b)| a != b).unwrap_or(s.len().min(p.len()));
        panic!("dumps differ at line {at}:\nsqlite: {:?}\npostgres: {:?}", s.get(at), p.get(at));
    }
}

/// The application layer runs unchanged on PostgreSQL: the demo's commands
/// give the same outcome as on SQLite, the chain verifies, rebuild = live.
#[test]
fn the_demo_runs_on_postgres_through_the_engine() {
    let (_dir, sqlite, expected) = sqlite_demo(30);
    let db = testing::fresh_database().unwrap();
    let engine = Engine::new(db.store().unwrap(), Profile::default_profile().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let summary = kinship_app::demo::load(&engine, dir.path(), 30).unwrap();
    assert_eq!(format!("{summary:?}"), format!("{expected:?}"));
    assert_eq!(engine.store.head().unwrap().position, sqlite.store.head().unwrap().position);
    let today = jiff::Zoned::now().date();
    assert_eq!(engine.store.separated_children(today).unwrap().len(), sqlite.store.separated_children(today).unwrap().len());
    let live = engine.store.projection_dump().unwrap();
    engine.store.rebuild(&mut |_| {}).unwrap();
    assert_same(&live, &engine.store.projection_dump().unwrap());
    assert!(verify::verify(&engine.store, &mut |_| {}).unwrap().first_bad.is_none());
}

/// Batches that mix retries, stale versions, read-only streams and reused
/// keys get the same answers (results and errors) from both backends.
#[test]
fn tricky_batches_answer_as_on_sqlite() {
    use kinship_domain::{Event, PersonId};
    let (a, b) = (PersonId::new_v7(), PersonId::new_v7());
    let at = kinship_domain::time::Instant::parse("2018-05-08T10:00:00-05:00", None).unwrap();
    let booked = Event::BookedIn { person: a, agency: "BP".into(), facility: None, at: at.clone() };
    let referred = Event::ReferredForProsecution { person: a, at: at.clone(), by: "u".into() };
    let ids: Vec<uuid::Uuid> = (0..20).map(|_| uuid::Uuid::now_v7()).collect();
    let cmd = |key: &str, hash: &str, expected: Vec<(PersonId, u64)>, events: Vec<(usize, &Event)>| Append {
        key: key.into(),
        command_hash: hash.into(),
        meta_json: format!("{{\"key\":\"{key}\"}}"),
        expected: expected.into_iter().map(|(p, v)| (StreamId::Person(p), v)).collect(),
        events: events.into_iter().map(|(i, e)| (ids[i], e.clone())).collect(),
    };
    let batches = vec![
        vec![cmd("k1", "h1", vec![(a, 0)], vec![(0, &booked)]), cmd("k1", "h1", vec![(a, 0)], vec![(1, &booked)])],
        vec![cmd("k2", "h2", vec![(a, 1)], vec![(2, &referred)]), cmd("k3", "h3", vec![(a, 2)], vec![(3, &referred), (4, &booked)])],
        vec![cmd("k4", "h4", vec![(a, 2)], vec![(5, &referred)])],
        vec![cmd("k5", "h5", vec![(a, 4), (a, 4)], vec![(6, &referred)])],
        vec![cmd("k1", "other", vec![(a, 4)], vec![(7, &referred)])],
        vec![cmd("k6", "h6", vec![(b, 0), (a, 5)], vec![(8, &referred)]), cmd("k7", "h7", vec![(b, 0)], vec![])],
        vec![cmd("k8", "h8", vec![(b, 0), (a, 6)], vec![]), cmd("k9", "h9", vec![], vec![])],
        vec![cmd("k10", "h10", vec![], vec![(9, &referred)])],
        vec![cmd("k11", "h11", vec![(b, 1), (a, 6)], vec![(10, &referred)])],
    ];
    let mut outcomes = vec![];
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open_dir(dir.path()).unwrap();
    let db = testing::fresh_database().unwrap();
    let pg = db.store().unwrap();
    for batch in &batches {
        let (s, p) = (sqlite.append(batch), pg.append(batch));
        assert_eq!(format!("{s:?}"), format!("{p:?}"), "batch {batch:?}");
        // Same positions; the hashes differ, since each backend chains the
        // bytes it stores (SQLite format 4 compresses them).
        assert_eq!(sqlite.head().unwrap().position, pg.head().unwrap().position);
        outcomes.push(p.is_ok());
    }
    // Stale version; a stream stated twice at one version (allowed); a reused
    // key; read-only streams; an undeclared stream; a read-only stream that moved.
    assert_eq!(outcomes, [true, true, false, true, false, true, true, false, false], "the batches test what they say");
    assert_same(&sqlite.projection_dump().unwrap(), &pg.projection_dump().unwrap());
    for key in ["k1", "k3", "k7", "k8", "k9", "k4"] {
        assert_eq!(sqlite.recall(key).unwrap(), pg.recall(key).unwrap(), "{key}");
    }
}

#[test]
fn migration_4_fills_the_separated_children_projection_from_the_others() {
    let db = testing::fresh_database().unwrap();
    let today = jiff::civil::date(2000, 6, 1);
    let before = {
        let store = db.store().unwrap();
        kinship_store::conformance_separated::a_family_apart(&store).unwrap();
        (store.separated_children(today).unwrap(), store.projection_dump().unwrap())
    };
    assert_eq!(before.0.len(), 2);
    // What a database at version 3 looks like.
    let mut owner = db.connect_as_owner().unwrap();
    // (Migration 5, the worklist, came after it and is taken back too.)
    owner
        .batch_execute(
            "DROP TABLE separated_children, separated_parents, links, linkage_runs; DELETE FROM kinship_migrations WHERE version >= 4;",
        )
        .unwrap();
    assert_eq!(PgStore::migrate(&db.owner_url, Some(testing::APP_ROLE)).unwrap(), 2);
    let store = db.store().unwrap();
    assert_eq!(store.separated_children(today).unwrap(), before.0);
    assert_eq!(store.projection_dump().unwrap(), before.1);
}
