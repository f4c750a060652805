//! Events: the facts Kinship records. Nothing is ever deleted; corrections are
//! new events that point (by event id) at what they correct.

use crate::family::{Classification, Establishment, FamilyKind, ReviewDecision, Role};
use crate::ids::{FamilyId, FindingId, LinkId, PersonId, SeparationId, StreamId};
use crate::link::{LinkKind, Relation};
use crate::person::{Citizenship, Identity, SourceRef};
use crate::time::Instant;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where and when a person was encountered. `key` groups the people
/// apprehended together: `BP:<event_id>`, or the record itself when the
/// source has no event (ICE, ORR).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncounterRef {
    pub key: String,
    pub at: Instant,
    pub sector: Option<String>,
    pub station: Option<String>,
}

/// What a source record said besides identity and encounter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RecordDetails {
    pub classification: Option<Classification>,
    pub us_address: Option<String>,
    pub notes: Option<String>,
    /// Columns outside the spec, kept as `extra.<name>`, never dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(String, String)>,
}

/// The custody an agency took at a person's first encounter: the book-in,
/// carried by the person's first event instead of a `BookedIn` of its own
/// (one event less per imported row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Custodian {
    pub agency: String,
    pub facility: Option<String>,
}

/// The family a person's first record places them in: what `JoinedFamily`
/// says, carried by the person's first event (the family's stream gets its
/// `MemberAdded` in the same command).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyLink {
    pub family: FamilyId,
    pub role: Role,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    Person(PersonId),
    Family(FamilyId),
}

/// The events, listed once. `event_variants!(m)` hands the list to the macro
/// `m`, which declares an enum from it: [`Event`] just below, and the
/// store's decoding mirror (a `serde(remote = "Event")` enum that reads a
/// body whose variant is already known, without serde's buffering). One list
/// means the two cannot drift, not even in a field's serde attributes. The
/// types are named as the caller imports them (`PersonId`, `Identity`, …).
#[macro_export]
macro_rules! event_variants {
    ($declare:ident) => {
        $declare! {
            // ---- person stream ----
            PersonRecorded {
                person: PersonId,
                identity: Identity,
                record: SourceRef,
                encounter: EncounterRef,
                details: RecordDetails,
                /// Booked in at the encounter (as a `BookedIn` at `encounter.at`).
                /// Absent in logs written before it existed: they carry a `BookedIn`.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                custody: Option<Custodian>,
                /// Joined this family (as a `JoinedFamily`).
                #[serde(default, skip_serializing_if = "Option::is_none")]
                family: Option<FamilyLink>,
            },
            /// Another record (often another agency's) of a person already known.
            RecordAttached {
                person: PersonId,
                identity: Identity,
                record: SourceRef,
                encounter: EncounterRef,
                details: RecordDetails,
            },
            /// A record's identity or details were corrected; the old values stay in
            /// the event that `corrects` names.
            RecordCorrected {
                person: PersonId,
                record: SourceRef,
                corrects: Uuid,
                reason: String,
                identity: Identity,
                encounter: EncounterRef,
                details: RecordDetails,
                changed: Vec<String>,
                /// The person's identity after the correction: the corrected record
                /// merged with the person's other records, so no record's facts are lost.
                person_identity: Identity,
            },
            BookedIn {
                person: PersonId,
                agency: String,
                facility: Option<String>,
                at: Instant,
            },
            TransferOffered {
                person: PersonId,
                from_agency: String,
                to_agency: String,
                to_facility: Option<String>,
                at: Instant,
                by: String,
            },
            TransferAccepted {
                person: PersonId,
                agency: String,
                facility: Option<String>,
                at: Instant,
                by: String,
            },
            TransferRejected {
                person: PersonId,
                agency: String,
                reason: String,
                at: Instant,
                by: String,
            },
            Released {
                person: PersonId,
                at: Instant,
                us_address: Option<String>,
                conditions: Option<String>,
                by: String,
            },
            Removed {
                person: PersonId,
                at: Instant,
                to_country: Option<Citizenship>,
                by: String,
            },
            JoinedFamily {
                person: PersonId,
                family: FamilyId,
                role: Role,
            },
            /// The person's membership of `family` was withdrawn (the mirror of
            /// `JoinedFamily` on the person's own stream).
            LeftFamily {
                person: PersonId,
                family: FamilyId,
            },
            ReferredForProsecution {
                person: PersonId,
                at: Instant,
                by: String,
            },
            /// A child turned 18 in custody and is now classified as an adult.
            AgedOut {
                person: PersonId,
                on: Date,
                family: Option<FamilyId>,
            },

            // ---- family stream ----
            FamilyFormed {
                family: FamilyId,
                kind: FamilyKind,
                formed_at: Instant,
                /// The id the source recorded (e.g. an FMUA number), if any.
                source_family: Option<SourceRef>,
                by: String,
            },
            MemberAdded {
                family: FamilyId,
                person: PersonId,
                role: Role,
                established: Establishment,
                by: String,
                /// The member also becomes the family's lead (as a `LeadDesignated`).
                #[serde(default, skip_serializing_if = "is_false")]
                lead: bool,
            },
            /// A member's role corrected; points at the event that recorded the old one.
            MembershipCorrected {
                family: FamilyId,
                person: PersonId,
                corrects: Uuid,
                role: Role,
                previous: Role,
                reason: String,
                by: String,
            },
            /// A membership recorded in error, withdrawn; points at the event that
            /// last recorded it (its `MemberAdded` or role correction).
            MembershipWithdrawn {
                family: FamilyId,
                person: PersonId,
                corrects: Uuid,
                role: Role,
                reason: String,
                by: String,
            },
            LeadDesignated {
                family: FamilyId,
                person: PersonId,
                by: String,
            },
            SeparationRecorded {
                family: FamilyId,
                separation: SeparationId,
                members: Vec<PersonId>,
                reason_code: String,
                policy: Option<String>,
                narrative: String,
                approved_by: String,
                recorded_by: String,
                at: Instant,
            },
            SeparationReviewed {
                family: FamilyId,
                separation: SeparationId,
                level: u8,
                decision: ReviewDecision,
                note: Option<String>,
                by: String,
                at: Instant,
            },
            /// A returned separation resubmitted with a corrected reason; points at
            /// the event it corrects.
            SeparationCorrected {
                family: FamilyId,
                separation: SeparationId,
                corrects: Uuid,
                reason_code: String,
                policy: Option<String>,
                narrative: String,
                reason: String,
                by: String,
                at: Instant,
            },
            MembersReunified {
                family: FamilyId,
                members: Vec<PersonId>,
                location: String,
                by: String,
                at: Instant,
            },

            // ---- finding stream ----
            FindingRaised {
                finding: FindingId,
                kind: String,
                subjects: Vec<Subject>,
                message: String,
                record: Option<SourceRef>,
            },
            FindingResolved {
                finding: FindingId,
                resolution: String,
                by: String,
            },

            // ---- link stream (the review worklist) ----
            /// The linker proposes a tie (family) or a sameness (identity) between
            /// two persons, with its score (thousandths) and evidence in words.
            LinkProposed {
                link: LinkId,
                kind: LinkKind,
                a: PersonId,
                b: PersonId,
                relation: Option<Relation>,
                score: u16,
                evidence: Vec<String>,
                by: String,
            },
            /// A reviewer confirmed a family proposal; the family events that record
            /// the tie follow in the same command. `family` is where it was recorded.
            LinkConfirmed {
                link: LinkId,
                family: Option<FamilyId>,
                note: Option<String>,
                by: String,
            },
            LinkRejected {
                link: LinkId,
                reason: String,
                by: String,
            },
            /// Two persons asserted to be one: a reversible assertion, never a merge.
            IdentityLinked {
                link: LinkId,
                a: PersonId,
                b: PersonId,
                /// Asserted by the linker itself (it was sure), not by a reviewer.
                automatic: bool,
                by: String,
            },
            IdentityUnlinked {
                link: LinkId,
                reason: String,
                by: String,
            },
            /// The linker examined the log up to `through` (its cursor).
            LinkageRan {
                run: LinkId,
                through: u64,
                records: u64,
                proposed: u64,
            },
        }
    };
}

/// Declares `Event` from [`event_variants!`]'s list.
macro_rules! declare_event {
    ($( $(#[$vm:meta])* $variant:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? } ),* $(,)?) => {
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum Event {
            $( $(#[$vm])* $variant { $( $(#[$fm])* $field: $ty ),* } ),*
        }
    };
}

event_variants!(declare_event);

impl Event {
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::PersonRecorded { .. } => "PersonRecorded",
            Event::RecordAttached { .. } => "RecordAttached",
            Event::RecordCorrected { .. } => "RecordCorrected",
            Event::BookedIn { .. } => "BookedIn",
            Event::TransferOffered { .. } => "TransferOffered",
            Event::TransferAccepted { .. } => "TransferAccepted",
            Event::TransferRejected { .. } => "TransferRejected",
            Event::Released { .. } => "Released",
            Event::Removed { .. } => "Removed",
            Event::JoinedFamily { .. } => "JoinedFamily",
            Event::LeftFamily { .. } => "LeftFamily",
            Event::ReferredForProsecution { .. } => "ReferredForProsecution",
            Event::AgedOut { .. } => "AgedOut",
            Event::FamilyFormed { .. } => "FamilyFormed",
            Event::MemberAdded { .. } => "MemberAdded",
            Event::MembershipCorrected { .. } => "MembershipCorrected",
            Event::MembershipWithdrawn { .. } => "MembershipWithdrawn",
            Event::LeadDesignated { .. } => "LeadDesignated",
            Event::SeparationRecorded { .. } => "SeparationRecorded",
            Event::SeparationReviewed { .. } => "SeparationReviewed",
            Event::SeparationCorrected { .. } => "SeparationCorrected",
            Event::MembersReunified { .. } => "MembersReunified",
            Event::FindingRaised { .. } => "FindingRaised",
            Event::FindingResolved { .. } => "FindingResolved",
            Event::LinkProposed { .. } => "LinkProposed",
            Event::LinkConfirmed { .. } => "LinkConfirmed",
            Event::LinkRejected { .. } => "LinkRejected",
            Event::IdentityLinked { .. } => "IdentityLinked",
            Event::IdentityUnlinked { .. } => "IdentityUnlinked",
            Event::LinkageRan { .. } => "LinkageRan",
        }
    }

    /// The stream this event belongs to.
    pub fn stream(&self) -> StreamId {
        match self {
            Event::PersonRecorded { person, .. }
            | Event::RecordAttached { person, .. }
            | Event::RecordCorrected { person, .. }
            | Event::BookedIn { person, .. }
            | Event::TransferOffered { person, .. }
            | Event::TransferAccepted { person, .. }
            | Event::TransferRejected { person, .. }
            | Event::Released { person, .. }
            | Event::Removed { person, .. }
            | Event::JoinedFamily { person, .. }
            | Event::LeftFamily { person, .. }
            | Event::ReferredForProsecution { person, .. }
            | Event::AgedOut { person, .. } => StreamId::Person(*person),
            Event::FamilyFormed { family, .. }
            | Event::MemberAdded { family, .. }
            | Event::MembershipCorrected { family, .. }
            | Event::MembershipWithdrawn { family, .. }
            | Event::LeadDesignated { family, .. }
            | Event::SeparationRecorded { family, .. }
            | Event::SeparationReviewed { family, .. }
            | Event::SeparationCorrected { family, .. }
            | Event::MembersReunified { family, .. } => StreamId::Family(*family),
            Event::FindingRaised { finding, .. } | Event::FindingResolved { finding, .. } => StreamId::Finding(*finding),
            Event::LinkProposed { link, .. }
            | Event::LinkConfirmed { link, .. }
            | Event::LinkRejected { link, .. }
            | Event::IdentityLinked { link, .. }
            | Event::IdentityUnlinked { link, .. }
            | Event::LinkageRan { run: link, .. } => StreamId::Link(*link),
        }
    }
}
