//! `kinship verify`: recompute the chain and report the first bad position.

use crate::{Store, StoreError, chain};
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

const PAGE: usize = 20_000;

pub fn verify(store: &dyn Store, progress: &mut dyn FnMut(u64)) -> Result<VerifyReport, StoreError> {
    let head = store.head()?;
    let mut prev = chain::GENESIS;
    let mut expected = 1u64;
    let mut count = 0u64;
    let bad = |position: u64, reason: String, count: u64| {
        Ok(VerifyReport {
            events: count,
            head_position: head.position,
            head_hash: hex::encode(head.hash),
            first_bad: Some(BadPosition { position, reason }),
        })
    };
    loop {
        let page = store.read_from(expected - 1, PAGE)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            if e.position != expected {
                return bad(expected, format!("event {expected} is missing (next found is {})", e.position), count);
            }
            if e.prev_hash != prev {
                return bad(e.position, "does not link to the event before it (deleted or reordered event)".into(), count);
            }
            if chain::hash_of(e) != e.hash {
                return bad(e.position, "content does not match its hash (altered event)".into(), count);
            }
            prev = e.hash;
            expected += 1;
            count += 1;
        }
        progress(expected - 1);
    }
    if count != head.position || prev != head.hash {
        return bad(count + 1, format!("the log ends at {count} but its head says {} (truncated log)", head.position), count);
    }
    Ok(VerifyReport { events: count, head_position: head.position, head_hash: hex::encode(head.hash), first_bad: None })
}
