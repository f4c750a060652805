//! The service: every read and every command a remote caller can make, with
//! access control and audit applied here, below the transport. Each method
//! checks reach (out of reach = [`AppError::NotFound`]), cuts the answer
//! down to the caller's field classes ([`crate::access::view`]) and writes
//! one audit record before returning; if that record cannot be written the
//! method fails with [`AppError::AuditUnavailable`] and returns no data.

pub mod pages;

use crate::access::audit::{Act, AuditWriter};
use crate::access::reach::Reacher;
use crate::access::view::{self, PersonRecord, PersonSummary, SeparatedChildRow};
use crate::access::{Principal, Visibility};
use crate::engine::{Engine, Outcome};
use crate::error::AppError;
use kinship_domain::{Command, PersonId};
use kinship_store::audit::{AuditQuery, AuditRecord};
use kinship_store::{SearchQuery, Store, StoreError};

pub struct Service<S: Store> {
    pub engine: Engine<S>,
    pub audit: AuditWriter,
}

/// The outcome string an audit record gets for a failed request.
fn outcome_of(e: &AppError) -> String {
    match e {
        AppError::Domain(d) => format!("refused:{}", d.rule),
        AppError::Store(StoreError::Conflict { .. }) => "conflict".into(),
        AppError::Store(StoreError::KeyReused { .. }) => "key-reused".into(),
        AppError::NotFound(_) => "not_found".into(),
        AppError::Denied(_) => "denied".into(),
        AppError::Input(_) => "invalid".into(),
        AppError::Store(_) | AppError::AuditUnavailable(_) => "error".into(),
    }
}

impl<S: Store> Service<S> {
    pub fn new(engine: Engine<S>, audit: AuditWriter) -> Self {
        Self { engine, audit }
    }

    pub(crate) fn visibility(&self, who: &Principal) -> Visibility {
        Visibility::of(&self.engine.profile, &who.role)
    }

    /// Writes the audit record for `result` and returns it, or fails with
    /// 503-class `AuditUnavailable` if the record cannot be written.
    pub(crate) fn audited<T>(
        &self,
        who: &Principal,
        action: &str,
        subjects: Vec<String>,
        classes: Vec<String>,
        purpose: Option<&str>,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => outcome_of(e),
        };
        let (subjects, classes) = if result.is_ok() { (subjects, classes) } else { (subjects, vec![]) };
        self.audit.write(who, Act { action, subjects, field_classes: classes, purpose, outcome: &outcome })?;
        result
    }

    /// One person's record, as far as the caller may see it.
    pub fn person(&self, who: &Principal, id: PersonId, purpose: Option<&str>) -> Result<PersonRecord, AppError> {
        let result = (|| {
            let mut reach = Reacher::new(&self.engine, who);
            if !reach.person(id)? {
                return Err(AppError::NotFound(format!("no person {id}")));
            }
            let world = reach.world();
            let person = world.persons.get(&id).ok_or_else(|| AppError::NotFound(format!("no person {id}")))?;
            let family = person.family.and_then(|f| world.families.get(&f));
            let history = self.engine.store.custody_history(id)?;
            Ok(view::person_record(&self.engine.profile, &self.visibility(who), person, family, history, purpose))
        })();
        let classes = result.as_ref().map(|r| r.classes.keys().cloned().collect()).unwrap_or_default();
        self.audited(who, "person.read", vec![id.to_string()], classes, purpose, result)
    }

    /// Search. Filtering by a field class the caller cannot see is refused
    /// (the hits would reveal it); hits out of reach are left out.
    pub fn search(&self, who: &Principal, q: &SearchQuery, purpose: Option<&str>) -> Result<Vec<PersonSummary>, AppError> {
        let vis = self.visibility(who);
        let result = (|| {
            let needs = [
                (q.name.is_some() || q.min_age.is_some() || q.max_age.is_some(), view::IDENTITY, "name"),
                (q.encountered_from.is_some() || q.encountered_to.is_some(), view::CUSTODY, "from"),
                (q.family.is_some(), view::FAMILY, "family"),
            ];
            if let Some((_, class, field)) = needs.iter().find(|(used, class, _)| *used && !vis.sees(class)) {
                return Err(AppError::Denied(format!("searching by {field} needs the {class} field class, which your role does not see")));
            }
            let mut reach = Reacher::new(&self.engine, who);
            let mut out = vec![];
            for hit in self.engine.store.search(q)? {
                if reach.person(hit.id)? {
                    out.push(view::person_summary(&vis, hit));
                }
            }
            Ok(out)
        })();
        let subjects = result.as_ref().map(|r| r.iter().map(|p| p.id.to_string()).collect()).unwrap_or_default();
        let classes = if result.as_ref().is_ok_and(|r| !r.is_empty()) { view::list_classes(&vis) } else { vec![] };
        self.audited(who, "persons.search", subjects, classes, purpose, result)
    }

    /// Separated children the caller reaches. The list is family-class data.
    pub fn separated_children(
        &self,
        who: &Principal,
        today: jiff::civil::Date,
        purpose: Option<&str>,
    ) -> Result<Vec<SeparatedChildRow>, AppError> {
        let vis = self.visibility(who);
        let result = (|| {
            if !vis.sees(view::FAMILY) {
                return Err(AppError::Denied(
                    "the separated-children list needs the family field class, which your role does not see".into(),
                ));
            }
            let mut reach = Reacher::new(&self.engine, who);
            let mut out = vec![];
            for row in self.engine.store.separated_children(today)? {
                if reach.person(row.child.id)? {
                    out.push(view::separated_child(&vis, row));
                }
            }
            Ok(out)
        })();
        let subjects = result
            .as_ref()
            .map(|rows| {
                let mut ids: Vec<String> = rows
                    .iter()
                    .flat_map(|r| std::iter::once(r.child.id).chain(r.parents.iter().map(|p| p.person.id)))
                    .map(|id| id.to_string())
                    .collect();
                ids.sort();
                ids.dedup();
                ids
            })
            .unwrap_or_default();
        let classes = if result.as_ref().is_ok_and(|r| !r.is_empty()) { view::list_classes(&vis) } else { vec![] };
        self.audited(who, "report.separated_children", subjects, classes, purpose, result)
    }

    /// Every person the caller reaches, each cut down exactly as
    /// [`Service::person`] would (the export is the same view, in bulk).
    pub fn export(&self, who: &Principal, purpose: Option<&str>) -> Result<Vec<PersonRecord>, AppError> {
        let vis = self.visibility(who);
        let result = (|| {
            let mut reach = Reacher::new(&self.engine, who);
            let mut out = vec![];
            for hit in self.engine.store.search(&SearchQuery { limit: usize::MAX >> 1, ..Default::default() })? {
                if !reach.person(hit.id)? {
                    continue;
                }
                let world = reach.world();
                let Some(person) = world.persons.get(&hit.id) else { continue };
                let family = person.family.and_then(|f| world.families.get(&f));
                let history = self.engine.store.custody_history(hit.id)?;
                out.push(view::person_record(&self.engine.profile, &vis, person, family, history, purpose));
            }
            Ok(out)
        })();
        let subjects = result.as_ref().map(|r| r.iter().map(|p| p.id.to_string()).collect()).unwrap_or_default();
        let mut classes: Vec<String> =
            result.as_ref().map(|r| r.iter().flat_map(|p| p.classes.keys().cloned()).collect()).unwrap_or_default();
        classes.sort();
        classes.dedup();
        self.audited(who, "persons.export", subjects, classes, purpose, result)
    }

    /// Runs a command as the caller. Persons, families and findings it names
    /// that exist must be in reach (else NotFound); the permission and every rule
    /// are checked by the domain. Audited whatever the outcome.
    pub fn execute(&self, who: &Principal, key: &str, cmd: &Command) -> Result<Outcome, AppError> {
        let (persons, families) = cmd.subjects();
        let result = (|| {
            let mut reach = Reacher::new(&self.engine, who);
            for p in &persons {
                let exists = self.engine.store.stream_version(&kinship_domain::StreamId::Person(*p))? > 0;
                if exists && !reach.person(*p)? {
                    return Err(AppError::NotFound(format!("no person {p}")));
                }
            }
            for f in &families {
                let exists = self.engine.store.stream_version(&kinship_domain::StreamId::Family(*f))? > 0;
                if exists && !reach.family(*f)? {
                    return Err(AppError::NotFound(format!("no family {f}")));
                }
            }
            // A finding already raised (resolving it, or raising its id
            // again) is in reach only when all it is about is.
            for q in cmd.findings() {
                let exists = self.engine.store.stream_version(&kinship_domain::StreamId::Finding(q))? > 0;
                if exists && !reach.finding(q)? {
                    return Err(AppError::NotFound(format!("no finding {q}")));
                }
            }
            // A worklist item likewise: only when both its persons are.
            for l in cmd.links() {
                let exists = self.engine.store.stream_version(&kinship_domain::StreamId::Link(l))? > 0;
                if exists && !reach.link(l)? {
                    return Err(AppError::NotFound(format!("no worklist item {l}")));
                }
            }
            let meta = Engine::<S>::meta(&who.actor(), key);
            self.engine.execute(&meta, cmd)
        })();
        let subjects = persons
            .iter()
            .map(|p| p.to_string())
            .chain(families.iter().map(|f| f.to_string()))
            .chain(cmd.findings().iter().map(|q| q.to_string()))
            .chain(cmd.links().iter().map(|l| l.to_string()))
            .collect();
        let action = format!("command.{}", command_name(cmd));
        self.audited(who, &action, subjects, vec![], None, result)
    }

    /// The audit view: for roles holding `audit.read`. Reading it is audited too.
    pub fn audit_log(&self, who: &Principal, q: &AuditQuery) -> Result<Vec<AuditRecord>, AppError> {
        // Person ids are shown bare in views and prefixed (`P-…`) in the log.
        let mut q = q.clone();
        q.subject = q.subject.map(|s| if uuid::Uuid::parse_str(&s).is_ok() { format!("P-{s}") } else { s });
        let q = &q;
        let result = if self.engine.profile.permits(&who.role, &who.agency, "audit.read") {
            self.audit.log().audit_query(q).map_err(AppError::from)
        } else {
            Err(AppError::Denied("reading the audit log needs the audit.read permission".into()))
        };
        let subjects = q.subject.iter().cloned().collect();
        self.audited(who, "audit.read", subjects, vec!["audit".into()], None, result)
    }
}

/// The command's variant name, as it appears in its JSON `command` tag.
pub fn command_name(cmd: &Command) -> String {
    serde_json::to_value(cmd)
        .ok()
        .and_then(|v| v.get("command").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_else(|| "Unknown".into())
}
