//! The jurisdiction profile: policy as data.
//!
//! Reason codes, legal clocks, agencies and roles are read from a TOML file.
//! A bad profile is refused at start with the line and the key that are wrong,
//! because a silently ignored typo in a reason code table is exactly the kind
//! of error that made 2018's separations uncountable.

use serde::Deserialize;
use std::collections::BTreeMap;

pub const DEFAULT_PROFILE: &str = include_str!("../../../profiles/default.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub jurisdiction: Jurisdiction,
    pub agencies: BTreeMap<String, Agency>,
    #[serde(default)]
    pub facility_kinds: BTreeMap<String, String>,
    pub reason_codes: BTreeMap<String, ReasonCode>,
    #[serde(default)]
    pub clocks: BTreeMap<String, Clock>,
    pub review: Review,
    pub roles: BTreeMap<String, RoleDef>,
    /// Parts of a person's record that are shown or withheld as a whole.
    #[serde(default)]
    pub field_classes: BTreeMap<String, crate::visibility::FieldClassDef>,
    /// Per role: which persons it reaches and which field classes it sees.
    /// A role without an entry reaches and sees nothing.
    #[serde(default)]
    pub access: BTreeMap<String, crate::visibility::RoleAccess>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jurisdiction {
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub name: String,
    /// Custody in a border agency runs the child-in-border-custody clock.
    #[serde(default)]
    pub border: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonCode {
    pub meaning: String,
    /// The adult is referred for prosecution: starts the referral clock.
    #[serde(default)]
    pub prosecution: bool,
    /// The separation must name the enforcement policy it was made under.
    #[serde(default)]
    pub requires_policy: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    MinorInBorderCustody,
    AdultProsecutionReferral,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    pub label: String,
    pub hours: u32,
    pub applies_to: ClockKind,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub level1: String,
    pub level2: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    pub label: String,
    /// Agency code, or `*` for any agency.
    pub agency: String,
    pub may: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile {origin}: line {line}, key `{key}`: {message}")]
pub struct ProfileError {
    pub origin: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// Every permission a role may hold. A role naming anything else is refused,
/// so a misspelt permission cannot silently deny (or grant) an action.
pub const PERMISSIONS: &[&str] = &[
    "*",
    "person.record",
    "person.correct",
    "family.form",
    "family.lead",
    "family.reunify",
    "separation.record",
    "separation.review.1",
    "separation.review.2",
    "custody.book",
    "custody.transfer",
    "custody.release",
    "custody.remove",
    // Act on custody held by any agency (bulk imports, administrators).
    "custody.any_agency",
    "finding.raise",
    "finding.resolve",
    "prosecution.refer",
    // Read the audit log (who looked at whom).
    "audit.read",
    // Record the linker's proposals and its cursor (the linkage worker).
    "link.propose",
    // See the linkage worklist and confirm or reject its proposals.
    "worklist.review",
    // Manage accounts and API tokens.
    "account.manage",
];

impl Profile {
    pub fn default_profile() -> Result<Self, ProfileError> {
        Self::parse(DEFAULT_PROFILE, "default")
    }

    /// Parses and validates a profile. `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ProfileError> {
        let de = toml::Deserializer::new(text);
        let profile: Profile = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let line = inner.span().map(|s| line_of_offset(text, s.start)).unwrap_or_else(|| line_of_key(text, &key));
            ProfileError { origin: origin.into(), line, key, message: inner.message().to_string() }
        })?;
        profile.validate(text, origin)?;
        Ok(profile)
    }

    fn validate(&self, text: &str, origin: &str) -> Result<(), ProfileError> {
        let fail = |key: String, message: String| ProfileError { origin: origin.into(), line: line_of_key(text, &key), key, message };
        for (code, rc) in &self.reason_codes {
            if !valid_code(code) {
                return Err(fail(format!("reason_codes.{code}"), "a reason code is 2-8 capital letters".into()));
            }
            if rc.meaning.trim().is_empty() {
                return Err(fail(format!("reason_codes.{code}.meaning"), "a reason code needs its meaning".into()));
            }
        }
        for (name, clock) in &self.clocks {
            if clock.hours == 0 {
                return Err(fail(format!("clocks.{name}.hours"), "a legal clock must run for at least one hour".into()));
            }
        }
        for (name, role) in &self.roles {
            if role.agency != "*" && !self.agencies.contains_key(&role.agency) {
                return Err(fail(format!("roles.{name}.agency"), format!("agency {:?} is not declared under [agencies]", role.agency)));
            }
            if let Some(p) = role.may.iter().find(|p| !PERMISSIONS.contains(&p.as_str())) {
                return Err(fail(format!("roles.{name}.may"), format!("unknown permission {p:?}; known: {}", PERMISSIONS.join(", "))));
            }
        }
        for (key, perm) in [("review.level1", &self.review.level1), ("review.level2", &self.review.level2)] {
            if !PERMISSIONS.contains(&perm.as_str()) {
                return Err(fail(key.into(), format!("unknown permission {perm:?}")));
            }
        }
        self.validate_access(&fail)
    }

    fn validate_access(&self, fail: &dyn Fn(String, String) -> ProfileError) -> Result<(), ProfileError> {
        for builtin in crate::visibility::BUILTIN_CLASSES {
            if !self.access.is_empty() && !self.field_classes.contains_key(*builtin) {
                return Err(fail("field_classes".into(), format!("field class {builtin:?} must be declared")));
            }
        }
        for (name, class) in &self.field_classes {
            if let Some(c) = class.summary.iter().find(|c| !class.columns.contains(c)) {
                return Err(fail(format!("field_classes.{name}.summary"), format!("{c:?} is not one of this class's columns")));
            }
            for c in &class.columns {
                if self.field_classes.iter().filter(|(_, d)| d.columns.contains(c)).count() > 1 {
                    return Err(fail(format!("field_classes.{name}.columns"), format!("column {c:?} belongs to more than one class")));
                }
            }
        }
        for (role, access) in &self.access {
            if !self.roles.contains_key(role) {
                return Err(fail(format!("access.{role}"), format!("role {role:?} is not declared under [roles]")));
            }
            for (class, level) in &access.see {
                let Some(def) = self.field_classes.get(class) else {
                    let known: Vec<&str> = self.field_classes.keys().map(String::as_str).collect();
                    return Err(fail(format!("access.{role}.see"), format!("unknown field class {class:?}; known: {}", known.join(", "))));
                };
                if *level == crate::visibility::Level::Summary && def.summary.is_empty() {
                    return Err(fail(format!("access.{role}.see"), format!("field class {class:?} has no summary columns to show")));
                }
            }
        }
        Ok(())
    }

    pub fn role(&self, key: &str) -> Option<&RoleDef> {
        self.roles.get(key)
    }

    /// May `role` (acting for `agency`) use `permission`?
    pub fn permits(&self, role: &str, agency: &str, permission: &str) -> bool {
        self.roles.get(role).is_some_and(|r| (r.agency == "*" || r.agency == agency) && r.may.iter().any(|p| p == "*" || p == permission))
    }

    pub fn is_border_agency(&self, agency: &str) -> bool {
        self.agencies.get(agency).is_some_and(|a| a.border)
    }

    pub fn clock(&self, kind: ClockKind) -> Option<&Clock> {
        self.clocks.values().find(|c| c.applies_to == kind)
    }
}

fn valid_code(code: &str) -> bool {
    (2..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Finds the line of a dotted key such as `roles.bp_agent.agency`: the line of
/// `key = …` inside the `[roles.bp_agent]` table, or of the table header.
fn line_of_key(text: &str, key: &str) -> usize {
    let (table, leaf) = match key.rsplit_once('.') {
        Some((t, l)) => (t, l),
        None => ("", key),
    };
    let mut in_table = table.is_empty();
    let mut header_line = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            let name = line.trim_matches(|c| c == '[' || c == ']').trim();
            if name == key {
                return i + 1;
            }
            in_table = name == table;
            if in_table {
                header_line = i + 1;
            }
            continue;
        }
        if in_table && line.split('=').next().map(str::trim) == Some(leaf) {
            return i + 1;
        }
    }
    header_line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_loads_with_the_e3_codes_and_fmpp() {
        let p = Profile::default_profile();
        assert!(p.is_ok(), "{p:?}");
        let Ok(p) = p else { return };
        for code in ["ERR", "FCCO", "FCNR", "FCNFRP", "FMEW", "FMGA", "FMH", "FMPC", "FMPO", "FMPIV", "FMT"] {
            assert!(p.reason_codes.contains_key(code), "missing {code}");
        }
        assert!(p.reason_codes.get("FMPP").is_some_and(|c| c.requires_policy));
        assert_eq!(p.clock(ClockKind::MinorInBorderCustody).map(|c| c.hours), Some(72));
        assert_eq!(p.clock(ClockKind::AdultProsecutionReferral).map(|c| c.hours), Some(48));
    }

    #[test]
    fn a_type_error_names_line_and_key() {
        let text = DEFAULT_PROFILE.replace("hours = 72", "hours = \"seventy-two\"");
        let err = Profile::parse(&text, "t.toml").err();
        let expected_line = text.lines().position(|l| l.contains("seventy-two")).map(|i| i + 1);
        assert_eq!(err.as_ref().map(|e| e.line), expected_line);
        assert_eq!(err.map(|e| e.key), Some("clocks.child_border_custody.hours".to_string()));
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let text = DEFAULT_PROFILE.replace("prosecution = true\n# The", "prosecuton = true\n# The");
        let err = Profile::parse(&text, "t.toml").err();
        assert!(err.as_ref().is_some_and(|e| e.message.contains("prosecuton")), "{err:?}");
    }

    #[test]
    fn a_semantic_error_names_line_and_key() {
        let text =
            DEFAULT_PROFILE.replace("agency = \"ICE\"\nmay = [\"custody.transfer\"", "agency = \"ICEE\"\nmay = [\"custody.transfer\"");
        let err = Profile::parse(&text, "t.toml").err();
        let expected_line = text.lines().position(|l| l.contains("\"ICEE\"")).map(|i| i + 1);
        assert_eq!(err.as_ref().map(|e| e.key.as_str()), Some("roles.ice_juvenile_coordinator.agency"));
        assert_eq!(err.map(|e| e.line), expected_line);
    }

    #[test]
    fn an_unknown_permission_is_refused() {
        let text =
            DEFAULT_PROFILE.replace("may = [\"finding.resolve\", \"worklist.review\"]", "may = [\"finding.resolv\", \"worklist.review\"]");
        assert_ne!(text, DEFAULT_PROFILE, "the test edits the analyst's permissions");
        let err = Profile::parse(&text, "t.toml").err();
        assert_eq!(err.map(|e| e.key), Some("roles.hq_analyst.may".to_string()));
    }

    #[test]
    fn default_visibility_matches_the_issue() {
        use crate::visibility::{Level, Reach};
        let Ok(p) = Profile::default_profile() else { return };
        assert_eq!(p.sees("orr_case_manager", "criminal_history"), Some(Level::Summary));
        assert_eq!(p.field_classes.get("criminal_history").map(|c| c.summary.clone()), Some(vec!["criminal_history_category".to_string()]));
        assert_eq!(p.sees("bp_agent", "health"), Some(Level::Summary));
        assert_eq!(p.field_classes.get("health").map(|c| c.summary.clone()), Some(vec!["health_intake_screening".to_string()]));
        assert_eq!(p.reach("auditor"), Reach::None);
        assert!(p.access.get("auditor").is_some_and(|a| a.see.is_empty()));
        assert!(p.permits("auditor", "HQ", "audit.read"));
        assert_eq!(p.sees("importer-that-does-not-exist", "identity"), None, "denied by default");
    }

    #[test]
    fn an_unknown_field_class_in_access_is_refused_with_its_line() {
        let text = DEFAULT_PROFILE
            .replace("[access.hq_analyst]\nreach = \"all\"\nsee = { identity", "[access.hq_analyst]\nreach = \"all\"\nsee = { identiy");
        let err = Profile::parse(&text, "t.toml").err();
        assert_eq!(err.as_ref().map(|e| e.key.as_str()), Some("access.hq_analyst.see"), "{err:?}");
        assert!(err.is_some_and(|e| e.message.contains("identiy")));
    }

    #[test]
    fn summary_for_a_class_without_summary_columns_is_refused() {
        let text = DEFAULT_PROFILE.replace(
            "[access.hq_analyst]\nreach = \"all\"\nsee = { identity = \"full\"",
            "[access.hq_analyst]\nreach = \"all\"\nsee = { identity = \"summary\"",
        );
        let err = Profile::parse(&text, "t.toml").err();
        assert!(err.is_some_and(|e| e.key == "access.hq_analyst.see" && e.message.contains("no summary")));
    }
}
