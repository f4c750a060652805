//! The alien registration number. An [`ANumber`] value is always valid: it can
//! only be built by [`ANumber::parse`], so no code downstream re-checks it.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ANumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an A-number has 8 or 9 digits (A, spaces and dashes are ignored); got {0:?}")]
pub struct ANumberError(pub String);

impl ANumber {
    /// Accepts `A-012-345-678`, `a 12345678`, `012345678`. Eight-digit numbers
    /// keep their eight digits: zero-padding is a display choice, and
    /// comparing `12345678` with `012345678` is done through [`ANumber::value`].
    pub fn parse(raw: &str) -> Result<Self, ANumberError> {
        let mut digits = String::with_capacity(9);
        for (i, c) in raw.trim().chars().enumerate() {
            match c {
                'A' | 'a' if i == 0 => {}
                ' ' | '-' => {}
                '0'..='9' => digits.push(c),
                _ => return Err(ANumberError(raw.to_string())),
            }
        }
        if !(8..=9).contains(&digits.len()) {
            return Err(ANumberError(raw.to_string()));
        }
        // Normalise to nine digits so that A12345678 and A012345678 are one number.
        if digits.len() == 8 {
            digits.insert(0, '0');
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ANumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ANumber {
    type Error = ANumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ANumber> for String {
    fn from(value: ANumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_the_spec_example() {
        assert_eq!(ANumber::parse("A-012-345-678").map(|a| a.0), Ok("012345678".into()));
        assert_eq!(ANumber::parse("a 12345678").map(|a| a.0), Ok("012345678".into()));
        assert_eq!(ANumber::parse("12345678").ok(), ANumber::parse("012345678").ok());
    }

    #[test]
    fn refuses_wrong_lengths_and_letters() {
        for bad in ["", "A", "1234567", "1234567890", "A12B45678", "12345678A", "AA12345678"] {
            assert!(ANumber::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
