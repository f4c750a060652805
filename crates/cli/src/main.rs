//! `kinship`: the command-line front door to the system of record.

/// Prints to standard output; a closed pipe (`kinship … | head`) ends the
/// program quietly instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if write!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod act;
mod args;
mod db;
mod link;
mod link_read;
mod server_cli;
mod show;
mod sim;
mod sim_server;
mod worklist;

use anyhow::{Context, Result};
use args::{Cli, Cmd, ReportCmd};
use clap::Parser;
use kinship_app::Engine;
use kinship_domain::Profile;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: an import allocates and frees many
/// small strings per row on two threads, and glibc's consolidation of freed
/// chunks was a fifth of its time (BENCHMARKS.md, "Import speed (session 4)").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn profile(cli: &Cli) -> Result<Profile> {
    match &cli.profile {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read profile {}", path.display()))?;
            Ok(Profile::parse(&text, &path.display().to_string())?)
        }
        None => Ok(Profile::default_profile()?),
    }
}

fn open(cli: &Cli) -> Result<Engine<db::AnyStore>> {
    let profile = profile(cli)?;
    Ok(Engine::new(db::open_store(cli)?, profile))
}

fn run(cli: Cli) -> Result<ExitCode> {
    // Before opening: opening as the owner would migrate without the grants.
    if let Cmd::Migrate { app_role } = &cli.command {
        return db::migrate(&cli, app_role.as_deref());
    }
    // Generating a scenario needs no store (`--load` opens it itself); the
    // server's commands open their own backend (SQLite or PostgreSQL);
    // batch linkage reads files only.
    match &cli.command {
        Cmd::Sim(args) => return sim::run(&cli, args),
        Cmd::Server(cmd) => return server_cli::run(&cli, cmd, profile(&cli)?),
        Cmd::Link { cmd } => return link::run(profile(&cli)?, cmd),
        _ => {}
    }
    let engine = open(&cli)?;
    let json = cli.json;
    match &cli.command {
        Cmd::Demo { families, write_extract: Some(path) } => {
            let rows = kinship_app::demo::write_extract(path, *families)?;
            eprintln!("wrote {rows} rows to {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo { families, write_extract: None } => show::demo(&engine, &db::demo_dir(&cli)?, &db::place(&cli), *families, json),
        Cmd::Import { files, assume_tz, format } => show::import(&engine, files, assume_tz.as_deref(), format.as_deref(), json),
        Cmd::Export { out } => show::export(&engine, out.as_deref()),
        Cmd::Verify => server_cli::verify(&engine, json),
        Cmd::Rebuild => show::rebuild(&engine, json),
        Cmd::Person { key } => show::person(&engine, key, json),
        Cmd::Search(q) => show::search(&engine, q, json),
        Cmd::Report { report } => match report {
            ReportCmd::SeparatedChildren => show::separated_children(&engine, json),
            ReportCmd::Findings { all } => show::findings(&engine, *all, json),
            ReportCmd::Clocks => show::clocks(&engine, json),
        },
        Cmd::Sweep => show::sweep(&engine, json),
        Cmd::Act(action) => act::run(&engine, &cli, action),
        Cmd::Worklist { cmd, list } => worklist::run(&engine, cmd.as_ref(), list, json),
        Cmd::Link { cmd } => link::run(engine.profile.clone(), cmd),
        Cmd::Migrate { app_role } => db::migrate(&cli, app_role.as_deref()),
        Cmd::Sim(args) => sim::run(&cli, args),
        Cmd::Server(cmd) => server_cli::run(&cli, cmd, engine.profile.clone()),
    }
}
