//! A run with a canary name and A-number through every endpoint that takes
//! or returns personal data; the captured server logs must hold neither.

use crate::harness::*;
use kinship_domain::{Command, PersonId};

const CANARY_GIVEN: &str = "ZQXCANARYGIVEN";
const CANARY_FAMILY: &str = "ZQXCANARYFAMILY";
const CANARY_A: &str = "A-098-765-432";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_personal_data() {
    let s = Server::start().await;
    let bp = s.token("bp_agent", "BP", &["read", "command"]);
    let p = PersonId::new_v7();
    ok(
        &bp,
        &record(
            p,
            CANARY_GIVEN,
            CANARY_FAMILY,
            (2011, 7, 8),
            Some(CANARY_A),
            "BP",
            "R-canary",
            &[("health_notes", "ZQXCANARYHEALTH")],
            "BP",
        ),
    )
    .await;
    let dup = command(&bp, &record(p, CANARY_GIVEN, CANARY_FAMILY, (2011, 7, 8), Some(CANARY_A), "BP", "R-canary2", &[], "BP"), None).await;
    assert_eq!(dup.status, 422, "a refusal that names the person goes to the client only");
    for path in [
        format!("/api/persons?name={}", CANARY_GIVEN.to_lowercase()),
        format!("/api/persons/{}?purpose=canary", p.0),
        format!("/api/persons/{p}"),
        "/api/export?purpose=canary".into(),
        "/api/reports/separated-children".into(),
    ] {
        let r = bp.get(&path).await.unwrap();
        assert_eq!(r.status, 200, "{path}");
    }
    let r = bp.get(&format!("/api/persons/{}", p.0)).await.unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains(CANARY_GIVEN), "the canary is in the data");
    let bad = bp.post("/api/commands", &serde_json::json!({"command": "Release", "person": CANARY_FAMILY}), &[]).await.unwrap();
    assert_eq!(bad.status, 400);
    let _ = command(&bp, &Command::Remove { person: p, to_country: None }, None).await;
    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    assert!(logs.contains("\"route\":\"/api/persons/{id}\""), "the request log was captured: {logs:.300}");
    for secret in [CANARY_GIVEN, CANARY_FAMILY, "098765432", "098-765-432", "ZQXCANARYHEALTH", "2011-07-08"] {
        assert!(!logs.contains(secret), "{secret} found in the logs");
    }
}
