//! Errors as RFC 9457 `application/problem+json`: a stable `code` programs
//! can match on, the domain `rule` that was broken and the `field` at fault.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kinship_app::AppError;
use kinship_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem as the client receives it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// A URI naming the kind of problem (`urn:kinship:problem:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable, kebab-case code, e.g. `version-conflict`, `unit-needs-adult-parent`.
    pub code: String,
    /// The domain rule that was broken, when a rule refused the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub detail: String,
}

/// An error response (boxed: it travels in every handler's `Result`).
#[derive(Clone, Debug)]
pub struct Problem(pub Box<ProblemBody>);

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemBody {
            kind: format!("urn:kinship:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            code: code.into(),
            rule: None,
            field: None,
            detail: detail.into(),
        }))
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in (POST /api/session) or send Authorization: Bearer <token>")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response()
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Domain(d) => {
                let status = match d.rule {
                    "not-permitted" => StatusCode::FORBIDDEN,
                    "person-not-found" | "family-not-found" | "finding-not-found" | "link-not-found" => StatusCode::NOT_FOUND,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                let mut p = Problem::new(status, d.rule, d.message);
                p.0.rule = Some(d.rule.to_string());
                p.0.field = d.field.map(str::to_string);
                p
            }
            AppError::Store(StoreError::Conflict { .. }) => Problem::new(
                StatusCode::CONFLICT,
                "version-conflict",
                "the record changed while this command was being decided; reload and try again",
            ),
            AppError::Store(StoreError::KeyReused { .. }) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "this Idempotency-Key was already used for a different request; use a new key for a new command",
            )
            .field("Idempotency-Key"),
            // Store internals stay in the server; the client learns only that it failed.
            AppError::Store(_) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "store-error", "the store failed; try again later"),
            AppError::NotFound(m) => Problem::new(StatusCode::NOT_FOUND, "not-found", m),
            AppError::Input(m) => Problem::new(StatusCode::BAD_REQUEST, "invalid-input", m),
            AppError::Denied(m) => Problem::new(StatusCode::FORBIDDEN, "forbidden", m),
            AppError::AuditUnavailable(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit-unavailable",
                "the audit record for this request could not be written, so it was not served; try again later",
            ),
        }
    }
}
