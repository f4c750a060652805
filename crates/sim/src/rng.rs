//! The generator's random numbers: xoshiro256** seeded through SplitMix64.
//! Written out here (not a crate) so that "same seed, same files" cannot be
//! broken by a dependency changing its algorithm.

#[derive(Clone, Debug)]
pub struct Rng([u64; 4]);

/// SplitMix64's step: also a bijection on u64, used to scramble ids.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for one stream of the scenario (e.g. one day), derived
    /// from the seed and the stream's number so streams are independent.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut s = mix(seed ^ mix(stream.wrapping_add(0x5EED)));
        let mut state = [0u64; 4];
        for slot in &mut state {
            s = mix(s);
            *slot = s;
        }
        Rng(state)
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.f64() < p
    }

    /// Uniform in [lo, hi] (inclusive); `lo` when the range is empty.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    pub fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }

    /// Picks from (weight, value) pairs.
    pub fn weighted<'a, T>(&mut self, from: &'a [(f64, T)]) -> &'a T {
        let total: f64 = from.iter().map(|(w, _)| w).sum();
        let mut x = self.f64() * total;
        for (w, v) in from {
            if x < *w {
                return v;
            }
            x -= w;
        }
        &from[from.len() - 1].1
    }
}
