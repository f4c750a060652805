//! The audit log: who read or changed whose record, when, from where, why and
//! with what outcome. Append-only and hash-chained like the event log (each
//! record's hash covers its content and the previous record's hash), so
//! `kinship verify` can prove no record was altered, removed or reordered.
//!
//! A record names the field *classes* a reader was shown, never the values:
//! the audit log must not become a second copy of the personal data.

use crate::verify::{BadPosition, VerifyReport};
use crate::{LogHead, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One audited act, as the writer hands it to the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, to the microsecond (what every backend can store exactly).
    pub at: jiff::Timestamp,
    pub user: String,
    pub agency: String,
    pub role: String,
    /// The API token's id when the act came through a token (never its secret).
    pub token: Option<String>,
    /// What was done: `person.read`, `persons.search`, `command.RecordSeparation`…
    pub action: String,
    /// Ids of the persons/families/findings concerned (never names).
    pub subjects: Vec<String>,
    /// The field classes the response contained.
    pub field_classes: Vec<String>,
    /// Why, as the client stated it (required for sensitive reads).
    pub purpose: Option<String>,
    /// Where from: the client's address.
    pub source: String,
    /// `ok`, `not_found`, `denied`, `refused:<rule>`, `conflict`, …
    pub outcome: String,
}

impl AuditEntry {
    /// The time truncated to microseconds, so that what is hashed is what
    /// every backend stores.
    pub fn micros(at: jiff::Timestamp) -> jiff::Timestamp {
        jiff::Timestamp::from_microsecond(at.as_microsecond()).unwrap_or(at)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub position: u64,
    pub entry: AuditEntry,
    #[serde(with = "hex_bytes")]
    pub prev_hash: [u8; 32],
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
}

/// A question to the audit log. Every given condition must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Records whose subjects include this id.
    pub subject: Option<String>,
    pub user: Option<String>,
    /// Records at or after this time.
    pub since: Option<jiff::Timestamp>,
    /// At most this many records, newest first.
    pub limit: usize,
}

/// The audit log every backend implements. Names are prefixed so a backend
/// can implement this next to [`crate::Store`] without ambiguity.
pub trait AuditLog: Send + Sync {
    /// Appends one record after the current head and returns it with its
    /// position and hashes. Appends are serialised: positions are 1, 2, 3…
    fn audit_append(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError>;
    /// Records matching `q`, newest first.
    fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// Records with position > `after`, in position order, at most `limit`.
    fn audit_read_from(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
    fn audit_head(&self) -> Result<LogHead, StoreError>;
}

/// The hash of a record: the previous hash, the position and every field,
/// each length-prefixed so field boundaries are unambiguous.
pub fn audit_hash(prev: &[u8; 32], position: u64, e: &AuditEntry) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(position.to_be_bytes());
    h.update(e.at.as_microsecond().to_be_bytes());
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    put(&e.user);
    put(&e.agency);
    put(&e.role);
    put(e.token.as_deref().unwrap_or("\u{0}none"));
    put(&e.action);
    for list in [&e.subjects, &e.field_classes] {
        put(&list.len().to_string());
        for s in list {
            put(s);
        }
    }
    put(e.purpose.as_deref().unwrap_or("\u{0}none"));
    put(&e.source);
    put(&e.outcome);
    h.finalize().into()
}

const PAGE: usize = 20_000;

/// Recomputes the audit chain and reports the first bad position.
pub fn verify_audit(log: &dyn AuditLog, progress: &mut dyn FnMut(u64)) -> Result<VerifyReport, StoreError> {
    let head = log.audit_head()?;
    let mut prev = crate::chain::GENESIS;
    let mut expected = 1u64;
    let report = |count: u64, bad: Option<BadPosition>| VerifyReport {
        events: count,
        head_position: head.position,
        head_hash: hex::encode(head.hash),
        first_bad: bad,
    };
    loop {
        let page = log.audit_read_from(expected - 1, PAGE)?;
        if page.is_empty() {
            break;
        }
        for r in &page {
            let bad = |reason: String| Ok(report(expected - 1, Some(BadPosition { position: r.position.min(expected), reason })));
            if r.position != expected {
                return bad(format!("audit record {expected} is missing (next found is {})", r.position));
            }
            if r.prev_hash != prev {
                return bad("does not link to the audit record before it (deleted or reordered record)".into());
            }
            if audit_hash(&r.prev_hash, r.position, &r.entry) != r.hash {
                return bad("content does not match its hash (altered audit record)".into());
            }
            prev = r.hash;
            expected += 1;
        }
        progress(expected - 1);
    }
    let count = expected - 1;
    if count != head.position || prev != head.hash {
        let reason = format!("the audit log ends at {count} but its head says {} (truncated audit log)", head.position);
        return Ok(report(count, Some(BadPosition { position: count + 1, reason })));
    }
    Ok(report(count, None))
}
