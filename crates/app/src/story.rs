//! Replays a scenario's story (`kinship_sim::story::Step`s) through the
//! command path: each step becomes a domain [`Command`], decided by the core
//! and appended like any other command. Steps name people and families by
//! their source records; those records must be loaded first (`import`).

use crate::engine::{BatchOutcome, Engine};
use crate::error::AppError;
use kinship_domain::command::{Command, derived_id};
use kinship_domain::family::ReviewDecision;
use kinship_domain::person::{Citizenship, SourceRef};
use kinship_domain::time::Instant;
use kinship_domain::{Actor, CommandMeta, FamilyId, PersonId, SeparationId};
use kinship_sim::story::{Action, Ref, Step};
use kinship_store::Store;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// Steps decided together in one transaction.
const BATCH: usize = 2_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoryReport {
    pub steps: u64,
    pub applied: u64,
    /// Already applied earlier (same idempotency key).
    pub replayed: u64,
    /// Refused by the core, by rule (e.g. a family that was never recorded cannot be separated).
    pub refused: BTreeMap<String, u64>,
    /// Naming a record or family that is not in the store (e.g. its row was rejected at import).
    pub unresolved: u64,
    pub applied_by_kind: BTreeMap<String, u64>,
}

impl StoryReport {
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// How the records and families a step names become Kinship ids: from the
/// store here, from a server's answers when the story drives a server.
pub trait Resolve {
    fn person(&mut self, r: &Ref) -> Result<Option<PersonId>, AppError>;
    fn family(&mut self, r: &Ref) -> Result<Option<FamilyId>, AppError>;
}

struct FromStore<'e, S: Store>(&'e Engine<S>);

impl<S: Store> Resolve for FromStore<'_, S> {
    fn person(&mut self, r: &Ref) -> Result<Option<PersonId>, AppError> {
        Ok(self.0.store.person_by_record(&SourceRef { source: r.source.clone(), record_id: r.record_id.clone() })?)
    }
    fn family(&mut self, r: &Ref) -> Result<Option<FamilyId>, AppError> {
        Ok(self.0.store.family_by_source(&SourceRef { source: r.source.clone(), record_id: r.record_id.clone() })?)
    }
}

/// The separation id a story's own separation name stands for (stable, so
/// the reviews that follow find it).
pub fn separation_id(name: &str) -> SeparationId {
    SeparationId(derived_id(&format!("story-separation:{name}"), 0))
}

/// The command a step stands for, or `None` when a record or family it names is not in the store.
pub fn command<S: Store>(engine: &Engine<S>, step: &Step) -> Result<Option<(CommandMeta, Command)>, AppError> {
    command_with(&mut FromStore(engine), step)
}

fn persons(resolve: &mut dyn Resolve, refs: &[Ref]) -> Result<Option<Vec<PersonId>>, AppError> {
    let mut out = vec![];
    for r in refs {
        match resolve.person(r)? {
            Some(p) => out.push(p),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// The command a step stands for, its records and families resolved by
/// `resolve`, or `None` when one of them is unknown.
pub fn command_with(resolve: &mut dyn Resolve, step: &Step) -> Result<Option<(CommandMeta, Command)>, AppError> {
    let at = Instant::parse(&step.at, None).map_err(|e| AppError::Input(format!("story step {}: {e}", step.key)))?;
    let actor = Actor { user: step.actor.user.clone(), agency: step.actor.agency.clone(), role: step.actor.role.clone() };
    let meta = CommandMeta { actor, idempotency_key: step.key.clone(), at };
    let cmd = match &step.action {
        Action::Separate { family: f, separation, members, reason_code, policy, narrative, approved_by } => {
            match (resolve.family(f)?, persons(resolve, members)?) {
                (Some(family), Some(members)) => Some(Command::RecordSeparation {
                    family,
                    separation: separation_id(separation),
                    members,
                    reason_code: reason_code.clone(),
                    policy: policy.clone(),
                    narrative: narrative.clone(),
                    approved_by: approved_by.clone(),
                }),
                _ => None,
            }
        }
        Action::Review { family: f, separation, level } => resolve.family(f)?.map(|family| Command::ReviewSeparation {
            family,
            separation: separation_id(separation),
            level: *level,
            decision: ReviewDecision::Approve,
            note: None,
        }),
        Action::ReferForProsecution { person } => resolve.person(person)?.map(|person| Command::ReferForProsecution { person }),
        Action::OfferTransfer { person, to_agency, to_facility } => resolve.person(person)?.map(|person| Command::OfferTransfer {
            person,
            to_agency: to_agency.clone(),
            to_facility: to_facility.clone(),
        }),
        Action::AcceptTransfer { person } => resolve.person(person)?.map(|person| Command::AcceptTransfer { person, facility: None }),
        Action::Release { person, us_address, conditions } => resolve.person(person)?.map(|person| Command::Release {
            person,
            us_address: us_address.clone(),
            conditions: conditions.clone(),
        }),
        Action::Remove { person, to_country } => {
            resolve.person(person)?.map(|person| Command::Remove { person, to_country: to_country.as_deref().and_then(Citizenship::parse) })
        }
        Action::Reunify { family: f, members, location } => match (resolve.family(f)?, persons(resolve, members)?) {
            (Some(family), Some(members)) => Some(Command::Reunify { family, members, location: location.clone() }),
            _ => None,
        },
    };
    Ok(cmd.map(|c| (meta, c)))
}

/// Applies steps in order, in batches; `progress` gets the steps done so far.
pub fn apply<S: Store>(
    engine: &Engine<S>,
    steps: impl IntoIterator<Item = Result<Step, AppError>>,
    progress: &mut dyn FnMut(u64),
) -> Result<StoryReport, AppError> {
    let mut report = StoryReport::default();
    let mut batch: Vec<(CommandMeta, Command)> = Vec::with_capacity(BATCH);
    let mut kinds: Vec<&'static str> = Vec::with_capacity(BATCH);
    let run = |batch: &mut Vec<(CommandMeta, Command)>, kinds: &mut Vec<&'static str>, report: &mut StoryReport| {
        for (outcome, kind) in engine.execute_batch(batch)?.into_iter().zip(kinds.iter()) {
            match outcome {
                BatchOutcome::Applied => {
                    report.applied += 1;
                    *report.applied_by_kind.entry((*kind).to_string()).or_default() += 1;
                }
                BatchOutcome::Replayed => report.replayed += 1,
                BatchOutcome::Refused(e) => *report.refused.entry(e.rule.to_string()).or_default() += 1,
            }
        }
        batch.clear();
        kinds.clear();
        Ok::<(), AppError>(())
    };
    for step in steps {
        let step = step?;
        report.steps += 1;
        // Records and families are resolved from the store (they were
        // imported before the story); the batch decides the commands in order.
        match command(engine, &step)? {
            Some(c) => {
                batch.push(c);
                kinds.push(step.action.kind());
            }
            None => report.unresolved += 1,
        }
        if batch.len() >= BATCH {
            run(&mut batch, &mut kinds, &mut report)?;
            progress(report.steps);
        }
    }
    run(&mut batch, &mut kinds, &mut report)?;
    progress(report.steps);
    Ok(report)
}

/// The steps of a story file (JSON Lines, one step a line), streamed.
pub fn steps(path: &Path) -> Result<impl Iterator<Item = Result<Step, AppError>> + use<>, AppError> {
    let file = std::fs::File::open(path).map_err(|e| AppError::Input(format!("cannot read {}: {e}", path.display())))?;
    let path = path.to_path_buf();
    Ok(std::io::BufReader::with_capacity(1 << 20, file).lines().enumerate().filter_map(move |(i, line)| match line {
        Ok(l) if l.trim().is_empty() => None,
        Ok(l) => Some(
            serde_json::from_str::<Step>(&l).map_err(|e| AppError::Input(format!("{}:{}: not a story step: {e}", path.display(), i + 1))),
        ),
        Err(e) => Some(Err(AppError::Input(format!("cannot read {}: {e}", path.display())))),
    }))
}

/// Applies a story file (JSON Lines, one step a line), streaming it.
pub fn apply_file<S: Store>(engine: &Engine<S>, path: &Path, progress: &mut dyn FnMut(u64)) -> Result<StoryReport, AppError> {
    apply(engine, steps(path)?, progress)
}
