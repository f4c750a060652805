//! One interchange-v1 row: read from CSV or JSON Lines, checked field by
//! field. A row is refused only for what is wrong with the row itself.

use jiff::tz::TimeZone;
use kinship_domain::event::{EncounterRef, RecordDetails};
use kinship_domain::family::{Classification, FamilyKind, Role};
use kinship_domain::name::PersonName;
use kinship_domain::person::{BirthDate, Citizenship, Identity, Sex, SourceRef};
use kinship_domain::time::Instant;
use kinship_domain::{ANumber, Profile};
use serde::Serialize;
use std::sync::Arc;

pub const FIELDS: &[&str] = &[
    "source",
    "record_id",
    "event_id",
    "encountered_at",
    "sector",
    "station",
    "a_number",
    "given_names",
    "family_names",
    "birth_date",
    "birth_date_estimated",
    "sex",
    "citizenship",
    "family_id",
    "family_kind",
    "family_role",
    "classification",
    "us_address",
    "notes",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyClaim {
    pub family: SourceRef,
    pub kind: Option<FamilyKind>,
    pub role: Option<Role>,
}

/// A row that passed every rule of the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub record: SourceRef,
    pub encounter: EncounterRef,
    pub identity: Identity,
    pub family: Option<FamilyClaim>,
    pub details: RecordDetails,
}

/// Raw field values of one row by column name; `extra.` columns keep their
/// names. The names are shared by every row of a file and the values sit in
/// one buffer: a map of owned strings per row was a fifth of the import's
/// instructions.
#[derive(Clone, Debug)]
pub struct Fields {
    names: Arc<[String]>,
    values: csv::StringRecord,
}

impl Fields {
    /// `values[i]` is the value of column `names[i]`.
    pub fn new(names: Arc<[String]>, values: csv::StringRecord) -> Self {
        Self { names, values }
    }

    /// A column's raw value. A name given twice reads its last column, as a
    /// map of the row would.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.names.iter().rposition(|n| n == name)?;
        self.values.get(i)
    }

    /// Every column, in the file's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names.iter().map(String::as_str).zip(self.values.iter())
    }
}

struct Check<'a> {
    fields: &'a Fields,
    line: u64,
    errors: Vec<RowError>,
}

impl Check<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(str::trim).filter(|s| !s.is_empty())
    }
    fn fail(&mut self, field: &str, reason: impl Into<String>) {
        self.errors.push(RowError { line: self.line, field: field.into(), reason: reason.into() });
    }
    fn required(&mut self, name: &str) -> Option<String> {
        let v = self.get(name).map(str::to_string);
        if v.is_none() {
            self.fail(name, "required field is empty or missing");
        }
        v
    }
    fn parsed<T>(&mut self, name: &str, parse: impl Fn(&str) -> Option<T>, expected: &str) -> Option<T> {
        let raw = self.get(name)?.to_string();
        let v = parse(&raw);
        if v.is_none() {
            self.fail(name, format!("{raw:?} is not {expected}"));
        }
        v
    }
}

/// Checks one row. Returns every problem found, not just the first, so that
/// whoever fixes the extract fixes the row once.
pub fn check(fields: &Fields, line: u64, profile: &Profile, assume_tz: Option<&TimeZone>) -> Result<Row, Vec<RowError>> {
    let mut c = Check { fields, line, errors: vec![] };
    let source = c.required("source");
    if let Some(s) = &source
        && !profile.agencies.contains_key(s)
    {
        let known: Vec<&str> = profile.agencies.keys().map(String::as_str).collect();
        c.fail("source", format!("{s:?} is not a declared source; declared: {}", known.join(", ")));
    }
    let record_id = c.required("record_id");
    let event_id = c.get("event_id").map(str::to_string);
    if event_id.is_none() && matches!(source.as_deref(), Some("BP" | "OFO")) {
        c.fail("event_id", "required for BP and OFO records: it says who was apprehended together");
    }
    let at = match c.required("encountered_at") {
        Some(raw) => match Instant::parse(&raw, assume_tz) {
            Ok(i) => Some(i),
            Err(e) => {
                c.fail("encountered_at", e.to_string());
                None
            }
        },
        None => None,
    };
    let a_number = match c.get("a_number").map(str::to_string) {
        Some(raw) => match ANumber::parse(&raw) {
            Ok(a) => Some(a),
            Err(e) => {
                c.fail("a_number", e.to_string());
                None
            }
        },
        None => None,
    };
    let given = fields.get("given_names").unwrap_or("");
    let family = fields.get("family_names").unwrap_or("");
    let name = match PersonName::parse(given, family) {
        Ok(n) => Some(n),
        Err(e) => {
            let field = if given.trim().is_empty() { "given_names" } else { "family_names" };
            c.fail(field, e.to_string());
            // Both may be empty: report the second too.
            if field == "given_names" && family.trim().is_empty() {
                c.fail("family_names", "family_names is empty; write FNU/LNU when the name is not known");
            }
            None
        }
    };
    let birth_date = c.parsed("birth_date", |s| s.parse::<jiff::civil::Date>().ok().filter(|_| s.len() == 10), "a date YYYY-MM-DD");
    let estimated = c
        .parsed(
            "birth_date_estimated",
            |s| match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            "true or false",
        )
        .unwrap_or(false);
    if let (Some(b), Some(at)) = (birth_date, &at)
        && b > at.local_date()
    {
        c.fail("birth_date", format!("{b} is after the encounter ({})", at.local_date()));
    }
    let sex = c.parsed("sex", Sex::parse, "one of M, F, X, U");
    let citizenship = c.parsed("citizenship", Citizenship::parse, "an ISO 3166-1 alpha-3 code such as MEX or GTM");
    let family_id = c.get("family_id").map(str::to_string);
    let kind = c.parsed("family_kind", FamilyKind::parse, "UNIT or GROUP");
    let role = c.parsed("family_role", Role::parse, "a family role (FATHER, MOTHER, LEGAL_GUARDIAN, SON, DAUGHTER, CHILD, ...)");
    if family_id.is_none() {
        if c.get("family_kind").is_some() {
            c.fail("family_kind", "given without family_id: say which family");
        }
        if c.get("family_role").is_some() {
            c.fail("family_role", "given without family_id: say which family");
        }
    }
    let classification = c.parsed(
        "classification",
        Classification::parse,
        "a classification (SINGLE_ADULT, FAMILY_UNIT_MEMBER, FAMILY_GROUP_MEMBER, UAC, ACCOMPANIED_MINOR)",
    );
    // Sorted by name (and one value per name, the last), as they always were:
    // a record's details compare equal whatever the column order.
    let mut extra: Vec<(String, String)> = vec![];
    for (k, v) in fields.iter().filter(|(k, _)| !FIELDS.contains(k)) {
        let k = k.strip_prefix("extra.").unwrap_or(k);
        extra.retain(|(e, _)| e != k);
        if !v.trim().is_empty() {
            extra.push((k.to_string(), v.to_string()));
        }
    }
    extra.sort_by(|a, b| a.0.cmp(&b.0));
    let details = RecordDetails {
        classification,
        us_address: c.get("us_address").map(str::to_string),
        notes: c.get("notes").map(str::to_string),
        extra,
    };
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let (Some(source), Some(record_id), Some(at), Some(name)) = (source, record_id, at, name) else {
        return Err(vec![RowError { line, field: "*".into(), reason: "row incomplete".into() }]);
    };
    let key = match &event_id {
        Some(e) => format!("{source}:{e}"),
        None => format!("{source}#{record_id}"),
    };
    let encounter = EncounterRef { key, at, sector: c.get("sector").map(str::to_string), station: c.get("station").map(str::to_string) };
    let family = family_id.map(|id| FamilyClaim { family: SourceRef { source: source.clone(), record_id: id }, kind, role });
    Ok(Row {
        line,
        record: SourceRef { source, record_id },
        encounter,
        identity: Identity { name, birth: birth_date.map(|date| BirthDate { date, estimated }), sex, citizenship, a_number },
        family,
        details,
    })
}
