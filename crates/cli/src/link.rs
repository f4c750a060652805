//! `kinship link identities|families`: batch linkage over interchange-v1
//! files, JSON Lines on stdout (spec: "Batch linkage output").
//!
//! Rows are read and checked by the importer's own reader and row rules; a
//! bad row is reported on stderr with its line, field and reason and left
//! out, and every other row is linked. Nothing is written to the store.

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use kinship_app::import::read::{self, Format, RawRow};
use kinship_app::import::row::{self, Fields, RowError};
use kinship_domain::Profile;
use kinship_domain::profile::Agency;
use kinship_linkage::Record;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum LinkCmd {
    /// Clusters of records that are the same person, across sources.
    Identities {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Extra (non-spec) columns to compare too, e.g. --compare phone,passport_number.
        #[arg(long, value_delimiter = ',')]
        compare: Vec<String>,
        /// Match probability at or above which two records are linked.
        #[arg(long, default_value_t = 0.5)]
        threshold: f64,
        #[command(flatten)]
        input: InputArgs,
    },
    /// Adult–minor relationships not already recorded, best first, with evidence.
    Families {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Candidates scoring below this are not written.
        #[arg(long, default_value_t = 0.5)]
        min_score: f64,
        /// Adults and minors at the same station this many hours apart are candidates too.
        #[arg(long, default_value_t = 12)]
        station_window: i64,
        #[command(flatten)]
        input: InputArgs,
    },
}

#[derive(clap::Args, Debug)]
pub struct InputArgs {
    /// Zone for times recorded without a UTC offset, e.g. America/Chicago.
    #[arg(long)]
    assume_tz: Option<String>,
    /// csv or jsonl (default: from the file extension).
    #[arg(long)]
    format: Option<String>,
    /// Worker threads (default: all cores). The output does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(profile: Profile, cmd: &LinkCmd) -> Result<ExitCode> {
    match cmd {
        LinkCmd::Identities { files, compare, threshold, input } => identities(profile, files, compare, *threshold, input),
        LinkCmd::Families { files, min_score, station_window, input } => families(profile, files, *min_score, *station_window, input),
    }
}

fn threads(input: &InputArgs) -> usize {
    input.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1)
}

fn spinner(what: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}] {pos}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(what.to_string());
    pb
}

/// Reads every file; bad rows are reported on stderr and skipped. A repeated
/// (source, record_id) is a correction: the later row wins, in place.
pub fn read_records(profile: Profile, files: &[PathBuf], compare: &[String], input: &InputArgs) -> Result<Vec<Record>> {
    let assume_tz = input
        .assume_tz
        .as_deref()
        .map(|z| jiff::tz::TimeZone::get(z).map_err(|e| anyhow!("--assume-tz {z:?} is not a known time zone (e.g. America/Chicago): {e}")))
        .transpose()?;
    let forced =
        input.format.as_deref().map(|f| Format::parse(f).ok_or_else(|| anyhow!("--format must be csv or jsonl, not {f:?}"))).transpose()?;
    // Linkage reads any agency's codes; declaring sources is the system of
    // record's business, so an undeclared code is accepted here.
    let shared = std::sync::RwLock::new(profile);
    let compare: Vec<String> = compare.iter().map(|c| c.trim().to_ascii_lowercase()).filter(|c| !c.is_empty()).collect();
    if compare.len() > kinship_linkage::compare::MAX_EXTRA {
        bail!("--compare takes at most {} columns", kinship_linkage::compare::MAX_EXTRA);
    }
    let workers = threads(input);
    let pb = spinner("reading");
    let mut records: Vec<Record> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let (mut rejected, mut read_rows) = (0u64, 0u64);
    for path in files {
        let format = forced
            .or_else(|| Format::of(path))
            .ok_or_else(|| anyhow!("{}: cannot tell the format from the extension; use --format csv|jsonl", path.display()))?;
        let mut shown = 0;
        // A checked row joins the records in file order; a repeated
        // (source, record_id) replaces the earlier record in place.
        let mut merge = |result: Result<Record, Vec<RowError>>| {
            let record = match result {
                Ok(r) => r,
                Err(errors) => {
                    rejected += 1;
                    for e in &errors {
                        if shown < 20 {
                            eprintln!("{}:{}: rejected: field {}: {}", path.display(), e.line, e.field, e.reason);
                        }
                        shown += 1;
                    }
                    return;
                }
            };
            match index.entry((record.source.clone(), record.record_id.clone())) {
                std::collections::hash_map::Entry::Occupied(e) => records[*e.get()] = record,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(records.len());
                    records.push(record);
                }
            }
        };
        if format == Format::Csv {
            // Parsed and checked in chunks on the worker threads, merged in
            // file order (see link_read.rs). A source the profile does not
            // declare is accepted: each worker adds it to its own copy.
            let check = |raw: RawRow| match raw {
                Ok((line, fields)) => {
                    if let Some(s) = fields.get("source").map(str::trim).filter(|s| !s.is_empty())
                        && !shared.read().is_ok_and(|p| p.agencies.contains_key(s))
                        && let Ok(mut p) = shared.write()
                    {
                        p.agencies.insert(s.to_string(), Agency { name: s.to_string(), border: false });
                    }
                    match shared.read() {
                        Ok(p) => to_record(&fields, line, &p, assume_tz.as_ref(), &compare),
                        Err(_) => Err(vec![RowError { line, field: "*".into(), reason: "internal error: a reading thread failed".into() }]),
                    }
                }
                Err(e) => Err(vec![e]),
            };
            crate::link_read::csv_rows(path, workers, check, |batch, n| {
                pb.set_position(read_rows + n);
                batch.into_iter().for_each(&mut merge);
            })
            .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            read_rows = pb.position();
        } else {
            let rows = read::rows(path, format).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            // Rows are parsed in file order and checked in batches on the
            // worker threads; the batch's results are then merged in file
            // order, so the records and their order do not depend on the
            // thread count.
            let mut rows = rows.peekable();
            while rows.peek().is_some() {
                let batch: Vec<RawRow> = rows.by_ref().take(READ_BATCH).collect();
                read_rows += batch.len() as u64;
                pb.set_position(read_rows);
                let mut profile = shared.write().map_err(|_| anyhow!("internal error: a reading thread failed"))?;
                for (_, fields) in batch.iter().flatten() {
                    if let Some(s) = fields.get("source").map(|s| s.trim()).filter(|s| !s.is_empty())
                        && !profile.agencies.contains_key(s)
                    {
                        profile.agencies.insert(s.to_string(), Agency { name: s.to_string(), border: false });
                    }
                }
                let profile = &*profile;
                let checked = kinship_linkage::par::map(&batch, workers, |raw| match raw {
                    Ok((line, fields)) => to_record(fields, *line, profile, assume_tz.as_ref(), &compare),
                    Err(e) => Err(vec![e.clone()]),
                });
                checked.into_iter().for_each(&mut merge);
            }
        }
        if shown > 20 {
            eprintln!("{}: … and {} more row problems", path.display(), shown - 20);
        }
    }
    pb.finish_and_clear();
    eprintln!("kinship link: {read_rows} rows read, {} records, {rejected} rows rejected", records.len());
    if !compare.is_empty() {
        for (k, c) in compare.iter().enumerate() {
            if records.iter().all(|r| r.extra[k].is_none()) {
                eprintln!("kinship link: warning: no row has a value in --compare column {c:?}");
            }
        }
    }
    Ok(records)
}

/// Rows per batch checked in parallel: large enough to keep the threads
/// busy, small enough that memory follows the records, not the file.
const READ_BATCH: usize = 65_536;

/// One row checked by the importer's rules and turned into a linkage record.
fn to_record(
    fields: &Fields,
    line: u64,
    profile: &Profile,
    assume_tz: Option<&jiff::tz::TimeZone>,
    compare: &[String],
) -> Result<Record, Vec<RowError>> {
    let row = row::check(fields, line, profile, assume_tz)?;
    let get = |name: &str| {
        fields.get(name).or_else(|| fields.get(&format!("extra.{name}"))).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    };
    let id = row.identity;
    let at = row.encounter.at;
    Ok(Record {
        source: row.record.source,
        record_id: row.record.record_id,
        event_id: get("event_id"),
        encountered_at: at.timestamp().as_second(),
        encountered_on: at.local_date(),
        station: row.encounter.station,
        a_number: id.a_number.as_ref().and_then(|a| a.as_str().parse().ok()),
        given: id.name.given,
        family: id.name.family,
        birth: id.birth.map(|b| b.date),
        birth_estimated: id.birth.is_some_and(|b| b.estimated),
        sex: id.sex,
        citizenship: id.citizenship.map(|c| c.as_str().to_string()),
        family_id: row.family.as_ref().map(|f| f.family.record_id.clone()),
        family_role: row.family.and_then(|f| f.role),
        extra: compare.iter().map(|c| get(c)).collect(),
    })
}

fn reference(r: &Record) -> serde_json::Value {
    json!({"source": r.source, "record_id": r.record_id})
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn stage_bar() -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]").unwrap_or_else(|_| ProgressStyle::default_spinner()));
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb
}

fn identities(profile: Profile, files: &[PathBuf], compare: &[String], threshold: f64, input: &InputArgs) -> Result<ExitCode> {
    if !(0.0..1.0).contains(&threshold) || threshold <= 0.0 {
        bail!("--threshold must be between 0 and 1 (exclusive), got {threshold}");
    }
    let records = read_records(profile, files, compare, input)?;
    let opts = kinship_linkage::IdentityOptions { threads: threads(input), threshold, ..Default::default() };
    let pb = stage_bar();
    let progress = |stage: &str, _: u64, _: u64| pb.set_message(format!("linking identities: {stage}"));
    let result = kinship_linkage::link_identities(&records, compare.len(), &opts, &progress);
    pb.finish_and_clear();
    let s = &result.stats;
    eprintln!(
        "kinship link identities: {} candidate pairs, {} random pairs for u, {} EM iterations, {} links, {} merges refused, {} clusters",
        s.candidate_pairs,
        s.random_pairs,
        s.em_iterations,
        s.linked_pairs,
        s.merges_refused,
        result.clusters.len()
    );
    for r in &s.rules {
        let note = if r.note.is_empty() { String::new() } else { format!(" ({})", r.note) };
        eprintln!("  blocking {:<14} {:>12} pairs{note}", r.rule, r.pairs);
    }
    for (name, w) in &s.weights {
        let w: Vec<String> = w.iter().map(|x| format!("{x:.1}")).collect();
        eprintln!("  weights {name:<15} {}", w.join(" "));
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (k, c) in result.clusters.iter().enumerate() {
        let recs: Vec<serde_json::Value> = c.records.iter().map(|&i| reference(&records[i])).collect();
        let line = json!({"person": format!("P-{:06}", k + 1), "records": recs, "score": round(c.score)});
        write_line(&mut out, &line)?;
    }
    finish(out)
}

fn families(profile: Profile, files: &[PathBuf], min_score: f64, station_window: i64, input: &InputArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&min_score) {
        bail!("--min-score must be between 0 and 1, got {min_score}");
    }
    let started = std::time::Instant::now();
    let records = read_records(profile, files, &[], input)?;
    let opts = kinship_linkage::FamilyOptions {
        identity: kinship_linkage::IdentityOptions { threads: threads(input), ..Default::default() },
        min_score,
        station_window_hours: station_window.max(0),
    };
    let pb = stage_bar();
    // Seconds spent in each stage, for the summary on stderr.
    // Each stage with the time it started.
    let stages = std::sync::Mutex::new(vec![("read".to_string(), std::time::Duration::ZERO)]);
    let progress = |stage: &str, _: u64, _: u64| {
        if let Ok(mut s) = stages.lock()
            && s.last().is_none_or(|(last, _)| last != stage)
        {
            s.push((stage.to_string(), started.elapsed()));
        }
        pb.set_message(format!("linking families: {stage}"));
    };
    let (candidates, stats) = kinship_linkage::link_families(&records, &opts, &progress);
    pb.finish_and_clear();
    let mut stages = stages.into_inner().unwrap_or_default();
    stages.push(("end".into(), started.elapsed()));
    let timing: Vec<String> = stages.windows(2).map(|w| format!("{} {:.1} s", w[0].0, (w[1].1 - w[0].1).as_secs_f64())).collect();
    eprintln!("kinship link families: wall time by stage: {}", timing.join(", "));
    eprintln!(
        "kinship link families: {} identity clusters, {} records completed from other records, {} candidate pairs, {} written",
        stats.identity_clusters, stats.filled_from_other_records, stats.candidate_pairs, stats.written
    );
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for c in &candidates {
        let line = json!({
            "adult": reference(&records[c.adult]),
            "minor": reference(&records[c.minor]),
            "relation": c.relation.as_str(),
            "score": round(c.score),
            "evidence": c.evidence,
        });
        write_line(&mut out, &line)?;
    }
    finish(out)
}

pub fn write_line(out: &mut impl std::io::Write, v: &serde_json::Value) -> Result<()> {
    if writeln!(out, "{v}").is_err() {
        std::process::exit(0); // a closed pipe (`| head`) ends quietly
    }
    Ok(())
}

pub fn finish(mut out: impl std::io::Write) -> Result<ExitCode> {
    if out.flush().is_err() {
        std::process::exit(0);
    }
    Ok(ExitCode::SUCCESS)
}
