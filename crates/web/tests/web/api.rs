//! Sessions, tokens, the audit view, operations endpoints, the committed
//! OpenAPI document, and the refusals every endpoint makes.

use crate::harness::*;
use kinship_web::auth;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_log_in_touch_idle_out_and_log_out() {
    let s = Server::start_with(1).await;
    auth::add_account(s.backend.accounts.as_ref(), "ana", "BP", "bp_agent", "correct horse").unwrap();
    let bad = s.client.post("/api/session", &serde_json::json!({"username": "ana", "password": "wrong"}), &[]).await.unwrap();
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json()["code"], "bad-credentials");
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    let nobody = s.client.post("/api/session", &serde_json::json!({"username": "nobody", "password": "x"}), &[]).await.unwrap();
    assert_eq!(nobody.status, 401);

    let r = s.client.post("/api/session", &serde_json::json!({"username": "ana", "password": "correct horse"}), &[]).await.unwrap();
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "no Secure without TLS: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let ana = s.client.with_cookie(&pair);
    let me = ana.get("/api/session").await.unwrap();
    assert_eq!(me.json()["role"], "bp_agent");
    // Idle past the timeout (1 s here): the session is over.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(ana.get("/api/session").await.unwrap().status, 401);

    // Log out ends the session; disabling the account ends it too.
    let r = s.client.post("/api/session", &serde_json::json!({"username": "ana", "password": "correct horse"}), &[]).await.unwrap();
    let ana = s.client.with_cookie(r.header("set-cookie").unwrap().split(';').next().unwrap());
    assert_eq!(ana.get("/api/session").await.unwrap().status, 200);
    let out = ana.send("DELETE", "/api/session", &[], None).await.unwrap();
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(ana.get("/api/session").await.unwrap().status, 401);
    let r = s.client.post("/api/session", &serde_json::json!({"username": "ana", "password": "correct horse"}), &[]).await.unwrap();
    let ana = s.client.with_cookie(r.header("set-cookie").unwrap().split(';').next().unwrap());
    s.backend.accounts.account_set_disabled("ana", true).unwrap();
    assert_eq!(ana.get("/api/session").await.unwrap().status, 401);
    let again = s.client.post("/api/session", &serde_json::json!({"username": "ana", "password": "correct horse"}), &[]).await.unwrap();
    assert_eq!(again.status, 401, "a disabled account cannot log in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_issued_scoped_and_revoked_over_http() {
    let s = Server::start().await;
    auth::add_account(s.backend.accounts.as_ref(), "root", "HQ", "admin", "pw-root-1").unwrap();
    let r = s.client.post("/api/session", &serde_json::json!({"username": "root", "password": "pw-root-1"}), &[]).await.unwrap();
    let root = s.client.with_cookie(r.header("set-cookie").unwrap().split(';').next().unwrap());
    let req = serde_json::json!({"label": "ORR case system", "agency": "ORR", "role": "orr_case_manager", "scopes": ["read"]});
    let issued = root.post("/api/tokens", &req, &[]).await.unwrap();
    assert_eq!(issued.status, 201, "{:?}", issued.json());
    let (id, secret) = (issued.json()["id"].as_str().unwrap().to_string(), issued.json()["token"].as_str().unwrap().to_string());
    let stored = s.backend.accounts.token(&id).unwrap().unwrap();
    assert!(!stored.secret_hash.is_empty() && !secret.contains(&stored.secret_hash), "only a hash is stored");
    let orr = s.client.with_bearer(&secret);
    let me = orr.get("/api/session").await.unwrap().json();
    assert_eq!((me["agency"].as_str(), me["token"].as_str()), (Some("ORR"), Some(id.as_str())));
    // A read-only token cannot send commands.
    let r = command(&orr, &record(kinship_domain::PersonId::new_v7(), "A", "B", (1990, 1, 1), None, "ORR", "X1", &[], "ORR"), None).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("token-scope")));
    // Tokens cannot mint tokens, and bad requests are named.
    assert_eq!(s.admin.post("/api/tokens", &req, &[]).await.unwrap().status, 403);
    let bad_scope = root
        .post("/api/tokens", &serde_json::json!({"label": "x", "agency": "ORR", "role": "orr_case_manager", "scopes": ["delete"]}), &[])
        .await
        .unwrap();
    assert_eq!((bad_scope.status, bad_scope.json()["field"].as_str()), (400, Some("scopes")));
    let bad_role = root
        .post("/api/tokens", &serde_json::json!({"label": "x", "agency": "ORR", "role": "nobody", "scopes": ["read"]}), &[])
        .await
        .unwrap();
    assert_eq!((bad_role.status, bad_role.json()["field"].as_str()), (400, Some("role")));
    // Revoked: refused from then on.
    assert_eq!(root.send("DELETE", &format!("/api/tokens/{id}"), &[], None).await.unwrap().status, 204);
    assert_eq!(orr.get("/api/session").await.unwrap().status, 401);
    assert_eq!(root.send("DELETE", &format!("/api/tokens/{id}"), &[], None).await.unwrap().status, 404);
    // A forged secret for a real id is refused.
    let (t2, _) = auth::issue_token(s.backend.accounts.as_ref(), "x", "BP", "bp_agent", &["read".into()], "t").unwrap();
    let forged = s.client.with_bearer(&format!("kinship_{}_{}", t2.id, "00".repeat(32)));
    assert_eq!(forged.get("/api/session").await.unwrap().status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_requests_are_refused_everywhere() {
    let s = Server::start().await;
    for path in [
        "/api/persons",
        "/api/persons/P-0190a000-0000-7000-8000-000000000000",
        "/api/export",
        "/api/reports/separated-children",
        "/api/audit",
        "/api/session",
    ] {
        let r = s.client.get(path).await.unwrap();
        assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("unauthenticated")), "{path}");
    }
    let r = s.client.post("/api/commands", &serde_json::json!({}), &[]).await.unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(s.audit_count(), 0, "nothing was read, nothing audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_view_answers_who_looked_at_this_child() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let orr = s.token("orr_case_manager", "ORR", &["read"]);
    let before = s.audit_count();
    for _ in 0..3 {
        assert_eq!(orr.get(&format!("/api/persons/{}?purpose=placement", w.child.0)).await.unwrap().status, 200);
    }
    assert_eq!(s.audit_count(), before + 3, "one record per read");
    let auditor = s.token("auditor", "HQ", &["read"]);
    let r = auditor.get(&format!("/api/audit?subject=P-{}", w.child.0)).await.unwrap();
    assert_eq!(r.status, 200);
    let rows = r.json();
    let reads: Vec<_> = rows.as_array().unwrap().iter().filter(|r| r["entry"]["action"] == "person.read").collect();
    assert_eq!(reads.len(), 3);
    let e = &reads[0]["entry"];
    assert_eq!(
        (e["user"].as_str(), e["agency"].as_str(), e["role"].as_str()),
        (Some("token:orr_case_manager@ORR"), Some("ORR"), Some("orr_case_manager"))
    );
    assert!(e["token"].is_string() && e["source"] == "127.0.0.1" && e["purpose"] == "placement" && e["outcome"] == "ok");
    // Bare ids work too; the auditor's own reads of the audit are audited.
    let bare = auditor.get(&format!("/api/audit?subject={}&user=token:orr_case_manager@ORR", w.child.0)).await.unwrap();
    let actions: Vec<String> = bare.json().as_array().unwrap().iter().map(|r| r["entry"]["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, ["person.read", "person.read", "person.read", "command.AcceptTransfer"], "newest first, reads and commands");
    let mine = auditor.get("/api/audit?user=token:auditor@HQ").await.unwrap().json();
    assert!(mine.as_array().unwrap().iter().all(|r| r["entry"]["action"] == "audit.read") && mine.as_array().unwrap().len() >= 2);
    let future = auditor.get("/api/audit?since=2999-01-01T00:00:00Z").await.unwrap();
    assert_eq!(future.json().as_array().unwrap().len(), 0);
    assert_eq!(auditor.get("/api/audit?since=yesterday").await.unwrap().json()["field"], "since");
    // Staff without audit.read: refused (and that refusal is audited as well).
    let bp = s.token("bp_agent", "BP", &["read"]);
    let r = bp.get("/api/audit").await.unwrap();
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("forbidden")));
    let last = s.backend.audit.audit_query(&kinship_store::AuditQuery { limit: 1, ..Default::default() }).unwrap();
    assert_eq!(last[0].entry.outcome, "denied");
    // The auditor sees no person data.
    assert_eq!(auditor.get(&format!("/api/persons/{}", w.child.0)).await.unwrap().status, 404);
    assert_eq!(kinship_store::audit::verify_audit(s.backend.audit.as_ref(), &mut |_| {}).unwrap().first_bad, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_cannot_be_audited_is_not_served() {
    let s = Server::start().await;
    let w = seed(&s).await;
    let raw = rusqlite::Connection::open(s.dir.path().join("kinship.db")).unwrap();
    raw.execute_batch("CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END;").unwrap();
    let bp = s.token("bp_agent", "BP", &["read", "command"]);
    let r = bp.get(&format!("/api/persons/{}?purpose=x", w.parent.0)).await.unwrap();
    assert_eq!((r.status, r.json()["code"].as_str()), (503, Some("audit-unavailable")));
    assert!(!String::from_utf8_lossy(&r.body).contains(PARENT_NAME), "no data without an audit record");
    let r = bp.get("/api/persons").await.unwrap();
    assert_eq!(r.status, 503);
    let r = command(&bp, &kinship_domain::Command::ReferForProsecution { person: w.parent }, None).await;
    assert_eq!(r.status, 503, "a command whose audit record fails is answered 503");
    raw.execute_batch("DROP TRIGGER audit_down;").unwrap();
    assert_eq!(bp.get(&format!("/api/persons/{}", w.parent.0)).await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_openapi_and_swagger_ui() {
    let s = Server::start().await;
    let h = s.client.get("/health").await.unwrap();
    assert_eq!((h.status, &h.body[..]), (200, &b"ok\n"[..]));
    s.admin.get("/api/persons").await.unwrap();
    let m = s.client.get("/metrics").await.unwrap();
    let text = String::from_utf8_lossy(&m.body);
    assert!(text.contains("kinship_http_requests_total{route=\"/api/persons\",method=\"GET\",status=\"200\"} 1"), "{text}");
    assert!(text.contains("kinship_http_request_duration_seconds_bucket{route=\"/api/persons\",method=\"GET\",le=\"+Inf\"} 1"));
    let doc = s.client.get("/api/openapi.json").await.unwrap();
    assert_eq!(doc.json()["openapi"], "3.1.0");
    assert_eq!(doc.json(), serde_json::from_str::<serde_json::Value>(&kinship_web::openapi::json()).unwrap());
    let ui = s.client.get("/api/docs/").await.unwrap();
    assert_eq!(ui.status, 200);
    assert!(String::from_utf8_lossy(&ui.body).contains("swagger"), "Swagger UI served from the binary");
    let bundle = s.client.get("/api/docs/swagger-ui-bundle.js").await.unwrap();
    assert!(bundle.status == 200 && bundle.body.len() > 100_000, "the vendored bundle");
}

/// The committed OpenAPI document is what the code generates: an API change
/// must be committed deliberately (`UPDATE_OPENAPI=1 cargo test -p kinship-web`).
#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = kinship_web::openapi::json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/web/openapi.json differs from the API the code serves; if the change is intended, run UPDATE_OPENAPI=1 cargo test -p kinship-web and commit the file"
    );
}
