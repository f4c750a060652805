//! All of kinship-sim's tests, in one binary: determinism, files that follow
//! the interchange spec, ground truth that matches the files, error rates as
//! configured, and a story that replays through the real command path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod files;
mod rates;
mod story;

use kinship_sim::Params;
use std::collections::HashMap;
use std::path::Path;

/// A small scenario: 5 days in the 2018 policy window, 200 people a day.
pub fn small(seed: u64) -> Params {
    let mut p = Params::new(seed);
    p.start = jiff::civil::date(2018, 5, 20);
    p.days = 5;
    p.per_day = 200;
    p
}

pub type Record = HashMap<String, String>;

/// Every row of every data file, keyed by (source, record_id).
pub fn records(dir: &Path) -> HashMap<(String, String), Record> {
    let mut out = HashMap::new();
    for f in kinship_sim::data_files(dir) {
        let mut r = csv::Reader::from_path(&f).unwrap();
        let headers = r.headers().unwrap().clone();
        for row in r.records() {
            let row = row.unwrap();
            let rec: Record = headers.iter().zip(row.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect();
            let key = (rec["source"].clone(), rec["record_id"].clone());
            assert!(out.insert(key.clone(), rec).is_none(), "record {key:?} written twice");
        }
    }
    out
}

pub fn truth(dir: &Path, file: &str) -> Vec<Record> {
    let mut r = csv::Reader::from_path(dir.join("truth").join(file)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records().map(|row| headers.iter().zip(row.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()).collect()
}

/// `encountered_at` written without a UTC offset.
pub fn no_offset(t: &str) -> bool {
    let tail = &t[t.len().saturating_sub(6)..];
    !(t.ends_with('Z') || tail.starts_with('+') || tail.starts_with('-'))
}
