//! `link identities`: which records are the same person.
//!
//! Prepare names → block → compare → estimate weights (u from random pairs,
//! m and λ by EM) → score candidate pairs → cluster. Clustering merges the
//! strongest links first and joins two groups only if *every* record of one
//! is compatible with every record of the other (no cannot-link, mean match
//! probability above the threshold), so a chain A–B–C does not put A and C
//! together when they are strangers, and twins and namesakes stay apart.

use crate::block::{self, Unit};
use crate::compare::{self, BIRTH, Comparer, GIVEN, GIVEN_DISAGREE, Pattern, SURNAME1, SURNAME2, level};
use crate::model::{self, Model};
use crate::par::{self, SplitMix};
use crate::prep::{self, Prepared};
use crate::record::Record;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct IdentityOptions {
    /// Worker threads (the result does not depend on it).
    pub threads: usize,
    /// Match probability at or above which two records are linked.
    pub threshold: f64,
    /// Loose blocking rules run while they cost at most this many pairs per record.
    pub budget: f64,
    /// Blocks larger than this are skipped for their rule.
    pub max_block: usize,
    /// Seed of the random pairs that estimate `u`.
    pub seed: u64,
}

impl Default for IdentityOptions {
    fn default() -> Self {
        Self { threads: 1, threshold: 0.5, budget: 10.0, max_block: 2_000, seed: 1 }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// Indexes into the input records, ascending.
    pub records: Vec<usize>,
    /// The weakest link's match probability.
    pub score: f64,
}

#[derive(Clone, Debug, Default)]
pub struct IdentityStats {
    pub records: usize,
    pub candidate_pairs: usize,
    pub random_pairs: usize,
    pub linked_pairs: usize,
    pub merges_refused: usize,
    pub em_iterations: usize,
    pub rules: Vec<block::RuleReport>,
    /// Per field: (name, weights by level) as estimated.
    pub weights: Vec<(String, Vec<f64>)>,
}

pub struct Identities {
    pub clusters: Vec<Cluster>,
    /// For every record, its cluster index (`None` if alone).
    pub cluster_of: Vec<Option<usize>>,
    pub stats: IdentityStats,
}

/// Stages reported to a progress callback: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Most a term-frequency adjustment moves one field's weight, in bits.
const TF_BOUND: f64 = 4.0;

/// How many fields of a pattern get a term-frequency adjustment in
/// [`Scorer::weight`] (at most; a value without a frequency gets none).
fn tf_terms(p: Pattern, fields: usize) -> usize {
    let g = level(p, GIVEN);
    usize::from(g == 1 || g == 2)
        + usize::from(level(p, SURNAME1) == 1)
        + usize::from(level(p, SURNAME2) == 1)
        + (compare::FIRST_EXTRA..fields).filter(|&f| level(p, f) == 1).count()
}

pub struct Scorer<'a> {
    pub data: &'a Prepared,
    pub cmp: Comparer<'a>,
    pub model: Model,
}

impl Scorer<'_> {
    /// log2-odds that records `a` and `b` are one person, with term-frequency
    /// adjustment: agreeing on a rare name says more than on a common one.
    pub fn weight(&self, a: usize, b: usize, p: Pattern) -> f64 {
        let m = &self.model;
        let (ra, d) = (&self.data.recs[a], self.data);
        let mut w = m.prior + m.pattern_weight(p);
        let mut tf = |field: usize, l: u8, share: Option<f64>| {
            // Bounded: a surname seen twice in the file is rare, but agreeing
            // on it must not outweigh different given names and birth dates.
            if let Some(share) = share {
                w += (m.u[field][l as usize].max(1e-9) / share.max(1e-9)).log2().clamp(-TF_BOUND, TF_BOUND);
            }
        };
        let g = level(p, GIVEN);
        if g == 1 || g == 2 {
            tf(GIVEN, g, ra.g1.and_then(|s| d.tf_given.get(&s).copied()));
        }
        if level(p, SURNAME1) == 1 {
            tf(SURNAME1, 1, ra.s1.and_then(|s| d.tf_surname.get(&s).copied()));
        }
        if level(p, SURNAME2) == 1 {
            tf(SURNAME2, 1, ra.s2.and_then(|s| d.tf_surname.get(&s).copied()));
        }
        for k in 0..d.tf_extra.len() {
            let f = compare::FIRST_EXTRA + k;
            if level(p, f) == 1 {
                tf(f, 1, ra.extra[k].and_then(|s| d.tf_extra[k].get(&s).copied()));
            }
        }
        let _ = b;
        w
    }

    pub fn probability(w: f64) -> f64 {
        1.0 / (1.0 + (-w).exp2())
    }
}

/// Evidence beyond names and birth date (A-number, sex, citizenship,
/// compared columns) this strong, in log2 Bayes factor (about 4,000 : 1),
/// says that different given names on one birth date are a recording error,
/// not twins.
const IDENTIFIER_WEIGHT: f64 = 12.0;

/// Pairs that can never be one person, whatever the weights say.
fn cannot_link(records: &[Record], scorer: &Scorer, a: usize, b: usize, p: Pattern) -> bool {
    let (ra, rb) = (&records[a], &records[b]);
    // Two people apprehended together in one event are two people.
    if ra.event_id.is_some() && ra.source == rb.source && ra.event_id == rb.event_id {
        return true;
    }
    // Twins: the same exact birth date, clearly different given names, and
    // no shared identifier (A-number, or a compared column as rare as one)
    // saying the names are a recording error.
    let recs = &scorer.data.recs;
    let rough = recs[a].dob.is_some_and(|d| d.rough) || recs[b].dob.is_some_and(|d| d.rough);
    let twins = level(p, BIRTH) == compare::BIRTH_EXACT && level(p, GIVEN) == GIVEN_DISAGREE && !rough;
    twins && !identifier_agrees(scorer, p)
}

fn identifier_agrees(scorer: &Scorer, p: Pattern) -> bool {
    let m = &scorer.model;
    // Only agreement counts, and for the A-number only exact agreement:
    // family members' A-numbers are consecutive, so "one digit off" is as
    // likely a sibling as a typing error.
    let agrees = |f: usize| level(p, f) == 1 || (f >= compare::FIRST_EXTRA && level(p, f) == 2);
    // Encounters close in time are evidence, but not an identifier: twins travel together.
    let other: f64 =
        (compare::ANUMBER..m.fields).filter(|&f| f != compare::GAP && agrees(f)).map(|f| m.weight(f, level(p, f)).max(0.0)).sum();
    other >= IDENTIFIER_WEIGHT
}

pub fn link(records: &[Record], n_extra: usize, opts: &IdentityOptions, progress: Progress) -> Identities {
    let n = records.len();
    let n_extra = n_extra.min(compare::MAX_EXTRA);
    progress("prepare", 0, n as u64);
    let data = prep::prepare_on(records, n_extra, opts.threads);
    let fields = compare::FIRST_EXTRA + n_extra;
    let cmp = Comparer { data: &data, fields };
    progress("block", 0, n as u64);
    let plan = block::candidates(&data, opts.budget, opts.max_block, opts.threads);
    let mut stats = IdentityStats { records: n, rules: plan.report.clone(), ..Default::default() };
    if n < 2 {
        return Identities { clusters: vec![], cluster_of: vec![None; n], stats };
    }

    // u from random pairs: the sample grows with small files and stops at a
    // million pairs, enough for levels seen once in 10^5 (the rarer ones are
    // add-one smoothed), so it costs no more at millions of records.
    let samples = (10 * n).clamp(50_000, 1_000_000);
    let mut rng = SplitMix(opts.seed);
    let random: Vec<u64> = (0..samples)
        .map(|_| {
            let i = rng.below(n as u64);
            let mut j = rng.below(n as u64 - 1);
            if j >= i {
                j += 1;
            }
            (i << 32) | j
        })
        .collect();
    progress("sample", 0, samples as u64);
    let recs = &data.recs;
    let compare_pair = |&ij: &u64| cmp.compare(&recs[(ij >> 32) as usize], &recs[(ij & 0xFFFF_FFFF) as usize]);
    let random_patterns = par::map(&random, opts.threads, compare_pair);
    stats.random_pairs = samples;
    let u = model::estimate_u(&random_patterns, fields);
    drop(random_patterns);

    // Candidate pairs are enumerated block by block, never listed: the
    // first pass compares each pair and keeps only which comparison
    // pattern it had (4 bytes; a few thousand distinct patterns), which is
    // all EM needs; the second enumerates the same pairs in the same order
    // and scores them. So memory holds the patterns and the links, not
    // the candidate pairs (at 2.5 M records, 90 M of them).
    let units = plan.units();
    progress("compare", 0, units.len() as u64);
    let parts = par::map_units(&units, opts.threads, |&unit| {
        let mut index: FxHashMap<Pattern, u32> = FxHashMap::default();
        let mut seen: Vec<Pattern> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        let mut memo = compare::Memo::new();
        plan.for_each(unit, |i, j| {
            let p = cmp.compare_with(&mut memo, &recs[i as usize], &recs[j as usize]);
            let id = *index.entry(p).or_insert_with(|| {
                seen.push(p);
                (seen.len() - 1) as u32
            });
            ids.push(id);
        });
        (seen, ids)
    });
    // One numbering of patterns for all units, in unit order (deterministic).
    let mut patterns: Vec<Pattern> = Vec::new();
    let mut pattern_count: Vec<u64> = Vec::new();
    let mut index: FxHashMap<Pattern, u32> = FxHashMap::default();
    let mut unit_ids: Vec<Vec<u32>> = Vec::with_capacity(parts.len());
    for (seen, mut ids) in parts {
        let remap: Vec<u32> = seen
            .iter()
            .map(|&p| {
                *index.entry(p).or_insert_with(|| {
                    patterns.push(p);
                    pattern_count.push(0);
                    (patterns.len() - 1) as u32
                })
            })
            .collect();
        for id in &mut ids {
            *id = remap[*id as usize];
            pattern_count[*id as usize] += 1;
        }
        ids.shrink_to_fit();
        unit_ids.push(ids);
    }
    stats.candidate_pairs = unit_ids.iter().map(Vec::len).sum();
    let counts: HashMap<Pattern, u64> = patterns.iter().copied().zip(pattern_count.iter().copied()).collect();
    let total_pairs = n as f64 * (n as f64 - 1.0) / 2.0;
    progress("train", 0, counts.len() as u64);
    let model = model::estimate(&counts, u, fields, total_pairs, 0.3 * n as f64);
    stats.em_iterations = model.iterations;
    stats.weights =
        (0..fields).map(|f| (compare::name(f).to_string(), (1..compare::levels(f)).map(|l| model.weight(f, l as u8)).collect())).collect();
    let scorer = Scorer { data: &data, cmp, model };

    progress("score", 0, units.len() as u64);
    let min_w = (opts.threshold / (1.0 - opts.threshold).max(1e-12)).log2();
    // A pattern whose weight cannot reach the threshold even with every
    // term-frequency adjustment at its bound is not scored pair by pair
    // (the great majority of candidates): exact, and no name lookups.
    let reachable: Vec<bool> = patterns
        .iter()
        .map(|&p| scorer.model.prior + scorer.model.pattern_weight(p) + TF_BOUND * tf_terms(p, fields) as f64 + 1e-9 >= min_w)
        .collect();
    let jobs: Vec<(Unit, &[u32])> = units.iter().copied().zip(unit_ids.iter().map(Vec::as_slice)).collect();
    let linked = par::map_units(&jobs, opts.threads, |&(unit, ids)| {
        let mut out: Vec<(f64, u32, u32)> = Vec::new();
        let mut k = 0;
        plan.for_each(unit, |i, j| {
            let id = ids[k] as usize;
            k += 1;
            if reachable[id] {
                let w = scorer.weight(i as usize, j as usize, patterns[id]);
                if w >= min_w {
                    out.push((w, i, j));
                }
            }
        });
        out
    });
    drop(unit_ids);
    let mut edges: Vec<(f64, u32, u32)> = linked.into_iter().flatten().collect();
    stats.linked_pairs = edges.len();
    edges.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

    progress("cluster", 0, edges.len() as u64);
    let (clusters, cluster_of, refused) = cluster(records, &scorer, &edges, opts.threshold, n, opts.threads);
    stats.merges_refused = refused;
    Identities { clusters, cluster_of, stats }
}

fn cluster(
    records: &[Record],
    scorer: &Scorer,
    edges: &[(f64, u32, u32)],
    threshold: f64,
    n: usize,
    threads: usize,
) -> (Vec<Cluster>, Vec<Option<usize>>, usize) {
    // Most merges join two lone records along their own edge: that edge's
    // check (cannot-link, match probability) is worked out beforehand on
    // every thread, leaving the merging itself, which is sequential, little to do.
    let own = par::map(edges, threads, |&(_, i, j)| {
        let (x, y) = (i.min(j) as usize, i.max(j) as usize);
        let p = scorer.cmp.compare(&scorer.data.recs[x], &scorer.data.recs[y]);
        (cannot_link(records, scorer, x, y, p), Scorer::probability(scorer.weight(x, y, p)))
    });
    let mut root: Vec<u32> = (0..n as u32).collect();
    let mut members: Vec<Vec<u32>> = (0..n as u32).map(|i| vec![i]).collect();
    let mut weakest: Vec<f64> = vec![1.0; n];
    let mut refused = 0;
    for (&(w, i, j), &(never, p_own)) in edges.iter().zip(&own) {
        let (a, b) = (root[i as usize], root[j as usize]);
        if a == b {
            continue;
        }
        let mut ok = true;
        let mut sum = 0.0;
        let mut count = 0.0;
        if members[a as usize].len() == 1 && members[b as usize].len() == 1 {
            ok = !never;
            sum = p_own;
            count = 1.0;
        } else {
            'check: for &x in &members[a as usize] {
                for &y in &members[b as usize] {
                    let (x, y) = (x.min(y) as usize, x.max(y) as usize);
                    let p = scorer.cmp.compare(&scorer.data.recs[x], &scorer.data.recs[y]);
                    if cannot_link(records, scorer, x, y, p) {
                        ok = false;
                        break 'check;
                    }
                    sum += Scorer::probability(scorer.weight(x, y, p));
                    count += 1.0;
                }
            }
        }
        if !ok || sum / count < threshold {
            refused += 1;
            continue;
        }
        // Merge the smaller group into the larger.
        let (big, small) = if members[a as usize].len() >= members[b as usize].len() { (a, b) } else { (b, a) };
        let moved = std::mem::take(&mut members[small as usize]);
        for &x in &moved {
            root[x as usize] = big;
        }
        members[big as usize].extend(moved);
        weakest[big as usize] = weakest[big as usize].min(weakest[small as usize]).min(Scorer::probability(w));
    }
    let mut clusters = Vec::new();
    let mut cluster_of = vec![None; n];
    for (r, m) in members.iter().enumerate() {
        if m.len() < 2 {
            continue;
        }
        let mut recs: Vec<usize> = m.iter().map(|&x| x as usize).collect();
        recs.sort_unstable();
        clusters.push(Cluster { records: recs, score: weakest[r] });
    }
    clusters.sort_by_key(|c| c.records[0]);
    for (k, c) in clusters.iter().enumerate() {
        for &r in &c.records {
            cluster_of[r] = Some(k);
        }
    }
    (clusters, cluster_of, refused)
}
