//! The separated-children report, the demo, and rebuild = live on a living store.

use crate::{actor, env, import, meta, meta_at, write};
use kinship_domain::SeparationId;
use kinship_domain::command::Command;
use kinship_domain::family::ReviewDecision;
use kinship_store::{SearchQuery, Store};

#[test]
fn separated_children_says_where_the_child_is_where_the_parent_is_since_when_and_why() {
    let env = env();
    let p = write(
        &env,
        "fam.csv",
        &[
            "BP,R1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,A201555001,JOSE LUIS,PEREZ GARCIA,1985-02-10,false,M,GTM,FMUA1,UNIT,FATHER,,,",
            "BP,R2,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,A201555002,ANA,PEREZ LOPEZ,2011-06-01,false,F,GTM,FMUA1,UNIT,DAUGHTER,,,",
        ],
    );
    import(&env, &[&p]);
    let search =
        |n: &str| env.engine.store.search(&SearchQuery { name: Some(n.into()), limit: 1, ..Default::default() }).unwrap().remove(0);
    let (father, ana) = (search("jose"), search("ana"));
    let family = father.family.as_ref().unwrap().family;
    let agent = actor("agent.a", "BP", "bp_agent");
    let sep = SeparationId::new_v7();
    env.engine
        .execute(
            &meta_at(&agent, "2018-05-08T09:00:00-05:00"),
            &Command::RecordSeparation {
                family,
                separation: sep,
                members: vec![father.id],
                reason_code: "FMPP".into(),
                policy: Some("Zero Tolerance".into()),
                narrative: "Referred for prosecution under 8 USC 1325".into(),
                approved_by: "PAIC Morales".into(),
            },
        )
        .unwrap();
    env.engine
        .execute(&meta(&agent), &Command::OfferTransfer { person: father.id, to_agency: "ICE".into(), to_facility: Some("PISPC".into()) })
        .unwrap();
    env.engine
        .execute(&meta(&actor("ice.a", "ICE", "ice_officer")), &Command::AcceptTransfer { person: father.id, facility: None })
        .unwrap();
    env.engine
        .execute(&meta(&agent), &Command::OfferTransfer { person: ana.id, to_agency: "ORR".into(), to_facility: Some("Casa Padre".into()) })
        .unwrap();
    env.engine
        .execute(&meta(&actor("orr.a", "ORR", "orr_case_manager")), &Command::AcceptTransfer { person: ana.id, facility: None })
        .unwrap();

    let today = jiff::civil::date(2018, 6, 20);
    let rows = env.engine.store.separated_children(today).unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert_eq!(r.child.id, ana.id);
    assert_eq!(r.child.custody.agency.as_deref(), Some("ORR"));
    assert_eq!(r.child.custody.facility.as_deref(), Some("Casa Padre"));
    assert_eq!(r.parents.len(), 1);
    assert_eq!(r.parents[0].person.id, father.id);
    assert_eq!(r.parents[0].person.custody.agency.as_deref(), Some("ICE"));
    assert_eq!(r.parents[0].status, "separated");
    assert_eq!(r.since, "2018-05-08T09:00:00-05:00");
    assert_eq!((r.reason_code.as_str(), r.policy.as_deref()), ("FMPP", Some("Zero Tolerance")));
    assert_eq!(r.review, "awaiting_level_1");
    let text = kinship_app::report::separated_children_text(&env.engine, &rows);
    assert!(text.contains("ORR / Casa Padre") && text.contains("ICE / PISPC") && text.contains("FMPP"), "{text}");

    // Reviews move the review state; reunification ends the separation.
    env.engine
        .execute(
            &meta(&actor("sup.1", "BP", "bp_supervisor")),
            &Command::ReviewSeparation { family, separation: sep, level: 1, decision: ReviewDecision::Approve, note: None },
        )
        .unwrap();
    assert_eq!(env.engine.store.separated_children(today).unwrap()[0].review, "awaiting_level_2");
    env.engine
        .execute(
            &meta(&actor("ice.a", "ICE", "ice_officer")),
            &Command::Reunify { family, members: vec![father.id], location: "Port Isabel".into() },
        )
        .unwrap();
    assert!(env.engine.store.separated_children(today).unwrap().is_empty());
    let f = env.engine.store.person(father.id).unwrap().unwrap().family.unwrap();
    assert_eq!((f.family, f.status.as_str()), (family, "reunified"), "rejoined the original family");
    // A child who has grown up is no longer reported as a child.
    assert!(env.engine.store.separated_children(jiff::civil::date(2030, 1, 1)).unwrap().is_empty());
}

#[test]
fn the_demo_loads_and_rebuild_equals_live() {
    let env = env();
    let s = kinship_app::demo::load(&env.engine, env.dir.path(), 100).unwrap();
    assert!(s.separations > 0 && s.reunifications > 0 && s.transfers > 0, "{s:?}");
    assert!(s.persons > 500 && s.families > 50, "{s:?}");
    // Every step of the demo's story is accepted by the core.
    assert_eq!((s.story.refused_total(), s.story.unresolved, s.rejected), (0, 0, 0), "{s:?}");
    let today = jiff::Zoned::now().date();
    assert!(!env.engine.store.separated_children(today).unwrap().is_empty());
    let clocks = kinship_app::report::clocks_report(&env.engine, jiff::Timestamp::now()).unwrap();
    assert!(clocks.iter().any(|(_, c)| c.overdue && c.clock == "child_border_custody"), "some child is past 72 h");
    let live = env.engine.store.projection_dump().unwrap();
    env.engine.store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(live, env.engine.store.projection_dump().unwrap());
    let v = kinship_store::verify::verify(&env.engine.store, &mut |_| {}).unwrap();
    assert!(v.first_bad.is_none());
}
