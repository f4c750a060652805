//! The projector: turns each event into rows of the read tables. Live appends
//! and `rebuild` run this same code, which is why a rebuild equals the live
//! projections.

use crate::{db_err, row_to_event, schema};
use kinship_domain::event::{EncounterRef, Subject};
use kinship_domain::family::ReviewDecision;
use kinship_domain::person::{Identity, SourceRef};
use kinship_domain::{Event, name};
use kinship_store::StoreError;
use rusqlite::{Connection, TransactionBehavior, params};
use uuid::Uuid;

/// How an identity is written to a person's row.
#[derive(Clone, Copy)]
enum Fill {
    Replace,
    GapsOnly,
}

/// One line of a person's custody history.
struct CustodyRow<'a> {
    kind: &'a str,
    agency: Option<&'a str>,
    facility: Option<&'a str>,
    detail: Option<&'a str>,
}

pub struct Projector<'c> {
    conn: &'c Connection,
}

fn opt_date(i: &Identity) -> Option<String> {
    i.birth.map(|b| b.date.to_string())
}

fn utc(at: &kinship_domain::time::Instant) -> String {
    at.timestamp().to_string()
}

impl<'c> Projector<'c> {
    pub fn new(conn: &'c Connection) -> rusqlite::Result<Self> {
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Self { conn })
    }

    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(p)
    }

    pub fn apply(&mut self, position: u64, id: &Uuid, event: &Event) -> rusqlite::Result<()> {
        let pos = position as i64;
        match event {
            Event::PersonRecorded { person, identity, record, encounter, .. } => {
                let i = identity;
                self.exec(
                    "INSERT INTO persons (id, given, family, birth_date, birth_estimated, sex, citizenship, a_number, first_encountered, first_encountered_utc) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        person.to_string(),
                        i.name.given,
                        i.name.family,
                        opt_date(i),
                        i.birth.is_some_and(|b| b.estimated),
                        i.sex.map(|s| format!("{s:?}")),
                        i.citizenship.as_ref().map(|c| c.as_str()),
                        i.a_number.as_ref().map(|a| a.as_str()),
                        encounter.at.as_str(),
                        utc(&encounter.at)
                    ],
                )?;
                self.names(&person.to_string(), i)?;
                self.record(person, record, id, true, encounter)?;
            }
            Event::RecordAttached { person, identity, record, encounter, .. } => {
                // Another record fills the gaps; it never overwrites (as `evolve`).
                self.set_identity(person, identity, Fill::GapsOnly)?;
                self.record(person, record, id, false, encounter)?;
                self.refresh_names(&person.to_string())?;
                self.refresh_first_encounter(&person.to_string())?;
            }
            Event::RecordCorrected { person, record, person_identity, encounter, .. } => {
                let pid = person.to_string();
                // The event carries the person's identity after the correction.
                self.set_identity(person, person_identity, Fill::Replace)?;
                self.exec(
                    "UPDATE person_records SET event_id = ?3 WHERE source = ?1 AND record_id = ?2",
                    params![record.source, record.record_id, id.to_string()],
                )?;
                self.encounter(encounter)?;
                self.exec(
                    "UPDATE encounter_persons SET key = ?3 WHERE source = ?1 AND record_id = ?2",
                    params![record.source, record.record_id, encounter.key],
                )?;
                self.refresh_names(&pid)?;
                self.refresh_first_encounter(&pid)?;
            }
            Event::BookedIn { person, agency, facility, at } => {
                self.custody(
                    pos,
                    person,
                    at,
                    CustodyRow { kind: "booked_in", agency: Some(agency), facility: facility.as_deref(), detail: None },
                )?;
                self.exec(
                    "UPDATE persons SET custody_status = 'in_custody', custody_agency = ?2, custody_facility = ?3, custody_since = ?4, pending_transfer_to = NULL WHERE id = ?1",
                    params![person.to_string(), agency, facility, at.as_str()],
                )?;
            }
            Event::TransferOffered { person, to_agency, to_facility, at, from_agency, .. } => {
                let detail = format!("from {from_agency}");
                self.custody(
                    pos,
                    person,
                    at,
                    CustodyRow {
                        kind: "transfer_offered",
                        agency: Some(to_agency),
                        facility: to_facility.as_deref(),
                        detail: Some(&detail),
                    },
                )?;
                self.exec("UPDATE persons SET pending_transfer_to = ?2 WHERE id = ?1", params![person.to_string(), to_agency])?;
            }
            Event::TransferAccepted { person, agency, facility, at, .. } => {
                self.custody(
                    pos,
                    person,
                    at,
                    CustodyRow { kind: "transfer_accepted", agency: Some(agency), facility: facility.as_deref(), detail: None },
                )?;
                self.exec(
                    "UPDATE persons SET custody_status = 'in_custody', custody_agency = ?2, custody_facility = ?3, custody_since = ?4, pending_transfer_to = NULL WHERE id = ?1",
                    params![person.to_string(), agency, facility, at.as_str()],
                )?;
            }
            Event::TransferRejected { person, agency, reason, at, .. } => {
                self.custody(
                    pos,
                    person,
                    at,
                    CustodyRow { kind: "transfer_rejected", agency: Some(agency), facility: None, detail: Some(reason) },
                )?;
                self.exec("UPDATE persons SET pending_transfer_to = NULL WHERE id = ?1", params![person.to_string()])?;
            }
            Event::Released { person, at, us_address, conditions, .. } => {
                let detail = match (us_address, conditions) {
                    (Some(a), Some(c)) => Some(format!("address: {a}; conditions: {c}")),
                    (Some(a), None) => Some(format!("address: {a}")),
                    (None, Some(c)) => Some(format!("no U.S. address; conditions: {c}")),
                    (None, None) => Some("no U.S. address".to_string()),
                };
                self.custody(pos, person, at, CustodyRow { kind: "released", agency: None, facility: None, detail: detail.as_deref() })?;
                self.exec(
                    "UPDATE persons SET custody_status = 'released', custody_agency = NULL, custody_facility = NULL, custody_since = ?2, pending_transfer_to = NULL, us_address = ?3 WHERE id = ?1",
                    params![person.to_string(), at.as_str(), us_address],
                )?;
            }
            Event::Removed { person, at, to_country, .. } => {
                let detail = to_country.as_ref().map(|c| format!("to {}", c.as_str()));
                self.custody(pos, person, at, CustodyRow { kind: "removed", agency: None, facility: None, detail: detail.as_deref() })?;
                self.exec(
                    "UPDATE persons SET custody_status = 'removed', custody_agency = NULL, custody_facility = NULL, custody_since = ?2, pending_transfer_to = NULL WHERE id = ?1",
                    params![person.to_string(), at.as_str()],
                )?;
            }
            Event::JoinedFamily { person, family, .. } => {
                self.exec("UPDATE persons SET family_id = ?2 WHERE id = ?1", params![person.to_string(), family.to_string()])?;
            }
            Event::ReferredForProsecution { person, at, .. } => {
                self.exec("UPDATE persons SET referred_at = ?2 WHERE id = ?1", params![person.to_string(), at.as_str()])?;
            }
            Event::AgedOut { person, .. } => {
                self.exec("UPDATE persons SET aged_out = 1 WHERE id = ?1", params![person.to_string()])?;
            }
            Event::FamilyFormed { family, kind, formed_at, source_family, .. } => {
                self.exec(
                    "INSERT INTO families (id, kind, formed_at, source, source_family_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        family.to_string(),
                        kind.as_str(),
                        formed_at.as_str(),
                        source_family.as_ref().map(|s| &s.source),
                        source_family.as_ref().map(|s| &s.record_id)
                    ],
                )?;
            }
            Event::MemberAdded { family, person, role, established, by } => {
                self.exec(
                    "INSERT INTO memberships (family_id, person_id, role, status, established, added_by) VALUES (?1, ?2, ?3, 'active', ?4, ?5)",
                    params![family.to_string(), person.to_string(), role.as_str(), format!("{established:?}").to_lowercase(), by],
                )?;
            }
            Event::LeadDesignated { family, person, .. } => {
                self.exec("UPDATE families SET lead = ?2 WHERE id = ?1", params![family.to_string(), person.to_string()])?;
            }
            Event::SeparationRecorded { family, separation, members, reason_code, policy, narrative, approved_by, recorded_by, at } => {
                self.exec(
                    "INSERT INTO separations (id, family_id, reason_code, policy, narrative, approved_by, recorded_by, at, at_utc, review, event_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'awaiting_level_1', ?10)",
                    params![
                        separation.to_string(),
                        family.to_string(),
                        reason_code,
                        policy,
                        narrative,
                        approved_by,
                        recorded_by,
                        at.as_str(),
                        utc(at),
                        id.to_string()
                    ],
                )?;
                for m in members {
                    self.exec(
                        "INSERT INTO separation_members (separation_id, person_id) VALUES (?1, ?2)",
                        params![separation.to_string(), m.to_string()],
                    )?;
                    self.exec(
                        "UPDATE memberships SET status = 'separated', status_since = ?3 WHERE family_id = ?1 AND person_id = ?2",
                        params![family.to_string(), m.to_string(), at.as_str()],
                    )?;
                }
            }
            Event::SeparationReviewed { separation, level, decision, note, by, at, .. } => {
                let (d, review) = match (decision, level) {
                    (ReviewDecision::Approve, 1) => ("approve", "awaiting_level_2".to_string()),
                    (ReviewDecision::Approve, _) => ("approve", "approved".to_string()),
                    (ReviewDecision::Return, l) => ("return", format!("returned_at_level_{l}")),
                };
                self.exec(
                    "INSERT INTO separation_reviews (position, separation_id, level, decision, note, by_user, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![pos, separation.to_string(), level, d, note, by, at.as_str()],
                )?;
                self.exec("UPDATE separations SET review = ?2 WHERE id = ?1", params![separation.to_string(), review])?;
            }
            Event::SeparationCorrected { separation, reason_code, policy, narrative, .. } => {
                self.exec(
                    "UPDATE separations SET reason_code = ?2, policy = ?3, narrative = ?4, review = 'awaiting_level_1', event_id = ?5 WHERE id = ?1",
                    params![separation.to_string(), reason_code, policy, narrative, id.to_string()],
                )?;
            }
            Event::MembersReunified { family, members, location, at, .. } => {
                for m in members {
                    self.exec(
                        "UPDATE memberships SET status = 'reunified', status_since = ?3, reunified_location = ?4 WHERE family_id = ?1 AND person_id = ?2",
                        params![family.to_string(), m.to_string(), at.as_str(), location],
                    )?;
                }
            }
            Event::FindingRaised { finding, kind, subjects, message, record } => {
                self.exec(
                    "INSERT INTO findings (id, position, kind, message, record_source, record_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        finding.to_string(),
                        pos,
                        kind,
                        message,
                        record.as_ref().map(|r| &r.source),
                        record.as_ref().map(|r| &r.record_id)
                    ],
                )?;
                for s in subjects {
                    let subject = match s {
                        Subject::Person(p) => p.to_string(),
                        Subject::Family(f) => f.to_string(),
                    };
                    self.exec(
                        "INSERT OR IGNORE INTO finding_subjects (finding_id, subject) VALUES (?1, ?2)",
                        params![finding.to_string(), subject],
                    )?;
                }
            }
            Event::FindingResolved { finding, resolution, by } => {
                self.exec(
                    "UPDATE findings SET resolution = ?2, resolved_by = ?3 WHERE id = ?1",
                    params![finding.to_string(), resolution, by],
                )?;
            }
        }
        Ok(())
    }

    fn set_identity(&self, person: &kinship_domain::PersonId, i: &Identity, fill: Fill) -> rusqlite::Result<()> {
        let sql = match fill {
            Fill::Replace => {
                "UPDATE persons SET given = ?2, family = ?3, birth_date = ?4, birth_estimated = ?5, sex = ?6, citizenship = ?7, \
                 a_number = ?8 WHERE id = ?1"
            }
            Fill::GapsOnly => {
                "UPDATE persons SET given = COALESCE(given, ?2), family = COALESCE(family, ?3), \
                 birth_estimated = CASE WHEN birth_date IS NULL THEN ?5 ELSE birth_estimated END, \
                 birth_date = COALESCE(birth_date, ?4), sex = COALESCE(sex, ?6), citizenship = COALESCE(citizenship, ?7), \
                 a_number = COALESCE(a_number, ?8) WHERE id = ?1"
            }
        };
        self.exec(
            sql,
            params![
                person.to_string(),
                i.name.given,
                i.name.family,
                opt_date(i),
                i.birth.is_some_and(|b| b.estimated),
                i.sex.map(|s| format!("{s:?}")),
                i.citizenship.as_ref().map(|c| c.as_str()),
                i.a_number.as_ref().map(|a| a.as_str())
            ],
        )?;
        Ok(())
    }

    fn record(&self, person: &kinship_domain::PersonId, r: &SourceRef, id: &Uuid, primary: bool, e: &EncounterRef) -> rusqlite::Result<()> {
        self.exec(
            "INSERT INTO person_records (source, record_id, person_id, event_id, is_primary) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![r.source, r.record_id, person.to_string(), id.to_string(), primary],
        )?;
        self.encounter(e)?;
        self.exec(
            "INSERT INTO encounter_persons (source, record_id, key, person_id) VALUES (?1, ?2, ?3, ?4)",
            params![r.source, r.record_id, e.key, person.to_string()],
        )?;
        Ok(())
    }

    /// The first record of an encounter sets its time and place.
    fn encounter(&self, e: &EncounterRef) -> rusqlite::Result<()> {
        self.exec(
            "INSERT OR IGNORE INTO encounters (key, at, at_utc, local_date, sector, station) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![e.key, e.at.as_str(), utc(&e.at), e.at.local_date().to_string(), e.sector, e.station],
        )?;
        Ok(())
    }

    fn custody(
        &self,
        pos: i64,
        person: &kinship_domain::PersonId,
        at: &kinship_domain::time::Instant,
        row: CustodyRow<'_>,
    ) -> rusqlite::Result<()> {
        self.exec(
            "INSERT INTO custody (position, person_id, at, kind, agency, facility, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![pos, person.to_string(), at.as_str(), row.kind, row.agency, row.facility, row.detail],
        )?;
        Ok(())
    }

    fn names(&self, pid: &str, i: &Identity) -> rusqlite::Result<()> {
        let given = i.name.given.as_deref().map(name::tokens).unwrap_or_default();
        let family = i.name.family.as_deref().map(name::tokens).unwrap_or_default();
        for t in given.iter().chain(family.iter()) {
            self.exec("INSERT OR IGNORE INTO person_names (person_id, token) VALUES (?1, ?2)", params![pid, t])?;
        }
        Ok(())
    }

    fn refresh_names(&self, pid: &str) -> rusqlite::Result<()> {
        self.exec("DELETE FROM person_names WHERE person_id = ?1", params![pid])?;
        let (given, family): (Option<String>, Option<String>) = self
            .conn
            .prepare_cached("SELECT given, family FROM persons WHERE id = ?1")?
            .query_row(params![pid], |r| Ok((r.get(0)?, r.get(1)?)))?;
        for t in given.iter().chain(family.iter()).flat_map(|s| name::tokens(s)) {
            self.exec("INSERT OR IGNORE INTO person_names (person_id, token) VALUES (?1, ?2)", params![pid, t])?;
        }
        Ok(())
    }

    fn refresh_first_encounter(&self, pid: &str) -> rusqlite::Result<()> {
        self.exec(
            "UPDATE persons SET (first_encountered, first_encountered_utc) = \
             (SELECT e.at, e.at_utc FROM encounter_persons ep JOIN encounters e ON e.key = ep.key \
              WHERE ep.person_id = ?1 ORDER BY e.at_utc, e.at LIMIT 1) WHERE id = ?1",
            params![pid],
        )?;
        Ok(())
    }
}

const REBUILD_PAGE: i64 = 50_000;

pub fn rebuild(conn: &mut Connection, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    for t in schema::PROJECTION_TABLES {
        tx.execute_batch(&format!("DROP TABLE IF EXISTS {t};")).map_err(db_err)?;
    }
    tx.execute_batch(schema::PROJECTIONS).map_err(db_err)?;
    let mut after = 0i64;
    let mut count = 0u64;
    {
        let mut projector = Projector::new(&tx).map_err(db_err)?;
        let mut page = tx
            .prepare("SELECT position, id, stream, version, type, payload, meta, prev_hash, hash FROM events WHERE position > ?1 ORDER BY position LIMIT ?2")
            .map_err(db_err)?;
        loop {
            let rows: Vec<_> =
                page.query_map(params![after, REBUILD_PAGE], row_to_event).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
            if rows.is_empty() {
                break;
            }
            for e in &rows {
                let ev = e.event()?;
                projector
                    .apply(e.position, &e.id, &ev)
                    .map_err(|err| StoreError::Corrupt { position: e.position, reason: format!("event cannot be projected: {err}") })?;
                after = e.position as i64;
                count += 1;
            }
            progress(after as u64);
        }
    }
    tx.execute_batch(schema::PROJECTION_INDEXES).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(count)
}
