//! The findings and clocks reports, every role of the profile: refused
//! without the field class they need, rows only in reach, a finding's
//! message (it names persons) only for roles that see identities, and one
//! audit record per read naming the subjects.

use crate::harness::*;
use kinship_domain::event::Subject;
use kinship_domain::visibility::Reach;
use kinship_domain::{Command, FindingId};
use kinship_store::audit::AuditQuery;

const FINDING_TEXT: &str = "MARISOLXQ-FINDING-xq9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_and_clocks_by_role_from_the_profile() {
    let s = Server::start().await;
    let w = seed(&s).await;
    // A separation under a prosecution reason starts the parent's 48-hour clock.
    separate_parent_for_prosecution(&s, &w).await;
    let importer = s.token("importer", "BP", &["command"]);
    let finding = FindingId::new_v7();
    ok(
        &importer,
        &Command::RaiseFinding {
            finding,
            kind: "implausible-age-gap".into(),
            subjects: vec![Subject::Family(w.family), Subject::Person(w.parent)],
            message: FINDING_TEXT.into(),
            record: None,
        },
    )
    .await;

    let p = &s.profile;
    for role in p.roles.keys() {
        let a = &p.roles[role].agency;
        let agency = if a == "*" { "HQ".to_string() } else { a.clone() };
        let ctx = format!("{role} of {agency}");
        let reach = match p.reach(role) {
            Reach::All => true,
            Reach::None => false,
            Reach::Agency => agency == "BP" || agency == "ORR",
        };
        let c = s.token(role, &agency, &["read"]);

        let before = s.audit_count();
        let r = c.get("/api/reports/findings?purpose=review").await.unwrap();
        assert_eq!(s.audit_count(), before + 1, "{ctx}: one audit record per findings read");
        let body = String::from_utf8_lossy(&r.body).to_string();
        if p.sees(role, "family").is_none() {
            assert_eq!(r.status, 403, "{ctx}: findings without the family class: {body}");
        } else {
            assert_eq!(r.status, 200, "{ctx}: {body}");
            let rows = r.json();
            let row = rows.as_array().unwrap().iter().find(|f| f["id"] == finding.to_string()).cloned();
            assert_eq!(row.is_some(), reach, "{ctx}: finding reach");
            assert_eq!(body.contains(FINDING_TEXT), reach && p.sees(role, "identity").is_some(), "{ctx}: message needs identity");
            if let Some(row) = row {
                assert_eq!(row["kind"], "implausible-age-gap");
                let rec = s.backend.audit.audit_query(&AuditQuery { limit: 1, ..Default::default() }).unwrap().remove(0);
                assert!(rec.entry.subjects.contains(&w.parent.to_string()), "{ctx}: audited subjects");
                assert!(!serde_json::to_string(&rec).unwrap().contains(FINDING_TEXT), "{ctx}: no message in the audit");
            }
        }
        let r = c.get("/api/reports/clocks?purpose=review").await.unwrap();
        let body = String::from_utf8_lossy(&r.body).to_string();
        if p.sees(role, "custody").is_none() {
            assert_eq!(r.status, 403, "{ctx}: clocks without the custody class: {body}");
        } else {
            assert_eq!(r.status, 200, "{ctx}: {body}");
            let rows = r.json();
            let mine: Vec<_> = rows.as_array().unwrap().iter().filter(|c| c["person"]["id"] == w.parent.0.to_string()).collect();
            assert_eq!(mine.len(), usize::from(reach), "{ctx}: the parent's prosecution clock, in reach only");
            if let Some(clock) = mine.first() {
                assert_eq!(clock["overdue"], false, "{ctx}");
                assert!(clock["hours_left"].as_i64().unwrap() <= 48, "{ctx}");
            }
            assert_eq!(body.contains(PARENT_NAME), reach && p.sees(role, "identity").is_some(), "{ctx}: clock identity");
        }
    }

    // Resolving the finding takes it off the open list; ?all=true still has it.
    let admin = s.token("admin", "HQ", &["read", "command"]);
    ok(&admin, &Command::ResolveFinding { finding, resolution: "checked the birth dates".into() }).await;
    let open = admin.get("/api/reports/findings").await.unwrap().json();
    assert!(open.as_array().unwrap().iter().all(|f| f["id"] != finding.to_string()));
    let all = admin.get("/api/reports/findings?all=true").await.unwrap().json();
    let row = all.as_array().unwrap().iter().find(|f| f["id"] == finding.to_string()).cloned().unwrap();
    assert_eq!(row["resolution"], "checked the birth dates");
}
