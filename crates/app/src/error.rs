use kinship_domain::DomainError;
use kinship_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    // Transparent: the wrapped error *is* the message (printing it as a
    // source too would say everything twice).
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Input(String),
    /// The caller's role may not do or see this (a field class or permission).
    #[error("{0}")]
    Denied(String),
    /// The audit record could not be written, so the request was not served.
    #[error("the audit log cannot be written, so the request was not served: {0}")]
    AuditUnavailable(String),
}

impl AppError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, AppError::Store(StoreError::Conflict { .. }))
    }
}
