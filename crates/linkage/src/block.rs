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
type KeyFn = Box<dyn Fn(&Prep) -> Option<u64> + Send + Sync>;

fn dob(p: &Prep) -> Option<u64> {
    p.dob.map(|d| u64::from_le_bytes(d.digits))
}
fn year(p: &Prep) -> Option<u64> {
    p.dob.map(|d| d.year as u64)
}
fn g1(p: &Prep) -> Option<u64> {
    p.g1.map(u64::from)
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

/// Marks a record that is in no emitted block of a rule.
const NONE: u32 = u32::MAX;

/// How a rule pairs the records of one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Every pair of the block.
    Whole,
    /// Every record with its next `w` records in the block's order.
    Window(u32),
    /// The estimated-birth-year rule (see [`rough_entries`]).
    Rough,
}

/// One used rule, kept as per-record block membership rather than as
/// pairs: enough to enumerate its pairs block by block, and to tell in
/// O(1) whether it would pair two given records (so a later rule skips the
/// pairs an earlier one already gave, and no candidate list is ever held).
struct Used {
    shape: Shape,
    /// (block, record) in emission order, block after block (Whole, Window).
    order: Vec<(u32, u32)>,
    /// For Rough, the (key, probe?, record) entries sorted by key.
    rough: Vec<(u64, bool, u32)>,
    /// Per record: its block's number, or [`NONE`] (moved into the plan's
    /// membership table once every rule is chosen).
    block_of: Vec<u32>,
    /// Per record (Window only): its index in `order`.
    pos: Vec<u32>,
    /// Work units: ranges of `order` (or `rough`) cut at block boundaries.
    groups: Vec<(usize, usize)>,
    /// This rule's first column in the plan's membership table (the block;
    /// Window has its position in the next column).
    col: usize,
}

/// The candidate pairs, as rules to enumerate. Every pair that any rule
/// gives is enumerated exactly once, by the first rule that gives it, in an
/// order that depends only on the data (not on the thread count).
pub struct Plan<'a> {
    data: &'a Prepared,
    used: Vec<Used>,
    /// Every rule's membership of one record side by side (`cols` per
    /// record): telling whether an earlier rule gave a pair reads two rows
    /// (a cache line or two each) instead of two scattered words per rule,
    /// which was the largest cost of enumerating at millions of records.
    member: Vec<u32>,
    cols: usize,
    pub report: Vec<RuleReport>,
}

/// A unit of enumeration: rule `rule`, `groups[group]`.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub rule: usize,
    pub group: usize,
}

/// Pairs per work unit, roughly: small enough to share two cores evenly,
/// large enough that handing units out costs nothing.
const UNIT_PAIRS: u64 = 1 << 18;

fn cut_groups(blocks: impl Iterator<Item = (usize, usize, u64)>) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut cur: Option<(usize, usize)> = None;
    let mut cost = 0u64;
    for (s, e, c) in blocks {
        cur = Some(match cur {
            Some((cs, _)) => (cs, e),
            None => (s, e),
        });
        cost += c;
        if cost >= UNIT_PAIRS
            && let Some(g) = cur.take()
        {
            groups.push(g);
            cost = 0;
        }
    }
    groups.extend(cur);
    groups
}

impl Used {
    fn whole(n: usize, keys: &[(u64, u32)], max_block: usize) -> Self {
        let mut u = Used {
            shape: Shape::Whole,
            order: Vec::new(),
            rough: Vec::new(),
            block_of: vec![NONE; n],
            pos: Vec::new(),
            groups: Vec::new(),
            col: 0,
        };
        let mut spans = Vec::new();
        for (b, block) in keys.chunk_by(|a, b| a.0 == b.0).filter(|b| b.len() >= 2 && b.len() <= max_block).enumerate() {
            let s = u.order.len();
            for &(_, i) in block {
                u.order.push((b as u32, i));
                u.block_of[i as usize] = b as u32;
            }
            let k = block.len() as u64;
            spans.push((s, u.order.len(), k * (k - 1) / 2));
        }
        u.groups = cut_groups(spans.into_iter());
        u
    }

    fn window(data: &Prepared, keys: &[(u64, u32)], order: Order, w: usize) -> Self {
        let n = data.recs.len();
        let mut u = Used {
            shape: Shape::Window(w as u32),
            order: Vec::new(),
            rough: Vec::new(),
            block_of: vec![NONE; n],
            pos: vec![NONE; n],
            groups: Vec::new(),
            col: 0,
        };
        let mut spans = Vec::new();
        for (b, block) in keys.chunk_by(|a, b| a.0 == b.0).filter(|b| b.len() >= 2).enumerate() {
            let mut recs: Vec<(u64, u32)> = block.iter().map(|&(_, i)| (order_key(data, &data.recs[i as usize], order), i)).collect();
            recs.sort_unstable();
            let s = u.order.len();
            for &(_, i) in &recs {
                u.pos[i as usize] = u.order.len() as u32;
                u.block_of[i as usize] = b as u32;
                u.order.push((b as u32, i));
            }
            spans.push((s, u.order.len(), (recs.len() * w.min(recs.len())) as u64));
        }
        u.groups = cut_groups(spans.into_iter());
        u
    }

    fn rough(data: &Prepared) -> Self {
        let v = rough_entries(data);
        let mut spans = Vec::new();
        let mut s = 0;
        for block in v.chunk_by(|a, b| a.0 == b.0) {
            spans.push((s, s + block.len(), block.len() as u64));
            s += block.len();
        }
        Used {
            shape: Shape::Rough,
            order: Vec::new(),
            rough: v,
            block_of: Vec::new(),
            pos: Vec::new(),
            groups: cut_groups(spans.into_iter()),
            col: 0,
        }
    }

    /// Whether this rule pairs the records whose membership rows are `ri`
    /// and `rj` (records `i` and `j`).
    #[inline]
    fn pairs(&self, data: &Prepared, ri: &[u32], rj: &[u32], i: u32, j: u32) -> bool {
        match self.shape {
            Shape::Whole => {
                let b = ri[self.col];
                b != NONE && b == rj[self.col]
            }
            Shape::Window(w) => {
                let b = ri[self.col];
                b != NONE && b == rj[self.col] && ri[self.col + 1].abs_diff(rj[self.col + 1]) <= w
            }
            Shape::Rough => rough_pairs(&data.recs[i as usize], &data.recs[j as usize]),
        }
    }

    /// Membership columns this rule takes in the plan's table.
    fn width(&self) -> usize {
        match self.shape {
            Shape::Whole => 1,
            Shape::Window(_) => 2,
            Shape::Rough => 0,
        }
    }
}

/// An estimated birth date is known to about a year: records with the same
/// given-name and surname sounds whose years differ by one are paired when
/// either date is estimated (the same year is the tight rule `g~+s1~+year`).
/// These are the rule's (key, probe?, record) entries, sorted: every record
/// at its own year, and an estimated one also probing the years either side.
fn rough_entries(data: &Prepared) -> Vec<(u64, bool, u32)> {
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
    v
}

/// What the rough-year rule pairs, from the records themselves.
fn rough_pairs(a: &Prep, b: &Prep) -> bool {
    let (Some(ga), Some(sa), Some(da)) = (gph(a), a.s1_ph, a.dob) else {
        return false;
    };
    let (Some(gb), Some(sb), Some(db)) = (gph(b), b.s1_ph, b.dob) else {
        return false;
    };
    ga == gb && sa == sb && (da.rough || db.rough) && (i64::from(da.year) - i64::from(db.year)).abs() == 1
}

impl<'a> Plan<'a> {
    /// Every work unit, rule by rule, in enumeration order.
    pub fn units(&self) -> Vec<Unit> {
        self.used.iter().enumerate().flat_map(|(rule, u)| (0..u.groups.len()).map(move |group| Unit { rule, group })).collect()
    }

    fn row(&self, i: u32) -> &[u32] {
        let at = i as usize * self.cols;
        &self.member[at..at + self.cols]
    }

    /// Whether rule `rule` pairs records `i` and `j`.
    #[cfg(test)]
    fn rule_pairs(&self, rule: usize, i: u32, j: u32) -> bool {
        self.used[rule].pairs(self.data, self.row(i), self.row(j), i, j)
    }

    /// Calls `f(i, j)` (`i < j`) for each pair of the unit that no earlier
    /// rule gives.
    pub fn for_each(&self, unit: Unit, mut f: impl FnMut(u32, u32)) {
        let earlier = &self.used[..unit.rule];
        let u = &self.used[unit.rule];
        let (s, e) = u.groups[unit.group];
        let mut emit = |i: u32, j: u32| {
            let (i, j) = if i < j { (i, j) } else { (j, i) };
            let (ri, rj) = (self.row(i), self.row(j));
            if !earlier.iter().any(|r| r.pairs(self.data, ri, rj, i, j)) {
                f(i, j);
            }
        };
        match u.shape {
            Shape::Whole => {
                for block in u.order[s..e].chunk_by(|a, b| a.0 == b.0) {
                    for (x, &(_, i)) in block.iter().enumerate() {
                        for &(_, j) in &block[x + 1..] {
                            emit(i, j);
                        }
                    }
                }
            }
            Shape::Window(w) => {
                for block in u.order[s..e].chunk_by(|a, b| a.0 == b.0) {
                    for (x, &(_, i)) in block.iter().enumerate() {
                        for &(_, j) in block[x + 1..].iter().take(w as usize) {
                            emit(i, j);
                        }
                    }
                }
            }
            Shape::Rough => {
                for block in u.rough[s..e].chunk_by(|a, b| a.0 == b.0) {
                    for &(_, probe, i) in block {
                        if !probe {
                            continue;
                        }
                        for &(_, pr, j) in block {
                            // Two estimated dates a year apart probe each
                            // other: the lower record's probe gives the pair.
                            if !pr && j != i && (!self.data.recs[j as usize].dob.is_some_and(|d| d.rough) || i < j) {
                                emit(i, j);
                            }
                        }
                    }
                }
            }
        }
    }

    /// All candidate pairs packed as `i << 32 | j`, sorted (small inputs and tests).
    pub fn pairs(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for unit in self.units() {
            self.for_each(unit, |i, j| out.push(pair(i, j)));
        }
        out.sort_unstable();
        out
    }
}

/// Plans the candidate pairs and reports what each rule costs.
pub fn candidates(data: &Prepared, budget: f64, max_block: usize, threads: usize) -> Plan<'_> {
    // One budget for all loose rules together: a file of millions gets
    // about `budget` extra comparisons per record, whatever the rule count;
    // a small file (under 250,000 pairs in all) may use most rules.
    let allowance = (budget * data.recs.len() as f64).max(250_000.0);
    within(data, allowance, max_block, threads)
}

/// [`candidates`] with the loose rules' allowance in pairs.
fn within(data: &Prepared, allowance: f64, max_block: usize, threads: usize) -> Plan<'_> {
    let n = data.recs.len();
    let mut used = Vec::new();
    let mut report = Vec::new();
    // The tight rules (and the rough-year one) do not depend on each other:
    // each is keyed, sorted and laid out on its own thread, kept in rule order.
    let jobs: Vec<Option<(&str, Rule)>> = TIGHT.iter().map(|&(name, rule)| Some((name, rule))).chain([None]).collect();
    let built = crate::par::map_units(&jobs, threads, |job| match job {
        Some((name, rule)) => {
            let keys = keyed(data, rule);
            let r = RuleReport { rule: (*name).into(), pairs: cost(&keys, max_block), used: true, note: String::new() };
            (r, Used::whole(n, &keys, max_block))
        }
        None => {
            let rough = Used::rough(data);
            let c = rough_cost(data, &rough);
            (RuleReport { rule: "g~+s1~+year±1".into(), pairs: c, used: true, note: "estimated birth dates".into() }, rough)
        }
    });
    for (r, u) in built {
        report.push(r);
        used.push(u);
    }
    let extra_rules: Vec<(String, KeyFn, Order)> = (0..data.extra_digits.len())
        .map(|k| {
            let f: KeyFn = Box::new(move |p: &Prep| p.extra.get(k).copied().flatten().map(|s| key(&[100 + k as u64, u64::from(s)])));
            (format!("extra {}", k + 1), f, Order::BirthDate)
        })
        .collect();
    let loose = LOOSE.iter().map(|(name, rule, order)| ((*name).to_string(), Box::new(*rule) as KeyFn, *order));
    let mut spent = 0.0;
    for (name, rule, order) in loose.chain(extra_rules) {
        // The rule whole and split by sex and citizenship are keyed side by
        // side (at size both are needed: the whole rule is over the allowance).
        let (keys, split_keys) = if threads > 1 {
            crate::par::join(|| keyed(data, &rule), || keyed(data, &|p: &Prep| split(p, &rule)))
        } else {
            (keyed(data, &rule), Vec::new())
        };
        let c = cost(&keys, max_block);
        if spent + c as f64 <= allowance {
            spent += c as f64;
            used.push(Used::whole(n, &keys, max_block));
            report.push(RuleReport { rule: name, pairs: c, used: true, note: String::new() });
            continue;
        }
        drop(keys);
        let keys = if threads > 1 { split_keys } else { keyed(data, &|p: &Prep| split(p, &rule)) };
        let c2 = cost(&keys, max_block);
        if spent + c2 as f64 <= allowance {
            spent += c2 as f64;
            used.push(Used::whole(n, &keys, max_block));
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
            used.push(Used::window(data, &keys, order, w));
            report.push(RuleReport { rule: name, pairs: cw, used: true, note: format!("split, then {w} sorted neighbours (whole: {c})") });
        } else {
            report.push(RuleReport { rule: name, pairs: c, used: false, note: "over budget, not used".into() });
        }
    }
    let (member, cols) = membership(n, &mut used);
    Plan { data, used, member, cols, report }
}

/// Moves every rule's per-record membership into one table, `cols` words
/// per record, and numbers each rule's columns.
fn membership(n: usize, used: &mut [Used]) -> (Vec<u32>, usize) {
    let mut cols = 0;
    for u in used.iter_mut() {
        u.col = cols;
        cols += u.width();
    }
    let mut member = vec![NONE; n * cols];
    if cols > 0 {
        for (i, row) in member.chunks_exact_mut(cols).enumerate() {
            for u in used.iter() {
                match u.shape {
                    Shape::Whole => row[u.col] = u.block_of[i],
                    Shape::Window(_) => {
                        row[u.col] = u.block_of[i];
                        row[u.col + 1] = u.pos[i];
                    }
                    Shape::Rough => {}
                }
            }
        }
    }
    for u in used.iter_mut() {
        u.block_of = Vec::new();
        u.pos = Vec::new();
    }
    (member, cols)
}

/// Pairs the rough-year rule gives (before removing other rules' pairs).
fn rough_cost(data: &Prepared, u: &Used) -> u64 {
    let mut c = 0u64;
    for block in u.rough.chunk_by(|a, b| a.0 == b.0) {
        for &(_, _, i) in block.iter().filter(|e| e.1) {
            c += block.iter().filter(|&&(_, pr, j)| !pr && j != i && (!data.recs[j as usize].dob.is_some_and(|d| d.rough) || i < j)).count()
                as u64;
        }
    }
    c
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
        let mut used = vec![Used::rough(&data)];
        let (member, cols) = membership(recs.len(), &mut used);
        let out = Plan { data: &data, used, member, cols, report: vec![] }.pairs();
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
        let plan = within(&data, 100_000.0, 2_000, 2);
        let (pairs, report) = (plan.pairs(), &plan.report);
        let r = rule(report, "g~+s1~");
        assert_eq!((r.rule.as_str(), r.pairs, r.used, r.note.as_str()), ("g~+s1~", 401 * 400 / 2, true, ""));
        assert!(has(&pairs, 1, 400)); // even across sex: the rule is whole
    }

    #[test]
    fn an_over_budget_loose_rule_is_split_by_sex_and_citizenship() {
        let recs = namesakes();
        let data = prep::prepare(&recs, 0);
        let plan = within(&data, 20_000.0, 2_000, 1);
        let (pairs, report) = (plan.pairs(), &plan.report);
        let r = rule(report, "g~+s1~");
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
        let plan = within(&data, 5_000.0, 2_000, 2);
        let (pairs, report) = (plan.pairs(), &plan.report);
        let r = rule(report, "g~+s1~");
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
    fn every_candidate_pair_is_enumerated_once_by_the_first_rule_that_gives_it() {
        let mut recs = namesakes();
        // Estimated dates a year apart (both estimated, and one of them),
        // which the rough-year rule and the name rules both reach.
        recs.push(person(401, "JOSE", "HERNANDEZ", (1960, 1, 1), true, Sex::M, "MEX"));
        recs.push(person(402, "JOSE", "HERNANDEZ", (1961, 1, 1), true, Sex::M, "MEX"));
        recs.push(person(403, "JOSE", "HERNANDES", (1959, 7, 7), false, Sex::M, "MEX"));
        let data = prep::prepare(&recs, 0);
        for allowance in [100_000.0, 20_000.0, 5_000.0] {
            let plan = within(&data, allowance, 2_000, 2);
            let mut seen = Vec::new();
            for unit in plan.units() {
                plan.for_each(unit, |i, j| seen.push(pair(i, j)));
            }
            let listed = seen.len();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), listed, "a pair enumerated twice at allowance {allowance}");
            // The same set as asking every rule about every pair.
            let n = recs.len() as u32;
            let all: Vec<u64> = (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .filter(|&(i, j)| (0..plan.used.len()).any(|r| plan.rule_pairs(r, i, j)))
                .map(|(i, j)| pair(i, j))
                .collect();
            assert_eq!(seen, all, "allowance {allowance}");
            assert!(has(&seen, 401, 402) && has(&seen, 402, 403));
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_the_thread_count() {
        let data = prep::prepare(&namesakes(), 0);
        for allowance in [100_000.0, 20_000.0, 5_000.0] {
            let one = within(&data, allowance, 2_000, 1);
            let two = within(&data, allowance, 2_000, 2);
            assert_eq!(one.report, two.report, "allowance {allowance}");
            let order = |p: &Plan| {
                let mut v = Vec::new();
                for unit in p.units() {
                    p.for_each(unit, |i, j| v.push(pair(i, j)));
                }
                v
            };
            assert_eq!(order(&one), order(&two), "allowance {allowance}");
        }
    }

    #[test]
    fn nothing_left_means_the_rule_is_not_used() {
        let data = prep::prepare(&namesakes(), 0);
        let plan = within(&data, 100.0, 2_000, 1);
        let r = rule(&plan.report, "g~+s1~");
        assert_eq!((r.used, r.note.as_str()), (false, "over budget, not used"));
    }
}
