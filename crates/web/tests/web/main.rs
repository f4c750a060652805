//! The server driven through HTTP on a free port: every endpoint's happy
//! path and refusals, the HTML pages (and one real browser), the role × endpoint × field-class matrix from the
//! profile, concurrency and idempotency, the audit trail, and a canary run
//! whose captured logs must not hold personal data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod browser;
mod harness;
mod logs;
mod matrix;
mod reports;
mod ui;
mod worklist;
mod writes;
