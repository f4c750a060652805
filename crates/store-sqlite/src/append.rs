//! Appending: one `BEGIN IMMEDIATE` transaction per batch, positions from the
//! single log-head row, each event chained to the one before, projections
//! updated before commit. Rows are written in format 4 (`codec.rs`); the
//! encoding (JSON, compression, digests) can be done beforehand on another
//! thread ([`prepare`]), so the appending thread only hashes and inserts.

use crate::{codec, db_err, project};
use kinship_domain::StreamId;
use kinship_store::{Append, Appended, LogHead, StoreError, chain};
use rusqlite::{Connection, OptionalExtension, Statement, Transaction, TransactionBehavior, params};
use std::collections::HashMap;

pub fn read_head(conn: &Connection) -> Result<LogHead, StoreError> {
    let (position, hash): (i64, Vec<u8>) =
        conn.query_row("SELECT position, hash FROM log_head WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
    Ok(LogHead { position: position as u64, hash: hash.try_into().unwrap_or([0xff; 32]) })
}

/// Whether the log begins with rows written before format 4 (text streams):
/// then a stream's events may be under either key. Fixed once a store is
/// opened by this version: a format-3 program refuses a format-4 store.
pub fn has_text_streams(conn: &Connection) -> Result<bool, StoreError> {
    conn.query_row("SELECT typeof(stream) = 'text' FROM events WHERE position = 1", [], |r| r.get::<_, bool>(0))
        .optional()
        .map(|v| v.unwrap_or(false))
        .map_err(db_err)
}

/// The SQL that finds a stream's events, under its format-4 key (`?1`) and,
/// in a store that began before format 4, its text (`?2`).
pub fn stream_match(text_streams: bool) -> &'static str {
    if text_streams { "stream IN (?1, ?2)" } else { "stream = ?1" }
}

/// A stream's version as the log holds it, written before position `upto`.
/// The log is the only record of versions (format 4 has no `streams`
/// table): the highest version under the (stream, version) index.
fn stored_version(get: &mut Statement<'_>, stream: &StreamId, text_streams: bool, upto: u64) -> Result<u64, StoreError> {
    let key = codec::stream_key(stream);
    let v: Option<i64> = if text_streams {
        get.query_row(params![&key[..], stream.to_string(), upto as i64], |r| r.get(0))
    } else {
        get.query_row(params![&key[..], upto as i64], |r| r.get(0))
    }
    .map_err(db_err)?;
    Ok(v.unwrap_or(0) as u64)
}

pub fn version_sql(text_streams: bool) -> String {
    let upto = if text_streams { "?3" } else { "?2" };
    format!("SELECT max(version) FROM events WHERE {} AND position <= {upto}", stream_match(text_streams))
}

/// The version of every stream the batch has stated so far. The write lock
/// is held for the whole transaction, so the database cannot change under
/// it: each stream is checked against the log once, when the batch settles.
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

    /// Compares each stream's first expected version with the log as it was
    /// before the batch (`upto`, the head it started from): a stale decision
    /// is a conflict.
    ///
    /// Unless `all`, a stream the batch expected empty and then wrote is not
    /// read back: its events were inserted as versions 1, 2, … under the
    /// (stream, version) unique index, which refuses version 1 if the stream
    /// had any event (versions start at 1 and have no gaps), so the insert
    /// itself proved it empty. A new person's or family's stream, most of an
    /// import, then costs no extra index read. Not so in a store begun
    /// before format 4 (`text_streams`): a stream's older events are under
    /// its text key there, which the index does not compare with the 17-byte one.
    fn settle(&self, tx: &Transaction<'_>, text_streams: bool, upto: u64, all: bool) -> Result<(), StoreError> {
        let mut get = tx.prepare_cached(&version_sql(text_streams)).map_err(db_err)?;
        // Sorted, so a conflict names the same stream whatever the map's order.
        let mut streams: Vec<(&StreamId, &(u64, u64))> =
            self.seen.iter().filter(|(_, v)| all || text_streams || v.0 != 0 || v.1 == 0).collect();
        streams.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (stream, &(base, _)) in streams {
            let actual = stored_version(&mut get, stream, text_streams, upto)?;
            if actual != base {
                return Err(StoreError::Conflict { stream: stream.clone(), expected: base, actual });
            }
        }
        Ok(())
    }
}

/// A command of a batch, encoded for its rows.
pub struct PreparedCommand {
    key: [u8; 16],
    command_hash: rusqlite::types::Value,
    /// Per event: its stream key, stored body and what the projector would
    /// otherwise compute on the appending thread ([`project::Hint`]).
    events: Vec<([u8; 17], Vec<u8>, project::Hint)>,
}

/// A batch encoded ahead of its append (`Store::encode`, done on the
/// importer's thread while the append thread commits the previous chunk).
pub struct Prepared(Vec<PreparedCommand>);

impl Prepared {
    /// Whether this was prepared from `batch` (same commands, same event counts).
    fn fits(&self, batch: &[Append]) -> bool {
        self.0.len() == batch.len() && self.0.iter().zip(batch).all(|(p, a)| p.events.len() == a.events.len())
    }
}

/// Encodes every command and event of `batch` (JSON, compression, digests).
pub fn prepare(batch: &[Append]) -> Result<Prepared, StoreError> {
    codec::with_encoder(|enc| {
        let mut out = Vec::with_capacity(batch.len());
        for a in batch {
            let mut events = Vec::with_capacity(a.events.len());
            for (_, event) in &a.events {
                events.push((codec::stream_key(&event.stream()), enc.encode(event, &a.meta_json)?, project::Hint::of(event)));
            }
            out.push(PreparedCommand { key: codec::key_digest(&a.key), command_hash: codec::hash_value(&a.command_hash), events });
        }
        Ok(Prepared(out))
    })
}

pub fn append(
    conn: &mut Connection,
    batch: &[Append],
    prepared: Option<Prepared>,
    text_streams: bool,
) -> Result<Vec<Appended>, StoreError> {
    let mut prepared = match prepared {
        Some(p) if p.fits(batch) => p,
        _ => prepare(batch)?,
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let mut head = read_head(&tx)?;
    let start = head.position;
    let mut out = Vec::with_capacity(batch.len());
    let mut streams = Streams::default();
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
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, X'', ?7, ?8)",
            )
            .map_err(db_err)?;
        let mut projector = project::Projector::new(&tx).map_err(db_err)?;

        for (a, p) in batch.iter().zip(prepared.0.iter_mut()) {
            let first = head.position + 1;
            let last = head.position + a.events.len() as u64;
            // Claim the key; if it was claimed before, this is a retry.
            if claim_key.execute(params![&p.key[..], p.command_hash, first as i64, last as i64]).map_err(db_err)? == 0 {
                let (hash, f, l): (rusqlite::types::Value, i64, i64) =
                    get_key.query_row(params![&p.key[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(db_err)?;
                if hash != p.command_hash {
                    return Err(StoreError::KeyReused { key: a.key.clone() });
                }
                out.push(Appended::Replayed { first: f as u64, last: l as u64 });
                continue;
            }
            for (stream, expected) in &a.expected {
                streams.expect(stream, *expected)?;
            }
            for ((id, event), (stream_key, body, hint)) in a.events.iter().zip(p.events.iter_mut()) {
                let (stream_key, body) = (&*stream_key, &body[..]);
                let stream = event.stream();
                if !a.expected.iter().any(|(s, _)| *s == stream) {
                    return Err(StoreError::Invalid(format!("event for {stream} but the append does not state that stream's version")));
                }
                let version = streams.advance(&stream);
                let position = head.position + 1;
                let event_type = event.type_name();
                let parts = [&stream_key[..], event_type.as_bytes(), body, b""];
                let hash = chain::hash_parts(&head.hash, position, id.as_bytes(), parts, version, chain::LAYOUT_BINARY);
                let put = put_event.execute(params![
                    position as i64,
                    &id.as_bytes()[..],
                    &stream_key[..],
                    version as i64,
                    event_type,
                    body,
                    &head.hash[..],
                    &hash[..]
                ]);
                if let Err(e) = put {
                    // (stream, version) taken: another writer moved the stream
                    // since the decision; report it as the conflict it is.
                    streams.settle(&tx, text_streams, start, true)?;
                    return Err(db_err(e));
                }
                projector.apply(position, id, event, std::mem::take(hint)).map_err(db_err)?;
                head = LogHead { position, hash };
            }
            out.push(Appended::Committed { first, last: head.position });
        }
        projector.finish().map_err(db_err)?;
    }
    streams.settle(&tx, text_streams, start, false)?;
    tx.execute("UPDATE log_head SET position = ?1, hash = ?2 WHERE id = 1", params![head.position as i64, &head.hash[..]])
        .map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(out)
}
