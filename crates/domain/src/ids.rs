//! Identifiers. They are chosen by the caller (the app layer) and carried in
//! commands, so that `decide` stays pure and replay is deterministic.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
            /// Parses either the bare UUID or the prefixed form (`P-…`).
            pub fn parse(text: &str) -> Option<Self> {
                let bare = text.strip_prefix(concat!($prefix, "-")).unwrap_or(text);
                Uuid::parse_str(bare).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{}", $prefix, self.0)
            }
        }
    };
}

id_type!(PersonId, "P");
id_type!(FamilyId, "F");
id_type!(SeparationId, "S");
id_type!(FindingId, "Q");
id_type!(EncounterId, "E");
id_type!(LinkId, "L");

/// The stream an event belongs to. Concurrency is per stream: each stream has
/// its own version, and a command states the versions it decided on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum StreamId {
    Person(PersonId),
    Family(FamilyId),
    Encounter(EncounterId),
    Finding(FindingId),
    /// A linkage proposal (worklist item), or one linkage run.
    Link(LinkId),
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::Person(id) => write!(f, "person/{}", id.0),
            StreamId::Family(id) => write!(f, "family/{}", id.0),
            StreamId::Encounter(id) => write!(f, "encounter/{}", id.0),
            StreamId::Finding(id) => write!(f, "finding/{}", id.0),
            StreamId::Link(id) => write!(f, "link/{}", id.0),
        }
    }
}

impl StreamId {
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once('/')?;
        let uuid = Uuid::parse_str(id).ok()?;
        Some(match kind {
            "person" => StreamId::Person(PersonId(uuid)),
            "family" => StreamId::Family(FamilyId(uuid)),
            "encounter" => StreamId::Encounter(EncounterId(uuid)),
            "finding" => StreamId::Finding(FindingId(uuid)),
            "link" => StreamId::Link(LinkId(uuid)),
            _ => return None,
        })
    }
}
