//! `kinship serve` as a real child process on a free port, and a minimal
//! HTTP/1.1 client over any byte stream (plain TCP here, rustls in the TLS
//! test), so the tests speak to the server exactly as a user's client would.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `kinship serve`; killed when dropped.
pub struct Served {
    child: Child,
    pub addr: SocketAddr,
    /// What it printed to standard output up to and including the "serving on" line.
    pub printed: Vec<String>,
    /// Where its standard error (the structured log) goes, for failure messages.
    pub log: std::path::PathBuf,
}

impl Served {
    /// Starts `kinship --data DATA serve --listen 127.0.0.1:0 EXTRA…` and
    /// waits until it says where it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Self {
        std::fs::create_dir_all(data).unwrap();
        let log = data.with_extension("serve-stderr.log");
        let stderr = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kinship"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("KINSHIP_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        // A thread keeps reading standard output for the server's whole life:
        // a closed pipe would end the server at its next line.
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                // Once start() has what it needs nobody listens; keep draining.
                let _ = tx.send(line);
            }
        });
        let mut printed = vec![];
        loop {
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => {
                    let serving = line.split("Kinship is serving on ").nth(1).map(str::to_string);
                    printed.push(line);
                    if let Some(url) = serving {
                        let addr = url.split("://").nth(1).unwrap().parse().unwrap();
                        return Self { child, addr, printed, log };
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("kinship serve did not start ({e}); printed {printed:?}; stderr: {log}");
                }
            }
        }
    }

    /// The one-time password in a line like "… one-time password: X".
    pub fn admin_password(&self) -> Option<String> {
        self.printed.iter().find_map(|l| l.split("one-time password: ").nth(1)).map(|p| p.trim().to_string())
    }

    pub fn http(&self, method: &str, path: &str, auth: Option<&str>, body: Option<&str>) -> Reply {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        exchange(stream, method, path, auth, body).unwrap_or_else(|e| panic!("{method} {path}: {e}; server log: {}", self.server_log()))
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// POST /api/session; the reply and the `Cookie` header value to send back.
    pub fn login(&self, user: &str, password: &str) -> (Reply, Option<String>) {
        let body = serde_json::json!({"username": user, "password": password}).to_string();
        let r = self.http("POST", "/api/session", None, Some(&body));
        let cookie = r.session_cookie();
        (r, cookie)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// `kinship_session=…` from Set-Cookie, ready for a `Cookie` header.
    pub fn session_cookie(&self) -> Option<String> {
        self.header("set-cookie").map(|c| c.split(';').next().unwrap().to_string())
    }
}

/// `auth` is a `Cookie` value (`name=value`) or a bearer token (anything else).
pub fn exchange<S: Read + Write>(mut s: S, method: &str, path: &str, auth: Option<&str>, body: Option<&str>) -> std::io::Result<Reply> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    match auth {
        Some(a) if a.contains('=') => req += &format!("Cookie: {a}\r\n"),
        Some(a) => req += &format!("Authorization: Bearer {a}\r\n"),
        None => {}
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        req += "Content-Type: application/json\r\n";
    }
    req += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes())?;
    s.flush()?;
    let mut buf = vec![];
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            // A TLS peer may close without close_notify once the reply is out.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && !buf.is_empty() => break,
            Err(e) => return Err(e),
        }
        if let Some(reply) = parse(&buf, false) {
            return Ok(reply);
        }
    }
    parse(&buf, true)
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidData, format!("not an HTTP reply: {:?}", String::from_utf8_lossy(&buf))))
}

/// A complete reply (headers and a Content-Length body, or everything up to
/// the close when `closed` and there is no Content-Length), or None if more is needed.
fn parse(buf: &[u8], closed: bool) -> Option<Reply> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let len = match headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
        Some((_, v)) => v.parse::<usize>().ok()?,
        None if closed || status == 204 => buf.len() - end - 4,
        None => return None,
    };
    let body = buf.get(end + 4..end + 4 + len)?;
    Some(Reply { status, headers, body: String::from_utf8_lossy(body).into_owned() })
}
