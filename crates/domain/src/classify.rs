//! Classification derived from the facts, where the facts allow.

use crate::family::{Classification, FamilyKind};
use crate::ids::PersonId;
use crate::state::World;
use crate::time::Instant;

/// `None` when the birth date is unknown: guessing whether someone is a child
/// is exactly what must not happen silently.
pub fn classify(world: &World, person: PersonId, at: &Instant) -> Option<Classification> {
    let p = world.persons.get(&person)?;
    let minor = p.identity.birth?.age_on(at.local_date()) < 18;
    let family = world.active_family(person).and_then(|f| world.families.get(&f));
    Some(match (minor, family) {
        (false, None) => Classification::SingleAdult,
        (false, Some(f)) if f.kind == FamilyKind::Unit => Classification::FamilyUnitMember,
        (false, Some(_)) => Classification::FamilyGroupMember,
        (true, Some(f)) if f.kind == FamilyKind::Unit => {
            // A child is a family unit member only while a parent or guardian
            // is with the family; otherwise the law treats them as a UAC.
            let with_parent = f.members.iter().any(|m| m.role.is_parent_or_guardian() && m.status.is_with_family());
            if with_parent { Classification::FamilyUnitMember } else { Classification::Uac }
        }
        // Relatives other than a parent or legal guardian do not make a child
        // "accompanied" in law (TVPRA): the child is a UAC.
        (true, _) => Classification::Uac,
    })
}
