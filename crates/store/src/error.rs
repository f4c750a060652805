use kinship_domain::StreamId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{stream} changed since it was read (expected version {expected}, found {actual}); reload and try again")]
    Conflict { stream: StreamId, expected: u64, actual: u64 },
    #[error("idempotency key {key:?} was already used for a different command; use a new key for a new command")]
    KeyReused { key: String },
    #[error("the event log is damaged at position {position}: {reason}")]
    Corrupt { position: u64, reason: String },
    #[error("invalid append: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Backend(String),
}
