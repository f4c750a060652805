//! A small HTTP/1 client over loopback, for the load generator and the
//! tests (plain HTTP only: TLS is terminated by the server under test).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as Hyper;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Clone)]
pub struct Client {
    inner: Hyper<HttpConnector, Full<Bytes>>,
    base: String,
    /// Sent as `Authorization: Bearer …` or `Cookie: …` on every request.
    auth: Option<(String, String)>,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self { inner: Hyper::builder(TokioExecutor::new()).build(connector), base: base.trim_end_matches('/').to_string(), auth: None }
    }

    pub fn with_bearer(&self, token: &str) -> Self {
        Self { auth: Some(("authorization".into(), format!("Bearer {token}"))), ..self.clone() }
    }

    pub fn with_cookie(&self, cookie: &str) -> Self {
        Self { auth: Some(("cookie".into(), cookie.to_string())), ..self.clone() }
    }

    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Result<Response, String> {
        let mut req = hyper::Request::builder().method(method).uri(format!("{}{path}", self.base));
        if let Some((k, v)) = &self.auth {
            req = req.header(k.as_str(), v.as_str());
        }
        // JSON unless the caller names another type (the HTML forms' tests send url-encoded bodies).
        if body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(|e| e.to_string())?;
        let res = self.inner.request(req).await.map_err(|e| format!("request failed: {e}"))?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Response { status, headers, body })
    }

    pub async fn get(&self, path: &str) -> Result<Response, String> {
        self.send("GET", path, &[], None).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value, headers: &[(&str, &str)]) -> Result<Response, String> {
        self.send("POST", path, headers, Some(serde_json::to_vec(body).map_err(|e| e.to_string())?)).await
    }
}
