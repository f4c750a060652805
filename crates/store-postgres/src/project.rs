//! The projector: turns each event into rows of the read tables. Live
//! appends and `rebuild` run this same code. It writes the same rows as the
//! SQLite backend's `project.rs` (the dump comparison test holds them to it).

use crate::append::lock_head;
use crate::conn::{Conn, Session, db_err};
use crate::migrate::PROJECTION_TABLES;
use crate::{EVENT_COLS, row_to_event};
use kinship_domain::event::{EncounterRef, Subject};
use kinship_domain::family::ReviewDecision;
use kinship_domain::person::{Identity, SourceRef};
use kinship_domain::time::Instant;
use kinship_domain::{Event, PersonId, name};
use kinship_store::StoreError;
use postgres::GenericClient;
use postgres::types::ToSql;
use uuid::Uuid;

type Q = Result<(), postgres::Error>;

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

pub struct Projector<'s, 'a, C: GenericClient> {
    db: &'s mut Session<'a, C>,
}

fn opt_date(i: &Identity) -> Option<String> {
    i.birth.map(|b| b.date.to_string())
}

fn utc(at: &Instant) -> String {
    at.timestamp().to_string()
}

fn sex(i: &Identity) -> Option<String> {
    i.sex.map(|s| format!("{s:?}"))
}

/// `update` (an `UPDATE persons … WHERE id = {id}`) in one statement with
/// the copy of the changed row into the separated-children tables, where
/// the person is listed (one round trip, as before). `ctes`: earlier
/// `name AS (…), ` clauses.
fn touching(ctes: &str, update: &str, id: &str) -> String {
    let cols = crate::migrate::BRIEF_COLS;
    format!(
        "WITH {ctes}u AS ({update} RETURNING {cols}), \
         sc AS (UPDATE separated_children SET ({cols}) = (SELECT {cols} FROM u) WHERE child_id = {id}) \
         UPDATE separated_parents SET ({cols}) = (SELECT {cols} FROM u) WHERE parent_id = {id}"
    )
}

/// How a custody event changes the person's row; `$2` is the person, `$3`
/// the time, `$5`/`$6` the agency and facility of the custody line.
const IN_CUSTODY: &str = "UPDATE persons SET custody_status = 'in_custody', custody_agency = $5, custody_facility = $6, \
                          custody_since = $3, pending_transfer_to = NULL WHERE id = $2";

fn name_tokens(i: &Identity) -> Vec<String> {
    let given = i.name.given.as_deref().map(name::tokens).unwrap_or_default();
    let family = i.name.family.as_deref().map(name::tokens).unwrap_or_default();
    given.into_iter().chain(family).collect()
}

impl<'s, 'a, C: GenericClient> Projector<'s, 'a, C> {
    pub fn new(db: &'s mut Session<'a, C>) -> Self {
        Self { db }
    }

    pub fn apply(&mut self, position: u64, id: &Uuid, event: &Event) -> Q {
        let pos = position as i64;
        // Event ids are kept as their 16 bytes, as the SQLite backend keeps them.
        let eid: &[u8] = id.as_bytes();
        match event {
            Event::PersonRecorded { person, identity: i, record: r, encounter: e, custody, family, .. } => {
                // One statement for the person, the name index, the record
                // and the encounter: the same rows as the separate inserts of
                // the SQLite projector, in one round trip.
                let tokens = name_tokens(i);
                self.db.exec(
                    "WITH p AS (INSERT INTO persons (num, id, given, family, birth_date, birth_estimated, sex, citizenship, a_number, \
                       first_encountered, first_encountered_utc) \
                       VALUES ((SELECT COALESCE(max(num), 0) + 1 FROM persons), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)), \
                     n AS (INSERT INTO person_names (person_id, token) SELECT $1, unnest($11::text[]) ON CONFLICT DO NOTHING), \
                     e AS (INSERT INTO encounters (key, at, at_utc, local_date, sector, station) VALUES ($15, $9, $10, $16, $17, $18) \
                       ON CONFLICT DO NOTHING) \
                     INSERT INTO person_records (source, record_id, person_id, event_id, is_primary, encounter_key) \
                       VALUES ($12, $13, $1, $14, TRUE, $15)",
                    &[
                        &person.to_string(),
                        &i.name.given,
                        &i.name.family,
                        &opt_date(i),
                        &i.birth.is_some_and(|b| b.estimated),
                        &sex(i),
                        &i.citizenship.as_ref().map(|c| c.as_str()),
                        &i.a_number.as_ref().map(|a| a.as_str()),
                        &e.at.as_str(),
                        &utc(&e.at),
                        &tokens,
                        &r.source,
                        &r.record_id,
                        &eid,
                        &e.key,
                        &e.at.local_date().to_string(),
                        &e.sector,
                        &e.station,
                    ],
                )?;
                // The book-in and the family the first event carries (as
                // `BookedIn` and `JoinedFamily` write them).
                if let Some(c) = custody {
                    let row = CustodyRow { kind: "booked_in", agency: Some(&c.agency), facility: c.facility.as_deref(), detail: None };
                    self.custody(pos, person, &e.at, row, IN_CUSTODY, None)?;
                }
                if let Some(l) = family {
                    self.db.exec("UPDATE persons SET family_id = $2 WHERE id = $1", &[&person.to_string(), &l.family.to_string()])?;
                }
            }
            Event::RecordAttached { person, identity, record, encounter, .. } => {
                let pid = person.to_string();
                // Another record fills the gaps; it never overwrites (as `evolve`).
                self.set_identity(&pid, identity, Fill::GapsOnly)?;
                self.record(&pid, record, eid, false, encounter)?;
                self.refresh_names(&pid)?;
                self.refresh_first_encounter(&pid)?;
            }
            Event::RecordCorrected { person, record, person_identity, encounter, .. } => {
                let pid = person.to_string();
                // The event carries the person's identity after the correction.
                self.set_identity(&pid, person_identity, Fill::Replace)?;
                self.encounter(encounter)?;
                self.db.exec(
                    "UPDATE person_records SET event_id = $3, encounter_key = $4 WHERE source = $1 AND record_id = $2",
                    &[&record.source, &record.record_id, &eid, &encounter.key],
                )?;
                self.refresh_names(&pid)?;
                self.refresh_first_encounter(&pid)?;
            }
            Event::BookedIn { person, agency, facility, at } => {
                let row = CustodyRow { kind: "booked_in", agency: Some(agency), facility: facility.as_deref(), detail: None };
                self.custody(pos, person, at, row, IN_CUSTODY, None)?;
            }
            Event::TransferOffered { person, to_agency, to_facility, at, from_agency, .. } => {
                let detail = format!("from {from_agency}");
                let row = CustodyRow {
                    kind: "transfer_offered",
                    agency: Some(to_agency),
                    facility: to_facility.as_deref(),
                    detail: Some(&detail),
                };
                self.custody(pos, person, at, row, "UPDATE persons SET pending_transfer_to = $5 WHERE id = $2", None)?;
            }
            Event::TransferAccepted { person, agency, facility, at, .. } => {
                let row = CustodyRow { kind: "transfer_accepted", agency: Some(agency), facility: facility.as_deref(), detail: None };
                self.custody(pos, person, at, row, IN_CUSTODY, None)?;
            }
            Event::TransferRejected { person, agency, reason, at, .. } => {
                let row = CustodyRow { kind: "transfer_rejected", agency: Some(agency), facility: None, detail: Some(reason) };
                self.custody(pos, person, at, row, "UPDATE persons SET pending_transfer_to = NULL WHERE id = $2", None)?;
            }
            Event::Released { person, at, us_address, conditions, .. } => {
                let detail = kinship_store::release_detail(us_address.as_deref(), conditions.as_deref());
                let row = CustodyRow { kind: "released", agency: None, facility: None, detail: Some(&detail) };
                let update = "UPDATE persons SET custody_status = 'released', custody_agency = NULL, custody_facility = NULL, \
                              custody_since = $3, pending_transfer_to = NULL, us_address = $8 WHERE id = $2";
                self.custody(pos, person, at, row, update, Some(us_address))?;
            }
            Event::Removed { person, at, to_country, .. } => {
                let detail = to_country.as_ref().map(|c| format!("to {}", c.as_str()));
                let row = CustodyRow { kind: "removed", agency: None, facility: None, detail: detail.as_deref() };
                let update = "UPDATE persons SET custody_status = 'removed', custody_agency = NULL, custody_facility = NULL, \
                              custody_since = $3, pending_transfer_to = NULL WHERE id = $2";
                self.custody(pos, person, at, row, update, None)?;
            }
            Event::JoinedFamily { person, family, .. } => {
                self.db.exec("UPDATE persons SET family_id = $2 WHERE id = $1", &[&person.to_string(), &family.to_string()])?;
            }
            Event::LeftFamily { person, family } => {
                self.db.exec(
                    "UPDATE persons SET family_id = NULL WHERE id = $1 AND family_id = $2",
                    &[&person.to_string(), &family.to_string()],
                )?;
            }
            Event::ReferredForProsecution { person, at, .. } => {
                self.db.exec("UPDATE persons SET referred_at = $2 WHERE id = $1", &[&person.to_string(), &at.as_str()])?;
            }
            Event::AgedOut { person, .. } => {
                self.db.exec(&touching("", "UPDATE persons SET aged_out = TRUE WHERE id = $1", "$1"), &[&person.to_string()])?;
            }
            Event::FamilyFormed { family, kind, formed_at, source_family, .. } => {
                self.db.exec(
                    "INSERT INTO families (id, kind, formed_at, source, source_family_id) VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &family.to_string(),
                        &kind.as_str(),
                        &formed_at.as_str(),
                        &source_family.as_ref().map(|s| &s.source),
                        &source_family.as_ref().map(|s| &s.record_id),
                    ],
                )?;
            }
            Event::MemberAdded { family, person, role, established, by, lead } => {
                self.db.exec(
                    "INSERT INTO memberships (family_id, person_id, role, status, established, added_by) VALUES ($1, $2, $3, 'active', $4, $5) \
                     ON CONFLICT (family_id, person_id) DO UPDATE SET role = excluded.role, status = 'active', \
                     established = excluded.established, added_by = excluded.added_by, status_since = NULL, reunified_location = NULL",
                    &[&family.to_string(), &person.to_string(), &role.as_str(), &format!("{established:?}").to_lowercase(), by],
                )?;
                if *lead {
                    self.db.exec("UPDATE families SET lead = $2 WHERE id = $1", &[&family.to_string(), &person.to_string()])?;
                }
                // A member joining a family with someone separated may be a
                // child apart from a parent, or a parent a child is apart from.
                let fid = family.to_string();
                let separated: bool = self
                    .db
                    .query_one("SELECT EXISTS (SELECT 1 FROM memberships WHERE family_id = $1 AND status = 'separated')", &[&fid])?
                    .get(0);
                if separated {
                    self.refresh_separated(&fid)?;
                }
            }
            Event::MembershipWithdrawn { family, person, .. } => {
                let fid = family.to_string();
                self.db.exec(
                    "UPDATE memberships SET status = 'withdrawn', status_since = NULL WHERE family_id = $1 AND person_id = $2",
                    &[&fid, &person.to_string()],
                )?;
                self.refresh_separated(&fid)?;
            }
            Event::MembershipCorrected { family, person, role, .. } => {
                let fid = family.to_string();
                self.db.exec(
                    "UPDATE memberships SET role = $3 WHERE family_id = $1 AND person_id = $2",
                    &[&fid, &person.to_string(), &role.as_str()],
                )?;
                // The separated-children lists name each parent's role.
                self.refresh_separated(&fid)?;
            }
            Event::LeadDesignated { family, person, .. } => {
                self.db.exec("UPDATE families SET lead = $2 WHERE id = $1", &[&family.to_string(), &person.to_string()])?;
            }
            Event::SeparationRecorded { family, separation, members, reason_code, policy, narrative, approved_by, recorded_by, at } => {
                let (sid, fid) = (separation.to_string(), family.to_string());
                self.db.exec(
                    "INSERT INTO separations (id, family_id, reason_code, policy, narrative, approved_by, recorded_by, at, at_utc, review, event_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'awaiting_level_1', $10)",
                    &[&sid, &fid, reason_code, policy, narrative, approved_by, recorded_by, &at.as_str(), &utc(at), &eid],
                )?;
                for m in members {
                    let mid = m.to_string();
                    self.db.exec("INSERT INTO separation_members (separation_id, person_id) VALUES ($1, $2)", &[&sid, &mid])?;
                    self.db.exec(
                        "UPDATE memberships SET status = 'separated', status_since = $3 WHERE family_id = $1 AND person_id = $2",
                        &[&fid, &mid, &at.as_str()],
                    )?;
                }
                self.refresh_separated(&fid)?;
            }
            Event::SeparationReviewed { family, separation, level, decision, note, by, at } => {
                let (d, review) = match (decision, level) {
                    (ReviewDecision::Approve, 1) => ("approve", "awaiting_level_2".to_string()),
                    (ReviewDecision::Approve, _) => ("approve", "approved".to_string()),
                    (ReviewDecision::Return, l) => ("return", format!("returned_at_level_{l}")),
                };
                let sid = separation.to_string();
                self.db.exec(
                    "INSERT INTO separation_reviews (position, separation_id, level, decision, note, by_user, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&pos, &sid, &i64::from(*level), &d, note, by, &at.as_str()],
                )?;
                self.db.exec(
                    "WITH s AS (UPDATE separations SET review = $2 WHERE id = $1) \
                     UPDATE separated_children SET review = $2 WHERE family_id = $3 AND separation_id = $1",
                    &[&sid, &review, &family.to_string()],
                )?;
            }
            Event::SeparationCorrected { family, separation, reason_code, policy, narrative, .. } => {
                self.db.exec(
                    "WITH s AS (UPDATE separations SET reason_code = $2, policy = $3, narrative = $4, review = 'awaiting_level_1', \
                       event_id = $5 WHERE id = $1) \
                     UPDATE separated_children SET reason_code = $2, policy = $3, review = 'awaiting_level_1' \
                       WHERE family_id = $6 AND separation_id = $1",
                    &[&separation.to_string(), reason_code, policy, narrative, &eid, &family.to_string()],
                )?;
            }
            Event::MembersReunified { family, members, location, at, .. } => {
                let fid = family.to_string();
                for m in members {
                    self.db.exec(
                        "UPDATE memberships SET status = 'reunified', status_since = $3, reunified_location = $4 WHERE family_id = $1 AND person_id = $2",
                        &[&fid, &m.to_string(), &at.as_str(), location],
                    )?;
                }
                self.refresh_separated(&fid)?;
            }
            Event::FindingRaised { finding, kind, subjects, message, record } => {
                let fid = finding.to_string();
                self.db.exec(
                    "INSERT INTO findings (id, position, kind, message, record_source, record_id) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&fid, &pos, kind, message, &record.as_ref().map(|r| &r.source), &record.as_ref().map(|r| &r.record_id)],
                )?;
                for s in subjects {
                    let subject = match s {
                        Subject::Person(p) => p.to_string(),
                        Subject::Family(f) => f.to_string(),
                    };
                    self.db.exec(
                        "INSERT INTO finding_subjects (finding_id, subject) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&fid, &subject],
                    )?;
                }
            }
            Event::FindingResolved { finding, resolution, by } => {
                self.db
                    .exec("UPDATE findings SET resolution = $2, resolved_by = $3 WHERE id = $1", &[&finding.to_string(), resolution, by])?;
            }
            Event::LinkProposed { link, kind, a, b, relation, score, evidence, .. } => {
                self.db.exec(
                    "INSERT INTO links (id, position, kind, status, person_a, person_b, relation, score, evidence) \
                     VALUES ($1, $2, $3, 'proposed', $4, $5, $6, $7, $8)",
                    &[
                        &link.to_string(),
                        &pos,
                        &kind.as_str(),
                        &a.to_string(),
                        &b.to_string(),
                        &relation.map(|r| r.as_str()),
                        &i32::from(*score),
                        &serde_json::to_string(evidence).unwrap_or_default(),
                    ],
                )?;
            }
            Event::LinkConfirmed { link, family, note, by } => {
                self.db.exec(
                    "UPDATE links SET status = 'confirmed', decided_by = $2, reason = $3, family_id = $4 WHERE id = $1",
                    &[&link.to_string(), by, note, &family.map(|f| f.to_string())],
                )?;
            }
            Event::LinkRejected { link, reason, by } => {
                self.db.exec(
                    "UPDATE links SET status = 'rejected', decided_by = $2, reason = $3 WHERE id = $1",
                    &[&link.to_string(), by, reason],
                )?;
            }
            Event::IdentityLinked { link, automatic, by, .. } => {
                self.db.exec(
                    "UPDATE links SET status = 'linked', decided_by = $2, automatic = $3 WHERE id = $1",
                    &[&link.to_string(), by, automatic],
                )?;
            }
            Event::IdentityUnlinked { link, reason, by } => {
                self.db.exec(
                    "UPDATE links SET status = 'unlinked', decided_by = $2, reason = $3 WHERE id = $1",
                    &[&link.to_string(), by, reason],
                )?;
            }
            Event::LinkageRan { through, records, proposed, .. } => {
                self.db.exec(
                    "INSERT INTO linkage_runs (position, through, records, proposed) VALUES ($1, $2, $3, $4)",
                    &[&pos, &(*through as i64), &(*records as i64), &(*proposed as i64)],
                )?;
            }
        }
        Ok(())
    }

    fn set_identity(&mut self, pid: &str, i: &Identity, fill: Fill) -> Q {
        let sql = match fill {
            Fill::Replace => {
                "UPDATE persons SET given = $2, family = $3, birth_date = $4, birth_estimated = $5, sex = $6, citizenship = $7, \
                 a_number = $8 WHERE id = $1"
            }
            Fill::GapsOnly => {
                "UPDATE persons SET given = COALESCE(given, $2), family = COALESCE(family, $3), \
                 birth_estimated = CASE WHEN birth_date IS NULL THEN $5 ELSE birth_estimated END, \
                 birth_date = COALESCE(birth_date, $4), sex = COALESCE(sex, $6), citizenship = COALESCE(citizenship, $7), \
                 a_number = COALESCE(a_number, $8) WHERE id = $1"
            }
        };
        self.db.exec(
            &touching("", sql, "$1"),
            &[
                &pid,
                &i.name.given,
                &i.name.family,
                &opt_date(i),
                &i.birth.is_some_and(|b| b.estimated),
                &sex(i),
                &i.citizenship.as_ref().map(|c| c.as_str()),
                &i.a_number.as_ref().map(|a| a.as_str()),
            ],
        )?;
        Ok(())
    }

    fn record(&mut self, pid: &str, r: &SourceRef, eid: &[u8], primary: bool, e: &EncounterRef) -> Q {
        self.db.exec(
            "WITH e AS (INSERT INTO encounters (key, at, at_utc, local_date, sector, station) VALUES ($6, $7, $8, $9, $10, $11) \
               ON CONFLICT DO NOTHING) \
             INSERT INTO person_records (source, record_id, person_id, event_id, is_primary, encounter_key) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&r.source, &r.record_id, &pid, &eid, &primary, &e.key, &e.at.as_str(), &utc(&e.at), &e.at.local_date().to_string(), &e.sector, &e.station],
        )?;
        Ok(())
    }

    /// The first record of an encounter sets its time and place.
    fn encounter(&mut self, e: &EncounterRef) -> Q {
        self.db.exec(
            "INSERT INTO encounters (key, at, at_utc, local_date, sector, station) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&e.key, &e.at.as_str(), &utc(&e.at), &e.at.local_date().to_string(), &e.sector, &e.station],
        )?;
        Ok(())
    }

    /// The custody line and the person's row change in one statement.
    /// `update` may use `$8` for `extra`.
    fn custody(
        &mut self,
        pos: i64,
        person: &PersonId,
        at: &Instant,
        row: CustodyRow<'_>,
        update: &str,
        extra: Option<&Option<String>>,
    ) -> Q {
        let sql = touching(
            "c AS (INSERT INTO custody (position, person_id, at, kind, agency, facility, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)), ",
            update,
            "$2",
        );
        let (pid, at) = (person.to_string(), at.as_str());
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&pos, &pid, &at, &row.kind, &row.agency, &row.facility, &row.detail];
        if let Some(x) = extra {
            params.push(x);
        }
        self.db.exec(&sql, &params)?;
        Ok(())
    }

    fn refresh_names(&mut self, pid: &str) -> Q {
        self.db.exec("DELETE FROM person_names WHERE person_id = $1", &[&pid])?;
        let row = self.db.query_one("SELECT given, family FROM persons WHERE id = $1", &[&pid])?;
        let (given, family): (Option<String>, Option<String>) = (row.get(0), row.get(1));
        let tokens: Vec<String> = given.iter().chain(family.iter()).flat_map(|s| name::tokens(s)).collect();
        self.db
            .exec("INSERT INTO person_names (person_id, token) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING", &[&pid, &tokens])?;
        Ok(())
    }

    /// Recomputes which children of `family` are apart from a parent, by
    /// which separation, and the family's parents, as the SQLite projector does.
    fn refresh_separated(&mut self, family: &str) -> Q {
        self.db.exec(
            "WITH c AS (DELETE FROM separated_children WHERE family_id = $1) DELETE FROM separated_parents WHERE family_id = $1",
            &[&family],
        )?;
        self.db.exec(crate::migrate::REFRESH_SEPARATED_CHILDREN, &[&family])?;
        self.db.exec(crate::migrate::REFRESH_SEPARATED_PARENTS, &[&family])?;
        Ok(())
    }

    fn refresh_first_encounter(&mut self, pid: &str) -> Q {
        self.db.exec(
            "UPDATE persons SET (first_encountered, first_encountered_utc) = \
             (SELECT e.at, e.at_utc FROM person_records r JOIN encounters e ON e.key = r.encounter_key \
              WHERE r.person_id = $1 ORDER BY e.at_utc, e.at LIMIT 1) WHERE id = $1",
            &[&pid],
        )?;
        Ok(())
    }
}

const REBUILD_PAGE: i64 = 20_000;

/// Empties every projection and replays the whole log into it, in one
/// transaction that holds the log head (no append can interleave). Tables are
/// truncated, not dropped, so the application role (which may not own
/// tables) can rebuild.
pub fn rebuild(conn: &mut Conn, progress: &mut dyn FnMut(u64)) -> Result<u64, StoreError> {
    let Conn { client, cache } = conn;
    let mut tx = client.transaction().map_err(db_err)?;
    let mut db = Session::new(&mut tx, cache);
    lock_head(&mut db)?;
    db.client.batch_execute(&format!("TRUNCATE {}", PROJECTION_TABLES.join(", "))).map_err(db_err)?;
    let sql = format!("SELECT {EVENT_COLS} FROM events WHERE position > $1 ORDER BY position LIMIT $2");
    let mut after = 0i64;
    let mut count = 0u64;
    loop {
        let rows = db.query(&sql, &[&after, &REBUILD_PAGE]).map_err(db_err)?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let e = row_to_event(r)?;
            let ev = e.event()?;
            Projector::new(&mut db).apply(e.position, &e.id, &ev).map_err(|err| StoreError::Corrupt {
                position: e.position,
                reason: format!("event cannot be projected: {}", db_err(err)),
            })?;
            after = e.position as i64;
            count += 1;
        }
        progress(after as u64);
    }
    tx.commit().map_err(db_err)?;
    Ok(count)
}
