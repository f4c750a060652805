//! Linkage inside the store: a generated scenario whose families were never
//! recorded is imported, the linker proposes the ties, a reviewer confirms
//! one (a family appears, established `inferred`) and rejects another (never
//! proposed again), and rebuild reproduces the worklist.

use crate::{actor, env, import, meta};
use kinship_app::linkage::{self, LinkageOptions};
use kinship_domain::command::Command;
use kinship_domain::family::Establishment;
use kinship_domain::person::SourceRef;
use kinship_domain::{LinkId, PersonId};
use kinship_sim::{ErrorRates, Params};
use kinship_store::{Store, WorklistQuery};
use std::collections::HashSet;

fn scenario(dir: &std::path::Path) -> Vec<(SourceRef, SourceRef)> {
    let mut errors = ErrorRates::none();
    errors.set("family_unrecorded", 1.0).unwrap();
    let params = Params { days: 2, per_day: 80, policy: None, errors, ..Params::new(11) };
    kinship_sim::generate(&params, dir).unwrap();
    let mut truth = csv::Reader::from_path(dir.join("truth/parent_child.csv")).unwrap();
    truth
        .records()
        .map(|r| r.unwrap())
        .map(|r| {
            let re = |s: usize, i: usize| SourceRef { source: r[s].to_string(), record_id: r[i].to_string() };
            (re(0, 1), re(2, 3))
        })
        .collect()
}

#[test]
fn unrecorded_families_become_proposals_a_confirm_records_the_tie_and_a_reject_stays_rejected() {
    let env = env();
    let scen = env.dir.path().join("gen");
    let truth = scenario(&scen);
    let files = kinship_sim::data_files(&scen);
    let paths: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    import(&env, &paths);
    let store = &env.engine.store;
    let person = |r: &SourceRef| store.person_by_record(r).unwrap();
    let true_pairs: HashSet<(PersonId, PersonId)> =
        truth.iter().filter_map(|(a, m)| Some((person(a)?, person(m)?))).filter(|(a, m)| a != m).collect();
    assert!(true_pairs.len() >= 10, "the scenario has unrecorded parent–child pairs: {}", true_pairs.len());
    assert!(store.worklist(&WorklistQuery { limit: 10, ..Default::default() }).unwrap().is_empty());

    let report = linkage::run(&env.engine, &LinkageOptions::default()).unwrap();
    assert!(report.new_records > 0 && report.family_proposed > 0, "{report:?}");
    assert_eq!(report.through, store.linkage_cursor().unwrap());
    let family =
        |status: &str| store.worklist(&WorklistQuery { kind: Some("family".into()), status: Some(status.into()), limit: 100_000 }).unwrap();
    let items = family("proposed");
    assert_eq!(items.len() as u64, report.family_proposed);
    assert!(items.windows(2).all(|w| w[0].score >= w[1].score), "best first");
    assert!(items.iter().all(|i| !i.evidence.is_empty()), "every proposal says why");
    let found = items.iter().filter(|i| true_pairs.contains(&(i.a, i.b))).count();
    assert!(found * 2 >= true_pairs.len(), "at least half the true ties are proposed: {found} of {}", true_pairs.len());
    assert!(store.search(&Default::default()).unwrap().iter().all(|p| p.family.is_none()), "nothing was recorded automatically");

    // A second run finds nothing new and writes nothing.
    let head = store.head().unwrap().position;
    let again = linkage::run(&env.engine, &LinkageOptions::default()).unwrap();
    assert_eq!((again.new_records, store.head().unwrap().position), (0, head));

    // Confirm the best true parent–child proposal.
    let coordinator = actor("jc.salinas", "ICE", "ice_juvenile_coordinator");
    let best = items.iter().find(|i| true_pairs.contains(&(i.a, i.b)) && i.relation.as_deref() == Some("PARENT_CHILD")).unwrap();
    let confirm = |adult_role| Command::ConfirmLink { link: best.id, a: best.a, b: best.b, adult_role, minor_role: None, note: None };
    match env.engine.execute(&meta(&coordinator), &confirm(None)) {
        // The adult's sex was not recorded: the reviewer says the role.
        Err(kinship_app::AppError::Domain(e)) if e.rule == "adult-role-needed" => {
            env.engine.execute(&meta(&coordinator), &confirm(Some(kinship_domain::family::Role::LegalGuardian))).unwrap();
        }
        other => {
            other.unwrap();
        }
    }
    let minor = store.person(best.b).unwrap().unwrap();
    let fam = minor.family.expect("the confirmed tie put the minor in a family");
    let world = env.engine.family_state(fam.family).unwrap();
    let members = &world.families[&fam.family].members;
    assert!(members.iter().any(|m| m.person == best.a) && members.iter().all(|m| m.established == Establishment::Inferred));
    assert_eq!(family("confirmed").len(), 1);
    // Confirming again is refused.
    assert!(
        matches!(env.engine.execute(&meta(&coordinator), &confirm(None)), Err(kinship_app::AppError::Domain(e)) if e.rule == "link-decided")
    );

    // Reject another; a new record of the same minor re-finds the pair, and
    // it is not proposed again.
    let other = items.iter().find(|i| i.id != best.id && i.b != best.b && i.a != best.a).unwrap();
    env.engine.execute(&meta(&coordinator), &Command::RejectLink { link: other.id, reason: "not related (interview)".into() }).unwrap();
    let minor_view = store.person(other.b).unwrap().unwrap();
    let bp = minor_view.records.iter().find(|r| r.source == "BP").cloned();
    let bp = bp.expect("the minor has a Border Patrol record");
    {
        let row =
            csv::Reader::from_path(scen.join("BP.csv")).unwrap().records().map(|r| r.unwrap()).find(|r| r[1] == bp.record_id).unwrap();
        let mut fields: Vec<String> = row.iter().map(str::to_string).collect();
        fields[0] = "BP".into();
        fields[1] = format!("{}-RESUBMIT", bp.record_id);
        let path = crate::write(&env, "again.csv", &[&fields.join(",")]);
        import(&env, &[&path]);
        let rerun = linkage::run(&env.engine, &LinkageOptions::default()).unwrap();
        assert!(rerun.new_records >= 1 && rerun.skipped >= 1, "the decided pair is found again and skipped: {rerun:?}");
    }
    let rejected = store.worklist(&WorklistQuery { status: Some("rejected".into()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(rejected.iter().map(|i| i.id).collect::<Vec<LinkId>>(), vec![other.id]);
    let all = store.worklist(&WorklistQuery { limit: 1_000_000, ..Default::default() }).unwrap();
    assert_eq!(all.iter().filter(|i| i.id == other.id).count(), 1, "a rejected pair is never proposed again");

    // Rebuild = live, worklist and cursor included.
    let live = store.projection_dump().unwrap();
    store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(store.projection_dump().unwrap(), live);
    assert!(live.contains("## links"));
}

#[test]
fn the_server_worker_links_new_records_on_its_own() {
    let env = env();
    let p = crate::write(
        &env,
        "bp.csv",
        &[
            "BP,R1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,A201555001,JOSE LUIS,PEREZ GARCIA,1985-02-10,false,M,GTM,,,,,,",
            "BP,R2,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,A201555002,ANA,PEREZ LOPEZ,2011-06-01,false,F,GTM,,,,,,",
        ],
    );
    import(&env, &[&p]);
    let dir = env.dir.path().to_path_buf();
    let engine = kinship_app::Engine::new(kinship_store_sqlite::SqliteStore::open_dir(&dir).unwrap(), env.engine.profile.clone());
    let worker = linkage::spawn_worker(engine, std::time::Duration::from_millis(20), LinkageOptions::default());
    let store = &env.engine.store;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.linkage_cursor().unwrap() == 0 {
        assert!(std::time::Instant::now() < deadline, "the worker never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let items = store.worklist(&WorklistQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!((items[0].kind.as_str(), items[0].relation.as_deref()), ("family", Some("PARENT_CHILD")));
    drop(worker); // stops and joins the thread
}
