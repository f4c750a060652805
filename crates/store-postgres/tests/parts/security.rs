//! The audit log and accounts on PostgreSQL: the shared conformance stories,
//! the append-only audit log (triggers, and the application role's grants),
//! and tamper detection by `verify_audit`.

use kinship_store::audit::{AuditLog, verify_audit};
use kinship_store::{Accounts, conformance_accounts, conformance_audit};
use kinship_store_postgres::PgStore;
use kinship_store_postgres::testing::{self, TestDb};
use std::sync::{Arc, Mutex};

fn fresh(dbs: &Mutex<Vec<TestDb>>) -> Arc<PgStore> {
    let db = testing::fresh_database().unwrap();
    let store = db.store().unwrap();
    dbs.lock().unwrap().push(db);
    Arc::new(store)
}

#[test]
fn audit_conformance_suite() {
    let dbs = Mutex::new(vec![]);
    let failures = conformance_audit::run_all(&|| -> Arc<dyn AuditLog> { fresh(&dbs) });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accounts_conformance_suite() {
    let dbs = Mutex::new(vec![]);
    let failures = conformance_accounts::run_all(&|| -> Arc<dyn Accounts> { fresh(&dbs) });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn audited() -> (TestDb, PgStore) {
    let db = testing::fresh_database().unwrap();
    let store = db.store().unwrap();
    for i in 0..5 {
        store.audit_append(&conformance_audit::entry(i, "ana", &["P-1"]).unwrap()).unwrap();
    }
    (db, store)
}

fn first_bad(store: &PgStore) -> Option<u64> {
    verify_audit(store, &mut |_| {}).unwrap().first_bad.map(|b| b.position)
}

#[test]
fn the_audit_log_refuses_changes_from_its_owner_and_the_application_role() {
    let (db, store) = audited();
    let mut owner = db.connect_as_owner().unwrap();
    for sql in ["UPDATE audit SET user_name = 'mallory' WHERE position = 2", "DELETE FROM audit WHERE position = 2", "TRUNCATE audit"] {
        let msg = super::refused(&mut owner, sql);
        assert!(msg.contains("append-only"), "{sql}: {msg}");
    }
    let mut app = db.connect_as_app().unwrap();
    for sql in [
        "UPDATE audit SET user_name = 'mallory' WHERE position = 2",
        "DELETE FROM audit WHERE position = 2",
        "TRUNCATE audit",
        "DELETE FROM audit_head",
        "DELETE FROM accounts",
    ] {
        let msg = super::refused(&mut app, sql);
        assert!(msg.contains("permission denied"), "{sql}: {msg}");
    }
    assert_eq!(first_bad(&store), None);
}

fn tamper(db: &TestDb, sql: &str) {
    let mut owner = db.connect_as_owner().unwrap();
    owner.batch_execute(&format!("ALTER TABLE audit DISABLE TRIGGER USER; {sql}; ALTER TABLE audit ENABLE TRIGGER USER;")).unwrap();
}

#[test]
fn verify_audit_detects_tampering_in_postgres() {
    let (db, store) = audited();
    tamper(&db, "UPDATE audit SET field_classes = ARRAY['identity'] WHERE position = 3");
    assert_eq!(first_bad(&store), Some(3));

    let (db, store) = audited();
    tamper(&db, "DELETE FROM audit WHERE position = 2");
    assert_eq!(first_bad(&store), Some(2));

    let (db, store) = audited();
    tamper(&db, "DELETE FROM audit WHERE position = 5");
    assert_eq!(first_bad(&store), Some(5));
}
