//! Commands over HTTP: refusals with code, rule and field; Idempotency-Key;
//! racing commands; reach for commands.

use crate::harness::*;
use kinship_domain::{Command, PersonId, StreamId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_refusals_name_code_rule_and_field() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let bp = s.token("bp_agent", "BP", &["read", "command"]);
    // A broken domain rule: 422 with the rule and the field.
    let r = command(&bp, &Command::OfferTransfer { person: w.parent, to_agency: "BP".into(), to_facility: None }, None).await;
    assert_eq!(r.status, 422);
    let j = r.json();
    assert_eq!(
        (j["code"].as_str(), j["rule"].as_str(), j["field"].as_str()),
        (Some("transfer-to-self"), Some("transfer-to-self"), Some("to_agency"))
    );
    // A permission the role lacks: 403 not-permitted.
    let analyst = s.token("hq_analyst", "HQ", &["command"]);
    let r = command(&analyst, &Command::ReferForProsecution { person: w.parent }, None).await;
    assert_eq!((r.status, r.json()["rule"].as_str()), (403, Some("not-permitted")));
    // A body that does not parse: 400 naming the field.
    let r = bp.post("/api/commands", &serde_json::json!({"command": "BookIn", "agency": "BP", "facility": null}), &[]).await.unwrap();
    assert_eq!((r.status, r.json()["code"].as_str(), r.json()["field"].as_str()), (400, Some("invalid-body"), Some("person")));
    let r = bp.post("/api/commands", &serde_json::json!({"command": "BookIn", "person": "not-a-uuid", "agency": "BP"}), &[]).await.unwrap();
    assert_eq!((r.status, r.json()["code"].as_str()), (400, Some("invalid-body")));
    let r = bp.post("/api/commands", &serde_json::json!({"command": "Teleport"}), &[]).await.unwrap();
    assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("command")));
    let r = bp.send("POST", "/api/commands", &[("idempotency-key", "has space")], Some(b"{}".to_vec())).await.unwrap();
    assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("Idempotency-Key")));
    // Another agency's person: 404, as if it did not exist; nothing written.
    let head = s.log_position();
    let r = command(&bp, &Command::ReferForProsecution { person: w.ice_person }, None).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (404, Some("not-found")));
    let r = command(&bp, &Command::ReferForProsecution { person: PersonId::new_v7() }, None).await;
    assert_eq!(r.status, 404, "an unknown person is 404 too");
    assert_eq!(s.log_position(), head);
    // Reading with a malformed id or an unknown one: 404.
    assert_eq!(bp.get("/api/persons/nonsense").await.unwrap().status, 404);
    assert_eq!(bp.get(&format!("/api/persons/{}", PersonId::new_v7())).await.unwrap().status, 404);
    let r = bp.get("/api/persons?from=last-week").await.unwrap();
    assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("from")));
    // Every command is audited with its outcome.
    let recent = s
        .backend
        .audit
        .audit_query(&kinship_store::AuditQuery { user: Some("token:bp_agent@BP".into()), limit: 50, ..Default::default() })
        .unwrap();
    assert!(recent.iter().any(|r| r.entry.action == "command.OfferTransfer" && r.entry.outcome == "refused:transfer-to-self"));
    assert!(recent.iter().any(|r| r.entry.action == "command.ReferForProsecution" && r.entry.outcome == "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_command_with_the_same_key_makes_one_event() {
    let s = Server::start().await;
    let bp = s.token("bp_agent", "BP", &["read", "command"]);
    let cmd = record(PersonId::new_v7(), "ANA", "RETRYXQ", (1990, 1, 1), None, "BP", "R-retry", &[], "BP");
    let first = command(&bp, &cmd, Some("key-1")).await;
    assert_eq!(first.status, 200);
    let head = s.log_position();
    let again = command(&bp, &cmd, Some("key-1")).await;
    assert_eq!((again.status, again.json()), (200, first.json()), "same key, same body: same answer");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(s.log_position(), head, "no second event");
    let other = record(PersonId::new_v7(), "BEA", "RETRYXQ", (1990, 1, 1), None, "BP", "R-retry2", &[], "BP");
    let r = command(&bp, &other, Some("key-1")).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (422, Some("idempotency-key-reused")));
    assert_eq!(s.log_position(), head);
    // Keys belong to the caller: another caller's key-1 is a new command.
    let bp2 = s.token("bp_supervisor", "BP", &["command"]);
    assert_eq!(command(&bp2, &other, Some("key-1")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_conflicting_commands_commit_exactly_once() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let n = 8;
    let version_before = s.backend.store.stream_version(&StreamId::Person(w.parent)).unwrap();
    let mut tasks = vec![];
    for i in 0..n {
        let c = s.token("bp_agent", "BP", &["command"]);
        let cmd = Command::OfferTransfer { person: w.parent, to_agency: "ICE".into(), to_facility: Some(format!("F{i}")) };
        tasks.push(tokio::spawn(async move { command(&c, &cmd, None).await }));
    }
    let mut statuses = vec![];
    for t in tasks {
        let r = t.await.unwrap();
        if r.status != 200 {
            let code = r.json()["code"].as_str().unwrap().to_string();
            assert!(code == "version-conflict" || code == "transfer-pending", "loser answered {code}");
            assert!(r.status == 409 || r.status == 422);
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(s.backend.store.stream_version(&StreamId::Person(w.parent)).unwrap(), version_before + 1, "exactly one event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_about_persons_out_of_reach_is_not_found() {
    use kinship_domain::FindingId;
    use kinship_domain::event::Subject;
    let s = Server::start().await;
    let w = seed(&s).await;
    let raise = |finding, subjects| Command::RaiseFinding {
        finding,
        kind: "possible-duplicate".into(),
        subjects,
        message: "two records may be one person".into(),
        record: None,
    };
    // About BP's family (parent and family): in BP's reach, not ICE's.
    let bp_finding = FindingId::new_v7();
    ok(&s.admin, &raise(bp_finding, vec![Subject::Person(w.parent), Subject::Family(w.family)])).await;
    // About BP's parent and ICE's person: no agency reaches both.
    let mixed = FindingId::new_v7();
    ok(&s.admin, &raise(mixed, vec![Subject::Person(w.parent), Subject::Person(w.ice_person)])).await;

    let ice = s.token("ice_juvenile_coordinator", "ICE", &["command"]);
    let bp = s.token("bp_supervisor", "BP", &["command"]);
    let resolve = |finding| Command::ResolveFinding { finding, resolution: "checked: two people".into() };
    let head = s.log_position();
    for (who, finding) in [(&ice, bp_finding), (&bp, mixed), (&ice, mixed)] {
        let r = command(who, &resolve(finding), None).await;
        assert_eq!((r.status, r.json()["code"].as_str()), (404, Some("not-found")), "{finding}: {}", String::from_utf8_lossy(&r.body));
    }
    // Out of reach looks exactly like a finding that does not exist.
    let r = command(&ice, &resolve(FindingId::new_v7()), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(s.log_position(), head, "nothing written");
    // Raising again an id taken by a finding out of reach is answered the
    // same way (not "finding-exists"), before any permission is looked at.
    let r = command(&ice, &raise(bp_finding, vec![Subject::Person(w.ice_person)]), None).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (404, Some("not-found")));
    assert_eq!(s.log_position(), head);

    // The agency that reaches every subject resolves it.
    ok(&bp, &resolve(bp_finding)).await;
    assert_eq!(s.log_position(), head + 1);
    // HQ reaches everyone, so the mixed one is theirs.
    ok(&s.token("hq_analyst", "HQ", &["command"]), &resolve(mixed)).await;
    // The refusals and the resolutions are audited with the finding as subject.
    let rows = s
        .backend
        .audit
        .audit_query(&kinship_store::AuditQuery { subject: Some(bp_finding.to_string()), limit: 50, ..Default::default() })
        .unwrap();
    let outcomes: Vec<&str> =
        rows.iter().filter(|r| r.entry.action == "command.ResolveFinding").map(|r| r.entry.outcome.as_str()).collect();
    assert_eq!(outcomes, ["ok", "not_found"], "newest first");
}
