//! Commands: requests to change the record. Every command carries a
//! [`crate::CommandMeta`] (actor, idempotency key, time); its fields are typed
//! values that are already valid (parse, don't validate).

use crate::event::{EncounterRef, RecordDetails, Subject};
use crate::family::{Establishment, FamilyKind, ReviewDecision, Role};
use crate::ids::{FamilyId, FindingId, LinkId, PersonId, SeparationId};
use crate::link::{LinkKind, Relation};
use crate::person::{Citizenship, Identity, SourceRef};
use crate::time::Instant;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMember {
    pub person: PersonId,
    pub role: Role,
    pub established: Establishment,
}

/// The family a person's first source record places them in, decided with
/// the record (one command per imported row). The membership is what the
/// source claimed: composition problems become findings, never refusals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyClaim {
    pub family: FamilyId,
    pub role: Role,
    /// Set when this record is the first to name the family: it is formed
    /// by the same command.
    pub form: Option<SourceFamily>,
}

/// A family as a source system recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFamily {
    pub kind: FamilyKind,
    pub formed_at: Instant,
    pub source_family: SourceRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command")]
pub enum Command {
    /// A person seen for the first time: identity, the record that saw them,
    /// the encounter, and (when the agency took custody) the book-in.
    RecordPerson {
        person: PersonId,
        identity: Identity,
        record: SourceRef,
        encounter: EncounterRef,
        details: RecordDetails,
        /// Agency and facility that took custody at the encounter.
        custody: Option<(String, Option<String>)>,
        /// The family the record places the person in (needs `family.form`
        /// as well as `person.record`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        family: Option<FamilyClaim>,
    },
    /// A further record of a known person. When it comes from another agency
    /// that now holds the person, custody moves there (offered and accepted).
    AttachRecord {
        person: PersonId,
        identity: Identity,
        record: SourceRef,
        encounter: EncounterRef,
        details: RecordDetails,
        custody: Option<(String, Option<String>)>,
    },
    CorrectRecord {
        person: PersonId,
        record: SourceRef,
        identity: Identity,
        encounter: EncounterRef,
        details: RecordDetails,
        reason: String,
    },
    /// A complete family, checked as a whole (UNIT composition, ages).
    FormFamily {
        family: FamilyId,
        kind: FamilyKind,
        formed_at: Instant,
        members: Vec<NewMember>,
        lead: PersonId,
    },
    /// A family as a source system recorded it; members arrive one by one
    /// with [`Command::AddMember`]. Composition problems become findings.
    RecordSourceFamily {
        family: FamilyId,
        kind: FamilyKind,
        formed_at: Instant,
        source_family: SourceRef,
    },
    AddMember {
        family: FamilyId,
        member: NewMember,
        /// The membership is what a source system claimed: age/role
        /// mismatches are left to findings instead of being refused.
        source_claim: bool,
    },
    DesignateLead {
        family: FamilyId,
        person: PersonId,
    },
    /// Corrects the role a member was recorded with (a source re-sent the
    /// record with another role, or a mistake is found). The membership
    /// stays; the correction points at the event that recorded the role.
    CorrectMembership {
        family: FamilyId,
        person: PersonId,
        role: Role,
        reason: String,
    },
    /// Withdraws a membership recorded in error (a source re-sent the record
    /// naming another family, or a mistake is found). Nothing is deleted: the
    /// membership stays in the family's history as withdrawn, pointing at the
    /// event that recorded it. Not for separations: a separated member's
    /// membership is corrected through the separation.
    WithdrawMembership {
        family: FamilyId,
        person: PersonId,
        reason: String,
    },
    RecordSeparation {
        family: FamilyId,
        separation: SeparationId,
        members: Vec<PersonId>,
        reason_code: String,
        policy: Option<String>,
        narrative: String,
        approved_by: String,
    },
    ReviewSeparation {
        family: FamilyId,
        separation: SeparationId,
        level: u8,
        decision: ReviewDecision,
        note: Option<String>,
    },
    CorrectSeparation {
        family: FamilyId,
        separation: SeparationId,
        reason_code: String,
        policy: Option<String>,
        narrative: String,
        reason: String,
    },
    Reunify {
        family: FamilyId,
        members: Vec<PersonId>,
        location: String,
    },
    BookIn {
        person: PersonId,
        agency: String,
        facility: Option<String>,
    },
    OfferTransfer {
        person: PersonId,
        to_agency: String,
        to_facility: Option<String>,
    },
    AcceptTransfer {
        person: PersonId,
        facility: Option<String>,
    },
    RejectTransfer {
        person: PersonId,
        reason: String,
    },
    Release {
        person: PersonId,
        us_address: Option<String>,
        conditions: Option<String>,
    },
    Remove {
        person: PersonId,
        to_country: Option<Citizenship>,
    },
    ReferForProsecution {
        person: PersonId,
    },
    /// Reclassify a child who turned 18 in custody.
    RecordAgeOut {
        person: PersonId,
        on: Date,
    },
    RaiseFinding {
        finding: FindingId,
        kind: String,
        subjects: Vec<Subject>,
        message: String,
        record: Option<SourceRef>,
    },
    ResolveFinding {
        finding: FindingId,
        resolution: String,
    },
    /// The linker's proposal. `link` must be [`LinkId::for_pair`] of the
    /// pair, so a pair is proposed once. `assert` (identity only) also
    /// asserts the link at once, visibly and reversibly; family ties are
    /// never acted on without a reviewer.
    ProposeLink {
        link: LinkId,
        kind: LinkKind,
        a: PersonId,
        b: PersonId,
        relation: Option<Relation>,
        score: u16,
        evidence: Vec<String>,
        assert: bool,
    },
    /// A reviewer confirms a proposal. `a` and `b` repeat the proposal's
    /// persons (so their state is loaded and checked); a family tie is
    /// recorded through the family rules with establishment `inferred`.
    ConfirmLink {
        link: LinkId,
        a: PersonId,
        b: PersonId,
        /// The adult's and the minor's roles; by default parent roles follow
        /// sex (MOTHER/FATHER, DAUGHTER/SON/CHILD), others OTHER_RELATIVE.
        adult_role: Option<Role>,
        minor_role: Option<Role>,
        note: Option<String>,
    },
    RejectLink {
        link: LinkId,
        reason: String,
    },
    /// Withdraws an identity link (asserted automatically or by a reviewer).
    UnlinkIdentity {
        link: LinkId,
        reason: String,
    },
    /// The linker's cursor: it has examined the log up to `through`.
    RecordLinkageRun {
        through: u64,
        records: u64,
        proposed: u64,
    },
}

impl Command {
    /// The profile permission a role needs to issue this command. Review
    /// levels take theirs from the profile's `[review]` table.
    pub fn permission<'p>(&self, profile: &'p crate::Profile) -> &'p str {
        match self {
            Command::RecordPerson { .. } | Command::AttachRecord { .. } => "person.record",
            Command::CorrectRecord { .. } => "person.correct",
            Command::FormFamily { .. }
            | Command::RecordSourceFamily { .. }
            | Command::AddMember { .. }
            | Command::CorrectMembership { .. }
            | Command::WithdrawMembership { .. } => "family.form",
            Command::DesignateLead { .. } => "family.lead",
            Command::RecordSeparation { .. } | Command::CorrectSeparation { .. } => "separation.record",
            Command::ReviewSeparation { level, .. } => {
                if *level <= 1 {
                    &profile.review.level1
                } else {
                    &profile.review.level2
                }
            }
            Command::Reunify { .. } => "family.reunify",
            Command::BookIn { .. } | Command::RecordAgeOut { .. } => "custody.book",
            Command::OfferTransfer { .. } | Command::AcceptTransfer { .. } | Command::RejectTransfer { .. } => "custody.transfer",
            Command::Release { .. } => "custody.release",
            Command::Remove { .. } => "custody.remove",
            Command::ReferForProsecution { .. } => "prosecution.refer",
            Command::RaiseFinding { .. } => "finding.raise",
            Command::ResolveFinding { .. } => "finding.resolve",
            Command::ProposeLink { .. } | Command::RecordLinkageRun { .. } => "link.propose",
            Command::ConfirmLink { .. } | Command::RejectLink { .. } | Command::UnlinkIdentity { .. } => "worklist.review",
        }
    }

    /// Persons and families whose state `decide` needs. The app loads these
    /// (and each loaded person's current family) before deciding, and the
    /// store checks none of them changed in between.
    pub fn subjects(&self) -> (Vec<PersonId>, Vec<FamilyId>) {
        match self {
            Command::RecordPerson { person, family: Some(claim), .. } => (vec![*person], vec![claim.family]),
            Command::RecordPerson { person, .. }
            | Command::AttachRecord { person, .. }
            | Command::CorrectRecord { person, .. }
            | Command::BookIn { person, .. }
            | Command::OfferTransfer { person, .. }
            | Command::AcceptTransfer { person, .. }
            | Command::RejectTransfer { person, .. }
            | Command::Release { person, .. }
            | Command::Remove { person, .. }
            | Command::ReferForProsecution { person }
            | Command::RecordAgeOut { person, .. } => (vec![*person], vec![]),
            Command::FormFamily { family, members, .. } => (members.iter().map(|m| m.person).collect(), vec![*family]),
            Command::RecordSourceFamily { family, .. } => (vec![], vec![*family]),
            Command::AddMember { family, member, .. } => (vec![member.person], vec![*family]),
            Command::DesignateLead { family, person }
            | Command::CorrectMembership { family, person, .. }
            | Command::WithdrawMembership { family, person, .. } => (vec![*person], vec![*family]),
            Command::RecordSeparation { family, members, .. } | Command::Reunify { family, members, .. } => {
                (members.clone(), vec![*family])
            }
            Command::ReviewSeparation { family, .. } | Command::CorrectSeparation { family, .. } => (vec![], vec![*family]),
            Command::RaiseFinding { subjects, .. } => {
                let persons = subjects.iter().filter_map(|s| if let Subject::Person(p) = s { Some(*p) } else { None });
                let families = subjects.iter().filter_map(|s| if let Subject::Family(f) = s { Some(*f) } else { None });
                (persons.collect(), families.collect())
            }
            Command::ResolveFinding { .. } => (vec![], vec![]),
            Command::ProposeLink { a, b, .. } | Command::ConfirmLink { a, b, .. } => (vec![*a, *b], vec![]),
            Command::RejectLink { .. } | Command::UnlinkIdentity { .. } | Command::RecordLinkageRun { .. } => (vec![], vec![]),
        }
    }

    /// Link streams whose state `decide` needs.
    pub fn links(&self) -> Vec<LinkId> {
        match self {
            Command::ProposeLink { link, .. }
            | Command::ConfirmLink { link, .. }
            | Command::RejectLink { link, .. }
            | Command::UnlinkIdentity { link, .. } => vec![*link],
            _ => vec![],
        }
    }

    pub fn findings(&self) -> Vec<FindingId> {
        match self {
            Command::RaiseFinding { finding, .. } | Command::ResolveFinding { finding, .. } => vec![*finding],
            _ => vec![],
        }
    }
}

/// Derives an id for something a command creates implicitly (e.g. a finding
/// raised by a release without address), stable under replay and retries.
pub fn derived_id(idempotency_key: &str, n: u32) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("kinship/{idempotency_key}/{n}").as_bytes())
}
