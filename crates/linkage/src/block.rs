//! Blocking: which pairs are compared at all.
//!
//! Tight rules (A-number; surname or given name with the birth date; given
//! name, surname and birth year by sound, the year widened by one either side
//! for an estimated birth date) always run. Loose rules (one or two fields)
//! share one allowance of about `budget` comparisons per record, so small
//! files are compared widely and large ones stay near-linear. A loose rule
//! that would go over the allowance is not dropped at once, because at a
//! million records every loose rule does: it is first split by sex and
//! citizenship (a disagreement on either vetoes a link anyway, so the split
//! loses no pair that could be linked), and if still too costly, each of its
//! blocks is sorted (names by birth date, birth dates by surname sound) and
//! every record is compared with the next `w` records only (a sorted
//! neighbourhood), `w` chosen so the rule fits what is left of the allowance.
//! A block larger than `max_block` records is skipped by the full rules: a
//! value shared by that many records separates nobody, and other rules still
//! see them.

use crate::prep::{Prep, Prepared};

/// FNV-1a over a few numbers: a stable, fast key (not for adversarial input).
fn key(parts: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

type Rule = fn(&Prep) -> Option<u64>;
type KeyFn = Box<dyn Fn(&Prep) -> Option<u64>>;

fn dob(p: &Prep) -> Option<u64> {
    p.dob.map(|d| u64::from_le_bytes(d.digits))
}
fn year(p: &Prep) -> Option<u64> {
    p.dob.map(|d| d.year as u64)
}
fn g1(p: &Prep) -> Option<u64> {
    p.given.first().map(|&g| u64::from(g))
}
fn gph(p: &Prep) -> Option<u64> {
    p.given_ph.map(u64::from)
}

const TIGHT: &[(&str, Rule)] = &[
    ("a_number", |p| p.a_number.map(|a| key(&[1, u64::from(a)]))),
    ("s1+dob", |p| Some(key(&[2, u64::from(p.s1?), dob(p)?]))),
    ("g1+dob", |p| Some(key(&[3, g1(p)?, dob(p)?]))),
    ("g~+s1~+year", |p| Some(key(&[4, gph(p)?, u64::from(p.s1_ph?), year(p)?]))),
    ("s2+dob", |p| Some(key(&[5, u64::from(p.s2?), dob(p)?]))),
    ("g1+s2+year", |p| Some(key(&[6, g1(p)?, u64::from(p.s2?), year(p)?]))),
    ("s1+s2+g~", |p| Some(key(&[7, u64::from(p.s1?), u64::from(p.s2?), gph(p)?]))),
];

/// How a loose rule's blocks are ordered for the sorted neighbourhood: the
/// field the rule does *not* key on, so neighbours are likely the same person.
#[derive(Clone, Copy)]
enum Order {
    BirthDate,
    SurnameSound,
}

const LOOSE: &[(&str, Rule, Order)] = &[
    ("g~+s1~", |p| Some(key(&[10, gph(p)?, u64::from(p.s1_ph?)])), Order::BirthDate),
    ("dob", |p| Some(key(&[11, dob(p)?])), Order::SurnameSound),
    ("s1~+year", |p| Some(key(&[12, u64::from(p.s1_ph?), year(p)?])), Order::BirthDate),
    ("g~+year", |p| Some(key(&[13, gph(p)?, year(p)?])), Order::SurnameSound),
    ("s1", |p| Some(key(&[14, u64::from(p.s1?)])), Order::BirthDate),
    ("g1", |p| Some(key(&[15, g1(p)?])), Order::BirthDate),
    ("s1~+s2~", |p| Some(key(&[16, u64::from(p.s1_ph?), u64::from(p.s2_ph?)])), Order::BirthDate),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleReport {
    pub rule: String,
    /// Pairs the rule emitted (if used) or would have cost (if not).
    pub pairs: u64,
    pub used: bool,
    /// How an over-budget loose rule was narrowed ("" when used whole).
    pub note: String,
}

/// Sorted (key, record) list for one rule.
fn keyed(data: &Prepared, rule: &dyn Fn(&Prep) -> Option<u64>) -> Vec<(u64, u32)> {
    let mut v: Vec<(u64, u32)> = data.recs.iter().enumerate().filter_map(|(i, p)| rule(p).map(|k| (k, i as u32))).collect();
    v.sort_unstable();
    v
}

fn cost(keys: &[(u64, u32)], max_block: usize) -> u64 {
    let mut total = 0u64;
    for block in keys.chunk_by(|a, b| a.0 == b.0) {
        let k = block.len() as u64;
        if block.len() <= max_block {
            total += k * (k - 1) / 2;
        }
    }
    total
}

fn pair(i: u32, j: u32) -> u64 {
    let (a, b) = if i < j { (i, j) } else { (j, i) };
    (u64::from(a) << 32) | u64::from(b)
}

fn emit(keys: &[(u64, u32)], max_block: usize, out: &mut Vec<u64>) {
    for block in keys.chunk_by(|a, b| a.0 == b.0) {
        if block.len() > max_block {
            continue;
        }
        for (x, &(_, i)) in block.iter().enumerate() {
            for &(_, j) in &block[x + 1..] {
                out.push(pair(i, j));
            }
        }
    }
}

/// An estimated birth date is known to about a year: records with the same
/// given-name and surname sounds whose years differ by one are paired when
/// either date is estimated (the same year is the tight rule `g~+s1~+year`).
fn rough_year(data: &Prepared, out: &mut Vec<u64>) -> u64 {
    // (key, probe?, record): a rough record probes the years either side.
    let mut v: Vec<(u64, bool, u32)> = Vec::new();
    for (i, p) in data.recs.iter().enumerate() {
        let (Some(g), Some(s), Some(d)) = (gph(p), p.s1_ph, p.dob) else {
            continue;
        };
        let at = |y: i64| key(&[8, g, u64::from(s), y as u64]);
        v.push((at(i64::from(d.year)), false, i as u32));
        if d.rough {
            v.push((at(i64::from(d.year) - 1), true, i as u32));
            v.push((at(i64::from(d.year) + 1), true, i as u32));
        }
    }
    v.sort_unstable();
    let before = out.len();
    for block in v.chunk_by(|a, b| a.0 == b.0) {
        for &(_, probe, i) in block {
            if probe {
                out.extend(block.iter().filter(|&&(_, pr, j)| !pr && j != i).map(|&(_, _, j)| pair(i, j)));
            }
        }
    }
    (out.len() - before) as u64
}

/// The rule's key refined by sex and citizenship (only records with both).
fn split(p: &Prep, rule: &dyn Fn(&Prep) -> Option<u64>) -> Option<u64> {
    if p.sex == 0 {
        return None;
    }
    Some(key(&[rule(p)?, u64::from(p.sex), u64::from(p.citizenship?)]))
}

/// Position of a record inside a block for the sorted neighbourhood.
fn order_key(data: &Prepared, p: &Prep, order: Order) -> u64 {
    match order {
        Order::BirthDate => p.dob.map_or(u64::MAX, |d| u64::from_be_bytes(d.digits)),
        Order::SurnameSound => p.s1_ph.map_or(u64::MAX, |s| {
            let mut b = [0u8; 8];
            for (x, c) in b.iter_mut().zip(data.strings.str(s).bytes()) {
                *x = c;
            }
            u64::from_be_bytes(b)
        }),
    }
}

/// Pairs of a sorted neighbourhood of width `w` inside every block.
fn window_cost(keys: &[(u64, u32)], w: usize) -> u64 {
    keys.chunk_by(|a, b| a.0 == b.0).map(|b| (0..b.len()).map(|x| (b.len() - x - 1).min(w) as u64).sum::<u64>()).sum()
}

fn emit_window(data: &Prepared, keys: &[(u64, u32)], order: Order, w: usize, out: &mut Vec<u64>) {
    for block in keys.chunk_by(|a, b| a.0 == b.0) {
        let mut recs: Vec<(u64, u32)> = block.iter().map(|&(_, i)| (order_key(data, &data.recs[i as usize], order), i)).collect();
        recs.sort_unstable();
        for (x, &(_, i)) in recs.iter().enumerate() {
            for &(_, j) in recs[x + 1..].iter().take(w) {
                out.push(pair(i, j));
            }
        }
    }
}

/// Candidate pairs `(i, j)` with `i < j`, sorted and unique, packed as
/// `i << 32 | j`; and what each rule cost.
pub fn candidates(data: &Prepared, budget: f64, max_block: usize) -> (Vec<u64>, Vec<RuleReport>) {
    // One budget for all loose rules together: a file of millions gets
    // about `budget` extra comparisons per record, whatever the rule count;
    // a small file (under 250,000 pairs in all) may use most rules.
    let allowance = (budget * data.recs.len() as f64).max(250_000.0);
    within(data, allowance, max_block)
}

/// [`candidates`] with the loose rules' allowance in pairs.
fn within(data: &Prepared, allowance: f64, max_block: usize) -> (Vec<u64>, Vec<RuleReport>) {
    let mut pairs = Vec::new();
    let mut report = Vec::new();
    for (name, rule) in TIGHT {
        let keys = keyed(data, rule);
        report.push(RuleReport { rule: (*name).into(), pairs: cost(&keys, max_block), used: true, note: String::new() });
        emit(&keys, max_block, &mut pairs);
    }
    let c = rough_year(data, &mut pairs);
    report.push(RuleReport { rule: "g~+s1~+year±1".into(), pairs: c, used: true, note: "estimated birth dates".into() });
    let extra_rules: Vec<(String, KeyFn, Order)> = (0..data.extra_digits.len())
        .map(|k| {
            let f: KeyFn = Box::new(move |p: &Prep| p.extra.get(k).copied().flatten().map(|s| key(&[100 + k as u64, u64::from(s)])));
            (format!("extra {}", k + 1), f, Order::BirthDate)
        })
        .collect();
    let loose = LOOSE.iter().map(|(name, rule, order)| ((*name).to_string(), Box::new(*rule) as KeyFn, *order));
    let mut spent = 0.0;
    for (name, rule, order) in loose.chain(extra_rules) {
        let keys = keyed(data, &rule);
        let c = cost(&keys, max_block);
        if spent + c as f64 <= allowance {
            spent += c as f64;
            emit(&keys, max_block, &mut pairs);
            report.push(RuleReport { rule: name, pairs: c, used: true, note: String::new() });
            continue;
        }
        let keys = keyed(data, &|p: &Prep| split(p, &rule));
        let c2 = cost(&keys, max_block);
        if spent + c2 as f64 <= allowance {
            spent += c2 as f64;
            emit(&keys, max_block, &mut pairs);
            report.push(RuleReport { rule: name, pairs: c2, used: true, note: format!("split by sex, citizenship (whole: {c})") });
            continue;
        }
        // The widest neighbourhood that fits what is left; the first rules
        // (the most useful) take it, as they would on a small file.
        let left = allowance - spent;
        let w = (left / keys.len().max(1) as f64).floor() as usize;
        let cw = if w >= 1 { window_cost(&keys, w) } else { 0 };
        if w >= 1 && spent + cw as f64 <= allowance {
            spent += cw as f64;
            emit_window(data, &keys, order, w, &mut pairs);
            report.push(RuleReport { rule: name, pairs: cw, used: true, note: format!("split, then {w} sorted neighbours (whole: {c})") });
        } else {
            report.push(RuleReport { rule: name, pairs: c, used: false, note: "over budget, not used".into() });
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    (pairs, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep;
    use crate::record::Record;
    use jiff::civil::date;
    use kinship_domain::person::Sex;

    fn person(id: usize, given: &str, family: &str, born: (i16, i8, i8), estimated: bool, sex: Sex, cit: &str) -> Record {
        let mut r = Record::new("BP", &format!("R{id}"), 0, date(2019, 5, 1));
        r.given = Some(given.into());
        r.family = Some(family.into());
        r.birth = Some(date(born.0, born.1, born.2));
        r.birth_estimated = estimated;
        r.sex = Some(sex);
        r.citizenship = Some(cit.into());
        r
    }

    fn has(pairs: &[u64], i: u32, j: u32) -> bool {
        pairs.binary_search(&pair(i, j)).is_ok()
    }

    #[test]
    fn an_estimated_birth_year_one_off_is_still_a_candidate() {
        let recs = vec![
            person(0, "MARIA", "OZUNA LOPEZ", (1990, 6, 12), false, Sex::F, "GTM"),
            person(1, "MARIA", "OZUNA", (1991, 1, 1), true, Sex::F, "GTM"),
            // Two years off: not paired by this rule.
            person(2, "MARIA", "OZUNA", (1992, 5, 5), false, Sex::F, "GTM"),
            // Neither date estimated, one year apart: not paired either.
            person(3, "MARIA", "OZUNA PEREZ", (1989, 3, 3), false, Sex::F, "GTM"),
        ];
        let data = prep::prepare(&recs, 0);
        let mut out = Vec::new();
        rough_year(&data, &mut out);
        out.sort_unstable();
        assert!(has(&out, 0, 1));
        assert!(!has(&out, 0, 3));
        assert!(!has(&out, 0, 2));
        // 1 (1991, estimated) and 2 (1992) are one year apart: paired.
        assert!(has(&out, 1, 2));
        assert_eq!(out.len(), 2);
    }

    /// Many records sharing a given name and surname, no other key in
    /// common, plus one of them again with a wrong birth date that only the
    /// name rule `g~+s1~` can find.
    fn namesakes() -> Vec<Record> {
        let mut recs = Vec::new();
        for k in 0..400usize {
            let sex = if k % 2 == 0 { Sex::M } else { Sex::F };
            let year = 1950 + (k / 8) as i16;
            let day = (k % 8 + 1) as i8;
            recs.push(person(k, "JOSE", "HERNANDEZ", (year, 3, day), false, sex, if k % 4 < 2 { "MEX" } else { "GTM" }));
        }
        recs.push(person(400, "JOSE", "HERNANDEZ", (1951, 4, 1), false, Sex::M, "MEX"));
        recs
    }

    fn rule<'a>(report: &'a [RuleReport], name: &str) -> &'a RuleReport {
        report.iter().find(|r| r.rule == name).unwrap_or(&report[0])
    }

    #[test]
    fn a_loose_rule_within_the_allowance_is_used_whole() {
        let data = prep::prepare(&namesakes(), 0);
        let (pairs, report) = within(&data, 100_000.0, 2_000);
        let r = rule(&report, "g~+s1~");
        assert_eq!((r.rule.as_str(), r.pairs, r.used, r.note.as_str()), ("g~+s1~", 401 * 400 / 2, true, ""));
        assert!(has(&pairs, 1, 400)); // even across sex: the rule is whole
    }

    #[test]
    fn an_over_budget_loose_rule_is_split_by_sex_and_citizenship() {
        let recs = namesakes();
        let data = prep::prepare(&recs, 0);
        let (pairs, report) = within(&data, 20_000.0, 2_000);
        let r = rule(&report, "g~+s1~");
        // Four (sex, citizenship) groups of 100, one of 101.
        assert_eq!((r.rule.as_str(), r.pairs, r.used), ("g~+s1~", 3 * (100 * 99 / 2) + 101 * 100 / 2, true));
        assert!(r.note.starts_with("split by sex, citizenship"), "{}", r.note);
        assert!(has(&pairs, 0, 400) && has(&pairs, 396, 400));
        assert!(!has(&pairs, 1, 400) && !has(&pairs, 2, 400));
    }

    #[test]
    fn a_rule_still_over_budget_when_split_keeps_its_sorted_neighbours() {
        let recs = namesakes();
        let data = prep::prepare(&recs, 0);
        let (pairs, report) = within(&data, 5_000.0, 2_000);
        let r = rule(&report, "g~+s1~");
        assert_eq!((r.rule.as_str(), r.used), ("g~+s1~", true));
        assert!(r.note.contains("12 sorted neighbours"), "{}", r.note);
        assert!(r.pairs <= 5_000);
        // 400 (1951-04-01, M, MEX) sorts between 12 (1951-03-05) and 16
        // (1952-03-01) of its group: found; a 1975 namesake is not.
        assert!(has(&pairs, 12, 400) && has(&pairs, 16, 400));
        assert!(!has(&pairs, 200, 400));
        // Different sex or citizenship never meet after the split (the
        // rules after it are over budget and unused).
        assert!(report.iter().filter(|r| r.rule != "g~+s1~" && r.note.contains("neighbours")).all(|r| !r.used));
        let _ = &recs;
    }

    #[test]
    fn nothing_left_means_the_rule_is_not_used() {
        let data = prep::prepare(&namesakes(), 0);
        let (_, report) = within(&data, 100.0, 2_000);
        let r = rule(&report, "g~+s1~");
        assert_eq!((r.used, r.note.as_str()), (false, "over budget, not used"));
    }
}
