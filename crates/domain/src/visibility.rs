//! Who may see which part of a person's record: field classes and, per role,
//! the level at which each class is visible and which persons the role can
//! reach at all. Data in the jurisdiction profile (`[field_classes]`,
//! `[access.<role>]`); anything not granted there is denied.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Classes the application computes from the core record itself; every
/// other class is made of record columns named in the profile.
pub const BUILTIN_CLASSES: &[&str] = &["identity", "family", "custody"];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldClassDef {
    pub label: String,
    /// Record columns (`us_address`, `notes` or an `extra.<name>` column,
    /// written without the prefix) that belong to this class.
    #[serde(default)]
    pub columns: Vec<String>,
    /// The columns a reader with `summary` visibility sees (e.g. that a
    /// criminal history exists and its category, not the record).
    #[serde(default)]
    pub summary: Vec<String>,
    /// Reading this class requires a stated purpose; without one it is withheld.
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Summary,
    Full,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// No person at all (e.g. auditors, who see the audit view instead).
    #[default]
    None,
    /// Persons tied to the agency's custody or records, and their families.
    Agency,
    /// Every person.
    All,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAccess {
    #[serde(default)]
    pub reach: Reach,
    /// Field class → level. A class not named here is not visible.
    #[serde(default)]
    pub see: BTreeMap<String, Level>,
}

impl crate::Profile {
    /// The level at which `role` sees `class`; `None` = not at all.
    pub fn sees(&self, role: &str, class: &str) -> Option<Level> {
        self.access.get(role).and_then(|a| a.see.get(class)).copied()
    }

    pub fn reach(&self, role: &str) -> Reach {
        self.access.get(role).map(|a| a.reach).unwrap_or_default()
    }

    /// The class a record column belongs to, if any.
    pub fn class_of_column(&self, column: &str) -> Option<&str> {
        self.field_classes.iter().find(|(_, d)| d.columns.iter().any(|c| c == column)).map(|(k, _)| k.as_str())
    }
}
