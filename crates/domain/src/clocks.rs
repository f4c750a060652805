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
                    let minor = match person.identity.birth {
                        Some(b) => b.age_on(now.to_zoned(jiff::tz::TimeZone::UTC).date()) < 18,
                        None => presumed_minor(world, person),
                    };
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
            // Say so when the clock runs on a presumption: the reader must
            // know the age is not recorded.
            let presumed = clock.applies_to == ClockKind::MinorInBorderCustody && person.identity.birth.is_none();
            let label = if presumed { format!("{} (no birth date recorded: presumed a minor)", clock.label) } else { clock.label.clone() };
            let due = started.saturating_add(SignedDuration::from_hours(i64::from(clock.hours))).unwrap_or(started);
            let left = due.duration_since(now);
            out.push(ClockReading {
                clock: name.clone(),
                label,
                started,
                due,
                overdue: now > due,
                hours_left: left.as_secs().div_euclid(3600),
            });
        }
    }
    out
}

/// With no birth date, a person recorded as a child (a son, daughter or child
/// in a family, or classified by a source as an unaccompanied or accompanied
/// minor) is presumed a minor: the child's clock protects a child whose age
/// nobody wrote down, instead of silently not running.
pub fn presumed_minor(world: &World, person: &PersonState) -> bool {
    use crate::family::Classification;
    let child_role =
        person.family.and_then(|f| world.families.get(&f)).and_then(|f| f.member(person.id)).is_some_and(|m| m.role.is_child());
    let classified =
        person.records.iter().any(|r| matches!(r.details.classification, Some(Classification::Uac | Classification::AccompaniedMinor)));
    child_role || classified
}
