//! Time-driven checks that turn the passage of time into events: a child who
//! turns 18 in custody is reclassified, and that is surfaced as a finding.

use crate::engine::Engine;
use crate::error::AppError;
use jiff::civil::Date;
use kinship_domain::command::Command;
use kinship_domain::state::Custody;
use kinship_domain::{Actor, CommandMeta};
use kinship_store::Store;

/// Records every age-out due on `today`. Returns how many were recorded.
pub fn age_outs<S: Store>(engine: &Engine<S>, today: Date, meta_for: &dyn Fn(String) -> CommandMeta) -> Result<u64, AppError> {
    let world = engine.replay_all()?;
    let mut n = 0;
    for p in world.persons.values() {
        let in_custody = matches!(p.custody, Some(Custody::InCustody { .. }));
        let Some(adult_on) = p.identity.birth.and_then(|b| b.adult_on()) else { continue };
        if !in_custody || p.aged_out || adult_on > today || p.first_encountered.local_date() >= adult_on {
            continue;
        }
        let meta = meta_for(format!("sweep:age-out:{}", p.id));
        engine.execute(&meta, &Command::RecordAgeOut { person: p.id, on: today })?;
        n += 1;
    }
    Ok(n)
}

pub fn system_actor() -> Actor {
    Actor { user: "kinship-sweep".into(), agency: "HQ".into(), role: "admin".into() }
}
