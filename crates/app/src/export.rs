//! `kinship export`: every record back out in interchange-v1, as recorded
//! (latest correction), with the family each person is in now.

use crate::engine::Engine;
use crate::error::AppError;
use crate::import::row::FIELDS;
use kinship_domain::state::{FamilyState, World};
use kinship_store::Store;
use std::collections::BTreeSet;
use std::io::Write;

pub fn export<S: Store>(engine: &Engine<S>, out: &mut dyn Write) -> Result<u64, AppError> {
    let world = engine.replay_all()?;
    write_csv(&world, out)
}

fn family_fields(f: &FamilyState, person: kinship_domain::PersonId, record_source: &str) -> Option<[String; 3]> {
    let m = f.member(person)?;
    let id = match &f.source_family {
        Some(s) if s.source == record_source => s.record_id.clone(),
        Some(_) => return None, // the family belongs to another source's records
        None => f.id.to_string(),
    };
    Some([id, f.kind.as_str().to_string(), m.role.as_str().to_string()])
}

pub fn write_csv(world: &World, out: &mut dyn Write) -> Result<u64, AppError> {
    let extra: BTreeSet<String> = world
        .persons
        .values()
        .flat_map(|p| p.records.iter().flat_map(|r| r.details.extra.iter().map(|(k, _)| format!("extra.{k}"))))
        .collect();
    let mut w = csv::Writer::from_writer(out);
    let header: Vec<&str> = FIELDS.iter().copied().chain(extra.iter().map(String::as_str)).collect();
    w.write_record(&header).map_err(|e| AppError::Input(e.to_string()))?;
    let mut n = 0;
    for p in world.persons.values() {
        let family = p.family.and_then(|f| world.families.get(&f));
        for (i, r) in p.records.iter().enumerate() {
            let id = &r.identity;
            let event_id = r.encounter.key.split_once(':').map(|(_, e)| e.to_string()).unwrap_or_default();
            let fam = family.and_then(|f| family_fields(f, p.id, &r.record.source)).filter(|_| {
                // A Kinship-made family is written once, on the first record.
                family.is_some_and(|f| f.source_family.is_some()) || i == 0
            });
            let mut row: Vec<String> = vec![
                r.record.source.clone(),
                r.record.record_id.clone(),
                event_id,
                r.encounter.at.to_string(),
                r.encounter.sector.clone().unwrap_or_default(),
                r.encounter.station.clone().unwrap_or_default(),
                id.a_number.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                id.name.given.clone().unwrap_or_else(|| "FNU".into()),
                id.name.family.clone().unwrap_or_else(|| "LNU".into()),
                id.birth.map(|b| b.date.to_string()).unwrap_or_default(),
                id.birth.map(|b| b.estimated.to_string()).unwrap_or_default(),
                id.sex.map(|s| format!("{s:?}")).unwrap_or_default(),
                id.citizenship.as_ref().map(|c| c.as_str().to_string()).unwrap_or_default(),
            ];
            let [fid, kind, role] = fam.unwrap_or_default();
            row.extend([fid, kind, role]);
            row.push(r.details.classification.map(|c| c.as_str().to_string()).unwrap_or_default());
            row.push(r.details.us_address.clone().unwrap_or_default());
            row.push(r.details.notes.clone().unwrap_or_default());
            for col in &extra {
                let key = col.strip_prefix("extra.").unwrap_or(col);
                row.push(r.details.extra.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default());
            }
            w.write_record(&row).map_err(|e| AppError::Input(e.to_string()))?;
            n += 1;
        }
    }
    w.flush().map_err(|e| AppError::Input(e.to_string()))?;
    Ok(n)
}
