//! The one place where what a reader is shown is cut down to their field
//! classes: person records, search results and the separated-children list
//! are all built here, from the full record, class by class. A part of the
//! record that belongs to no class the reader holds is never copied into
//! the answer, so nothing new in a view can leak by default.

use super::Visibility;
use kinship_domain::family::Role;
use kinship_domain::person::{Identity, SourceRef};
use kinship_domain::state::{Custody, Member, PendingTransfer, ReviewState, Separation};
use kinship_domain::time::Instant;
use kinship_domain::visibility::Level;
use kinship_domain::{FamilyId, FamilyState, PersonId, PersonState, Profile};
use kinship_store::{CustodyEntry, CustodyNow, MembershipView, PersonBrief, PersonView, SeparatedChild};
use serde::Serialize;
use std::collections::BTreeMap;

pub const IDENTITY: &str = "identity";
pub const FAMILY: &str = "family";
pub const CUSTODY: &str = "custody";

/// A person's record as one reader may see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonRecord {
    pub id: PersonId,
    /// The field classes this answer contains, with their level.
    pub classes: BTreeMap<String, Level>,
    /// Sensitive classes the reader may see but that were withheld because
    /// the request stated no purpose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custody: Option<CustodyPart>,
    /// Classes made of record columns: class → column → value.
    #[serde(flatten)]
    pub columns: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdentityPart {
    #[serde(flatten)]
    pub identity: Identity,
    pub records: Vec<SourceRef>,
    pub aged_out: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FamilyPart {
    pub family: FamilyId,
    pub kind: kinship_domain::family::FamilyKind,
    pub role: Option<Role>,
    pub lead: Option<PersonId>,
    pub members: Vec<Member>,
    pub separations: Vec<SeparationPart>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeparationPart {
    pub id: kinship_domain::SeparationId,
    pub members: Vec<PersonId>,
    pub reason_code: String,
    pub policy: Option<String>,
    pub narrative: String,
    pub approved_by: String,
    pub recorded_by: String,
    pub at: Instant,
    /// `awaiting level N`, `approved`, or `returned at level N by USER`.
    pub review: String,
    pub reviewers: Vec<String>,
}

impl From<&Separation> for SeparationPart {
    fn from(s: &Separation) -> Self {
        let review = match &s.review {
            ReviewState::AwaitingLevel(n) => format!("awaiting level {n}"),
            ReviewState::Approved => "approved".into(),
            ReviewState::Returned { level, by } => format!("returned at level {level} by {by}"),
        };
        Self {
            id: s.id,
            members: s.members.clone(),
            reason_code: s.reason_code.clone(),
            policy: s.policy.clone(),
            narrative: s.narrative.clone(),
            approved_by: s.approved_by.clone(),
            recorded_by: s.recorded_by.clone(),
            at: s.at.clone(),
            review,
            reviewers: s.reviewers.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustodyPart {
    pub now: Option<Custody>,
    pub pending_transfer: Option<PendingTransfer>,
    pub first_encountered: Instant,
    pub referred_for_prosecution: Option<Instant>,
    pub history: Vec<CustodyEntry>,
}

/// Builds a person's record for a reader. `purpose` unlocks sensitive classes.
pub fn person_record(
    profile: &Profile,
    vis: &Visibility,
    person: &PersonState,
    family: Option<&FamilyState>,
    history: Vec<CustodyEntry>,
    purpose: Option<&str>,
) -> PersonRecord {
    let mut out = PersonRecord {
        id: person.id,
        classes: BTreeMap::new(),
        withheld: vec![],
        identity: None,
        family: None,
        custody: None,
        columns: BTreeMap::new(),
    };
    let has_purpose = purpose.is_some_and(|p| !p.trim().is_empty());
    for (class, def) in &profile.field_classes {
        let Some(level) = vis.level(class) else { continue };
        if def.sensitive && !has_purpose {
            out.withheld.push(class.clone());
            continue;
        }
        out.classes.insert(class.clone(), level);
        match class.as_str() {
            IDENTITY => {
                out.identity = Some(IdentityPart {
                    identity: person.identity.clone(),
                    records: person.records.iter().map(|r| r.record.clone()).collect(),
                    aged_out: person.aged_out,
                })
            }
            FAMILY => {
                out.family = family.map(|f| FamilyPart {
                    family: f.id,
                    kind: f.kind,
                    role: f.member(person.id).map(|m| m.role),
                    lead: f.lead,
                    members: f.members.clone(),
                    separations: f.separations.iter().map(SeparationPart::from).collect(),
                })
            }
            CUSTODY => {
                out.custody = Some(CustodyPart {
                    now: person.custody.clone(),
                    pending_transfer: person.pending_transfer.clone(),
                    first_encountered: person.first_encountered.clone(),
                    referred_for_prosecution: person.referred_for_prosecution.clone(),
                    history: history.clone(),
                })
            }
            _ => {
                let shown: &[String] = if level == Level::Full { &def.columns } else { &def.summary };
                let mut values = BTreeMap::new();
                // Later records win: a correction or a newer agency's record
                // is the current word on a column.
                for r in &person.records {
                    for (col, value) in record_columns(&r.details) {
                        if shown.iter().any(|c| c == col) {
                            values.insert(col.to_string(), value.to_string());
                        }
                    }
                }
                out.columns.insert(class.clone(), values);
            }
        }
    }
    out
}

fn record_columns(d: &kinship_domain::event::RecordDetails) -> impl Iterator<Item = (&str, &str)> {
    let core = [("us_address", d.us_address.as_deref()), ("notes", d.notes.as_deref())];
    core.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).chain(d.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// A search hit as one reader may see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonSummary {
    pub id: PersonId,
    pub classes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<SummaryIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custody: Option<CustodyNow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<MembershipView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SummaryIdentity {
    pub given_names: Option<String>,
    pub family_names: Option<String>,
    pub birth_date: Option<String>,
    pub birth_date_estimated: bool,
    pub sex: Option<String>,
    pub citizenship: Option<String>,
    pub a_number: Option<String>,
    pub records: Vec<SourceRef>,
    pub aged_out: bool,
}

pub fn person_summary(vis: &Visibility, v: PersonView) -> PersonSummary {
    let mut classes = vec![];
    let identity = vis.sees(IDENTITY).then(|| {
        classes.push(IDENTITY.to_string());
        SummaryIdentity {
            given_names: v.given_names,
            family_names: v.family_names,
            birth_date: v.birth_date,
            birth_date_estimated: v.birth_date_estimated,
            sex: v.sex,
            citizenship: v.citizenship,
            a_number: v.a_number,
            records: v.records,
            aged_out: v.aged_out,
        }
    });
    let custody = vis.sees(CUSTODY).then(|| {
        classes.push(CUSTODY.to_string());
        v.custody
    });
    let family = if vis.sees(FAMILY) {
        classes.push(FAMILY.to_string());
        v.family
    } else {
        None
    };
    PersonSummary { id: v.id, classes, identity, custody, family }
}

/// A person in a list, as one reader may see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BriefPart {
    pub id: PersonId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custody: Option<CustodyNow>,
}

fn brief(vis: &Visibility, b: PersonBrief) -> BriefPart {
    let (name, birth_date, a_number) = if vis.sees(IDENTITY) { (Some(b.name), b.birth_date, b.a_number) } else { (None, None, None) };
    BriefPart { id: b.id, name, birth_date, a_number, custody: vis.sees(CUSTODY).then_some(b.custody) }
}

/// One separated child in the list. The list itself is family-class data:
/// only readers who see that class get it at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeparatedChildRow {
    pub child: BriefPart,
    pub family: FamilyId,
    pub separation: String,
    pub since: String,
    pub reason_code: String,
    pub policy: Option<String>,
    pub review: String,
    pub parents: Vec<SeparatedParentRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeparatedParentRow {
    pub person: BriefPart,
    pub role: String,
    pub status: String,
}

pub fn separated_child(vis: &Visibility, s: SeparatedChild) -> SeparatedChildRow {
    SeparatedChildRow {
        child: brief(vis, s.child),
        family: s.family,
        separation: s.separation,
        since: s.since,
        reason_code: s.reason_code,
        policy: s.policy,
        review: s.review,
        parents: s
            .parents
            .into_iter()
            .map(|p| SeparatedParentRow { person: brief(vis, p.person), role: p.role, status: p.status })
            .collect(),
    }
}

/// The classes a list row shows (for the audit record).
pub fn list_classes(vis: &Visibility) -> Vec<String> {
    [FAMILY, IDENTITY, CUSTODY].iter().filter(|c| vis.sees(c)).map(|c| c.to_string()).collect()
}
