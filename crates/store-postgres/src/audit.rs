//! The audit log in PostgreSQL: one row per audited act, chained like the
//! event log (`kinship_store::audit::audit_hash`), refused UPDATE/DELETE/
//! TRUNCATE by triggers and by the application role's grants; each append
//! locks the `audit_head` row first, so positions are contiguous.

use crate::PgStore;
use crate::conn::{Conn, Session, db_err};
use kinship_store::audit::{AuditEntry, AuditLog, AuditQuery, AuditRecord, audit_hash};
use kinship_store::{LogHead, StoreError};
use postgres::Row;
use postgres::types::ToSql;

const COLS: &str =
    "position, at_us, user_name, agency, role, token, action, subjects, field_classes, purpose, source, outcome, prev_hash, hash";

fn hash32(position: u64, what: &str, bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt { position, reason: format!("audit {what} is not 32 bytes") })
}

fn decode(r: &Row) -> Result<AuditRecord, StoreError> {
    let position = r.try_get::<_, i64>(0).map_err(db_err)? as u64;
    let at_us: i64 = r.try_get(1).map_err(db_err)?;
    Ok(AuditRecord {
        position,
        entry: AuditEntry {
            at: jiff::Timestamp::from_microsecond(at_us).map_err(|e| StoreError::Corrupt { position, reason: e.to_string() })?,
            user: r.try_get(2).map_err(db_err)?,
            agency: r.try_get(3).map_err(db_err)?,
            role: r.try_get(4).map_err(db_err)?,
            token: r.try_get(5).map_err(db_err)?,
            action: r.try_get(6).map_err(db_err)?,
            subjects: r.try_get(7).map_err(db_err)?,
            field_classes: r.try_get(8).map_err(db_err)?,
            purpose: r.try_get(9).map_err(db_err)?,
            source: r.try_get(10).map_err(db_err)?,
            outcome: r.try_get(11).map_err(db_err)?,
        },
        prev_hash: hash32(position, "prev_hash", r.try_get(12).map_err(db_err)?)?,
        hash: hash32(position, "hash", r.try_get(13).map_err(db_err)?)?,
    })
}

fn head_from(r: &Row) -> Result<LogHead, StoreError> {
    let position = r.get::<_, i64>(0) as u64;
    Ok(LogHead { position, hash: hash32(position, "head hash", r.get(1))? })
}

fn append(conn: &mut Conn, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
    let entry = AuditEntry { at: AuditEntry::micros(entry.at), ..entry.clone() };
    let Conn { client, cache } = conn;
    let mut tx = client.transaction().map_err(db_err)?;
    let mut db = Session::new(&mut tx, cache);
    let head =
        head_from(&db.query_one("UPDATE audit_head SET position = position WHERE id = 1 RETURNING position, hash", &[]).map_err(db_err)?)?;
    let position = head.position + 1;
    let hash = audit_hash(&head.hash, position, &entry);
    let e = &entry;
    db.exec(
        &format!("INSERT INTO audit ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"),
        &[
            &(position as i64),
            &e.at.as_microsecond(),
            &e.user,
            &e.agency,
            &e.role,
            &e.token,
            &e.action,
            &e.subjects,
            &e.field_classes,
            &e.purpose,
            &e.source,
            &e.outcome,
            &&head.hash[..],
            &&hash[..],
        ],
    )
    .map_err(db_err)?;
    db.exec("UPDATE audit_head SET position = $1, hash = $2 WHERE id = 1", &[&(position as i64), &&hash[..]]).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(AuditRecord { position, entry, prev_hash: head.hash, hash })
}

impl AuditLog for PgStore {
    fn audit_append(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        append(&mut *self.conn()?, entry)
    }

    fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut conds: Vec<String> = vec![];
        let mut args: Vec<Box<dyn ToSql + Sync>> = vec![];
        if let Some(s) = &q.subject {
            args.push(Box::new(vec![s.clone()]));
            conds.push(format!("subjects @> ${}", args.len()));
        }
        if let Some(u) = &q.user {
            args.push(Box::new(u.clone()));
            conds.push(format!("user_name = ${}", args.len()));
        }
        if let Some(t) = q.since {
            args.push(Box::new(t.as_microsecond()));
            conds.push(format!("at_us >= ${}", args.len()));
        }
        let filter = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        args.push(Box::new(i64::try_from(q.limit).unwrap_or(i64::MAX)));
        let sql = format!("SELECT {COLS} FROM audit {filter} ORDER BY position DESC LIMIT ${}", args.len());
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        self.read(|db| db.query(&sql, &params).map_err(db_err)?.iter().map(decode).collect())
    }

    fn audit_read_from(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let (after, limit) = (i64::try_from(after).unwrap_or(i64::MAX), i64::try_from(limit).unwrap_or(i64::MAX));
        self.read(|db| {
            let sql = format!("SELECT {COLS} FROM audit WHERE position > $1 ORDER BY position LIMIT $2");
            db.query(&sql, &[&after, &limit]).map_err(db_err)?.iter().map(decode).collect()
        })
    }

    fn audit_head(&self) -> Result<LogHead, StoreError> {
        self.read(|db| head_from(&db.query_one("SELECT position, hash FROM audit_head WHERE id = 1", &[]).map_err(db_err)?))
    }
}
