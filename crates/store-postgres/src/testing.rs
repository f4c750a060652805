//! A PostgreSQL server for tests (feature `testing`): tests of this crate,
//! and of any crate that needs a real PostgreSQL store, get a fresh migrated
//! database per test from [`fresh_database`].
//!
//! - With `DATABASE_URL` set, that server is used; the URL's role must be
//!   allowed to create roles and databases (e.g. `postgres`).
//! - Otherwise a private PostgreSQL cluster is started once per test process:
//!   `initdb` and `pg_ctl` (from `KINSHIP_PG_BIN`, or
//!   `/usr/lib/postgresql/15/bin`) in a temporary directory, on a free
//!   loopback port, trust authentication, no Unix socket. PostgreSQL refuses
//!   to run as root, so under root the cluster runs as the `postgres` user
//!   (or `nobody`) through `runuser`. A watchdog process stops the cluster and
//!   removes its directory when the test process exits, however it exits.
//!
//! Each database is owned by [`OWNER_ROLE`], which ran the migrations; the
//! store a test gets connects as [`APP_ROLE`], which may not UPDATE or DELETE
//! the log — as in production.

use crate::PgStore;
use postgres::NoTls;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The role that owns each test database and runs its migrations.
pub const OWNER_ROLE: &str = "kinship_test_owner";
/// The role the application connects as: SELECT and INSERT on the log only.
pub const APP_ROLE: &str = "kinship_test_app";
/// Test roles' password (only needed on a `DATABASE_URL` server that checks passwords).
const ROLE_PASSWORD: &str = "kinship-test-only";
const ADMIN_USER: &str = "kinship_admin";

#[derive(Debug)]
pub struct HarnessError(pub String);

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgreSQL test server: {}", self.0)
    }
}

impl std::error::Error for HarnessError {}

type R<T> = Result<T, HarnessError>;

fn fail<T>(msg: impl Into<String>) -> R<T> {
    Err(HarnessError(msg.into()))
}

fn pg(e: impl std::fmt::Display) -> HarnessError {
    HarnessError(e.to_string())
}

/// The driver's own text for a server error is only "db error".
fn sql(e: postgres::Error) -> HarnessError {
    match e.as_db_error() {
        Some(db) => HarnessError(format!("{} (SQLSTATE {})", db.message(), db.code().code())),
        None => HarnessError(e.to_string()),
    }
}

/// Where a server listens and who administers it.
struct Endpoint {
    /// `host:port` for TCP, or `?host=DIR&port=N` form for a Unix socket.
    tcp: Option<(String, u16)>,
    socket: Option<(String, u16)>,
    admin: postgres::Config,
}

impl Endpoint {
    fn url(&self, user: &str, password: &str, db: &str) -> String {
        match (&self.tcp, &self.socket) {
            (Some((host, port)), _) => format!("postgres://{user}:{password}@{host}:{port}/{db}"),
            (None, Some((dir, port))) => format!("postgres://{user}:{password}@/{db}?host={dir}&port={port}"),
            (None, None) => format!("postgres://{user}:{password}@localhost/{db}"),
        }
    }
}

/// A running test server.
pub struct Server {
    endpoint: Endpoint,
    admin: Arc<Mutex<postgres::Client>>,
    next: AtomicU64,
    /// Held so a private cluster lives as long as the server.
    _cluster: Option<Cluster>,
}

static SHARED: OnceLock<Result<Server, String>> = OnceLock::new();

/// The test process's server, started on first use.
pub fn server() -> R<&'static Server> {
    SHARED.get_or_init(|| Server::start().map_err(|e| e.0)).as_ref().map_err(|e| HarnessError(e.clone()))
}

/// A fresh, migrated, empty database on the test process's server.
pub fn fresh_database() -> R<TestDb> {
    server()?.fresh_database()
}

impl Server {
    /// `DATABASE_URL`'s server if set, else a new private cluster.
    pub fn start() -> R<Server> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => Self::external(&url),
            _ => Self::private(),
        }
    }

    /// A new private cluster, stopped when the returned server is dropped.
    pub fn private() -> R<Server> {
        let cluster = Cluster::start()?;
        let mut admin = postgres::Config::new();
        admin.host("127.0.0.1").port(cluster.port).user(ADMIN_USER).dbname("postgres");
        let endpoint = Endpoint { tcp: Some(("127.0.0.1".into(), cluster.port)), socket: None, admin };
        Self::with_roles(endpoint, Some(cluster))
    }

    fn external(url: &str) -> R<Server> {
        let admin: postgres::Config = url.parse().map_err(|_| HarnessError("DATABASE_URL does not parse as a PostgreSQL URL".into()))?;
        let port = admin.get_ports().first().copied().unwrap_or(5432);
        let (mut tcp, mut socket) = (None, None);
        match admin.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => tcp = Some((h.clone(), port)),
            Some(postgres::config::Host::Unix(p)) => socket = Some((p.display().to_string(), port)),
            None => tcp = Some(("localhost".into(), port)),
        }
        Self::with_roles(Endpoint { tcp, socket, admin }, None)
    }

    fn with_roles(endpoint: Endpoint, cluster: Option<Cluster>) -> R<Server> {
        let mut admin =
            endpoint.admin.connect(NoTls).map_err(|e| HarnessError(format!("cannot connect as the administrator: {}", sql(e).0)))?;
        for role in [OWNER_ROLE, APP_ROLE] {
            admin
                .batch_execute(&format!(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role} LOGIN; END IF; END $$;
                     ALTER ROLE {role} LOGIN PASSWORD '{ROLE_PASSWORD}';"
                ))
                .map_err(sql)?;
        }
        Ok(Server { endpoint, admin: Arc::new(Mutex::new(admin)), next: AtomicU64::new(0), _cluster: cluster })
    }

    /// A new database owned by [`OWNER_ROLE`], migrated, with [`APP_ROLE`]
    /// granted what the application needs.
    pub fn fresh_database(&self) -> R<TestDb> {
        let db = self.empty_database()?;
        PgStore::migrate(&db.owner_url, Some(APP_ROLE)).map_err(pg)?;
        Ok(db)
    }

    /// A new, empty database owned by [`OWNER_ROLE`], not yet migrated.
    pub fn empty_database(&self) -> R<TestDb> {
        let name = format!("kinship_test_{}_{}", std::process::id(), self.next.fetch_add(1, Ordering::Relaxed));
        {
            let mut admin = self.admin.lock().map_err(|_| HarnessError("administrator connection poisoned".into()))?;
            // Separate statements: DROP/CREATE DATABASE refuse an (implicit) transaction.
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).map_err(sql)?;
            admin.batch_execute(&format!("CREATE DATABASE {name} OWNER {OWNER_ROLE}")).map_err(sql)?;
        }
        let db = TestDb {
            app_url: self.endpoint.url(APP_ROLE, ROLE_PASSWORD, &name),
            owner_url: self.endpoint.url(OWNER_ROLE, ROLE_PASSWORD, &name),
            name,
            admin: Arc::clone(&self.admin),
        };
        Ok(db)
    }
}

/// One test's database. Dropped when the test ends.
pub struct TestDb {
    pub name: String,
    /// Connects as [`APP_ROLE`]: what the application (and `kinship --database`) uses.
    pub app_url: String,
    /// Connects as [`OWNER_ROLE`], which owns the tables (and may disable their triggers).
    pub owner_url: String,
    admin: Arc<Mutex<postgres::Client>>,
}

impl TestDb {
    /// A store connected as the application role.
    pub fn store(&self) -> R<PgStore> {
        PgStore::open(&self.app_url).map_err(pg)
    }

    pub fn connect_as_owner(&self) -> R<postgres::Client> {
        postgres::Client::connect(&self.owner_url, NoTls).map_err(sql)
    }

    pub fn connect_as_app(&self) -> R<postgres::Client> {
        postgres::Client::connect(&self.app_url, NoTls).map_err(sql)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort: a database left behind is removed with its cluster,
        // or by the next run's DROP … IF EXISTS on a DATABASE_URL server.
        if let Ok(mut admin) = self.admin.lock() {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A private PostgreSQL cluster in a temporary directory.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<String>,
    pub port: u16,
    watchdog: Option<Child>,
}

fn pg_bin() -> R<PathBuf> {
    if let Ok(dir) = std::env::var("KINSHIP_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let dir = PathBuf::from("/usr/lib/postgresql/15/bin");
    if dir.join("initdb").is_file() {
        return Ok(dir);
    }
    fail(
        "PostgreSQL 15 is not installed (no /usr/lib/postgresql/15/bin/initdb): install it (apt-get install postgresql-15), \
         set KINSHIP_PG_BIN to its bin directory, or set DATABASE_URL to a server to use",
    )
}

/// PostgreSQL will not run as root: pick an unprivileged user to run it as.
fn unprivileged_user(dir: &Path) -> R<Option<String>> {
    // The directory was just created by this process: its owner is our uid.
    let uid = std::fs::metadata(dir).map_err(pg)?.uid();
    if uid != 0 {
        return Ok(None);
    }
    for user in ["postgres", "nobody"] {
        let known = Command::new("id").arg("-u").arg(user).stdout(Stdio::null()).stderr(Stdio::null()).status();
        if known.is_ok_and(|s| s.success()) {
            let chown = Command::new("chown").arg("-R").arg(format!("{user}:")).arg(dir).status().map_err(pg)?;
            if !chown.success() {
                return fail(format!("cannot hand {} to the {user} user", dir.display()));
            }
            return Ok(Some(user.to_string()));
        }
    }
    fail("running as root, and there is no postgres or nobody user to run PostgreSQL as")
}

fn free_port() -> R<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(pg)?;
    Ok(l.local_addr().map_err(pg)?.port())
}

impl Cluster {
    pub fn start() -> R<Cluster> {
        let bin = pg_bin()?;
        let dir = tempfile::Builder::new().prefix("kinship-pg-").tempdir().map_err(pg)?.keep();
        let run_as = unprivileged_user(&dir)?;
        let mut cluster = Cluster { dir, bin, run_as, port: 0, watchdog: None };
        cluster.watchdog = Some(cluster.spawn_watchdog()?);
        let data = cluster.data();
        cluster.run("initdb", |c| {
            c.arg("-D").arg(&data).args(["-U", ADMIN_USER, "-A", "trust", "-E", "UTF8", "--locale=C", "-N"]);
        })?;
        // A free port can be taken between our check and the server's bind: retry.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port()?;
            let opts = format!(
                "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300 \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                cluster.port
            );
            let log = cluster.dir.join("server.log");
            match cluster.run("pg_ctl", |c| {
                c.arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "-t", "60", "-o", &opts, "start"]);
            }) {
                Ok(()) => return Ok(cluster),
                Err(e) => last = format!("{e}; server log: {}", std::fs::read_to_string(&log).unwrap_or_default()),
            }
        }
        fail(format!("the private cluster did not start: {last}"))
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: impl FnOnce(&mut Command)) -> R<()> {
        let mut c = self.command(program);
        args(&mut c);
        let out = c.stdin(Stdio::null()).output().map_err(|e| HarnessError(format!("cannot run {program}: {e}")))?;
        if !out.status.success() {
            return fail(format!("{program} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    }

    /// A shell that outlives this process by at most a second: once the
    /// process is gone it stops the cluster and removes its directory.
    fn spawn_watchdog(&self) -> R<Child> {
        let stop = self.command("pg_ctl");
        let mut stop_line: Vec<String> = vec![stop.get_program().to_string_lossy().into_owned()];
        stop_line.extend(stop.get_args().map(|a| a.to_string_lossy().into_owned()));
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = stop_line.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" "),
            data = self.data().display(),
            dir = self.dir.display(),
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| HarnessError(format!("cannot start the cluster's watchdog: {e}")))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run("pg_ctl", |c| {
            c.arg("-D").arg(&data).args(["-m", "fast", "-w", "stop"]);
        });
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
