//! Prometheus metrics and the request log. Both name the route *template*
//! (`/api/persons/{id}`), never the path or query a client sent: those hold
//! person ids and searched names, which must not reach logs.

use crate::state::Shared;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; 11],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let Ok(mut m) = self.requests.lock() else { return };
        let s = m.entry((route.to_string(), method.to_string(), status)).or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP kinship_http_requests_total HTTP requests by route template, method and status.");
        let _ = writeln!(out, "# TYPE kinship_http_requests_total counter");
        let Ok(m) = self.requests.lock() else { return out };
        for ((route, method, status), s) in m.iter() {
            let _ = writeln!(out, "kinship_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}", s.count);
        }
        let _ = writeln!(out, "# HELP kinship_http_request_duration_seconds HTTP request latency by route template and method.");
        let _ = writeln!(out, "# TYPE kinship_http_request_duration_seconds histogram");
        let mut by_route: BTreeMap<(&str, &str), Series> = BTreeMap::new();
        for ((route, method, _), s) in m.iter() {
            let t = by_route.entry((route, method)).or_default();
            t.count += s.count;
            t.sum += s.sum;
            for (i, b) in s.buckets.iter().enumerate() {
                t.buckets[i] += b;
            }
        }
        for ((route, method), s) in by_route {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "kinship_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}", s.buckets[i]);
            }
            let _ = writeln!(out, "kinship_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "kinship_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "kinship_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
    }
}

/// Times every request, counts it and logs one structured line about it.
pub async fn track(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state.metrics.observe(&route, &method, status, elapsed.as_secs_f64());
    tracing::info!(target: "kinship::http", method = %method, route = %route, status, micros = elapsed.as_micros() as u64, "request");
    response
}
