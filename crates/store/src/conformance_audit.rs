//! Conformance stories for the audit log, run against every backend like
//! [`crate::conformance`]. Failures are returned, not panicked.

use crate::audit::{AuditEntry, AuditLog, AuditQuery, audit_hash, verify_audit};
use std::sync::Arc;

pub type Factory<'a> = &'a dyn Fn() -> Arc<dyn AuditLog>;
type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

fn err<T>(r: Result<T, crate::StoreError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

fn ts(second: i64, micros: i64) -> Result<jiff::Timestamp, String> {
    jiff::Timestamp::from_microsecond(second * 1_000_000 + micros).map_err(|e| e.to_string())
}

/// An entry at `second` (plus some microseconds, to check they survive).
pub fn entry(second: i64, user: &str, subjects: &[&str]) -> Result<AuditEntry, String> {
    Ok(AuditEntry {
        at: ts(1_780_000_000 + second, 123_456)?,
        user: user.into(),
        agency: "ORR".into(),
        role: "orr_case_manager".into(),
        token: if second % 2 == 0 { Some("tok-1".into()) } else { None },
        action: "person.read".into(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        field_classes: vec!["identity".into(), "custody".into()],
        purpose: Some("placement review".into()),
        source: "127.0.0.1".into(),
        outcome: "ok".into(),
    })
}

/// Records come back exactly as written, at positions 1, 2, 3…, chained.
pub fn append_and_read_back(make: Factory<'_>) -> Check {
    let log = make();
    ensure!(err(log.audit_head())?.position == 0, "a new audit log is empty");
    let mut written = vec![];
    for i in 0..3 {
        let e = entry(i, "ana", &["P-1"])?;
        let r = err(log.audit_append(&e))?;
        ensure!(r.position == i as u64 + 1, "position {} for record {i}", r.position);
        ensure!(r.entry == e, "the appended record is the entry");
        written.push(r);
    }
    let read = err(log.audit_read_from(0, 10))?;
    ensure!(read == written, "read back differs:\n{read:?}\n{written:?}");
    ensure!(written[1].prev_hash == written[0].hash, "record 2 links to record 1");
    ensure!(written[0].prev_hash == crate::chain::GENESIS, "record 1 links to genesis");
    ensure!(audit_hash(&written[2].prev_hash, 3, &written[2].entry) == written[2].hash, "hash recomputes");
    let head = err(log.audit_head())?;
    ensure!(head.position == 3 && head.hash == written[2].hash, "head {head:?}");
    ensure!(err(log.audit_read_from(2, 10))?.len() == 1, "read_from is after the position");
    Ok(())
}

/// Who looked at this subject, by this user, since then: newest first.
pub fn query_by_subject_user_since(make: Factory<'_>) -> Check {
    let log = make();
    err(log.audit_append(&entry(0, "ana", &["P-1", "P-2"])?))?;
    err(log.audit_append(&entry(10, "ben", &["P-2"])?))?;
    err(log.audit_append(&entry(20, "ana", &["P-3"])?))?;
    err(log.audit_append(&entry(30, "ana", &[])?))?;
    let pos = |q: AuditQuery| -> Result<Vec<u64>, String> { Ok(err(log.audit_query(&q))?.iter().map(|r| r.position).collect()) };
    let all = AuditQuery { limit: 100, ..Default::default() };
    ensure!(pos(all.clone())? == vec![4, 3, 2, 1], "all, newest first");
    ensure!(pos(AuditQuery { subject: Some("P-2".into()), ..all.clone() })? == vec![2, 1], "by subject");
    ensure!(pos(AuditQuery { user: Some("ana".into()), ..all.clone() })? == vec![4, 3, 1], "by user");
    ensure!(pos(AuditQuery { since: Some(ts(1_780_000_010, 123_456)?), ..all.clone() })? == vec![4, 3, 2], "since is inclusive");
    ensure!(pos(AuditQuery { subject: Some("P-2".into()), user: Some("ana".into()), ..all.clone() })? == vec![1], "conditions combine");
    ensure!(pos(AuditQuery { limit: 2, ..all })? == vec![4, 3], "limit");
    Ok(())
}

/// Writers racing: every record is kept, positions stay contiguous, the chain verifies.
pub fn concurrent_appends_chain(make: Factory<'_>) -> Check {
    let log = make();
    let handles: Vec<_> = (0..6)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || -> Result<(), String> {
                for i in 0..15 {
                    err(log.audit_append(&entry(t * 100 + i, &format!("user{t}"), &["P-9"])?))?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "writer thread panicked".to_string())??;
    }
    let report = err(verify_audit(log.as_ref(), &mut |_| {}))?;
    ensure!(report.first_bad.is_none(), "{report:?}");
    ensure!(report.events == 90 && report.head_position == 90, "{report:?}");
    Ok(())
}

pub type Story = fn(Factory<'_>) -> Check;

pub const STORIES: &[(&str, Story)] = &[
    ("append_and_read_back", append_and_read_back),
    ("query_by_subject_user_since", query_by_subject_user_since),
    ("concurrent_appends_chain", concurrent_appends_chain),
];

pub fn run_all(make: Factory<'_>) -> Vec<String> {
    STORIES.iter().filter_map(|(name, story)| story(make).err().map(|e| format!("audit {name}: {e}"))).collect()
}
