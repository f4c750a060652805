//! The age evidence for "another relative" against "parent", estimated from
//! the families the agencies recorded in the same input.
//!
//! The recorded families are labelled examples: a FATHER or MOTHER with a
//! SON, DAUGHTER or CHILD of the same family is a parent pair; an AUNT,
//! UNCLE, GRANDPARENT, SIBLING or OTHER_RELATIVE adult with a GRANDCHILD,
//! SIBLING or OTHER_RELATIVE minor is a relative pair. Two estimates are
//! made, per adult's sex (mothers and aunts, fathers and uncles are of
//! different ages):
//!
//! - by the age gap alone: the log of the two gap distributions' ratio
//!   (counts pooled over five years around the gap), shrunk toward the
//!   fixed bands of [`age_bands`] by the number of examples near that gap;
//! - by the gap *and the adult's own age*: the same ratio over both (pooled
//!   over five years of each), shrunk toward the gap-alone estimate by the
//!   number of examples near that cell. The gap alone cannot tell a mother
//!   of 42 with a child of 4 from a grandmother of 55 with a child of 17
//!   (both 38 years); the adult's age can, where the file's mothers are
//!   never that old.
//!
//! A file with few recorded families falls back to the fixed bands; a file
//! with many follows its own data.

use super::{Person, day_number};
use crate::record::Record;
use kinship_domain::family::Role;
use kinship_domain::person::Sex;
use std::collections::HashMap;

/// Gaps counted, in whole years (older gaps share the last bin).
pub(super) const GAP_BINS: usize = 80;
/// Years pooled on each side of a gap.
const GAP_WINDOW: usize = 2;
/// Examples near a gap at which the data and the fixed bands weigh the same.
const GAP_SHRINK: f64 = 50.0;
/// Adults' ages counted, in whole years (older adults share the last bin).
pub(super) const AGE_BINS: usize = 90;
/// Years of the adult's age pooled on each side: wider than the gap's,
/// since an (age, gap) cell holds far fewer examples than a gap.
const AGE_WINDOW: usize = 4;
/// Examples near an (age, gap) cell at which the data and the gap-alone
/// estimate weigh the same: few, because the gap-alone estimate is itself
/// shrunk and the counts are smoothed (one example added to each side).
const AGE_SHRINK: f64 = 10.0;

/// The fixed age-gap bands: (parent, relative) log-odds.
pub(super) fn age_bands(gap: f64) -> (f64, f64) {
    match gap {
        g if g < 12.0 => (-6.0, 0.5),
        g if g < 15.0 => (-2.5, 0.5),
        g if g < 17.0 => (-0.8, 0.3),
        g if g <= 45.0 => (0.7, 0.0),
        g if g <= 52.0 => (-1.0, 0.5),
        _ => (-4.0, 1.0), // grandparent range
    }
}

/// The fixed bands' relative-over-parent log-odds (the bands' relative
/// weight less their parent weight, as in `score_pair`).
pub(super) fn fixed_relative_gap(g: f64) -> f64 {
    let (p, r) = age_bands(g);
    r - p
}

/// Whole years between a birth (as a day number) and a date.
pub(super) fn years_at(born_day: i32, on: jiff::civil::Date) -> usize {
    ((day_number(on) - born_day).max(0) / 372) as usize
}

fn sex_index(sex: Option<Sex>) -> usize {
    match sex {
        Some(Sex::F) => 0,
        Some(Sex::M) => 1,
        _ => 2,
    }
}

/// Log-odds of "another relative" over "parent" by the age gap, and by the
/// gap and the adult's age.
#[derive(Clone, Debug)]
pub(super) struct GapOdds {
    /// Per adult's sex (women, men, not known), per (adult's age, gap):
    /// `age * (GAP_BINS + 1) + gap`.
    joint: [Vec<f64>; 3],
}

/// Counts per sex (index as `sex_index`; the last pools everyone).
type Counts = [Vec<u32>; 3];

impl GapOdds {
    pub(super) fn from_recorded(records: &[Record], people: &[Person]) -> Self {
        let mut families: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(f) = r.family_id.as_deref() {
                families.entry((r.source.as_str(), f)).or_default().push(i);
            }
        }
        let cells = (AGE_BINS + 1) * (GAP_BINS + 1);
        let zero = |n: usize| -> Counts { [vec![0u32; n], vec![0u32; n], vec![0u32; n]] };
        let (mut parent, mut relative) = (zero(GAP_BINS + 1), zero(GAP_BINS + 1));
        let (mut parent2, mut relative2) = (zero(cells), zero(cells));
        for members in families.values() {
            for &m in members {
                let (Some(true), Some(bm), Some(rm)) = (people[m].minor, people[m].born_day, records[m].family_role) else { continue };
                for &a in members {
                    let (Some(false), Some(ba), Some(ra)) = (people[a].minor, people[a].born_day, records[a].family_role) else { continue };
                    if bm < ba {
                        continue;
                    }
                    let bin = (((bm - ba) / 372) as usize).min(GAP_BINS);
                    let cell = years_at(ba, records[a].encountered_on).min(AGE_BINS) * (GAP_BINS + 1) + bin;
                    let (counts, counts2) = match (ra, rm) {
                        (Role::Father | Role::Mother, Role::Son | Role::Daughter | Role::Child) => (&mut parent, &mut parent2),
                        (
                            Role::Aunt | Role::Uncle | Role::Grandparent | Role::Sibling | Role::OtherRelative,
                            Role::Grandchild | Role::Sibling | Role::OtherRelative,
                        ) => (&mut relative, &mut relative2),
                        _ => continue,
                    };
                    let sex = sex_index(people[a].sex);
                    for k in [sex, 2].into_iter().filter(|&k| k == 2 || sex < 2) {
                        counts[k][bin] += 1;
                        counts2[k][cell] += 1;
                    }
                }
            }
        }
        let gap = [0, 1, 2].map(|k| Self::odds(&parent[k], &relative[k]));
        let joint = [0, 1, 2].map(|k| Self::joint_odds(&parent2[k], &relative2[k], &gap[k]));
        Self { joint }
    }

    /// By the gap alone, shrunk toward the fixed bands.
    pub(super) fn odds(parent: &[u32], relative: &[u32]) -> Vec<f64> {
        let total = |v: &[u32]| f64::from(v.iter().sum::<u32>()) + 1.0;
        let (np, nr) = (total(parent), total(relative));
        let near = |v: &[u32], g: usize| -> f64 {
            let lo = g.saturating_sub(GAP_WINDOW);
            let hi = (g + GAP_WINDOW).min(v.len() - 1);
            v[lo..=hi].iter().map(|&c| f64::from(c)).sum()
        };
        (0..parent.len())
            .map(|g| {
                let (p, r) = (near(parent, g), near(relative, g));
                let data = ((r + 1.0) / nr).ln() - ((p + 1.0) / np).ln();
                let n = p + r;
                (n * data + GAP_SHRINK * fixed_relative_gap(g as f64 + 0.5)) / (n + GAP_SHRINK)
            })
            .collect()
    }

    /// By the adult's age and the gap, shrunk toward `by_gap` (the
    /// gap-alone estimate). Counts are indexed `age * (GAP_BINS + 1) + gap`.
    pub(super) fn joint_odds(parent: &[u32], relative: &[u32], by_gap: &[f64]) -> Vec<f64> {
        let count = |v: &[u32]| f64::from(v.iter().sum::<u32>());
        let (np, nr) = (count(parent) + 1.0, count(relative) + 1.0);
        // A class with few examples in the whole file has no shape to
        // compare with: a file that records no relatives (or no parents)
        // says nothing here, whatever its other class looks like.
        let fewer = count(parent).min(count(relative));
        let trust = fewer / (fewer + GAP_SHRINK);
        let (p_sum, r_sum) = (SummedArea::new(parent), SummedArea::new(relative));
        let mut out = Vec::with_capacity(parent.len());
        for age in 0..=AGE_BINS {
            for (g, &fallback) in by_gap.iter().enumerate().take(GAP_BINS + 1) {
                let (p, r) = (p_sum.near(age, g), r_sum.near(age, g));
                let data = ((r + 1.0) / nr).ln() - ((p + 1.0) / np).ln();
                let n = trust * (p + r);
                // No example near: exactly the gap-alone odds.
                out.push(if n == 0.0 { fallback } else { (n * data + AGE_SHRINK * fallback) / (n + AGE_SHRINK) });
            }
        }
        out
    }

    /// Relative-over-parent log-odds for an adult of `sex` who is `gap`
    /// years older than the child and `adult_age` years old.
    pub(super) fn relative_over_parent(&self, gap: f64, adult_age: usize, sex: Option<Sex>) -> f64 {
        let k = sex_index(sex);
        let g = (gap.max(0.0) as usize).min(GAP_BINS);
        self.joint[k][adult_age.min(AGE_BINS) * (GAP_BINS + 1) + g]
    }
}

/// Sums over rectangles of the (age, gap) grid in constant time.
struct SummedArea(Vec<f64>);

impl SummedArea {
    const W: usize = GAP_BINS + 2;

    fn new(counts: &[u32]) -> Self {
        // s[(a + 1) * W + (g + 1)] = the sum over ages ≤ a and gaps ≤ g.
        let mut s = vec![0.0; (AGE_BINS + 2) * Self::W];
        for a in 0..=AGE_BINS {
            for g in 0..=GAP_BINS {
                let c = f64::from(counts[a * (GAP_BINS + 1) + g]);
                s[(a + 1) * Self::W + g + 1] = c + s[a * Self::W + g + 1] + s[(a + 1) * Self::W + g] - s[a * Self::W + g];
            }
        }
        Self(s)
    }

    /// The sum over the cells within the windows around (age, gap).
    fn near(&self, age: usize, gap: usize) -> f64 {
        let (a0, a1) = (age.saturating_sub(AGE_WINDOW), (age + AGE_WINDOW).min(AGE_BINS) + 1);
        let (g0, g1) = (gap.saturating_sub(GAP_WINDOW), (gap + GAP_WINDOW).min(GAP_BINS) + 1);
        let s = &self.0;
        s[a1 * Self::W + g1] - s[a0 * Self::W + g1] - s[a1 * Self::W + g0] + s[a0 * Self::W + g0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_odds_follow_the_recorded_families_and_fall_back_to_the_fixed_bands() {
        // No recorded family: exactly the fixed bands.
        let none = GapOdds::odds(&[0; GAP_BINS + 1], &[0; GAP_BINS + 1]);
        for (g, &x) in none.iter().enumerate() {
            assert_eq!(x, fixed_relative_gap(g as f64 + 0.5), "gap {g}");
        }
        // Many parents 20–30 years older, many relatives 40–46: the data
        // moves the odds toward a relative at 43 and toward a parent at 25.
        let (mut parent, mut relative) = ([0u32; GAP_BINS + 1], [0u32; GAP_BINS + 1]);
        parent[20..=30].iter_mut().for_each(|c| *c = 200);
        relative[40..=46].iter_mut().for_each(|c| *c = 100);
        let odds = GapOdds::odds(&parent, &relative);
        assert!(odds[43] > fixed_relative_gap(43.5) + 2.0, "{}", odds[43]);
        assert!(odds[25] < fixed_relative_gap(25.5) - 2.0, "{}", odds[25]);
        // Where neither was seen, the fixed bands stand.
        assert_eq!(odds[70], fixed_relative_gap(70.5));
        // A few examples move the odds less than many.
        let few = GapOdds::odds(&parent.map(|c| c / 50), &relative.map(|c| c / 50));
        assert!(few[43] < odds[43] && few[43] > fixed_relative_gap(43.5));
    }

    #[test]
    fn the_adults_age_tells_a_grandmother_from_a_mother_at_the_same_gap() {
        const CELLS: usize = (AGE_BINS + 1) * (GAP_BINS + 1);
        let cell = |age: usize, gap: usize| age * (GAP_BINS + 1) + gap;
        // Mothers 30–44 with children 0–14 (gaps 30–44), grandmothers
        // 50–60 with children 10–16 (gaps 34–50): at a gap of 38 both are
        // seen, in equal numbers overall.
        let (mut parent, mut relative) = (vec![0u32; CELLS], vec![0u32; CELLS]);
        for age in 30..=44 {
            for gap in 30..=age {
                parent[cell(age, gap)] += 20;
            }
        }
        for age in 50..=60 {
            for gap in (age - 16)..=(age - 10) {
                relative[cell(age, gap)] += 20;
            }
        }
        let by_gap = GapOdds::odds(&vec![0; GAP_BINS + 1], &vec![0; GAP_BINS + 1]);
        let joint = GapOdds::joint_odds(&parent, &relative, &by_gap);
        // Same gap, 38 years: a woman of 55 is a relative, one of 40 a parent.
        assert!(joint[cell(55, 38)] > by_gap[38] + 2.0, "{}", joint[cell(55, 38)]);
        assert!(joint[cell(40, 38)] < by_gap[38] - 2.0, "{}", joint[cell(40, 38)]);
        // Where no adult of that age was seen, the gap-alone odds stand.
        assert_eq!(joint[cell(80, 38)], by_gap[38]);
        // No data at all, or no relatives recorded: the gap-alone odds
        // everywhere (parents alone do not say where relatives are).
        let empty = GapOdds::joint_odds(&vec![0; CELLS], &vec![0; CELLS], &by_gap);
        assert!(empty.iter().enumerate().all(|(i, &x)| x == by_gap[i % (GAP_BINS + 1)]));
        let parents_only = GapOdds::joint_odds(&parent, &vec![0; CELLS], &by_gap);
        assert!(parents_only.iter().enumerate().all(|(i, &x)| x == by_gap[i % (GAP_BINS + 1)]));
        // A handful of relatives (one in every 20 of the above, one each)
        // moves the odds less than many.
        let few: Vec<u32> = relative.iter().enumerate().map(|(i, &c)| u32::from(c > 0 && i % 20 == 0)).collect();
        assert!((1..20).contains(&few.iter().sum::<u32>()));
        let few_joint = GapOdds::joint_odds(&parent, &few, &by_gap);
        assert!(few_joint[cell(55, 38)] < joint[cell(55, 38)], "{} {}", few_joint[cell(55, 38)], joint[cell(55, 38)]);
    }

    #[test]
    fn summed_areas_add_up_the_cells_in_the_window() {
        let mut counts = vec![0u32; (AGE_BINS + 1) * (GAP_BINS + 1)];
        let far = 30 + AGE_WINDOW + 2;
        counts[30 * (GAP_BINS + 1) + 20] = 3; // inside the window of (31, 21)
        counts[far * (GAP_BINS + 1) + 20] = 5; // one age too far from 31
        counts[AGE_BINS * (GAP_BINS + 1) + GAP_BINS] = 7; // the corner cell
        let s = SummedArea::new(&counts);
        assert_eq!(s.near(31, 21), 3.0);
        assert_eq!(s.near(32, 20), 8.0);
        assert_eq!(s.near(31, 21 + GAP_WINDOW + 1), 0.0);
        assert_eq!(s.near(AGE_BINS, GAP_BINS), 7.0);
        assert_eq!(s.near(0, 0), 0.0);
    }
}
