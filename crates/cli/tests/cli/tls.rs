//! `kinship serve --tls-cert --tls-key` with a certificate made at test
//! time: a rustls client that trusts only that certificate logs in, the
//! session cookie is `Secure`, and plain HTTP on the same port gets no HTTP
//! answer.

use super::served::{Reply, Served, exchange};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

fn tls_client(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap();
    Arc::new(config.with_root_certificates(roots).with_no_client_auth())
}

fn https(
    s: &Served,
    config: &Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Reply> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    let tcp = TcpStream::connect(s.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    exchange(rustls::StreamOwned::new(conn, tcp), method, path, auth, body)
}

#[test]
fn serve_with_tls_sets_secure_cookies_and_refuses_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    let s = Served::start(&data, &["--tls-cert", cert_path.to_str().unwrap(), "--tls-key", key_path.to_str().unwrap()]);
    assert!(s.printed.iter().any(|l| l.contains("serving on https://")), "{:?}", s.printed);
    let password = s.admin_password().unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let trusting = tls_client(roots);
    let body = serde_json::json!({"username": "admin", "password": password}).to_string();
    let r = https(&s, &trusting, "POST", "/api/session", None, Some(&body)).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").unwrap();
    assert!(set.contains("; Secure") && set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let me = https(&s, &trusting, "GET", "/api/session", r.session_cookie().as_deref(), None).unwrap();
    assert_eq!((me.status, me.json()["user"].as_str()), (200, Some("admin")));

    // A client that does not trust the certificate cannot talk to it at all.
    let e = https(&s, &tls_client(rustls::RootCertStore::empty()), "GET", "/health", None, None).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(s.addr).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    plain.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut got = vec![];
    let _ = plain.read_to_end(&mut got);
    assert!(!got.starts_with(b"HTTP/"), "plain HTTP was served: {:?}", String::from_utf8_lossy(&got));
}
