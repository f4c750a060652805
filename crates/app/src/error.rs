use kinship_domain::DomainError;
use kinship_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Input(String),
}

impl AppError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, AppError::Store(StoreError::Conflict { .. }))
    }
}
