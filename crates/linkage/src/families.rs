//! `link families`: adult–minor relationships that no agency recorded.
//!
//! 1. Identity resolution first ([`crate::identities`]): what other agencies
//!    recorded about the same person fills in a missing surname, birth date
//!    or sex.
//! 2. Candidates: an adult and a minor in the same encounter, or at the same
//!    station a few hours apart, whose tie is not already recorded (same
//!    `family_id`).
//! 3. Each candidate is scored with weighted evidence in log-odds: surname
//!    structure for the convention of the family's country (a Latin American
//!    child carries the father's first surname, then the mother's first
//!    surname), fuzzy and frequency-weighted, the age gap as a soft prior,
//!    adjacent A-numbers, how the pair was encountered.
//! 4. Family-level constraints: at most one mother and one father per child
//!    (counting parents already recorded); a parent of one child is likely a
//!    parent of the child's siblings (minors sharing both surnames).
//! 5. The relation is PARENT_CHILD when the parent pattern is the best
//!    explanation, OTHER_RELATIVE when a sibling, aunt, uncle or grandparent
//!    explains the names and ages better.

use crate::identities::{self, IdentityOptions, Progress};
use crate::names::{self, Convention, Surname};
use crate::phonetic;
use crate::record::Record;
use crate::similarity::{edit_distance, jaro_winkler_at_least};
use kinship_domain::family::Role;
use kinship_domain::person::Sex;
use std::collections::HashMap;

mod relative_odds;
use relative_odds::{GapOdds, age_bands, years_at};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Index of the adult's record.
    pub adult: usize,
    /// Index of the minor's record.
    pub minor: usize,
    pub relation: Relation,
    /// Probability-like score in [0, 1].
    pub score: f64,
    /// Why, in words, strongest first; no names or dates of birth.
    pub evidence: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct FamilyOptions {
    pub identity: IdentityOptions,
    /// Candidates scoring below this are not returned.
    pub min_score: f64,
    /// Adults and minors at the same station this many hours apart are
    /// candidates too (a parent processed separately from the child).
    pub station_window_hours: i64,
}

impl Default for FamilyOptions {
    fn default() -> Self {
        Self { identity: IdentityOptions::default(), min_score: 0.5, station_window_hours: 12 }
    }
}

#[derive(Clone, Debug, Default)]
pub struct FamilyStats {
    pub identity_clusters: usize,
    pub filled_from_other_records: usize,
    pub candidate_pairs: usize,
    pub written: usize,
}

/// What is known about a record's person after identity resolution.
#[derive(Clone, Debug, Default)]
struct Person {
    given: Option<String>,
    all: Vec<Surname>,
    paternal: Option<String>,
    maternal: Option<String>,
    convention: Option<Convention>,
    /// Age in days at the encounter, for gaps in years with a fraction.
    born_day: Option<i32>,
    sex: Option<Sex>,
    citizenship: Option<String>,
    filled: bool,
    minor: Option<bool>,
    /// Phonetic keys, computed once: of the paternal and maternal surnames,
    /// of the given name, and of every surname.
    paternal_sound: Option<String>,
    maternal_sound: Option<String>,
    given_sound: Option<String>,
    sounds: Vec<String>,
}

impl Person {
    fn paternal(&self) -> Option<(&str, &str)> {
        self.paternal.as_deref().zip(self.paternal_sound.as_deref())
    }
    fn maternal(&self) -> Option<(&str, &str)> {
        self.maternal.as_deref().zip(self.maternal_sound.as_deref())
    }
    fn given(&self) -> Option<(&str, &str)> {
        self.given.as_deref().zip(self.given_sound.as_deref())
    }
}

fn day_number(d: jiff::civil::Date) -> i32 {
    // Days since 1 January of year 0, close enough for age gaps.
    i32::from(d.year()) * 372 + i32::from(d.month()) * 31 + i32::from(d.day())
}

/// Whole years of age on a date (as [`Record::age`], for a birth date
/// that may come from another record of the person).
fn age_on(birth: jiff::civil::Date, on: jiff::civil::Date) -> i32 {
    let mut years = i32::from(on.year()) - i32::from(birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

fn fill(records: &[Record], cluster_of: &[Option<usize>], clusters: &[identities::Cluster], threads: usize) -> (Vec<Person>, usize) {
    // Each record's person depends only on its own cluster: filled in on the
    // worker threads, in record order.
    let idx: Vec<usize> = (0..records.len()).collect();
    let people: Vec<Person> = crate::par::map(&idx, threads, |&i| {
        let r = &records[i];
        let mates: &[usize] = cluster_of[i].map(|c| clusters[c].records.as_slice()).unwrap_or(&[]);
        let citizenship = r.citizenship.as_deref().or_else(|| mates.iter().find_map(|&m| records[m].citizenship.as_deref()));
        let convention = Convention::for_citizenship(citizenship);
        // The fullest family name among the person's records: a missing
        // second surname in one agency's record is filled from another's.
        let own = r.family.as_deref().map(|f| names::surnames(f, convention)).unwrap_or_default();
        let mut best = own.clone();
        for &m in mates {
            // A name of no more words than the surnames already known cannot
            // hold more surnames: not parsed (most mates, most of the time).
            // Any non-letter separates words, as name folding has it.
            let words = |f: &str| f.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).count();
            if let Some(f) = records[m].family.as_deref().filter(|f| m != i && words(f) > best.all.len()) {
                let s = names::surnames(f, convention);
                if s.all.len() > best.all.len() && (best.all.is_empty() || s.all.iter().any(|x| best.all.iter().any(|y| y.key == x.key))) {
                    best = s;
                }
            }
        }
        // A birth date: the record's own if exact, else another record's exact one.
        let exact = |x: &Record| x.birth.filter(|_| !x.birth_estimated);
        let birth = exact(r)
            .or_else(|| mates.iter().find_map(|&m| exact(&records[m])))
            .or(r.birth)
            .or_else(|| mates.iter().find_map(|&m| records[m].birth));
        let sex = r
            .sex
            .filter(|s| matches!(s, Sex::M | Sex::F))
            .or_else(|| mates.iter().find_map(|&m| records[m].sex.filter(|s| matches!(s, Sex::M | Sex::F))));
        let was_filled = best.all.len() > own.all.len() || (r.birth.is_none() && birth.is_some()) || (r.sex != sex && sex.is_some());
        let age = birth.map(|b| age_on(b, r.encountered_on));
        let minor = match age {
            Some(a) => Some(a < 18),
            None => match r.family_role {
                Some(Role::Son | Role::Daughter | Role::Child | Role::Grandchild) => Some(true),
                Some(Role::Father | Role::Mother | Role::LegalGuardian | Role::Grandparent | Role::Aunt | Role::Uncle) => Some(false),
                _ => None,
            },
        };
        let given = r.given.as_deref().map(names::given_tokens).and_then(|g| g.into_iter().next());
        let mut sounds: Vec<String> = best.all.iter().map(|s| phonetic::key(&s.key)).collect();
        sounds.sort_unstable();
        sounds.dedup();
        Person {
            given_sound: given.as_deref().map(phonetic::key),
            given,
            paternal_sound: best.paternal.as_ref().map(|s| phonetic::key(&s.key)),
            maternal_sound: best.maternal.as_ref().map(|s| phonetic::key(&s.key)),
            sounds,
            paternal: best.paternal.as_ref().map(|s| s.key.clone()),
            maternal: best.maternal.as_ref().map(|s| s.key.clone()),
            all: best.all,
            convention: Some(convention),
            born_day: birth.map(day_number),
            sex,
            citizenship: citizenship.map(str::to_string),
            filled: was_filled,
            minor,
        }
    });
    let filled = people.iter().filter(|p| p.filled).count();
    (people, filled)
}

/// How two surnames agree: exactly, by sound or spelling, or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Agree {
    Exact,
    Fuzzy,
    No,
}

/// `a` and `b` are (name, phonetic key).
fn agree(a: Option<(&str, &str)>, b: Option<(&str, &str)>) -> Option<Agree> {
    let ((a, ka), (b, kb)) = (a?, b?);
    Some(if a == b {
        Agree::Exact
    } else if ka == kb || jaro_winkler_at_least(a, b, 0.92) >= 0.92 || one_typo(a, b) {
        Agree::Fuzzy
    } else {
        Agree::No
    })
}

/// One typing error in a surname of five letters or more. A wrong first
/// letter (KUAREZ for JUAREZ) defeats both Jaro–Winkler's prefix bonus and
/// the phonetic key, but is as common a typing slip as any other.
fn one_typo(a: &str, b: &str) -> bool {
    a.len() >= 5 && b.len() >= 5 && a.len().abs_diff(b.len()) <= 1 && edit_distance(a, b, 1) <= 1
}

fn ordinal(i: usize) -> &'static str {
    match i {
        0 => "first",
        1 => "second",
        2 => "third",
        _ => "later",
    }
}

fn position(p: &Person, key: Option<&str>) -> &'static str {
    key.and_then(|k| p.all.iter().position(|s| s.key == k)).map(ordinal).unwrap_or("first")
}

/// Surname frequencies: agreeing on a rare surname says more.
struct SurnameFreq<'a> {
    counts: HashMap<&'a str, u32>,
    total: f64,
}

impl<'a> SurnameFreq<'a> {
    fn new(people: &'a [Person]) -> Self {
        // Borrowed keys: millions of records, a few thousand surnames.
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for p in people {
            for s in [&p.paternal, &p.maternal].into_iter().flatten() {
                *counts.entry(s.as_str()).or_default() += 1;
            }
        }
        let total = counts.values().map(|&c| f64::from(c)).sum::<f64>().max(1.0);
        Self { counts, total }
    }

    /// Log-odds for agreeing on `s`: 3 for the most common surnames, up to
    /// 4.5 for rare ones. Agreeing on HERNANDEZ says less than on OZUNA.
    fn weight(&self, s: &str) -> f64 {
        let share = f64::from(self.counts.get(s).copied().unwrap_or(1)) / self.total;
        3.0 + ((-share.log10() - 1.5) * 0.6).clamp(0.0, 1.5)
    }
}

/// Weights estimated from the records being linked.
struct Model {
    /// Per record: the frequency weight of its paternal and maternal
    /// surnames, looked up once rather than for every pair.
    surname_weight: Vec<(Option<f64>, Option<f64>)>,
    /// Per record: a minor recorded as someone's son, daughter or child in
    /// a family whose records hold no adult at all (see [`parentless`]).
    parentless: Vec<bool>,
    /// Log-odds of "another relative" over "parent" for each whole-year age
    /// gap, estimated from the families the agencies recorded (see
    /// [`GapOdds`]).
    gap_odds: GapOdds,
}

impl Model {
    fn new(records: &[Record], people: &[Person]) -> Self {
        let freq = SurnameFreq::new(people);
        let w = |s: &Option<String>| s.as_deref().map(|s| freq.weight(s));
        Self {
            surname_weight: people.iter().map(|p| (w(&p.paternal), w(&p.maternal))).collect(),
            parentless: parentless(records, people),
            gap_odds: GapOdds::from_recorded(records, people),
        }
    }
}

/// Log-odds added to a same-event adult outside any recorded family as the
/// parent of a child whose recorded family has no adult in it.
const PARENTLESS_FAMILY: f64 = 1.5;

/// Minors recorded as a son, daughter or child in a family with no adult
/// and no parent's or guardian's role among its records. A child is
/// recorded as someone's son only when the agency saw the parent: such a
/// family lost its parent's record (booked as a single adult, the failure
/// the 2018 audits found), so the parent is most likely another adult of
/// the same encounter.
fn parentless(records: &[Record], people: &[Person]) -> Vec<bool> {
    let mut families: HashMap<(&str, &str), (bool, bool)> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        let Some(f) = r.family_id.as_deref() else { continue };
        let e = families.entry((r.source.as_str(), f)).or_default();
        let as_child = matches!(r.family_role, Some(Role::Son | Role::Daughter | Role::Child)) && people[i].minor == Some(true);
        let adult = people[i].minor != Some(true)
            || matches!(
                r.family_role,
                Some(Role::Father | Role::Mother | Role::LegalGuardian | Role::Grandparent | Role::Aunt | Role::Uncle)
            );
        e.0 |= as_child;
        e.1 |= adult;
    }
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            matches!(r.family_role, Some(Role::Son | Role::Daughter | Role::Child))
                && people[i].minor == Some(true)
                && r.family_id.as_deref().and_then(|f| families.get(&(r.source.as_str(), f))).is_some_and(|&(child, adult)| child && !adult)
        })
        .collect()
}

/// Citizenship as Fellegi–Sunter evidence: `m`, the share of parent–child
/// pairs that share one, and `u`, the share of unrelated adult–minor pairs in
/// one event that do.
struct CitizenshipWeights {
    agree: f64,
    differ: f64,
}

/// Bounds on `m` as estimated from the data. The top bound keeps a
/// difference from vetoing a pair outright (a child born in a transit
/// country — Haitian parents with a Chilean-born child); generated families
/// always share one, so the estimate there sits at this bound.
const CITIZENSHIP_M_MAX: f64 = 0.98;
const CITIZENSHIP_M_MIN: f64 = 0.5;

impl CitizenshipWeights {
    /// `u` is the share among all same-event adult–minor pairs (nearly all
    /// unrelated); `m` the share among the confident parent–child pairs.
    fn new(m: f64, u: f64) -> Self {
        let m = m.clamp(CITIZENSHIP_M_MIN, CITIZENSHIP_M_MAX);
        let u = u.clamp(0.05, 0.9);
        Self { agree: (m / u).ln(), differ: ((1.0 - m) / (1.0 - u)).ln() }
    }
    fn weight(&self, same: Option<bool>) -> f64 {
        match same {
            Some(true) => self.agree,
            Some(false) => self.differ,
            None => 0.0,
        }
    }
}

/// Log-odds of parent–child above which a pair counts as confident when
/// `m` is estimated: about 19 : 1.
const CONFIDENT: f64 = 2.944;

/// How a pair came to be a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    SameEvent,
    SameStation { hours: i64 },
}

struct Scored {
    adult: usize,
    minor: usize,
    /// log-odds of parent–child.
    parent: f64,
    /// log-odds of another relative.
    relative: f64,
    /// Which parent the names say: true = father pattern, false = mother pattern.
    father: Option<bool>,
    ctx: Context,
    /// Same citizenship, different ones, or not known for both.
    citizenship: Option<bool>,
    /// The adult fits the names of the child's siblings too.
    siblings: bool,
    /// The names fit a relative on the "wrong" side: a woman carrying the
    /// child's first surname (a paternal aunt's pattern) or a man carrying
    /// the second (a maternal uncle's), with that surname's weight.
    crossed: Option<(Sex, f64)>,
    /// A crossed man and a crossed woman in one event: the child's two
    /// surnames were written in the other order (see [`CROSSED_PARENTS`]).
    swapped: bool,
    /// No surname in common, but one record has only one of its two
    /// surnames: the pair can still be linked through a sibling.
    incomplete: bool,
    /// Linked through a sibling (see `incomplete`).
    sibling_parent: bool,
    /// Parent of a sibling whose surnames are this child's in the other order.
    sibling_swapped: bool,
    /// Empty unless asked for: words are built only for pairs written.
    evidence: Vec<String>,
}

/// Evidence in words, or nothing: scoring every candidate pair must not
/// format strings for the great majority that are never written.
struct Why(Option<Vec<String>>);

impl Why {
    fn add(&mut self, words: impl FnOnce() -> String) {
        if let Some(v) = &mut self.0 {
            v.push(words());
        }
    }
}

fn score_pair(records: &[Record], people: &[Person], model: &Model, (adult, minor, ctx): (usize, usize, Context), explain: bool) -> Scored {
    let (a, m) = (&people[adult], &people[minor]);
    let (ra, rm) = (&records[adult], &records[minor]);
    let mut ev = Why(explain.then(Vec::new));
    // Log likelihood ratios; the prior is estimated from all candidates later.
    let mut parent = 0.0;
    let mut relative = 0.0;
    match ctx {
        Context::SameEvent => {
            ev.add(|| "same event".into());
        }
        Context::SameStation { hours } => {
            // Many strangers pass through a station in a day: sharing a
            // surname with one of them is weaker evidence than within one group.
            // The station search looks for a parent processed apart from the
            // child; an aunt or cousin hours apart is not worth a reviewer's
            // time, so a station pair is never proposed as another relative.
            parent += STATION_PENALTY;
            relative = f64::NEG_INFINITY;
            ev.add(|| format!("same station, {hours} h apart"));
        }
    }

    // Surname structure.
    let convention = m.convention.unwrap_or(Convention::Hispanic);
    let patronymic = convention == Convention::Patronymic;
    let adult_first = if patronymic { a.given() } else { a.paternal() };
    let father_link = agree(m.paternal(), adult_first);
    let mother_link =
        if matches!(convention, Convention::Hispanic | Convention::MaternalFirst) { agree(m.maternal(), a.paternal()) } else { None };
    let second = agree(m.maternal(), a.maternal()).filter(|x| *x != Agree::No);
    let clan = convention == Convention::Clan;
    let weight = |ag: Agree, full: Option<f64>| -> f64 {
        let full = full.unwrap_or(3.0);
        // A spelling variant: the evidence, less the chance of a near-namesake.
        let w = match ag {
            Agree::Exact => full,
            Agree::Fuzzy => full - 1.0,
            Agree::No => 0.0,
        };
        if clan { w * 0.2 } else { w }
    };
    let gap = match (a.born_day, m.born_day) {
        (Some(ba), Some(bm)) => Some(f64::from(bm - ba) / 372.0),
        _ => None,
    };
    let sex = a.sex;
    let man = sex == Some(Sex::M);
    let woman = sex == Some(Sex::F);
    let mut father = None;
    let mut crossed = None;
    let mut incomplete = false;
    let two_surnames = matches!(convention, Convention::Hispanic | Convention::MaternalFirst);
    let f = father_link.filter(|x| *x != Agree::No);
    let mo = mother_link.filter(|x| *x != Agree::No);
    let eq = |ag: Agree| if ag == Agree::Exact { "=" } else { "≈" };
    let mpos = |k: Option<&str>| position(m, k);
    let apos = |k: Option<&str>| position(a, k);
    let phrase = |ag: Agree, child: Option<&str>| {
        format!("child's {} surname {} adult's {} surname", mpos(child), eq(ag), apos(a.paternal.as_deref()))
    };
    let near_a_numbers = ra.a_number.zip(rm.a_number).is_some_and(|(x, y)| (1..=4).contains(&x.abs_diff(y)));
    match (f, second, mo) {
        (Some(ag), Some(_), _) if !patronymic => {
            // Both surnames shared: a brother or sister; or a single mother
            // who gave the child both of hers. The age gap tells them apart.
            let w = weight(ag, model.surname_weight[minor].0);
            let young = gap.is_some_and(|g| g < 16.0);
            // Brothers and sisters are rarely more than about 22 years apart;
            // a man a generation older who carries both of the child's
            // surnames is more likely the father whose first surname the
            // child carries (the mother's happening to match his second).
            let generation = gap.is_some_and(|g| g > 22.0);
            relative += w + if young {
                2.0
            } else if generation {
                -1.0
            } else {
                0.5
            };
            if man && generation {
                parent += w - 0.5;
                father = Some(true);
                ev.add(|| "both surnames = adult's (a father's first surname, a generation older)".into());
            } else if man {
                parent += 0.5;
                ev.add(|| "both surnames = adult's (a brother's pattern)".into());
            } else {
                parent += if young { 0.0 } else { w - 0.5 };
                father = Some(false);
                ev.add(|| "both surnames = adult's (a single mother's child, or a sibling)".into());
            }
        }
        (Some(ag), _, _) if !woman || patronymic => {
            parent += weight(ag, model.surname_weight[minor].0);
            relative += weight(ag, model.surname_weight[minor].0) - 0.5;
            father = Some(true);
            if patronymic {
                ev.add(|| format!("child's family name {} adult's given name (patronymic)", eq(ag)));
            } else {
                ev.add(|| phrase(ag, m.paternal.as_deref()));
            }
        }
        (Some(_), _, Some(ag)) if m.maternal.is_some() => {
            // A woman whose first surname is the child's second surname too
            // (the child's two surnames are the same, or the absent father's
            // happens to be hers): the mother's pattern holds, and it says
            // more than the aunt's pattern the first surname alone would.
            parent += weight(ag, model.surname_weight[minor].1);
            relative += weight(ag, model.surname_weight[minor].1) - 0.5;
            father = Some(false);
            ev.add(|| phrase(ag, m.maternal.as_deref()));
        }
        (Some(ag), _, _) => {
            let w = weight(ag, model.surname_weight[minor].0);
            if m.maternal.is_none() {
                // A single surname, the woman's first: a single mother's child.
                parent += w - 0.5;
                relative += w - 1.0;
                father = Some(false);
                ev.add(|| format!("{} (the child has only the mother's surname)", phrase(ag, m.paternal.as_deref())));
            } else {
                // A woman sharing the father's surname: a paternal aunt or grandmother.
                relative += w;
                parent += 0.5;
                crossed = Some((Sex::F, w));
                ev.add(|| format!("{} (father's side)", phrase(ag, m.paternal.as_deref())));
            }
        }
        (None, _, Some(ag)) if !man => {
            parent += weight(ag, model.surname_weight[minor].1);
            relative += weight(ag, model.surname_weight[minor].1) - 0.5;
            father = Some(false);
            ev.add(|| phrase(ag, m.maternal.as_deref()));
        }
        (None, _, Some(ag)) => {
            // A man sharing the mother's surname: a maternal uncle or grandfather.
            relative += weight(ag, model.surname_weight[minor].1);
            parent += 0.5;
            crossed = Some((Sex::M, weight(ag, model.surname_weight[minor].1)));
            ev.add(|| format!("{} (mother's side)", phrase(ag, m.maternal.as_deref())));
        }
        _ => {
            let known = m.paternal.is_some() && a.paternal.is_some();
            // Any surname in common, in other places: a looser tie.
            let any = known && m.all.iter().any(|x| a.all.iter().any(|y| y.key == x.key));
            if any {
                relative += 2.0;
                ev.add(|| "a surname in common".into());
            } else if known && convention == Convention::SingleSurname && woman && m.all.len() == 1 && near_a_numbers {
                // One inherited surname, the father's: a mother keeps her own,
                // so no surname in common is what a mother looks like too. Only
                // with the records processed in sequence (the HHS analysts'
                // adjacent A-numbers), since the names say nothing.
                parent += SINGLE_SURNAME_MOTHER;
                relative -= 3.0;
                father = Some(false);
                ev.add(|| "no surname in common (one inherited surname: a mother keeps her own)".into());
            } else if known && two_surnames && (m.maternal.is_none() || a.maternal.is_none()) {
                // One of the two records kept a single surname where the
                // convention gives two: the missing one may be the link.
                parent -= 1.5;
                relative -= 1.5;
                incomplete = true;
                ev.add(|| "no surname in common (one record has only one of its two surnames)".into());
            } else if known {
                parent -= 3.0;
                relative -= 3.0;
                ev.add(|| "no surname in common".into());
            }
        }
    }
    if sex.is_none() && f.is_some() && mo.is_some() {
        father = None; // the names fit either parent and the sex is unknown
    }

    // Age gap: a soft prior, not a rule.
    if let Some(gap) = gap {
        ev.add(|| format!("age gap {:.0} y", gap));
        // The parent's weight from the fixed bands; the relative's from the
        // same, moved by what the recorded families say about relatives'
        // and parents' gaps (the same as the bands when few are recorded).
        let (p, _) = age_bands(gap);
        parent += p;
        // `gap` is known, so the adult's birth is.
        let adult_age = a.born_day.map_or(0, |b| years_at(b, ra.encountered_on));
        relative += p + model.gap_odds.relative_over_parent(gap, adult_age, sex);
    }

    // A-numbers handed out in sequence at processing.
    if let (Some(x), Some(y)) = (ra.a_number, rm.a_number) {
        let d = i64::from(x).abs_diff(i64::from(y));
        if (1..=4).contains(&d) {
            parent += 0.6 - 0.1 * d as f64;
            relative += 0.3;
            ev.add(|| format!("A-numbers {d} apart"));
        }
    }
    // Citizenship: parents and children mostly share it (not always: a
    // child born on the way north), strangers in one group less often.
    // Its weight is added once `m` is estimated from the confident pairs.
    let citizenship = a.citizenship.as_deref().zip(m.citizenship.as_deref()).map(|(x, y)| x == y);
    if citizenship == Some(false) {
        ev.add(|| "different citizenship".into());
    }
    if rm.family_id.is_none() {
        parent += 0.3;
        ev.add(|| "minor in no recorded family".into());
    }
    if model.parentless[minor] && ctx == Context::SameEvent && ra.family_id.is_none() {
        parent += PARENTLESS_FAMILY;
        ev.add(|| "child's recorded family has no adult in it".into());
    }
    if ra.family_id.is_some() && ra.family_id != rm.family_id && ra.source == rm.source {
        // The adult travels in a recorded family that leaves this child out:
        // the agency saw the group and did not count the child in it.
        parent -= 1.0;
        ev.add(|| "adult recorded in another family".into());
    }
    if a.filled || m.filled {
        ev.add(|| "facts completed from another agency's record".into());
    }
    Scored {
        adult,
        minor,
        ctx,
        parent,
        relative,
        father,
        citizenship,
        siblings: false,
        crossed,
        swapped: false,
        incomplete,
        sibling_parent: false,
        sibling_swapped: false,
        evidence: ev.0.unwrap_or_default(),
    }
}

const PRIOR_PARENT: f64 = -1.5;

/// Log-odds for a woman who shares no surname with a child of a
/// single-surname convention, A-numbers in sequence: a mother keeps her own
/// surname, so this is what a mother looks like, slightly less often than a
/// stranger does.
const SINGLE_SURNAME_MOTHER: f64 = -0.3;

/// What a parent pattern loses when it holds only with the child's two
/// surnames in the other order: the surname's weight less this.
const CROSSED_PARENTS: f64 = 1.0;

/// Log-odds added to an adult confidently the parent of a sibling (a minor
/// of the same event sharing a surname) of a child whose record lost the
/// surname that would link them.
const SIBLINGS_PARENT: f64 = 2.5;

/// Parent log-odds (after the prior and citizenship) above which a pair
/// lends its parent to the child's siblings: about 3 : 1.
const SIBLING_CONFIDENT: f64 = 1.0;

/// Log-odds taken off a pair met at the same station in different events.
const STATION_PENALTY: f64 = -4.5;

/// The most a pair's parent log-odds can gain outside the surname and
/// citizenship evidence: age gap (0.7), A-numbers one apart (0.5), minor in
/// no recorded family (0.3), fitting the child's siblings (0.5).
const MAX_OTHER_EVIDENCE: f64 = 2.0;

/// Can an adult met at the same station, `gap` years older than the minor,
/// be the parent the searched surname points to? The searched surname is the
/// minor's first (`paternal_key`) or second surname; the adult carries it
/// as a first surname.
///
/// A father shares the child's first surname and a mother the second (or
/// the first, when the child has only hers); a woman with the child's first
/// surname beside another second surname, or a man with the second, is an
/// aunt's or uncle's pattern, and outside 15–52 years the age prior alone
/// keeps a station pair below any useful score.
fn station_parent_possible(paternal_key: bool, minor_has_second: bool, adult_sex: Option<Sex>, gap: Option<f64>) -> bool {
    let sex_fits = match (paternal_key, adult_sex) {
        (true, Some(Sex::F)) => !minor_has_second,
        (false, Some(Sex::M)) => false,
        _ => true,
    };
    sex_fits && gap.is_none_or(|g| (15.0..=52.0).contains(&g))
}
const PRIOR_RELATIVE: f64 = -2.0;

/// The log-odds of a probability, kept finite at 0 and 1.
fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Pairs already recorded as one family are not proposed again.
fn recorded(ra: &Record, rm: &Record) -> bool {
    ra.source == rm.source && ra.family_id.is_some() && ra.family_id == rm.family_id
}

/// Same-event pairs in an event with more adult–minor pairs than this are
/// only scored when the two share a surname's sound (or the patronymic's):
/// a surge-size group of hundreds of strangers would otherwise cost
/// adults × minors scorings for pairs that cannot reach any useful score.
pub const LARGE_EVENT_PAIRS: usize = 4_096;

/// The adult–minor pairs of one event worth scoring, not already recorded.
fn event_pairs(records: &[Record], people: &[Person], members: &[usize], out: &mut Vec<(usize, usize, Context)>) {
    let adults: Vec<usize> = members.iter().copied().filter(|&i| people[i].minor == Some(false)).collect();
    let minors: Vec<usize> = members.iter().copied().filter(|&i| people[i].minor == Some(true)).collect();
    let mut push = |a: usize, m: usize| {
        if !recorded(&records[a], &records[m]) {
            out.push((a, m, Context::SameEvent));
        }
    };
    if adults.len() * minors.len() <= LARGE_EVENT_PAIRS {
        for &a in &adults {
            for &m in &minors {
                push(a, m);
            }
        }
        return;
    }
    // Index the adults by the sound of each surname and of the given name
    // (a patronymic child's family name is the father's given name).
    let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, &a) in adults.iter().enumerate() {
        let p = &people[a];
        for key in p.sounds.iter().chain(p.given_sound.as_ref()) {
            by_key.entry(key.as_str()).or_default().push(k);
        }
    }
    let mut seen = vec![false; adults.len()];
    for &m in &minors {
        let mut hits: Vec<usize> = people[m].sounds.iter().filter_map(|k| by_key.get(k.as_str())).flatten().copied().collect();
        hits.sort_unstable();
        hits.dedup();
        for &k in &hits {
            if !seen[k] {
                seen[k] = true;
                push(adults[k], m);
            }
        }
        for &k in &hits {
            seen[k] = false;
        }
    }
}

pub fn link(records: &[Record], opts: &FamilyOptions, progress: Progress) -> (Vec<Candidate>, FamilyStats) {
    let ids = identities::link(records, 0, &opts.identity, progress);
    progress("families: fill from other records", 0, records.len() as u64);
    let (people, filled) = fill(records, &ids.cluster_of, &ids.clusters, opts.identity.threads);
    let mut stats = FamilyStats { identity_clusters: ids.clusters.len(), filled_from_other_records: filled, ..Default::default() };

    progress("families: candidates", 0, records.len() as u64);
    // Same encounter.
    let mut events: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(e) = r.event_id.as_deref() {
            events.entry((r.source.as_str(), e)).or_default().push(i);
        }
    }
    let mut event_list: Vec<Vec<usize>> = events.into_values().collect();
    event_list.sort_unstable_by_key(|v| v[0]);
    // Citizenship's u: the share of same-event adult–minor pairs that agree,
    // counted per citizenship (adults × minors of each), not pair by pair.
    let (mut cit_agree, mut cit_known) = (0u64, 0u64);
    for members in &event_list {
        let mut adults: HashMap<&str, u64> = HashMap::new();
        let mut minors: HashMap<&str, u64> = HashMap::new();
        for &i in members {
            if let Some(c) = people[i].citizenship.as_deref() {
                match people[i].minor {
                    Some(false) => *adults.entry(c).or_default() += 1,
                    Some(true) => *minors.entry(c).or_default() += 1,
                    None => {}
                }
            }
        }
        cit_known += adults.values().sum::<u64>() * minors.values().sum::<u64>();
        cit_agree += adults.iter().map(|(c, n)| n * minors.get(c).copied().unwrap_or(0)).sum::<u64>();
    }
    let citizenship_u = if cit_known == 0 { 0.5 } else { cit_agree as f64 / cit_known as f64 };
    let model = Model::new(records, &people);
    // The most citizenship can add, for the early cut below.
    let citizenship_max = CitizenshipWeights::new(1.0, citizenship_u).agree;

    // Same station, different encounters, hours apart: a parent processed
    // apart from the child. Only an adult whose first surname is one of the
    // minor's can be a candidate, so adults are indexed by (station, first
    // surname) and searched in a time window: a busy station's thousands of
    // strangers are never paired one by one. A surname too common to lift a
    // station pair to `min_score` even with every other piece of evidence
    // (its frequency weight is the most the surname can add) is not searched
    // at all, and adults of the wrong sex or age for the parent the surname
    // points to are passed over (`station_parent_possible`).
    let min_logit = logit(opts.min_score);
    let station_max = STATION_PENALTY + PRIOR_PARENT + MAX_OTHER_EVIDENCE + citizenship_max;
    let mut station_pairs: Vec<(usize, usize, Context)> = Vec::new();
    let window = opts.station_window_hours * 3600;
    let mut adults: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let (Some(st), Some(_), Some(s1), Some(false)) =
            (r.station.as_deref(), r.event_id.as_deref(), people[i].paternal.as_deref(), people[i].minor)
        {
            adults.entry((st, s1)).or_default().push(i);
        }
    }
    for list in adults.values_mut() {
        list.sort_unstable_by_key(|&i| (records[i].encountered_at, i));
    }
    for (m, rm) in records.iter().enumerate() {
        let (Some(st), Some(_), Some(true)) = (rm.station.as_deref(), rm.event_id.as_deref(), people[m].minor) else {
            continue;
        };
        let pm = &people[m];
        let keys = [(pm.paternal.as_deref(), model.surname_weight[m].0), (pm.maternal.as_deref(), model.surname_weight[m].1)];
        for (k, (key, weight)) in keys.iter().enumerate() {
            let Some(key) = key else { continue };
            if k == 1 && keys[0].0 == Some(key) {
                continue;
            }
            if station_max + weight.unwrap_or(3.0) < min_logit {
                continue;
            }
            let Some(list) = adults.get(&(st, key)) else { continue };
            let t = rm.encountered_at;
            let lo = list.partition_point(|&i| records[i].encountered_at < t - window);
            let hi = list.partition_point(|&i| records[i].encountered_at <= t + window);
            for &a in &list[lo..hi] {
                let ra = &records[a];
                let gap = people[a].born_day.zip(pm.born_day).map(|(ba, bm)| f64::from(bm - ba) / 372.0);
                if ra.event_id != rm.event_id
                    && !recorded(ra, rm)
                    && station_parent_possible(k == 0, pm.maternal.is_some(), people[a].sex, gap)
                {
                    let hours = (ra.encountered_at - rm.encountered_at).abs() / 3600;
                    station_pairs.push((a, m, Context::SameStation { hours }));
                }
            }
        }
    }

    progress("families: score", 0, event_list.len() as u64);
    // Candidates that cannot reach `min_score` are dropped as soon as they
    // are scored (the later adjustments add at most 0.5 to a parent's
    // log-odds), so memory follows the output, not the candidate count.
    // Events are scored one at a time, so the pairs are never all held.
    let floor = min_logit - 0.5 - citizenship_max;
    let keep = |s: &Scored| {
        s.parent + PRIOR_PARENT + if s.incomplete { SIBLINGS_PARENT } else { 0.0 } >= floor || s.relative + PRIOR_RELATIVE >= floor
    };
    let threads = opts.identity.threads;
    let per_event: Vec<(usize, Vec<Scored>)> = crate::par::map(&event_list, threads, |members| {
        let mut pairs = Vec::new();
        event_pairs(records, &people, members, &mut pairs);
        let kept = pairs.iter().map(|&p| score_pair(records, &people, &model, p, false)).filter(keep).collect();
        (pairs.len(), kept)
    });
    stats.candidate_pairs = station_pairs.len() + per_event.iter().map(|(n, _)| n).sum::<usize>();
    let mut scored: Vec<Scored> = per_event.into_iter().flat_map(|(_, v)| v).collect();
    // In slices, dropping the weak pairs inside the workers: a busy station
    // gives tens of millions of pairs, nearly all far below the floor.
    let slices: Vec<&[(usize, usize, Context)]> = station_pairs.chunks(1024).collect();
    scored.extend(
        crate::par::map(&slices, threads, |slice| {
            slice.iter().map(|&p| score_pair(records, &people, &model, p, false)).filter(keep).collect::<Vec<_>>()
        })
        .into_iter()
        .flatten(),
    );
    drop(slices);
    drop(station_pairs);

    // Priors: most adult–minor pairs in one event are not parent and child
    // (tuned on generated data, seed 1).
    for s in &mut scored {
        s.parent += PRIOR_PARENT;
        s.relative += PRIOR_RELATIVE;
    }
    // Citizenship's m: the share agreeing among the pairs that are confident
    // parent and child, citizenship included; confident pairs and m are
    // re-estimated in turn until they settle (hard EM, from the top bound).
    let mut citizenship_m = CITIZENSHIP_M_MAX;
    for _ in 0..10 {
        let w = CitizenshipWeights::new(citizenship_m, citizenship_u);
        let (mut same, mut known) = (0u32, 0u32);
        for s in &scored {
            if let Some(c) = s.citizenship
                && s.parent + w.weight(s.citizenship) >= CONFIDENT
                && s.parent > s.relative
            {
                known += 1;
                same += u32::from(c);
            }
        }
        let next = if known == 0 { CITIZENSHIP_M_MAX } else { f64::from(same) / f64::from(known) };
        let settled = (next - citizenship_m).abs() < 1e-4;
        citizenship_m = next;
        if settled {
            break;
        }
    }
    let citizenship = CitizenshipWeights::new(citizenship_m, citizenship_u);
    for s in &mut scored {
        let w = citizenship.weight(s.citizenship);
        s.parent += w;
        s.relative += w;
    }

    // A woman with the child's first surname and a man with the second, in
    // the child's own event: a paternal aunt and a maternal uncle travelling
    // together explain it less often than the child's surnames recorded in
    // the other order (a common clerical swap); both become parent-like.
    let mut crossed: HashMap<usize, (bool, bool)> = HashMap::new();
    for s in &scored {
        if let (Some((sex, _)), Context::SameEvent) = (s.crossed, s.ctx) {
            let e = crossed.entry(s.minor).or_default();
            e.0 |= sex == Sex::M;
            e.1 |= sex == Sex::F;
        }
    }
    for s in &mut scored {
        if let (Some((sex, w)), Context::SameEvent) = (s.crossed, s.ctx)
            && crossed.get(&s.minor) == Some(&(true, true))
        {
            s.parent += w - CROSSED_PARENTS;
            s.father = Some(sex == Sex::M);
            s.swapped = true;
        }
    }

    // A child whose record lost a surname shares nothing with the parent
    // that surname came from; a sibling of the same event whose record kept
    // it (the two share a surname) may have that parent confidently. A
    // parent of one is likely a parent of the other.
    let mut parent_of: HashMap<usize, Vec<(usize, bool)>> = HashMap::new();
    for s in &scored {
        if let (Some(f), Context::SameEvent) = (s.father, s.ctx)
            && s.parent > s.relative
            && s.parent >= SIBLING_CONFIDENT
        {
            parent_of.entry(s.adult).or_default().push((s.minor, f));
        }
    }
    // A relative's pattern (a woman with the child's first surname, a man
    // with the second) from an adult who is confidently the parent of a
    // sibling in the same event whose two surnames are this child's in the
    // other order: one of the two records has its surnames swapped.
    for s in &mut scored {
        let (Some((sex, w)), Context::SameEvent, false) = (s.crossed, s.ctx, s.swapped) else { continue };
        let m = &people[s.minor];
        let swapped_sibling = parent_of.get(&s.adult).is_some_and(|kids| {
            kids.iter().any(|&(k, _)| {
                k != s.minor
                    && records[k].event_id == records[s.minor].event_id
                    && m.maternal.is_some()
                    && people[k].paternal == m.maternal
                    && people[k].maternal == m.paternal
            })
        });
        if swapped_sibling {
            s.parent += w - CROSSED_PARENTS;
            s.father = Some(sex == Sex::M);
            s.swapped = true;
            s.sibling_swapped = true;
        }
    }
    for s in &mut scored {
        if !s.incomplete || s.ctx != Context::SameEvent {
            continue;
        }
        let m = &people[s.minor];
        let sibling = parent_of.get(&s.adult).and_then(|kids| {
            kids.iter().find(|&&(k, _)| {
                k != s.minor
                    && records[k].event_id == records[s.minor].event_id
                    && people[k].all.iter().any(|x| m.all.iter().any(|y| y.key == x.key))
            })
        });
        if let Some(&(_, f)) = sibling {
            s.parent += SIBLINGS_PARENT;
            s.father = Some(f);
            s.sibling_parent = true;
        }
    }

    // Siblings (minors of one event sharing both surnames) share parents:
    // an adult who fits the names of several siblings is more likely a parent.
    let mut fits: HashMap<(usize, Option<&str>, Option<&str>), u32> = HashMap::new();
    for s in &scored {
        if s.father.is_some() {
            let m = &people[s.minor];
            *fits.entry((s.adult, m.paternal.as_deref(), m.maternal.as_deref())).or_default() += 1;
        }
    }
    for s in &mut scored {
        let m = &people[s.minor];
        if s.father.is_some()
            && m.maternal.is_some()
            && fits.get(&(s.adult, m.paternal.as_deref(), m.maternal.as_deref())).copied().unwrap_or(0) > 1
        {
            s.parent += 0.5;
            s.siblings = true;
        }
    }

    // At most one father and one mother per child, counting recorded ones.
    let mut recorded_parent: HashMap<(usize, bool), bool> = HashMap::new();
    let mut family_members: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(f) = r.family_id.as_deref() {
            family_members.entry((r.source.as_str(), f)).or_default().push(i);
        }
    }
    for members in family_members.values() {
        for &m in members {
            if people[m].minor != Some(true) {
                continue;
            }
            for &a in members {
                match records[a].family_role {
                    Some(Role::Father) => {
                        recorded_parent.insert((m, true), true);
                    }
                    Some(Role::Mother) => {
                        recorded_parent.insert((m, false), true);
                    }
                    _ => {}
                }
            }
        }
    }
    let mut best: HashMap<(usize, bool), (f64, usize)> = HashMap::new();
    for (k, s) in scored.iter().enumerate() {
        if let Some(f) = s.father
            && s.parent > s.relative
        {
            let e = best.entry((s.minor, f)).or_insert((f64::NEG_INFINITY, usize::MAX));
            if s.parent > e.0 {
                *e = (s.parent, k);
            }
        }
    }
    progress("families: explain", 0, scored.len() as u64);
    let mut out = Vec::new();
    for (k, s) in scored.iter().enumerate() {
        let mut parent = s.parent;
        let mut after: Vec<String> = Vec::new();
        if s.siblings {
            after.push("fits the child's siblings too".into());
        }
        if s.sibling_parent {
            after.push("a likely parent of the child's sibling in this event".into());
        }
        if s.sibling_swapped {
            after.push("a likely parent of a sibling in this event whose surnames are the child's in the other order".into());
        } else if s.swapped {
            after.push("the child's surnames fit a father and a mother of this event in the other order".into());
        }
        if let Some(f) = s.father {
            let role = if f { "father" } else { "mother" };
            if recorded_parent.contains_key(&(s.minor, f)) {
                parent -= 4.0;
                after.push(format!("child already has a recorded {role}"));
            } else if best.get(&(s.minor, f)).is_some_and(|&(_, b)| b != k) {
                // A second man with the father's surname is more likely an
                // uncle or grandfather than a second father.
                parent -= 6.0;
                after.push(format!("another adult fits better as the {role}"));
            }
        }
        let (relation, logit) = if parent >= s.relative { (Relation::ParentChild, parent) } else { (Relation::OtherRelative, s.relative) };
        let score = logistic(logit);
        if score >= opts.min_score {
            // Words only now, for a pair that is written.
            let mut evidence = score_pair(records, &people, &model, (s.adult, s.minor, s.ctx), true).evidence;
            evidence.extend(after);
            out.push(Candidate { adult: s.adult, minor: s.minor, relation, score, evidence });
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.adult.cmp(&b.adult)).then(a.minor.cmp(&b.minor)));
    stats.written = out.len();
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_typo_in_a_longer_surname_is_fuzzy_agreement() {
        let key = |s: &str| phonetic::key(s);
        let (k1, k2) = (key("KUAREZ"), key("JUAREZ"));
        assert_eq!(agree(Some(("KUAREZ", &k1)), Some(("JUAREZ", &k2))), Some(Agree::Fuzzy));
        assert!(one_typo("SANCHEZ", "AANCHEZ") && one_typo("NUNEZ", "NUNES") && one_typo("MORALES", "MORAES"));
        // Short names and two edits are not one typo.
        assert!(!one_typo("RUIZ", "LUIZ") && !one_typo("MUNOZ", "NUNEZ"));
    }

    #[test]
    fn a_station_search_passes_over_aunt_uncle_and_wrong_age_patterns() {
        // The child's first surname: a man, or a woman when it is the
        // child's only surname (a single mother's child).
        assert!(station_parent_possible(true, true, Some(Sex::M), Some(30.0)));
        assert!(!station_parent_possible(true, true, Some(Sex::F), Some(30.0)));
        assert!(station_parent_possible(true, false, Some(Sex::F), Some(30.0)));
        // The child's second surname as the adult's first: a mother, not an uncle.
        assert!(station_parent_possible(false, true, Some(Sex::F), Some(30.0)));
        assert!(!station_parent_possible(false, true, Some(Sex::M), Some(30.0)));
        // Unknown sex or age gap does not rule anyone out.
        assert!(station_parent_possible(false, true, None, None));
        // Too young or a grandparent's age.
        assert!(!station_parent_possible(true, true, Some(Sex::M), Some(12.0)));
        assert!(!station_parent_possible(true, true, Some(Sex::M), Some(60.0)));
    }
}
