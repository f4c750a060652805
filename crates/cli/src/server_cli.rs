//! `kinship serve`, `user`, `token`, `audit` and `load`: the server and the
//! accounts, tokens and audit log it relies on.

use crate::args::Cli;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use kinship_app::Engine;
use kinship_app::access::Principal;
use kinship_app::access::audit::AuditWriter;
use kinship_app::service::Service;
use kinship_domain::Profile;
use kinship_store::audit::{AuditQuery, verify_audit};
use kinship_store::verify;
use kinship_store_postgres::PgStore;
use kinship_web::{Backend, Options, auth};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum ServerCmd {
    /// Run the server: the JSON API under /api/, Swagger UI at /api/docs.
    Serve(ServeArgs),
    /// Manage people's accounts (use the global --role and --agency for `add`).
    #[command(subcommand)]
    User(UserCmd),
    /// Manage API tokens for agency systems (global --role and --agency set the token's).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Who read or changed whose record: the audit log, newest first.
    Audit {
        /// A person, family or finding id (P-…, F-…, Q-…).
        #[arg(long)]
        subject: Option<String>,
        /// Records of this account (its own id: the global `user` is the actor, `--as`).
        #[arg(long = "user", id = "audit_user")]
        user: Option<String>,
        /// RFC 3339 time or a date (YYYY-MM-DD, UTC midnight).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Offer commands at a fixed rate over loopback and report latency
    /// percentiles: a private server on a temporary SQLite store, or on the
    /// PostgreSQL database named by --database (it adds persons there), unless
    /// --url names a running server.
    Load {
        #[arg(long, default_value_t = 500)]
        rate: u32,
        /// Seconds, e.g. 30 or 30s.
        #[arg(long, default_value = "30s")]
        duration: String,
        /// A running server to load instead (needs --token).
        #[arg(long)]
        url: Option<String>,
        /// An API token with the `command` scope for a BP role.
        #[arg(long)]
        token: Option<String>,
        #[arg(long, default_value_t = 2000)]
        max_in_flight: usize,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Load the demo scenario into an empty store and create one demo account per role.
    #[arg(long)]
    pub demo: bool,
    #[arg(long, default_value_t = 60)]
    pub families: usize,
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a session may be unused before it ends.
    #[arg(long, default_value_t = 900)]
    pub idle_timeout: i64,
    /// Link newly arrived records every this many seconds (0: never); what
    /// is found goes to the review worklist.
    #[arg(long, default_value_t = 60)]
    pub link_every: u64,
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Create an account with --role and --agency; prints a one-time password.
    Add {
        username: String,
    },
    /// Disable an account and end its sessions.
    Disable {
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        username: String,
    },
    /// Give the account a new one-time password and end its sessions.
    Reset {
        username: String,
    },
    List,
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Issue a token acting as --role for --agency; prints the token once.
    Issue {
        label: String,
        /// read and/or command (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    Revoke {
        id: String,
    },
    List,
}

/// The backend `--database` (KINSHIP_DATABASE) names: PostgreSQL, or the
/// embedded SQLite store in --data.
fn backend(cli: &Cli) -> Result<Backend> {
    Ok(match crate::db::database(cli)? {
        Some(url) => Backend::of(PgStore::open(url).context("cannot open the PostgreSQL store")?),
        None => Backend::of(crate::db::open_sqlite(&cli.data).with_context(|| format!("cannot open the store in {}", cli.data.display()))?),
    })
}

/// The backend for a long-running server: as [`backend`], with the embedded
/// store's WAL checkpoints moved off the request path.
fn server_backend(cli: &Cli) -> Result<Backend> {
    Ok(match crate::db::database(cli)? {
        Some(_) => backend(cli)?,
        None => server_sqlite(&cli.data)?,
    })
}

fn server_sqlite(dir: &std::path::Path) -> Result<Backend> {
    let store = crate::db::open_sqlite(dir).with_context(|| format!("cannot open the store in {}", dir.display()))?;
    store.checkpoint_in_background(kinship_store_sqlite::CheckpointPolicy::default())?;
    Ok(Backend::of(store))
}

pub fn run(cli: &Cli, cmd: &ServerCmd, profile: Profile) -> Result<ExitCode> {
    match cmd {
        ServerCmd::Serve(args) => serve(cli, args, profile),
        ServerCmd::User(u) => user(cli, u, &profile),
        ServerCmd::Token(t) => token(cli, t, &profile),
        ServerCmd::Audit { subject, user, since, limit } => audit(cli, profile, subject, user, since.as_deref(), *limit),
        ServerCmd::Load { rate, duration, url, token, max_in_flight } => {
            load(cli, profile, *rate, duration, url.as_deref(), token.as_deref(), *max_in_flight)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// A line of the server's banner. Unlike `outln!`, a closed stdout (the
/// banner piped into `head`, a supervisor that drops the pipe) must not stop
/// a running server, so write errors are ignored; a password lost that way
/// is replaced with `kinship user reset`.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn serve(cli: &Cli, args: &ServeArgs, profile: Profile) -> Result<ExitCode> {
    let backend = server_backend(cli)?;
    if args.demo && backend.store.head()?.position == 0 {
        let engine = Engine::new(backend.store.clone(), profile.clone());
        std::fs::create_dir_all(&cli.data)?;
        let s = kinship_app::demo::load(&engine, &cli.data, args.families)?;
        say!("loaded the demo scenario: {} rows", s.rows);
    }
    if let Some(password) = auth::bootstrap_admin(backend.accounts.as_ref()).map_err(anyhow::Error::msg)? {
        say!("created account `admin` (role admin) with one-time password: {password}");
        if args.demo {
            say!("demo accounts, one per role:");
            for (role, def) in &profile.roles {
                if role == "admin" || role == "importer" || role == "linker" {
                    continue;
                }
                let agency = if def.agency == "*" { "HQ" } else { def.agency.as_str() };
                let password = auth::new_password().map_err(anyhow::Error::msg)?;
                if auth::add_account(backend.accounts.as_ref(), role, agency, role, &password).map_err(anyhow::Error::msg)? {
                    say!("  {role:<26} agency {agency:<4} password {password}");
                }
            }
        }
    }
    kinship_web::logs::init(std::io::stderr);
    // Kept until the server stops; dropping it stops the thread.
    let _linker = (args.link_every > 0).then(|| {
        let engine = Engine::new(backend.store.clone(), profile.clone());
        kinship_app::linkage::spawn_worker(engine, Duration::from_secs(args.link_every), kinship_app::linkage::LinkageOptions::default())
    });
    let tls = args.tls_cert.clone().zip(args.tls_key.clone());
    let scheme = if tls.is_some() { "https" } else { "http" };
    let options = Options { tls: tls.clone(), idle_timeout_s: args.idle_timeout };
    // Held outside the runtime and dropped after it: the PostgreSQL client
    // closes its connections with a blocking call that panics on a runtime
    // worker, so the store's last reference must go on this thread.
    let keep = backend.clone();
    let state = kinship_web::state(backend, profile, &options);
    let rt = runtime()?;
    let result = rt.block_on(async move {
        let running = kinship_web::start(args.listen, state, tls).await.with_context(|| format!("cannot listen on {}", args.listen))?;
        say!("Kinship is serving on {scheme}://{}", running.addr);
        say!("  in a browser: open {scheme}://{}/ and log in with an account above", running.addr);
        say!("  JSON API log in: POST {scheme}://{}/api/session {{\"username\": \"admin\", \"password\": \"…\"}}", running.addr);
        say!("  API description: {scheme}://{0}/api/openapi.json · Swagger UI: {scheme}://{0}/api/docs", running.addr);
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => { r?; running.handle.graceful_shutdown(Some(Duration::from_secs(10))); }
            _ = terminate.recv() => { running.handle.graceful_shutdown(Some(Duration::from_secs(10))); }
            r = running.task => { r??; }
        }
        Ok(ExitCode::SUCCESS)
    });
    drop(rt);
    drop(keep);
    result
}

fn user(cli: &Cli, cmd: &UserCmd, profile: &Profile) -> Result<ExitCode> {
    let b = backend(cli)?;
    let a = b.accounts.as_ref();
    match cmd {
        UserCmd::Add { username } => {
            if !profile.roles.contains_key(&cli.role) {
                bail!("unknown role {:?}; roles: {}", cli.role, profile.roles.keys().cloned().collect::<Vec<_>>().join(", "));
            }
            if !profile.agencies.contains_key(&cli.agency) {
                bail!("unknown agency {:?}; agencies: {}", cli.agency, profile.agencies.keys().cloned().collect::<Vec<_>>().join(", "));
            }
            let password = auth::new_password().map_err(anyhow::Error::msg)?;
            if !auth::add_account(a, username, &cli.agency, &cli.role, &password).map_err(anyhow::Error::msg)? {
                bail!("an account named {username:?} already exists");
            }
            outln!("created {username} ({} of {}); one-time password: {password}", cli.role, cli.agency);
        }
        UserCmd::Disable { username } | UserCmd::Enable { username } => {
            let disable = matches!(cmd, UserCmd::Disable { .. });
            if !a.account_set_disabled(username, disable)? {
                bail!("no account named {username:?}");
            }
            outln!("{username} {}", if disable { "disabled; its sessions ended" } else { "enabled" });
        }
        UserCmd::Reset { username } => {
            let password = auth::new_password().map_err(anyhow::Error::msg)?;
            if !a.account_set_password(username, &auth::hash_password(&password).map_err(anyhow::Error::msg)?)? {
                bail!("no account named {username:?}");
            }
            outln!("{username}: new one-time password: {password}");
        }
        UserCmd::List => {
            for acc in a.accounts()? {
                outln!("{:<24} {:<4} {:<26} {}", acc.username, acc.agency, acc.role, if acc.disabled { "disabled" } else { "active" });
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn token(cli: &Cli, cmd: &TokenCmd, profile: &Profile) -> Result<ExitCode> {
    let b = backend(cli)?;
    let a = b.accounts.as_ref();
    match cmd {
        TokenCmd::Issue { label, scopes } => {
            if !profile.roles.contains_key(&cli.role) || !profile.agencies.contains_key(&cli.agency) {
                bail!("unknown role {:?} or agency {:?}", cli.role, cli.agency);
            }
            let (t, secret) = auth::issue_token(a, label, &cli.agency, &cli.role, scopes, &cli.user).map_err(anyhow::Error::msg)?;
            outln!("token {} for {label} ({} of {}, scopes {}):\n{secret}", t.id, t.role, t.agency, t.scopes.join(","));
        }
        TokenCmd::Revoke { id } => {
            if !a.token_revoke(id, jiff::Timestamp::now())? {
                bail!("no active token {id:?}");
            }
            outln!("token {id} revoked");
        }
        TokenCmd::List => {
            for t in a.tokens()? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                outln!("{} {:<24} {:<4} {:<26} {:<14} {state}", t.id, t.label, t.agency, t.role, t.scopes.join(","));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_since(s: &str) -> Result<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let d: jiff::civil::Date = s.parse().with_context(|| format!("--since {s:?} is neither an RFC 3339 time nor a date YYYY-MM-DD"))?;
    Ok(d.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp())
}

fn audit(
    cli: &Cli,
    profile: Profile,
    subject: &Option<String>,
    user: &Option<String>,
    since: Option<&str>,
    limit: usize,
) -> Result<ExitCode> {
    let b = backend(cli)?;
    let service = Service::new(Engine::new(b.store, profile), AuditWriter::new(b.audit));
    let who = Principal { user: cli.user.clone(), agency: cli.agency.clone(), role: cli.role.clone(), token: None, source: "cli".into() };
    let q = AuditQuery { subject: subject.clone(), user: user.clone(), since: since.map(parse_since).transpose()?, limit };
    let rows = service.audit_log(&who, &q)?;
    if cli.json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rows {
        let e = &r.entry;
        let token = e.token.as_deref().map(|t| format!(" token {t}")).unwrap_or_default();
        outln!(
            "#{} {} {} ({} {}{token}) from {} {} {} [{}] purpose={} -> {}",
            r.position,
            e.at,
            e.user,
            e.role,
            e.agency,
            e.source,
            e.action,
            e.subjects.join(","),
            e.field_classes.join(","),
            e.purpose.as_deref().unwrap_or("-"),
            e.outcome
        );
    }
    if rows.is_empty() {
        outln!("no audit records match");
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_duration(s: &str) -> Result<Duration> {
    let n = s.strip_suffix('s').unwrap_or(s);
    Ok(Duration::from_secs_f64(n.parse::<f64>().with_context(|| format!("--duration {s:?}: give seconds, e.g. 30s"))?))
}

fn load(
    cli: &Cli,
    profile: Profile,
    rate: u32,
    duration: &str,
    url: Option<&str>,
    token: Option<&str>,
    max_in_flight: usize,
) -> Result<ExitCode> {
    let duration = parse_duration(duration)?;
    // The private server's store is opened before the runtime starts: the
    // PostgreSQL client runs its own runtime and cannot be opened inside one.
    let private = match (url, token) {
        (Some(_), Some(_)) => None,
        (Some(_), None) => bail!("--url needs --token (an API token with the command scope for a BP role)"),
        _ => {
            let dir = tempfile::tempdir()?;
            // With --database the private server runs on that PostgreSQL
            // database (the load adds new persons to it); otherwise on a
            // new SQLite store in a temporary directory.
            let (backend, store_is) = match crate::db::database(cli)? {
                Some(url) => {
                    (Backend::of(PgStore::open(url).context("cannot open the PostgreSQL store")?), "the PostgreSQL database".to_string())
                }
                None => (server_sqlite(dir.path())?, format!("SQLite store in {}", dir.path().display())),
            };
            let (_, secret) = auth::issue_token(backend.accounts.as_ref(), "load", "BP", "bp_agent", &["command".into()], "load")
                .map_err(anyhow::Error::msg)?;
            Some((dir, backend, store_is, secret))
        }
    };
    // As in `serve`: the store's last reference is dropped here, after the runtime.
    let keep = private.as_ref().map(|p| p.1.clone());
    let rt = runtime()?;
    let result = rt.block_on(async move {
        let (_dir, _running, url, token) = match (private, url, token) {
            (Some((dir, backend, store_is, secret)), _, _) => {
                let state = kinship_web::state(backend, profile, &Options { tls: None, idle_timeout_s: 900 });
                let running = kinship_web::start("127.0.0.1:0".parse()?, state, None).await?;
                let url = format!("http://{}", running.addr);
                eprintln!("private server on {url}, {store_is}");
                (Some(dir), Some(running), url, secret)
            }
            (None, Some(u), Some(t)) => (None, None, u.to_string(), t.to_string()),
            (None, _, _) => bail!("--url needs --token (an API token with the command scope for a BP role)"),
        };
        let client = kinship_web::client::Client::new(&url).with_bearer(&token);
        let r = kinship_web::load::run(client, rate, duration, max_in_flight).await.map_err(anyhow::Error::msg)?;
        outln!("{}", serde_json::to_string_pretty(&r)?);
        Ok(if r.failed == 0 && r.dropped == 0 { ExitCode::SUCCESS } else { ExitCode::from(4) })
    });
    drop(rt);
    drop(keep);
    result
}

/// `kinship verify`: the event log and the audit log, both.
pub fn verify(engine: &Engine<crate::db::AnyStore>, json: bool) -> Result<ExitCode> {
    let events = verify::verify(&engine.store, &mut |_| {})?;
    let audit = verify_audit(&engine.store, &mut |_| {})?;
    if json {
        let mut v = serde_json::to_value(&events)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("audit".into(), serde_json::to_value(&audit)?);
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (what, r, unit) in [("event log", &events, "events"), ("audit log", &audit, "records")] {
            match &r.first_bad {
                None => outln!("{what} intact: {} {unit}, head {}", r.events, r.head_hash),
                Some(b) => outln!("{what} DAMAGED at position {}: {}", b.position, b.reason),
            }
        }
    }
    Ok(if events.first_bad.is_some() || audit.first_bad.is_some() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
