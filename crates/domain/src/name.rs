//! Names as recorded, and the normalised parts Kinship compares.
//!
//! Names are stored exactly as the agency wrote them; comparison uses
//! [`fold`] (case- and accent-insensitive). `FNU`/`LNU` ("first/last name
//! unknown", the US agencies' convention) are treated as missing.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    /// As recorded, e.g. `JOSE LUIS`. `None` when the record says `FNU`.
    pub given: Option<String>,
    /// All surnames as recorded, in recorded order. `None` for `LNU`.
    pub family: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{0} is empty; write FNU/LNU when the name is not known")]
    Empty(&'static str),
}

impl PersonName {
    pub fn parse(given: &str, family: &str) -> Result<Self, NameError> {
        Ok(Self { given: parse_part(given, "given_names", "FNU")?, family: parse_part(family, "family_names", "LNU")? })
    }

    /// Folded given names, one token per name (`MARIA GUADALUPE` → 2 tokens).
    pub fn given_tokens(&self) -> Vec<String> {
        self.given.as_deref().map(tokens).unwrap_or_default()
    }

    /// Surnames grouped with their particles: `DE LA CRUZ LOPEZ` →
    /// `["DE LA CRUZ", "LOPEZ"]`. The first is taken as paternal, the second
    /// as maternal, which is the Latin American convention; other conventions
    /// are the linkage engine's business.
    pub fn surnames(&self) -> Vec<String> {
        self.family.as_deref().map(group_surnames).unwrap_or_default()
    }

    /// Display form: `GIVEN FAMILY`, with `FNU`/`LNU` kept visible.
    pub fn display(&self) -> String {
        format!("{} {}", self.given.as_deref().unwrap_or("FNU"), self.family.as_deref().unwrap_or("LNU"))
    }
}

fn parse_part(raw: &str, field: &'static str, unknown: &str) -> Result<Option<String>, NameError> {
    let trimmed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.is_empty() {
        return Err(NameError::Empty(field));
    }
    if fold(&trimmed) == unknown {
        return Ok(None);
    }
    Ok(Some(trimmed))
}

/// Upper case, accents removed, punctuation turned into spaces, spaces
/// collapsed: `Hernández-López` → `HERNANDEZ LOPEZ`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            for u in c.to_uppercase() {
                out.push(u);
            }
            space = false;
        } else if !space && c != '\'' {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

pub fn tokens(text: &str) -> Vec<String> {
    fold(text).split(' ').filter(|t| !t.is_empty()).map(str::to_string).collect()
}

const PARTICLES: &[&str] = &["DE", "DEL", "LA", "LAS", "LOS", "Y", "SAN", "SANTA"];

/// Groups particles with the surname that follows them.
pub fn group_surnames(text: &str) -> Vec<String> {
    let mut groups = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for t in tokens(text) {
        if t == "Y" && pending.is_empty() && !groups.is_empty() {
            continue; // "PEREZ Y GARCIA": the conjunction joins two surnames
        }
        let is_particle = PARTICLES.contains(&t.as_str());
        pending.push(t);
        if !is_particle {
            groups.push(pending.join(" "));
            pending.clear();
        }
    }
    if !pending.is_empty() {
        groups.push(pending.join(" "));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_accents() {
        assert_eq!(fold("Hernández-López"), "HERNANDEZ LOPEZ");
        assert_eq!(fold("  josé   luis "), "JOSE LUIS");
        assert_eq!(fold("Muñoz"), "MUNOZ");
    }

    #[test]
    fn groups_particles() {
        assert_eq!(group_surnames("DE LA CRUZ LOPEZ"), vec!["DE LA CRUZ", "LOPEZ"]);
        assert_eq!(group_surnames("Pérez y García"), vec!["PEREZ", "GARCIA"]);
        assert_eq!(group_surnames("DEL RIO"), vec!["DEL RIO"]);
    }

    #[test]
    fn fnu_lnu_are_missing_and_empty_is_refused() {
        let n = PersonName::parse("FNU", "lnu");
        assert_eq!(n, Ok(PersonName { given: None, family: None }));
        assert_eq!(PersonName::parse(" ", "X"), Err(NameError::Empty("given_names")));
    }
}
