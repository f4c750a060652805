//! Access control, enforced here below any transport: who the caller is
//! ([`Principal`]), which field classes their role sees ([`Visibility`]),
//! which persons they reach ([`reach`]), the one place where views are cut
//! down to what may be shown ([`view`]), and the audit writer ([`audit`]).
//! [`crate::service::Service`] is the only way the server reads or acts.

pub mod audit;
pub mod reach;
pub mod view;

use kinship_domain::visibility::Level;
use kinship_domain::{Actor, Profile};
use std::collections::BTreeMap;

/// Who is asking: an account (through a session) or an agency system
/// (through an API token), and from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub agency: String,
    pub role: String,
    /// The API token's public id, when the request came with a token.
    pub token: Option<String>,
    /// The client address.
    pub source: String,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor { user: self.user.clone(), agency: self.agency.clone(), role: self.role.clone() }
    }
}

/// The field classes one role sees, and at what level. Built from the
/// profile; a class the profile does not grant is absent (denied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visibility {
    levels: BTreeMap<String, Level>,
}

impl Visibility {
    pub fn of(profile: &Profile, role: &str) -> Self {
        let levels = profile.access.get(role).map(|a| a.see.clone()).unwrap_or_default();
        Self { levels }
    }

    pub fn level(&self, class: &str) -> Option<Level> {
        self.levels.get(class).copied()
    }

    pub fn sees(&self, class: &str) -> bool {
        self.levels.contains_key(class)
    }
}
