//! Object-level access: which persons a principal reaches. With reach
//! `agency`, a person is reached when they are in the agency's custody, have
//! a transfer offered to it, or were recorded by it ("tied"), or when a
//! member of their current family is tied. Everything else is answered as
//! if it did not exist (404), so probing ids learns nothing. A finding is
//! reached when every person and family it is about is reached: its message
//! speaks of all of them.

use super::Principal;
use crate::engine::{Cache, Engine};
use crate::error::AppError;
use kinship_domain::event::Subject;
use kinship_domain::state::Custody;
use kinship_domain::visibility::Reach;
use kinship_domain::{FamilyId, FindingId, LinkId, PersonId, PersonState};
use kinship_store::Store;
use std::collections::HashMap;

pub fn tied(p: &PersonState, agency: &str) -> bool {
    matches!(&p.custody, Some(Custody::InCustody { agency: a, .. }) if a == agency)
        || p.pending_transfer.as_ref().is_some_and(|t| t.to_agency == agency)
        || p.records.iter().any(|r| r.record.source == agency)
}

/// Answers reach questions for one request, caching what it loads (a list
/// of a hundred children from twenty families loads each family once).
pub struct Reacher<'e, S: Store> {
    engine: &'e Engine<S>,
    reach: Reach,
    agency: String,
    cache: Cache,
    families: HashMap<FamilyId, bool>,
}

impl<'e, S: Store> Reacher<'e, S> {
    pub fn new(engine: &'e Engine<S>, who: &Principal) -> Self {
        Self {
            engine,
            reach: engine.profile.reach(&who.role),
            agency: who.agency.clone(),
            cache: Cache::default(),
            families: HashMap::new(),
        }
    }

    /// Does the person exist and does the principal reach them?
    pub fn person(&mut self, id: PersonId) -> Result<bool, AppError> {
        if self.reach == Reach::None {
            return Ok(false);
        }
        let world = self.engine.prepare_view(&mut self.cache, id)?;
        let Some(p) = world.persons.get(&id) else { return Ok(false) };
        if self.reach == Reach::All || tied(p, &self.agency) {
            return Ok(true);
        }
        match p.family {
            Some(f) => self.family(f),
            None => Ok(false),
        }
    }

    /// Does the family exist with a member the principal's agency is tied to?
    pub fn family(&mut self, id: FamilyId) -> Result<bool, AppError> {
        match self.reach {
            Reach::None => return Ok(false),
            Reach::All => return Ok(self.engine.prepare_view_family(&mut self.cache, id)?.families.contains_key(&id)),
            Reach::Agency => {}
        }
        if let Some(known) = self.families.get(&id) {
            return Ok(*known);
        }
        let members: Vec<PersonId> = self
            .engine
            .prepare_view_family(&mut self.cache, id)?
            .families
            .get(&id)
            .map(|f| f.members.iter().map(|m| m.person).collect())
            .unwrap_or_default();
        let mut found = false;
        for m in members {
            let world = self.engine.prepare_view(&mut self.cache, m)?;
            if world.persons.get(&m).is_some_and(|p| tied(p, &self.agency)) {
                found = true;
                break;
            }
        }
        self.families.insert(id, found);
        Ok(found)
    }

    /// Does the finding exist with every subject in the principal's reach?
    /// A finding about no one is reached only with reach `all`.
    pub fn finding(&mut self, id: FindingId) -> Result<bool, AppError> {
        if self.reach == Reach::None {
            return Ok(false);
        }
        let Some(f) = self.engine.prepare_view_finding(&mut self.cache, id)?.findings.get(&id) else { return Ok(false) };
        if self.reach == Reach::All {
            return Ok(true);
        }
        let subjects = f.subjects.clone();
        if subjects.is_empty() {
            return Ok(false);
        }
        for s in subjects {
            let reached = match s {
                Subject::Person(p) => self.person(p)?,
                Subject::Family(f) => self.family(f)?,
            };
            if !reached {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Does the worklist item exist with both its persons in reach? (Its
    /// evidence speaks of both, as a finding's message does.)
    pub fn link(&mut self, id: LinkId) -> Result<bool, AppError> {
        if self.reach == Reach::None {
            return Ok(false);
        }
        let Some(l) = self.engine.prepare_view_link(&mut self.cache, id)?.links.get(&id) else { return Ok(false) };
        if self.reach == Reach::All {
            return Ok(true);
        }
        let (a, b) = (l.a, l.b);
        Ok(self.person(a)? && self.person(b)?)
    }

    /// The state loaded so far (persons and families asked about).
    pub fn world(&self) -> &kinship_domain::World {
        &self.cache.world
    }
}
