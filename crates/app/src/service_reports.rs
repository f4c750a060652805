//! The service's reports beyond separated children: data-quality findings
//! and the legal clocks. Same contract as every [`Service`] method: only
//! what the caller reaches, cut to the field classes they see, one audit
//! record written before the answer is returned.

use crate::access::reach::Reacher;
use crate::access::view::{self, PersonSummary};
use crate::access::{Principal, Visibility};
use crate::error::AppError;
use crate::report::clocks_report;
use crate::service::Service;
use jiff::Timestamp;
use kinship_domain::FindingId;
use kinship_domain::clocks::ClockReading;
use kinship_domain::person::SourceRef;
use kinship_store::Store;
use serde::Serialize;

/// A data-quality finding as one reader may see it. The message names the
/// persons concerned, so it is identity-class data: a role that does not
/// see identities gets the kind and the subjects' ids only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    pub id: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub subjects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<SourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// A legal clock running for a person, with the person as the reader may
/// see them in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClockRow {
    pub person: PersonSummary,
    pub clock: String,
    pub label: String,
    pub started: String,
    pub due: String,
    pub overdue: bool,
    pub hours_left: i64,
}

fn clock_row(vis: &Visibility, person: kinship_store::PersonView, c: ClockReading) -> ClockRow {
    ClockRow {
        person: view::person_summary(vis, person),
        clock: c.clock,
        label: c.label,
        started: c.started.to_string(),
        due: c.due.to_string(),
        overdue: c.overdue,
        hours_left: c.hours_left,
    }
}

impl<S: Store> Service<S> {
    /// Data-quality findings (open ones unless `all`) whose every subject the
    /// caller reaches. Findings describe family composition, so the list needs
    /// the family field class.
    pub fn findings(&self, who: &Principal, all: bool, purpose: Option<&str>) -> Result<Vec<FindingRow>, AppError> {
        let vis = self.visibility(who);
        let result = (|| {
            if !vis.sees(view::FAMILY) {
                return Err(AppError::Denied("data-quality findings need the family field class, which your role does not see".into()));
            }
            let mut reach = Reacher::new(&self.engine, who);
            let mut out = vec![];
            for f in self.engine.store.findings(!all)? {
                let Some(id) = FindingId::parse(&f.id) else { continue };
                if !reach.finding(id)? {
                    continue;
                }
                out.push(FindingRow {
                    id: f.id,
                    kind: f.kind,
                    message: vis.sees(view::IDENTITY).then_some(f.message),
                    subjects: f.subjects,
                    record: f.record,
                    resolution: f.resolution,
                });
            }
            Ok(out)
        })();
        let subjects = sorted(result.as_ref().map(|r| r.iter().flat_map(|f| f.subjects.iter().cloned()).collect()));
        let classes = if result.as_ref().is_ok_and(|r| !r.is_empty()) { finding_classes(&vis) } else { vec![] };
        self.audited(who, "report.findings", subjects, classes, purpose, result)
    }

    /// The legal clocks running at `now` for persons the caller reaches,
    /// soonest due first (overdue ones lead). Clocks are custody-class data.
    pub fn clocks(&self, who: &Principal, now: Timestamp, purpose: Option<&str>) -> Result<Vec<ClockRow>, AppError> {
        let vis = self.visibility(who);
        let result = (|| {
            if !vis.sees(view::CUSTODY) {
                return Err(AppError::Denied("legal clocks need the custody field class, which your role does not see".into()));
            }
            let mut reach = Reacher::new(&self.engine, who);
            let mut out = vec![];
            for (person, clock) in clocks_report(&self.engine, now)? {
                if reach.person(person.id)? {
                    out.push(clock_row(&vis, person, clock));
                }
            }
            Ok(out)
        })();
        let subjects = sorted(result.as_ref().map(|r| r.iter().map(|c| c.person.id.to_string()).collect()));
        let classes = if result.as_ref().is_ok_and(|r| !r.is_empty()) { view::list_classes(&vis) } else { vec![] };
        self.audited(who, "report.clocks", subjects, classes, purpose, result)
    }
}

fn sorted(ids: Result<Vec<String>, &AppError>) -> Vec<String> {
    let mut ids = ids.unwrap_or_default();
    ids.sort();
    ids.dedup();
    ids
}

/// The field classes a findings list returns: family always (the list needs
/// it), identity when the messages are shown.
fn finding_classes(vis: &Visibility) -> Vec<String> {
    let mut c = vec![view::FAMILY.to_string()];
    if vis.sees(view::IDENTITY) {
        c.push(view::IDENTITY.to_string());
    }
    c
}
