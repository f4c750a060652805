//! `kinship verify`: recompute the chain and report the first bad position.
//!
//! Each event stores its predecessor's hash, so the log can be checked in
//! ranges independently: inside a range every link and hash is checked; where
//! two ranges meet, the first event's stored link must equal the hash that
//! ends the range before. Two ranges are scanned at once on two threads; the
//! result is the same as one pass from position 1.

use crate::{RawEvent, Store, StoreError, chain};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub events: u64,
    pub head_position: u64,
    pub head_hash: String,
    /// `None` when the chain is intact.
    pub first_bad: Option<BadPosition>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadPosition {
    pub position: u64,
    pub reason: String,
}

/// Below this many events one thread does it all.
const PARALLEL_FROM: u64 = 50_000;
/// Progress is reported every this many events.
const PROGRESS_EVERY: u64 = 20_000;

/// What one range `after + 1 ..= until` holds.
struct Range {
    until: u64,
    /// Stored link and position of the range's first event.
    first: Option<([u8; 32], u64)>,
    /// Hash of the last event checked.
    last_hash: [u8; 32],
    /// Next position the range expected (`until + 1` when complete).
    next: u64,
    count: u64,
    bad: Option<BadPosition>,
}

fn check_range(store: &dyn Store, after: u64, until: u64, progress: &mut dyn FnMut(u64)) -> Result<Range, StoreError> {
    let mut r = Range { until, first: None, last_hash: chain::GENESIS, next: after + 1, count: 0, bad: None };
    store.scan(after, until, &mut |e: &RawEvent<'_>| {
        let prev: [u8; 32] = e.prev_hash.try_into().unwrap_or([0xff; 32]);
        if e.position != r.next {
            r.bad = Some(BadPosition { position: r.next, reason: format!("event {} is missing (next found is {})", r.next, e.position) });
            return false;
        }
        match r.first {
            None => r.first = Some((prev, e.position)),
            Some(_) if prev != r.last_hash => {
                r.bad = Some(BadPosition {
                    position: e.position,
                    reason: "does not link to the event before it (deleted or reordered event)".into(),
                });
                return false;
            }
            Some(_) => {}
        }
        let hash = chain::raw_hash(e);
        if hash != e.hash {
            r.bad = Some(BadPosition { position: e.position, reason: "content does not match its hash (altered event)".into() });
            return false;
        }
        r.last_hash = hash;
        r.next += 1;
        r.count += 1;
        if r.count.is_multiple_of(PROGRESS_EVERY) {
            progress(e.position);
        }
        true
    })?;
    Ok(r)
}

pub fn verify(store: &dyn Store, progress: &mut dyn FnMut(u64)) -> Result<VerifyReport, StoreError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(2) as u64;
    verify_in_parts(store, cores, PARALLEL_FROM, progress)
}

/// [`verify`] with the log cut into `parts` ranges checked at once, when it
/// holds at least `parallel_from` events. Public so tests can cut a small log.
pub fn verify_in_parts(
    store: &dyn Store,
    parts: u64,
    parallel_from: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, StoreError> {
    let head = store.head()?;
    let parts = if head.position >= parallel_from { parts.clamp(1, head.position.max(1)) } else { 1 };
    let bounds: Vec<(u64, u64)> = (0..parts).map(|i| (head.position * i / parts, head.position * (i + 1) / parts)).collect();
    let ranges = std::thread::scope(|s| {
        let others: Vec<_> =
            bounds[1..].iter().map(|&(after, until)| s.spawn(move || check_range(store, after, until, &mut |_| {}))).collect();
        let (after, until) = bounds[0];
        let mut ranges = vec![check_range(store, after, until, progress)?];
        for t in others {
            ranges.push(t.join().unwrap_or_else(|_| Err(StoreError::Backend("a verifying thread failed".into())))?);
        }
        Ok::<_, StoreError>(ranges)
    })?;
    let report = |first_bad: Option<BadPosition>, events: u64| VerifyReport {
        events,
        head_position: head.position,
        head_hash: hex::encode(head.hash),
        first_bad,
    };
    let mut prev = chain::GENESIS;
    let mut count = 0u64;
    for (i, r) in ranges.iter().enumerate() {
        if let Some((link, position)) = r.first
            && link != prev
        {
            let reason = "does not link to the event before it (deleted or reordered event)";
            return Ok(report(Some(BadPosition { position, reason: reason.into() }), count));
        }
        if let Some(bad) = &r.bad {
            return Ok(report(Some(bad.clone()), count + r.count));
        }
        count += r.count;
        if r.first.is_some() {
            prev = r.last_hash;
        }
        if r.next <= r.until {
            // The range ended early: an event is missing, or the log is cut short.
            if let Some((_, found)) = ranges[i + 1..].iter().find_map(|later| later.first) {
                let reason = format!("event {} is missing (next found is {found})", r.next);
                return Ok(report(Some(BadPosition { position: r.next, reason }), count));
            }
            break;
        }
    }
    progress(count);
    // An event past the head is as wrong as one missing before it (unless a
    // writer appended since the head was read).
    let beyond = !store.read_from(head.position, 1)?.is_empty() && store.head()?.position == head.position;
    if count != head.position || prev != head.hash || beyond {
        let found = if beyond { head.position + 1 } else { count };
        let reason = format!("the log ends at {found} but its head says {} (truncated log)", head.position);
        return Ok(report(Some(BadPosition { position: count + 1, reason }), count));
    }
    Ok(report(None, count))
}
