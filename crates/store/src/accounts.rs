//! Accounts for people (password hashes, sessions) and API tokens for agency
//! systems. The store holds only hashes: an argon2 PHC string for passwords,
//! SHA-256 of the random secret for session ids and tokens (those secrets are
//! 256-bit random values, so a fast hash is enough; passwords are not).

use crate::StoreError;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    pub username: String,
    /// argon2 PHC string. Never serialised out of the server.
    #[serde(skip)]
    pub password_hash: String,
    pub agency: String,
    /// A role key from the jurisdiction profile.
    pub role: String,
    pub disabled: bool,
    pub created_at: jiff::Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 (hex) of the cookie's secret.
    pub id_hash: String,
    pub username: String,
    pub created_at: jiff::Timestamp,
    pub last_seen: jiff::Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Public id, shown in lists and the audit log.
    pub id: String,
    /// SHA-256 (hex) of the secret part. Never serialised.
    #[serde(skip)]
    pub secret_hash: String,
    pub label: String,
    pub agency: String,
    pub role: String,
    /// What the token may be used for (`read`, `command`).
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: jiff::Timestamp,
    pub revoked_at: Option<jiff::Timestamp>,
}

/// Accounts, sessions and tokens. Times are stored to the microsecond.
pub trait Accounts: Send + Sync {
    /// Creates an account; `false` (and nothing written) if the name is taken.
    fn account_create(&self, account: &Account) -> Result<bool, StoreError>;
    fn account(&self, username: &str) -> Result<Option<Account>, StoreError>;
    /// All accounts, by name.
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    fn account_count(&self) -> Result<u64, StoreError>;
    /// Replaces the password hash and ends the account's sessions. `false` if
    /// there is no such account.
    fn account_set_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError>;
    /// Disables (ending every session) or re-enables an account.
    fn account_set_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError>;

    fn session_create(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session, if it was last used no more than `idle_seconds` before
    /// `now`; its last use becomes `now`. A session idle for longer is ended
    /// and `None` is returned.
    fn session_touch(&self, id_hash: &str, now: jiff::Timestamp, idle_seconds: i64) -> Result<Option<SessionRecord>, StoreError>;
    fn session_end(&self, id_hash: &str) -> Result<bool, StoreError>;

    /// Stores a token; `false` if the id is taken.
    fn token_create(&self, token: &ApiToken) -> Result<bool, StoreError>;
    fn token(&self, id: &str) -> Result<Option<ApiToken>, StoreError>;
    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    /// Marks a token revoked at `at`; `false` if unknown or already revoked.
    fn token_revoke(&self, id: &str, at: jiff::Timestamp) -> Result<bool, StoreError>;
}
