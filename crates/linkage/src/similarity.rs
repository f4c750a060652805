//! String similarity on folded names, without allocation: linkage compares
//! millions of pairs, and `strsim`'s generic versions allocate per call.
//! Both functions give exactly `strsim`'s results (checked by property tests);
//! strings longer than [`MAX`] bytes or not ASCII fall back to `strsim`.

const MAX: usize = 64;

/// Jaro–Winkler similarity (prefix scale 0.1, up to 4 characters).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.len() > MAX || y.len() > MAX || !a.is_ascii() || !b.is_ascii() {
        return strsim::jaro_winkler(a, b);
    }
    let j = jaro(x, y);
    if j <= 0.7 {
        return j; // Winkler's boost applies only to strings already alike
    }
    let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count() as f64;
    j + 0.1 * prefix * (1.0 - j)
}

/// Jaro–Winkler, or 0 when it is certainly below `floor`: the characters two
/// strings have in common bound the number of Jaro matches, which bounds the
/// similarity, so most unrelated pairs are rejected without the full scan.
pub fn jaro_winkler_at_least(a: &str, b: &str, floor: f64) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.is_empty() || y.is_empty() || x.len() > MAX || y.len() > MAX {
        return jaro_winkler(a, b);
    }
    let mut hist = [0i16; 64];
    for &c in x {
        hist[(c & 63) as usize] += 1;
    }
    let mut common = 0usize;
    for &c in y {
        let h = &mut hist[(c & 63) as usize];
        if *h > 0 {
            *h -= 1;
            common += 1;
        }
    }
    let m = common as f64;
    let jaro_max = (m / x.len() as f64 + m / y.len() as f64 + 1.0) / 3.0;
    if jaro_max + 0.4 * (1.0 - jaro_max) < floor {
        return 0.0;
    }
    jaro_winkler(a, b)
}

fn jaro(x: &[u8], y: &[u8]) -> f64 {
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    if x == y {
        return 1.0;
    }
    let window = (x.len().max(y.len()) / 2).saturating_sub(1);
    let mut y_used = [false; MAX];
    let mut x_match = [0u8; MAX];
    let mut m = 0usize;
    for (i, &c) in x.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(y.len());
        for k in lo..hi {
            if !y_used[k] && y[k] == c {
                y_used[k] = true;
                x_match[m] = c;
                m += 1;
                break;
            }
        }
    }
    if m == 0 {
        return 0.0;
    }
    let mut t = 0usize;
    let mut k = 0usize;
    for (used, &c) in y_used.iter().zip(y) {
        if *used {
            if x_match[k] != c {
                t += 1;
            }
            k += 1;
        }
    }
    let m = m as f64;
    (m / x.len() as f64 + m / y.len() as f64 + (m - (t / 2) as f64) / m) / 3.0
}

/// Optimal-string-alignment distance (edits, with adjacent transpositions
/// counting one), capped: anything above `cap` is returned as `cap + 1`.
pub fn edit_distance(a: &str, b: &str, cap: usize) -> usize {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.len().abs_diff(y.len()) > cap {
        return cap + 1;
    }
    if x.len() > MAX || y.len() > MAX || !a.is_ascii() || !b.is_ascii() {
        return strsim::osa_distance(a, b).min(cap + 1);
    }
    // Three rolling rows of the dynamic-programming table.
    let mut prev2 = [0usize; MAX + 1];
    let mut prev = [0usize; MAX + 1];
    let mut cur = [0usize; MAX + 1];
    for (j, p) in prev.iter_mut().enumerate().take(y.len() + 1) {
        *p = j;
    }
    for i in 1..=x.len() {
        cur[0] = i;
        for j in 1..=y.len() {
            let cost = usize::from(x[i - 1] != y[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        prev2 = prev;
        prev = cur;
    }
    prev[y.len()].min(cap + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn jaro_winkler_equals_strsim(a in "[A-E]{0,12}", b in "[A-E]{0,12}") {
            let ours = jaro_winkler(&a, &b);
            let theirs = strsim::jaro_winkler(&a, &b);
            prop_assert!((ours - theirs).abs() < 1e-12, "{a} {b}: {ours} vs {theirs}");
        }

        #[test]
        fn the_bounded_version_never_hides_a_similarity_above_its_floor(a in "[A-F ]{0,12}", b in "[A-F ]{0,12}", floor in 0.0f64..1.0) {
            let full = jaro_winkler(&a, &b);
            let bounded = jaro_winkler_at_least(&a, &b, floor);
            prop_assert!(bounded == full || (bounded == 0.0 && full < floor));
        }

        #[test]
        fn edit_distance_equals_strsim(a in "[0-3]{0,9}", b in "[0-3]{0,9}") {
            prop_assert_eq!(edit_distance(&a, &b, 20), strsim::osa_distance(&a, &b));
        }
    }

    #[test]
    fn known_values() {
        assert!((jaro_winkler("MARTHA", "MARHTA") - 0.9611).abs() < 1e-4);
        assert_eq!(jaro_winkler("", ""), 1.0);
        assert_eq!(jaro_winkler("ABC", ""), 0.0);
        assert_eq!(edit_distance("1234", "1243", 2), 1);
        assert_eq!(edit_distance("1234", "9999", 2), 3);
    }
}
