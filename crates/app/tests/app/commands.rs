//! The command path through a real store: idempotency keys, conflicts,
//! and refusals that name the rule.

use crate::{actor, env, import, meta, write};
use kinship_app::AppError;
use kinship_domain::command::Command;
use kinship_domain::{CommandMeta, PersonId};
use kinship_store::{SearchQuery, Store, StoreError};

fn seeded() -> (crate::Env, PersonId) {
    let env = env();
    let p = write(&env, "one.csv", &["BP,R1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,ANA,LOPEZ,1990-01-01,false,F,GTM,,,,,,"]);
    import(&env, &[&p]);
    let id = env.engine.store.search(&SearchQuery { name: Some("ana".into()), limit: 1, ..Default::default() }).unwrap()[0].id;
    (env, id)
}

#[test]
fn a_retried_command_with_the_same_key_makes_one_event() {
    let (env, ana) = seeded();
    let agent = actor("agent.a", "BP", "bp_agent");
    let m = meta(&agent);
    let cmd = Command::OfferTransfer { person: ana, to_agency: "ICE".into(), to_facility: None };
    let first = env.engine.execute(&m, &cmd).unwrap();
    let head = env.engine.store.head().unwrap();
    let second = env.engine.execute(&m, &cmd).unwrap();
    assert!(!first.replayed && second.replayed);
    assert_eq!((first.first, first.last), (second.first, second.last));
    assert_eq!(env.engine.store.head().unwrap(), head, "no second event");
    // Same key, different command: refused.
    let other = Command::OfferTransfer { person: ana, to_agency: "ORR".into(), to_facility: None };
    assert!(matches!(env.engine.execute(&m, &other), Err(AppError::Store(StoreError::KeyReused { .. }))));
}

#[test]
fn two_commands_decided_on_the_same_version_exactly_one_commits() {
    let (env, ana) = seeded();
    let agent = actor("agent.a", "BP", "bp_agent");
    let mut c1 = kinship_app::engine::Cache::default();
    let mut c2 = kinship_app::engine::Cache::default();
    let a1 = env
        .engine
        .prepare(&mut c1, &meta(&agent), &Command::OfferTransfer { person: ana, to_agency: "ICE".into(), to_facility: None })
        .unwrap();
    let a2 = env
        .engine
        .prepare(&mut c2, &meta(&agent), &Command::OfferTransfer { person: ana, to_agency: "ORR".into(), to_facility: None })
        .unwrap();
    assert!(env.engine.store.append(&[a1]).is_ok());
    assert!(matches!(env.engine.store.append(&[a2]), Err(StoreError::Conflict { .. })));
    assert_eq!(env.engine.store.person(ana).unwrap().unwrap().custody.agency.as_deref(), Some("BP"));
}

#[test]
fn parallel_conflicting_commands_through_the_engine_commit_once() {
    let dir = tempfile::tempdir().unwrap();
    let (env, ana) = seeded();
    drop(dir);
    let path = env.dir.path().to_path_buf();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = kinship_store_sqlite::SqliteStore::open_dir(&path).unwrap();
                let engine = kinship_app::Engine::new(store, kinship_domain::Profile::default_profile().unwrap());
                let m = CommandMeta { idempotency_key: format!("p{i}"), ..meta(&actor("agent.a", "BP", "bp_agent")) };
                engine.execute(&m, &Command::OfferTransfer { person: ana, to_agency: "ICE".into(), to_facility: None })
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    // The losers either lost the race at append (conflict) or decided after
    // the winner committed (a transfer is already pending).
    let refused = results
        .iter()
        .filter(|r| r.as_ref().is_err_and(|e| e.is_conflict() || matches!(e, AppError::Domain(d) if d.rule == "transfer-pending")))
        .count();
    assert_eq!((ok, refused), (1, 5), "{results:?}");
    let offers = env.engine.store.custody_history(ana).unwrap().into_iter().filter(|c| c.kind == "transfer_offered").count();
    assert_eq!(offers, 1);
}

#[test]
fn refusals_name_the_rule_and_write_nothing() {
    let (env, ana) = seeded();
    let head = env.engine.store.head().unwrap();
    let analyst = actor("hq.a", "HQ", "hq_analyst");
    let err = env.engine.execute(&meta(&analyst), &Command::Release { person: ana, us_address: None, conditions: None }).unwrap_err();
    match err {
        AppError::Domain(d) => {
            assert_eq!(d.rule, "not-permitted");
            assert!(d.message.contains("custody.release"), "{}", d.message);
        }
        other => panic!("{other:?}"),
    }
    let ice = actor("ice.a", "ICE", "ice_officer");
    let err = env.engine.execute(&meta(&ice), &Command::Release { person: ana, us_address: None, conditions: None }).unwrap_err();
    assert!(matches!(err, AppError::Domain(d) if d.rule == "custody-agency-only"));
    assert_eq!(env.engine.store.head().unwrap(), head);
}

#[test]
fn a_release_without_address_is_allowed_and_flagged() {
    let (env, ana) = seeded();
    let agent = actor("agent.a", "BP", "bp_agent");
    env.engine.execute(&meta(&agent), &Command::Release { person: ana, us_address: Some("  ".into()), conditions: None }).unwrap();
    let v = env.engine.store.person(ana).unwrap().unwrap();
    assert_eq!(v.custody.status, "released");
    let f = env.engine.store.findings(true).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, "release-without-address");
    assert_eq!(f[0].subjects, vec![ana.to_string()]);
    // A person resolves it.
    let sup = actor("sup.b", "BP", "bp_supervisor");
    let fid = kinship_domain::FindingId::parse(&f[0].id).unwrap();
    env.engine
        .execute(&meta(&sup), &Command::ResolveFinding { finding: fid, resolution: "address obtained by phone: on file".into() })
        .unwrap();
    assert!(env.engine.store.findings(true).unwrap().is_empty());
    assert_eq!(env.engine.store.findings(false).unwrap()[0].resolution.as_deref(), Some("address obtained by phone: on file"));
}

/// The command hash kept with each idempotency key is SHA-256 of the actor's
/// JSON followed by the command's JSON: a store written by an earlier version
/// compares its hashes with today's, so how it is computed may change but the
/// bytes hashed may not.
#[test]
fn the_command_hash_is_sha256_of_the_actor_then_the_command_json() {
    use sha2::{Digest, Sha256};
    let agent = actor("agent.ñ", "BP", "bp_agent");
    let cmd = Command::OfferTransfer { person: PersonId::new_v7(), to_agency: "ICE \"north\"".into(), to_facility: Some("Ursula".into()) };
    let mut bytes = serde_json::to_vec(&agent).unwrap();
    bytes.extend(serde_json::to_vec(&cmd).unwrap());
    let expected = hex::encode(Sha256::digest(&bytes));
    assert_eq!(kinship_app::engine::command_hash(&agent, &cmd), expected);
    // Twice on one thread (the buffer is reused): the same answer.
    assert_eq!(kinship_app::engine::command_hash(&agent, &cmd), expected);
    let other = Command::OfferTransfer { person: PersonId::new_v7(), to_agency: "ICE".into(), to_facility: None };
    assert_ne!(kinship_app::engine::command_hash(&agent, &other), expected);
}
