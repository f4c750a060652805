//! Who crosses: single adults, unaccompanied children, and families of
//! plausible shapes, with their true relationships (the ground truth).

use crate::names::{self, Culture, Name};
use crate::rng::Rng;
use jiff::ToSpan;
use jiff::civil::Date;

#[derive(Clone, Debug)]
pub struct Human {
    /// The person's id in the ground truth.
    pub id: String,
    pub name: Name,
    pub male: bool,
    pub birth: Date,
    pub citizenship: &'static str,
    pub culture: Culture,
    pub a_number: Option<u64>,
}

impl Human {
    pub fn age_on(&self, day: Date) -> i16 {
        let mut years = day.year() - self.birth.year();
        if (day.month(), day.day()) < (self.birth.month(), self.birth.day()) {
            years -= 1;
        }
        years
    }
}

/// What a member truly is to the group, and the role a family record gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tie {
    Father,
    Mother,
    /// The mother's partner, recorded as the children's father.
    StepFather,
    Grandparent,
    AuntOrUncle,
    /// An adult brother or sister travelling with the minor ones.
    OlderSibling,
    Child,
    /// A minor with a relative who is not their parent.
    MinorRelative,
    Alone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    SingleAdult,
    Unaccompanied,
    SingleMother,
    SingleFather,
    TwoParents,
    StepFamily,
    Grandparent,
    AuntOrUncle,
    Siblings,
}

impl Shape {
    pub fn is_family(self) -> bool {
        !matches!(self, Shape::SingleAdult | Shape::Unaccompanied)
    }
}

#[derive(Clone, Debug)]
pub struct Member {
    pub human: Human,
    pub tie: Tie,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub shape: Shape,
    pub members: Vec<Member>,
    /// True (parent, child) pairs by member index, the child a minor.
    pub parent_child: Vec<(usize, usize)>,
}

pub const FAMILY_SHAPES: &[(f64, Shape)] = &[
    (0.36, Shape::SingleMother),
    (0.20, Shape::SingleFather),
    (0.20, Shape::TwoParents),
    (0.05, Shape::StepFamily),
    (0.07, Shape::Grandparent),
    (0.07, Shape::AuntOrUncle),
    (0.05, Shape::Siblings),
];
/// Mean persons per family over [`FAMILY_SHAPES`] (measured from the generator; used to turn
/// the person shares into group probabilities).
pub const MEAN_FAMILY_SIZE: f64 = 3.1;
pub const MEAN_UAC_SIZE: f64 = 1.1;

const FAMILY_CITIZENSHIP: &[(f64, &str)] = &[
    (0.30, "GTM"),
    (0.30, "HND"),
    (0.10, "SLV"),
    (0.08, "MEX"),
    (0.04, "ECU"),
    (0.04, "VEN"),
    (0.03, "COL"),
    (0.03, "NIC"),
    (0.03, "BRA"),
    (0.03, "HTI"),
    (0.01, "IND"),
    (0.01, "CHN"),
];
const SINGLE_CITIZENSHIP: &[(f64, &str)] = &[
    (0.52, "MEX"),
    (0.14, "GTM"),
    (0.10, "HND"),
    (0.05, "SLV"),
    (0.03, "ECU"),
    (0.03, "CUB"),
    (0.03, "VEN"),
    (0.02, "COL"),
    (0.02, "NIC"),
    (0.02, "BRA"),
    (0.01, "HTI"),
    (0.02, "IND"),
    (0.01, "CHN"),
];
const UAC_CITIZENSHIP: &[(f64, &str)] = &[(0.40, "GTM"), (0.25, "HND"), (0.15, "SLV"), (0.15, "MEX"), (0.03, "ECU"), (0.02, "NIC")];

pub struct Maker<'a> {
    pub rng: &'a mut Rng,
    pub day: Date,
    /// Scenario-wide person numbering for this day.
    pub day_index: i64,
    pub next: &'a mut u64,
}

impl Maker<'_> {
    fn id(&mut self) -> (String, u64) {
        let n = *self.next;
        *self.next += 1;
        (format!("P{}-{n}", self.day_index), n)
    }

    fn human(&mut self, name: Name, male: bool, age: i16, citizenship: &'static str) -> Human {
        let (id, n) = self.id();
        let back = self.rng.range(0, 364);
        let birth = self.day.checked_sub(i64::from(age).years()).and_then(|d| d.checked_sub(back.days())).unwrap_or(self.day);
        // Nine digits, unique per (day, person) across scenarios that use
        // different start dates; most people get one at the encounter.
        let a_number = if self.rng.chance(0.92) { Some(100_000_000 + ((self.day_index as u64) * 50_000 + n) % 900_000_000) } else { None };
        Human { id, name, male, birth, citizenship, culture: names::culture_of(citizenship), a_number }
    }

    pub fn single_adult(&mut self) -> Group {
        let citizenship = *self.rng.weighted(SINGLE_CITIZENSHIP);
        let culture = names::culture_of(citizenship);
        let male = self.rng.chance(0.82);
        let age = self.rng.range(18, 56) as i16;
        let name = names::adult(self.rng, culture, male);
        let h = self.human(name, male, age, citizenship);
        Group { shape: Shape::SingleAdult, members: vec![Member { human: h, tie: Tie::Alone }], parent_child: vec![] }
    }

    pub fn unaccompanied(&mut self) -> Group {
        let citizenship = *self.rng.weighted(UAC_CITIZENSHIP);
        let culture = names::culture_of(citizenship);
        // Mostly teenagers; now and then two siblings travel alone.
        let n = if self.rng.chance(0.1) { 2 } else { 1 };
        let (father, mother) = (names::adult(self.rng, culture, true), names::adult(self.rng, culture, false));
        let mut members = vec![];
        for _ in 0..n {
            let male = self.rng.chance(0.7);
            let age = if self.rng.chance(0.8) { self.rng.range(14, 17) } else { self.rng.range(6, 13) } as i16;
            let name = names::child(self.rng, culture, male, Some(&father), Some(&mother));
            let h = self.human(name, male, age, citizenship);
            members.push(Member { human: h, tie: Tie::Alone });
        }
        Group { shape: Shape::Unaccompanied, members, parent_child: vec![] }
    }

    /// An adult unrelated to anyone in the scenario (for families made in error).
    pub fn stranger(&mut self, citizenship: &'static str) -> Human {
        let culture = names::culture_of(citizenship);
        let male = self.rng.chance(0.6);
        let age = self.rng.range(19, 45) as i16;
        let name = names::adult(self.rng, culture, male);
        self.human(name, male, age, citizenship)
    }

    pub fn family(&mut self) -> Group {
        let shape = *self.rng.weighted(FAMILY_SHAPES);
        let citizenship = *self.rng.weighted(FAMILY_CITIZENSHIP);
        let culture = names::culture_of(citizenship);
        let mut members: Vec<Member> = vec![];
        let mut pairs = vec![];
        let mother_age = self.rng.range(19, 46) as i16;
        let father_age = (mother_age + self.rng.range(-2, 8) as i16).max(19);
        let kids = |rng: &mut Rng, max: i64| rng.range(1, max) as usize;
        // Children's ages leave at least 16 years to the youngest parent.
        let child_age = |rng: &mut Rng, parent: i16| rng.range(0, i64::from((parent - 16).clamp(0, 17))) as i16;
        match shape {
            Shape::SingleMother | Shape::SingleFather | Shape::TwoParents | Shape::StepFamily => {
                let father_name = names::adult(self.rng, culture, true);
                let mother_name = names::adult(self.rng, culture, false);
                let with_father = matches!(shape, Shape::SingleFather | Shape::TwoParents);
                let with_mother = shape != Shape::SingleFather;
                if with_father {
                    let h = self.human(father_name.clone(), true, father_age, citizenship);
                    members.push(Member { human: h, tie: Tie::Father });
                }
                if with_mother {
                    let h = self.human(mother_name.clone(), false, mother_age, citizenship);
                    members.push(Member { human: h, tie: Tie::Mother });
                }
                if shape == Shape::StepFamily {
                    let step = names::adult(self.rng, culture, true);
                    let h = self.human(step, true, father_age, citizenship);
                    members.push(Member { human: h, tie: Tie::StepFather });
                }
                let youngest_parent = match shape {
                    Shape::SingleFather => father_age,
                    Shape::SingleMother | Shape::StepFamily => mother_age,
                    _ => mother_age.min(father_age),
                };
                let n = kids(self.rng, if shape == Shape::TwoParents { 4 } else { 3 });
                // A single mother's children: the father is not with them.
                let father_for_name =
                    if with_father || shape == Shape::StepFamily || self.rng.chance(0.3) { Some(&father_name) } else { None };
                for _ in 0..n {
                    let male = self.rng.chance(0.5);
                    let age = child_age(self.rng, youngest_parent);
                    let name = names::child(
                        self.rng,
                        culture,
                        male,
                        if with_father || shape == Shape::StepFamily { Some(&father_name) } else { father_for_name },
                        if with_mother { Some(&mother_name) } else { None },
                    );
                    let h = self.human(name, male, age, citizenship);
                    let idx = members.len();
                    members.push(Member { human: h, tie: Tie::Child });
                    for (p, m) in members.iter().enumerate() {
                        if matches!(m.tie, Tie::Father | Tie::Mother) {
                            pairs.push((p, idx));
                        }
                    }
                }
            }
            Shape::Grandparent | Shape::AuntOrUncle | Shape::Siblings => {
                let male = self.rng.chance(0.35);
                let (age, tie) = match shape {
                    Shape::Grandparent => (self.rng.range(45, 72) as i16, Tie::Grandparent),
                    Shape::AuntOrUncle => (self.rng.range(20, 50) as i16, Tie::AuntOrUncle),
                    _ => (self.rng.range(18, 24) as i16, Tie::OlderSibling),
                };
                let (father_name, mother_name) = (names::adult(self.rng, culture, true), names::adult(self.rng, culture, false));
                // The adult's name: a sibling shares the children's parents; an
                // aunt or grandparent shares one of their lines.
                let adult_name = match shape {
                    Shape::Siblings => names::child(self.rng, culture, male, Some(&father_name), Some(&mother_name)),
                    _ => {
                        let mut n = names::adult(self.rng, culture, male);
                        if let Some(s) = mother_name.surnames.first() {
                            n.surnames[0] = s.clone();
                        }
                        n
                    }
                };
                let h = self.human(adult_name, male, age, citizenship);
                members.push(Member { human: h, tie });
                for _ in 0..kids(self.rng, 2) {
                    let m = self.rng.chance(0.5);
                    let age = self.rng.range(2, 17) as i16;
                    let name = names::child(self.rng, culture, m, Some(&father_name), Some(&mother_name));
                    let h = self.human(name, m, age, citizenship);
                    members.push(Member { human: h, tie: Tie::MinorRelative });
                }
            }
            Shape::SingleAdult | Shape::Unaccompanied => {}
        }
        Group { shape, members, parent_child: pairs }
    }
}
