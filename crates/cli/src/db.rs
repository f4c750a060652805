//! Which store the CLI uses: `--database postgres://…` (or KINSHIP_DATABASE)
//! names a PostgreSQL server; without it, the embedded SQLite store in
//! `--data`. Every command works the same on both.

use crate::args::Cli;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kinship_store::{Accounts, AuditLog, Store};
use kinship_store_postgres::{PgStore, is_postgres_url};
use kinship_store_sqlite::{Opening, SqliteStore};
use std::process::ExitCode;

/// What the CLI needs of a backend: the log and its projections, the audit
/// log (`verify` checks both) and accounts. Both backends are all three.
pub trait FullStore: Store + AuditLog + Accounts {}
impl<T: Store + AuditLog + Accounts> FullStore for T {}

/// The store chosen at run time.
pub type AnyStore = Box<dyn FullStore>;

/// The PostgreSQL URL given with --database (KINSHIP_DATABASE), if any.
pub fn database(cli: &Cli) -> Result<Option<&str>> {
    match cli.database.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(url) if is_postgres_url(url) => Ok(Some(url)),
        // Not echoed: a mistyped URL may still hold a password.
        Some(_) => bail!("--database (KINSHIP_DATABASE) must be a postgres:// URL; leave it out for the embedded store in --data"),
    }
}

pub fn open_store(cli: &Cli) -> Result<AnyStore> {
    Ok(match database(cli)? {
        Some(url) => Box::new(PgStore::open(url).context("cannot open the PostgreSQL store")?),
        None => Box::new(open_sqlite(&cli.data).with_context(|| format!("cannot open the store in {}", cli.data.display()))?),
    })
}

/// Opens the embedded store, saying so (on stderr, with a progress bar on a
/// terminal) when an older format is upgraded: that rebuilds every
/// projection, minutes on a large store, and silence would look like a hang.
pub fn open_sqlite(dir: &std::path::Path) -> Result<SqliteStore, kinship_store::StoreError> {
    let mut bar: Option<ProgressBar> = None;
    let store = SqliteStore::open_dir_reporting(dir, &mut |o| match o {
        Opening::Upgrading { from, to, events } => {
            eprintln!(
                "{} is in storage format {from}; upgrading it to format {to} (once): the log is kept as written \
                 and every projection is rebuilt from its {events} events",
                dir.display()
            );
            let pb = ProgressBar::new(events);
            pb.set_style(
                ProgressStyle::with_template("{spinner} upgrading [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar = Some(pb);
        }
        Opening::Rebuilt(n) => {
            if let Some(pb) = &bar {
                pb.set_position(n);
            }
        }
    });
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    store
}

/// What the store is, for messages (never the URL: it may hold a password).
pub fn place(cli: &Cli) -> String {
    match database(cli) {
        Ok(Some(_)) => "the PostgreSQL database".into(),
        _ => cli.data.display().to_string(),
    }
}

/// Where the demo writes its scenario's extract before importing it: the
/// data directory, created if needed (also when the store is PostgreSQL).
pub fn demo_dir(cli: &Cli) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(&cli.data).with_context(|| format!("cannot create {}", cli.data.display()))?;
    Ok(cli.data.clone())
}

/// `kinship migrate`: create or upgrade the PostgreSQL schema as the role in
/// the URL (its owner) and grant the application's role what it needs.
pub fn migrate(cli: &Cli, app_role: Option<&str>) -> Result<ExitCode> {
    let Some(url) = database(cli)? else {
        bail!("migrate is for PostgreSQL (--database postgres://OWNER@HOST/DB); the embedded store in --data migrates itself when opened");
    };
    let applied = PgStore::migrate(url, app_role).context("cannot migrate the PostgreSQL store")?;
    outln!("{applied} migration(s) applied; the schema is at version {}.", kinship_store_postgres::migrate::LATEST);
    if let Some(role) = app_role {
        outln!("Role {role:?} may read the log and append to it; it may not change or remove events.");
    }
    Ok(ExitCode::SUCCESS)
}
