//! Facts about a person other than the name.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    M,
    F,
    X,
    U,
}

impl Sex {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "M" => Some(Sex::M),
            "F" => Some(Sex::F),
            "X" => Some(Sex::X),
            "U" => Some(Sex::U),
            _ => None,
        }
    }
}

/// ISO 3166-1 alpha-3 code: three ASCII letters, stored upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Citizenship(String);

impl Citizenship {
    pub fn parse(raw: &str) -> Option<Self> {
        let t = raw.trim();
        (t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic())).then(|| Self(t.to_ascii_uppercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Citizenship {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or_else(|| format!("citizenship must be an ISO 3166-1 alpha-3 code, got {value:?}"))
    }
}

impl From<Citizenship> for String {
    fn from(value: Citizenship) -> Self {
        value.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BirthDate {
    pub date: Date,
    /// Agencies often record an estimate as `YYYY-01-01`.
    pub estimated: bool,
}

impl BirthDate {
    /// Whole years of age on `on`.
    pub fn age_on(&self, on: Date) -> i16 {
        let mut years = on.year() - self.date.year();
        if (on.month(), on.day()) < (self.date.month(), self.date.day()) {
            years -= 1;
        }
        years
    }

    /// The day the person turns 18.
    pub fn adult_on(&self) -> Option<Date> {
        self.date.checked_add(jiff::Span::new().years(18)).ok()
    }
}

/// Everything known about who a person is, as one record stated it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: crate::name::PersonName,
    pub birth: Option<BirthDate>,
    pub sex: Option<Sex>,
    pub citizenship: Option<Citizenship>,
    pub a_number: Option<crate::ANumber>,
}

/// A record in a source system: the pair names the record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceRef {
    pub source: String,
    pub record_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn age_counts_whole_years() {
        let b = BirthDate { date: date(2000, 6, 15), estimated: false };
        assert_eq!(b.age_on(date(2018, 6, 14)), 17);
        assert_eq!(b.age_on(date(2018, 6, 15)), 18);
        assert_eq!(b.adult_on(), Some(date(2018, 6, 15)));
    }
}
