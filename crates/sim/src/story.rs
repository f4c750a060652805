//! The lifecycle after the encounter, as a stream of steps: who did what, to
//! whom, when. Each step names people and families by the source records
//! that hold them (`source`, `record_id`), so the same story can be replayed
//! into any store, or later sent to a running server, once those records are
//! loaded. `kinship_app::story` turns steps into domain commands.

use serde::{Deserialize, Serialize};

/// A record (or a source family) named by its system and id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ref {
    pub source: String,
    pub record_id: String,
}

impl Ref {
    pub fn new(source: &str, record_id: &str) -> Self {
        Self { source: source.into(), record_id: record_id.into() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub agency: String,
    pub role: String,
}

/// One step of the story: a command as a person would issue it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// RFC 3339 with offset.
    pub at: String,
    pub actor: Actor,
    /// Idempotency key: unique in the scenario, stable across runs.
    pub key: String,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `separation` is the scenario's own id for the separation; reviews name it.
    Separate {
        family: Ref,
        separation: String,
        members: Vec<Ref>,
        reason_code: String,
        policy: Option<String>,
        narrative: String,
        approved_by: String,
    },
    Review {
        family: Ref,
        separation: String,
        level: u8,
    },
    ReferForProsecution {
        person: Ref,
    },
    OfferTransfer {
        person: Ref,
        to_agency: String,
        to_facility: Option<String>,
    },
    AcceptTransfer {
        person: Ref,
    },
    Release {
        person: Ref,
        us_address: Option<String>,
        conditions: Option<String>,
    },
    Remove {
        person: Ref,
        to_country: Option<String>,
    },
    Reunify {
        family: Ref,
        members: Vec<Ref>,
        location: String,
    },
}

impl Action {
    /// A short name for counting steps by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Separate { .. } => "separate",
            Action::Review { .. } => "review",
            Action::ReferForProsecution { .. } => "refer_for_prosecution",
            Action::OfferTransfer { .. } => "offer_transfer",
            Action::AcceptTransfer { .. } => "accept_transfer",
            Action::Release { .. } => "release",
            Action::Remove { .. } => "remove",
            Action::Reunify { .. } => "reunify",
        }
    }
}

/// Reads a story file (`DIR/story/lifecycle.jsonl`): one step per line.
pub fn read(path: &std::path::Path) -> Result<Vec<Step>, crate::SimError> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::SimError::Io(format!("cannot read {}: {e}", path.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| crate::SimError::Io(format!("{}:{}: not a story step: {e}", path.display(), i + 1)))
        })
        .collect()
}
