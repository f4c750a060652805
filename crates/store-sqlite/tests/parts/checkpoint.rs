//! Background checkpoints (the server's mode): the WAL is copied off the
//! commit path and still rewound, so it does not grow without bound.

use kinship_store::audit::AuditLog;
use kinship_store::conformance_audit;
use kinship_store_sqlite::{CheckpointPolicy, SqliteStore};
use rusqlite::Connection;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Frames in the WAL, as SQLite reports them (a PASSIVE checkpoint that finds
/// nothing left to copy changes nothing).
fn wal_frames(raw: &Connection) -> i64 {
    raw.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1)).unwrap()
}

#[test]
fn the_background_checkpointer_copies_the_wal_and_lets_it_rewind() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let policy = CheckpointPolicy { restart_frames: 64, catch_up_frames: 16, idle: Duration::from_millis(1) };
    let stats = store.checkpoint_in_background(policy).unwrap();
    // Each append is its own transaction of at least one page: 1,500 frames
    // at least, far past the writer's own bound (4 × 64) had it been the one
    // checkpointing, and past 64 many times over.
    for i in 0..1500 {
        store.audit_append(&conformance_audit::entry(i, "ana", &["P-1"]).unwrap()).unwrap();
    }
    // Wait for two passes that began after the last append and found the
    // WAL fully copied (a deadline for failure, not a timing).
    let deadline = Instant::now() + Duration::from_secs(30);
    let passes = stats.checkpoints.load(Ordering::Relaxed);
    while stats.checkpoints.load(Ordering::Relaxed) < passes + 2 || stats.behind.load(Ordering::Relaxed) != 0 {
        assert!(Instant::now() < deadline, "the checkpointer never copied the WAL in full: {stats:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(stats.completions.load(Ordering::Relaxed) > 0, "{stats:?}");
    // The next commit finds the WAL fully copied and starts it again from the top.
    store.audit_append(&conformance_audit::entry(1500, "ana", &["P-1"]).unwrap()).unwrap();
    let raw = Connection::open(dir.path().join("kinship.db")).unwrap();
    let frames = wal_frames(&raw);
    assert!(frames < 64, "the WAL was not rewound: {frames} frames after the copy ({stats:?})");
    assert_eq!(store.audit_head().unwrap().position, 1501, "every record is still there");
}

#[test]
fn closing_the_store_folds_the_wal_into_the_database_and_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("kinship.db-wal");
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        for i in 0..50 {
            store.audit_append(&conformance_audit::entry(i, "ana", &["P-1"]).unwrap()).unwrap();
        }
        assert!(wal.exists(), "written through the WAL");
    }
    // A WAL left behind is re-read in full by the next process to open the store.
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0, "the WAL is left on disk after close");
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(store.audit_head().unwrap().position, 50, "nothing lost");
}
