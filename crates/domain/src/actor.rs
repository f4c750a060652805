//! Who issues a command, and the metadata every command carries.

use crate::time::Instant;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub agency: String,
    /// A role key from the jurisdiction profile (e.g. `bp_supervisor`).
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandMeta {
    pub actor: Actor,
    /// Same key + same command = same answer and no second event.
    pub idempotency_key: String,
    /// When the act happened (the caller's clock); `decide` never reads a clock.
    pub at: Instant,
}
