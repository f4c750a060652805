//! Appending: one `BEGIN IMMEDIATE` transaction per batch, positions from the
//! single log-head row, each event chained to the one before, projections
//! updated before commit.

use crate::{db_err, project};
use kinship_domain::StreamId;
use kinship_store::{Append, Appended, LogHead, StoreError, chain};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::collections::HashMap;
use std::fmt::Write as _;

pub fn read_head(conn: &Connection) -> Result<LogHead, StoreError> {
    let (position, hash): (i64, Vec<u8>) =
        conn.query_row("SELECT position, hash FROM log_head WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
    Ok(LogHead { position: position as u64, hash: hash.try_into().unwrap_or([0xff; 32]) })
}

/// The version of every stream the batch has stated so far. The write lock
/// is held for the whole transaction, so the database cannot change under
/// it: each stream is checked against the database once, when the batch
/// settles, and written once with its final version. A batch of an import
/// touches a family's stream once per member; this saves a statement each.
#[derive(Default)]
struct Streams {
    /// stream → (version the batch first expected, version after the batch so far)
    seen: HashMap<StreamId, (u64, u64)>,
}

impl Streams {
    /// Checks a command's stated version against what the earlier commands
    /// of the batch left.
    fn expect(&mut self, stream: &StreamId, expected: u64) -> Result<(), StoreError> {
        match self.seen.get(stream) {
            Some(&(_, now)) if now != expected => Err(StoreError::Conflict { stream: stream.clone(), expected, actual: now }),
            Some(_) => Ok(()),
            None => {
                self.seen.insert(stream.clone(), (expected, expected));
                Ok(())
            }
        }
    }

    fn advance(&mut self, stream: &StreamId) -> u64 {
        let entry = self.seen.entry(stream.clone()).or_insert((0, 0));
        entry.1 += 1;
        entry.1
    }

    /// Compares each stream with the database and writes its new version:
    /// a compare-and-set per stream, so a stale decision is a conflict.
    fn settle(&self, tx: &Transaction<'_>, name: &mut String) -> Result<(), StoreError> {
        let mut get_version = tx.prepare_cached("SELECT version FROM streams WHERE stream = ?1").map_err(db_err)?;
        let mut create =
            tx.prepare_cached("INSERT INTO streams (stream, version) VALUES (?1, ?2) ON CONFLICT (stream) DO NOTHING").map_err(db_err)?;
        let mut advance = tx.prepare_cached("UPDATE streams SET version = ?3 WHERE stream = ?1 AND version = ?2").map_err(db_err)?;
        // Sorted, so a conflict names the same stream whatever the map's order.
        let mut streams: Vec<(&StreamId, &(u64, u64))> = self.seen.iter().collect();
        streams.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (stream, &(base, now)) in streams {
            name.clear();
            let _ = write!(name, "{stream}");
            let ok = match (base, now) {
                (b, n) if b == n => {
                    let actual =
                        get_version.query_row(params![name.as_str()], |r| r.get::<_, i64>(0)).optional().map_err(db_err)?.unwrap_or(0);
                    actual as u64 == b
                }
                (0, n) => create.execute(params![name.as_str(), n as i64]).map_err(db_err)? == 1,
                (b, n) => advance.execute(params![name.as_str(), b as i64, n as i64]).map_err(db_err)? == 1,
            };
            if !ok {
                let actual = get_version.query_row(params![name.as_str()], |r| r.get::<_, i64>(0)).optional().map_err(db_err)?.unwrap_or(0);
                return Err(StoreError::Conflict { stream: stream.clone(), expected: base, actual: actual as u64 });
            }
        }
        Ok(())
    }
}

pub fn append(conn: &mut Connection, batch: &[Append]) -> Result<Vec<Appended>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let mut head = read_head(&tx)?;
    let mut out = Vec::with_capacity(batch.len());
    let mut streams = Streams::default();
    let mut name = String::with_capacity(48);
    {
        let mut claim_key = tx
            .prepare_cached(
                "INSERT INTO idempotency (key, command_hash, first_position, last_position) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO NOTHING",
            )
            .map_err(db_err)?;
        let mut get_key =
            tx.prepare_cached("SELECT command_hash, first_position, last_position FROM idempotency WHERE key = ?1").map_err(db_err)?;
        let mut put_event = tx
            .prepare_cached(
                "INSERT INTO events (position, id, stream, version, type, payload, meta, prev_hash, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(db_err)?;
        let mut projector = project::Projector::new(&tx).map_err(db_err)?;
        // One buffer for every payload: serialising allocates nothing per event.
        let mut payload: Vec<u8> = Vec::with_capacity(1024);

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
            for (stream, expected) in &a.expected {
                streams.expect(stream, *expected)?;
            }
            for (id, event) in &a.events {
                let stream = event.stream();
                if !a.expected.iter().any(|(s, _)| *s == stream) {
                    return Err(StoreError::Invalid(format!("event for {stream} but the append does not state that stream's version")));
                }
                let version = streams.advance(&stream);
                payload.clear();
                serde_json::to_writer(&mut payload, event).map_err(|e| StoreError::Invalid(e.to_string()))?;
                let payload = std::str::from_utf8(&payload).map_err(|e| StoreError::Invalid(e.to_string()))?;
                name.clear();
                let _ = write!(name, "{stream}");
                let position = head.position + 1;
                let fields =
                    chain::Fields { position, id, stream: &name, version, event_type: event.type_name(), payload, meta: &a.meta_json };
                let hash = chain::event_hash(&head.hash, &fields);
                let put = put_event.execute(params![
                    position as i64,
                    &id.as_bytes()[..],
                    name,
                    version as i64,
                    event.type_name(),
                    payload,
                    a.meta_json,
                    &head.hash[..],
                    &hash[..]
                ]);
                if let Err(e) = put {
                    // (stream, version) taken: another writer moved the stream
                    // since the decision; report it as the conflict it is.
                    let mut scratch = String::new();
                    streams.settle(&tx, &mut scratch)?;
                    return Err(db_err(e));
                }
                projector.apply(position, id, event).map_err(db_err)?;
                head = LogHead { position, hash };
            }
            out.push(Appended::Committed { first, last: head.position });
        }
        projector.finish().map_err(db_err)?;
    }
    streams.settle(&tx, &mut name)?;
    tx.execute("UPDATE log_head SET position = ?1, hash = ?2 WHERE id = 1", params![head.position as i64, &head.hash[..]])
        .map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(out)
}
