//! Linkage proposals: the review worklist's vocabulary. A proposal is a
//! stream of its own whose id is derived from the pair it is about, so a
//! pair is proposed at most once per kind: a rejected pair is never
//! proposed again, and a re-run of the linker proposes nothing twice.

use crate::ids::{LinkId, PersonId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a proposal says about two persons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// An adult and a minor whose family tie nobody recorded.
    Family,
    /// Two persons that may be the same person, recorded twice.
    Identity,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Family => "family",
            LinkKind::Identity => "identity",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "family" => Some(Self::Family),
            "identity" => Some(Self::Identity),
            _ => None,
        }
    }
}

/// The relationship a family proposal suggests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Relation {
    ParentChild,
    OtherRelative,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::ParentChild => "PARENT_CHILD",
            Relation::OtherRelative => "OTHER_RELATIVE",
        }
    }
}

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Waiting for a reviewer.
    Proposed,
    /// A family tie confirmed and recorded in a family.
    Confirmed,
    /// Rejected by a reviewer; the pair is not proposed again.
    Rejected,
    /// An identity link asserted (by a reviewer, or automatically when the
    /// linker was sure); reversible.
    Linked,
    /// An identity link withdrawn; nothing had been merged, so nothing is lost.
    Unlinked,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Proposed => "proposed",
            LinkStatus::Confirmed => "confirmed",
            LinkStatus::Rejected => "rejected",
            LinkStatus::Linked => "linked",
            LinkStatus::Unlinked => "unlinked",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Proposed, Self::Confirmed, Self::Rejected, Self::Linked, Self::Unlinked]
            .into_iter()
            .find(|s| s.as_str() == raw.trim().to_ascii_lowercase())
    }
}

impl LinkId {
    /// The one id a proposal about this pair can have: the same for (a, b)
    /// and (b, a), different per kind.
    pub fn for_pair(kind: LinkKind, a: PersonId, b: PersonId) -> Self {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        LinkId(Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("kinship/link/{}/{}/{}", kind.as_str(), lo.0, hi.0).as_bytes()))
    }

    /// The stream of the linkage run that examined the log up to `through`.
    pub fn for_run(through: u64) -> Self {
        LinkId(Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("kinship/linkage-run/{through}").as_bytes()))
    }
}

/// Scores are kept in thousandths: events are compared exactly (no floats).
pub fn score_permille(score: f64) -> u16 {
    (score.clamp(0.0, 1.0) * 1000.0).round() as u16
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkState {
    pub id: LinkId,
    pub kind: LinkKind,
    /// For a family proposal, the adult; for identity, either person.
    pub a: PersonId,
    /// For a family proposal, the minor.
    pub b: PersonId,
    pub relation: Option<Relation>,
    pub score: u16,
    pub evidence: Vec<String>,
    pub status: LinkStatus,
    /// Who decided (confirmed, rejected, linked or unlinked) last.
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    /// The family a confirmed tie was recorded in.
    pub family: Option<crate::ids::FamilyId>,
}
pub use crate::decide_link::family_for_link;
