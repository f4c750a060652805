//! `kinship serve`, `user`, `token`, `audit` and `verify` as a user runs
//! them: a real server process on a free port, the account and token
//! commands run beside it against the same store, and HTTP to check each
//! change took effect.

use super::served::Served;
use super::{HEADER, kinship, text};
use std::path::Path;

/// The value after `marker` on the first line holding it.
fn after(out: &str, marker: &str) -> String {
    out.lines().find_map(|l| l.split(marker).nth(1)).unwrap_or_else(|| panic!("no {marker:?} in {out}")).trim().to_string()
}

fn add_user(data: &Path, name: &str, role: &str, agency: &str) -> String {
    let o = kinship(data, &["--role", role, "--agency", agency, "user", "add", name]);
    assert!(o.status.success(), "{}", text(&o));
    after(&text(&o), "one-time password: ")
}

#[test]
fn first_start_prints_the_admin_password_once_and_it_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let first = Served::start(&data, &[]);
    let password = first.admin_password().expect("an empty store's first start prints the admin password");
    assert!(first.printed.iter().any(|l| l.contains("created account `admin`")), "{:?}", first.printed);
    let (r, cookie) = first.login("admin", &password);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.json()["user"].as_str(), r.json()["role"].as_str()), (Some("admin"), Some("admin")));
    let set = r.header("set-cookie").unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && !set.contains("Secure"), "{set}");
    let me = first.http("GET", "/api/session", cookie.as_deref(), None);
    assert_eq!((me.status, me.json()["user"].as_str()), (200, Some("admin")), "{}", me.body);
    assert_eq!(first.login("admin", "not-the-password").0.status, 401);
    assert_eq!(first.http("GET", "/api/session", None, None).status, 401);
    drop(first);

    // A second start over the same store makes no new admin and prints no password.
    let second = Served::start(&data, &[]);
    assert_eq!(second.admin_password(), None, "{:?}", second.printed);
    assert!(!second.printed.iter().any(|l| l.contains("password:")), "{:?}", second.printed);
    assert_eq!(second.login("admin", &password).0.status, 200, "the first password still works");
}

#[test]
fn user_commands_change_who_can_log_in_to_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let s = Served::start(&data, &[]);
    let pw = add_user(&data, "alice", "bp_agent", "BP");
    let (r, session) = s.login("alice", &pw);
    assert_eq!((r.status, r.json()["role"].as_str(), r.json()["agency"].as_str()), (200, Some("bp_agent"), Some("BP")), "{}", r.body);
    let list = text(&kinship(&data, &["user", "list"]));
    let line = list.lines().find(|l| l.starts_with("alice ")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("BP") && line.contains("bp_agent") && line.ends_with("active"), "{line}");

    // Refusals name what is wrong.
    let o = kinship(&data, &["--role", "bp_agent", "--agency", "BP", "user", "add", "alice"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    let o = kinship(&data, &["--role", "warden", "--agency", "BP", "user", "add", "carol"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("unknown role \"warden\""), "{}", text(&o));
    let o = kinship(&data, &["user", "disable", "nobody"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no account named \"nobody\""), "{}", text(&o));

    // Reset: a new password, the old one refused, the open session ended.
    let o = kinship(&data, &["user", "reset", "alice"]);
    assert!(o.status.success(), "{}", text(&o));
    let pw2 = after(&text(&o), "new one-time password: ");
    assert_ne!(pw, pw2);
    assert_eq!(s.http("GET", "/api/session", session.as_deref(), None).status, 401, "a reset ends sessions");
    assert_eq!(s.login("alice", &pw).0.status, 401, "the old password is refused");
    let (r, session) = s.login("alice", &pw2);
    assert_eq!(r.status, 200);

    // Disable: sessions end and logging in is refused; enable lets them back.
    assert!(kinship(&data, &["user", "disable", "alice"]).status.success());
    assert_eq!(s.http("GET", "/api/session", session.as_deref(), None).status, 401);
    let (r, _) = s.login("alice", &pw2);
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("bad-credentials")));
    let list = text(&kinship(&data, &["user", "list"]));
    assert!(list.lines().any(|l| l.starts_with("alice ") && l.ends_with("disabled")), "{list}");
    assert!(kinship(&data, &["user", "enable", "alice"]).status.success());
    assert_eq!(s.login("alice", &pw2).0.status, 200);
}

#[test]
fn a_revoked_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let s = Served::start(&data, &[]);
    let o = kinship(&data, &["--role", "orr_case_manager", "--agency", "ORR", "token", "issue", "orr-case-system", "--scope", "read"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let id = out.split_whitespace().nth(1).unwrap().to_string();
    let secret = out.lines().nth(1).unwrap().trim().to_string();
    let me = s.http("GET", "/api/session", Some(&secret), None);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!((me.json()["role"].as_str(), me.json()["token"].as_str()), (Some("orr_case_manager"), Some(id.as_str())));
    // Its scope is read: commands are refused.
    assert_eq!(s.http("POST", "/api/commands", Some(&secret), Some(r#"{"command":"Teleport"}"#)).status, 403);
    let list = text(&kinship(&data, &["token", "list"]));
    assert!(list.lines().any(|l| l.starts_with(&id) && l.ends_with("active")), "{list}");

    let o = kinship(&data, &["token", "revoke", &id]);
    assert!(o.status.success() && text(&o).contains("revoked"), "{}", text(&o));
    assert_eq!(s.http("GET", "/api/session", Some(&secret), None).status, 401, "a revoked token is refused");
    assert_eq!(s.http("GET", "/api/persons", Some(&secret), None).status, 401);
    let list = text(&kinship(&data, &["token", "list"]));
    assert!(list.lines().any(|l| l.starts_with(&id) && l.ends_with("revoked")), "{list}");
    let o = kinship(&data, &["token", "revoke", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no active token"), "{}", text(&o));
}

#[test]
fn audit_answers_who_read_a_person_and_verify_finds_a_tampered_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let f = dir.path().join("bp.csv");
    std::fs::write(&f, format!("{HEADER}\nBP,R1,EV1,2026-11-01T10:00:00-06:00,ANA,LOPEZ,2015-01-01,,,\n")).unwrap();
    assert_eq!(kinship(&data, &["import", f.to_str().unwrap()]).status.code(), Some(0));
    let hits: serde_json::Value = serde_json::from_slice(&kinship(&data, &["search", "--name", "ana", "--json"]).stdout).unwrap();
    let person = hits[0]["id"].as_str().unwrap().to_string();

    let s = Served::start(&data, &[]);
    let (alice, bob) = (add_user(&data, "alice", "bp_agent", "BP"), add_user(&data, "bob", "ice_officer", "ICE"));
    let alice = s.login("alice", &alice).1;
    let bob = s.login("bob", &bob).1;
    let path = format!("/api/persons/{person}?purpose=case-review");
    assert_eq!(s.http("GET", &path, alice.as_deref(), None).status, 200);
    assert_eq!(s.http("GET", &path, bob.as_deref(), None).status, 404, "ICE does not reach BP's person");
    drop(s);

    let today = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date().to_string();
    let o = kinship(&data, &["audit", "--subject", &person, "--since", &today]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let line =
        |who: &str| out.lines().find(|l| l.contains(&format!(" {who} ("))).unwrap_or_else(|| panic!("no {who} in {out}")).to_string();
    let a = line("alice");
    assert!(a.contains("(bp_agent BP)") && a.contains("person.read") && a.contains("purpose=case-review") && a.ends_with("-> ok"), "{a}");
    assert!(a.contains("identity"), "the field classes returned are named: {a}");
    assert!(!a.contains("ANA") && !a.contains("LOPEZ"), "never the values: {a}");
    assert!(line("bob").ends_with("-> not_found"));

    // --user narrows to one reader: exactly one record per read.
    let o = kinship(&data, &["--json", "audit", "--subject", &person, "--user", "alice", "--since", &today]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0]["entry"]["user"].as_str(), rows[0]["entry"]["action"].as_str()), (Some("alice"), Some("person.read")));
    let alice_position = rows[0]["position"].as_u64().unwrap();
    // Filtering by a user does not make the CLI act as that user: the query
    // itself is audited as the local actor.
    let o = kinship(&data, &["--json", "audit", "--user", "local-admin", "--limit", "1"]);
    let last: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (last[0]["entry"]["action"].as_str(), last[0]["entry"]["user"].as_str()),
        (Some("audit.read"), Some("local-admin")),
        "{last}"
    );
    let tomorrow = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date().tomorrow().unwrap().to_string();
    let o = kinship(&data, &["audit", "--subject", &person, "--since", &tomorrow]);
    assert!(text(&o).contains("no audit records match"), "{}", text(&o));
    let o = kinship(&data, &["audit", "--since", "last week"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--since"), "{}", text(&o));
    // Only audit.read may look.
    let o = kinship(&data, &["--role", "bp_agent", "--agency", "BP", "audit", "--subject", &person]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("audit.read"), "{}", text(&o));

    let v = kinship(&data, &["verify"]);
    assert!(v.status.success() && text(&v).contains("audit log intact"), "{}", text(&v));
    // Someone with the database file rewrites who read the child.
    let db = rusqlite::Connection::open(data.join("kinship.db")).unwrap();
    db.execute_batch("DROP TRIGGER audit_no_update; UPDATE audit SET user = 'mallory' WHERE user = 'alice';").unwrap();
    drop(db);
    let v = kinship(&data, &["verify"]);
    assert_eq!(v.status.code(), Some(2), "{}", text(&v));
    let out = text(&v);
    assert!(out.contains("event log intact"), "{out}");
    assert!(out.contains(&format!("audit log DAMAGED at position {alice_position}")), "{out}");
    let v = kinship(&data, &["verify", "--json"]);
    assert_eq!(v.status.code(), Some(2));
    let j: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(j["audit"]["first_bad"]["position"].as_u64(), Some(alice_position));
}

/// Whoever reads the banner may go away (`kinship serve | head -1`, a
/// supervisor that drops the pipe): the server keeps serving, and SIGTERM
/// stops it cleanly.
#[test]
fn a_closed_stdout_does_not_stop_the_server_and_sigterm_ends_it_cleanly() {
    closed_stdout_then_sigterm(None);
}

/// The same on PostgreSQL, whose client must be closed off the async runtime.
#[test]
fn a_server_on_postgresql_stops_cleanly_on_sigterm() {
    let db = kinship_store_postgres::testing::fresh_database().unwrap();
    closed_stdout_then_sigterm(Some(&db.app_url));
}

fn closed_stdout_then_sigterm(database: Option<&str>) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    // A free port chosen here, since the banner that names it is not read.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kinship"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--demo", "--listen", &listen])
        .env_remove("KINSHIP_PROFILE")
        .env("KINSHIP_DATABASE", database.unwrap_or(""))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read one line of the banner, then close the pipe: every later line fails to write.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(!first.is_empty());
    let began = Instant::now();
    let health = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited ({status}) after its stdout closed");
        }
        if let Ok(s) = std::net::TcpStream::connect(&listen) {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            if let Ok(r) = super::served::exchange(s, "GET", "/health", None, None) {
                break r;
            }
        }
        assert!(began.elapsed() < Duration::from_secs(180), "the server never answered on {listen}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(health.status, 200, "{}", health.body);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let began = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(began.elapsed() < Duration::from_secs(30), "SIGTERM did not stop the server");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
}
