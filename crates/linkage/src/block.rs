//! Blocking: which pairs are compared at all.
//!
//! Tight rules (A-number; surname or given name with the birth date; given
//! name, surname and birth year by sound) always run. Loose rules (one or two
//! fields) run in order while all of them together cost at most `budget`
//! comparisons per record, so small files are compared widely and large ones
//! stay near-linear. A block
//! larger than `max_block` records is skipped for that rule: a value shared by
//! that many records separates nobody, and other rules still see them.

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

const LOOSE: &[(&str, Rule)] = &[
    ("g~+s1~", |p| Some(key(&[10, gph(p)?, u64::from(p.s1_ph?)]))),
    ("dob", |p| Some(key(&[11, dob(p)?]))),
    ("s1~+year", |p| Some(key(&[12, u64::from(p.s1_ph?), year(p)?]))),
    ("g~+year", |p| Some(key(&[13, gph(p)?, year(p)?]))),
    ("s1", |p| Some(key(&[14, u64::from(p.s1?)]))),
    ("g1", |p| Some(key(&[15, g1(p)?]))),
    ("s1~+s2~", |p| Some(key(&[16, u64::from(p.s1_ph?), u64::from(p.s2_ph?)]))),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleReport {
    pub rule: String,
    pub pairs: u64,
    pub used: bool,
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

fn emit(keys: &[(u64, u32)], max_block: usize, out: &mut Vec<u64>) {
    for block in keys.chunk_by(|a, b| a.0 == b.0) {
        if block.len() > max_block {
            continue;
        }
        for (x, &(_, i)) in block.iter().enumerate() {
            for &(_, j) in &block[x + 1..] {
                let (a, b) = if i < j { (i, j) } else { (j, i) };
                out.push((u64::from(a) << 32) | u64::from(b));
            }
        }
    }
}

/// Candidate pairs `(i, j)` with `i < j`, sorted and unique, packed as
/// `i << 32 | j`; and what each rule cost.
pub fn candidates(data: &Prepared, budget: f64, max_block: usize) -> (Vec<u64>, Vec<RuleReport>) {
    let n = data.recs.len() as f64;
    let mut pairs = Vec::new();
    let mut report = Vec::new();
    for (name, rule) in TIGHT {
        let keys = keyed(data, rule);
        report.push(RuleReport { rule: (*name).into(), pairs: cost(&keys, max_block), used: true });
        emit(&keys, max_block, &mut pairs);
    }
    let extra_rules: Vec<(String, KeyFn)> = (0..data.extra_digits.len())
        .map(|k| {
            let f: KeyFn = Box::new(move |p: &Prep| p.extra.get(k).copied().flatten().map(|s| key(&[100 + k as u64, u64::from(s)])));
            (format!("extra {}", k + 1), f)
        })
        .collect();
    let loose = LOOSE.iter().map(|(name, rule)| ((*name).to_string(), Box::new(*rule) as KeyFn));
    // One budget for all loose rules together: a file of millions gets
    // about `budget` extra comparisons per record, whatever the rule count;
    // a small file (under 250,000 pairs in all) may use most rules.
    let allowance = (budget * n).max(250_000.0);
    let mut spent = 0.0;
    for (name, rule) in loose.chain(extra_rules) {
        let keys = keyed(data, &rule);
        let c = cost(&keys, max_block);
        let used = spent + c as f64 <= allowance;
        if used {
            spent += c as f64;
            emit(&keys, max_block, &mut pairs);
        }
        report.push(RuleReport { rule: name, pairs: c, used });
    }
    pairs.sort_unstable();
    pairs.dedup();
    (pairs, report)
}
