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
