//! Appending: one transaction per batch. The first statement locks the
//! single log-head row (`UPDATE … RETURNING`), so appends queue on it and
//! positions are handed out in commit order; every stated stream version is
//! checked (compare-and-set, under that lock); each event is chained to the
//! one before; projections are updated before commit. The same checks, in the
//! same order, with the same errors, as the SQLite backend's `append.rs`.

use crate::conn::{Conn, Session, db_err};
use crate::project::Projector;
use kinship_domain::StreamId;
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

/// The version of every stream the batch has stated so far, as the SQLite
/// backend keeps it: each command is checked against what the earlier
/// commands of the batch left; each stream is checked against the database
/// once, when the batch settles (same errors, in the same order).
#[derive(Default)]
struct Streams {
    /// stream → (version the batch first expected, version after the batch so far)
    seen: HashMap<StreamId, (u64, u64)>,
}

impl Streams {
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

    /// Compares each stream with its stored version (read under the head
    /// lock, so current) and returns the streams to write with their new
    /// versions: a compare-and-set per stream.
    fn settle(&self, stored: &HashMap<String, u64>) -> Result<Vec<(String, i64)>, StoreError> {
        // Sorted, so a conflict names the same stream whatever the map's order.
        let mut streams: Vec<(&StreamId, &(u64, u64))> = self.seen.iter().collect();
        streams.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut moved = vec![];
        for (stream, &(base, now)) in streams {
            let name = stream.to_string();
            let actual = stored.get(&name).copied().unwrap_or(0);
            if actual != base {
                return Err(StoreError::Conflict { stream: stream.clone(), expected: base, actual });
            }
            if now != base {
                moved.push((name, now as i64));
            }
        }
        Ok(moved)
    }
}

/// The rows an append adds to the log, written with one statement per table
/// at the end of the transaction (arrays through `unnest`): each round trip
/// to the server costs more than the work it carries.
#[derive(Default)]
struct LogRows {
    positions: Vec<i64>,
    ids: Vec<uuid::Uuid>,
    streams: Vec<String>,
    versions: Vec<i64>,
    types: Vec<&'static str>,
    payloads: Vec<String>,
    metas: Vec<String>,
    prev_hashes: Vec<Vec<u8>>,
    hashes: Vec<Vec<u8>>,
    keys: Vec<String>,
    command_hashes: Vec<String>,
    firsts: Vec<i64>,
    lasts: Vec<i64>,
}

pub fn append(conn: &mut Conn, batch: &[Append]) -> Result<Vec<Appended>, StoreError> {
    let Conn { client, cache } = conn;
    let mut tx = client.transaction().map_err(db_err)?;
    let mut db = Session::new(&mut tx, cache);
    // From here until commit no other append can run: the keys and stream
    // versions read next stay current, so checking them in memory is a
    // compare-and-set (see `Streams`).
    let mut head = lock_head(&mut db)?;
    let keys: Vec<&str> = batch.iter().map(|a| a.key.as_str()).collect();
    let mut seen: HashMap<String, (String, u64, u64)> = HashMap::new();
    for r in db
        .query("SELECT key, command_hash, first_position, last_position FROM idempotency WHERE key = ANY($1)", &[&keys])
        .map_err(db_err)?
    {
        seen.insert(r.get(0), (r.get(1), r.get::<_, i64>(2) as u64, r.get::<_, i64>(3) as u64));
    }
    let names: Vec<String> = batch.iter().flat_map(|a| a.expected.iter().map(|(s, _)| s.to_string())).collect();
    let mut stored: HashMap<String, u64> = HashMap::new();
    for r in db.query("SELECT stream, version FROM streams WHERE stream = ANY($1)", &[&names]).map_err(db_err)? {
        stored.insert(r.get(0), r.get::<_, i64>(1) as u64);
    }
    let mut streams = Streams::default();
    let mut rows = LogRows::default();
    let mut out = Vec::with_capacity(batch.len());
    for a in batch {
        let first = head.position + 1;
        let last = head.position + a.events.len() as u64;
        // A key seen before (in the log or earlier in this batch): a retry.
        if let Some((hash, f, l)) = seen.get(&a.key) {
            if *hash != a.command_hash {
                return Err(StoreError::KeyReused { key: a.key.clone() });
            }
            out.push(Appended::Replayed { first: *f, last: *l });
            continue;
        }
        for (stream, expected) in &a.expected {
            // A stream first named in this batch is checked against the log
            // now, before its events reach the projections: a stale "new
            // stream" would otherwise fail there on a duplicate key and be
            // reported as a database error instead of the conflict it is.
            if !streams.seen.contains_key(stream) {
                let actual = stored.get(&stream.to_string()).copied().unwrap_or(0);
                if actual != *expected {
                    return Err(StoreError::Conflict { stream: stream.clone(), expected: *expected, actual });
                }
            }
            streams.expect(stream, *expected)?;
        }
        for (id, event) in &a.events {
            let stream = event.stream();
            if !a.expected.iter().any(|(s, _)| *s == stream) {
                return Err(StoreError::Invalid(format!("event for {stream} but the append does not state that stream's version")));
            }
            let version = streams.advance(&stream);
            let name = stream.to_string();
            let payload = serde_json::to_string(event).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let position = head.position + 1;
            let fields = chain::Fields {
                position,
                id,
                stream: &name,
                version,
                event_type: event.type_name(),
                payload: &payload,
                meta: &a.meta_json,
            };
            let hash = chain::event_hash(&head.hash, &fields);
            Projector::new(&mut db).apply(position, id, event).map_err(db_err)?;
            rows.positions.push(position as i64);
            rows.ids.push(*id);
            rows.streams.push(name);
            rows.versions.push(version as i64);
            rows.types.push(event.type_name());
            rows.payloads.push(payload);
            rows.metas.push(a.meta_json.clone());
            rows.prev_hashes.push(head.hash.to_vec());
            rows.hashes.push(hash.to_vec());
            head = LogHead { position, hash };
        }
        seen.insert(a.key.clone(), (a.command_hash.clone(), first, last));
        rows.keys.push(a.key.clone());
        rows.command_hashes.push(a.command_hash.clone());
        rows.firsts.push(first as i64);
        rows.lasts.push(last as i64);
        out.push(Appended::Committed { first, last: head.position });
    }
    let moved = streams.settle(&stored)?;
    let r = &rows;
    if !r.positions.is_empty() {
        db.exec(
            "INSERT INTO events (position, id, stream, version, type, payload, meta, prev_hash, hash) \
             SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bytea[])",
            &[&r.positions, &r.ids, &r.streams, &r.versions, &r.types, &r.payloads, &r.metas, &r.prev_hashes, &r.hashes],
        )
        .map_err(db_err)?;
    }
    if !r.keys.is_empty() {
        db.exec(
            "INSERT INTO idempotency (key, command_hash, first_position, last_position) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])",
            &[&r.keys, &r.command_hashes, &r.firsts, &r.lasts],
        )
        .map_err(db_err)?;
    }
    if !moved.is_empty() {
        let (names, to): (Vec<String>, Vec<i64>) = moved.into_iter().unzip();
        db.exec(
            "INSERT INTO streams (stream, version) SELECT * FROM unnest($1::text[], $2::bigint[]) \
             ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version",
            &[&names, &to],
        )
        .map_err(db_err)?;
    }
    db.exec("UPDATE log_head SET position = $1, hash = $2 WHERE id = 1", &[&(head.position as i64), &&head.hash[..]]).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(out)
}
