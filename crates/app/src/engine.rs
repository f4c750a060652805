//! The command path: load the state a command needs, `decide`, append the
//! events with the versions the decision saw. Nothing else writes events.

use crate::error::AppError;
use kinship_domain::command::Command;
use kinship_domain::state::World;
use kinship_domain::time::Instant;
use kinship_domain::{Actor, CommandMeta, Event, FamilyId, FindingId, PersonId, Profile, StreamId, decide, evolve};
use kinship_store::{Append, Appended, Store};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What a command did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub first: u64,
    pub last: u64,
    /// The key had been used for this same command: nothing new was written.
    pub replayed: bool,
}

/// What became of one command of [`Engine::execute_batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    Applied,
    Replayed,
    Refused(kinship_domain::DomainError),
}

/// Loaded state plus the version of every stream it came from. Used for one
/// command, or for a batch of commands appended together (import).
#[derive(Default)]
pub struct Cache {
    pub world: World,
    versions: HashMap<StreamId, u64>,
}

impl Cache {
    /// Declares a stream the caller has just minted an id for (a fresh
    /// UUID v7): it is known to be empty, so loading it needs no read.
    pub fn mark_new(&mut self, stream: StreamId) {
        self.versions.entry(stream).or_insert(0);
    }

    pub fn clear(&mut self) {
        self.world = World::default();
        self.versions.clear();
    }

    /// Forgets every stream but `keep`. Each event folds into the state of
    /// its own stream only (a person event changes that person, a family
    /// event that family), so what is kept is exactly what loading those
    /// streams again would give, and what is dropped is loaded afresh from
    /// the store when next needed.
    pub fn retain(&mut self, keep: &HashSet<StreamId>) {
        self.versions.retain(|s, _| keep.contains(s));
        let w = &mut self.world;
        w.persons.retain(|id, _| keep.contains(&StreamId::Person(*id)));
        w.families.retain(|id, _| keep.contains(&StreamId::Family(*id)));
        w.findings.retain(|id, _| keep.contains(&StreamId::Finding(*id)));
        w.links.retain(|id, _| keep.contains(&StreamId::Link(*id)));
    }
}

pub struct Engine<S: Store> {
    pub store: S,
    pub profile: Profile,
}

/// The current time, to the second (sub-second precision in a custody record
/// is noise that makes reports harder to read).
pub fn now() -> jiff::Timestamp {
    let t = jiff::Timestamp::now();
    jiff::Timestamp::from_second(t.as_second()).unwrap_or(t)
}

pub fn command_hash(actor: &Actor, cmd: &Command) -> String {
    // The JSON is written into one reused buffer and hashed in one call (the
    // same bytes as `to_vec` of each, so the same hash). Streaming it into
    // the hash instead fed SHA-256 one token at a time: serde_json writes a
    // field in several small pieces, and each `update` call cost more than
    // the bytes it hashed (an import hashes a command per row).
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(2048));
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        let _ = serde_json::to_writer(&mut *buf, actor);
        let _ = serde_json::to_writer(&mut *buf, cmd);
        hex::encode(Sha256::digest(&buf[..]))
    })
}

impl<S: Store> Engine<S> {
    pub fn new(store: S, profile: Profile) -> Self {
        Self { store, profile }
    }

    /// Builds command metadata stamped with the current time.
    pub fn meta(actor: &Actor, key: impl Into<String>) -> CommandMeta {
        CommandMeta { actor: actor.clone(), idempotency_key: key.into(), at: Instant::from_timestamp(now()) }
    }

    /// Runs one command: the same key with the same command answers with the
    /// first result and writes nothing.
    pub fn execute(&self, meta: &CommandMeta, cmd: &Command) -> Result<Outcome, AppError> {
        let hash = command_hash(&meta.actor, cmd);
        if let Some((seen, first, last)) = self.store.recall(&meta.idempotency_key)? {
            if seen != hash {
                return Err(kinship_store::StoreError::KeyReused { key: meta.idempotency_key.clone() }.into());
            }
            return Ok(Outcome { first, last, replayed: true });
        }
        let mut cache = Cache::default();
        let append = self.prepare(&mut cache, meta, cmd)?;
        match self.store.append(std::slice::from_ref(&append))?.first() {
            Some(Appended::Committed { first, last }) => Ok(Outcome { first: *first, last: *last, replayed: false }),
            Some(Appended::Replayed { first, last }) => Ok(Outcome { first: *first, last: *last, replayed: true }),
            None => Err(AppError::Input("the store answered an append with nothing".into())),
        }
    }

    /// Runs commands in order and appends the accepted ones together, in one
    /// transaction (a recorded story replayed in bulk). A key already used is
    /// answered as replayed; a command the core refuses is returned with its
    /// reason and the others still run.
    pub fn execute_batch(&self, items: &[(CommandMeta, Command)]) -> Result<Vec<BatchOutcome>, AppError> {
        let mut cache = Cache::default();
        let mut appends = vec![];
        let mut out = Vec::with_capacity(items.len());
        for (meta, cmd) in items {
            if self.store.recall(&meta.idempotency_key)?.is_some() {
                out.push(BatchOutcome::Replayed);
                continue;
            }
            match self.prepare(&mut cache, meta, cmd) {
                Ok(a) => {
                    appends.push(a);
                    out.push(BatchOutcome::Applied);
                }
                Err(AppError::Domain(e)) => out.push(BatchOutcome::Refused(e)),
                Err(e) => return Err(e),
            }
        }
        if !appends.is_empty() {
            self.store.append(&appends)?;
        }
        Ok(out)
    }

    /// Decides a command against `cache` (loading what it lacks), folds the
    /// events into the cache and returns the append to write. Several
    /// prepared appends can be written together with one `store.append`.
    pub fn prepare(&self, cache: &mut Cache, meta: &CommandMeta, cmd: &Command) -> Result<Append, AppError> {
        let (persons, families) = cmd.subjects();
        let mut read: Vec<StreamId> = vec![];
        for p in &persons {
            self.load(cache, StreamId::Person(*p))?;
            read.push(StreamId::Person(*p));
            // The person's current family decides "one active family at a time".
            if let Some(f) = cache.world.persons.get(p).and_then(|s| s.family) {
                self.load(cache, StreamId::Family(f))?;
                read.push(StreamId::Family(f));
            }
        }
        for f in &families {
            self.load(cache, StreamId::Family(*f))?;
            read.push(StreamId::Family(*f));
        }
        for q in cmd.findings() {
            self.load(cache, StreamId::Finding(q))?;
            read.push(StreamId::Finding(q));
        }
        for l in cmd.links() {
            self.load(cache, StreamId::Link(l))?;
            read.push(StreamId::Link(l));
        }
        let events = decide(&cache.world, &self.profile, meta, cmd)?;
        let mut expected: Vec<(StreamId, u64)> = vec![];
        for s in read.into_iter().chain(events.iter().map(|e| e.stream())) {
            if !expected.iter().any(|(e, _)| *e == s) {
                let v = cache.versions.get(&s).copied().unwrap_or(0);
                expected.push((s, v));
            }
        }
        let mut with_ids = Vec::with_capacity(events.len());
        for e in events {
            let id = Uuid::now_v7();
            evolve(&mut cache.world, id, &e);
            *cache.versions.entry(e.stream()).or_insert(0) += 1;
            with_ids.push((id, e));
        }
        Ok(Append {
            key: meta.idempotency_key.clone(),
            command_hash: command_hash(&meta.actor, cmd),
            meta_json: serde_json::to_string(meta).unwrap_or_default(),
            expected,
            events: with_ids,
        })
    }

    /// Loads a person (and their current family) into `cache` and returns the
    /// cached world, for reads in the middle of a batch.
    pub fn prepare_view<'c>(&self, cache: &'c mut Cache, person: PersonId) -> Result<&'c World, AppError> {
        self.load(cache, StreamId::Person(person))?;
        if let Some(f) = cache.world.persons.get(&person).and_then(|p| p.family) {
            self.load(cache, StreamId::Family(f))?;
        }
        Ok(&cache.world)
    }

    pub fn prepare_view_family<'c>(&self, cache: &'c mut Cache, family: FamilyId) -> Result<&'c World, AppError> {
        self.load(cache, StreamId::Family(family))?;
        Ok(&cache.world)
    }

    pub fn prepare_view_finding<'c>(&self, cache: &'c mut Cache, finding: FindingId) -> Result<&'c World, AppError> {
        self.load(cache, StreamId::Finding(finding))?;
        Ok(&cache.world)
    }

    pub fn prepare_view_link<'c>(&self, cache: &'c mut Cache, link: kinship_domain::LinkId) -> Result<&'c World, AppError> {
        self.load(cache, StreamId::Link(link))?;
        Ok(&cache.world)
    }

    fn load(&self, cache: &mut Cache, stream: StreamId) -> Result<(), AppError> {
        if cache.versions.contains_key(&stream) {
            return Ok(());
        }
        let events = self.store.read_stream(&stream)?;
        for e in &events {
            evolve(&mut cache.world, e.id, &e.event()?);
        }
        cache.versions.insert(stream, events.len() as u64);
        Ok(())
    }

    /// The full state of one person (their stream replayed) and their family.
    pub fn person_state(&self, id: PersonId) -> Result<World, AppError> {
        let mut cache = Cache::default();
        self.load(&mut cache, StreamId::Person(id))?;
        if let Some(f) = cache.world.persons.get(&id).and_then(|p| p.family) {
            self.load(&mut cache, StreamId::Family(f))?;
        }
        Ok(cache.world)
    }

    pub fn family_state(&self, id: FamilyId) -> Result<World, AppError> {
        let mut cache = Cache::default();
        self.load(&mut cache, StreamId::Family(id))?;
        let members: Vec<PersonId> =
            cache.world.families.get(&id).map(|f| f.members.iter().map(|m| m.person).collect()).unwrap_or_default();
        for m in members {
            self.load(&mut cache, StreamId::Person(m))?;
        }
        Ok(cache.world)
    }

    /// Replays the whole log into memory (export, whole-record checks).
    pub fn replay_all(&self) -> Result<World, AppError> {
        let mut world = World::default();
        let mut after = 0;
        loop {
            let page = self.store.read_from(after, 20_000)?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for e in &page {
                evolve(&mut world, e.id, &e.event()?);
            }
        }
        Ok(world)
    }

    /// Events of one stream, decoded, with their positions and metadata.
    pub fn history(&self, stream: &StreamId) -> Result<Vec<(u64, Event, serde_json::Value)>, AppError> {
        let mut out = vec![];
        for e in self.store.read_stream(stream)? {
            let meta = serde_json::from_str(&e.meta).unwrap_or(serde_json::Value::Null);
            out.push((e.position, e.event()?, meta));
        }
        Ok(out)
    }
}
