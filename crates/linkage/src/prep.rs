//! Records prepared for comparison: names split and canonicalised once,
//! strings interned so that comparisons and term frequencies work on numbers.

use crate::names::{self, Convention};
use crate::phonetic;
use crate::record::Record;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// An interned string.
pub type Sym = u32;

/// Interned strings with a count of how many records use each one per role
/// (term frequencies).
#[derive(Default)]
pub struct Interner {
    map: FxHashMap<String, Sym>,
    strs: Vec<String>,
}

impl Interner {
    pub fn get(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        self.add(s.to_string())
    }
    /// [`Interner::get`] for a string the caller owns (no copy when it is new).
    pub fn get_owned(&mut self, s: String) -> Sym {
        if let Some(&id) = self.map.get(&s) {
            return id;
        }
        self.add(s)
    }
    fn add(&mut self, s: String) -> Sym {
        let id = self.strs.len() as Sym;
        self.map.insert(s.clone(), id);
        self.strs.push(s);
        id
    }
    pub fn str(&self, id: Sym) -> &str {
        self.strs.get(id as usize).map(String::as_str).unwrap_or("")
    }
    pub fn len(&self) -> usize {
        self.strs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.strs.is_empty()
    }
}

/// Birth date as the eight digits YYYYMMDD plus its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dob {
    pub digits: [u8; 8],
    pub year: i16,
    pub month: i8,
    pub day: i8,
    /// Estimated, or written as 1 January (the usual stand-in for "year known").
    pub rough: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Prep {
    /// Canonical given-name tokens (nicknames replaced).
    pub given: Vec<Sym>,
    /// The first of them, kept beside the other fields: most comparisons
    /// need only it, and reading it here saves a trip to the heap per pair.
    pub g1: Option<Sym>,
    /// Phonetic key of the first given name.
    pub given_ph: Option<Sym>,
    /// Surnames compared by key: paternal, maternal.
    pub s1: Option<Sym>,
    pub s2: Option<Sym>,
    pub s1_ph: Option<Sym>,
    pub s2_ph: Option<Sym>,
    pub dob: Option<Dob>,
    pub a_number: Option<u32>,
    /// 1 = M, 2 = F; X and U count as unknown.
    pub sex: u8,
    pub citizenship: Option<Sym>,
    /// Extra compared columns, folded.
    pub extra: Vec<Option<Sym>>,
    pub convention: Option<Convention>,
    /// Day of the encounter (days since the Unix epoch, UTC).
    pub day: i32,
}

/// Everything prepared, plus term frequencies.
pub struct Prepared {
    pub recs: Vec<Prep>,
    pub strings: Interner,
    /// Share of records whose first given name is this symbol.
    pub tf_given: HashMap<Sym, f64>,
    /// Share of surname slots holding this symbol.
    pub tf_surname: HashMap<Sym, f64>,
    /// Per extra column: share of records with this value.
    pub tf_extra: Vec<HashMap<Sym, f64>>,
    /// Per extra column: are all values digits (compared by edit distance)?
    pub extra_digits: Vec<bool>,
}

fn dob(r: &Record) -> Option<Dob> {
    let b = r.birth?;
    let text = format!("{:04}{:02}{:02}", b.year(), b.month(), b.day());
    let mut digits = [0u8; 8];
    for (d, c) in digits.iter_mut().zip(text.bytes()) {
        *d = c;
    }
    Some(Dob { digits, year: b.year(), month: b.month(), day: b.day(), rough: r.birth_estimated || (b.month() == 1 && b.day() == 1) })
}

fn share(counts: &[u32]) -> HashMap<Sym, f64> {
    let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let total = total.max(1) as f64;
    counts.iter().enumerate().filter(|&(_, &c)| c > 0).map(|(k, &c)| (k as Sym, f64::from(c) / total)).collect()
}

pub fn prepare(records: &[Record], n_extra: usize) -> Prepared {
    prepare_on(records, n_extra, 1)
}

/// Records per chunk prepared on one thread.
const CHUNK: usize = 1 << 16;

/// One chunk prepared with its own interner; symbols are local to it.
struct Part {
    recs: Vec<Prep>,
    strings: Interner,
    extra_digits: Vec<bool>,
    extra_seen: Vec<bool>,
}

/// [`prepare`] on `threads` threads. Chunks of records are prepared with
/// their own interners and merged in record order: each chunk's strings are
/// interned again in the order the chunk first met them, which numbers every
/// string exactly as one pass over all the records would (a string's number
/// is its rank by first use), so the result does not depend on the thread
/// count.
pub fn prepare_on(records: &[Record], n_extra: usize, threads: usize) -> Prepared {
    prepare_chunked(records, n_extra, threads, CHUNK)
}

fn prepare_chunked(records: &[Record], n_extra: usize, threads: usize, chunk: usize) -> Prepared {
    let chunks: Vec<&[Record]> = records.chunks(chunk.max(1)).collect();
    let parts = crate::par::map_units(&chunks, threads, |c| prepare_part(c, n_extra));
    let mut strings = Interner::default();
    let mut recs = Vec::with_capacity(records.len());
    let mut extra_digits = vec![true; n_extra];
    let mut extra_seen = vec![false; n_extra];
    for part in parts {
        let global: Vec<Sym> = part.strings.strs.into_iter().map(|s| strings.get_owned(s)).collect();
        let g = |s: Sym| global.get(s as usize).copied().unwrap_or(s);
        for mut r in part.recs {
            for x in &mut r.given {
                *x = g(*x);
            }
            for x in [&mut r.g1, &mut r.given_ph, &mut r.s1, &mut r.s2, &mut r.s1_ph, &mut r.s2_ph, &mut r.citizenship]
                .into_iter()
                .chain(&mut r.extra)
            {
                if let Some(v) = x.as_mut() {
                    *v = g(*v);
                }
            }
            recs.push(r);
        }
        for k in 0..n_extra {
            extra_digits[k] &= part.extra_digits[k];
            extra_seen[k] |= part.extra_seen[k];
        }
    }
    // Term frequencies: symbols are dense, so counts are a vector.
    let mut given_counts = vec![0u32; strings.len()];
    let mut surname_counts = vec![0u32; strings.len()];
    let mut extra_counts = vec![vec![0u32; strings.len()]; n_extra];
    for r in &recs {
        if let Some(&g) = r.given.first() {
            given_counts[g as usize] += 1;
        }
        for s in [r.s1, r.s2].into_iter().flatten() {
            surname_counts[s as usize] += 1;
        }
        for (counts, v) in extra_counts.iter_mut().zip(&r.extra) {
            if let Some(s) = v {
                counts[*s as usize] += 1;
            }
        }
    }
    for (d, seen) in extra_digits.iter_mut().zip(extra_seen) {
        *d &= seen;
    }
    Prepared {
        recs,
        strings,
        tf_given: share(&given_counts),
        tf_surname: share(&surname_counts),
        tf_extra: extra_counts.iter().map(|c| share(c)).collect(),
        extra_digits,
    }
}

fn prepare_part(records: &[Record], n_extra: usize) -> Part {
    let mut strings = Interner::default();
    let mut recs = Vec::with_capacity(records.len());
    let mut extra_digits = vec![true; n_extra];
    let mut extra_seen = vec![false; n_extra];
    for r in records {
        let convention = Convention::for_citizenship(r.citizenship.as_deref());
        let given: Vec<Sym> = r
            .given
            .as_deref()
            .map(names::given_tokens)
            .unwrap_or_default()
            .iter()
            .map(|t| strings.get(names::canonical_given(t)))
            .collect();
        let given_ph = given.first().map(|&g| {
            let k = phonetic::key(strings.str(g));
            strings.get_owned(k)
        });
        let sn = r.family.as_deref().map(|f| names::surnames(f, convention)).unwrap_or_default();
        let s1 = sn.paternal.as_ref().map(|s| strings.get(&s.key));
        let s2 = sn.maternal.as_ref().map(|s| strings.get(&s.key));
        let s1_ph = sn.paternal.as_ref().map(|s| strings.get_owned(phonetic::key(&s.key)));
        let s2_ph = sn.maternal.as_ref().map(|s| strings.get_owned(phonetic::key(&s.key)));
        let mut extra = Vec::with_capacity(n_extra);
        for k in 0..n_extra {
            let v = r.extra.get(k).and_then(|v| v.as_deref()).map(kinship_domain::name::fold).filter(|v| !v.is_empty());
            let sym = v.map(|v| {
                extra_seen[k] = true;
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    extra_digits[k] = false;
                }
                strings.get_owned(v)
            });
            extra.push(sym);
        }
        let citizenship = r.citizenship.as_deref().map(|c| strings.get(c));
        let sex = match r.sex {
            Some(kinship_domain::person::Sex::M) => 1,
            Some(kinship_domain::person::Sex::F) => 2,
            _ => 0,
        };
        recs.push(Prep {
            g1: given.first().copied(),
            given,
            given_ph,
            s1,
            s2,
            s1_ph,
            s2_ph,
            dob: dob(r),
            a_number: r.a_number,
            sex,
            citizenship,
            extra,
            convention: Some(convention),
            day: r.encountered_at.div_euclid(86_400) as i32,
        });
    }
    Part { recs, strings, extra_digits, extra_seen }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn people() -> Vec<Record> {
        let names = [
            ("MARIA GUADALUPE", "PEREZ LOPEZ"),
            ("JOSE", "HERNANDEZ"),
            ("MA. LUISA", "PEREZ"),
            ("ANA", "LOPEZ PEREZ"),
            ("JOSE LUIS", "OZUNA"),
        ];
        (0..40)
            .map(|k| {
                let mut r = Record::new("BP", &format!("R{k}"), 86_400 * k as i64, date(2019, 5, 1));
                let (g, f) = names[(k * 7 + k / 5) % names.len()];
                r.given = (k % 9 != 0).then(|| g.to_string());
                r.family = (k % 11 != 3).then(|| f.to_string());
                r.citizenship = Some(["MEX", "GTM", "HND"][k % 3].to_string());
                r.extra = vec![Some(format!("{}", 100 + k % 6)), (k % 4 == 0).then(|| format!("X{}", k % 5))];
                r
            })
            .collect()
    }

    fn summary(p: &Prepared) -> Vec<String> {
        let mut out: Vec<String> = p.recs.iter().map(|r| format!("{r:?}")).collect();
        out.extend((0..p.strings.len()).map(|i| p.strings.str(i as Sym).to_string()));
        let mut tf: Vec<String> = p.tf_given.iter().chain(&p.tf_surname).map(|(k, v)| format!("{k}={v}")).collect();
        tf.extend(p.tf_extra.iter().flat_map(|m| m.iter().map(|(k, v)| format!("x{k}={v}"))));
        tf.sort();
        out.extend(tf);
        out.push(format!("{:?}", p.extra_digits));
        out
    }

    #[test]
    fn preparing_in_chunks_numbers_strings_as_one_pass_does() {
        let recs = people();
        let one = summary(&prepare_chunked(&recs, 2, 1, recs.len()));
        for (threads, chunk) in [(1, 1), (2, 3), (2, 7), (3, 16)] {
            assert_eq!(summary(&prepare_chunked(&recs, 2, threads, chunk)), one, "{threads} threads, chunks of {chunk}");
        }
        // The first extra column is all digits, the second is not.
        assert_eq!(prepare_chunked(&recs, 2, 2, 3).extra_digits, vec![true, false]);
    }
}
