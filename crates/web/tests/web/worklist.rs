//! The review worklist over HTTP: who may list and decide (permission and
//! reach, as for findings), confirm records the tie once, reject with a
//! reason, unlink an asserted identity, each request audited once.

use crate::harness::*;
use kinship_domain::link::{LinkKind, Relation};
use kinship_domain::{Command, LinkId, PersonId};
use serde_json::json;

struct Items {
    family: LinkId,
    identity: LinkId,
    adult: PersonId,
    minor: PersonId,
}

/// A BP adult and minor nobody put in a family, and two ICE records that may
/// be one person; both are proposed (as the administrator: the linkage
/// worker itself runs in-process, and its `linker` role reaches no one
/// through the API).
async fn proposals(s: &Server) -> Items {
    let bp = s.token("bp_agent", "BP", &["read", "command"]);
    let ice = s.token("ice_officer", "ICE", &["read", "command"]);
    let (adult, minor, i1, i2) = (PersonId::new_v7(), PersonId::new_v7(), PersonId::new_v7(), PersonId::new_v7());
    ok(&bp, &record(adult, "ROSAXQ", "PEREZXQ GARCIA", (1988, 2, 3), None, "BP", "R-A", &[], "BP")).await;
    ok(&bp, &record(minor, "LUISXQ", "PEREZXQ LOPEZ", (2015, 5, 6), None, "BP", "R-M", &[], "BP")).await;
    ok(&ice, &record(i1, "MARIOXQ", "CRUZXQ", (1990, 1, 1), None, "ICE", "R-1", &[], "ICE")).await;
    ok(&ice, &record(i2, "MARIOXQ", "CRUZXQ", (1990, 1, 1), None, "ICE", "R-2", &[], "ICE")).await;
    let linker = &s.admin;
    let propose = |kind, a, b, relation, score| Command::ProposeLink {
        link: LinkId::for_pair(kind, a, b),
        kind,
        a,
        b,
        relation,
        score,
        evidence: vec!["same station, 2 h apart".into(), "child's first surname = adult's first surname".into()],
        assert: false,
    };
    ok(linker, &propose(LinkKind::Family, adult, minor, Some(Relation::ParentChild), 810)).await;
    ok(linker, &propose(LinkKind::Identity, i1, i2, None, 930)).await;
    Items { family: LinkId::for_pair(LinkKind::Family, adult, minor), identity: LinkId::for_pair(LinkKind::Identity, i1, i2), adult, minor }
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worklist_needs_its_permission_and_shows_only_items_in_reach() {
    let s = Server::start().await;
    let it = proposals(&s).await;
    // Roles without worklist.review: 403, and the refusal is audited.
    for (role, agency) in [("bp_agent", "BP"), ("auditor", "HQ"), ("ice_officer", "ICE")] {
        let before = s.audit_count();
        let r = s.token(role, agency, &["read"]).get("/api/worklist").await.unwrap();
        assert_eq!(r.status, 403, "{role}");
        assert_eq!(s.audit_count(), before + 1, "{role}: one audit record");
    }
    // BP supervisor reaches the BP pair only; HQ analyst (reach all) both, best first.
    let sup = s.token("bp_supervisor", "BP", &["read", "command"]);
    let r = sup.get("/api/worklist").await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r.json()), vec![it.family.to_string()]);
    let item = &r.json()[0];
    assert_eq!(
        (item["kind"].as_str(), item["relation"].as_str(), item["score"].as_f64()),
        (Some("family"), Some("PARENT_CHILD"), Some(0.81))
    );
    assert_eq!(item["evidence"][0], "same station, 2 h apart");
    let hq = s.token("hq_analyst", "HQ", &["read", "command"]);
    assert_eq!(ids(&hq.get("/api/worklist").await.unwrap().json()), vec![it.identity.to_string(), it.family.to_string()]);
    assert_eq!(ids(&hq.get("/api/worklist?kind=identity").await.unwrap().json()), vec![it.identity.to_string()]);
    let r = hq.get("/api/worklist?kind=cousins").await.unwrap();
    assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("kind")));
    // Deciding an item out of reach: 404, nothing written.
    let head = s.log_position();
    let r = sup.post(&format!("/api/worklist/{}/reject", it.identity), &json!({"reason": "no"}), &[]).await.unwrap();
    assert_eq!(r.status, 404);
    let r = sup.post(&format!("/api/worklist/{}/confirm", LinkId::new_v7()), &json!({}), &[]).await.unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(s.log_position(), head);
    // In reach but without the permission: 403 from the core's rule.
    let bp = s.token("bp_agent", "BP", &["read", "command"]);
    let r = bp.post(&format!("/api/worklist/{}/confirm", it.family), &json!({"adult_role": "MOTHER"}), &[]).await.unwrap();
    assert_eq!((r.status, r.json()["rule"].as_str()), (403, Some("not-permitted")));
    assert_eq!(s.log_position(), head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_records_the_tie_once_reject_needs_a_reason_unlink_withdraws() {
    let s = Server::start().await;
    let it = proposals(&s).await;
    let sup = s.token("bp_supervisor", "BP", &["read", "command"]);
    let confirm = format!("/api/worklist/{}/confirm", it.family);
    // The adult's sex is unknown: the core asks for the role.
    let r = sup.post(&confirm, &json!({}), &[]).await.unwrap();
    assert_eq!((r.status, r.json()["rule"].as_str(), r.json()["field"].as_str()), (422, Some("adult-role-needed"), Some("adult_role")));
    let r = sup.post(&confirm, &json!({"adult_role": "AUNTIE"}), &[]).await.unwrap();
    assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("adult_role")));
    let before = s.audit_count();
    let body = json!({"adult_role": "MOTHER", "note": "birth certificate seen"});
    let r = sup.post(&confirm, &body, &[("idempotency-key", "c-1")]).await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(s.audit_count(), before + 1);
    // A retry with the same key is a replay; a new confirmation is refused.
    let r = sup.post(&confirm, &body, &[("idempotency-key", "c-1")]).await.unwrap();
    assert_eq!((r.status, r.header("idempotent-replayed")), (200, Some("true")));
    let r = sup.post(&confirm, &body, &[]).await.unwrap();
    assert_eq!((r.status, r.json()["rule"].as_str()), (422, Some("link-decided")));
    // The minor is now in a family with the adult, established `inferred`.
    let child = sup.get(&format!("/api/persons/{}", it.minor)).await.unwrap().json();
    let text = child.to_string();
    assert!(text.contains(&it.adult.0.to_string()) && text.contains("inferred"), "{text}");
    let done = sup.get("/api/worklist?status=confirmed").await.unwrap().json();
    assert_eq!(
        (done[0]["decided_by"].as_str(), done[0]["reason"].as_str()),
        (Some("token:bp_supervisor@BP"), Some("birth certificate seen"))
    );
    assert!(done[0]["family"].as_str().unwrap().starts_with("F-"));

    // Identity: reject needs a reason; confirm asserts; unlink withdraws.
    let hq = s.token("hq_analyst", "HQ", &["read", "command"]);
    let r = hq.post(&format!("/api/worklist/{}/reject", it.identity), &json!({"reason": " "}), &[]).await.unwrap();
    assert_eq!((r.status, r.json()["field"].as_str()), (422, Some("reason")));
    let r = hq.post(&format!("/api/worklist/{}/confirm", it.identity), &json!({}), &[]).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(ids(&hq.get("/api/worklist?status=linked").await.unwrap().json()), vec![it.identity.to_string()]);
    let r = hq.post(&format!("/api/worklist/{}/unlink", it.identity), &json!({"reason": "twins, per the mother"}), &[]).await.unwrap();
    assert_eq!(r.status, 200);
    let all = hq.get("/api/worklist?status=all").await.unwrap().json();
    let statuses: Vec<&str> = all.as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["unlinked", "confirmed"]);
    let r = hq.post(&format!("/api/worklist/{}/reject", it.family), &json!({"reason": "too late"}), &[]).await.unwrap();
    assert_eq!((r.status, r.json()["rule"].as_str()), (422, Some("link-decided")));
}

fn page(r: &kinship_web::client::Response) -> String {
    String::from_utf8_lossy(&r.body).to_string()
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(fields).unwrap().into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worklist_page_lists_items_in_reach_and_its_forms_decide_them() {
    let s = Server::start().await;
    let it = proposals(&s).await;
    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
    // A role without worklist.review gets the refusal page.
    let (agent, _) = crate::ui::log_in(&s, "agent.ruiz", "bp_agent", "BP").await;
    assert_eq!(agent.get("/worklist").await.unwrap().status, 403);
    // A BP supervisor sees the BP pair with its evidence, not the ICE pair, and no names.
    let (sup, csrf) = crate::ui::log_in(&s, "sup.vega", "bp_supervisor", "BP").await;
    let r = sup.get("/worklist").await.unwrap();
    let body = page(&r);
    assert_eq!(r.status, 200, "{body}");
    assert!(body.contains(&format!("item-{}", it.family)), "{body}");
    assert!(body.contains("same station, 2 h apart") && body.contains("parent child"), "{body}");
    assert!(!body.contains(&format!("item-{}", it.identity)), "the ICE pair is out of reach");
    assert!(!body.contains("ROSAXQ") && !body.contains("PEREZXQ"), "names are on the person pages, not here");
    assert!(body.contains(&format!("/people/{}", it.minor)));
    let confirm = format!("/worklist/{}/confirm", it.family);
    // No CSRF token: refused, nothing written.
    let head = s.log_position();
    let r = sup.send("POST", &confirm, &[FORM], Some(form(&[("adult_role", "MOTHER")]))).await.unwrap();
    assert_eq!(r.status, 403);
    // A role that is not one: the page again, the error naming the field.
    let r = sup.send("POST", &confirm, &[FORM], Some(form(&[("csrf", &csrf), ("adult_role", "COUSINX")]))).await.unwrap();
    assert_eq!(r.status, 422);
    assert!(page(&r).contains("adult_role: COUSINX is not a family role"), "{}", page(&r));
    assert_eq!(s.log_position(), head);
    // Out of reach: the 404 page.
    let r = sup
        .send("POST", &format!("/worklist/{}/reject", it.identity), &[FORM], Some(form(&[("csrf", &csrf), ("reason", "no")])))
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    // Confirmed: back to the list, the tie recorded, the item no longer proposed.
    let fields =
        [("csrf", csrf.as_str()), ("key", "k-1"), ("adult_role", "MOTHER"), ("minor_role", "SON"), ("note", "birth certificate seen")];
    let r = sup.send("POST", &confirm, &[FORM], Some(form(&fields))).await.unwrap();
    assert_eq!(r.status, 303, "{}", page(&r));
    assert!(s.log_position() > head);
    assert!(page(&sup.get("/worklist").await.unwrap()).contains("Nothing to review."));
    let done = page(&sup.get("/worklist?status=confirmed").await.unwrap());
    assert!(done.contains(&format!("item-{}", it.family)) && done.contains("by sup.vega"), "{done}");
    // The minor is now in a family with the adult, established `inferred`.
    let api = s.token("bp_supervisor", "BP", &["read"]);
    let child = api.get(&format!("/api/persons/{}", it.minor)).await.unwrap().json().to_string();
    assert!(child.contains(&it.adult.0.to_string()) && child.contains("inferred"), "{child}");
}
