//! Queries and maintenance commands, printed as text or JSON.

use crate::args::SearchArgs;
use crate::db::AnyStore;
use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kinship_app::Engine;
use kinship_app::import::{self, Format, ImportOptions};
use kinship_app::report;
use kinship_domain::FamilyId;
use kinship_store::{SearchQuery, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

type E = Engine<AnyStore>;

/// Streams the JSON to stdout through one buffer instead of building it as
/// one string first: the separated-children report on a large store is
/// megabytes, and growing that string (copies, fresh pages) was a fifth of
/// the report's time. A closed pipe ends the program quietly, as `outln!`.
fn print_json(v: &impl serde::Serialize) -> Result<()> {
    use std::io::Write as _;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match serde_json::to_writer_pretty(&mut w, v) {
        Err(e) if e.is_io() => std::process::exit(0),
        Err(e) => return Err(e.into()),
        Ok(()) => {}
    }
    if writeln!(w).and_then(|()| w.flush()).is_err() {
        std::process::exit(0);
    }
    Ok(())
}

fn bar(len: Option<u64>, what: &str) -> ProgressBar {
    let pb = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.set_message(what.to_string());
    pb
}

/// `data` is where the scenario's extract is written; `place` names the store it loads into.
pub fn demo(engine: &E, data: &Path, place: &str, families: usize, json: bool) -> Result<ExitCode> {
    let head = engine.store.head()?;
    if head.position == 0 {
        let s = kinship_app::demo::load(engine, data, families)?;
        let today = jiff::Zoned::now().date();
        kinship_app::sweep::age_outs(engine, today, &|k| Engine::<AnyStore>::meta(&kinship_app::sweep::system_actor(), k))?;
        if !json {
            outln!(
                "Loaded the demo into {}: {} people seen in the last {} days, {} agency records, {} families recorded, \
                 {} separations, {} transfers, {} reunifications ({} story steps applied).\n",
                place,
                s.persons,
                kinship_app::demo::DAYS,
                s.rows,
                s.families,
                s.separations,
                s.transfers,
                s.reunifications,
                s.story.applied
            );
        }
    } else if !json {
        outln!("{place} already holds {} events; showing the report over them.\n", head.position);
    }
    separated_children(engine, json)?;
    if !json {
        let clocks = report::clocks_report(engine, jiff::Timestamp::now())?;
        let overdue = clocks.iter().filter(|(_, c)| c.overdue).count();
        outln!("\n{} legal clock(s) running, {overdue} overdue: see `kinship report clocks`.", clocks.len());
        outln!("Try: kinship search --name cruz · kinship report findings · kinship person <id> · kinship verify");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(engine: &E, files: &[PathBuf], tz: Option<&str>, format: Option<&str>, json: bool) -> Result<ExitCode> {
    let assume_tz = tz
        .map(|z| jiff::tz::TimeZone::get(z).map_err(|e| anyhow!("--assume-tz {z:?} is not a known time zone (e.g. America/Chicago): {e}")))
        .transpose()?;
    let format = format.map(|f| Format::parse(f).ok_or_else(|| anyhow!("--format must be csv or jsonl, not {f:?}"))).transpose()?;
    for f in files {
        if !f.is_file() {
            bail!("cannot read {}: no such file", f.display());
        }
    }
    let pb = bar(None, "importing");
    let mut progress = |n: u64| pb.set_position(n);
    let user = std::env::var("USER").map(|u| format!("import:{u}")).unwrap_or_else(|_| "import".into());
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let summary = import::import(engine, &paths, ImportOptions { assume_tz, format, user, progress: &mut progress })?;
    pb.finish_and_clear();
    if json {
        outln!("{}", serde_json::to_string(&summary)?);
    } else {
        for f in &summary.files {
            outln!(
                "{}: {} rows, {} loaded, {} unchanged, {} corrected, {} rejected",
                f.path,
                f.rows,
                f.loaded,
                f.unchanged,
                f.corrected,
                f.rejected
            );
            for e in f.errors.iter().take(50) {
                outln!("  line {}: {}: {}", e.line, e.field, e.reason);
            }
            if f.errors.len() > 50 {
                outln!("  … and {} more (use --json for all)", f.errors.len() - 50);
            }
        }
        if summary.findings_raised > 0 {
            outln!("{} data-quality finding(s) raised: kinship report findings", summary.findings_raised);
        }
    }
    let rejected = summary.files.iter().any(|f| f.rejected > 0);
    Ok(if rejected { ExitCode::from(3) } else { ExitCode::SUCCESS })
}

pub fn export(engine: &E, out: Option<&Path>) -> Result<ExitCode> {
    let n = match out {
        Some(p) => {
            let mut f = std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?);
            kinship_app::export::export(engine, &mut f)?
        }
        None => kinship_app::export::export(engine, &mut std::io::stdout().lock())?,
    };
    eprintln!("exported {n} records");
    Ok(ExitCode::SUCCESS)
}

pub fn rebuild(engine: &E, json: bool) -> Result<ExitCode> {
    let pb = bar(Some(engine.store.head()?.position), "rebuilding");
    let n = engine.store.rebuild(&mut |p| pb.set_position(p))?;
    pb.finish_and_clear();
    if json {
        print_json(&serde_json::json!({ "events": n }))?;
    } else {
        outln!("rebuilt every projection from {n} events");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn person(engine: &E, key: &str, json: bool) -> Result<ExitCode> {
    let ids = report::find_person(engine, key)?;
    if ids.is_empty() {
        bail!("no person with A-number {key}");
    }
    let now = jiff::Timestamp::now();
    let reports = ids.iter().map(|id| report::person_report(engine, *id, now)).collect::<Result<Vec<_>, _>>()?;
    if json {
        print_json(&reports)?;
        return Ok(ExitCode::SUCCESS);
    }
    if reports.len() > 1 {
        outln!("{} persons carry this A-number (a data-quality finding says so):\n", reports.len());
    }
    for r in &reports {
        let p = &r.person;
        outln!("{}  {} {}", p.id, p.given_names.as_deref().unwrap_or("FNU"), p.family_names.as_deref().unwrap_or("LNU"));
        outln!(
            "  born {}{} · sex {} · citizenship {} · A-number {}",
            p.birth_date.as_deref().unwrap_or("unknown"),
            if p.birth_date_estimated { " (estimated)" } else { "" },
            p.sex.as_deref().unwrap_or("?"),
            p.citizenship.as_deref().unwrap_or("?"),
            p.a_number.as_deref().unwrap_or("none")
        );
        outln!("  classification: {}", r.classification.map(|c| c.as_str()).unwrap_or("unknown (no birth date)"));
        outln!("  records: {}", p.records.iter().map(|r| format!("{}/{}", r.source, r.record_id)).collect::<Vec<_>>().join(", "));
        outln!(
            "  custody: {} {} {} since {}",
            p.custody.status,
            p.custody.agency.as_deref().unwrap_or(""),
            p.custody.facility.as_deref().unwrap_or(""),
            p.custody.since.as_deref().unwrap_or("-")
        );
        if let Some(m) = &p.family {
            outln!("  family {} ({}), role {}, {}{}", m.family, m.kind, m.role, m.status, if m.is_lead { ", lead" } else { "" });
            for fm in &r.family_members {
                outln!(
                    "    {:<10} {} {} [{}] {}",
                    fm.role,
                    fm.person,
                    fm.name,
                    fm.status,
                    fm.custody.agency.as_deref().unwrap_or(&fm.custody.status)
                );
            }
        }
        for c in &r.clocks {
            outln!("  clock {}: due {}{}", c.label, c.due, if c.overdue { " — OVERDUE" } else { "" });
        }
        outln!("  custody history:");
        for c in &r.custody_history {
            outln!(
                "    {} {} {} {} {}",
                c.at,
                c.kind,
                c.agency.as_deref().unwrap_or(""),
                c.facility.as_deref().unwrap_or(""),
                c.detail.as_deref().unwrap_or("")
            );
        }
        outln!("  events:");
        for e in &r.events {
            let who = e.meta.pointer("/actor/user").and_then(|v| v.as_str()).unwrap_or("?");
            outln!("    #{} {} by {}", e.position, e.event.type_name(), who);
        }
        outln!();
    }
    Ok(ExitCode::SUCCESS)
}

fn date(s: &Option<String>, flag: &str) -> Result<Option<jiff::civil::Date>> {
    s.as_deref().map(|d| d.parse().map_err(|_| anyhow!("--{flag} must be a date YYYY-MM-DD, not {d:?}"))).transpose()
}

pub fn search(engine: &E, a: &SearchArgs, json: bool) -> Result<ExitCode> {
    let family = a
        .family
        .as_deref()
        .map(|f| FamilyId::parse(f).ok_or_else(|| anyhow!("--family must be a family id (F-…), not {f:?}")))
        .transpose()?;
    let q = SearchQuery {
        name: a.name.clone(),
        min_age: a.min_age,
        max_age: a.max_age,
        age_on: Some(jiff::Zoned::now().date()),
        encountered_from: date(&a.from, "from")?,
        encountered_to: date(&a.to, "to")?,
        family,
        limit: a.limit,
    };
    let rows = engine.store.search(&q)?;
    if json {
        print_json(&rows)?;
    } else {
        outln!("{} match(es)", rows.len());
        for p in rows {
            outln!(
                "{}  {:<20} {:<28} born {:<10} {:<10} {}",
                p.id,
                p.given_names.as_deref().unwrap_or("FNU"),
                p.family_names.as_deref().unwrap_or("LNU"),
                p.birth_date.as_deref().unwrap_or("?"),
                p.custody.agency.as_deref().unwrap_or(&p.custody.status),
                p.family.map(|f| format!("{} {} {}", f.family, f.role, f.status)).unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Today's date where the command runs. `/etc/localtime` is read directly
/// when TZ is unset: looking the zone up by name loads jiff's whole zone
/// database first (a walk of /usr/share/zoneinfo, a third of the report's
/// start-up).
fn today() -> jiff::civil::Date {
    let now = jiff::Timestamp::now();
    let local = (std::env::var_os("TZ").is_none())
        .then(|| std::fs::read("/etc/localtime").ok())
        .flatten()
        .and_then(|bytes| jiff::tz::TimeZone::tzif("localtime", &bytes).ok());
    match local {
        Some(tz) => now.to_zoned(tz).date(),
        None => jiff::Zoned::now().date(),
    }
}

pub fn separated_children(engine: &E, json: bool) -> Result<ExitCode> {
    let rows = engine.store.separated_children(today())?;
    if json {
        print_json(&rows)?;
    } else {
        out!("{}", report::separated_children_text(engine, &rows));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn findings(engine: &E, all: bool, json: bool) -> Result<ExitCode> {
    let rows = engine.store.findings(!all)?;
    if json {
        print_json(&rows)?;
    } else {
        outln!("{} {}finding(s)", rows.len(), if all { "" } else { "open " });
        for f in rows {
            outln!("{}  {}: {}", f.id, f.kind, f.message);
            if let Some(r) = &f.record {
                outln!("    record {}/{}", r.source, r.record_id);
            }
            outln!("    about {}", f.subjects.join(", "));
            if let Some(res) = &f.resolution {
                outln!("    resolved: {res}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn clocks(engine: &E, json: bool) -> Result<ExitCode> {
    let rows = report::clocks_report(engine, jiff::Timestamp::now())?;
    if json {
        let v: Vec<_> = rows.iter().map(|(p, c)| serde_json::json!({ "person": p, "clock": c })).collect();
        print_json(&v)?;
    } else {
        outln!("{} clock(s) running", rows.len());
        for (p, c) in rows {
            outln!(
                "{} {:<28} {} {} {:>5} h left{}",
                p.id,
                format!("{} {}", p.given_names.as_deref().unwrap_or("FNU"), p.family_names.as_deref().unwrap_or("LNU")),
                c.label,
                p.custody.agency.as_deref().unwrap_or(""),
                c.hours_left,
                if c.overdue { "  OVERDUE" } else { "" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn sweep(engine: &E, json: bool) -> Result<ExitCode> {
    let today = jiff::Zoned::now().date();
    let n = kinship_app::sweep::age_outs(engine, today, &|k| Engine::<AnyStore>::meta(&kinship_app::sweep::system_actor(), k))?;
    let linked = kinship_app::linkage::run(engine, &kinship_app::linkage::LinkageOptions::default())?;
    if json {
        print_json(&serde_json::json!({ "aged_out": n, "linkage": linked }))?;
    } else {
        outln!("{n} child(ren) who turned 18 in custody reclassified");
        crate::worklist::print_run(&linked);
    }
    Ok(ExitCode::SUCCESS)
}
