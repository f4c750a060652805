//! What queries return. Plain data, serialisable for `--json`.

use jiff::civil::Date;
use kinship_domain::{FamilyId, PersonId, person::SourceRef};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustodyNow {
    /// `in_custody`, `released` or `removed`; `none` if never booked.
    pub status: String,
    pub agency: Option<String>,
    pub facility: Option<String>,
    pub since: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MembershipView {
    pub family: FamilyId,
    pub kind: String,
    pub role: String,
    pub status: String,
    pub is_lead: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonView {
    pub id: PersonId,
    pub given_names: Option<String>,
    pub family_names: Option<String>,
    pub birth_date: Option<String>,
    pub birth_date_estimated: bool,
    pub sex: Option<String>,
    pub citizenship: Option<String>,
    pub a_number: Option<String>,
    pub first_encountered: String,
    pub custody: CustodyNow,
    pub family: Option<MembershipView>,
    pub records: Vec<SourceRef>,
    pub aged_out: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustodyEntry {
    pub position: u64,
    pub at: String,
    /// booked_in, transfer_offered, transfer_accepted, transfer_rejected, released, removed
    pub kind: String,
    pub agency: Option<String>,
    pub facility: Option<String>,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Matches any given name or surname part, case- and accent-insensitively;
    /// every word must match.
    pub name: Option<String>,
    pub min_age: Option<u16>,
    pub max_age: Option<u16>,
    /// Ages are computed on this date.
    pub age_on: Option<Date>,
    pub encountered_from: Option<Date>,
    pub encountered_to: Option<Date>,
    pub family: Option<FamilyId>,
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonBrief {
    pub id: PersonId,
    pub name: String,
    pub birth_date: Option<String>,
    pub a_number: Option<String>,
    pub custody: CustodyNow,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeparatedParent {
    pub person: PersonBrief,
    pub role: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeparatedChild {
    pub child: PersonBrief,
    pub family: FamilyId,
    pub separation: String,
    pub since: String,
    pub reason_code: String,
    pub policy: Option<String>,
    pub review: String,
    pub parents: Vec<SeparatedParent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingView {
    pub id: String,
    pub kind: String,
    pub message: String,
    pub subjects: Vec<String>,
    pub record: Option<SourceRef>,
    pub resolution: Option<String>,
}

/// One row of the `persons` projection as both backends read it (each keeps
/// its own column list and row reader). Turning it into views lives here so
/// the two backends cannot drift apart in what a person looks like.
#[derive(Clone, Debug)]
pub struct PersonRow {
    pub id: String,
    pub given: Option<String>,
    pub family: Option<String>,
    pub birth: Option<String>,
    pub estimated: bool,
    pub sex: Option<String>,
    pub citizenship: Option<String>,
    pub a_number: Option<String>,
    pub first: String,
    pub custody: CustodyNow,
    pub family_id: Option<String>,
    pub aged_out: bool,
}

impl PersonBrief {
    /// A brief from a person's stored columns (names as given, FNU/LNU when unknown).
    pub fn new(
        id: PersonId,
        given: Option<&str>,
        family: Option<&str>,
        birth_date: Option<String>,
        a_number: Option<String>,
        custody: CustodyNow,
    ) -> Self {
        let name = format!("{} {}", given.unwrap_or("FNU"), family.unwrap_or("LNU"));
        PersonBrief { id, name, birth_date, a_number, custody }
    }
}

impl PersonRow {
    /// `id` is the row's id already parsed by the backend.
    pub fn into_brief(self, id: PersonId) -> PersonBrief {
        PersonBrief::new(id, self.given.as_deref(), self.family.as_deref(), self.birth, self.a_number, self.custody)
    }

    pub fn into_view(self, id: PersonId, family: Option<MembershipView>, records: Vec<SourceRef>) -> PersonView {
        PersonView {
            id,
            given_names: self.given,
            family_names: self.family,
            birth_date: self.birth,
            birth_date_estimated: self.estimated,
            sex: self.sex,
            citizenship: self.citizenship,
            a_number: self.a_number,
            first_encountered: self.first,
            custody: self.custody,
            family,
            records,
            aged_out: self.aged_out,
        }
    }
}

/// The custody history's detail for a release, as every backend writes it:
/// a release without a U.S. address is allowed but says so.
pub fn release_detail(us_address: Option<&str>, conditions: Option<&str>) -> String {
    match (us_address, conditions) {
        (Some(a), Some(c)) => format!("address: {a}; conditions: {c}"),
        (Some(a), None) => format!("address: {a}"),
        (None, Some(c)) => format!("no U.S. address; conditions: {c}"),
        (None, None) => "no U.S. address".to_string(),
    }
}
