//! The rows of a rebuild, written into a scratch database ([`crate::scratch`])
//! by the thread that owns that part of the fold. Each table is written in
//! its key order, so every insert lands at the end of its B-tree; the
//! rebuilding connection then copies the finished B-trees as they are.

use crate::Key;
use crate::fold::{Custody, Fold, Person};
use crate::project::{INSERT_PERSON, name_tokens};
use rusqlite::{Connection, params};

/// Writes custody lines in key order (person, position).
pub fn write_custody(tx: &Connection, mut rows: Vec<Custody>) -> rusqlite::Result<()> {
    rows.sort_unstable_by_key(|c| (c.person, c.position));
    let mut insert = tx.prepare_cached(
        "INSERT INTO custody (position, person_id, at, kind, agency, facility, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for c in rows {
        insert.execute(params![c.position, c.person.key(), c.at, c.kind, c.agency, c.facility, c.detail])?;
    }
    Ok(())
}

/// Writes `persons` (numbered in the order they were recorded, as the live
/// store numbers them) and their name tokens into the name index
/// (`person_names`; in one transaction the full-text index buffers its
/// entries and flushes them in large segments, not per row).
pub fn write_persons(tx: &Connection, persons: Vec<Person>) -> rusqlite::Result<()> {
    let mut insert = tx.prepare(INSERT_PERSON)?;
    let mut names = tx.prepare("INSERT INTO person_names (rowid, tokens) VALUES (?1, ?2)")?;
    for (i, p) in persons.into_iter().enumerate() {
        let num = i as i64 + 1;
        p.insert(&mut insert, Some(num))?;
        let [given, family, ..] = &p.identity;
        let tokens = name_tokens(given.as_deref(), family.as_deref());
        if !tokens.is_empty() {
            names.execute(params![num, tokens])?;
        }
    }
    Ok(())
}

/// Writes every other folded table (all but `persons` and `custody`).
pub fn write_rest(tx: &Connection, mut fold: Fold) -> rusqlite::Result<()> {
    {
        let mut records = std::mem::take(&mut fold.records);
        records.sort_unstable_by(|a, b| (&a.source, &a.record_id).cmp(&(&b.source, &b.record_id)));
        let mut insert = tx.prepare(
            "INSERT INTO person_records (source, record_id, person_id, event_id, is_primary, encounter_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in records {
            insert.execute(params![r.source, r.record_id, r.person.key(), &r.event_id.as_bytes()[..], r.primary, r.encounter_key])?;
        }
    }
    {
        let mut encounters: Vec<_> = std::mem::take(&mut fold.encounters).into_iter().collect();
        encounters.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut insert =
            tx.prepare("INSERT INTO encounters (key, at, at_utc, local_date, sector, station) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for (key, e) in encounters {
            insert.execute(params![key, e.at, e.at_utc, e.local_date, e.sector, e.station])?;
        }
    }
    write_families(tx, &mut fold)?;
    write_separations(tx, &mut fold)?;
    write_findings_and_links(tx, &mut fold)
}

fn write_families(tx: &Connection, fold: &mut Fold) -> rusqlite::Result<()> {
    let mut families: Vec<_> = std::mem::take(&mut fold.families).into_iter().collect();
    families.sort_unstable_by_key(|f| f.0);
    let mut insert =
        tx.prepare("INSERT INTO families (id, kind, formed_at, source, source_family_id, lead) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for (id, f) in families {
        insert.execute(params![id.key(), f.kind, f.formed_at, f.source, f.source_family_id, f.lead.as_ref().map(Key::key)])?;
    }
    let mut memberships: Vec<_> = std::mem::take(&mut fold.memberships).into_iter().collect();
    memberships.sort_unstable_by_key(|m| m.0);
    let mut insert = tx.prepare(
        "INSERT INTO memberships (family_id, person_id, role, status, established, added_by, status_since, reunified_location) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for ((family, person), m) in memberships {
        insert.execute(params![
            family.key(),
            person.key(),
            m.role,
            m.status,
            m.established,
            m.added_by,
            m.status_since,
            m.reunified_location
        ])?;
    }
    Ok(())
}

fn write_separations(tx: &Connection, fold: &mut Fold) -> rusqlite::Result<()> {
    let mut separations: Vec<_> = std::mem::take(&mut fold.separations).into_iter().collect();
    separations.sort_unstable_by_key(|s| s.0);
    let mut insert = tx.prepare(
        "INSERT INTO separations (id, family_id, reason_code, policy, narrative, approved_by, recorded_by, at, at_utc, review, event_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (id, s) in separations {
        insert.execute(params![
            id.to_string(),
            s.family.key(),
            s.reason_code,
            s.policy,
            s.narrative,
            s.approved_by,
            s.recorded_by,
            s.at,
            s.at_utc,
            s.review,
            &s.event_id.as_bytes()[..]
        ])?;
    }
    // A member named twice fails here, as the live insert does.
    let mut members = std::mem::take(&mut fold.separation_members);
    members.sort_unstable();
    let mut insert = tx.prepare("INSERT INTO separation_members (separation_id, person_id) VALUES (?1, ?2)")?;
    for (separation, person) in members {
        insert.execute(params![separation.to_string(), person.key()])?;
    }
    let mut insert = tx.prepare(
        "INSERT INTO separation_reviews (position, separation_id, level, decision, note, by_user, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for r in std::mem::take(&mut fold.reviews) {
        insert.execute(params![r.position, r.separation.to_string(), r.level, r.decision, r.note, r.by, r.at])?;
    }
    Ok(())
}

fn write_findings_and_links(tx: &Connection, fold: &mut Fold) -> rusqlite::Result<()> {
    let mut findings: Vec<_> = std::mem::take(&mut fold.findings).into_iter().collect();
    findings.sort_unstable_by_key(|f| f.0);
    let mut insert = tx.prepare(
        "INSERT INTO findings (id, position, kind, message, record_source, record_id, resolution, resolved_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (id, f) in findings {
        let (source, record_id) = f.record.map(|r| (r.source, r.record_id)).unzip();
        insert.execute(params![id.to_string(), f.position, f.kind, f.message, source, record_id, f.resolution, f.resolved_by])?;
    }
    let mut subjects = std::mem::take(&mut fold.finding_subjects);
    subjects.sort_unstable();
    subjects.dedup();
    let mut insert = tx.prepare("INSERT INTO finding_subjects (finding_id, subject) VALUES (?1, ?2)")?;
    for (finding, subject) in subjects {
        insert.execute(params![finding.to_string(), subject])?;
    }
    let mut links: Vec<_> = std::mem::take(&mut fold.links).into_iter().collect();
    links.sort_unstable_by_key(|l| l.0);
    let mut insert = tx.prepare(
        "INSERT INTO links (id, position, kind, status, person_a, person_b, relation, score, evidence, automatic, decided_by, reason, family_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for (id, l) in links {
        insert.execute(params![
            id.to_string(),
            l.position,
            l.kind,
            l.status,
            l.a.to_string(),
            l.b.to_string(),
            l.relation,
            l.score,
            l.evidence,
            l.automatic,
            l.decided_by,
            l.reason,
            l.family.map(|f| f.to_string())
        ])?;
    }
    let mut insert = tx.prepare("INSERT INTO linkage_runs (position, through, records, proposed) VALUES (?1, ?2, ?3, ?4)")?;
    for r in std::mem::take(&mut fold.runs) {
        insert.execute(params![r.position, r.through as i64, r.records as i64, r.proposed as i64])?;
    }
    Ok(())
}
