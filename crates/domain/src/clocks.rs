//! The law's clocks, computed from state and the profile.

use crate::profile::{ClockKind, Profile};
use crate::state::{Custody, PersonState, World};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClockReading {
    pub clock: String,
    pub label: String,
    pub started: Timestamp,
    pub due: Timestamp,
    pub overdue: bool,
    /// Hours left (negative when overdue), rounded down.
    pub hours_left: i64,
}

/// The clocks running for a person at `now`.
pub fn running(world: &World, profile: &Profile, person: &PersonState, now: Timestamp) -> Vec<ClockReading> {
    let mut out = vec![];
    for (name, clock) in &profile.clocks {
        let start = match clock.applies_to {
            ClockKind::MinorInBorderCustody => match &person.custody {
                Some(Custody::InCustody { agency, .. }) if profile.is_border_agency(agency) => {
                    let minor = person.identity.birth.is_some_and(|b| b.age_on(now.to_zoned(jiff::tz::TimeZone::UTC).date()) < 18);
                    // The clock runs from the start of the unbroken stretch of
                    // border custody: a BP → OFO transfer does not reset it.
                    let start = person
                        .custody_spells
                        .iter()
                        .rev()
                        .take_while(|(a, _)| profile.is_border_agency(a))
                        .last()
                        .map(|(_, since)| since.timestamp());
                    if minor { start } else { None }
                }
                _ => None,
            },
            ClockKind::AdultProsecutionReferral => {
                let adult = person.identity.birth.is_none_or(|b| b.age_on(now.to_zoned(jiff::tz::TimeZone::UTC).date()) >= 18);
                if !adult || person.referred_for_prosecution.is_some() || !matches!(person.custody, Some(Custody::InCustody { .. })) {
                    None
                } else {
                    // Runs from the separation that named a prosecution reason,
                    // while the person is still separated under it.
                    world
                        .families
                        .values()
                        .filter(|f| f.member(person.id).is_some_and(|m| m.status == crate::family::MemberStatus::Separated))
                        .flat_map(|f| &f.separations)
                        .filter(|s| s.members.contains(&person.id))
                        .filter(|s| profile.reason_codes.get(&s.reason_code).is_some_and(|r| r.prosecution))
                        .map(|s| s.at.timestamp())
                        .min()
                }
            }
        };
        if let Some(started) = start {
            let due = started.saturating_add(SignedDuration::from_hours(i64::from(clock.hours))).unwrap_or(started);
            let left = due.duration_since(now);
            out.push(ClockReading {
                clock: name.clone(),
                label: clock.label.clone(),
                started,
                due,
                overdue: now > due,
                hours_left: left.as_secs().div_euclid(3600),
            });
        }
    }
    out
}
