//! What a scenario is made of: dates, volume, who travels how, the
//! separation policy, and the rate of each kind of recording error.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The rate of each deliberate error, each in [0, 1]. Every rate is applied
/// independently to the unit named in its comment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRates {
    /// Per family travelling together: no family is recorded at all (adults
    /// booked as single adults, children as unaccompanied).
    pub family_unrecorded: f64,
    /// Per recorded family: one parent is booked as a single adult, outside the family.
    pub parent_booked_single: f64,
    /// Per unaccompanied child: an unrelated adult from the same event is
    /// recorded with the child as a family unit.
    pub family_unit_in_error: f64,
    /// Per record: one typing error in a name.
    pub typo: f64,
    /// Per record with two surnames: they are recorded in the other order.
    pub surname_swapped: f64,
    /// Per record with two surnames: one of them is left out.
    pub surname_missing: f64,
    /// Per record: the birth date is an estimate (1 January, sometimes a year off), marked estimated.
    pub birth_date_estimated: f64,
    /// Per ICE or ORR record carrying an A-number: one digit is wrong.
    pub a_number_typo: f64,
    /// Per record: `encountered_at` is written without its UTC offset (a
    /// spec-level error: the row is refused unless imported with --assume-tz).
    pub time_without_offset: f64,
    /// Per release (and per family record and ORR sponsor): no U.S. address is recorded.
    pub missing_us_address: f64,
    /// Per ORR record: the child's name is spelled differently from the border record.
    pub orr_spelling: f64,
}

impl ErrorRates {
    pub const NAMES: &'static [&'static str] = &[
        "family_unrecorded",
        "parent_booked_single",
        "family_unit_in_error",
        "typo",
        "surname_swapped",
        "surname_missing",
        "birth_date_estimated",
        "a_number_typo",
        "time_without_offset",
        "missing_us_address",
        "orr_spelling",
    ];

    pub fn none() -> Self {
        let mut r = Self::default();
        for n in Self::NAMES {
            let _ = r.set(n, 0.0);
        }
        r
    }

    fn slot(&mut self, name: &str) -> Option<&mut f64> {
        Some(match name {
            "family_unrecorded" => &mut self.family_unrecorded,
            "parent_booked_single" => &mut self.parent_booked_single,
            "family_unit_in_error" => &mut self.family_unit_in_error,
            "typo" => &mut self.typo,
            "surname_swapped" => &mut self.surname_swapped,
            "surname_missing" => &mut self.surname_missing,
            "birth_date_estimated" => &mut self.birth_date_estimated,
            "a_number_typo" => &mut self.a_number_typo,
            "time_without_offset" => &mut self.time_without_offset,
            "missing_us_address" => &mut self.missing_us_address,
            "orr_spelling" => &mut self.orr_spelling,
            _ => return None,
        })
    }

    /// Sets one rate by name (`all` sets every rate).
    pub fn set(&mut self, name: &str, rate: f64) -> Result<(), String> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("error rate {name}={rate} must be between 0 and 1"));
        }
        if name == "all" {
            for n in Self::NAMES {
                self.set(n, rate)?;
            }
            return Ok(());
        }
        match self.slot(name) {
            Some(s) => {
                *s = rate;
                Ok(())
            }
            None => Err(format!("unknown error kind {name:?}; known: all, {}", Self::NAMES.join(", "))),
        }
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        let mut c = self.clone();
        c.slot(name).map(|s| *s)
    }
}

impl Default for ErrorRates {
    /// Rates of the order the audits describe: most records are right, and
    /// every kind of error is common enough to matter at scale.
    fn default() -> Self {
        Self {
            family_unrecorded: 0.08,
            parent_booked_single: 0.05,
            family_unit_in_error: 0.02,
            typo: 0.03,
            surname_swapped: 0.02,
            surname_missing: 0.04,
            birth_date_estimated: 0.05,
            a_number_typo: 0.01,
            time_without_offset: 0.005,
            missing_us_address: 0.10,
            orr_spelling: 0.25,
        }
    }
}

/// A separation policy in force between two dates (inclusive), under which a
/// share of families have a parent separated for prosecution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub from: Date,
    pub to: Date,
    /// Share of recorded families (with a parent and a child) separated while the policy is in force.
    pub separation_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub seed: u64,
    pub start: Date,
    pub days: u32,
    /// Persons encountered per day, all agencies.
    pub per_day: u32,
    /// Share of persons who travel in families (units or groups).
    pub family_share: f64,
    /// Share of persons who are unaccompanied children.
    pub uac_share: f64,
    /// Share of encounters at ports of entry (OFO) rather than between them (BP).
    pub ofo_share: f64,
    pub policy: Option<Policy>,
    /// Share of families separated outside any policy (criminal history, hospital, fraud...).
    pub baseline_separation_rate: f64,
    /// Share of separated parents reunified with their children.
    pub reunification_rate: f64,
    /// Share of children whose referral out of border custody is delayed past 72 hours.
    pub child_overstay_rate: f64,
    /// Share of records on which accents are dropped (agency systems vary).
    pub accent_drop: f64,
    pub errors: ErrorRates,
    /// The story stops here: later steps (and the ICE/ORR records they
    /// would create) are not written. Default: the end of the last day.
    pub until: Option<jiff::Timestamp>,
}

impl Params {
    /// 1,200 encounters a day from 2018-05-01 for 30 days, with the 2018
    /// "Zero Tolerance" policy in force.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            start: jiff::civil::date(2018, 5, 1),
            days: 30,
            per_day: 1_200,
            family_share: 0.30,
            uac_share: 0.12,
            ofo_share: 0.12,
            policy: Some(Policy {
                name: "Zero Tolerance (2018-04-06)".into(),
                from: jiff::civil::date(2018, 5, 5),
                to: jiff::civil::date(2018, 6, 20),
                separation_rate: 0.25,
            }),
            baseline_separation_rate: 0.01,
            reunification_rate: 0.7,
            child_overstay_rate: 0.04,
            accent_drop: 0.6,
            errors: ErrorRates::default(),
            until: None,
        }
    }

    /// December 2023: 12,500 encounters a day, more families, no separation policy.
    pub fn surge(seed: u64) -> Self {
        Self {
            start: jiff::civil::date(2023, 12, 1),
            per_day: 12_500,
            family_share: 0.45,
            uac_share: 0.07,
            ofo_share: 0.10,
            policy: None,
            baseline_separation_rate: 0.004,
            ..Self::new(seed)
        }
    }

    /// Checks every parameter; the message names the one that is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.days == 0 {
            return Err("days must be at least 1".into());
        }
        if self.per_day == 0 || self.per_day > 1_000_000 {
            return Err("per_day must be between 1 and 1,000,000".into());
        }
        let shares = [
            ("family_share", self.family_share),
            ("uac_share", self.uac_share),
            ("ofo_share", self.ofo_share),
            ("baseline_separation_rate", self.baseline_separation_rate),
            ("reunification_rate", self.reunification_rate),
            ("child_overstay_rate", self.child_overstay_rate),
            ("accent_drop", self.accent_drop),
        ];
        for (name, v) in shares {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, not {v}"));
            }
        }
        if self.family_share + self.uac_share > 1.0 {
            return Err("family_share + uac_share must not exceed 1".into());
        }
        if let Some(p) = &self.policy
            && (p.to < p.from || !(0.0..=1.0).contains(&p.separation_rate))
        {
            return Err("the policy window must end after it starts, with a separation rate between 0 and 1".into());
        }
        for n in ErrorRates::NAMES {
            let v = self.errors.get(n).unwrap_or(0.0);
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("error rate {n} must be between 0 and 1, not {v}"));
            }
        }
        if i64::from(self.days) > 40_000 {
            return Err("days must be at most 40,000".into());
        }
        Ok(())
    }
}
