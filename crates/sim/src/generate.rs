//! The day-by-day generator: events, groups, their rows in each agency's
//! extract, the ground truth, and the story after the encounter.

use crate::SimError;
use crate::params::Params;
use crate::people::{Group, Maker, Shape, Tie};
use crate::places::{self, Place};
use crate::record::{self, Context, Errors, FIELDS, FamilyCols};
use crate::rng::{Rng, mix};
use crate::story::{Action, Actor, Ref, Step};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// What a generated scenario holds.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub rows: BTreeMap<&'static str, u64>,
    pub persons: u64,
    pub events: u64,
    pub groups: BTreeMap<String, u64>,
    pub families_recorded: u64,
    pub parent_child_pairs: u64,
    pub steps: BTreeMap<&'static str, u64>,
    pub errors: Errors,
}

impl Summary {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

type Csv = csv::Writer<BufWriter<File>>;

struct Out {
    sources: HashMap<&'static str, Csv>,
    identity: Csv,
    parent_child: Csv,
    story: BufWriter<File>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> SimError {
    SimError::Io(format!("{}: {e}", path.display()))
}

fn csv_writer(path: &Path, header: &[&str]) -> Result<Csv, SimError> {
    let f = File::create(path).map_err(|e| io(path, e))?;
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, f));
    w.write_record(header).map_err(|e| io(path, e))?;
    Ok(w)
}

/// The stable id of a person's record in a system that does not number by
/// day (ICE, ORR): a bijective scramble, so ids are unique and do not give
/// away which border record they belong to.
fn scrambled(prefix: &str, day_index: i64, n: u64, salt: u64) -> String {
    format!("{prefix}-{:016X}", mix((((day_index as u64) << 24) | n) ^ salt))
}

struct Zones(HashMap<&'static str, TimeZone>);
impl Zones {
    fn get(&mut self, name: &'static str) -> Result<TimeZone, SimError> {
        if let Some(tz) = self.0.get(name) {
            return Ok(tz.clone());
        }
        let tz = TimeZone::get(name).map_err(|e| SimError::Params(format!("time zone {name}: {e}")))?;
        self.0.insert(name, tz.clone());
        Ok(tz)
    }
}

pub(crate) struct Gen<'a> {
    p: &'a Params,
    out: Out,
    zones: Zones,
    pub summary: Summary,
    until: Timestamp,
}

/// One member of a group as recorded at the encounter.
struct Rec {
    member: usize,
    r: Ref,
    minor: bool,
    /// In the family the source recorded (and the role given).
    in_family: bool,
    role: &'static str,
}

/// A record another agency makes when it takes custody.
struct Later {
    member: usize,
    source: &'static str,
    facility: &'static places::Facility,
}

/// The group's story being written: steps and later records, with times.
struct Story {
    base: String,
    n: u32,
    steps: Vec<(Timestamp, Step)>,
    later: Vec<(Timestamp, Later)>,
    tz: TimeZone,
}

fn plus(t: Timestamp, minutes: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_mins(minutes)).unwrap_or(t)
}

fn hours(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
    rng.range(lo * 60, hi * 60)
}

fn actor(user: String, agency: &str, role: &str) -> Actor {
    Actor { user, agency: agency.into(), role: role.into() }
}

impl Story {
    fn push(&mut self, at: Timestamp, actor: Actor, action: Action) {
        self.n += 1;
        let step = Step { at: record::time_text(at, &self.tz, true), actor, key: format!("sim:{}:{}", self.base, self.n), action };
        self.steps.push((at, step));
    }
}

/// Who acts for the agency holding a person.
#[derive(Clone)]
struct Crew {
    border: Actor,
    sup1: Actor,
    sup2: Actor,
    paic: String,
    source: &'static str,
}

fn ice_actor(f: &places::Facility) -> Actor {
    actor(format!("ice.{}.officer", f.code.to_lowercase()), "ICE", "ice_officer")
}
fn orr_actor(f: &places::Facility) -> Actor {
    actor(format!("orr.{}.cm", f.code.to_lowercase()), "ORR", "orr_case_manager")
}

const BASELINE_REASONS: &[(f64, &str)] =
    &[(0.40, "FMPC"), (0.25, "FMPIV"), (0.10, "FMH"), (0.05, "FMGA"), (0.05, "FMEW"), (0.10, "FMPO"), (0.05, "FCNR")];
const PROSECUTION: &[&str] = &["FMPP", "FMPC", "FMPO", "FCNFRP"];

impl<'a> Gen<'a> {
    pub fn new(p: &'a Params, dir: &Path) -> Result<Self, SimError> {
        for sub in ["truth", "story"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| io(&dir.join(sub), e))?;
        }
        let mut sources = HashMap::new();
        for s in ["BP", "OFO", "ICE", "ORR"] {
            sources.insert(s, csv_writer(&dir.join(format!("{s}.csv")), &FIELDS)?);
        }
        let out = Out {
            sources,
            identity: csv_writer(&dir.join("truth/identity.csv"), &["person", "source", "record_id"])?,
            parent_child: csv_writer(
                &dir.join("truth/parent_child.csv"),
                &["adult_source", "adult_record_id", "minor_source", "minor_record_id", "recorded"],
            )?,
            story: BufWriter::with_capacity(
                1 << 20,
                File::create(dir.join("story/lifecycle.jsonl")).map_err(|e| io(&dir.join("story/lifecycle.jsonl"), e))?,
            ),
        };
        let mut zones = Zones(HashMap::new());
        let end = p.start.checked_add(i64::from(p.days).days()).map_err(|e| SimError::Params(format!("start + days: {e}")))?;
        let until = match p.until {
            Some(t) => t,
            None => end.at(0, 0, 0, 0).to_zoned(zones.get("America/Chicago")?).map_err(|e| SimError::Params(e.to_string()))?.timestamp(),
        };
        Ok(Self { p, out, zones, summary: Summary::default(), until })
    }

    pub fn finish(mut self) -> Result<Summary, SimError> {
        for w in self.out.sources.values_mut() {
            w.flush().map_err(|e| SimError::Io(e.to_string()))?;
        }
        self.out.identity.flush().map_err(|e| SimError::Io(e.to_string()))?;
        self.out.parent_child.flush().map_err(|e| SimError::Io(e.to_string()))?;
        self.out.story.flush().map_err(|e| SimError::Io(e.to_string()))?;
        Ok(self.summary)
    }

    fn write_row(&mut self, person: &str, row: &[String; 19]) -> Result<(), SimError> {
        let source = match row[0].as_str() {
            "BP" => "BP",
            "OFO" => "OFO",
            "ICE" => "ICE",
            _ => "ORR",
        };
        if let Some(w) = self.out.sources.get_mut(source) {
            w.write_record(row).map_err(|e| SimError::Io(e.to_string()))?;
        }
        *self.summary.rows.entry(source).or_default() += 1;
        self.out.identity.write_record([person, source, row[1].as_str()]).map_err(|e| SimError::Io(e.to_string()))?;
        Ok(())
    }

    /// Generates one day.
    pub fn day(&mut self, d: u32) -> Result<(), SimError> {
        let p = self.p;
        let day = p.start.checked_add(i64::from(d).days()).map_err(|e| SimError::Params(e.to_string()))?;
        let day_index = day.since(jiff::civil::date(2000, 1, 1)).map(|s| i64::from(s.get_days())).unwrap_or(0);
        // One random stream per day of the scenario: the same seed gives the
        // same people whatever the start date (the demo is anchored to today).
        let mut rng = Rng::new(p.seed, u64::from(d));
        let mut next_person = 0u64;
        let (mut seq_bp, mut seq_ofo, mut seq_event, mut seq_family) = (0u64, 0u64, 0u64, 0u64);
        let ymd = day.strftime("%Y%m%d").to_string();
        // Person shares -> group probabilities.
        let single_share = (1.0 - p.family_share - p.uac_share).max(0.0);
        let weights = [p.family_share / crate::people::MEAN_FAMILY_SIZE, p.uac_share / crate::people::MEAN_UAC_SIZE, single_share];
        let total: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        while next_person < u64::from(p.per_day) {
            // One event: people apprehended together; now and then several groups.
            let ofo = rng.chance(p.ofo_share);
            let place: &Place = if ofo { rng.weighted(places::OFO) } else { rng.weighted(places::BP) };
            let tz = self.zones.get(place.zone)?;
            let minute = rng.range(0, 1439);
            let t0 = day
                .at((minute / 60) as i8, (minute % 60) as i8, 0, 0)
                .to_zoned(tz.clone())
                .map(|z| z.timestamp())
                .map_err(|e| SimError::Params(e.to_string()))?;
            seq_event += 1;
            let event_id = format!("E{ymd}-{seq_event:05}");
            self.summary.events += 1;
            let n_groups = if rng.chance(0.75) { 1 } else { rng.range(2, 4) as usize };
            for _ in 0..n_groups {
                let x = rng.f64() * total;
                let mut maker = Maker { rng: &mut rng, day, day_index, next: &mut next_person };
                let mut group = if x < weights[0] {
                    maker.family()
                } else if x < weights[0] + weights[1] {
                    maker.unaccompanied()
                } else {
                    maker.single_adult()
                };
                // A family unit made in error: an unrelated adult from the
                // same event recorded as the parent of an unaccompanied child.
                let mut in_error = false;
                if group.shape == Shape::Unaccompanied
                    && self.summary.errors.roll(&mut rng, "family_unit_in_error", p.errors.family_unit_in_error)
                {
                    let citizenship = group.members[0].human.citizenship;
                    let mut maker = Maker { rng: &mut rng, day, day_index, next: &mut next_person };
                    let adult = maker.stranger(citizenship);
                    group.members.truncate(1);
                    group.members.insert(0, crate::people::Member { human: adult, tie: Tie::Alone });
                    in_error = true;
                }
                let seq = if ofo { &mut seq_ofo } else { &mut seq_bp };
                self.group(&mut rng, group, in_error, ofo, place, &tz, t0, &event_id, &ymd, seq, &mut seq_family, day_index)?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn group(
        &mut self,
        rng: &mut Rng,
        group: Group,
        in_error: bool,
        ofo: bool,
        place: &Place,
        tz: &TimeZone,
        t0: Timestamp,
        event_id: &str,
        ymd: &str,
        seq: &mut u64,
        seq_family: &mut u64,
        day_index: i64,
    ) -> Result<(), SimError> {
        let p = self.p;
        let source: &'static str = if ofo { "OFO" } else { "BP" };
        let day = t0.to_zoned(tz.clone()).date();
        *self.summary.groups.entry(format!("{:?}", group.shape)).or_default() += 1;
        self.summary.persons += group.members.len() as u64;
        // How the source records the family, errors included.
        let family_like = group.shape.is_family() || in_error;
        let recorded = family_like && (in_error || !self.summary.errors.roll(rng, "family_unrecorded", p.errors.family_unrecorded));
        let guardian = group.shape == Shape::Grandparent && rng.chance(0.25);
        let unit = in_error || guardian || group.members.iter().any(|m| matches!(m.tie, Tie::Father | Tie::Mother | Tie::StepFather));
        let kind = if unit { "UNIT" } else { "GROUP" };
        let parents: Vec<usize> = group
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| matches!(m.tie, Tie::Father | Tie::Mother | Tie::StepFather))
            .map(|(i, _)| i)
            .collect();
        let booked_single = if recorded && !in_error && !parents.is_empty() {
            if self.summary.errors.roll(rng, "parent_booked_single", p.errors.parent_booked_single) {
                Some(parents[rng.below(parents.len())])
            } else {
                None
            }
        } else {
            None
        };
        let family_id = if recorded {
            *seq_family += 1;
            self.summary.families_recorded += 1;
            Some(format!("{}{ymd}-{:05}", if unit { "FMUA" } else { "FMG" }, *seq_family))
        } else {
            None
        };
        let mut recs: Vec<Rec> = vec![];
        for (i, m) in group.members.iter().enumerate() {
            *seq += 1;
            let record_id = format!("{source}-{ymd}-{:06}", *seq);
            let h = &m.human;
            let minor = h.age_on(day) < 18;
            let in_family = family_id.is_some() && booked_single != Some(i);
            let role: &'static str = if in_error {
                if minor {
                    if h.male { "SON" } else { "DAUGHTER" }
                } else if h.male {
                    "FATHER"
                } else {
                    "MOTHER"
                }
            } else {
                match m.tie {
                    Tie::Father | Tie::StepFather => "FATHER",
                    Tie::Mother => "MOTHER",
                    Tie::Grandparent if guardian => "LEGAL_GUARDIAN",
                    Tie::Grandparent => "GRANDPARENT",
                    Tie::AuntOrUncle if h.male => "UNCLE",
                    Tie::AuntOrUncle => "AUNT",
                    Tie::OlderSibling => "SIBLING",
                    Tie::Child if rng.chance(0.1) => "CHILD",
                    Tie::Child if h.male => "SON",
                    Tie::Child => "DAUGHTER",
                    // A legal guardian's unit: the minors are the guardian's children in law.
                    Tie::MinorRelative if guardian => "CHILD",
                    Tie::MinorRelative => match group.shape {
                        Shape::Grandparent => "GRANDCHILD",
                        Shape::Siblings => "SIBLING",
                        _ => "OTHER_RELATIVE",
                    },
                    Tie::Alone => "OTHER_RELATIVE",
                }
            };
            let classification = if in_family {
                if unit {
                    "FAMILY_UNIT_MEMBER"
                } else if minor {
                    "UAC"
                } else {
                    "FAMILY_GROUP_MEMBER"
                }
            } else if minor {
                "UAC"
            } else {
                "SINGLE_ADULT"
            };
            // Adults in families give an address where they will stay.
            let us_address = if in_family && !minor {
                if self.summary.errors.roll(rng, "missing_us_address", p.errors.missing_us_address) {
                    None
                } else {
                    Some(places::address(rng))
                }
            } else {
                None
            };
            let fam = family_id.as_deref().filter(|_| in_family).map(|id| FamilyCols { id, kind, role });
            let ctx = Context {
                source,
                record_id: &record_id,
                event_id: Some(event_id),
                at: t0,
                tz,
                sector: Some(place.sector),
                station: place.station,
                family: fam,
                classification,
                us_address,
                notes: None,
            };
            let row = record::row(rng, h, &ctx, p, &mut self.summary.errors, false);
            self.write_row(&h.id, &row)?;
            recs.push(Rec { member: i, r: Ref::new(source, &record_id), minor, in_family, role });
        }
        // Ground truth: each true parent-child pair of this encounter.
        for &(a, c) in &group.parent_child {
            let (ra, rc) = (&recs[a], &recs[c]);
            if !rc.minor {
                continue;
            }
            let both = ra.in_family && rc.in_family;
            self.out
                .parent_child
                .write_record([
                    ra.r.source.as_str(),
                    ra.r.record_id.as_str(),
                    rc.r.source.as_str(),
                    rc.r.record_id.as_str(),
                    if both { "true" } else { "false" },
                ])
                .map_err(|e| SimError::Io(e.to_string()))?;
            self.summary.parent_child_pairs += 1;
        }
        let family_ref = family_id.as_ref().map(|f| Ref::new(source, f));
        let sector = place.sector.to_lowercase();
        let crew = Crew {
            border: if ofo {
                actor(format!("ofo.{}.officer{}", place.station.to_lowercase(), rng.range(1, 6)), "OFO", "ofo_officer")
            } else {
                actor(format!("bp.{sector}.agent{}", rng.range(1, 9)), "BP", "bp_agent")
            },
            sup1: actor(format!("bp.{sector}.sup1"), "BP", "bp_supervisor"),
            sup2: actor(format!("bp.{sector}.sup2"), "BP", "bp_supervisor"),
            paic: format!("PAIC {}", place.sector),
            source,
        };
        let mut story = Story { base: recs[0].r.record_id.clone(), n: 0, steps: vec![], later: vec![], tz: tz.clone() };
        self.plan(rng, &group, &recs, family_ref.as_ref(), in_error, unit, &crew, t0, day, &mut story);
        self.emit(rng, &group, &recs, story, day_index)
    }

    /// Writes the story's steps and later records up to `until`, in time order.
    fn emit(&mut self, rng: &mut Rng, group: &Group, recs: &[Rec], mut story: Story, day_index: i64) -> Result<(), SimError> {
        story.steps.sort_by_key(|(t, _)| *t);
        for (t, step) in &story.steps {
            if *t > self.until {
                continue;
            }
            *self.summary.steps.entry(step.action.kind()).or_default() += 1;
            serde_json::to_writer(&mut self.out.story, step).map_err(|e| SimError::Io(e.to_string()))?;
            self.out.story.write_all(b"\n").map_err(|e| SimError::Io(e.to_string()))?;
        }
        for (t, later) in &story.later {
            if *t > self.until {
                continue;
            }
            let h = &group.members[later.member].human;
            let n: u64 = h.id.rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let (prefix, salt) = if later.source == "ICE" { ("ICE", 0x1CE) } else { ("UAC", 0x0AA) };
            let record_id = scrambled(prefix, day_index, n, salt);
            let tz = self.zones.get(later.facility.zone)?;
            let minor = recs[later.member].minor;
            let orr = later.source == "ORR";
            let us_address = if orr && !self.summary.errors.roll(rng, "missing_us_address", self.p.errors.missing_us_address) {
                Some(places::address(rng))
            } else {
                None
            };
            let ctx = Context {
                source: if orr { "ORR" } else { "ICE" },
                record_id: &record_id,
                event_id: None,
                at: *t,
                tz: &tz,
                sector: None,
                station: later.facility.code,
                family: None,
                classification: if minor { "UAC" } else { "SINGLE_ADULT" },
                us_address,
                notes: None,
            };
            let row = record::row(rng, h, &ctx, self.p, &mut self.summary.errors, orr);
            self.write_row(&h.id, &row)?;
        }
        Ok(())
    }
}

// The story of a group after its encounter.
impl Gen<'_> {
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &mut self,
        rng: &mut Rng,
        group: &Group,
        recs: &[Rec],
        family: Option<&Ref>,
        in_error: bool,
        unit: bool,
        crew: &Crew,
        t0: Timestamp,
        day: Date,
        s: &mut Story,
    ) {
        let p = self.p;
        let fam_members: Vec<usize> = recs.iter().filter(|r| r.in_family).map(|r| r.member).collect();
        let outside: Vec<usize> = recs.iter().filter(|r| !r.in_family).map(|r| r.member).collect();
        for &i in &outside {
            if recs[i].minor {
                self.minor_alone(rng, group, recs, i, crew, t0, s);
            } else {
                self.adult_alone(rng, group, recs, i, crew, t0, s);
            }
        }
        let Some(family) = family else { return };
        let parents: Vec<usize> =
            fam_members.iter().copied().filter(|&i| matches!(recs[i].role, "FATHER" | "MOTHER" | "LEGAL_GUARDIAN")).collect();
        let children: Vec<usize> = fam_members.iter().copied().filter(|&i| recs[i].minor).collect();
        if !unit || parents.is_empty() || children.is_empty() {
            // A family group (or a unit that lost its parent to a booking
            // error): the law treats the children as unaccompanied.
            for &i in &fam_members {
                if recs[i].minor {
                    self.minor_alone(rng, group, recs, i, crew, t0, s);
                } else {
                    self.adult_alone(rng, group, recs, i, crew, t0, s);
                }
            }
            return;
        }
        if in_error {
            // Half the units made in error are found out and separated (ERR).
            if rng.chance(0.5) {
                let at = plus(t0, hours(rng, 3, 30));
                self.separate(
                    rng,
                    family,
                    recs,
                    &parents,
                    "ERR",
                    None,
                    "Family unit recorded in error: no relationship found at interview.",
                    crew,
                    at,
                    s,
                );
                for &i in &parents {
                    self.adult_alone(rng, group, recs, i, crew, at, s);
                }
                for &i in &children {
                    self.minor_alone(rng, group, recs, i, crew, at, s);
                }
            } else {
                self.family_release(rng, group, recs, &fam_members, crew, t0, s);
            }
            return;
        }
        let in_policy = p.policy.as_ref().filter(|pol| pol.from <= day && day <= pol.to);
        let rate = match (crew.source, in_policy) {
            ("BP", Some(pol)) => pol.separation_rate,
            ("BP", None) => p.baseline_separation_rate,
            _ => 0.0,
        };
        if !rng.chance(rate) {
            self.family_release(rng, group, recs, &fam_members, crew, t0, s);
            return;
        }
        // Separated: one parent (the father, when both are there).
        let parent = *parents.iter().find(|&&i| recs[i].role == "FATHER").unwrap_or(&parents[0]);
        let (code, policy) = match in_policy {
            Some(pol) => ("FMPP", Some(pol.name.clone())),
            None => (*rng.weighted(BASELINE_REASONS), None),
        };
        let sep_at = plus(t0, hours(rng, 2, 20));
        let narrative = match code {
            "FMPP" => "Adult referred for prosecution under the declared policy; children remain in the family record.",
            "FMH" => "Adult hospitalised; children cannot stay with them.",
            "FCNR" => "Relationship could not be confirmed at interview.",
            _ => "Adult held on criminal or immigration history; children remain in the family record.",
        };
        self.separate(rng, family, recs, &[parent], code, policy, narrative, crew, sep_at, s);
        if PROSECUTION.contains(&code) {
            let late = rng.chance(0.1);
            let at = plus(sep_at, if late { hours(rng, 50, 90) } else { hours(rng, 4, 44) });
            s.push(at, crew.border.clone(), Action::ReferForProsecution { person: recs[parent].r.clone() });
        }
        let ice = rng.pick(places::ICE_ADULT);
        let at = plus(sep_at, hours(rng, 6, 40));
        let parent_at_ice = self.transfer(rng, recs, parent, &crew.border, "ICE", ice, at, s);
        let rest: Vec<usize> = fam_members.iter().copied().filter(|&i| i != parent).collect();
        let other_parent = rest.iter().any(|&i| matches!(recs[i].role, "FATHER" | "MOTHER" | "LEGAL_GUARDIAN"));
        let reunify = rng.chance(p.reunification_rate);
        let back_at = plus(parent_at_ice, rng.range(8 * 1440, 40 * 1440));
        if other_parent {
            // The children stay with the other parent and leave together.
            self.family_release(rng, group, recs, &rest, crew, sep_at, s);
            if reunify {
                let fac = ice;
                self.release(rng, &ice_actor(fac), recs, parent, back_at, s);
                s.push(
                    back_at,
                    ice_actor(fac),
                    Action::Reunify { family: family.clone(), members: vec![recs[parent].r.clone()], location: fac.name.into() },
                );
            } else {
                self.ice_end(rng, group, recs, parent, ice, back_at, s);
            }
            return;
        }
        // The children go to ORR.
        let shelter = rng.pick(places::ORR);
        let mut at_orr = vec![];
        for &c in &rest {
            let at = self.referral_time(rng, sep_at);
            at_orr.push((c, self.transfer(rng, recs, c, &crew.border, "ORR", shelter, at, s)));
        }
        if reunify {
            // Children are brought to the parent's facility, then rejoin the family.
            let fam_fac = rng.pick(places::ICE_FAMILY);
            let mut last = back_at;
            for &(c, arrived) in &at_orr {
                let at = back_at.max(arrived);
                last = last.max(self.transfer(rng, recs, c, &orr_actor(shelter), "ICE", fam_fac, at, s));
            }
            let at = plus(last, hours(rng, 1, 12));
            s.push(
                at,
                ice_actor(ice),
                Action::Reunify { family: family.clone(), members: vec![recs[parent].r.clone()], location: fam_fac.name.into() },
            );
            let removed = rng.chance(0.35);
            let end = plus(at, rng.range(1440, 5 * 1440));
            for i in std::iter::once(parent).chain(rest.iter().copied()) {
                let who = if i == parent { ice_actor(ice) } else { ice_actor(fam_fac) };
                if removed {
                    s.push(
                        end,
                        who,
                        Action::Remove { person: recs[i].r.clone(), to_country: Some(group.members[i].human.citizenship.into()) },
                    );
                } else {
                    self.release(rng, &who, recs, i, end, s);
                }
            }
        } else {
            self.ice_end(rng, group, recs, parent, ice, back_at, s);
            for &(c, arrived) in &at_orr {
                let at = plus(arrived, rng.range(30 * 1440, 120 * 1440));
                self.release(rng, &orr_actor(shelter), recs, c, at, s);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn separate(
        &mut self,
        rng: &mut Rng,
        family: &Ref,
        recs: &[Rec],
        members: &[usize],
        code: &str,
        policy: Option<String>,
        narrative: &str,
        crew: &Crew,
        at: Timestamp,
        s: &mut Story,
    ) {
        let id = format!("{}:sep", s.base);
        s.push(
            at,
            crew.border.clone(),
            Action::Separate {
                family: family.clone(),
                separation: id.clone(),
                members: members.iter().map(|&i| recs[i].r.clone()).collect(),
                reason_code: code.into(),
                policy,
                narrative: narrative.into(),
                approved_by: crew.paic.clone(),
            },
        );
        let r1 = plus(at, hours(rng, 1, 10));
        s.push(r1, crew.sup1.clone(), Action::Review { family: family.clone(), separation: id.clone(), level: 1 });
        // A few separations wait for their second review.
        if rng.chance(0.92) {
            let r2 = plus(r1, hours(rng, 1, 30));
            s.push(r2, crew.sup2.clone(), Action::Review { family: family.clone(), separation: id, level: 2 });
        }
    }

    /// Offers and accepts a transfer; the receiving agency makes its own
    /// record of the person. Returns when custody changed hands.
    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &mut self,
        rng: &mut Rng,
        recs: &[Rec],
        i: usize,
        from: &Actor,
        to: &'static str,
        facility: &'static places::Facility,
        at: Timestamp,
        s: &mut Story,
    ) -> Timestamp {
        let person = recs[i].r.clone();
        s.push(
            at,
            from.clone(),
            Action::OfferTransfer { person: person.clone(), to_agency: to.into(), to_facility: Some(facility.name.into()) },
        );
        let accepted = plus(at, hours(rng, 1, 12));
        let by = if to == "ICE" { ice_actor(facility) } else { orr_actor(facility) };
        s.push(accepted, by, Action::AcceptTransfer { person });
        if !s.later.iter().any(|(_, l)| l.member == recs[i].member && l.source == to) {
            s.later.push((accepted, Later { member: recs[i].member, source: to, facility }));
        }
        accepted
    }

    fn release(&mut self, rng: &mut Rng, by: &Actor, recs: &[Rec], i: usize, at: Timestamp, s: &mut Story) {
        let us_address = if self.summary.errors.roll(rng, "missing_us_address", self.p.errors.missing_us_address) {
            None
        } else {
            Some(places::address(rng))
        };
        let conditions = match by.agency.as_str() {
            "ORR" => "Released to sponsor",
            "ICE" => "Order of recognizance",
            _ => "Notice to Appear",
        };
        s.push(at, by.clone(), Action::Release { person: recs[i].r.clone(), us_address, conditions: Some(conditions.into()) });
    }

    /// When a child leaves border custody: usually within 72 hours, sometimes not.
    fn referral_time(&mut self, rng: &mut Rng, from: Timestamp) -> Timestamp {
        if rng.chance(self.p.child_overstay_rate) { plus(from, hours(rng, 75, 160)) } else { plus(from, hours(rng, 6, 50)) }
    }

    #[allow(clippy::too_many_arguments)]
    fn ice_end(&mut self, rng: &mut Rng, group: &Group, recs: &[Rec], i: usize, ice: &places::Facility, at: Timestamp, s: &mut Story) {
        if rng.chance(0.6) {
            s.push(
                at,
                ice_actor(ice),
                Action::Remove { person: recs[i].r.clone(), to_country: Some(group.members[i].human.citizenship.into()) },
            );
        } else {
            self.release(rng, &ice_actor(ice), recs, i, at, s);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn adult_alone(&mut self, rng: &mut Rng, group: &Group, recs: &[Rec], i: usize, crew: &Crew, t0: Timestamp, s: &mut Story) {
        let x = rng.f64();
        let bp = crew.source == "BP";
        if x < 0.6 || (!bp && x < 0.7) {
            let ice = rng.pick(places::ICE_ADULT);
            let at = plus(t0, hours(rng, 6, 48));
            let at = self.transfer(rng, recs, i, &crew.border, "ICE", ice, at, s);
            let end = plus(at, rng.range(3 * 1440, 90 * 1440));
            self.ice_end(rng, group, recs, i, ice, end, s);
        } else if bp && x < 0.85 {
            let at = plus(t0, hours(rng, 4, 30));
            s.push(
                at,
                crew.border.clone(),
                Action::Remove { person: recs[i].r.clone(), to_country: Some(group.members[i].human.citizenship.into()) },
            );
        } else {
            let at = plus(t0, hours(rng, 12, 60));
            self.release(rng, &crew.border, recs, i, at, s);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn minor_alone(&mut self, rng: &mut Rng, group: &Group, recs: &[Rec], i: usize, crew: &Crew, t0: Timestamp, s: &mut Story) {
        let h = &group.members[i].human;
        // Mexican children are mostly returned at once (TVPRA, contiguous country).
        if crew.source == "BP" && h.citizenship == "MEX" && rng.chance(0.7) {
            let at = plus(t0, hours(rng, 6, 40));
            s.push(at, crew.border.clone(), Action::Remove { person: recs[i].r.clone(), to_country: Some("MEX".into()) });
            return;
        }
        let shelter = rng.pick(places::ORR);
        let at = self.referral_time(rng, t0);
        let arrived = self.transfer(rng, recs, i, &crew.border, "ORR", shelter, at, s);
        let out = plus(arrived, rng.range(20 * 1440, 90 * 1440));
        self.release(rng, &orr_actor(shelter), recs, i, out, s);
    }

    #[allow(clippy::too_many_arguments)]
    fn family_release(
        &mut self,
        rng: &mut Rng,
        _group: &Group,
        recs: &[Rec],
        members: &[usize],
        crew: &Crew,
        t0: Timestamp,
        s: &mut Story,
    ) {
        if rng.chance(0.2) {
            // To a family residential center first.
            let fac = rng.pick(places::ICE_FAMILY);
            let at = plus(t0, hours(rng, 10, 60));
            let mut last = at;
            for &i in members {
                last = last.max(self.transfer(rng, recs, i, &crew.border, "ICE", fac, at, s));
            }
            let out = plus(last, rng.range(5 * 1440, 20 * 1440));
            for &i in members {
                self.release(rng, &ice_actor(fac), recs, i, out, s);
            }
        } else {
            let at = self.referral_time(rng, t0);
            for &i in members {
                self.release(rng, &crew.border, recs, i, at, s);
            }
        }
    }
}
