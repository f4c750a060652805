//! Records prepared for comparison: names split and canonicalised once,
//! strings interned so that comparisons and term frequencies work on numbers.

use crate::names::{self, Convention};
use crate::phonetic;
use crate::record::Record;
use std::collections::HashMap;

/// An interned string.
pub type Sym = u32;

/// Interned strings with a count of how many records use each one per role
/// (term frequencies).
#[derive(Default)]
pub struct Interner {
    map: HashMap<String, Sym>,
    strs: Vec<String>,
}

impl Interner {
    pub fn get(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.strs.len() as Sym;
        self.strs.push(s.to_string());
        self.map.insert(s.to_string(), id);
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

fn share(counts: HashMap<Sym, u32>) -> HashMap<Sym, f64> {
    let total: u64 = counts.values().map(|&c| u64::from(c)).sum();
    let total = total.max(1) as f64;
    counts.into_iter().map(|(k, c)| (k, f64::from(c) / total)).collect()
}

pub fn prepare(records: &[Record], n_extra: usize) -> Prepared {
    let mut strings = Interner::default();
    let mut recs = Vec::with_capacity(records.len());
    let mut given_counts: HashMap<Sym, u32> = HashMap::new();
    let mut surname_counts: HashMap<Sym, u32> = HashMap::new();
    let mut extra_counts: Vec<HashMap<Sym, u32>> = vec![HashMap::new(); n_extra];
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
            strings.get(&k)
        });
        let sn = r.family.as_deref().map(|f| names::surnames(f, convention)).unwrap_or_default();
        let s1 = sn.paternal.as_ref().map(|s| strings.get(&s.key));
        let s2 = sn.maternal.as_ref().map(|s| strings.get(&s.key));
        let s1_ph = sn.paternal.as_ref().map(|s| {
            let k = phonetic::key(&s.key);
            strings.get(&k)
        });
        let s2_ph = sn.maternal.as_ref().map(|s| {
            let k = phonetic::key(&s.key);
            strings.get(&k)
        });
        if let Some(&g) = given.first() {
            *given_counts.entry(g).or_default() += 1;
        }
        for s in [s1, s2].into_iter().flatten() {
            *surname_counts.entry(s).or_default() += 1;
        }
        let mut extra = Vec::with_capacity(n_extra);
        for k in 0..n_extra {
            let v = r.extra.get(k).and_then(|v| v.as_deref()).map(kinship_domain::name::fold).filter(|v| !v.is_empty());
            let sym = v.map(|v| {
                extra_seen[k] = true;
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    extra_digits[k] = false;
                }
                strings.get(&v)
            });
            if let Some(s) = sym {
                *extra_counts[k].entry(s).or_default() += 1;
            }
            extra.push(sym);
        }
        let citizenship = r.citizenship.as_deref().map(|c| strings.get(c));
        let sex = match r.sex {
            Some(kinship_domain::person::Sex::M) => 1,
            Some(kinship_domain::person::Sex::F) => 2,
            _ => 0,
        };
        recs.push(Prep {
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
    for (d, seen) in extra_digits.iter_mut().zip(extra_seen) {
        *d &= seen;
    }
    Prepared {
        recs,
        strings,
        tf_given: share(given_counts),
        tf_surname: share(surname_counts),
        tf_extra: extra_counts.into_iter().map(share).collect(),
        extra_digits,
    }
}
