//! `kinship import`: agency extracts become persons, encounters, families
//! and custody through the same commands as everything else.
//!
//! Rows that break the spec's rules are reported and skipped; what is wrong
//! with the family or person a row describes never loses the row: it becomes
//! a data-quality finding (see [`crate::quality`]).

mod pipeline;
pub mod read;
pub mod row;

use crate::engine::{Cache, Engine};
use crate::error::AppError;
use crate::quality::{self, Touched};
use jiff::tz::TimeZone;
use kinship_domain::command::{Command, FamilyClaim, NewMember, SourceFamily};
use kinship_domain::event::Subject;
use kinship_domain::family::{Establishment, FamilyKind, MemberStatus, Role};
use kinship_domain::person::{Identity, SourceRef};
use kinship_domain::{ANumber, Actor, CommandMeta, FamilyId, PersonId, StreamId};
use kinship_store::{Append, Known, Store};
pub use read::Format;
pub use row::{Row, RowError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub rows: u64,
    pub loaded: u64,
    pub unchanged: u64,
    pub corrected: u64,
    pub rejected: u64,
    pub errors: Vec<RowError>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub files: Vec<FileSummary>,
    /// Data-quality findings newly raised by this import.
    pub findings_raised: u64,
}

pub struct ImportOptions<'a> {
    pub assume_tz: Option<TimeZone>,
    pub format: Option<Format>,
    /// Who runs the import (recorded with every event).
    pub user: String,
    pub progress: &'a mut dyn FnMut(u64),
}

/// Rows appended per transaction: large enough to amortise the commit (each
/// rewrites the right edge of every index into the WAL), small enough to
/// bound memory (~1.5 KB of pending events per row).
const CHUNK: usize = 5_000;

/// Chunks whose decided state the importer keeps (and reuses) before it
/// trims its cache to the streams of the chunk still in flight: bounds
/// memory to ~25,000 rows' state.
const CACHED_CHUNKS: u32 = 4;

/// Facts written by a chunk but not yet committed to the store.
#[derive(Default)]
struct ChunkFacts {
    records: HashMap<SourceRef, PersonId>,
    a_numbers: HashMap<ANumber, Vec<PersonId>>,
    families: HashMap<SourceRef, FamilyId>,
}

impl ChunkFacts {
    fn clear(&mut self) {
        self.records.clear();
        self.a_numbers.clear();
        self.families.clear();
    }
}

enum RowOutcome {
    Loaded,
    Unchanged,
    Corrected,
}

pub struct Importer<'e, S: Store> {
    engine: &'e Engine<S>,
    user: String,
    cache: Cache,
    pending: Vec<Append>,
    /// Facts written in the current chunk but not yet in the store.
    now: ChunkFacts,
    /// Facts of the chunk the append thread holds (maybe not committed yet).
    in_flight: ChunkFacts,
    /// Appends on a second thread when set (see [`pipeline`]); else `flush`
    /// appends before it returns.
    appender: Option<pipeline::Appender>,
    /// Chunks decided since the cache was last cleared.
    chunks: u32,
    /// What the store held, before this chunk, of the keys the chunk names:
    /// fetched in one read (`Store::lookup_many`) instead of per row.
    known: Known,
    touched: Touched,
    seq: u64,
}

fn row_key(row: &Row) -> String {
    let mut h = Sha256::new();
    h.update(format!("{:?}|{:?}|{:?}|{:?}|{:?}", row.record, row.encounter, row.identity, row.family, row.details));
    hex::encode(&h.finalize()[..12])
}

/// Are these two identities plausibly one person (same A-number seen twice)?
fn same_person(a: &Identity, b: &Identity) -> bool {
    let surnames_a = a.name.surnames();
    let shares_surname = b.name.surnames().iter().any(|s| surnames_a.contains(s));
    let first_given = |i: &Identity| i.name.given_tokens().into_iter().next();
    let same_given = first_given(a).is_some() && first_given(a) == first_given(b);
    let same_birth = matches!((a.birth, b.birth), (Some(x), Some(y)) if x.date == y.date);
    shares_surname && (same_given || same_birth)
}

impl<'e, S: Store> Importer<'e, S> {
    pub fn new(engine: &'e Engine<S>, user: String) -> Self {
        Self {
            engine,
            user,
            cache: Cache::default(),
            pending: vec![],
            now: ChunkFacts::default(),
            in_flight: ChunkFacts::default(),
            appender: None,
            chunks: 0,
            known: Known::default(),
            touched: Touched::default(),
            seq: 0,
        }
    }

    fn meta(&mut self, agency: &str, key: String) -> CommandMeta {
        let actor = Actor { user: self.user.clone(), agency: agency.to_string(), role: "importer".into() };
        Engine::<S>::meta(&actor, key)
    }

    fn run(&mut self, agency: &str, key: String, cmd: &Command) -> Result<(), AppError> {
        let meta = self.meta(agency, key);
        let append = self.engine.prepare(&mut self.cache, &meta, cmd)?;
        self.pending.push(append);
        Ok(())
    }

    /// Appends what the chunk decided. With an append thread, the chunk is
    /// handed over once the one before has committed, and the importer keeps
    /// its decided state (the next chunk decides on top of it); every
    /// [`CACHED_CHUNKS`] chunks it forgets all but the chunk in flight.
    pub fn flush(&mut self) -> Result<(), AppError> {
        let Some(appender) = self.appender.as_mut() else {
            if !self.pending.is_empty() {
                self.engine.store.append(&self.pending).map_err(pipeline::append_error)?;
                self.pending.clear();
            }
            self.forget();
            return Ok(());
        };
        // Encoded here (JSON, compression, digests: `Store::encode`) while
        // the append thread still commits the chunk before: that thread is
        // the import's bound, so it gets only what needs the log head.
        let encoded =
            if self.pending.is_empty() { None } else { self.engine.store.encode(&self.pending).map_err(pipeline::append_error)? };
        self.chunks += 1;
        // The streams this chunk writes: until it commits, the importer's
        // cache holds their only current state (only needed when trimming).
        let written: HashSet<StreamId> = if self.chunks >= CACHED_CHUNKS {
            self.pending.iter().flat_map(|a| a.events.iter().map(|(_, e)| e.stream())).collect()
        } else {
            HashSet::new()
        };
        appender.wait()?;
        // Every chunk before this one is now in the store.
        if !self.pending.is_empty() {
            appender.send(std::mem::take(&mut self.pending), encoded)?;
        }
        if self.chunks >= CACHED_CHUNKS {
            // Trimmed without waiting for the chunk just handed over (that
            // wait left both threads idle in turn, one chunk in four): the
            // state of every other stream is in the store and is read again
            // when needed.
            self.cache.retain(&written);
            self.chunks = 0;
        }
        // The chunk handed over is all that may still be missing from the store.
        std::mem::swap(&mut self.now, &mut self.in_flight);
        self.now.clear();
        self.known = Known::default();
        Ok(())
    }

    /// Waits for the append thread: afterwards the store holds every chunk.
    fn drain(&mut self) -> Result<(), AppError> {
        match self.appender.as_mut() {
            Some(a) => a.wait(),
            None => Ok(()),
        }
    }

    /// Drops what the importer remembers; only once the store holds it all.
    fn forget(&mut self) {
        self.now.clear();
        self.in_flight.clear();
        self.known = Known::default();
        self.cache.clear();
        self.chunks = 0;
    }

    fn person_by_record(&self, r: &SourceRef) -> Option<PersonId> {
        self.now.records.get(r).or_else(|| self.in_flight.records.get(r)).or_else(|| self.known.records.get(r)).copied()
    }

    /// The persons holding an A-number, the store's first. The chunk in
    /// flight may have committed before the lookup: an id is listed once.
    fn persons_by_a_number(&self, a: &ANumber) -> Vec<PersonId> {
        let mut out = self.known.a_numbers.get(a).cloned().unwrap_or_default();
        for facts in [&self.in_flight, &self.now] {
            for p in facts.a_numbers.get(a).into_iter().flatten() {
                if !out.contains(p) {
                    out.push(*p);
                }
            }
        }
        out
    }

    fn family_by_source(&self, f: &SourceRef) -> Option<FamilyId> {
        self.in_flight.families.get(f).or_else(|| self.known.families.get(f)).copied()
    }

    /// Fetches what the store knows of every key the chunk's rows name.
    fn prefetch(&mut self, chunk: &[Result<Row, Vec<RowError>>]) -> Result<(), AppError> {
        let rows = || chunk.iter().filter_map(|r| r.as_ref().ok());
        let records: Vec<&SourceRef> = rows().map(|r| &r.record).collect();
        let a_numbers: HashSet<&ANumber> = rows().filter_map(|r| r.identity.a_number.as_ref()).collect();
        let families: HashSet<&SourceRef> = rows().filter_map(|r| r.family.as_ref().map(|f| &f.family)).collect();
        let a_numbers: Vec<&ANumber> = a_numbers.into_iter().collect();
        let families: Vec<&SourceRef> = families.into_iter().collect();
        self.known = self.engine.store.lookup_many(&records, &a_numbers, &families)?;
        Ok(())
    }

    fn load_row(&mut self, row: &Row) -> Result<RowOutcome, AppError> {
        let agency = row.record.source.clone();
        // Keys name the record and the step: a second import of the same new
        // record cannot create a second person. Corrections add the content.
        let base = format!("import:{}:{}", row.record.source, row.record.record_id);
        let custody = Some((agency.clone(), row.encounter.station.clone()));
        let mut outcome;
        let mut family_done = false;
        let pid = if let Some(pid) = self.person_by_record(&row.record) {
            // Seen before: identical content is a no-op, changed content a correction.
            let world = self.engine.prepare_view(&mut self.cache, pid)?;
            let current = world.persons.get(&pid).and_then(|p| p.records.iter().find(|r| r.record == row.record));
            let unchanged = current.is_some_and(|r| r.identity == row.identity && r.encounter == row.encounter && r.details == row.details);
            if unchanged {
                outcome = RowOutcome::Unchanged;
            } else {
                let cmd = Command::CorrectRecord {
                    person: pid,
                    record: row.record.clone(),
                    identity: row.identity.clone(),
                    encounter: row.encounter.clone(),
                    details: row.details.clone(),
                    reason: "re-imported with changed content".into(),
                };
                self.run(&agency, format!("{base}:correct:{}", row_key(row)), &cmd)?;
                outcome = RowOutcome::Corrected;
            }
            pid
        } else {
            let mut attach_to = None;
            let mut conflicts = vec![];
            if let Some(a) = &row.identity.a_number {
                for other in self.persons_by_a_number(a) {
                    let world = self.engine.prepare_view(&mut self.cache, other)?;
                    match world.persons.get(&other) {
                        Some(p) if same_person(&p.identity, &row.identity) && attach_to.is_none() => attach_to = Some(other),
                        Some(_) => conflicts.push(other),
                        None => {}
                    }
                }
            }
            let (person, record, identity, encounter, details) = (
                attach_to.unwrap_or_else(PersonId::new_v7),
                row.record.clone(),
                row.identity.clone(),
                row.encounter.clone(),
                row.details.clone(),
            );
            let pid = person;
            // A new person and the family their record names are one command.
            let mut joined = None;
            if attach_to.is_some() {
                let cmd = Command::AttachRecord { person, identity, record, encounter, details, custody };
                self.run(&agency, format!("{base}:attach"), &cmd)?;
            } else {
                self.cache.mark_new(StreamId::Person(pid));
                let family = match &row.family {
                    Some(claim) => {
                        let (fid, form) = self.family_for(row, claim)?;
                        let role = claim.role.unwrap_or(Role::OtherRelative);
                        joined = Some((claim, fid, form.is_some(), role));
                        Some(FamilyClaim { family: fid, role, form })
                    }
                    None => None,
                };
                let cmd = Command::RecordPerson { person, identity, record, encounter, details, custody, family };
                self.run(&agency, format!("{base}:record"), &cmd)?;
                if let Some(a) = &row.identity.a_number {
                    self.now.a_numbers.entry(a.clone()).or_default().push(pid);
                }
            }
            if !conflicts.is_empty() {
                let mut subjects = vec![Subject::Person(pid)];
                subjects.extend(conflicts.iter().map(|p| Subject::Person(*p)));
                self.finding(
                    &agency,
                    "a-number-shared",
                    subjects,
                    format!(
                        "A-number {} is recorded for {} and for {} other person(s) whose name and birth date differ",
                        row.identity.a_number.as_ref().map(|a| a.as_str()).unwrap_or(""),
                        row.identity.name.display(),
                        conflicts.len()
                    ),
                    Some(row.record.clone()),
                )?;
            }
            self.now.records.insert(row.record.clone(), pid);
            if let Some((claim, fid, formed, role)) = joined {
                self.now.families.insert(claim.family.clone(), fid);
                if formed {
                    self.family_formed(row, claim, fid)?;
                }
                self.member_joined(row, claim, fid, pid, role)?;
                family_done = true;
            }
            outcome = RowOutcome::Loaded;
            pid
        };
        self.touched.encounter(&row.encounter, pid, row.identity.birth.map(|b| b.date), row.family.is_some());
        match &row.family {
            Some(_) if family_done => {}
            Some(claim) => {
                let resent = !matches!(outcome, RowOutcome::Loaded);
                if self.claim_family(row, claim, pid, &base, resent)? && matches!(outcome, RowOutcome::Unchanged) {
                    outcome = RowOutcome::Corrected;
                }
            }
            None => {
                use kinship_domain::family::Classification::{FamilyGroupMember, FamilyUnitMember};
                if let Some(c @ (FamilyUnitMember | FamilyGroupMember)) = row.details.classification {
                    self.finding(
                        &agency,
                        "family-status-missing",
                        vec![Subject::Person(pid)],
                        format!("classified {} but no family_id is recorded", c.as_str()),
                        Some(row.record.clone()),
                    )?;
                }
            }
        }
        Ok(outcome)
    }

    /// The family a row names: known in this chunk, in the store, or new
    /// (then with what forming it needs; the id is fresh, so loading it
    /// needs no read).
    fn family_for(&mut self, row: &Row, claim: &row::FamilyClaim) -> Result<(FamilyId, Option<SourceFamily>), AppError> {
        if let Some(f) = self.now.families.get(&claim.family) {
            return Ok((*f, None));
        }
        if let Some(f) = self.family_by_source(&claim.family) {
            self.touched.families.entry(f).or_insert(None);
            return Ok((f, None));
        }
        let fid = FamilyId::new_v7();
        self.cache.mark_new(StreamId::Family(fid));
        let form = SourceFamily {
            kind: claim.kind.unwrap_or(FamilyKind::Group),
            formed_at: row.encounter.at.clone(),
            source_family: claim.family.clone(),
        };
        Ok((fid, Some(form)))
    }

    /// Bookkeeping once a family named by `row` has been formed.
    fn family_formed(&mut self, row: &Row, claim: &row::FamilyClaim, fid: FamilyId) -> Result<(), AppError> {
        let kind = claim.kind.unwrap_or(FamilyKind::Group);
        self.touched.families.insert(
            fid,
            Some(quality::FamilySummary {
                label: format!("{}/{}", claim.family.source, claim.family.record_id),
                kind,
                on: row.encounter.at.local_date(),
                members: vec![],
            }),
        );
        if claim.kind.is_none() {
            self.finding(
                &row.record.source,
                "family-kind-missing",
                vec![Subject::Family(fid)],
                format!("family {} was recorded without UNIT or GROUP; held as GROUP until someone decides", claim.family.record_id),
                Some(row.record.clone()),
            )?;
        }
        Ok(())
    }

    /// Bookkeeping once the person of `row` has joined the family it names.
    fn member_joined(&mut self, row: &Row, claim: &row::FamilyClaim, fid: FamilyId, person: PersonId, role: Role) -> Result<(), AppError> {
        if claim.role.is_none() {
            self.role_missing(row, claim, fid, person)?;
        }
        self.summarise_member(row, fid, person, role);
        Ok(())
    }

    /// A family this import created is checked whole at the end: note the member.
    fn summarise_member(&mut self, row: &Row, fid: FamilyId, person: PersonId, role: Role) {
        if let Some(Some(summary)) = self.touched.families.get_mut(&fid) {
            summary.members.push(quality::MemberSummary {
                person,
                role,
                birth: row.identity.birth.map(|b| b.date),
                name: row.identity.name.display(),
            });
        }
    }

    fn role_missing(&mut self, row: &Row, claim: &row::FamilyClaim, fid: FamilyId, person: PersonId) -> Result<(), AppError> {
        self.finding(
            &row.record.source,
            "family-role-missing",
            vec![Subject::Person(person), Subject::Family(fid)],
            format!("{} is in family {} with no role recorded", row.identity.name.display(), claim.family.record_id),
            Some(row.record.clone()),
        )
    }

    /// A known person (attached or re-sent record) and the family the row
    /// names: the family's own commands. Answers whether a membership was
    /// corrected (the row is then a correction, not unchanged).
    fn claim_family(&mut self, row: &Row, claim: &row::FamilyClaim, person: PersonId, base: &str, resent: bool) -> Result<bool, AppError> {
        let agency = row.record.source.clone();
        let (fid, form) = self.family_for(row, claim)?;
        if let Some(form) = form {
            let cmd =
                Command::RecordSourceFamily { family: fid, kind: form.kind, formed_at: form.formed_at, source_family: form.source_family };
            self.run(&agency, format!("{base}:family"), &cmd)?;
            self.family_formed(row, claim, fid)?;
        }
        self.now.families.insert(claim.family.clone(), fid);
        let world = self.engine.prepare_view_family(&mut self.cache, fid)?;
        let member = world.families.get(&fid).and_then(|f| f.member(person));
        // A withdrawn member is added again below, under a key of its own.
        let rejoin = member.filter(|m| m.status == MemberStatus::Withdrawn).map(|m| m.role_event);
        if let Some(m) = member.filter(|m| m.status != MemberStatus::Withdrawn) {
            // Already a member (a re-sent or corrected row): a role the row
            // now states differently corrects the membership, pointing at the
            // event that recorded the old role.
            let Some(role) = claim.role.filter(|r| *r != m.role) else { return Ok(false) };
            // Keyed by the event it corrects: a role changed back and forth
            // is a new correction each time, a re-sent one is not.
            let corrects = m.role_event;
            let cmd = Command::CorrectMembership {
                family: fid,
                person,
                role,
                reason: format!("re-imported record {}/{} gives the role {}", row.record.source, row.record.record_id, role.as_str()),
            };
            self.run(&agency, format!("{base}:role:{corrects}:{}", role.as_str()), &cmd)?;
            return Ok(true);
        }
        let role = match claim.role {
            Some(r) => r,
            None => {
                self.role_missing(row, claim, fid, person)?;
                Role::OtherRelative
            }
        };
        let moved = resent && self.withdraw_from_earlier_family(row, claim, person, fid, base)?;
        let cmd =
            Command::AddMember { family: fid, member: NewMember { person, role, established: Establishment::Claimed }, source_claim: true };
        let key = match rejoin {
            Some(withdrawn) => format!("{base}:member:{withdrawn}"),
            None => format!("{base}:member"),
        };
        match self.run(&agency, key, &cmd) {
            Ok(()) => {
                self.summarise_member(row, fid, person, role);
                Ok(moved)
            }
            Err(AppError::Domain(e)) => self
                .finding(
                    &agency,
                    "family-claim-refused",
                    vec![Subject::Person(person), Subject::Family(fid)],
                    format!("the record places this person in family {}, but: {}", claim.family.record_id, e.message),
                    Some(row.record.clone()),
                )
                .map(|()| false),
            Err(e) => Err(e),
        }
    }

    /// A re-sent record that names another family than the one its source
    /// placed the person in before corrects that placement: the source is the
    /// authority on its own family numbers. The earlier membership is
    /// withdrawn (pointing at the event that recorded it), so the person can
    /// join the family the record names now. A family another source recorded
    /// is not the importer's to change: that stays a finding for a person.
    fn withdraw_from_earlier_family(
        &mut self,
        row: &Row,
        claim: &row::FamilyClaim,
        person: PersonId,
        now: FamilyId,
        base: &str,
    ) -> Result<bool, AppError> {
        let world = self.engine.prepare_view(&mut self.cache, person)?;
        let Some(earlier) = world.active_family(person).filter(|f| *f != now) else { return Ok(false) };
        let Some(f) = world.families.get(&earlier) else { return Ok(false) };
        let same_source = f.source_family.as_ref().is_some_and(|s| s.source == claim.family.source);
        let Some(m) = f.member(person).filter(|_| same_source) else { return Ok(false) };
        let corrects = m.role_event;
        let was = f.source_family.as_ref().map(|s| s.record_id.clone()).unwrap_or_default();
        let cmd = Command::WithdrawMembership {
            family: earlier,
            person,
            reason: format!(
                "re-imported record {}/{} places the person in family {} instead of {was}",
                row.record.source, row.record.record_id, claim.family.record_id
            ),
        };
        match self.run(&row.record.source, format!("{base}:withdraw:{corrects}"), &cmd) {
            Ok(()) => Ok(true),
            // Refused (e.g. the family changed meanwhile): joining the new
            // family then fails too, and that becomes the finding.
            Err(AppError::Domain(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Raises a finding once: its id is derived from what it is about, so a
    /// re-import does not raise it again.
    pub fn finding(
        &mut self,
        agency: &str,
        kind: &str,
        subjects: Vec<Subject>,
        message: String,
        record: Option<SourceRef>,
    ) -> Result<(), AppError> {
        let ids: Vec<String> = subjects
            .iter()
            .map(|s| match s {
                Subject::Person(p) => p.to_string(),
                Subject::Family(f) => f.to_string(),
            })
            .collect();
        let key = format!("finding:{kind}:{}", ids.join(","));
        let finding = kinship_domain::FindingId(kinship_domain::command::derived_id(&key, 0));
        let cmd = Command::RaiseFinding { finding, kind: kind.to_string(), subjects, message, record };
        match self.run(agency, key, &cmd) {
            Ok(()) => {
                self.touched.findings_raised += 1;
                Ok(())
            }
            Err(AppError::Domain(e)) if e.rule == "finding-exists" => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub fn import_file(&mut self, path: &Path, opts: &mut ImportOptions<'_>) -> Result<FileSummary, AppError> {
        let format = opts.format.or_else(|| Format::of(path)).ok_or_else(|| {
            AppError::Input(format!("{}: cannot tell the format from the extension; use .csv or .jsonl, or --format", path.display()))
        })?;
        let raw = read::rows(path, format).map_err(|e| AppError::Input(format!("{}: {e}", path.display())))?;
        let mut summary = FileSummary { path: path.display().to_string(), ..Default::default() };
        let mut seen: HashSet<SourceRef> = HashSet::new();
        let mut chunk = Vec::with_capacity(CHUNK);
        for item in raw {
            summary.rows += 1;
            let checked = match item {
                Ok((line, fields)) => row::check(&fields, line, &self.engine.profile, opts.assume_tz.as_ref()),
                Err(e) => Err(vec![e]),
            };
            let row = match checked {
                Ok(row) if !seen.insert(row.record.clone()) => Err(vec![RowError {
                    line: row.line,
                    field: "record_id".into(),
                    reason: format!("record {}/{} appears earlier in this file", row.record.source, row.record.record_id),
                }]),
                other => other,
            };
            chunk.push(row);
            if chunk.len() == CHUNK {
                self.load_chunk(&mut chunk, &mut summary)?;
                (opts.progress)(self.seq);
            }
        }
        self.load_chunk(&mut chunk, &mut summary)?;
        (opts.progress)(self.seq);
        Ok(summary)
    }

    /// Loads checked rows (and reports the refused ones) in order, then
    /// appends them in one transaction.
    fn load_chunk(&mut self, chunk: &mut Vec<Result<Row, Vec<RowError>>>, summary: &mut FileSummary) -> Result<(), AppError> {
        self.prefetch(chunk)?;
        for row in chunk.drain(..) {
            match row {
                Ok(row) => match self.load_row(&row) {
                    Ok(RowOutcome::Loaded) => summary.loaded += 1,
                    Ok(RowOutcome::Unchanged) => summary.unchanged += 1,
                    Ok(RowOutcome::Corrected) => summary.corrected += 1,
                    Err(AppError::Domain(e)) => {
                        summary.rejected += 1;
                        summary.errors.push(RowError { line: row.line, field: e.field.unwrap_or("*").to_string(), reason: e.message });
                    }
                    Err(e) => return Err(e),
                },
                Err(errors) => {
                    summary.rejected += 1;
                    summary.errors.extend(errors);
                }
            }
            self.seq += 1;
        }
        self.flush()
    }

    /// After every file: the checks that need whole families and encounters.
    pub fn finish(mut self) -> Result<u64, AppError> {
        // The checks read the store: it must hold every chunk.
        self.drain()?;
        let touched = std::mem::take(&mut self.touched);
        for f in quality::check_families(self.engine, &touched.families)? {
            self.finding("HQ", &f.kind, f.subjects, f.message, None)?;
            if self.pending.len() >= CHUNK {
                self.flush()?;
            }
        }
        let (engine, cache) = (self.engine, &mut self.cache);
        let has_family = |p: PersonId| Ok(engine.prepare_view(cache, p)?.persons.get(&p).is_some_and(|s| s.family.is_some()));
        for f in quality::check_encounters(&touched.encounters, has_family)? {
            self.finding("HQ", &f.kind, f.subjects, f.message, None)?;
            if self.pending.len() >= CHUNK {
                self.flush()?;
            }
        }
        self.flush()?;
        self.drain()?;
        Ok(touched.findings_raised + self.touched.findings_raised)
    }
}

/// Imports files in order. Returns the summary; rows' problems are in it,
/// only unreadable files or a failing store are errors.
pub fn import<S: Store>(engine: &Engine<S>, paths: &[&Path], mut opts: ImportOptions<'_>) -> Result<ImportSummary, AppError> {
    std::thread::scope(|scope| {
        let mut importer = Importer::new(engine, opts.user.clone());
        importer.appender = Some(pipeline::Appender::start(scope, &engine.store));
        let mut files = vec![];
        for p in paths {
            files.push(importer.import_file(p, &mut opts)?);
        }
        let findings_raised = importer.finish()?;
        Ok(ImportSummary { files, findings_raised })
    })
}
