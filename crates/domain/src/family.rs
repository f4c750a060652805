//! Family vocabulary: kinds, roles, member status and how a link was established.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FamilyKind {
    /// A parent or legal guardian aged 18+ with a child under 18.
    Unit,
    /// Other relatives travelling together.
    Group,
}

impl FamilyKind {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "UNIT" => Some(Self::Unit),
            "GROUP" => Some(Self::Group),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unit => "UNIT",
            Self::Group => "GROUP",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Mother,
    Father,
    LegalGuardian,
    Son,
    Daughter,
    Child,
    Sibling,
    Aunt,
    Uncle,
    Grandparent,
    Grandchild,
    Cousin,
    OtherRelative,
}

impl Role {
    pub const ALL: [Role; 13] = [
        Role::Mother,
        Role::Father,
        Role::LegalGuardian,
        Role::Son,
        Role::Daughter,
        Role::Child,
        Role::Sibling,
        Role::Aunt,
        Role::Uncle,
        Role::Grandparent,
        Role::Grandchild,
        Role::Cousin,
        Role::OtherRelative,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        let up = raw.trim().to_ascii_uppercase();
        Self::ALL.into_iter().find(|r| r.as_str() == up)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mother => "MOTHER",
            Role::Father => "FATHER",
            Role::LegalGuardian => "LEGAL_GUARDIAN",
            Role::Son => "SON",
            Role::Daughter => "DAUGHTER",
            Role::Child => "CHILD",
            Role::Sibling => "SIBLING",
            Role::Aunt => "AUNT",
            Role::Uncle => "UNCLE",
            Role::Grandparent => "GRANDPARENT",
            Role::Grandchild => "GRANDCHILD",
            Role::Cousin => "COUSIN",
            Role::OtherRelative => "OTHER_RELATIVE",
        }
    }

    /// Roles that can anchor a family UNIT as its adult.
    pub fn is_parent_or_guardian(self) -> bool {
        matches!(self, Role::Mother | Role::Father | Role::LegalGuardian)
    }

    /// Roles that make someone the child of a parent in the family.
    pub fn is_child(self) -> bool {
        matches!(self, Role::Son | Role::Daughter | Role::Child)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Active,
    Separated,
    Reunified,
    /// The membership was recorded in error and withdrawn (a correction: the
    /// row and the event that recorded it stay).
    Withdrawn,
}

impl MemberStatus {
    /// Active and reunified members are with their family now.
    pub fn is_with_family(self) -> bool {
        matches!(self, MemberStatus::Active | MemberStatus::Reunified)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Separated => "separated",
            MemberStatus::Reunified => "reunified",
            MemberStatus::Withdrawn => "withdrawn",
        }
    }
}

/// How a family link was established, and by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Establishment {
    /// Stated by the person or the source record.
    Claimed,
    /// Backed by a document (birth certificate, custody order).
    Documented,
    /// Verified (e.g. DNA, consular confirmation).
    Verified,
    /// Inferred by record linkage and confirmed by a reviewer (the
    /// membership's `by` is who confirmed it; the link stream holds the
    /// evidence). Never recorded without that confirmation.
    Inferred,
}

impl Establishment {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "claimed" => Some(Self::Claimed),
            "documented" => Some(Self::Documented),
            "verified" => Some(Self::Verified),
            "inferred" => Some(Self::Inferred),
            _ => None,
        }
    }

    /// As stored and shown (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::Documented => "documented",
            Self::Verified => "verified",
            Self::Inferred => "inferred",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Classification {
    SingleAdult,
    FamilyUnitMember,
    FamilyGroupMember,
    Uac,
    AccompaniedMinor,
}

impl Classification {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "SINGLE_ADULT" => Some(Self::SingleAdult),
            "FAMILY_UNIT_MEMBER" => Some(Self::FamilyUnitMember),
            "FAMILY_GROUP_MEMBER" => Some(Self::FamilyGroupMember),
            "UAC" => Some(Self::Uac),
            "ACCOMPANIED_MINOR" => Some(Self::AccompaniedMinor),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleAdult => "SINGLE_ADULT",
            Self::FamilyUnitMember => "FAMILY_UNIT_MEMBER",
            Self::FamilyGroupMember => "FAMILY_GROUP_MEMBER",
            Self::Uac => "UAC",
            Self::AccompaniedMinor => "ACCOMPANIED_MINOR",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Return,
}

/// What the UNIT rule says about a family's members: a UNIT needs a parent
/// or legal guardian aged 18+ and a child under 18, ages at the encounter.
/// Commands refuse a UNIT that fails it; imports keep the family and raise a
/// finding for each failure. One rule, read by both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitCheck {
    pub has_adult_parent: bool,
    pub has_minor_child: bool,
    /// Indexes (into the members given) of parents known to be under 18.
    pub minor_parents: Vec<usize>,
}

impl UnitCheck {
    /// `members`: each member's role and age at the encounter, if known.
    pub fn of(members: &[(Role, Option<i16>)]) -> Self {
        let mut c = Self::default();
        for (i, (role, age)) in members.iter().enumerate() {
            match (role.is_parent_or_guardian(), role.is_child(), age) {
                (true, _, Some(a)) if *a >= 18 => c.has_adult_parent = true,
                (true, _, Some(_)) => c.minor_parents.push(i),
                (_, true, Some(a)) if *a < 18 => c.has_minor_child = true,
                _ => {}
            }
        }
        c
    }
}
