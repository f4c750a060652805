//! The HTML pages over HTTP: login/logout with the API's session cookie,
//! search (full page and htmx fragment), a person's page per role
//! (redaction, purpose, 404 for another agency's person, one audit record
//! per view), the reports, and the forms (CSRF, errors naming the field,
//! commands through the service).

use crate::harness::*;
use kinship_domain::event::Subject;
use kinship_domain::{Command, FindingId, PersonId};
use kinship_store::AuditQuery;
use kinship_web::client::{Client, Response};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).to_string()
}

fn encode(fields: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(fields).unwrap().into_bytes()
}

/// A person's browser: an account of `role` at `agency`, logged in through
/// the login form. Returns the client (sending the cookie) and the page's CSRF token.
pub async fn log_in(s: &Server, user: &str, role: &str, agency: &str) -> (Client, String) {
    kinship_web::auth::add_account(s.backend.accounts.as_ref(), user, agency, role, "correct horse battery").unwrap();
    let r =
        s.client.send("POST", "/login", &[FORM], Some(encode(&[("username", user), ("password", "correct horse battery")]))).await.unwrap();
    assert_eq!(r.status, 303, "{}", text(&r));
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let c = s.client.with_cookie(&cookie);
    let home = text(&c.get("/").await.unwrap());
    let csrf = home.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    (c, csrf)
}

fn audits(s: &Server, user: &str) -> Vec<kinship_store::AuditRecord> {
    s.backend.audit.audit_query(&AuditQuery { user: Some(user.into()), limit: 100, ..Default::default() }).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_form_uses_the_api_session_and_logout_needs_the_csrf_token() {
    let s = Server::start().await;
    // Not logged in: the login form, and every page sends you there.
    let r = s.client.get("/").await.unwrap();
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("action=\"/login\"") && text(&r).contains("type=\"password\""));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = s.client.get("/search?name=x").await.unwrap();
    assert_eq!((r.status, r.header("location")), (303, Some("/")));
    // A token is not a browser login.
    let r = s.admin.get("/search").await.unwrap();
    assert_eq!(r.status, 303);

    kinship_web::auth::add_account(s.backend.accounts.as_ref(), "orr.cm", "ORR", "orr_case_manager", "right password 1").unwrap();
    let bad = s.client.send("POST", "/login", &[FORM], Some(encode(&[("username", "orr.cm"), ("password", "wrong")]))).await.unwrap();
    assert_eq!(bad.status, 401);
    assert!(text(&bad).contains("password: unknown user, wrong password or disabled account"), "{}", text(&bad));
    assert!(bad.header("set-cookie").is_none());
    let empty = s.client.send("POST", "/login", &[FORM], Some(encode(&[("username", ""), ("password", "x")]))).await.unwrap();
    assert!(text(&empty).contains("username: enter your user name"));

    let (c, csrf) = log_in(&s, "orr.cm2", "orr_case_manager", "ORR").await;
    let home = text(&c.get("/").await.unwrap());
    assert!(home.contains("orr.cm2") && home.contains("Office of Refugee Resettlement") && home.contains("ORR case manager"), "{home}");
    // The same session as the JSON API's.
    let who = c.get("/api/session").await.unwrap();
    assert_eq!((who.status, who.json()["user"].as_str()), (200, Some("orr.cm2")));

    // Logging out without this session's token is refused, and ends nothing.
    let r = c.send("POST", "/logout", &[FORM], Some(encode(&[("csrf", "forged")]))).await.unwrap();
    assert_eq!(r.status, 403);
    assert!(text(&r).contains("csrf:"));
    assert_eq!(c.get("/api/session").await.unwrap().status, 200);
    let r = c.send("POST", "/logout", &[FORM], Some(encode(&[("csrf", &csrf)]))).await.unwrap();
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(c.get("/api/session").await.unwrap().status, 401, "the session ended");
    assert_eq!(c.get("/search").await.unwrap().status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_page_finds_by_any_name_part_accents_age_and_family() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let bp = s.token("bp_agent", "BP", &["command"]);
    ok(&bp, &record(PersonId::new_v7(), "JOSÉ MARÍA", "PEÑAXQ NÚÑEZ", (2012, 3, 4), None, "BP", "R-J", &[], "BP")).await;
    let (c, _) = log_in(&s, "bp.agent", "bp_agent", "BP").await;

    let page = c.get("/search").await.unwrap();
    assert_eq!(page.status, 200);
    assert!(text(&page).contains("hx-get=\"/search\"") && text(&page).contains("/assets/htmx.min.js"));

    // Accent-insensitive, any part of the name.
    let r = c.get("/search?name=penaxq").await.unwrap();
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("PEÑAXQ") && text(&r).contains("<html"), "{}", text(&r));
    let r = c.get("/search?name=maria").await.unwrap();
    assert!(text(&r).contains("JOSÉ MARÍA"));
    // htmx gets only the results.
    let r = c.send("GET", "/search?name=lopezxq", &[("hx-request", "true")], None).await.unwrap();
    let body = text(&r);
    assert!(!body.contains("<html") && body.contains(PARENT_NAME) && body.contains("DANIXQ"), "{body}");
    // Age range: adults only.
    let r = text(&c.get("/search?name=lopezxq&min_age=18&max_age=").await.unwrap());
    assert!(r.contains(PARENT_NAME) && !r.contains("DANIXQ"), "{r}");
    // By family id.
    let r = text(&c.get(&format!("/search?family={}", w.family)).await.unwrap());
    assert!(r.contains(PARENT_NAME) && r.contains("DANIXQ") && !r.contains("PEÑAXQ"));
    // Another agency's person is not a hit.
    assert!(!text(&c.get("/search?name=otherxq").await.unwrap()).contains("OTHERXQ"));
    // A mistyped field is named.
    let r = c.get("/search?name=x&min_age=old").await.unwrap();
    assert_eq!(r.status, 422);
    assert!(text(&r).contains("min_age: an age is a whole number"));
    let r = c.get("/search?family=F-nope").await.unwrap();
    assert!(text(&r).contains("family: a family id"));
    // Each search is audited like the API's.
    assert_eq!(audits(&s, "bp.agent").iter().filter(|a| a.entry.action == "persons.search").count(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_page_shows_only_the_role_s_field_classes_and_audits_each_view() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let parent = format!("/people/{}", w.parent);

    // ORR (reaches the parent through the child it holds): criminal history
    // in summary (category only), health in full.
    let (orr, _) = log_in(&s, "orr.cm", "orr_case_manager", "ORR").await;
    // Sensitive classes: the page first asks why, and reads nothing.
    let before = s.audit_count();
    let r = orr.get(&parent).await.unwrap();
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("Why are you reading this record?") && !text(&r).contains(PARENT_NAME));
    assert_eq!(s.audit_count(), before, "asking for a purpose reads nothing");

    let r = orr.get(&format!("{parent}?purpose=reunification")).await.unwrap();
    let body = text(&r);
    assert_eq!(r.status, 200, "{body}");
    assert_eq!(s.audit_count(), before + 1, "one audit record per page view");
    assert!(body.contains(PARENT_NAME) && body.contains(PARENT_A));
    assert!(body.contains("CAT-IMMIGRATION-xq1") && !body.contains("RECORD-1326-reentry-xq2"), "summary only");
    assert!(body.contains("NOTES-asthma-xq4") && body.contains("SPONSOR-aunt-xq5"));
    assert!(body.contains("DANIXQ"), "family members by name");
    assert!(body.contains("PersonRecorded") && body.contains("FamilyFormed"), "events timeline");
    let a = &audits(&s, "orr.cm")[0].entry;
    assert_eq!((a.action.as_str(), a.purpose.as_deref(), a.outcome.as_str()), ("person.read", Some("reunification"), "ok"));
    assert_eq!(a.subjects, vec![w.parent.to_string()]);
    assert!(a.field_classes.contains(&"criminal_history".to_string()));

    // Going on without a purpose: sensitive classes withheld, and said so.
    let body = text(&orr.get(&format!("{parent}?withhold=1")).await.unwrap());
    assert!(body.contains(PARENT_NAME) && !body.contains("CAT-IMMIGRATION-xq1") && !body.contains("NOTES-asthma-xq4"));
    assert!(body.contains("withheld: state a purpose"));
    assert!(!audits(&s, "orr.cm")[0].entry.field_classes.contains(&"criminal_history".to_string()));

    // Border Patrol: health in summary (intake screening, not the notes).
    let (bp, _) = log_in(&s, "bp.agent", "bp_agent", "BP").await;
    let body = text(&bp.get(&format!("{parent}?purpose=processing")).await.unwrap());
    assert!(body.contains("SCREEN-cleared-xq3") && !body.contains("NOTES-asthma-xq4"), "{body}");
    assert!(body.contains("RECORD-1326-reentry-xq2"));

    // Headquarters analyst: no health, sponsor or biometrics class at all.
    let (hq, _) = log_in(&s, "hq.analyst", "hq_analyst", "HQ").await;
    let body = text(&hq.get(&format!("{parent}?purpose=oversight")).await.unwrap());
    assert!(body.contains(PARENT_NAME) && !body.contains("SPONSOR-aunt-xq5") && !body.contains("IDENT-4711-xq6"));
    let health = body.split("id=\"class-health\"").nth(1).unwrap().split("</section>").next().unwrap();
    assert!(health.contains("not visible to your role"), "{health}");
    let a = &audits(&s, "hq.analyst")[0].entry;
    assert!(!a.field_classes.contains(&"health".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_agency_s_person_gets_the_same_404_page_as_an_unknown_one() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let (bp, _) = log_in(&s, "bp.agent", "bp_agent", "BP").await;
    let other = bp.get(&format!("/people/{}?purpose=x", w.ice_person)).await.unwrap();
    let unknown = bp.get(&format!("/people/{}?purpose=x", PersonId::new_v7())).await.unwrap();
    let malformed = bp.get("/people/nonsense?purpose=x").await.unwrap();
    assert_eq!((other.status, unknown.status, malformed.status), (404, 404, 404));
    assert_eq!(text(&other), text(&unknown), "out of reach reads exactly like absent");
    assert_eq!(text(&other), text(&malformed));
    assert!(!text(&other).contains("OTHERXQ"));
    let a = audits(&s, "bp.agent");
    assert!(a.iter().any(|r| r.entry.outcome == "not_found" && r.entry.subjects == vec![w.ice_person.to_string()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_pages_list_separated_children_clocks_and_findings() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let sup = s.token("bp_supervisor", "BP", &["command"]);
    separate_parent_for_prosecution(&s, &w).await;
    // A child alone in Border Patrol custody since 2026-11-01: past 72 hours.
    let kid = PersonId::new_v7();
    ok(&sup, &record(kid, "KIDXQ", "ALONEXQ", (2015, 1, 1), None, "BP", "R-K", &[], "BP")).await;

    let (orr, _) = log_in(&s, "orr.cm", "orr_case_manager", "ORR").await;
    let before = s.audit_count();
    let r = orr.get("/reports/separated-children").await.unwrap();
    let body = text(&r);
    assert_eq!(r.status, 200, "{body}");
    assert_eq!(s.audit_count(), before + 1);
    assert!(body.contains("DANIXQ") && body.contains(PARENT_NAME) && body.contains("FMPC"), "{body}");
    assert!(body.contains("1 child(ren)"));

    let (bp, _) = log_in(&s, "bp.agent", "bp_agent", "BP").await;
    let body = text(&bp.get("/reports/clocks").await.unwrap());
    let first = body.split("<tbody>").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(first.contains("KIDXQ") && first.contains("OVERDUE") && first.contains("class=\"overdue\""), "{first}");
    assert!(!body.contains("DANIXQ"), "the child in ORR care runs no border clock");
    assert_eq!(audits(&s, "bp.agent")[0].entry.action, "report.clocks");

    // An auditor sees no records: the lists are refused with the reason.
    let (aud, _) = log_in(&s, "auditor", "auditor", "HQ").await;
    let r = aud.get("/reports/separated-children").await.unwrap();
    assert_eq!(r.status, 403);
    assert!(text(&r).contains("family field class"));

    // Findings: one about BP's family; ICE reaches none of it.
    let finding = FindingId::new_v7();
    ok(
        &s.admin,
        &Command::RaiseFinding {
            finding,
            kind: "unit-without-adult".into(),
            subjects: vec![Subject::Person(w.parent), Subject::Family(w.family)],
            message: "family UNIT LOPEZXQ has no parent known to be 18 or over".into(),
            record: None,
        },
    )
    .await;
    let body = text(&bp.get("/reports/findings").await.unwrap());
    assert!(body.contains("unit-without-adult") && body.contains("1 finding(s)"), "{body}");
    assert!(!body.contains("action=\"/findings/"), "bp_agent may not resolve findings, so no form");
    let (ice, _) = log_in(&s, "ice.jc", "ice_juvenile_coordinator", "ICE").await;
    assert!(text(&ice.get("/reports/findings").await.unwrap()).contains("No findings."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_post_commands_through_the_service_with_csrf_and_field_errors() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let separation = separate_parent_as(&s, &w, "bp_agent").await;
    let (sup, csrf) = log_in(&s, "bp.sup", "bp_supervisor", "BP").await;
    let child = format!("/people/{}", w.child);
    let page = text(&sup.get(&format!("{child}?purpose=review")).await.unwrap());
    assert!(page.contains("Record the level 1 review") && page.contains("awaiting level 1"), "{page}");
    let review = |csrf: &str, decision: &str| {
        encode(&[
            ("csrf", csrf),
            ("key", "k-1"),
            ("family", &w.family.to_string()),
            ("separation", &separation.to_string()),
            ("level", "1"),
            ("decision", decision),
            ("note", "checked the file"),
            ("purpose", "review"),
        ])
    };
    let path = format!("{child}/review");
    let head = s.log_position();
    // No token from this session: refused, nothing written.
    let r = sup.send("POST", &path, &[FORM], Some(review("", "approve"))).await.unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(s.log_position(), head);
    // A missing choice is named.
    let r = sup.send("POST", &path, &[FORM], Some(review(&csrf, ""))).await.unwrap();
    assert_eq!(r.status, 422);
    assert!(text(&r).contains("decision: choose approve or return"), "{}", text(&r));
    assert_eq!(s.log_position(), head);
    // Approve: one event, through the same service (audited as a command).
    let r = sup.send("POST", &path, &[FORM], Some(review(&csrf, "approve"))).await.unwrap();
    assert_eq!(r.status, 303, "{}", text(&r));
    assert_eq!(s.log_position(), head + 1);
    assert!(audits(&s, "bp.sup").iter().any(|a| a.entry.action == "command.ReviewSeparation" && a.entry.outcome == "ok"));
    // The same form sent twice is one command (its key).
    let r = sup.send("POST", &path, &[FORM], Some(review(&csrf, "approve"))).await.unwrap();
    assert_eq!((r.status, s.log_position()), (303, head + 1));
    let page = text(&sup.get(&format!("{child}?purpose=review")).await.unwrap());
    assert!(page.contains("awaiting level 2"), "{page}");
    // A domain refusal names the domain's field: level 1 was already recorded.
    let again = review(&csrf, "approve");
    let again = String::from_utf8(again).unwrap().replace("key=k-1", "key=k-2");
    let r = sup.send("POST", &path, &[FORM], Some(again.into_bytes())).await.unwrap();
    assert_eq!(r.status, 422, "{}", text(&r));
    assert!(text(&r).contains("role=\"alert\""));

    // Resolving a finding: the domain's own error for an empty resolution.
    let finding = FindingId::new_v7();
    ok(
        &s.admin,
        &Command::RaiseFinding {
            finding,
            kind: "possible-duplicate".into(),
            subjects: vec![Subject::Person(w.parent)],
            message: "two records may be one person".into(),
            record: None,
        },
    )
    .await;
    let body = text(&sup.get("/reports/findings").await.unwrap());
    assert!(body.contains(&format!("action=\"/findings/{finding}/resolve\"")), "{body}");
    let path = format!("/findings/{finding}/resolve");
    let head = s.log_position();
    let r = sup.send("POST", &path, &[FORM], Some(encode(&[("csrf", "nope"), ("resolution", "x")]))).await.unwrap();
    assert_eq!((r.status, s.log_position()), (403, head));
    let r = sup.send("POST", &path, &[FORM], Some(encode(&[("csrf", &csrf), ("key", "r-1"), ("resolution", "  ")]))).await.unwrap();
    assert_eq!(r.status, 422);
    assert!(text(&r).contains("resolution: "), "{}", text(&r));
    let r = sup
        .send("POST", &path, &[FORM], Some(encode(&[("csrf", &csrf), ("key", "r-2"), ("resolution", "checked: two people")])))
        .await
        .unwrap();
    assert_eq!((r.status, s.log_position()), (303, head + 1));
    assert!(text(&sup.get("/reports/findings").await.unwrap()).contains("No findings."));
    assert!(text(&sup.get("/reports/findings?all=1").await.unwrap()).contains("Resolved: checked: two people"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_served_from_the_binary() {
    let s = Server::start().await;
    let js = s.client.get("/assets/htmx.min.js").await.unwrap();
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").unwrap().starts_with("text/javascript"));
    assert!(js.body.len() > 40_000 && String::from_utf8_lossy(&js.body).contains("htmx"));
    let css = s.client.get("/assets/kinship.css").await.unwrap();
    assert_eq!((css.status, css.header("content-type")), (200, Some("text/css; charset=utf-8")));
}

/// Architecture invariant: the HTML handlers read and act only through
/// `Service` (reach, field classes and audit live there); they never touch
/// the store or the engine's command path directly.
#[test]
fn html_handlers_use_only_the_service_layer() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let mut calls = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        for forbidden in
            [".store", "engine.execute", "engine.history", "replay_all", "kinship_app::report", "Reacher", "view::person_record"]
        {
            assert!(!src.contains(forbidden), "{} uses {forbidden}: HTML handlers must go through Service", path.display());
        }
        calls += src.matches("s.service.").count();
    }
    assert!(calls >= 6, "the pages call the service ({calls} calls found)");
}
