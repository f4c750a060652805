//! The projector: turns each event into rows of the read tables, in the
//! same transaction as the append. `rebuild` folds the log in memory instead
//! (`fold.rs`), to the same rows: the rebuild-equals-live tests check it.

use crate::{Key, schema};
use kinship_domain::event::{Custodian, EncounterRef, FamilyLink, Subject};
use kinship_domain::family::ReviewDecision;
use kinship_domain::person::{Identity, SourceRef};
use kinship_domain::{Event, FamilyId, PersonId, name};
use rusqlite::{Connection, params};
use std::collections::{HashMap, HashSet};
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

/// One `persons` row before it is written, as both writers hold it: the
/// live projector (a person recorded in this batch, whose following events
/// change the row in memory) and the rebuild (every person).
pub struct PersonRow {
    pub id: PersonId,
    /// given, family, birth date, sex, citizenship, A-number.
    pub identity: [Option<String>; 6],
    pub birth_estimated: bool,
    pub first_encountered: String,
    pub first_encountered_utc: String,
    pub custody_status: &'static str,
    pub custody_agency: Option<String>,
    pub custody_facility: Option<String>,
    pub custody_since: Option<String>,
    pub pending_transfer_to: Option<String>,
    pub us_address: Option<String>,
    pub family_id: Option<FamilyId>,
    pub referred_at: Option<String>,
    pub aged_out: bool,
}

/// The insert [`PersonRow::insert`] binds; `num` NULL lets SQLite number the row.
pub(crate) const INSERT_PERSON: &str = "INSERT INTO persons (num, id, given, family, birth_date, birth_estimated, sex, citizenship, a_number, \
     first_encountered, first_encountered_utc, custody_status, custody_agency, custody_facility, custody_since, \
     pending_transfer_to, us_address, family_id, referred_at, aged_out) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";

impl PersonRow {
    /// The row as a `PersonRecorded` leaves it.
    pub(crate) fn recorded(
        person: PersonId,
        identity: &Identity,
        encounter: &EncounterRef,
        custody: Option<&Custodian>,
        family: Option<&FamilyLink>,
    ) -> Self {
        Self {
            id: person,
            identity: identity_columns(identity),
            birth_estimated: identity.birth.is_some_and(|b| b.estimated),
            first_encountered: encounter.at.as_str().to_string(),
            first_encountered_utc: utc(&encounter.at),
            custody_status: if custody.is_some() { "in_custody" } else { "none" },
            custody_agency: custody.map(|c| c.agency.clone()),
            custody_facility: custody.and_then(|c| c.facility.clone()),
            custody_since: custody.map(|_| encounter.at.as_str().to_string()),
            pending_transfer_to: None,
            us_address: None,
            family_id: family.map(|l| l.family),
            referred_at: None,
            aged_out: false,
        }
    }

    /// Writes the row with [`INSERT_PERSON`].
    pub(crate) fn insert(&self, insert: &mut rusqlite::Statement<'_>, num: Option<i64>) -> rusqlite::Result<()> {
        let [given, family, birth, sex, citizenship, a_number] = &self.identity;
        insert.execute(params![
            num,
            self.id.key(),
            given,
            family,
            birth,
            self.birth_estimated,
            sex,
            citizenship,
            a_number,
            self.first_encountered,
            self.first_encountered_utc,
            self.custody_status,
            self.custody_agency,
            self.custody_facility,
            self.custody_since,
            self.pending_transfer_to,
            self.us_address,
            self.family_id.as_ref().map(Key::key),
            self.referred_at,
            self.aged_out
        ])?;
        Ok(())
    }
}

/// A person inserted by this transaction but not written yet, with its
/// name-index tokens. Written (in the order recorded) before anything reads
/// `persons`, and at the end of the batch.
struct NewPerson {
    row: PersonRow,
    tokens: String,
}

impl std::ops::Deref for NewPerson {
    type Target = PersonRow;
    fn deref(&self) -> &PersonRow {
        &self.row
    }
}

impl std::ops::DerefMut for NewPerson {
    fn deref_mut(&mut self) -> &mut PersonRow {
        &mut self.row
    }
}

/// A family formed in this transaction, not written yet (see [`NewPerson`]).
struct NewFamily {
    id: FamilyId,
    kind: &'static str,
    formed_at: String,
    source: Option<String>,
    source_family_id: Option<String>,
    lead: Option<PersonId>,
}

/// What the projector needs of an event that can be worked out before the
/// append, on another thread (`append::prepare`, on the importer's thread):
/// the appending thread is the import's bound.
#[derive(Default)]
pub enum Hint {
    #[default]
    None,
    /// A recorded person's folded name tokens ([`name_tokens`]).
    NameTokens(String),
}

impl Hint {
    pub fn of(event: &Event) -> Self {
        match event {
            Event::PersonRecorded { identity, .. } => {
                Hint::NameTokens(name_tokens(identity.name.given.as_deref(), identity.name.family.as_deref()))
            }
            _ => Hint::None,
        }
    }
}

/// Encounter keys known to exist in this transaction: the second record of
/// an encounter skips the `INSERT OR IGNORE`. Bounded, as one projector
/// serves a whole append batch (an import chunk of thousands of rows).
const KNOWN_ENCOUNTERS: usize = 100_000;

pub struct Projector<'c> {
    conn: &'c Connection,
    /// The statements every recorded person runs, prepared once per batch:
    /// `prepare_cached` per row hashed each SQL text to find it again.
    insert_record: rusqlite::CachedStatement<'c>,
    insert_encounter: rusqlite::CachedStatement<'c>,
    insert_custody: rusqlite::CachedStatement<'c>,
    persons: Vec<NewPerson>,
    person_index: HashMap<PersonId, usize>,
    families: Vec<NewFamily>,
    family_index: HashMap<FamilyId, usize>,
    encounters: HashSet<String>,
}

fn opt_date(i: &Identity) -> Option<String> {
    i.birth.map(|b| b.date.to_string())
}

pub(crate) fn utc(at: &kinship_domain::time::Instant) -> String {
    at.timestamp().to_string()
}

/// given, family, birth date, sex, citizenship, A-number: as the columns hold them.
pub(crate) fn identity_columns(i: &Identity) -> [Option<String>; 6] {
    [
        i.name.given.clone(),
        i.name.family.clone(),
        opt_date(i),
        i.sex.map(|s| format!("{s:?}")),
        i.citizenship.as_ref().map(|c| c.as_str().to_string()),
        i.a_number.as_ref().map(|a| a.as_str().to_string()),
    ]
}

/// The folded name tokens of a person, space-separated, for the FTS index.
pub(crate) fn name_tokens(given: Option<&str>, family: Option<&str>) -> String {
    let mut out = String::new();
    for t in given.into_iter().chain(family).flat_map(name::tokens) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t);
    }
    out
}

impl<'c> Projector<'c> {
    pub fn new(conn: &'c Connection) -> rusqlite::Result<Self> {
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Self {
            conn,
            insert_record: conn.prepare_cached(
                "INSERT INTO person_records (source, record_id, person_id, event_id, is_primary, encounter_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
            insert_encounter: conn.prepare_cached(
                "INSERT OR IGNORE INTO encounters (key, at, at_utc, local_date, sector, station) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?,
            insert_custody: conn.prepare_cached(
                "INSERT INTO custody (position, person_id, at, kind, agency, facility, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
            persons: vec![],
            person_index: HashMap::new(),
            families: vec![],
            family_index: HashMap::new(),
            encounters: HashSet::new(),
        })
    }

    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(p)
    }

    /// Writes the persons and families held in memory. Call before reading
    /// `persons` or `families` in SQL, and before commit.
    pub fn finish(&mut self) -> rusqlite::Result<()> {
        if !self.persons.is_empty() {
            let mut insert = self.conn.prepare_cached(INSERT_PERSON)?;
            let mut names = self.conn.prepare_cached("INSERT INTO person_names (rowid, tokens) VALUES (?1, ?2)")?;
            for p in self.persons.drain(..) {
                p.insert(&mut insert, None)?;
                if !p.tokens.is_empty() {
                    names.execute(params![self.conn.last_insert_rowid(), p.tokens])?;
                }
            }
            self.person_index.clear();
        }
        if !self.families.is_empty() {
            let mut insert = self.conn.prepare_cached(
                "INSERT INTO families (id, kind, formed_at, source, source_family_id, lead) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for f in self.families.drain(..) {
                insert.execute(params![f.id.key(), f.kind, f.formed_at, f.source, f.source_family_id, f.lead.as_ref().map(Key::key)])?;
            }
            self.family_index.clear();
        }
        Ok(())
    }

    /// Changes a person's row: in memory if it is not written yet, else in SQL.
    fn person(
        &mut self,
        person: &PersonId,
        change: impl FnOnce(&mut NewPerson),
        sql: &str,
        p: impl rusqlite::Params,
    ) -> rusqlite::Result<()> {
        match self.person_index.get(person) {
            Some(&i) => {
                if let Some(row) = self.persons.get_mut(i) {
                    change(row);
                }
                Ok(())
            }
            None => {
                self.exec(sql, p)?;
                self.touch_person(person)
            }
        }
    }

    /// Projects one event; `hint` is [`Hint::of`] the same event, or `Hint::None`.
    pub fn apply(&mut self, position: u64, id: &Uuid, event: &Event, hint: Hint) -> rusqlite::Result<()> {
        let pos = position as i64;
        match event {
            Event::PersonRecorded { person, identity, record, encounter, custody, family, .. } => {
                let i = identity;
                let tokens = match hint {
                    Hint::NameTokens(t) => t,
                    Hint::None => name_tokens(i.name.given.as_deref(), i.name.family.as_deref()),
                };
                self.person_index.insert(*person, self.persons.len());
                let row = PersonRow::recorded(*person, i, encounter, custody.as_ref(), family.as_ref());
                self.persons.push(NewPerson { row, tokens });
                self.record(person, record, id, true, encounter)?;
                if let Some(c) = custody {
                    // The book-in's line of the custody history, as `BookedIn` writes it.
                    let row = CustodyRow { kind: "booked_in", agency: Some(&c.agency), facility: c.facility.as_deref(), detail: None };
                    self.custody(pos, person, &encounter.at, row)?;
                }
            }
            Event::RecordAttached { person, identity, record, encounter, .. } => {
                self.finish()?;
                // Another record fills the gaps; it never overwrites (as `evolve`).
                self.set_identity(person, identity, Fill::GapsOnly)?;
                self.record(person, record, id, false, encounter)?;
                self.refresh_names(person)?;
                self.refresh_first_encounter(person)?;
            }
            Event::RecordCorrected { person, record, person_identity, encounter, .. } => {
                self.finish()?;
                // The event carries the person's identity after the correction.
                self.set_identity(person, person_identity, Fill::Replace)?;
                self.encounter(encounter)?;
                self.exec(
                    "UPDATE person_records SET event_id = ?3, encounter_key = ?4 WHERE source = ?1 AND record_id = ?2",
                    params![record.source, record.record_id, &id.as_bytes()[..], encounter.key],
                )?;
                self.refresh_names(person)?;
                self.refresh_first_encounter(person)?;
            }
            Event::BookedIn { person, agency, facility, at } => {
                self.custody(
                    pos,
                    person,
                    at,
                    CustodyRow { kind: "booked_in", agency: Some(agency), facility: facility.as_deref(), detail: None },
                )?;
                self.in_custody(person, agency, facility, at)?;
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
                self.person(
                    person,
                    |p| p.pending_transfer_to = Some(to_agency.clone()),
                    "UPDATE persons SET pending_transfer_to = ?2 WHERE id = ?1",
                    params![person.key(), to_agency],
                )?;
            }
            Event::TransferAccepted { person, agency, facility, at, .. } => {
                self.custody(
                    pos,
                    person,
                    at,
                    CustodyRow { kind: "transfer_accepted", agency: Some(agency), facility: facility.as_deref(), detail: None },
                )?;
                self.in_custody(person, agency, facility, at)?;
            }
            Event::TransferRejected { person, agency, reason, at, .. } => {
                self.custody(
                    pos,
                    person,
                    at,
                    CustodyRow { kind: "transfer_rejected", agency: Some(agency), facility: None, detail: Some(reason) },
                )?;
                self.person(
                    person,
                    |p| p.pending_transfer_to = None,
                    "UPDATE persons SET pending_transfer_to = NULL WHERE id = ?1",
                    params![person.key()],
                )?;
            }
            Event::Released { person, at, us_address, conditions, .. } => {
                let detail = kinship_store::release_detail(us_address.as_deref(), conditions.as_deref());
                self.custody(pos, person, at, CustodyRow { kind: "released", agency: None, facility: None, detail: Some(&detail) })?;
                self.person(
                    person,
                    |p| {
                        p.custody_status = "released";
                        p.custody_agency = None;
                        p.custody_facility = None;
                        p.custody_since = Some(at.as_str().to_string());
                        p.pending_transfer_to = None;
                        p.us_address = us_address.clone();
                    },
                    "UPDATE persons SET custody_status = 'released', custody_agency = NULL, custody_facility = NULL, custody_since = ?2, pending_transfer_to = NULL, us_address = ?3 WHERE id = ?1",
                    params![person.key(), at.as_str(), us_address],
                )?;
            }
            Event::Removed { person, at, to_country, .. } => {
                let detail = to_country.as_ref().map(|c| format!("to {}", c.as_str()));
                self.custody(pos, person, at, CustodyRow { kind: "removed", agency: None, facility: None, detail: detail.as_deref() })?;
                self.person(
                    person,
                    |p| {
                        p.custody_status = "removed";
                        p.custody_agency = None;
                        p.custody_facility = None;
                        p.custody_since = Some(at.as_str().to_string());
                        p.pending_transfer_to = None;
                    },
                    "UPDATE persons SET custody_status = 'removed', custody_agency = NULL, custody_facility = NULL, custody_since = ?2, pending_transfer_to = NULL WHERE id = ?1",
                    params![person.key(), at.as_str()],
                )?;
            }
            Event::JoinedFamily { person, family, .. } => {
                self.person(
                    person,
                    |p| p.family_id = Some(*family),
                    "UPDATE persons SET family_id = ?2 WHERE id = ?1",
                    params![person.key(), family.key()],
                )?;
            }
            Event::LeftFamily { person, family } => {
                self.person(
                    person,
                    |p| {
                        if p.family_id == Some(*family) {
                            p.family_id = None;
                        }
                    },
                    "UPDATE persons SET family_id = NULL WHERE id = ?1 AND family_id = ?2",
                    params![person.key(), family.key()],
                )?;
            }
            Event::ReferredForProsecution { person, at, .. } => {
                self.person(
                    person,
                    |p| p.referred_at = Some(at.as_str().to_string()),
                    "UPDATE persons SET referred_at = ?2 WHERE id = ?1",
                    params![person.key(), at.as_str()],
                )?;
            }
            Event::AgedOut { person, .. } => {
                self.person(person, |p| p.aged_out = true, "UPDATE persons SET aged_out = 1 WHERE id = ?1", params![person.key()])?;
            }
            Event::FamilyFormed { family, kind, formed_at, source_family, .. } => {
                self.family_index.insert(*family, self.families.len());
                self.families.push(NewFamily {
                    id: *family,
                    kind: kind.as_str(),
                    formed_at: formed_at.as_str().to_string(),
                    source: source_family.as_ref().map(|s| s.source.clone()),
                    source_family_id: source_family.as_ref().map(|s| s.record_id.clone()),
                    lead: None,
                });
            }
            Event::MemberAdded { family, person, role, established, by, lead } => {
                let established = established.as_str();
                self.conn
                    .prepare_cached(
                        "INSERT INTO memberships (family_id, person_id, role, status, established, added_by) VALUES (?1, ?2, ?3, 'active', ?4, ?5) \
                         ON CONFLICT (family_id, person_id) DO UPDATE SET role = excluded.role, status = 'active', \
                         established = excluded.established, added_by = excluded.added_by, status_since = NULL, reunified_location = NULL",
                    )?
                    .execute(params![family.key(), person.key(), role.as_str(), established, by])?;
                if *lead {
                    self.lead(family, person)?;
                }
                // A member joining a family with someone separated may be a
                // child apart from a parent, or a parent a child is apart from.
                let separated: bool = self
                    .conn
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM memberships WHERE family_id = ?1 AND status = 'separated')")?
                    .query_row(params![family.key()], |r| r.get(0))?;
                if separated {
                    self.refresh_separated(family)?;
                }
            }
            Event::MembershipWithdrawn { family, person, .. } => {
                self.exec(
                    "UPDATE memberships SET status = 'withdrawn', status_since = NULL WHERE family_id = ?1 AND person_id = ?2",
                    params![family.key(), person.key()],
                )?;
                self.refresh_separated(family)?;
            }
            Event::MembershipCorrected { family, person, role, .. } => {
                self.exec(
                    "UPDATE memberships SET role = ?3 WHERE family_id = ?1 AND person_id = ?2",
                    params![family.key(), person.key(), role.as_str()],
                )?;
                // The separated-children lists name each parent's role.
                self.refresh_separated(family)?;
            }
            Event::LeadDesignated { family, person, .. } => self.lead(family, person)?,
            Event::SeparationRecorded { family, separation, members, reason_code, policy, narrative, approved_by, recorded_by, at } => {
                self.exec(
                    "INSERT INTO separations (id, family_id, reason_code, policy, narrative, approved_by, recorded_by, at, at_utc, review, event_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'awaiting_level_1', ?10)",
                    params![
                        separation.to_string(),
                        family.key(),
                        reason_code,
                        policy,
                        narrative,
                        approved_by,
                        recorded_by,
                        at.as_str(),
                        utc(at),
                        &id.as_bytes()[..]
                    ],
                )?;
                for m in members {
                    self.exec(
                        "INSERT INTO separation_members (separation_id, person_id) VALUES (?1, ?2)",
                        params![separation.to_string(), m.key()],
                    )?;
                    self.exec(
                        "UPDATE memberships SET status = 'separated', status_since = ?3 WHERE family_id = ?1 AND person_id = ?2",
                        params![family.key(), m.key(), at.as_str()],
                    )?;
                }
                self.refresh_separated(family)?;
            }
            Event::SeparationReviewed { family, separation, level, decision, note, by, at } => {
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
                self.exec(
                    "UPDATE separated_children SET review = ?3 WHERE family_id = ?1 AND separation_id = ?2",
                    params![family.key(), separation.to_string(), review],
                )?;
            }
            Event::SeparationCorrected { family, separation, reason_code, policy, narrative, .. } => {
                self.exec(
                    "UPDATE separations SET reason_code = ?2, policy = ?3, narrative = ?4, review = 'awaiting_level_1', event_id = ?5 WHERE id = ?1",
                    params![separation.to_string(), reason_code, policy, narrative, &id.as_bytes()[..]],
                )?;
                self.exec(
                    "UPDATE separated_children SET reason_code = ?3, policy = ?4, review = 'awaiting_level_1' \
                     WHERE family_id = ?1 AND separation_id = ?2",
                    params![family.key(), separation.to_string(), reason_code, policy],
                )?;
            }
            Event::MembersReunified { family, members, location, at, .. } => {
                for m in members {
                    self.exec(
                        "UPDATE memberships SET status = 'reunified', status_since = ?3, reunified_location = ?4 WHERE family_id = ?1 AND person_id = ?2",
                        params![family.key(), m.key(), at.as_str(), location],
                    )?;
                }
                self.refresh_separated(family)?;
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
            Event::LinkProposed { link, kind, a, b, relation, score, evidence, .. } => {
                self.exec(
                    "INSERT INTO links (id, position, kind, status, person_a, person_b, relation, score, evidence) \
                     VALUES (?1, ?2, ?3, 'proposed', ?4, ?5, ?6, ?7, ?8)",
                    params![
                        link.to_string(),
                        pos,
                        kind.as_str(),
                        a.to_string(),
                        b.to_string(),
                        relation.map(|r| r.as_str()),
                        score,
                        serde_json::to_string(evidence).unwrap_or_default()
                    ],
                )?;
            }
            Event::LinkConfirmed { link, family, note, by } => {
                self.exec(
                    "UPDATE links SET status = 'confirmed', decided_by = ?2, reason = ?3, family_id = ?4 WHERE id = ?1",
                    params![link.to_string(), by, note, family.map(|f| f.to_string())],
                )?;
            }
            Event::LinkRejected { link, reason, by } => {
                self.exec(
                    "UPDATE links SET status = 'rejected', decided_by = ?2, reason = ?3 WHERE id = ?1",
                    params![link.to_string(), by, reason],
                )?;
            }
            Event::IdentityLinked { link, automatic, by, .. } => {
                self.exec(
                    "UPDATE links SET status = 'linked', decided_by = ?2, automatic = ?3 WHERE id = ?1",
                    params![link.to_string(), by, automatic],
                )?;
            }
            Event::IdentityUnlinked { link, reason, by } => {
                self.exec(
                    "UPDATE links SET status = 'unlinked', decided_by = ?2, reason = ?3 WHERE id = ?1",
                    params![link.to_string(), by, reason],
                )?;
            }
            Event::LinkageRan { through, records, proposed, .. } => {
                self.exec(
                    "INSERT INTO linkage_runs (position, through, records, proposed) VALUES (?1, ?2, ?3, ?4)",
                    params![pos, *through as i64, *records as i64, *proposed as i64],
                )?;
            }
        }
        Ok(())
    }

    fn lead(&mut self, family: &FamilyId, person: &PersonId) -> rusqlite::Result<()> {
        match self.family_index.get(family).and_then(|&i| self.families.get_mut(i)) {
            Some(f) => f.lead = Some(*person),
            None => {
                self.exec("UPDATE families SET lead = ?2 WHERE id = ?1", params![family.key(), person.key()])?;
            }
        }
        Ok(())
    }

    fn in_custody(
        &mut self,
        person: &PersonId,
        agency: &str,
        facility: &Option<String>,
        at: &kinship_domain::time::Instant,
    ) -> rusqlite::Result<()> {
        self.person(
            person,
            |p| {
                p.custody_status = "in_custody";
                p.custody_agency = Some(agency.to_string());
                p.custody_facility = facility.clone();
                p.custody_since = Some(at.as_str().to_string());
                p.pending_transfer_to = None;
            },
            "UPDATE persons SET custody_status = 'in_custody', custody_agency = ?2, custody_facility = ?3, custody_since = ?4, pending_transfer_to = NULL WHERE id = ?1",
            params![person.key(), agency, facility, at.as_str()],
        )
    }

    fn set_identity(&self, person: &PersonId, i: &Identity, fill: Fill) -> rusqlite::Result<()> {
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
        let [given, family, birth, sex, citizenship, a_number] = identity_columns(i);
        self.exec(sql, params![person.key(), given, family, birth, i.birth.is_some_and(|b| b.estimated), sex, citizenship, a_number])?;
        self.touch_person(person)
    }

    fn record(&mut self, person: &PersonId, r: &SourceRef, id: &Uuid, primary: bool, e: &EncounterRef) -> rusqlite::Result<()> {
        self.insert_record.execute(params![r.source, r.record_id, person.key(), &id.as_bytes()[..], primary, e.key])?;
        self.encounter(e)
    }

    /// The first record of an encounter sets its time and place.
    fn encounter(&mut self, e: &EncounterRef) -> rusqlite::Result<()> {
        if self.encounters.contains(&e.key) {
            return Ok(());
        }
        self.insert_encounter.execute(params![e.key, e.at.as_str(), utc(&e.at), e.at.local_date().to_string(), e.sector, e.station])?;
        if self.encounters.len() >= KNOWN_ENCOUNTERS {
            self.encounters.clear();
        }
        self.encounters.insert(e.key.clone());
        Ok(())
    }

    fn custody(&mut self, pos: i64, person: &PersonId, at: &kinship_domain::time::Instant, row: CustodyRow<'_>) -> rusqlite::Result<()> {
        self.insert_custody.execute(params![pos, person.key(), at.as_str(), row.kind, row.agency, row.facility, row.detail])?;
        Ok(())
    }

    /// Re-indexes a person's name after their identity changed.
    fn refresh_names(&self, person: &PersonId) -> rusqlite::Result<()> {
        let (num, given, family): (i64, Option<String>, Option<String>) = self
            .conn
            .prepare_cached("SELECT num, given, family FROM persons WHERE id = ?1")?
            .query_row(params![person.key()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        self.exec("DELETE FROM person_names WHERE rowid = ?1", params![num])?;
        let tokens = name_tokens(given.as_deref(), family.as_deref());
        if !tokens.is_empty() {
            self.exec("INSERT INTO person_names (rowid, tokens) VALUES (?1, ?2)", params![num, tokens])?;
        }
        Ok(())
    }

    /// Recomputes which children of `family` are apart from a parent, by
    /// which separation, and the family's parents
    /// (`schema::FILL_SEPARATED_*`). Called whenever a membership's status
    /// changes or a member joins a family with someone separated: the only
    /// events that change who is listed.
    fn refresh_separated(&mut self, family: &FamilyId) -> rusqlite::Result<()> {
        let family = family.key();
        // The fill copies persons' columns: write the ones held in memory.
        self.finish()?;
        self.exec("DELETE FROM separated_children WHERE family_id = ?1", params![family])?;
        self.exec("DELETE FROM separated_parents WHERE family_id = ?1", params![family])?;
        self.exec(&schema::FILL_SEPARATED_CHILDREN.replace("{families}", "m.family_id = ?1"), params![family])?;
        self.exec(&schema::FILL_SEPARATED_PARENTS.replace("{families}", "m.family_id = ?1"), params![family])?;
        Ok(())
    }

    /// Copies a person's changed row into the separated-children tables, if
    /// they are listed there (as a child or a parent).
    fn touch_person(&self, person: &PersonId) -> rusqlite::Result<()> {
        let cols = schema::BRIEF_COLS;
        for (table, key) in [("separated_children", "child_id"), ("separated_parents", "parent_id")] {
            self.exec(
                &format!("UPDATE {table} SET ({cols}) = (SELECT {cols} FROM persons WHERE id = ?1) WHERE {key} = ?1"),
                params![person.key()],
            )?;
        }
        Ok(())
    }

    fn refresh_first_encounter(&self, person: &PersonId) -> rusqlite::Result<()> {
        self.exec(
            "UPDATE persons SET (first_encountered, first_encountered_utc) = \
             (SELECT e.at, e.at_utc FROM person_records r JOIN encounters e ON e.key = r.encounter_key \
              WHERE r.person_id = ?1 ORDER BY e.at_utc, e.at LIMIT 1) WHERE id = ?1",
            params![person.key()],
        )?;
        Ok(())
    }
}
