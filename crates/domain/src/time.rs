//! Instants with their UTC offset. A local time without an offset is refused
//! unless the caller names a zone: guessing the zone is how a 72-hour clock
//! silently becomes a 71- or 73-hour one.

use jiff::{Timestamp, tz::TimeZone};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An instant as recorded, keeping the offset it was recorded with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Instant {
    text: String,
    ts: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("time {0:?} has no UTC offset; write it as 2018-05-07T14:32:00-06:00 or import with --assume-tz ZONE")]
    NoOffset(String),
    #[error("time {0:?} is not an RFC 3339 timestamp (e.g. 2018-05-07T14:32:00-06:00)")]
    Invalid(String),
}

impl Instant {
    pub fn parse(raw: &str, assume: Option<&TimeZone>) -> Result<Self, TimeError> {
        let raw = raw.trim();
        if let Ok(ts) = raw.parse::<Timestamp>() {
            // Keep the recorded offset in the text, normalised by jiff.
            let zoned = jiff::fmt::temporal::Pieces::parse(raw).ok();
            let offset = zoned
                .and_then(|p| match p.offset() {
                    Some(jiff::fmt::temporal::PiecesOffset::Numeric(n)) => Some(n.offset()),
                    Some(jiff::fmt::temporal::PiecesOffset::Zulu) => Some(jiff::tz::Offset::UTC),
                    _ => None,
                })
                .unwrap_or(jiff::tz::Offset::UTC);
            return Ok(Self::from_parts(ts, offset));
        }
        let civil: jiff::civil::DateTime = raw.parse().map_err(|_| TimeError::Invalid(raw.to_string()))?;
        let Some(tz) = assume else {
            return Err(TimeError::NoOffset(raw.to_string()));
        };
        let zoned = civil.to_zoned(tz.clone()).map_err(|_| TimeError::Invalid(raw.to_string()))?;
        Ok(Self::from_parts(zoned.timestamp(), zoned.offset()))
    }

    pub fn from_parts(ts: Timestamp, offset: jiff::tz::Offset) -> Self {
        let text = ts.display_with_offset(offset).to_string();
        Self { text, ts }
    }

    pub fn from_timestamp(ts: Timestamp) -> Self {
        Self::from_parts(ts, jiff::tz::Offset::UTC)
    }

    pub fn timestamp(&self) -> Timestamp {
        self.ts
    }

    /// The civil date where the instant was recorded (used for ages "at the encounter").
    pub fn local_date(&self) -> jiff::civil::Date {
        self.text.get(..10).and_then(|d| d.parse().ok()).unwrap_or_else(|| self.ts.to_zoned(TimeZone::UTC).date())
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for Instant {
    type Error = TimeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value, None)
    }
}

impl From<Instant> for String {
    fn from(value: Instant) -> Self {
        value.text
    }
}

impl PartialOrd for Instant {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Instant {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ts.cmp(&other.ts).then_with(|| self.text.cmp(&other.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_offset() {
        let i = Instant::parse("2018-05-07T14:32:00-06:00", None);
        assert_eq!(i.as_ref().map(|i| i.as_str()), Ok("2018-05-07T14:32:00-06:00"));
        assert_eq!(i.map(|i| i.timestamp().to_string()), Ok("2018-05-07T20:32:00Z".to_string()));
    }

    #[test]
    fn refuses_local_time_without_zone() {
        assert!(matches!(Instant::parse("2018-05-07T14:32:00", None), Err(TimeError::NoOffset(_))));
        assert!(matches!(Instant::parse("yesterday", None), Err(TimeError::Invalid(_))));
    }

    #[test]
    fn assumes_a_named_zone() {
        let tz = TimeZone::get("America/Chicago").ok();
        let i = Instant::parse("2018-05-07T14:32:00", tz.as_ref());
        assert_eq!(i.map(|i| i.as_str().to_string()), Ok("2018-05-07T14:32:00-05:00".to_string()));
    }
}
