//! Import: good, bad and re-sent rows; what is wrong with a family becomes a
//! finding, never a lost row.

use crate::{env, import, import_tz, write};
use kinship_domain::family::{MemberStatus, Role};
use kinship_domain::{ANumber, Event, StreamId};
use kinship_store::{SearchQuery, Store};

const FAMILY: &[&str] = &[
    "BP,R1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,A-201-555-001,JOSE LUIS,PEREZ GARCIA,1985-02-10,false,M,GTM,FMUA1,UNIT,FATHER,FAMILY_UNIT_MEMBER,,",
    "BP,R2,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,201555002,ANA,PEREZ LOPEZ,2011-06-01,false,F,GTM,FMUA1,UNIT,DAUGHTER,FAMILY_UNIT_MEMBER,,",
    "BP,R3,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,MARIA JOSE,PÉREZ LÓPEZ,2014-01-01,true,F,GTM,FMUA1,UNIT,DAUGHTER,FAMILY_UNIT_MEMBER,,",
];

#[test]
fn good_rows_become_persons_families_and_custody() {
    let env = env();
    let p = write(&env, "bp.csv", FAMILY);
    let s = import(&env, &[&p]);
    let f = &s.files[0];
    assert_eq!((f.rows, f.loaded, f.rejected, f.unchanged, f.corrected), (3, 3, 0, 0, 0), "{f:?}");
    let hits = env.engine.store.search(&SearchQuery { name: Some("perez".into()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(hits.len(), 3);
    let family = hits[0].family.as_ref().unwrap().family;
    assert!(hits.iter().all(|h| h.family.as_ref().map(|m| m.family) == Some(family)), "one family for all three");
    assert!(hits.iter().all(|h| h.custody.agency.as_deref() == Some("BP") && h.custody.facility.as_deref() == Some("MCS")));
    let father = hits.iter().find(|h| h.given_names.as_deref() == Some("JOSE LUIS")).unwrap();
    assert!(father.family.as_ref().unwrap().is_lead, "the adult parent leads");
    assert_eq!(father.a_number.as_deref(), Some("201555001"));
    // Accent-insensitive search finds the accented record too.
    let maria = env.engine.store.search(&SearchQuery { name: Some("maria perez".into()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(maria.len(), 1);
    assert_eq!(maria[0].family_names.as_deref(), Some("PÉREZ LÓPEZ"), "stored as given");
    assert!(maria[0].birth_date_estimated);
    assert_eq!(s.findings_raised, 0, "a well-formed family raises no findings: {:?}", env.engine.store.findings(false).unwrap());
}

#[test]
fn bad_rows_are_reported_with_line_and_field_and_the_rest_load() {
    let env = env();
    let p = write(
        &env,
        "bad.csv",
        &[
            "BP,R1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,ANA,LOPEZ,1990-01-01,false,F,GTM,,,,,,",
            "BP,R2,EV1,2018-05-07T14:32:00,RGV,MCS,,ANA,LOPEZ,1990-01-01,false,F,GTM,,,,,,",
            "BP,R3,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,A12,ANA,LOPEZ,,,F,,,,,,,",
            "BP,R4,,2018-05-07T14:32:00-06:00,RGV,MCS,,ANA,LOPEZ,,,F,,,,,,,",
            "XX,R5,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,ANA,LOPEZ,,,F,,,,,,,",
            "BP,R6,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,,LOPEZ,1990-13-01,maybe,Q,GUATEMALA,,,,,,",
            "BP,R7,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,ANA,LOPEZ,,,F,,,,DAUGHTER,,,",
            "BP,R1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,ANA,LOPEZ,,,F,,,,,,,",
            "BP,R8,EV1",
            "BP,R9,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,FNU,LNU,2019-01-01,,U,,,,,,,",
            "BP,R10,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,PEDRO,\"DE LA CRUZ, JR\",,,M,MEX,F9,GROUP,UNCLE,,,\"notes, with comma\"",
        ],
    );
    let s = import(&env, &[&p]);
    let f = &s.files[0];
    assert_eq!(f.rows, 11);
    assert_eq!(f.loaded, 2, "R1 and R10 load: {:?}", f.errors);
    assert_eq!(f.rejected, 9);
    let has = |line: u64, field: &str, text: &str| {
        assert!(
            f.errors.iter().any(|e| e.line == line && e.field == field && e.reason.contains(text)),
            "expected an error at line {line} field {field} containing {text:?}; got {:#?}",
            f.errors
        )
    };
    has(3, "encountered_at", "no UTC offset");
    has(4, "a_number", "8 or 9 digits");
    has(5, "event_id", "required for BP");
    has(6, "source", "not a declared source");
    has(7, "given_names", "FNU");
    has(7, "birth_date", "YYYY-MM-DD");
    has(7, "birth_date_estimated", "true or false");
    has(7, "sex", "M, F, X, U");
    has(7, "citizenship", "alpha-3");
    has(8, "family_role", "without family_id");
    has(9, "record_id", "earlier in this file");
    has(10, "*", "fields but the header has");
    has(11, "birth_date", "after the encounter");
    // Nothing of a rejected row was loaded; the good ones were.
    assert_eq!(env.engine.store.search(&SearchQuery { name: Some("ana".into()), limit: 10, ..Default::default() }).unwrap().len(), 1);
    let pedro = env.engine.store.search(&SearchQuery { name: Some("pedro".into()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(pedro[0].family_names.as_deref(), Some("DE LA CRUZ, JR"));
}

#[test]
fn a_zone_named_by_the_caller_is_applied_to_times_without_offset() {
    let env = env();
    let p = write(&env, "local.csv", &["BP,R1,EV1,2018-05-07T14:32:00,RGV,MCS,,ANA,LOPEZ,,,F,,,,,,,"]);
    let s = import_tz(&env, &[&p], Some("America/Chicago"));
    assert_eq!(s.files[0].loaded, 1, "{:?}", s.files[0].errors);
    let hit = &env.engine.store.search(&SearchQuery { name: Some("ana".into()), limit: 1, ..Default::default() }).unwrap()[0];
    assert_eq!(hit.first_encountered, "2018-05-07T14:32:00-05:00");
}

#[test]
fn re_importing_identical_rows_is_a_no_op() {
    let env = env();
    let p = write(&env, "bp.csv", FAMILY);
    import(&env, &[&p]);
    let head = env.engine.store.head().unwrap();
    let s = import(&env, &[&p]);
    let f = &s.files[0];
    assert_eq!((f.loaded, f.unchanged, f.corrected), (0, 3, 0));
    assert_eq!(env.engine.store.head().unwrap(), head, "no event written");
}

#[test]
fn changed_rows_become_corrections_and_history_keeps_both() {
    let env = env();
    let p = write(&env, "bp.csv", FAMILY);
    import(&env, &[&p]);
    let mut changed: Vec<String> = FAMILY.iter().map(|s| s.to_string()).collect();
    changed[1] = changed[1].replace("2011-06-01", "2011-07-01");
    let refs: Vec<&str> = changed.iter().map(String::as_str).collect();
    let p2 = write(&env, "bp2.csv", &refs);
    let s = import(&env, &[&p2]);
    assert_eq!((s.files[0].unchanged, s.files[0].corrected), (2, 1));
    let ana = env.engine.store.search(&SearchQuery { name: Some("ana".into()), limit: 1, ..Default::default() }).unwrap().remove(0);
    assert_eq!(ana.birth_date.as_deref(), Some("2011-07-01"));
    let history = env.engine.store.read_stream(&StreamId::Person(ana.id)).unwrap();
    let original = history.iter().find(|e| e.event_type == "PersonRecorded").unwrap();
    assert!(original.payload.contains("2011-06-01"), "the old value stays in the log");
    let correction = history.iter().find(|e| e.event_type == "RecordCorrected").unwrap();
    match correction.event().unwrap() {
        Event::RecordCorrected { corrects, changed, .. } => {
            assert_eq!(corrects, original.id);
            assert_eq!(changed, vec!["birth_date".to_string()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_re_imported_row_with_another_family_role_becomes_a_membership_correction() {
    let env = env();
    let p = write(&env, "bp.csv", FAMILY);
    import(&env, &[&p]);
    let maria =
        || env.engine.store.search(&SearchQuery { name: Some("maria jose".into()), limit: 1, ..Default::default() }).unwrap().remove(0);
    let fid = maria().family.unwrap().family;
    let role_of = || {
        let world = env.engine.family_state(fid).unwrap();
        world.families[&fid].member(maria().id).unwrap().role
    };
    assert_eq!(role_of(), Role::Daughter);
    // The source now says the second child is a son.
    let mut changed: Vec<String> = FAMILY.iter().map(|s| s.to_string()).collect();
    changed[2] = changed[2].replace(",UNIT,DAUGHTER,", ",UNIT,SON,");
    let refs: Vec<&str> = changed.iter().map(String::as_str).collect();
    let p2 = write(&env, "bp2.csv", &refs);
    let s = import(&env, &[&p2]);
    assert_eq!((s.files[0].unchanged, s.files[0].corrected, s.files[0].rejected), (2, 1, 0));
    assert_eq!(role_of(), Role::Son);
    // The correction points at the event that recorded the old role; both stay in the log.
    let history = env.engine.store.read_stream(&StreamId::Family(fid)).unwrap();
    let added = history
        .iter()
        .find(|e| matches!(e.event(), Ok(Event::MemberAdded { person, .. }) if person == maria().id))
        .expect("the original membership event");
    match history.iter().find(|e| e.event_type == "MembershipCorrected").unwrap().event().unwrap() {
        Event::MembershipCorrected { corrects, role, previous, .. } => {
            assert_eq!((corrects, role, previous), (added.id, Role::Son, Role::Daughter));
        }
        other => panic!("{other:?}"),
    }
    // Sent again: nothing new. Changed back: a second correction.
    let head = env.engine.store.head().unwrap();
    assert_eq!(import(&env, &[&p2]).files[0].unchanged, 3);
    assert_eq!(env.engine.store.head().unwrap(), head);
    assert_eq!(import(&env, &[&p]).files[0].corrected, 1);
    assert_eq!(role_of(), Role::Daughter);
    let live = env.engine.store.projection_dump().unwrap();
    env.engine.store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(live, env.engine.store.projection_dump().unwrap(), "rebuild = live");
}

#[test]
fn a_re_imported_row_with_another_family_number_moves_the_person_as_a_correction() {
    let env = env();
    let p = write(&env, "bp.csv", FAMILY);
    import(&env, &[&p]);
    let ana = || env.engine.store.search(&SearchQuery { name: Some("ana".into()), limit: 1, ..Default::default() }).unwrap().remove(0);
    let first = ana().family.unwrap().family;
    let status_in = |fid| env.engine.family_state(fid).unwrap().families[&fid].member(ana().id).map(|m| m.status);
    // Border Patrol re-sends Ana's record: its family number was wrong.
    let mut changed: Vec<String> = FAMILY.iter().map(|s| s.to_string()).collect();
    changed[1] = changed[1].replace(",FMUA1,UNIT,DAUGHTER,", ",FMUA7,GROUP,DAUGHTER,");
    let refs: Vec<&str> = changed.iter().map(String::as_str).collect();
    let p2 = write(&env, "bp2.csv", &refs);
    let s = import(&env, &[&p2]);
    assert_eq!((s.files[0].unchanged, s.files[0].corrected, s.files[0].rejected), (2, 1, 0));
    let second = ana().family.unwrap().family;
    assert_ne!(second, first, "Ana is now in the family the record names");
    assert_eq!(status_in(second), Some(MemberStatus::Active));
    assert_eq!(status_in(first), Some(MemberStatus::Withdrawn), "the old membership stays, withdrawn");
    assert!(
        !env.engine.store.findings(true).unwrap().iter().any(|f| f.kind == "family-claim-refused"),
        "a correction from the family's own source is not a finding"
    );
    // The withdrawal points at the event that recorded the membership; both stay in the log.
    let history = env.engine.store.read_stream(&StreamId::Family(first)).unwrap();
    let added = history.iter().find(|e| matches!(e.event(), Ok(Event::MemberAdded { person, .. }) if person == ana().id)).unwrap();
    match history.iter().find(|e| e.event_type == "MembershipWithdrawn").unwrap().event().unwrap() {
        Event::MembershipWithdrawn { corrects, role, reason, .. } => {
            assert_eq!((corrects, role), (added.id, Role::Daughter));
            assert!(reason.contains("FMUA7"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let own = env.engine.store.read_stream(&StreamId::Person(ana().id)).unwrap();
    assert!(own.iter().any(|e| e.event_type == "LeftFamily"), "the person's own history says she left");
    // Sent again: nothing new. The old number again: she rejoins her first family.
    let head = env.engine.store.head().unwrap();
    assert_eq!(import(&env, &[&p2]).files[0].unchanged, 3);
    assert_eq!(env.engine.store.head().unwrap(), head);
    assert_eq!(import(&env, &[&p]).files[0].corrected, 1);
    assert_eq!(ana().family.unwrap().family, first);
    assert_eq!((status_in(first), status_in(second)), (Some(MemberStatus::Active), Some(MemberStatus::Withdrawn)));
    // Another agency's record of Ana naming its own family is not BP's to
    // correct: the BP family stands and a finding asks a person.
    let ice = "ICE,I9,EVI,2018-05-09T10:00:00-06:00,,PIC,201555002,ANA,PEREZ LOPEZ,2011-06-01,false,F,GTM,ICEFAM9,GROUP,DAUGHTER,FAMILY_UNIT_MEMBER,,";
    let p3 = write(&env, "ice.csv", &[ice]);
    assert_eq!(import(&env, &[&p3]).files[0].rejected, 0);
    assert_eq!(ana().family.unwrap().family, first);
    assert!(env.engine.store.findings(true).unwrap().iter().any(|f| f.kind == "family-claim-refused"));
    let live = env.engine.store.projection_dump().unwrap();
    env.engine.store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(live, env.engine.store.projection_dump().unwrap(), "rebuild = live");
}

#[test]
fn family_problems_become_findings_and_the_rows_still_load() {
    let env = env();
    let p = write(
        &env,
        "odd.csv",
        &[
            // A UNIT with no adult: two minors.
            "BP,U1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,LUIS,OZUNA REYES,2003-01-01,false,M,HND,FM1,UNIT,FATHER,,,",
            "BP,U2,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,ROSA,OZUNA MEJIA,2016-01-01,false,F,HND,FM1,UNIT,DAUGHTER,,,",
            // A "father" 12 years older than his "son".
            "BP,G1,EV2,2018-05-07T15:00:00-06:00,RGV,MCS,,CARLOS,SOLIS,1990-01-01,false,M,SLV,FM2,UNIT,FATHER,,,",
            "BP,G2,EV2,2018-05-07T15:00:00-06:00,RGV,MCS,,MARVIN,SOLIS,2002-01-01,false,M,SLV,FM2,UNIT,SON,,,",
            // One A-number on two different people.
            "BP,A1,EV3,2018-05-07T16:00:00-06:00,RGV,MCS,A201555100,SANTOS,CHAVEZ,1980-01-01,false,M,GTM,,,,SINGLE_ADULT,,",
            "BP,A2,EV4,2018-05-07T17:00:00-06:00,RGV,MCS,A201555100,GLENDA,ALVARADO,1995-05-05,false,F,HND,,,,SINGLE_ADULT,,",
            // A child encountered with an adult, no family recorded.
            "BP,N1,EV5,2018-05-07T18:00:00-06:00,RGV,MCS,,DORA,MEJIA CRUZ,1988-03-03,false,F,GTM,,,,SINGLE_ADULT,,",
            "BP,N2,EV5,2018-05-07T18:00:00-06:00,RGV,MCS,,KARLA,LOPEZ MEJIA,2012-03-03,false,F,GTM,,,,,,",
            // Classified as a family member, but no family recorded.
            "BP,C1,EV6,2018-05-07T19:00:00-06:00,RGV,MCS,,OSCAR,REYES,1990-03-03,false,M,GTM,,,,FAMILY_UNIT_MEMBER,,",
            // A son with no birth date (his 72-hour clock runs on a presumption).
            "BP,B1,EV7,2018-05-07T20:00:00-06:00,RGV,MCS,,ELENA,PAZ ROJAS,1985-04-04,false,F,HND,FM3,GROUP,MOTHER,,,",
            "BP,B2,EV7,2018-05-07T20:00:00-06:00,RGV,MCS,,TOMAS,PAZ ROJAS,,false,M,HND,FM3,GROUP,SON,,,",
        ],
    );
    let s = import(&env, &[&p]);
    assert_eq!((s.files[0].loaded, s.files[0].rejected), (11, 0), "{:?}", s.files[0].errors);
    let findings = env.engine.store.findings(true).unwrap();
    let kinds: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    for k in [
        "unit-without-adult-parent",
        "unit-parent-under-18",
        "implausible-age-gap",
        "a-number-shared",
        "minor-with-adults-no-family",
        "family-status-missing",
        "child-without-birth-date",
    ] {
        assert!(kinds.contains(&k), "missing finding {k}: {kinds:?}");
    }
    let an = ANumber::parse("201555100").unwrap();
    assert_eq!(env.engine.store.persons_by_a_number(&an).unwrap().len(), 2, "both people are kept");
    // Re-importing raises nothing new.
    let again = import(&env, &[&p]);
    assert_eq!(again.findings_raised, 0);
    assert_eq!(env.engine.store.findings(true).unwrap().len(), findings.len());
}

#[test]
fn another_agencys_record_of_the_same_person_moves_custody() {
    let env = env();
    let bp = write(&env, "bp.csv", &[FAMILY[0]]);
    let ice = write(&env, "ice.jsonl", &[]);
    std::fs::write(
        &ice,
        "{\"source\":\"ICE\",\"record_id\":\"I-77\",\"encountered_at\":\"2018-05-09T09:00:00-05:00\",\"station\":\"PISPC\",\"a_number\":\"201555001\",\"given_names\":\"JOSE\",\"family_names\":\"PEREZ\",\"birth_date\":\"1985-02-10\",\"extra\":{\"bed\":\"B-12\"},\"case_officer\":\"X\"}\n",
    )
    .unwrap();
    let s = import(&env, &[&bp, &ice]);
    assert_eq!(s.files[1].loaded, 1, "{:?}", s.files[1].errors);
    let an = ANumber::parse("201555001").unwrap();
    let ids = env.engine.store.persons_by_a_number(&an).unwrap();
    assert_eq!(ids.len(), 1, "same A-number, same person: one person");
    let v = env.engine.store.person(ids[0]).unwrap().unwrap();
    assert_eq!(v.records.len(), 2);
    assert_eq!(v.custody.agency.as_deref(), Some("ICE"));
    let kinds: Vec<String> = env.engine.store.custody_history(ids[0]).unwrap().into_iter().map(|c| c.kind).collect();
    assert_eq!(kinds, vec!["booked_in", "transfer_offered", "transfer_accepted"]);
    // Unknown columns are kept as extra.<name>.
    let world = env.engine.person_state(ids[0]).unwrap();
    let extra = &world.persons[&ids[0]].records[1].details.extra;
    assert!(
        extra.contains(&("bed".to_string(), "B-12".to_string())) && extra.contains(&("case_officer".to_string(), "X".to_string())),
        "{extra:?}"
    );
}

#[test]
fn export_writes_the_interchange_format_back() {
    let env = env();
    let p = write(&env, "bp.csv", FAMILY);
    import(&env, &[&p]);
    let mut out = vec![];
    kinship_app::export::export(&env.engine, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(crate::HEADER));
    // Importing the export into a fresh store gives the same export back.
    let env2 = crate::env();
    let path = env2.dir.path().join("roundtrip.csv");
    std::fs::write(&path, &text).unwrap();
    let s = import(&env2, &[&path]);
    assert_eq!((s.files[0].loaded, s.files[0].rejected), (3, 0), "{:?}", s.files[0].errors);
    let mut out2 = vec![];
    kinship_app::export::export(&env2.engine, &mut out2).unwrap();
    assert_eq!(text, String::from_utf8(out2).unwrap());
}

#[test]
fn an_unreadable_file_is_a_fatal_error() {
    let env = env();
    let missing = env.dir.path().join("nope.csv");
    let r = kinship_app::import::import(
        &env.engine,
        &[missing.as_path()],
        kinship_app::import::ImportOptions { assume_tz: None, format: None, user: "t".into(), progress: &mut |_| {} },
    );
    assert!(r.is_err());
}

#[test]
fn search_by_age_range_encounter_dates_and_family() {
    let env = env();
    let p = write(
        &env,
        "s.csv",
        &[
            "BP,S1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,JOSE,CRUZ,1985-02-10,false,M,GTM,FM1,UNIT,FATHER,,,",
            "BP,S2,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,,ANA,CRUZ,2011-06-01,false,F,GTM,FM1,UNIT,DAUGHTER,,,",
            "BP,S3,EV2,2018-06-20T08:00:00-05:00,EPT,PDT,,LUIS,CRUZ,2002-01-01,false,M,MEX,,,,UAC,,",
        ],
    );
    import(&env, &[&p]);
    let q = |f: &dyn Fn(&mut SearchQuery)| {
        let mut q = SearchQuery { name: Some("cruz".into()), age_on: Some(jiff::civil::date(2018, 7, 1)), limit: 10, ..Default::default() };
        f(&mut q);
        let mut names: Vec<String> = env.engine.store.search(&q).unwrap().into_iter().map(|p| p.given_names.unwrap_or_default()).collect();
        names.sort();
        names
    };
    assert_eq!(q(&|_| {}), vec!["ANA", "JOSE", "LUIS"]);
    assert_eq!(q(&|q| q.max_age = Some(17)), vec!["ANA", "LUIS"], "children only");
    assert_eq!(q(&|q| q.min_age = Some(16)), vec!["JOSE", "LUIS"], "16 and over (LUIS is 16)");
    assert_eq!(
        q(&|q| {
            q.min_age = Some(7);
            q.max_age = Some(7)
        }),
        vec!["ANA"],
        "exactly 7"
    );
    assert_eq!(q(&|q| q.encountered_from = Some(jiff::civil::date(2018, 6, 1))), vec!["LUIS"]);
    assert_eq!(q(&|q| q.encountered_to = Some(jiff::civil::date(2018, 5, 7))), vec!["ANA", "JOSE"]);
    let family = env.engine.store.search(&SearchQuery { name: Some("jose".into()), limit: 1, ..Default::default() }).unwrap()[0]
        .family
        .as_ref()
        .unwrap()
        .family;
    assert_eq!(q(&|q| q.family = Some(family)), vec!["ANA", "JOSE"]);
    // The person report derives the classification from the facts.
    let ana = env.engine.store.search(&SearchQuery { name: Some("ana".into()), limit: 1, ..Default::default() }).unwrap()[0].id;
    let report = kinship_app::report::person_report(&env.engine, ana, jiff::Timestamp::from_second(1_530_000_000).unwrap()).unwrap();
    assert_eq!(report.classification, Some(kinship_domain::family::Classification::FamilyUnitMember));
    assert_eq!(report.family_members.len(), 2);
}

#[test]
fn correcting_a_record_keeps_what_other_agencies_records_added_in_the_projection_too() {
    let env = env();
    let bp =
        write(&env, "bp.csv", &["BP,R1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,A201555001,JOSE LUIS,PEREZ GARCIA,1985-02-10,false,M,,,,,,,"]);
    let ice = write(
        &env,
        "ice.csv",
        &["ICE,I1,,2018-05-09T09:00:00-05:00,,PISPC,A201555001,JOSE LUIS,PEREZ GARCIA,1985-02-10,false,M,GTM,,,,,,"],
    );
    import(&env, &[&bp, &ice]);
    let fixed = write(
        &env,
        "bp2.csv",
        &["BP,R1,EV1,2018-05-07T14:32:00-06:00,RGV,MCS,A201555001,JOSE LUIS,PEREZ GARCIA,1985-03-10,false,M,,,,,,,"],
    );
    let s = import(&env, &[&fixed]);
    assert_eq!(s.files[0].corrected, 1);
    let id = env.engine.store.persons_by_a_number(&ANumber::parse("201555001").unwrap()).unwrap()[0];
    let view = env.engine.store.person(id).unwrap().unwrap();
    assert_eq!(view.birth_date.as_deref(), Some("1985-03-10"), "the correction applies");
    assert_eq!(view.citizenship.as_deref(), Some("GTM"), "ICE's citizenship is kept");
    // The projection says what the domain state says.
    let state = env.engine.person_state(id).unwrap().persons[&id].identity.clone();
    assert_eq!(view.citizenship.as_deref(), state.citizenship.as_ref().map(|c| c.as_str()));
    assert_eq!(view.birth_date, state.birth.map(|b| b.date.to_string()));
    let live = env.engine.store.projection_dump().unwrap();
    env.engine.store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(live, env.engine.store.projection_dump().unwrap());
}

/// Extra columns are kept sorted by name: the same record sent with its
/// columns in another order is unchanged, not a correction.
#[test]
fn extra_columns_in_another_order_are_the_same_record() {
    let env = env();
    let row = |name: &str, header: &str, line: &str| {
        let path = env.dir.path().join(name);
        std::fs::write(&path, format!("{}{header}\n{}{line}\n", crate::HEADER, FAMILY[0])).unwrap();
        path
    };
    let first = row("first.csv", ",zone,bed", ",Z-1,B-12");
    let s = import(&env, &[&first]);
    assert_eq!(s.files[0].loaded, 1, "{s:?}");
    let pid = env.engine.store.person_by_record(&kinship_domain::person::SourceRef { source: "BP".into(), record_id: "R1".into() });
    let world = env.engine.person_state(pid.unwrap().unwrap()).unwrap();
    let extra = &world.persons.values().next().unwrap().records[0].details.extra;
    assert_eq!(extra, &[("bed".to_string(), "B-12".to_string()), ("zone".to_string(), "Z-1".to_string())]);
    let head = env.engine.store.head().unwrap();
    let second = row("second.csv", ",bed,zone", ",B-12,Z-1");
    let s = import(&env, &[&second]);
    assert_eq!((s.files[0].loaded, s.files[0].unchanged, s.files[0].corrected), (0, 1, 0), "{s:?}");
    assert_eq!(env.engine.store.head().unwrap(), head, "no event written");
}

/// A name from a number (names are letters).
fn letters(mut n: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'A' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

/// 21,000 rows: the import appends a chunk (5,000 rows) on its second thread
/// while it decides the next, so families that straddle a chunk edge, and a
/// person's second record (same A-number) just after the edge, must be
/// decided from what the chunk in flight wrote, not from the store. At row
/// 20,000 the importer also trims its cache to the chunk in flight without
/// waiting for it to commit: what straddles that edge must come from what it kept.
#[test]
fn families_and_a_numbers_across_chunks_in_flight() {
    let env = env();
    let person = |i: usize| {
        let (f, adult) = (i / 3, i.is_multiple_of(3));
        let (role, birth, class) =
            if adult { ("FATHER", "1980-03-04", "FAMILY_UNIT_MEMBER") } else { ("SON", "2010-05-06", "FAMILY_UNIT_MEMBER") };
        (f, role, birth, class, format!("{}", 100_000_000 + i), letters(i * 7 + 3), letters(f * 11 + 5))
    };
    let mut rows = vec![];
    for i in 0..21_000 {
        let (f, role, birth, class, a, given, family) = person(i);
        rows.push(format!(
            "BP,R{i},EV{f},2018-05-07T14:32:00-06:00,RGV,MCS,{a},{given},{family},{birth},false,M,GTM,FAM{f},UNIT,{role},{class},,"
        ));
        // Just past each chunk edge: a second record of a person from the
        // chunk before (same A-number, name and birth), no family named.
        if [5_002, 10_001, 15_001, 20_001].contains(&i) {
            let (_, _, birth, _, a, given, family) = person(i - 12);
            rows.push(format!(
                "BP,D{i},EVD{i},2018-05-08T09:00:00-06:00,RGV,MCS,{a},{given},{family},{birth},false,M,GTM,,,,SINGLE_ADULT,,"
            ));
        }
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let p = write(&env, "big.csv", &refs);
    let s = import(&env, &[&p]);
    let f = &s.files[0];
    assert_eq!((f.rows, f.loaded, f.rejected), (21_004, 21_004, 0), "{:?}", f.errors.first());
    let store = &env.engine.store;
    let record =
        |id: String| store.person_by_record(&kinship_domain::person::SourceRef { source: "BP".into(), record_id: id }).unwrap().unwrap();
    for i in [5_002usize, 10_001, 15_001, 20_001] {
        let a = ANumber::parse(&person(i - 12).4).unwrap();
        assert_eq!(store.persons_by_a_number(&a).unwrap().len(), 1, "the second record is attached, not a new person");
        assert_eq!(record(format!("D{i}")), record(format!("R{}", i - 12)));
    }
    // Families 1666 (R4998..=R5000, file rows 4998..=5000) and 6665
    // (R19995..=R19997, after three second records: file rows
    // 19998..=20000) straddle an edge; 3333 (R9999..=R10001) is just past one.
    for first in [4_998usize, 9_999, 19_995] {
        let fam: Vec<_> =
            (first..first + 3).map(|i| store.person(record(format!("R{i}"))).unwrap().unwrap().family.unwrap().family).collect();
        assert!(fam.iter().all(|f| *f == fam[0]), "one family across the edge: {fam:?}");
        let world = env.engine.family_state(fam[0]).unwrap();
        assert_eq!(world.families[&fam[0]].members.len(), 3);
    }
    let shared: Vec<_> = store.findings(false).unwrap().into_iter().filter(|f| f.kind == "a-number-shared").collect();
    assert!(shared.is_empty(), "no A-number is shared: {shared:?}");
    // Live projections equal a rebuild, and a second import changes nothing.
    let live = store.projection_dump().unwrap();
    store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(live, store.projection_dump().unwrap(), "rebuild = live");
    let again = import(&env, &[&p]);
    assert_eq!((again.files[0].loaded, again.files[0].unchanged, again.files[0].corrected), (0, 21_004, 0));
    assert_eq!(again.findings_raised, 0);
}
