//! Synthetic border scenarios for Kinship: seeded and reproducible.
//!
//! [`generate`] writes, into a directory:
//! - `BP.csv`, `OFO.csv`, `ICE.csv`, `ORR.csv`: interchange-v1 extracts
//!   (`../shared/spec/interchange-v1.md`) of the same people as each agency
//!   recorded them, with errors injected at the rates in [`ErrorRates`];
//! - `truth/identity.csv` and `truth/parent_child.csv`: the ground truth, in
//!   the format the shared linkage scorer reads;
//! - `story/lifecycle.jsonl`: what happened after each encounter (separations,
//!   reviews, transfers, releases, removals, reunifications) as [`story::Step`]s
//!   that name people by their records;
//! - `scenario.json`: the parameters and a summary of what was written.
//!
//! The same [`Params`] always give byte-identical files: the random numbers
//! come from [`rng`], one stream per day derived from the seed and the date.

mod generate;
pub mod names;
pub mod params;
pub mod people;
pub mod places;
pub mod record;
pub mod rng;
pub mod story;

pub use generate::Summary;
pub use params::{ErrorRates, Params, Policy};

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Params(String),
    #[error("{0}")]
    Io(String),
}

/// Writes the scenario described by `params` into `dir` (created if needed).
pub fn generate(params: &Params, dir: &Path) -> Result<Summary, SimError> {
    params.check().map_err(SimError::Params)?;
    std::fs::create_dir_all(dir).map_err(|e| SimError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let mut g = generate::Gen::new(params, dir)?;
    for d in 0..params.days {
        g.day(d)?;
    }
    let summary = g.finish()?;
    let manifest = serde_json::json!({ "format": "kinship-sim/1", "params": params, "summary": &summary });
    let path = dir.join("scenario.json");
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| SimError::Io(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| SimError::Io(format!("cannot write {}: {e}", path.display())))?;
    Ok(summary)
}

/// The data files of a generated scenario, in the order to import them:
/// the border agencies' first, then the agencies that received people.
pub fn data_files(dir: &Path) -> Vec<std::path::PathBuf> {
    ["BP.csv", "OFO.csv", "ICE.csv", "ORR.csv"].iter().map(|f| dir.join(f)).collect()
}

/// The story file of a generated scenario.
pub fn story_file(dir: &Path) -> std::path::PathBuf {
    dir.join("story").join("lifecycle.jsonl")
}
