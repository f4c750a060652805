//! Comparing two prepared records field by field. Each field gives a level:
//! 0 means "nothing to compare" (a value is missing) and weighs nothing;
//! 1 is the strongest agreement; the last level is disagreement.

use crate::prep::{Dob, Prep, Prepared, Sym};
use crate::similarity::{edit_distance, jaro_winkler_at_least};

/// Fields in comparison-vector order.
pub const GIVEN: usize = 0;
pub const SURNAME1: usize = 1;
pub const SURNAME2: usize = 2;
pub const BIRTH: usize = 3;
pub const ANUMBER: usize = 4;
pub const SEX: usize = 5;
pub const CITIZENSHIP: usize = 6;
/// Days between the two encounters.
pub const GAP: usize = 7;
pub const FIRST_EXTRA: usize = 8;
/// Four bits per field in a `u64`.
pub const MAX_FIELDS: usize = 16;
pub const MAX_EXTRA: usize = MAX_FIELDS - FIRST_EXTRA;

/// Levels per field (including 0 = missing).
pub fn levels(field: usize) -> usize {
    match field {
        GIVEN => 9,
        SURNAME1 => 8,
        SURNAME2 => 5,
        BIRTH => 7,
        ANUMBER => 4,
        SEX | CITIZENSHIP => 3,
        GAP => 7,
        _ => 5,
    }
}

pub const GIVEN_DISAGREE: u8 = 8;
pub const BIRTH_EXACT: u8 = 1;

pub fn name(field: usize) -> &'static str {
    match field {
        GIVEN => "given names",
        SURNAME1 => "first surname",
        SURNAME2 => "second surname",
        BIRTH => "birth date",
        ANUMBER => "A-number",
        SEX => "sex",
        CITIZENSHIP => "citizenship",
        GAP => "encounter gap",
        _ => "extra column",
    }
}

/// Comparison vector packed four bits per field.
pub type Pattern = u64;

pub fn level(p: Pattern, field: usize) -> u8 {
    ((p >> (4 * field)) & 0xF) as u8
}

pub struct Comparer<'a> {
    pub data: &'a Prepared,
    pub fields: usize,
}

/// Jaro–Winkler results already worked out, by the pair of interned strings,
/// for one run of comparisons over one [`Prepared`] (a few names make up
/// most records, so the same pairs of names come back again and again).
/// A fixed table where a newer pair replaces an older one in its slot: it
/// only saves work and never changes a result.
pub struct Memo {
    slots: Vec<(u64, f64)>,
}

/// Slots in a [`Memo`] (16 bytes each: 1 MiB, about a core's L2).
const MEMO_SLOTS: usize = 1 << 16;
const EMPTY: u64 = u64::MAX;

impl Memo {
    pub fn new() -> Self {
        Self { slots: vec![(EMPTY, 0.0); MEMO_SLOTS] }
    }
    /// No memory: every similarity is computed (one-off comparisons).
    pub fn none() -> Self {
        Self { slots: Vec::new() }
    }
}

impl Default for Memo {
    fn default() -> Self {
        Self::new()
    }
}

impl Comparer<'_> {
    fn s(&self, id: Sym) -> &str {
        self.data.strings.str(id)
    }

    /// Jaro–Winkler where only values of at least 0.80 matter (the lowest level used).
    fn jw(&self, memo: &mut Memo, a: Sym, b: Sym) -> f64 {
        if memo.slots.is_empty() {
            return jaro_winkler_at_least(self.s(a), self.s(b), 0.80);
        }
        let key = (u64::from(a) << 32) | u64::from(b);
        let slot = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize % memo.slots.len();
        let (k, v) = memo.slots[slot];
        if k == key {
            return v;
        }
        let v = jaro_winkler_at_least(self.s(a), self.s(b), 0.80);
        memo.slots[slot] = (key, v);
        v
    }

    pub fn compare(&self, a: &Prep, b: &Prep) -> Pattern {
        self.compare_with(&mut Memo::none(), a, b)
    }

    /// [`Comparer::compare`], remembering string similarities in `memo`
    /// (which must only ever be used with this comparer's data).
    pub fn compare_with(&self, memo: &mut Memo, a: &Prep, b: &Prep) -> Pattern {
        let mut p: Pattern = 0;
        let mut set = |f: usize, l: u8| p |= Pattern::from(l) << (4 * f);
        set(GIVEN, self.given(memo, a, b));
        set(SURNAME1, self.surname1(memo, a, b));
        set(SURNAME2, self.surname2(memo, a, b));
        set(BIRTH, birth(a.dob.as_ref(), b.dob.as_ref()));
        set(ANUMBER, anumber(a.a_number, b.a_number));
        set(
            SEX,
            if a.sex == 0 || b.sex == 0 {
                0
            } else if a.sex == b.sex {
                1
            } else {
                2
            },
        );
        set(
            CITIZENSHIP,
            match (a.citizenship, b.citizenship) {
                (Some(x), Some(y)) => 1 + u8::from(x != y),
                _ => 0,
            },
        );
        set(GAP, gap(a.day, b.day));
        for k in 0..self.fields.saturating_sub(FIRST_EXTRA) {
            let l = match (a.extra.get(k).copied().flatten(), b.extra.get(k).copied().flatten()) {
                (Some(x), Some(y)) => self.extra(memo, k, x, y),
                _ => 0,
            };
            set(FIRST_EXTRA + k, l);
        }
        p
    }

    fn given(&self, memo: &mut Memo, a: &Prep, b: &Prep) -> u8 {
        let (Some(fa), Some(fb)) = (a.g1, b.g1) else {
            return 0;
        };
        if fa == fb {
            // All the given names alike, or only the first.
            return if a.given == b.given { 1 } else { 2 };
        }
        let initial = |x: Sym, y: Sym| {
            let (x, y) = (self.s(x), self.s(y));
            (x.len() == 1 && y.starts_with(x)) || (y.len() == 1 && x.starts_with(y))
        };
        // With one given name each (and the first ones differing) no name is shared.
        let shared = (a.given.len() > 1 || b.given.len() > 1) && a.given.iter().any(|g| b.given.contains(g));
        if shared || initial(fa, fb) {
            return 3;
        }
        if a.given_ph.is_some() && a.given_ph == b.given_ph {
            return 4;
        }
        let jw = self.jw(memo, fa, fb);
        if jw >= 0.92 {
            return 5;
        }
        if jw >= 0.80 {
            return 6;
        }
        if Some(fa) == b.s1 || Some(fb) == a.s1 {
            return 7; // given name and surname written in each other's place
        }
        GIVEN_DISAGREE
    }

    fn surname1(&self, memo: &mut Memo, a: &Prep, b: &Prep) -> u8 {
        let (Some(x), Some(y)) = (a.s1, b.s1) else {
            return 0;
        };
        if x == y {
            return 1;
        }
        if a.s1_ph == b.s1_ph {
            return 2;
        }
        let jw = self.jw(memo, x, y);
        if jw >= 0.92 {
            return 3;
        }
        if Some(x) == b.s2 || Some(y) == a.s2 {
            return 4; // surnames in the other order, or only the maternal one written
        }
        if jw >= 0.80 {
            return 5;
        }
        if a.g1 == Some(y) || b.g1 == Some(x) {
            return 6;
        }
        7
    }

    fn surname2(&self, memo: &mut Memo, a: &Prep, b: &Prep) -> u8 {
        let (Some(x), Some(y)) = (a.s2, b.s2) else {
            return 0;
        };
        if x == y {
            1
        } else if a.s2_ph == b.s2_ph || self.jw(memo, x, y) >= 0.92 {
            2
        } else if Some(x) == b.s1 || Some(y) == a.s1 {
            // Surnames written in the other order (maternal first): the
            // second surname is the other record's first. Its own level, so
            // a full swap weighs as the strong evidence it is rather than as
            // a disagreement (which at millions of records, with the prior
            // of a random pair 4 bits lower than at 50,000, loses the link).
            3
        } else {
            4
        }
    }

    fn extra(&self, memo: &mut Memo, k: usize, x: Sym, y: Sym) -> u8 {
        if x == y {
            return 1;
        }
        if self.data.extra_digits.get(k).copied().unwrap_or(false) {
            match edit_distance(self.s(x), self.s(y), 2) {
                1 => 2,
                2 => 3,
                _ => 4,
            }
        } else {
            let jw = self.jw(memo, x, y);
            if jw >= 0.92 {
                2
            } else if jw >= 0.80 {
                3
            } else {
                4
            }
        }
    }
}

fn birth(a: Option<&Dob>, b: Option<&Dob>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else {
        return 0;
    };
    if a.digits == b.digits {
        return 1;
    }
    let diff = a.digits.iter().zip(&b.digits).filter(|(x, y)| x != y).count();
    // Swapping two neighbouring digits changes exactly two places, so only
    // then is it worth trying every swap (most pairs differ in more).
    let transposed = diff == 2
        && (0..7).any(|i| {
            let mut t = a.digits;
            t.swap(i, i + 1);
            t == b.digits
        });
    let swapped = a.year == b.year && a.month == b.day && a.day == b.month;
    if diff == 1 || transposed || swapped {
        return 2;
    }
    if a.year == b.year && (a.rough || b.rough) {
        return 3;
    }
    if diff == 2 {
        return 4;
    }
    if (a.year - b.year).abs() <= 1 && (a.rough || b.rough || (a.month == b.month && a.day == b.day)) {
        return 5;
    }
    6
}

/// How far apart in time two encounters are. One custody passes a person
/// from Border Patrol to ICE or ORR within days, while two strangers'
/// encounters are spread over the whole file: so the longer the file spans,
/// the more a short gap says, which offsets the smaller prior of a random
/// pair in a larger file. The weights of the bands come from the data (u from
/// random pairs, m by EM), like every other field's.
fn gap(a: i32, b: i32) -> u8 {
    match a.abs_diff(b) {
        0..=1 => 1,
        2..=7 => 2,
        8..=30 => 3,
        31..=90 => 4,
        91..=365 => 5,
        _ => 6,
    }
}

fn anumber(a: Option<u32>, b: Option<u32>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else {
        return 0;
    };
    if a == b {
        return 1;
    }
    let digits = |mut v: u32| {
        let mut d = [0u8; 9];
        for x in d.iter_mut().rev() {
            *x = (v % 10) as u8;
            v /= 10;
        }
        d
    };
    let (da, db) = (digits(a), digits(b));
    let differ = da.iter().zip(&db).filter(|(x, y)| x != y).count();
    let transposed = differ == 2
        && (0..8).any(|i| {
            let mut t = da;
            t.swap(i, i + 1);
            t == db
        });
    if differ == 1 || transposed { 2 } else { 3 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i16, m: i8, day: i8, rough: bool) -> Dob {
        let text = format!("{y:04}{m:02}{day:02}");
        let mut digits = [0u8; 8];
        digits.copy_from_slice(text.as_bytes());
        Dob { digits, year: y, month: m, day, rough }
    }

    #[test]
    fn birth_date_levels() {
        assert_eq!(birth(Some(&d(1990, 3, 4, false)), Some(&d(1990, 3, 4, false))), 1);
        assert_eq!(birth(Some(&d(1990, 3, 4, false)), Some(&d(1990, 4, 3, false))), 2);
        assert_eq!(birth(Some(&d(1990, 3, 4, false)), Some(&d(1990, 3, 5, false))), 2);
        assert_eq!(birth(Some(&d(1990, 1, 1, true)), Some(&d(1990, 7, 15, false))), 3);
        assert_eq!(birth(Some(&d(1990, 3, 4, false)), Some(&d(1975, 11, 20, false))), 6);
        assert_eq!(birth(None, Some(&d(1990, 3, 4, false))), 0);
    }

    #[test]
    fn surnames_in_the_other_order_are_their_own_level() {
        use crate::record::Record;
        let rec = |family: &str| {
            let mut r = Record::new("BP", family, 0, jiff::civil::date(2019, 1, 1));
            r.given = Some("ANA".into());
            r.family = Some(family.into());
            r.citizenship = Some("GTM".into());
            r
        };
        let recs = [rec("PEREZ MORALES"), rec("MORALES PEREZ"), rec("PEREZ LOPEZ")];
        let data = crate::prep::prepare(&recs, 0);
        let cmp = Comparer { data: &data, fields: FIRST_EXTRA };
        let s2 = |a: usize, b: usize| level(cmp.compare(&data.recs[a], &data.recs[b]), SURNAME2);
        assert_eq!(s2(0, 1), 3);
        assert_eq!(s2(0, 2), 4);
        assert_eq!(s2(0, 0), 1);
    }

    #[test]
    fn remembered_similarities_give_the_same_patterns() {
        use crate::record::Record;
        let names = [
            ("MARIA", "PEREZ MORALES"),
            ("MARIO", "PERES MORALES"),
            ("MAYRA", "PARDO"),
            ("JOSE", "HERNANDEZ"),
            ("JOSUE", "HERNANDES LOPEZ"),
        ];
        let recs: Vec<Record> = names
            .iter()
            .map(|(g, f)| {
                let mut r = Record::new("BP", g, 0, jiff::civil::date(2019, 1, 1));
                r.given = Some((*g).into());
                r.family = Some((*f).into());
                r
            })
            .collect();
        let data = crate::prep::prepare(&recs, 0);
        let cmp = Comparer { data: &data, fields: FIRST_EXTRA };
        // A full table, and one slot that every pair of names fights over.
        for mut memo in [Memo::new(), Memo { slots: vec![(EMPTY, 0.0)] }] {
            for _ in 0..2 {
                for a in &data.recs {
                    for b in &data.recs {
                        assert_eq!(cmp.compare_with(&mut memo, a, b), cmp.compare(a, b));
                    }
                }
            }
        }
    }

    #[test]
    fn transpositions_are_found_only_where_two_digits_differ() {
        // Every adjacent swap of a date's digits is level 2, as before the
        // shortcut; so is every one-digit change.
        let base = d(1987, 12, 30, false);
        for i in 0..7 {
            let mut t = base;
            t.digits.swap(i, i + 1);
            if t.digits != base.digits {
                assert_eq!(birth(Some(&base), Some(&t)), 2, "swap at {i}");
            }
        }
        assert_eq!(birth(Some(&base), Some(&d(1978, 12, 30, false))), 2);
        assert_eq!(birth(Some(&base), Some(&d(1987, 12, 13, false))), 4);
        assert_eq!(anumber(Some(123_456_789), Some(123_456_798)), 2);
        assert_eq!(anumber(Some(123_456_789), Some(213_456_789)), 2);
        assert_eq!(anumber(Some(123_456_789), Some(123_456_700)), 3);
    }

    #[test]
    fn encounter_gap_levels() {
        assert_eq!(gap(100, 100), 1);
        assert_eq!(gap(100, 101), 1);
        assert_eq!(gap(100, 93), 2);
        assert_eq!(gap(70, 100), 3);
        assert_eq!(gap(100, 190), 4);
        assert_eq!(gap(465, 100), 5);
        assert_eq!(gap(100, 466), 6);
    }

    #[test]
    fn a_number_levels() {
        assert_eq!(anumber(Some(12_345_678), Some(12_345_678)), 1);
        assert_eq!(anumber(Some(12_345_678), Some(12_345_687)), 2);
        assert_eq!(anumber(Some(12_345_678), Some(98_765_432)), 3);
        assert_eq!(anumber(None, Some(1)), 0);
    }
}
