//! The audit log in SQLite: one row per audited act, chained like the event
//! log, guarded by triggers, with its own head row so a truncated tail is
//! detected by `verify_audit`.

use crate::{SqliteStore, db_err};
use kinship_store::audit::{AuditEntry, AuditLog, AuditQuery, AuditRecord, audit_hash};
use kinship_store::{LogHead, StoreError};
use rusqlite::{Connection, TransactionBehavior, params, params_from_iter, types::Value};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS audit (
    position      INTEGER PRIMARY KEY,
    at_us         INTEGER NOT NULL,
    user          TEXT NOT NULL,
    agency        TEXT NOT NULL,
    role          TEXT NOT NULL,
    token         TEXT,
    action        TEXT NOT NULL,
    subjects      TEXT NOT NULL,
    field_classes TEXT NOT NULL,
    purpose       TEXT,
    source        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    prev_hash     BLOB NOT NULL,
    hash          BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (user, position);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at_us);
-- "Who looked at this child": one row per (subject, record).
CREATE TABLE IF NOT EXISTS audit_subjects (
    subject  TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (subject, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    hash     BLOB NOT NULL
);
INSERT OR IGNORE INTO audit_head (id, position, hash) VALUES (1, 0, zeroblob(32));
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE is refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_subjects_no_update BEFORE UPDATE ON audit_subjects
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_subjects_no_delete BEFORE DELETE ON audit_subjects
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE is refused'); END;
"#;

const COLS: &str = "position, at_us, user, agency, role, token, action, subjects, field_classes, purpose, source, outcome, prev_hash, hash";

fn json_list(text: &str, position: u64) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt { position, reason: format!("audit list does not parse: {e}") })
}

/// A row as SQLite holds it; decoded outside the rusqlite closure so a bad
/// value reports as `Corrupt` with its position.
struct Raw {
    position: i64,
    at_us: i64,
    text: [String; 6],
    token: Option<String>,
    subjects: String,
    classes: String,
    purpose: Option<String>,
    prev: Vec<u8>,
    hash: Vec<u8>,
}

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        position: r.get(0)?,
        at_us: r.get(1)?,
        text: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(6)?, r.get(10)?, r.get(11)?],
        token: r.get(5)?,
        subjects: r.get(7)?,
        classes: r.get(8)?,
        purpose: r.get(9)?,
        prev: r.get(12)?,
        hash: r.get(13)?,
    })
}

fn decode(raw: Raw) -> Result<AuditRecord, StoreError> {
    let position = raw.position as u64;
    let [user, agency, role, action, source, outcome] = raw.text;
    Ok(AuditRecord {
        position,
        entry: AuditEntry {
            at: jiff::Timestamp::from_microsecond(raw.at_us).map_err(|e| StoreError::Corrupt { position, reason: e.to_string() })?,
            user,
            agency,
            role,
            token: raw.token,
            action,
            subjects: json_list(&raw.subjects, position)?,
            field_classes: json_list(&raw.classes, position)?,
            purpose: raw.purpose,
            source,
            outcome,
        },
        prev_hash: raw.prev.try_into().unwrap_or([0xff; 32]),
        hash: raw.hash.try_into().unwrap_or([0xff; 32]),
    })
}

fn select(conn: &Connection, sql: &str, args: Vec<Value>) -> Result<Vec<AuditRecord>, StoreError> {
    let mut st = conn.prepare_cached(sql).map_err(db_err)?;
    let rows = st.query_map(params_from_iter(args), raw).map_err(db_err)?;
    let mut out = vec![];
    for row in rows {
        out.push(decode(row.map_err(db_err)?)?);
    }
    Ok(out)
}

fn read_head(conn: &Connection) -> Result<LogHead, StoreError> {
    let (position, hash): (i64, Vec<u8>) =
        conn.query_row("SELECT position, hash FROM audit_head WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
    Ok(LogHead { position: position as u64, hash: hash.try_into().unwrap_or([0xff; 32]) })
}

impl AuditLog for SqliteStore {
    fn audit_append(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        let entry = AuditEntry { at: AuditEntry::micros(entry.at), ..entry.clone() };
        let to_json = |l: &Vec<String>| serde_json::to_string(l).map_err(|e| StoreError::Invalid(e.to_string()));
        let (subjects, classes) = (to_json(&entry.subjects)?, to_json(&entry.field_classes)?);
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let head = read_head(&tx)?;
        let position = head.position + 1;
        let hash = audit_hash(&head.hash, position, &entry);
        tx.prepare_cached(&format!("INSERT INTO audit ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"))
            .and_then(|mut st| {
                st.execute(params![
                    position as i64,
                    entry.at.as_microsecond(),
                    entry.user,
                    entry.agency,
                    entry.role,
                    entry.token,
                    entry.action,
                    subjects,
                    classes,
                    entry.purpose,
                    entry.source,
                    entry.outcome,
                    &head.hash[..],
                    &hash[..],
                ])
            })
            .map_err(db_err)?;
        {
            let mut put = tx.prepare_cached("INSERT OR IGNORE INTO audit_subjects (subject, position) VALUES (?1, ?2)").map_err(db_err)?;
            for s in &entry.subjects {
                put.execute(params![s, position as i64]).map_err(db_err)?;
            }
        }
        tx.execute("UPDATE audit_head SET position = ?1, hash = ?2 WHERE id = 1", params![position as i64, &hash[..]]).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(AuditRecord { position, entry, prev_hash: head.hash, hash })
    }

    fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut conds = vec![];
        let mut args: Vec<Value> = vec![];
        if let Some(s) = &q.subject {
            args.push(Value::Text(s.clone()));
            conds.push(format!("position IN (SELECT position FROM audit_subjects WHERE subject = ?{})", args.len()));
        }
        if let Some(u) = &q.user {
            args.push(Value::Text(u.clone()));
            conds.push(format!("user = ?{}", args.len()));
        }
        if let Some(t) = q.since {
            args.push(Value::Integer(t.as_microsecond()));
            conds.push(format!("at_us >= ?{}", args.len()));
        }
        let filter = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        args.push(Value::Integer(q.limit.min(i64::MAX as usize) as i64));
        let sql = format!("SELECT {COLS} FROM audit {filter} ORDER BY position DESC LIMIT ?{}", args.len());
        select(&*self.reader()?, &sql, args)
    }

    fn audit_read_from(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!("SELECT {COLS} FROM audit WHERE position > ?1 ORDER BY position LIMIT ?2");
        select(&*self.reader()?, &sql, vec![Value::Integer(after as i64), Value::Integer(limit as i64)])
    }

    fn audit_head(&self) -> Result<LogHead, StoreError> {
        read_head(&*self.reader()?)
    }
}
