//! A bounded, open-loop load generator: commands are offered at a fixed rate
//! whatever the server's speed, and each latency is measured from the moment
//! the request was *due*, so a stalled server shows in the figures instead
//! of slowing the generator down (no coordinated omission). At most
//! `max_in_flight` requests are outstanding; beyond that, due requests are
//! counted as dropped.

use crate::client::Client;
use kinship_domain::event::{EncounterRef, RecordDetails};
use kinship_domain::name::PersonName;
use kinship_domain::person::{BirthDate, Identity, SourceRef};
use kinship_domain::time::Instant as At;
use kinship_domain::{Command, PersonId};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore};

#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub offered_per_s: u32,
    pub seconds: f64,
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub dropped: u64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// A new person recorded and booked into Border Patrol custody: one command,
/// three events, the projections, the idempotency key and an audit record.
pub fn record_person_command(n: u64) -> Result<Vec<u8>, String> {
    let person = PersonId::new_v7();
    let cmd = Command::RecordPerson {
        person,
        identity: Identity {
            name: PersonName::parse("LOAD", &format!("TEST{n}")).map_err(|e| e.to_string())?,
            birth: Some(BirthDate { date: jiff::civil::date(1990, 1, 1), estimated: true }),
            sex: None,
            citizenship: None,
            a_number: None,
        },
        record: SourceRef { source: "BP".into(), record_id: format!("LOAD-{}", person.0) },
        encounter: EncounterRef {
            key: format!("BP:LOAD-{}", person.0),
            at: At::parse("2026-01-01T00:00:00Z", None).map_err(|e| e.to_string())?,
            sector: None,
            station: None,
        },
        details: RecordDetails::default(),
        custody: Some(("BP".into(), Some("LOAD".into()))),
        family: None,
    };
    serde_json::to_vec(&cmd).map_err(|e| e.to_string())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Offers `rate` commands per second for `duration` to `client`'s server.
pub async fn run(client: Client, rate: u32, duration: Duration, max_in_flight: usize) -> Result<LoadReport, String> {
    let rate = rate.max(1);
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let total = (duration.as_secs_f64() * rate as f64).round() as u64;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let (ok, failed, dropped) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let permits = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let body = record_person_command(n)?;
        let (client, latencies, ok, failed) = (client.clone(), latencies.clone(), ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("load-{}", uuid::Uuid::new_v4());
            let r = client.send("POST", "/api/commands", &[("idempotency-key", &key)], Some(body)).await;
            let ms = due.elapsed().as_secs_f64() * 1000.0;
            drop(permit);
            match r {
                Ok(r) if r.status == 200 => {
                    ok.fetch_add(1, Ordering::Relaxed);
                    latencies.lock().await.push(ms);
                }
                _ => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut l = latencies.lock().await.clone();
    l.sort_by(|a, b| a.total_cmp(b));
    let ok = ok.load(Ordering::Relaxed);
    Ok(LoadReport {
        offered_per_s: rate,
        seconds,
        sent: total - dropped.load(Ordering::Relaxed),
        ok,
        failed: failed.load(Ordering::Relaxed),
        dropped: dropped.load(Ordering::Relaxed),
        throughput_per_s: ok as f64 / seconds,
        p50_ms: percentile(&l, 0.50),
        p99_ms: percentile(&l, 0.99),
        max_ms: l.last().copied().unwrap_or(0.0),
    })
}
