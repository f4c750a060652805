//! All of the app crate's integration tests, in one binary (link time
//! matters on two cores). Each test gets a fresh store in a temp directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod commands;
mod import;
mod linkage;
mod properties;
mod reports;

use kinship_app::Engine;
use kinship_domain::time::Instant;
use kinship_domain::{Actor, CommandMeta, Profile};
use kinship_store_sqlite::SqliteStore;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub engine: Engine<SqliteStore>,
}

pub fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    Env { engine: Engine::new(store, Profile::default_profile().unwrap()), dir }
}

static KEY: AtomicU64 = AtomicU64::new(0);

pub fn actor(user: &str, agency: &str, role: &str) -> Actor {
    Actor { user: user.into(), agency: agency.into(), role: role.into() }
}

pub fn meta_at(a: &Actor, at: &str) -> CommandMeta {
    CommandMeta {
        actor: a.clone(),
        idempotency_key: format!("test-{}", KEY.fetch_add(1, Ordering::Relaxed)),
        at: Instant::parse(at, None).unwrap(),
    }
}

pub fn meta(a: &Actor) -> CommandMeta {
    meta_at(a, "2018-05-08T10:00:00-05:00")
}

pub const HEADER: &str = "source,record_id,event_id,encountered_at,sector,station,a_number,given_names,family_names,birth_date,birth_date_estimated,sex,citizenship,family_id,family_kind,family_role,classification,us_address,notes";

/// Writes `rows` under the standard header to `name` in the env's directory.
pub fn write(env: &Env, name: &str, rows: &[&str]) -> std::path::PathBuf {
    let path = env.dir.path().join(name);
    let mut text = String::from(HEADER);
    text.push('\n');
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

pub fn import(env: &Env, paths: &[&std::path::Path]) -> kinship_app::import::ImportSummary {
    import_tz(env, paths, None)
}

pub fn import_tz(env: &Env, paths: &[&std::path::Path], tz: Option<&str>) -> kinship_app::import::ImportSummary {
    kinship_app::import::import(
        &env.engine,
        paths,
        kinship_app::import::ImportOptions {
            assume_tz: tz.map(|z| jiff::tz::TimeZone::get(z).unwrap()),
            format: None,
            user: "test".into(),
            progress: &mut |_| {},
        },
    )
    .unwrap()
}
