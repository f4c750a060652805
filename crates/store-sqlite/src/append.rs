//! Appending: one `BEGIN IMMEDIATE` transaction per batch, positions from the
//! single log-head row, each event chained to the one before, projections
//! updated before commit.

use crate::{db_err, project};
use kinship_store::{Append, Appended, LogHead, StoreError, chain};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::HashMap;

pub fn read_head(conn: &Connection) -> Result<LogHead, StoreError> {
    let (position, hash): (i64, Vec<u8>) =
        conn.query_row("SELECT position, hash FROM log_head WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
    Ok(LogHead { position: position as u64, hash: hash.try_into().unwrap_or([0xff; 32]) })
}

pub fn append(conn: &mut Connection, batch: &[Append]) -> Result<Vec<Appended>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let mut head = read_head(&tx)?;
    let mut out = Vec::with_capacity(batch.len());
    {
        let mut claim_key = tx
            .prepare_cached(
                "INSERT INTO idempotency (key, command_hash, first_position, last_position) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO NOTHING",
            )
            .map_err(db_err)?;
        let mut get_key =
            tx.prepare_cached("SELECT command_hash, first_position, last_position FROM idempotency WHERE key = ?1").map_err(db_err)?;
        let mut get_version = tx.prepare_cached("SELECT version FROM streams WHERE stream = ?1").map_err(db_err)?;
        let mut create_stream =
            tx.prepare_cached("INSERT INTO streams (stream, version) VALUES (?1, ?2) ON CONFLICT (stream) DO NOTHING").map_err(db_err)?;
        let mut advance_stream = tx.prepare_cached("UPDATE streams SET version = ?3 WHERE stream = ?1 AND version = ?2").map_err(db_err)?;
        let mut put_event = tx
            .prepare_cached(
                "INSERT INTO events (position, id, stream, version, type, payload, meta, prev_hash, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(db_err)?;
        let mut projector = project::Projector::new(&tx).map_err(db_err)?;

        for a in batch {
            let first = head.position + 1;
            let last = head.position + a.events.len() as u64;
            // Claim the key; if it was claimed before, this is a retry.
            if claim_key.execute(params![a.key, a.command_hash, first as i64, last as i64]).map_err(db_err)? == 0 {
                let (hash, f, l): (String, i64, i64) =
                    get_key.query_row(params![a.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(db_err)?;
                if hash != a.command_hash {
                    return Err(StoreError::KeyReused { key: a.key.clone() });
                }
                out.push(Appended::Replayed { first: f as u64, last: l as u64 });
                continue;
            }
            let streams: Vec<String> = a.events.iter().map(|(_, e)| e.stream().to_string()).collect();
            let mut next: HashMap<&str, u64> = HashMap::with_capacity(a.expected.len());
            for (stream, expected) in &a.expected {
                let name = stream.to_string();
                let written = streams.iter().filter(|s| **s == name).count() as u64;
                // Compare-and-set in one statement: the version moves only if
                // it is still the one the decision saw.
                let moved = match (written, expected) {
                    (0, _) => None,
                    (n, 0) => Some(create_stream.execute(params![name, n as i64]).map_err(db_err)? == 1),
                    (n, v) => Some(advance_stream.execute(params![name, *v as i64, (v + n) as i64]).map_err(db_err)? == 1),
                };
                if moved != Some(true) {
                    let actual =
                        get_version.query_row(params![name], |r| r.get::<_, i64>(0)).optional().map_err(db_err)?.unwrap_or(0) as u64;
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
                let fields = chain::Fields {
                    position,
                    id,
                    stream,
                    version: *v,
                    event_type: event.type_name(),
                    payload: &payload,
                    meta: &a.meta_json,
                };
                let hash = chain::event_hash(&head.hash, &fields);
                put_event
                    .execute(params![
                        position as i64,
                        id.to_string(),
                        stream,
                        *v as i64,
                        event.type_name(),
                        payload,
                        a.meta_json,
                        &head.hash[..],
                        &hash[..]
                    ])
                    .map_err(db_err)?;
                projector.apply(position, id, event).map_err(db_err)?;
                head = LogHead { position, hash };
            }
            out.push(Appended::Committed { first, last: head.position });
        }
    }
    tx.execute("UPDATE log_head SET position = ?1, hash = ?2 WHERE id = 1", params![head.position as i64, &head.hash[..]])
        .map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(out)
}
