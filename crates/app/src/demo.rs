//! The built-in demo: a month of a generated border scenario
//! (`kinship_sim`) ending now, loaded the way real data would be: the
//! border agencies' extracts are imported, the story after the encounters
//! (separations under a declared policy, reviews, transfers to ICE and ORR,
//! releases, removals, reunifications) is replayed as commands, and then the
//! extracts of ICE and ORR are imported. Children whose referral was late are
//! still in border custody past 72 hours.

use crate::engine::Engine;
use crate::error::AppError;
use crate::import::{self, ImportOptions};
use crate::story::{self, StoryReport};
use jiff::ToSpan;
use kinship_sim::{Params, Policy};
use kinship_store::Store;
use std::path::{Path, PathBuf};

/// Days of border history the demo covers, ending now.
pub const DAYS: u32 = 30;

#[derive(Debug, Default, serde::Serialize)]
pub struct DemoSummary {
    pub rows: u64,
    pub rejected: u64,
    pub persons: u64,
    pub families: u64,
    pub separations: u64,
    pub reunifications: u64,
    pub transfers: u64,
    pub story: StoryReport,
}

/// The demo's scenario: about `families` recorded families over [`DAYS`]
/// days ending at `now`, under a separation policy for the whole month.
pub fn params(families: usize, now: jiff::Timestamp) -> Params {
    let mut p = Params::new(20_180_406);
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    p.start = today.checked_sub(i64::from(DAYS).days()).unwrap_or(today);
    p.days = DAYS;
    // Persons per day so that about `families` families arrive in the month.
    let persons = families as f64 * kinship_sim::people::MEAN_FAMILY_SIZE / p.family_share;
    p.per_day = ((persons / f64::from(DAYS)).ceil() as u32).max(1);
    p.policy =
        Some(Policy { name: "Zero Tolerance (2018-04-06), replayed by the demo".into(), from: p.start, to: today, separation_rate: 0.25 });
    // Every row carries its offset, so every step of the story can be applied.
    p.errors.time_without_offset = 0.0;
    p.until = Some(now);
    p
}

fn import_files<S: Store>(engine: &Engine<S>, files: &[PathBuf], summary: &mut DemoSummary) -> Result<(), AppError> {
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let s =
        import::import(engine, &paths, ImportOptions { assume_tz: None, format: None, user: "demo-import".into(), progress: &mut |_| {} })?;
    for f in s.files {
        summary.rows += f.loaded;
        summary.rejected += f.rejected;
    }
    Ok(())
}

/// Generates the demo scenario into `dir/demo-scenario` and loads it into `engine`.
pub fn load<S: Store>(engine: &Engine<S>, dir: &Path, families: usize) -> Result<DemoSummary, AppError> {
    let now = crate::engine::now();
    let out = dir.join("demo-scenario");
    let generated = kinship_sim::generate(&params(families, now), &out).map_err(|e| AppError::Input(e.to_string()))?;
    let mut summary = DemoSummary { persons: generated.persons, families: generated.families_recorded, ..Default::default() };
    let files = kinship_sim::data_files(&out);
    import_files(engine, &files[..2], &mut summary)?;
    summary.story = story::apply_file(engine, &kinship_sim::story_file(&out), &mut |_| {})?;
    import_files(engine, &files[2..], &mut summary)?;
    let count = |k: &str| summary.story.applied_by_kind.get(k).copied().unwrap_or(0);
    summary.separations = count("separate");
    summary.reunifications = count("reunify");
    summary.transfers = count("accept_transfer");
    Ok(summary)
}

/// Writes the demo scenario's four agency extracts as one interchange-v1 CSV
/// file (without loading anything): input for benchmarks and for trying
/// `kinship import`. Returns the number of rows.
pub fn write_extract(path: &Path, families: usize) -> Result<u64, AppError> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "extract".into());
    let work = path.with_file_name(format!(".{name}.scenario"));
    let fail = |e: std::io::Error| AppError::Input(format!("cannot write {}: {e}", path.display()));
    kinship_sim::generate(&params(families, crate::engine::now()), &work).map_err(|e| AppError::Input(e.to_string()))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    let mut rows = 0u64;
    for (i, file) in kinship_sim::data_files(&work).iter().enumerate() {
        let text = std::fs::read_to_string(file).map_err(fail)?;
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        if i == 0 {
            std::io::Write::write_all(&mut out, format!("{header}\n").as_bytes()).map_err(fail)?;
        }
        for line in lines {
            std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes()).map_err(fail)?;
            rows += 1;
        }
    }
    std::io::Write::flush(&mut out).map_err(fail)?;
    std::fs::remove_dir_all(&work).map_err(fail)?;
    Ok(rows)
}
