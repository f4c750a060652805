//! The linkage worklist as the store answers it, and the rows the linker
//! reads. Plain data; each backend fills it from its own projection tables.

use kinship_domain::{FamilyId, LinkId, PersonId};
use serde::Serialize;

/// Which worklist items to list. Items come best first (highest score, then
/// oldest proposal).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorklistQuery {
    /// `family` or `identity`.
    pub kind: Option<String>,
    /// `proposed`, `confirmed`, `rejected`, `linked` or `unlinked`.
    pub status: Option<String>,
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorklistItem {
    pub id: LinkId,
    pub kind: String,
    pub status: String,
    /// For a family proposal, the adult.
    pub a: PersonId,
    /// For a family proposal, the minor.
    pub b: PersonId,
    /// `PARENT_CHILD` or `OTHER_RELATIVE` (family proposals).
    pub relation: Option<String>,
    /// 0 to 1.
    pub score: f64,
    /// Why, in words, strongest first (no names or birth dates).
    pub evidence: Vec<String>,
    /// An identity link the linker asserted itself (reversible).
    pub automatic: bool,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    /// The family a confirmed tie was recorded in.
    pub family: Option<FamilyId>,
    /// Log position of the proposal.
    pub position: u64,
}

/// One source record of a person, with the person's identity as the store
/// holds it (all their records merged) and the encounter it describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkageRow {
    pub person: PersonId,
    pub source: String,
    pub record_id: String,
    pub encounter_key: String,
    /// RFC 3339 with the local offset.
    pub at: String,
    pub local_date: String,
    pub station: Option<String>,
    pub given: Option<String>,
    pub family: Option<String>,
    pub birth_date: Option<String>,
    pub birth_estimated: bool,
    pub sex: Option<String>,
    pub citizenship: Option<String>,
    pub a_number: Option<String>,
    /// The family the person joined last, if any.
    pub family_id: Option<String>,
}
