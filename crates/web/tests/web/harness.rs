//! A real server on 127.0.0.1:0 over a fresh SQLite store, a client, and
//! builders for the commands the tests send.

use kinship_domain::command::NewMember;
use kinship_domain::event::{EncounterRef, RecordDetails};
use kinship_domain::family::{Establishment, FamilyKind, Role};
use kinship_domain::name::PersonName;
use kinship_domain::person::{BirthDate, Identity, SourceRef};
use kinship_domain::time::Instant;
use kinship_domain::{ANumber, Command, FamilyId, PersonId, Profile};
use kinship_store_sqlite::SqliteStore;
use kinship_web::client::{Client, Response};
use kinship_web::{Backend, Options, Running, auth};
use serde_json::Value;
use std::sync::{Arc, Mutex, OnceLock};
use tempfile::TempDir;

/// Everything the server logs in this test binary, for the canary test.
pub fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let w = buf.clone();
        kinship_web::logs::init(move || Capture(w.clone()));
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct Server {
    pub dir: TempDir,
    pub backend: Backend,
    pub profile: Profile,
    pub _running: Running,
    pub client: Client,
    pub admin: Client,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(900).await
    }

    pub async fn start_with(idle_timeout_s: i64) -> Self {
        captured_logs();
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::of(SqliteStore::open_dir(dir.path()).unwrap());
        let profile = Profile::default_profile().unwrap();
        let state = kinship_web::state(backend.clone(), profile.clone(), &Options { tls: None, idle_timeout_s });
        let running = kinship_web::start("127.0.0.1:0".parse().unwrap(), state, None).await.unwrap();
        let client = Client::new(&format!("http://{}", running.addr));
        let (_, admin_token) =
            auth::issue_token(backend.accounts.as_ref(), "test-admin", "HQ", "admin", &["read".into(), "command".into()], "test").unwrap();
        let admin = client.with_bearer(&admin_token);
        Self { dir, backend, profile, _running: running, client, admin }
    }

    /// A client acting as `role` of `agency` through an API token.
    pub fn token(&self, role: &str, agency: &str, scopes: &[&str]) -> Client {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let (_, t) = auth::issue_token(self.backend.accounts.as_ref(), &format!("{role}@{agency}"), agency, role, &scopes, "test").unwrap();
        self.client.with_bearer(&t)
    }

    pub fn audit_count(&self) -> u64 {
        self.backend.audit.audit_head().unwrap().position
    }

    pub fn log_position(&self) -> u64 {
        self.backend.store.head().unwrap().position
    }
}

pub async fn command(c: &Client, cmd: &Command, key: Option<&str>) -> Response {
    let body = serde_json::to_value(cmd).unwrap();
    let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
    c.post("/api/commands", &body, &headers).await.unwrap()
}

pub async fn ok(c: &Client, cmd: &Command) -> Value {
    let r = command(c, cmd, None).await;
    assert_eq!(r.status, 200, "{cmd:?} -> {}", String::from_utf8_lossy(&r.body));
    r.json()
}

pub fn at(s: &str) -> Instant {
    Instant::parse(s, None).unwrap()
}

#[allow(clippy::too_many_arguments)] // a test builder: every argument is a field the tests vary
pub fn record(
    person: PersonId,
    given: &str,
    family: &str,
    birth: (i16, i8, i8),
    a: Option<&str>,
    source: &str,
    rid: &str,
    extra: &[(&str, &str)],
    custody: &str,
) -> Command {
    Command::RecordPerson {
        person,
        identity: Identity {
            name: PersonName::parse(given, family).unwrap(),
            birth: Some(BirthDate { date: jiff::civil::date(birth.0, birth.1, birth.2), estimated: false }),
            sex: None,
            citizenship: None,
            a_number: a.map(|a| ANumber::parse(a).unwrap()),
        },
        record: SourceRef { source: source.into(), record_id: rid.into() },
        encounter: EncounterRef { key: format!("{source}:EV-{rid}"), at: at("2026-11-01T10:00:00-06:00"), sector: None, station: None },
        details: RecordDetails { extra: extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), ..Default::default() },
        custody: Some((custody.into(), None)),
        family: None,
    }
}

/// Values planted in each record column, unique so a leak is found by
/// searching the response text.
pub const PARENT_COLUMNS: &[(&str, &str)] = &[
    ("criminal_history_category", "CAT-IMMIGRATION-xq1"),
    ("criminal_history", "RECORD-1326-reentry-xq2"),
    ("health_intake_screening", "SCREEN-cleared-xq3"),
    ("health_notes", "NOTES-asthma-xq4"),
    ("sponsor_name", "SPONSOR-aunt-xq5"),
    ("biometrics_pointer", "IDENT-4711-xq6"),
];

pub const PARENT_NAME: &str = "MARISOLXQ";
pub const PARENT_A: &str = "076543210";

/// The world most tests use: a BP family (parent with every column class,
/// child) whose child was handed to ORR, and an ICE-only person.
pub struct World {
    pub parent: PersonId,
    pub child: PersonId,
    pub family: FamilyId,
    pub ice_person: PersonId,
}

pub async fn seed(s: &Server) -> World {
    let (parent, child, ice_person) = (PersonId::new_v7(), PersonId::new_v7(), PersonId::new_v7());
    let family = FamilyId::new_v7();
    let bp = s.token("bp_agent", "BP", &["read", "command"]);
    let orr = s.token("orr_case_manager", "ORR", &["read", "command"]);
    let ice = s.token("ice_officer", "ICE", &["read", "command"]);
    ok(&bp, &record(parent, PARENT_NAME, "LOPEZXQ", (1988, 2, 3), Some(PARENT_A), "BP", "R-P", PARENT_COLUMNS, "BP")).await;
    ok(&bp, &record(child, "DANIXQ", "LOPEZXQ", (2019, 5, 6), None, "BP", "R-C", &[("health_notes", "CHILD-NOTES-xq7")], "BP")).await;
    ok(
        &bp,
        &Command::FormFamily {
            family,
            kind: FamilyKind::Unit,
            formed_at: at("2026-11-01T10:00:00-06:00"),
            members: vec![
                NewMember { person: parent, role: Role::Mother, established: Establishment::Claimed },
                NewMember { person: child, role: Role::Daughter, established: Establishment::Claimed },
            ],
            lead: parent,
        },
    )
    .await;
    ok(&bp, &Command::OfferTransfer { person: child, to_agency: "ORR".into(), to_facility: Some("SHELTER-1".into()) }).await;
    ok(&orr, &Command::AcceptTransfer { person: child, facility: Some("SHELTER-1".into()) }).await;
    ok(&ice, &record(ice_person, "OTHERXQ", "PERSONXQ", (1990, 1, 1), None, "ICE", "R-I", &[], "ICE")).await;
    World { parent, child, family, ice_person }
}

/// A Border Patrol supervisor separates the seeded parent from the family
/// under a prosecution reason (FMPC): the child is then a separated child,
/// and the parent's 48-hour referral clock runs.
pub async fn separate_parent_for_prosecution(s: &Server, w: &World) {
    separate_parent_as(s, w, "bp_supervisor").await;
}

/// The same separation, recorded by a token of `role` at Border Patrol;
/// answers its id.
pub async fn separate_parent_as(s: &Server, w: &World, role: &str) -> kinship_domain::SeparationId {
    let separation = kinship_domain::SeparationId::new_v7();
    ok(
        &s.token(role, "BP", &["command"]),
        &Command::RecordSeparation {
            family: w.family,
            separation,
            members: vec![w.parent],
            reason_code: "FMPC".into(),
            policy: None,
            narrative: "referred for prosecution".into(),
            approved_by: "sup.alvarez".into(),
        },
    )
    .await;
    separation
}
