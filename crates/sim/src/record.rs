//! Turning a person into a row of one agency's extract, with the errors that
//! system's clerks make at the configured rates.

use crate::names::{self, Culture};
use crate::params::{ErrorRates, Params};
use crate::people::Human;
use crate::rng::Rng;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::BTreeMap;

/// The interchange-v1 columns, in the order the generator writes them.
pub const FIELDS: [&str; 19] = [
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

/// How many times each error was injected, out of how many chances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub injected: u64,
    pub opportunities: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Errors(pub BTreeMap<&'static str, Tally>);

impl Errors {
    /// Rolls for error `kind` at `rate`, counting the chance and the outcome.
    pub fn roll(&mut self, rng: &mut Rng, kind: &'static str, rate: f64) -> bool {
        let hit = rng.chance(rate);
        let t = self.0.entry(kind).or_default();
        t.opportunities += 1;
        if hit {
            t.injected += 1;
        }
        hit
    }
}

/// The family columns of a row.
pub struct FamilyCols<'a> {
    pub id: &'a str,
    pub kind: &'static str,
    pub role: &'static str,
}

/// What a row says about the encounter, besides the person.
pub struct Context<'a> {
    pub source: &'static str,
    pub record_id: &'a str,
    pub event_id: Option<&'a str>,
    pub at: Timestamp,
    pub tz: &'a TimeZone,
    pub sector: Option<&'a str>,
    pub station: &'a str,
    pub family: Option<FamilyCols<'a>>,
    pub classification: &'static str,
    pub us_address: Option<String>,
    pub notes: Option<&'a str>,
}

pub fn time_text(at: Timestamp, tz: &TimeZone, with_offset: bool) -> String {
    let z = at.to_zoned(tz.clone());
    if with_offset { z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string() } else { z.strftime("%Y-%m-%dT%H:%M:%S").to_string() }
}

/// The name as one system records it: accents kept or not, surnames
/// swapped or one missing, a typo, a single name written as FNU.
fn recorded_name(rng: &mut Rng, h: &Human, p: &Params, errors: &mut Errors) -> (String, String) {
    let e: &ErrorRates = &p.errors;
    let mut given = h.name.given.clone();
    let mut surnames = h.name.surnames.clone();
    if h.culture == Culture::Chinese && rng.chance(0.5) {
        given = given.replace(' ', "");
    }
    if surnames.len() >= 2 {
        if errors.roll(rng, "surname_swapped", e.surname_swapped) {
            surnames.swap(0, 1);
        }
        if errors.roll(rng, "surname_missing", e.surname_missing) {
            let drop = if rng.chance(0.8) { 1 } else { 0 };
            surnames.remove(drop);
        }
    }
    let mut family = surnames.join(" ");
    if errors.roll(rng, "typo", e.typo) {
        if rng.chance(0.5) {
            given = names::typo(rng, &given);
        } else {
            family = names::typo(rng, &family);
        }
    }
    if h.name.single_name {
        given = "FNU".into();
    }
    if rng.chance(p.accent_drop) {
        given = names::strip_accents(&given);
        family = names::strip_accents(&family);
    }
    (given, family)
}

fn a_number_text(rng: &mut Rng, a: u64) -> String {
    match rng.below(4) {
        0 => format!("{a:09}"),
        1 => {
            let s = format!("{a:09}");
            format!("A-{}-{}-{}", &s[0..3], &s[3..6], &s[6..9])
        }
        _ => format!("A{a:09}"),
    }
}

/// One digit of the A-number changed.
fn a_number_typo(rng: &mut Rng, a: u64) -> u64 {
    let pos = rng.below(8) as u32; // never the leading digit: stays nine digits
    let p = 10u64.pow(pos);
    let digit = (a / p) % 10;
    let new = (digit + 1 + rng.below(9) as u64) % 10;
    a - digit * p + new * p
}

/// A row for `h` in `ctx`. `other_agency` marks ICE/ORR records (A-numbers
/// re-keyed; ORR spellings) and `orr` the shelter intake.
pub fn row(rng: &mut Rng, h: &Human, ctx: &Context<'_>, p: &Params, errors: &mut Errors, orr: bool) -> [String; 19] {
    let e = &p.errors;
    let (mut given, mut family) = recorded_name(rng, h, p, errors);
    if orr && errors.roll(rng, "orr_spelling", e.orr_spelling) {
        (given, family) = names::respell(rng, &given, &family);
    }
    let estimated = errors.roll(rng, "birth_date_estimated", e.birth_date_estimated);
    let birth = if estimated {
        let shift = if rng.chance(0.3) { rng.range(-1, 1) as i16 } else { 0 };
        let y = h.birth.year() + shift;
        // An estimate never lies after the encounter.
        let max_year = ctx.at.to_zoned(ctx.tz.clone()).year();
        format!("{:04}-01-01", y.min(max_year))
    } else {
        h.birth.to_string()
    };
    let rekeyed = ctx.source == "ICE" || ctx.source == "ORR";
    let a_number = match h.a_number {
        // ORR intake does not always have the A-number.
        Some(_) if orr && rng.chance(0.2) => String::new(),
        Some(a) if rekeyed && errors.roll(rng, "a_number_typo", e.a_number_typo) => {
            let wrong = a_number_typo(rng, a);
            a_number_text(rng, wrong)
        }
        Some(a) => a_number_text(rng, a),
        None => String::new(),
    };
    let with_offset = !errors.roll(rng, "time_without_offset", e.time_without_offset);
    let (fid, kind, role) = match &ctx.family {
        Some(f) => (f.id.to_string(), f.kind.to_string(), f.role.to_string()),
        None => (String::new(), String::new(), String::new()),
    };
    [
        ctx.source.to_string(),
        ctx.record_id.to_string(),
        ctx.event_id.unwrap_or("").to_string(),
        time_text(ctx.at, ctx.tz, with_offset),
        ctx.sector.unwrap_or("").to_string(),
        ctx.station.to_string(),
        a_number,
        given,
        family,
        birth,
        if estimated { "true".into() } else { "false".into() },
        if h.male { "M".into() } else { "F".into() },
        h.citizenship.to_string(),
        fid,
        kind,
        role,
        ctx.classification.to_string(),
        ctx.us_address.clone().unwrap_or_default(),
        ctx.notes.unwrap_or("").to_string(),
    ]
}
