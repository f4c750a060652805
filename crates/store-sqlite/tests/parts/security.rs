//! The audit log and accounts in SQLite: the shared conformance stories, the
//! append-only triggers, and tamper detection by `verify_audit`.

use kinship_store::audit::{AuditLog, verify_audit};
use kinship_store::{Accounts, conformance_accounts, conformance_audit};
use kinship_store_sqlite::SqliteStore;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

fn fresh(dirs: &Mutex<Vec<TempDir>>) -> Arc<SqliteStore> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    dirs.lock().unwrap().push(dir);
    Arc::new(store)
}

#[test]
fn audit_conformance_suite() {
    let dirs = Mutex::new(vec![]);
    let failures = conformance_audit::run_all(&|| -> Arc<dyn AuditLog> { fresh(&dirs) });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accounts_conformance_suite() {
    let dirs = Mutex::new(vec![]);
    let failures = conformance_accounts::run_all(&|| -> Arc<dyn Accounts> { fresh(&dirs) });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn audited() -> (TempDir, SqliteStore, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    for i in 0..5 {
        store.audit_append(&conformance_audit::entry(i, "ana", &["P-1"]).unwrap()).unwrap();
    }
    let raw = Connection::open(dir.path().join("kinship.db")).unwrap();
    (dir, store, raw)
}

fn first_bad(store: &SqliteStore) -> Option<u64> {
    verify_audit(store, &mut |_| {}).unwrap().first_bad.map(|b| b.position)
}

#[test]
fn the_database_refuses_update_and_delete_on_the_audit_log() {
    let (_dir, store, raw) = audited();
    for sql in [
        "UPDATE audit SET user = 'mallory' WHERE position = 2",
        "DELETE FROM audit WHERE position = 2",
        "UPDATE audit_subjects SET subject = 'P-2'",
        "DELETE FROM audit_subjects",
    ] {
        let e = raw.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    assert_eq!(first_bad(&store), None);
}

fn drop_guards(raw: &Connection) {
    raw.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;").unwrap();
}

#[test]
fn verify_audit_detects_an_altered_record() {
    let (_dir, store, raw) = audited();
    drop_guards(&raw);
    raw.execute("UPDATE audit SET field_classes = '[\"identity\"]' WHERE position = 3", []).unwrap();
    assert_eq!(first_bad(&store), Some(3));
}

#[test]
fn verify_audit_detects_a_deleted_record() {
    let (_dir, store, raw) = audited();
    drop_guards(&raw);
    raw.execute("DELETE FROM audit WHERE position = 2", []).unwrap();
    assert_eq!(first_bad(&store), Some(2));
}

#[test]
fn verify_audit_detects_a_truncated_tail() {
    let (_dir, store, raw) = audited();
    drop_guards(&raw);
    raw.execute("DELETE FROM audit WHERE position = 5", []).unwrap();
    assert_eq!(first_bad(&store), Some(5));
}
