//! Fellegi–Sunter match weights estimated from the data.
//!
//! `u` (how often two different people agree at a level) comes from random
//! pairs: almost all random pairs are different people. `m` (how often the
//! same person's two records agree at a level) and the share of matching
//! pairs `λ` come from expectation–maximisation over the candidate pairs,
//! with every pair outside the candidate set counted as a non-match. That is
//! EM over *all* pairs with `u` held at its sampled value, so the blocking's
//! bias towards agreement among candidates does not leak into `m`.

use crate::compare::{Pattern, level, levels};
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct Model {
    /// Per field, per level: P(level | match). Level 0 is unused.
    pub m: Vec<Vec<f64>>,
    /// Per field, per level: P(level | non-match).
    pub u: Vec<Vec<f64>>,
    /// Prior log2-odds that a random pair is a match.
    pub prior: f64,
    pub fields: usize,
    /// EM iterations run.
    pub iterations: usize,
}

const FLOOR: f64 = 1e-6;

impl Model {
    /// log2 Bayes factor of one field's level (0 for level 0).
    pub fn weight(&self, field: usize, l: u8) -> f64 {
        if l == 0 {
            return 0.0;
        }
        let l = l as usize;
        (self.m[field][l].max(FLOOR) / self.u[field][l].max(FLOOR)).log2()
    }

    pub fn pattern_weight(&self, p: Pattern) -> f64 {
        (0..self.fields).map(|f| self.weight(f, level(p, f))).sum()
    }
}

/// Level frequencies among sampled (random) pairs; each field's levels sum to 1
/// over the pairs where the field could be compared.
pub fn estimate_u(random: &[Pattern], fields: usize) -> Vec<Vec<f64>> {
    let mut counts: Vec<Vec<f64>> = (0..fields).map(|f| vec![0.0; levels(f)]).collect();
    for &p in random {
        for (f, c) in counts.iter_mut().enumerate() {
            c[level(p, f) as usize] += 1.0;
        }
    }
    counts
        .into_iter()
        .map(|mut c| {
            c[0] = 0.0;
            let n = c.len() as f64;
            // Add-one smoothing: a level never seen among strangers is rare, not impossible.
            let total: f64 = c.iter().sum::<f64>() + n;
            c.iter().enumerate().map(|(l, x)| if l == 0 { 0.0 } else { (x + 1.0) / total }).collect()
        })
        .collect()
}

/// Starting `m`: strong agreement likely, disagreement unlikely.
fn initial_m(fields: usize) -> Vec<Vec<f64>> {
    (0..fields)
        .map(|f| {
            let n = levels(f);
            let mut v = vec![0.0; n];
            let graded = n - 1;
            for (l, x) in v.iter_mut().enumerate().skip(1) {
                *x = if l == 1 {
                    0.6
                } else if l == graded {
                    0.05
                } else {
                    0.35 / (graded as f64 - 2.0).max(1.0)
                };
            }
            normalise(&mut v);
            v
        })
        .collect()
}

fn normalise(v: &mut [f64]) {
    let total: f64 = v.iter().skip(1).sum();
    if total > 0.0 {
        for x in v.iter_mut().skip(1) {
            *x /= total;
        }
    }
}

/// EM over the candidate patterns (`counts`), with `total_pairs` pairs in all.
pub fn estimate(counts: &HashMap<Pattern, u64>, u: Vec<Vec<f64>>, fields: usize, total_pairs: f64, expected_matches: f64) -> Model {
    let mut model = Model {
        m: initial_m(fields),
        u,
        prior: (expected_matches / (total_pairs - expected_matches).max(1.0)).log2(),
        fields,
        iterations: 0,
    };
    // Deterministic order: HashMap iteration order must not change the sums.
    let mut patterns: Vec<(Pattern, f64)> = counts.iter().map(|(&p, &c)| (p, c as f64)).collect();
    patterns.sort_unstable_by_key(|&(p, _)| p);
    for it in 0..200 {
        let mut m_acc: Vec<Vec<f64>> = (0..fields).map(|f| vec![0.0; levels(f)]).collect();
        let mut matches = 0.0;
        for &(p, c) in &patterns {
            let w = model.prior + model.pattern_weight(p);
            let post = 1.0 / (1.0 + (-w).exp2());
            let mass = post * c;
            matches += mass;
            for (f, acc) in m_acc.iter_mut().enumerate() {
                acc[level(p, f) as usize] += mass;
            }
        }
        let mut change: f64 = 0.0;
        for (f, acc) in m_acc.iter_mut().enumerate() {
            acc[0] = 0.0;
            let n = acc.len() as f64;
            let total: f64 = acc.iter().sum();
            if total <= 0.0 {
                continue;
            }
            for (l, &a) in acc.iter().enumerate().skip(1) {
                // A little smoothing keeps a level EM never saw from weighing -∞.
                let v = (a + 0.01) / (total + 0.01 * n);
                change = change.max((v - model.m[f][l]).abs());
                model.m[f][l] = v;
            }
        }
        let matches = matches.max(1.0);
        model.prior = (matches / (total_pairs - matches).max(1.0)).log2();
        model.iterations = it + 1;
        if change < 1e-5 {
            break;
        }
    }
    model
}
