//! The review worklist through the service: listing proposals and deciding
//! them, with the same permission, reach and audit as every other read and
//! command. Listing needs `worklist.review`; an item is in reach only when
//! both its persons are (out of reach answers 404, as for findings).

use crate::access::Principal;
use crate::access::reach::Reacher;
use crate::engine::Outcome;
use crate::error::AppError;
use crate::service::Service;
use kinship_domain::family::Role;
use kinship_domain::{Command, LinkId};
use kinship_store::{Store, WorklistItem, WorklistQuery};

pub const PERMISSION: &str = "worklist.review";

/// What a reviewer decides about one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Confirm {
        adult_role: Option<Role>,
        minor_role: Option<Role>,
        note: Option<String>,
    },
    Reject {
        reason: String,
    },
    /// Withdraw an asserted identity link.
    Unlink {
        reason: String,
    },
}

impl<S: Store> Service<S> {
    /// Worklist items in the caller's reach, best first.
    pub fn worklist(&self, who: &Principal, q: &WorklistQuery) -> Result<Vec<WorklistItem>, AppError> {
        let result = (|| {
            if !self.engine.profile.permits(&who.role, &who.agency, PERMISSION) {
                return Err(AppError::Denied(format!("the worklist needs the {PERMISSION} permission, which your role does not hold")));
            }
            let mut reach = Reacher::new(&self.engine, who);
            let mut out = vec![];
            // Read past items out of reach so `limit` counts what is shown.
            let mut wide = q.clone();
            wide.limit = usize::MAX >> 1;
            for item in self.engine.store.worklist(&wide)? {
                if out.len() >= q.limit {
                    break;
                }
                if reach.person(item.a)? && reach.person(item.b)? {
                    out.push(item);
                }
            }
            Ok(out)
        })();
        let subjects = result
            .as_ref()
            .map(|items| {
                let mut ids: Vec<String> = items.iter().flat_map(|i| [i.a.to_string(), i.b.to_string()]).collect();
                ids.sort();
                ids.dedup();
                ids
            })
            .unwrap_or_default();
        let mut classes: Vec<String> = result
            .as_ref()
            .map(|items| items.iter().map(|i| if i.kind == "family" { "family" } else { "identity" }.to_string()).collect())
            .unwrap_or_default();
        classes.sort();
        classes.dedup();
        self.audited(who, "worklist.read", subjects, classes, None, result)
    }

    /// Confirms, rejects or withdraws one item as the caller. The command
    /// names the item's persons, so it is checked and audited like any other.
    pub fn decide_link(&self, who: &Principal, key: &str, id: LinkId, decision: &Decision) -> Result<Outcome, AppError> {
        let mut reach = Reacher::new(&self.engine, who);
        let found = reach.link(id)?;
        let link = if found { reach.world().links.get(&id).cloned() } else { None };
        let Some(link) = link else {
            // Out of reach is answered as absent, and audited as such.
            let miss: Result<Outcome, AppError> = Err(AppError::NotFound(format!("no worklist item {id}")));
            return self.audited(who, "command.DecideLink", vec![id.to_string()], vec![], None, miss);
        };
        let cmd = match decision {
            Decision::Confirm { adult_role, minor_role, note } => Command::ConfirmLink {
                link: id,
                a: link.a,
                b: link.b,
                adult_role: *adult_role,
                minor_role: *minor_role,
                note: note.clone(),
            },
            Decision::Reject { reason } => Command::RejectLink { link: id, reason: reason.clone() },
            // The core refuses to withdraw anything but an asserted identity link.
            Decision::Unlink { reason } => Command::UnlinkIdentity { link: id, reason: reason.clone() },
        };
        self.execute(who, key, &cmd)
    }
}
