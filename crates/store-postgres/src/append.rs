//! Appending: one transaction per batch. The first statement locks the
//! single log-head row (`UPDATE … RETURNING`), so appends queue on it and
//! positions are handed out in commit order; stream versions move by
//! compare-and-set; each event is chained to the one before; projections are
//! updated before commit. The same steps, in the same order, as the SQLite
//! backend's `append.rs`.

use crate::conn::{Conn, Session, db_err};
use crate::project::Projector;
use kinship_store::{Append, Appended, LogHead, StoreError, chain};
use postgres::GenericClient;
use std::collections::HashMap;

fn head_from(position: i64, hash: Vec<u8>) -> Result<LogHead, StoreError> {
    let hash =
        hash.try_into().map_err(|_| StoreError::Corrupt { position: position as u64, reason: "log head hash is not 32 bytes".into() })?;
    Ok(LogHead { position: position as u64, hash })
}

pub fn read_head<C: GenericClient>(db: &mut Session<'_, C>) -> Result<LogHead, StoreError> {
    let r = db.query_one("SELECT position, hash FROM log_head WHERE id = 1", &[]).map_err(db_err)?;
    head_from(r.get(0), r.get(1))
}

/// Locks the head row for the rest of the transaction and reads it.
pub fn lock_head<C: GenericClient>(db: &mut Session<'_, C>) -> Result<LogHead, StoreError> {
    let r = db.query_one("UPDATE log_head SET position = position WHERE id = 1 RETURNING position, hash", &[]).map_err(db_err)?;
    head_from(r.get(0), r.get(1))
}

pub fn append(conn: &mut Conn, batch: &[Append]) -> Result<Vec<Appended>, StoreError> {
    let Conn { client, cache } = conn;
    let mut tx = client.transaction().map_err(db_err)?;
    let mut db = Session::new(&mut tx, cache);
    let mut head = lock_head(&mut db)?;
    let mut out = Vec::with_capacity(batch.len());
    for a in batch {
        let first = head.position + 1;
        let last = head.position + a.events.len() as u64;
        // Claim the key; if it was claimed before, this is a retry.
        let claimed = db
            .exec(
                "INSERT INTO idempotency (key, command_hash, first_position, last_position) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO NOTHING",
                &[&a.key, &a.command_hash, &(first as i64), &(last as i64)],
            )
            .map_err(db_err)?;
        if claimed == 0 {
            let r = db
                .query_one("SELECT command_hash, first_position, last_position FROM idempotency WHERE key = $1", &[&a.key])
                .map_err(db_err)?;
            if r.get::<_, String>(0) != a.command_hash {
                return Err(StoreError::KeyReused { key: a.key.clone() });
            }
            out.push(Appended::Replayed { first: r.get::<_, i64>(1) as u64, last: r.get::<_, i64>(2) as u64 });
            continue;
        }
        let streams: Vec<String> = a.events.iter().map(|(_, e)| e.stream().to_string()).collect();
        let mut next: HashMap<&str, u64> = HashMap::with_capacity(a.expected.len());
        for (stream, expected) in &a.expected {
            let name = stream.to_string();
            let written = streams.iter().filter(|s| **s == name).count() as u64;
            // Compare-and-set in one statement: the version moves only if it
            // is still the one the decision saw.
            let moved = match (written, expected) {
                (0, _) => None,
                (n, 0) => Some(
                    db.exec("INSERT INTO streams (stream, version) VALUES ($1, $2) ON CONFLICT (stream) DO NOTHING", &[&name, &(n as i64)])
                        .map_err(db_err)?
                        == 1,
                ),
                (n, v) => Some(
                    db.exec(
                        "UPDATE streams SET version = $3 WHERE stream = $1 AND version = $2",
                        &[&name, &(*v as i64), &((v + n) as i64)],
                    )
                    .map_err(db_err)?
                        == 1,
                ),
            };
            if moved != Some(true) {
                let actual = db
                    .query_opt("SELECT version FROM streams WHERE stream = $1", &[&name])
                    .map_err(db_err)?
                    .map(|r| r.get::<_, i64>(0) as u64)
                    .unwrap_or(0);
                if moved == Some(false) || actual != *expected {
                    return Err(StoreError::Conflict { stream: stream.clone(), expected: *expected, actual });
                }
            }
            if let Some(s) = streams.iter().find(|s| **s == name) {
                next.insert(s.as_str(), *expected);
            }
        }
        for ((id, event), stream) in a.events.iter().zip(&streams) {
            let Some(v) = next.get_mut(stream.as_str()) else {
                return Err(StoreError::Invalid(format!("event for {stream} but the append does not state that stream's version")));
            };
            *v += 1;
            let payload = serde_json::to_string(event).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let position = head.position + 1;
            let fields =
                chain::Fields { position, id, stream, version: *v, event_type: event.type_name(), payload: &payload, meta: &a.meta_json };
            let hash = chain::event_hash(&head.hash, &fields);
            db.exec(
                "INSERT INTO events (position, id, stream, version, type, payload, meta, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[&(position as i64), id, stream, &(*v as i64), &event.type_name(), &payload, &a.meta_json, &&head.hash[..], &&hash[..]],
            )
            .map_err(db_err)?;
            Projector::new(&mut db).apply(position, id, event).map_err(db_err)?;
            head = LogHead { position, hash };
        }
        out.push(Appended::Committed { first, last: head.position });
    }
    db.exec("UPDATE log_head SET position = $1, hash = $2 WHERE id = 1", &[&(head.position as i64), &&head.hash[..]]).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(out)
}
