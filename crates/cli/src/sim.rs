//! `kinship sim`: generate a synthetic border scenario (and optionally load it).

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use kinship_app::import::{self, ImportOptions};
use kinship_app::story;
use kinship_sim::{ErrorRates, Params, Policy};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Seed: the same seed and parameters always give byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Days to simulate.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Persons encountered per day (default 1,200; the surge preset 12,500).
    #[arg(long)]
    pub per_day: Option<u32>,
    /// `surge`: December 2023 volumes and mix, no separation policy.
    #[arg(long)]
    pub preset: Option<String>,
    /// First day, YYYY-MM-DD (default 2018-05-01; surge 2023-12-01).
    #[arg(long)]
    pub start: Option<String>,
    /// Cut the story at this instant (RFC 3339) or date: later steps and the
    /// records they would create are not written. Default: the end of the last day.
    #[arg(long)]
    pub until: Option<String>,
    /// Share of persons travelling in families (0-1).
    #[arg(long)]
    pub family_share: Option<f64>,
    /// Share of persons who are unaccompanied children (0-1).
    #[arg(long)]
    pub uac_share: Option<f64>,
    /// Share of encounters at ports of entry (0-1).
    #[arg(long)]
    pub ofo_share: Option<f64>,
    /// Separation policy window, e.g. 2018-05-05..2018-06-20, or `none`.
    #[arg(long)]
    pub policy: Option<String>,
    /// Share of families separated while the policy is in force (0-1).
    #[arg(long)]
    pub separation_rate: Option<f64>,
    /// Error rate override KIND=RATE, repeatable (`all=0` turns every error off).
    /// Kinds: family_unrecorded, parent_booked_single, family_unit_in_error, typo,
    /// surname_swapped, surname_missing, birth_date_estimated, a_number_typo,
    /// time_without_offset, missing_us_address, orr_spelling.
    #[arg(long = "error-rate", value_name = "KIND=RATE")]
    pub error_rates: Vec<String>,
    /// Output directory (files for BP, OFO, ICE, ORR; truth/; story/).
    #[arg(long)]
    pub out: PathBuf,
    /// Then load the scenario into the store (--data): import the border
    /// extracts, replay the story as commands, import the ICE and ORR extracts.
    #[arg(long)]
    pub load: bool,
    /// Load the scenario already in --out (written earlier by `kinship sim`) without generating anything.
    #[arg(long)]
    pub load_only: bool,
    /// With --load: zone for rows written without an offset (otherwise they are rejected).
    #[arg(long)]
    pub assume_tz: Option<String>,
    /// Send the story to this running server as live commands (POST
    /// /api/commands) instead of loading it into --data. Import the
    /// scenario's BP and OFO extracts into the server's store first.
    #[arg(long, value_name = "URL", conflicts_with = "load")]
    pub server: Option<String>,
    /// With --server: an API token (scopes read and command). Every step is
    /// sent with it, so reviews by someone other than who recorded the
    /// separation are refused; --login avoids that.
    #[arg(long, env = "KINSHIP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// With --server: log in as this user (password in KINSHIP_PASSWORD), who
    /// needs `account.manage`: each of the story's actors then acts under a
    /// token of their own (their role and agency), issued for the run and
    /// revoked after it.
    #[arg(long, value_name = "USER")]
    pub login: Option<String>,
}

fn date(s: &str, what: &str) -> Result<jiff::civil::Date> {
    s.parse().map_err(|e| anyhow!("{what} {s:?} is not a date YYYY-MM-DD: {e}"))
}

pub fn params(a: &SimArgs) -> Result<Params> {
    let mut p = match a.preset.as_deref() {
        None => Params::new(a.seed),
        Some("surge") => Params::surge(a.seed),
        Some(other) => bail!("--preset {other:?} is not known; known: surge"),
    };
    p.days = a.days;
    if let Some(n) = a.per_day {
        p.per_day = n;
    }
    if let Some(s) = &a.start {
        p.start = date(s, "--start")?;
    }
    if let Some(u) = &a.until {
        p.until = Some(match u.parse::<jiff::Timestamp>() {
            Ok(t) => t,
            Err(_) => date(u, "--until")?.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| anyhow!("--until: {e}"))?.timestamp(),
        });
    }
    for (v, slot) in [(a.family_share, &mut p.family_share), (a.uac_share, &mut p.uac_share), (a.ofo_share, &mut p.ofo_share)] {
        if let Some(v) = v {
            *slot = v;
        }
    }
    match a.policy.as_deref() {
        None => {}
        Some("none") => p.policy = None,
        Some(window) => {
            let (from, to) =
                window.split_once("..").ok_or_else(|| anyhow!("--policy must be FROM..TO (YYYY-MM-DD..YYYY-MM-DD) or none"))?;
            let name = p.policy.as_ref().map(|x| x.name.clone()).unwrap_or_else(|| "Declared enforcement policy".into());
            let rate = p.policy.as_ref().map(|x| x.separation_rate).unwrap_or(0.25);
            p.policy = Some(Policy { name, from: date(from, "--policy")?, to: date(to, "--policy")?, separation_rate: rate });
        }
    }
    if let Some(r) = a.separation_rate {
        match &mut p.policy {
            Some(pol) => pol.separation_rate = r,
            None => bail!("--separation-rate needs a policy window (--policy FROM..TO)"),
        }
    }
    let mut errors = p.errors.clone();
    for kv in &a.error_rates {
        let (k, v) = kv.split_once('=').ok_or_else(|| anyhow!("--error-rate {kv:?} must be KIND=RATE, e.g. typo=0.05"))?;
        let rate: f64 = v.trim().parse().map_err(|_| anyhow!("--error-rate {kv:?}: {v:?} is not a number between 0 and 1"))?;
        errors.set(k.trim(), rate).map_err(|e| anyhow!("--error-rate: {e}"))?;
    }
    p.errors = errors;
    p.check().map_err(|e| anyhow!("{e}"))?;
    Ok(p)
}

pub fn run(cli: &crate::args::Cli, a: &SimArgs) -> Result<ExitCode> {
    let server = match &a.server {
        Some(url) => Some(crate::sim_server::Target::from_args(url, a.token.as_deref(), a.login.as_deref())?),
        None => None,
    };
    if let (Some(target), true) = (&server, a.load_only) {
        return crate::sim_server::run(&a.out, target, cli.json);
    }
    if a.load_only {
        if !kinship_sim::story_file(&a.out).is_file() {
            bail!("{} holds no generated scenario (no story/lifecycle.jsonl); run kinship sim --out DIR first", a.out.display());
        }
        return load(cli, &a.out, a.assume_tz.as_deref());
    }
    let p = params(a)?;
    let started = std::time::Instant::now();
    let summary = kinship_sim::generate(&p, &a.out).with_context(|| format!("cannot generate into {}", a.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    if cli.json && !a.load && server.is_none() {
        outln!("{}", serde_json::to_string(&serde_json::json!({ "out": a.out, "summary": summary }))?);
    } else if !cli.json {
        outln!(
            "Wrote {} rows ({}) for {} persons in {} events to {} in {secs:.1} s",
            summary.total_rows(),
            summary.rows.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            summary.persons,
            summary.events,
            a.out.display()
        );
        outln!(
            "  truth: {} parent-child pairs; story: {} steps ({})",
            summary.parent_child_pairs,
            summary.steps.values().sum::<u64>(),
            summary.steps.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        );
        let injected: Vec<String> = ErrorRates::NAMES
            .iter()
            .filter_map(|n| summary.errors.0.get(n).map(|t| format!("{n} {}/{}", t.injected, t.opportunities)))
            .collect();
        outln!("  errors injected: {}", injected.join(", "));
    }
    if let Some(target) = &server {
        return crate::sim_server::run(&a.out, target, cli.json);
    }
    if !a.load {
        return Ok(ExitCode::SUCCESS);
    }
    load(cli, &a.out, a.assume_tz.as_deref())
}

/// Imports the scenario in `dir` and replays its story into the store at --data.
fn load(cli: &crate::args::Cli, dir: &Path, tz: Option<&str>) -> Result<ExitCode> {
    let engine = crate::open(cli)?;
    let assume_tz =
        tz.map(|z| jiff::tz::TimeZone::get(z).map_err(|e| anyhow!("--assume-tz {z:?} is not a known time zone: {e}"))).transpose()?;
    let files = kinship_sim::data_files(dir);
    let user = "sim-load".to_string();
    let mut rejected = 0;
    let mut imports = vec![];
    let mut import_some = |files: &[PathBuf], rejected: &mut u64| -> Result<()> {
        let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let s = import::import(
            &engine,
            &paths,
            ImportOptions { assume_tz: assume_tz.clone(), format: None, user: user.clone(), progress: &mut |_| {} },
        )?;
        for f in &s.files {
            *rejected += f.rejected;
        }
        imports.push(s);
        Ok(())
    };
    let t = std::time::Instant::now();
    import_some(&files[..2], &mut rejected)?;
    let border_secs = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let report = story::apply_file(&engine, &kinship_sim::story_file(dir), &mut |_| {})?;
    let story_secs = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    import_some(&files[2..], &mut rejected)?;
    let later_secs = t.elapsed().as_secs_f64();
    if cli.json {
        outln!(
            "{}",
            serde_json::to_string(&serde_json::json!({
                "imports": imports, "story": report,
                "seconds": { "border_import": border_secs, "story": story_secs, "ice_orr_import": later_secs }
            }))?
        );
    } else {
        let loaded: u64 = imports.iter().flat_map(|s| &s.files).map(|f| f.loaded).sum();
        outln!("Loaded into {}: {loaded} rows ({rejected} rejected) in {:.1} s", cli.data.display(), border_secs + later_secs);
        outln!(
            "  story: {} steps, {} applied, {} replayed, {} refused {:?}, {} naming records not loaded, in {story_secs:.1} s",
            report.steps,
            report.applied,
            report.replayed,
            report.refused_total(),
            report.refused,
            report.unresolved
        );
    }
    Ok(if rejected > 0 { ExitCode::from(3) } else { ExitCode::SUCCESS })
}
