//! What linkage reads: one record as an agency system wrote it. The caller
//! (the CLI, the server) has already checked the row against the spec.

use jiff::civil::Date;
use kinship_domain::family::Role;
use kinship_domain::person::Sex;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub source: String,
    pub record_id: String,
    /// The encounter: people apprehended together share it.
    pub event_id: Option<String>,
    /// Seconds since the Unix epoch.
    pub encountered_at: i64,
    /// The local calendar date of the encounter (ages are counted on it).
    pub encountered_on: Date,
    pub station: Option<String>,
    /// Nine digits.
    pub a_number: Option<u32>,
    /// As recorded; `None` for FNU.
    pub given: Option<String>,
    /// As recorded; `None` for LNU.
    pub family: Option<String>,
    pub birth: Option<Date>,
    pub birth_estimated: bool,
    pub sex: Option<Sex>,
    pub citizenship: Option<String>,
    pub family_id: Option<String>,
    pub family_role: Option<Role>,
    /// Values of the extra columns compared (`--compare`), in the order given.
    pub extra: Vec<Option<String>>,
}

impl Record {
    /// A record with only the required fields; tests and callers fill in the rest.
    pub fn new(source: &str, record_id: &str, encountered_at: i64, encountered_on: Date) -> Self {
        Self {
            source: source.into(),
            record_id: record_id.into(),
            event_id: None,
            encountered_at,
            encountered_on,
            station: None,
            a_number: None,
            given: None,
            family: None,
            birth: None,
            birth_estimated: false,
            sex: None,
            citizenship: None,
            family_id: None,
            family_role: None,
            extra: vec![],
        }
    }

    /// Whole years of age on the encounter date.
    pub fn age(&self) -> Option<i32> {
        let b = self.birth?;
        let on = self.encountered_on;
        let mut years = i32::from(on.year()) - i32::from(b.year());
        if (on.month(), on.day()) < (b.month(), b.day()) {
            years -= 1;
        }
        Some(years)
    }
}
