//! `kinship import`: agency extracts become persons, encounters, families
//! and custody through the same commands as everything else.
//!
//! Rows that break the spec's rules are reported and skipped; what is wrong
//! with the family or person a row describes never loses the row: it becomes
//! a data-quality finding (see [`crate::quality`]).

pub mod read;
pub mod row;

use crate::engine::{Cache, Engine};
use crate::error::AppError;
use crate::quality::{self, Touched};
use jiff::tz::TimeZone;
use kinship_domain::command::{Command, FamilyClaim, NewMember, SourceFamily};
use kinship_domain::event::Subject;
use kinship_domain::family::{Establishment, FamilyKind, Role};
use kinship_domain::person::{Identity, SourceRef};
use kinship_domain::{ANumber, Actor, CommandMeta, FamilyId, PersonId, StreamId};
use kinship_store::{Append, Store};
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
    records: HashMap<SourceRef, PersonId>,
    a_numbers: HashMap<ANumber, Vec<PersonId>>,
    families: HashMap<SourceRef, FamilyId>,
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
            records: HashMap::new(),
            a_numbers: HashMap::new(),
            families: HashMap::new(),
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

    pub fn flush(&mut self) -> Result<(), AppError> {
        if !self.pending.is_empty() {
            self.engine.store.append(&self.pending).map_err(|e| match e {
                kinship_store::StoreError::Conflict { .. } => AppError::Input(format!(
                    "{e}. Another writer changed the record during the import; run the import again: rows already loaded are skipped as unchanged"
                )),
                other => other.into(),
            })?;
            self.pending.clear();
        }
        self.records.clear();
        self.a_numbers.clear();
        self.families.clear();
        self.cache.clear();
        Ok(())
    }

    fn person_by_record(&self, r: &SourceRef) -> Result<Option<PersonId>, AppError> {
        if let Some(p) = self.records.get(r) {
            return Ok(Some(*p));
        }
        Ok(self.engine.store.person_by_record(r)?)
    }

    fn persons_by_a_number(&self, a: &ANumber) -> Result<Vec<PersonId>, AppError> {
        let mut out = self.engine.store.persons_by_a_number(a)?;
        if let Some(more) = self.a_numbers.get(a) {
            out.extend(more.iter().copied());
        }
        Ok(out)
    }

    fn load_row(&mut self, row: &Row) -> Result<RowOutcome, AppError> {
        let agency = row.record.source.clone();
        // Keys name the record and the step: a second import of the same new
        // record cannot create a second person. Corrections add the content.
        let base = format!("import:{}:{}", row.record.source, row.record.record_id);
        let custody = Some((agency.clone(), row.encounter.station.clone()));
        let outcome;
        let mut family_done = false;
        let pid = if let Some(pid) = self.person_by_record(&row.record)? {
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
                for other in self.persons_by_a_number(a)? {
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
                    self.a_numbers.entry(a.clone()).or_default().push(pid);
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
            self.records.insert(row.record.clone(), pid);
            if let Some((claim, fid, formed, role)) = joined {
                self.families.insert(claim.family.clone(), fid);
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
            Some(claim) => self.claim_family(row, claim, pid, &base)?,
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
        if let Some(f) = self.families.get(&claim.family) {
            return Ok((*f, None));
        }
        if let Some(f) = self.engine.store.family_by_source(&claim.family)? {
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
        if let Some(Some(summary)) = self.touched.families.get_mut(&fid) {
            summary.members.push(quality::MemberSummary {
                person,
                role,
                birth: row.identity.birth.map(|b| b.date),
                name: row.identity.name.display(),
            });
        }
        Ok(())
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
    /// names: the family's own commands.
    fn claim_family(&mut self, row: &Row, claim: &row::FamilyClaim, person: PersonId, base: &str) -> Result<(), AppError> {
        let agency = row.record.source.clone();
        let (fid, form) = self.family_for(row, claim)?;
        if let Some(form) = form {
            let cmd =
                Command::RecordSourceFamily { family: fid, kind: form.kind, formed_at: form.formed_at, source_family: form.source_family };
            self.run(&agency, format!("{base}:family"), &cmd)?;
            self.family_formed(row, claim, fid)?;
        }
        self.families.insert(claim.family.clone(), fid);
        let world = self.engine.prepare_view_family(&mut self.cache, fid)?;
        if world.families.get(&fid).is_some_and(|f| f.member(person).is_some()) {
            return Ok(()); // already a member (a re-sent or corrected row)
        }
        let role = match claim.role {
            Some(r) => r,
            None => {
                self.role_missing(row, claim, fid, person)?;
                Role::OtherRelative
            }
        };
        let cmd =
            Command::AddMember { family: fid, member: NewMember { person, role, established: Establishment::Claimed }, source_claim: true };
        match self.run(&agency, format!("{base}:member"), &cmd) {
            Ok(()) => {
                if let Some(Some(summary)) = self.touched.families.get_mut(&fid) {
                    summary.members.push(quality::MemberSummary {
                        person,
                        role,
                        birth: row.identity.birth.map(|b| b.date),
                        name: row.identity.name.display(),
                    });
                }
                Ok(())
            }
            Err(AppError::Domain(e)) => self.finding(
                &agency,
                "family-claim-refused",
                vec![Subject::Person(person), Subject::Family(fid)],
                format!("the record places this person in family {}, but: {}", claim.family.record_id, e.message),
                Some(row.record.clone()),
            ),
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
        for (i, item) in raw.enumerate() {
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
            if (i + 1) % CHUNK == 0 {
                self.flush()?;
                (opts.progress)(self.seq);
            }
        }
        self.flush()?;
        (opts.progress)(self.seq);
        Ok(summary)
    }

    /// After every file: the checks that need whole families and encounters.
    pub fn finish(mut self) -> Result<u64, AppError> {
        let touched = std::mem::take(&mut self.touched);
        for f in quality::check_families(self.engine, &touched.families)? {
            self.finding("HQ", &f.kind, f.subjects, f.message, None)?;
            if self.pending.len() >= CHUNK {
                self.flush()?;
            }
        }
        for f in quality::check_encounters(self.engine, &touched.encounters)? {
            self.finding("HQ", &f.kind, f.subjects, f.message, None)?;
            if self.pending.len() >= CHUNK {
                self.flush()?;
            }
        }
        self.flush()?;
        Ok(touched.findings_raised + self.touched.findings_raised)
    }
}

/// Imports files in order. Returns the summary; rows' problems are in it,
/// only unreadable files or a failing store are errors.
pub fn import<S: Store>(engine: &Engine<S>, paths: &[&Path], mut opts: ImportOptions<'_>) -> Result<ImportSummary, AppError> {
    let mut importer = Importer::new(engine, opts.user.clone());
    let mut files = vec![];
    for p in paths {
        files.push(importer.import_file(p, &mut opts)?);
    }
    let findings_raised = importer.finish()?;
    Ok(ImportSummary { files, findings_raised })
}
