//! The built-in demo scenario: a small border story that shows a living
//! system at once: families with and without records, separations under a
//! declared policy, reviews, handoffs to ICE and ORR, a reunification, a
//! release without an address, and children past the 72-hour limit.
//!
//! The fuller generator (`kinship sim`) is a separate piece of work; this one
//! is deliberately small and deterministic apart from being anchored to now.

use crate::engine::Engine;
use crate::error::AppError;
use crate::import::{self, ImportOptions};
use jiff::{Timestamp, ToSpan};
use kinship_domain::command::Command;
use kinship_domain::family::ReviewDecision;
use kinship_domain::time::Instant;
use kinship_domain::{Actor, CommandMeta, FamilyId, PersonId, SeparationId};
use kinship_store::Store;
use std::fmt::Write as _;
use std::path::Path;

const GIVEN_M: &[&str] =
    &["JOSE LUIS", "JUAN", "CARLOS", "MIGUEL ANGEL", "LUIS", "JORGE", "FRANCISCO", "MARVIN", "ERICK", "WILMER", "SANTOS", "OSCAR"];
const GIVEN_F: &[&str] =
    &["MARIA GUADALUPE", "ANA", "ROSA", "MARIA JOSE", "YESENIA", "LUCIA", "SANDRA", "KARLA", "DORA", "GLENDA", "BLANCA", "SONIA"];
const SURNAMES: &[&str] = &[
    "HERNANDEZ",
    "LOPEZ",
    "GARCIA",
    "PEREZ",
    "RAMIREZ",
    "CRUZ",
    "DE LA CRUZ",
    "MARTINEZ",
    "OZUNA",
    "CHAVEZ",
    "REYES",
    "MORALES",
    "PONCE DE LEON",
    "ORELLANA",
    "GÓMEZ",
    "ALVARADO",
    "SOLÍS",
    "AGUILAR",
    "CASTILLO",
    "MEJIA",
];
const COUNTRIES: &[&str] = &["GTM", "HND", "SLV", "MEX"];
const STATIONS: &[(&str, &str)] = &[("RGV", "MCS"), ("RGV", "CPC"), ("EPT", "PDT"), ("TCA", "NGL")];

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() as usize) % from.len()]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Default, serde::Serialize)]
pub struct DemoSummary {
    pub rows: u64,
    pub families: u64,
    pub separations: u64,
    pub reunifications: u64,
    pub transfers: u64,
}

/// Writes the scenario's agency extract (interchange-v1 CSV) and returns it
/// with the ids of the families it declares.
fn extract(now: Timestamp, families: usize, rng: &mut Lcg) -> (String, u64) {
    let mut csv = String::from(
        "source,record_id,event_id,encountered_at,sector,station,a_number,given_names,family_names,birth_date,birth_date_estimated,sex,citizenship,family_id,family_kind,family_role,classification,us_address,notes\n",
    );
    let mut rows = 0;
    let mut a_number = 201_555_000u64;
    for f in 0..families {
        // Most families arrive in the last week; a few arrived 4-5 days ago and
        // their children are still in Border Patrol custody (past 72 hours).
        let hours_ago = if f % 9 == 0 { 96 + rng.below(24) } else { 2 + rng.below(60) } as i64;
        let at = now.checked_sub(hours_ago.hours()).unwrap_or(now);
        let (sector, station) = STATIONS[f % STATIONS.len()];
        let country = rng.pick(COUNTRIES);
        let offset = if sector == "EPT" { jiff::tz::Offset::constant(-6) } else { jiff::tz::Offset::constant(-5) };
        let when = Instant::from_parts(at, offset);
        let event = format!("EV{:05}", 1000 + f);
        let father_sn = [rng.pick(SURNAMES), rng.pick(SURNAMES)];
        let mother_sn = [rng.pick(SURNAMES), rng.pick(SURNAMES)];
        let year = 2026;
        let recorded = f % 7 != 3; // one family in seven was never recorded as a family
        let fam_id = format!("FMUA{:06}", 500 + f);
        let two_parents = f % 4 == 0;
        let mut people: Vec<(String, String, String, &str, &str)> = vec![]; // given, family, birth, sex, role
        let parent_age = 24 + rng.below(20) as i16;
        if f % 3 != 1 || two_parents {
            people.push((
                rng.pick(GIVEN_M).into(),
                format!("{} {}", father_sn[0], father_sn[1]),
                format!("{}-{:02}-{:02}", year - parent_age, 1 + rng.below(12), 1 + rng.below(28)),
                "M",
                "FATHER",
            ));
        }
        if f % 3 == 1 || two_parents {
            people.push((
                rng.pick(GIVEN_F).into(),
                format!("{} {}", mother_sn[0], mother_sn[1]),
                format!("{}-{:02}-{:02}", year - parent_age + 2, 1 + rng.below(12), 1 + rng.below(28)),
                "F",
                "MOTHER",
            ));
        }
        let single_mother = f % 3 == 1 && !two_parents;
        for _ in 0..(1 + rng.below(3)) {
            // Children are at least 18 years younger than their parents, except in
            // the families whose record carries a deliberate birth-date error.
            let age = if f % 11 == 5 { parent_age - 10 } else { 1 + rng.below(14.min(parent_age as u64 - 18)) as i16 };
            let (given, sex, role) = if rng.below(2) == 0 { (rng.pick(GIVEN_M), "M", "SON") } else { (rng.pick(GIVEN_F), "F", "DAUGHTER") };
            let surnames =
                if single_mother { format!("{} {}", mother_sn[0], mother_sn[1]) } else { format!("{} {}", father_sn[0], mother_sn[0]) };
            people.push((given.into(), surnames, format!("{}-{:02}-{:02}", year - age, 1 + rng.below(12), 1 + rng.below(28)), sex, role));
        }
        for (i, (given, family, birth, sex, role)) in people.iter().enumerate() {
            a_number += 1 + rng.below(2);
            let (fid, kind, frole, class) = if recorded {
                (fam_id.as_str(), "UNIT", *role, "FAMILY_UNIT_MEMBER")
            } else if role.starts_with('F') || role.starts_with('M') {
                ("", "", "", "SINGLE_ADULT")
            } else {
                ("", "", "", "")
            };
            let _ = writeln!(
                csv,
                "BP,BP{f:04}{i},{event},{when},{sector},{station},A{a_number:09},{given},{family},{birth},false,{sex},{country},{fid},{kind},{frole},{class},,"
            );
            rows += 1;
        }
    }
    // Unaccompanied teenagers, and one adult travelling alone.
    for u in 0..(families / 6).max(1) {
        let at = now.checked_sub((3 + rng.below(40) as i64).hours()).unwrap_or(now);
        let when = Instant::from_parts(at, jiff::tz::Offset::constant(-5));
        let _ = writeln!(
            csv,
            "BP,BPU{u:04},EVU{u:04},{when},RGV,MCS,,{},{} {},{}-03-0{},true,M,{},,,,UAC,,",
            rng.pick(GIVEN_M),
            rng.pick(SURNAMES),
            rng.pick(SURNAMES),
            2026 - 15 - rng.below(3) as i16,
            1 + rng.below(8),
            rng.pick(COUNTRIES)
        );
        rows += 1;
    }
    (csv, rows)
}

fn actor(user: &str, agency: &str, role: &str) -> Actor {
    Actor { user: user.into(), agency: agency.into(), role: role.into() }
}

fn meta(a: &Actor, key: String, at: Timestamp) -> CommandMeta {
    CommandMeta { actor: a.clone(), idempotency_key: key, at: Instant::from_timestamp(at) }
}

/// Writes the demo scenario's extract (for `families` families) to `path`
/// without loading it: input for benchmarks and for trying `kinship import`.
pub fn write_extract(path: &Path, families: usize) -> Result<u64, AppError> {
    let mut rng = Lcg(20_180_406);
    let (csv, rows) = extract(crate::engine::now(), families, &mut rng);
    std::fs::write(path, csv).map_err(|e| AppError::Input(format!("cannot write {}: {e}", path.display())))?;
    Ok(rows)
}

/// Loads the demo into `engine`, writing its extract to `dir/demo-extract.csv`.
pub fn load<S: Store>(engine: &Engine<S>, dir: &Path, families: usize) -> Result<DemoSummary, AppError> {
    let now = crate::engine::now();
    let mut rng = Lcg(20_180_406);
    let (csv, rows) = extract(now, families, &mut rng);
    let path = dir.join("demo-extract.csv");
    std::fs::write(&path, csv).map_err(|e| AppError::Input(format!("cannot write {}: {e}", path.display())))?;
    import::import(
        engine,
        &[path.as_path()],
        ImportOptions { assume_tz: None, format: None, user: "demo-import".into(), progress: &mut |_| {} },
    )?;
    let mut summary = DemoSummary { rows, ..Default::default() };

    let agent = actor("agent.ramos", "BP", "bp_agent");
    let sup1 = actor("sup.alvarez", "BP", "bp_supervisor");
    let sup2 = actor("wc.nguyen", "BP", "bp_supervisor");
    let ice = actor("ice.officer.cho", "ICE", "ice_officer");
    let orr = actor("orr.cm.diaz", "ORR", "orr_case_manager");

    // Families the import recorded, in a stable order.
    // Each family with its members and whether each is a parent.
    let mut families_seen: Vec<(FamilyId, Vec<(PersonId, bool)>)> = vec![];
    let world = engine.replay_all()?;
    for f in world.families.values() {
        let members = f.members.iter().map(|m| (m.person, m.role.is_parent_or_guardian())).collect();
        families_seen.push((f.id, members));
    }
    families_seen.sort_by_key(|(f, _)| world.families.get(f).and_then(|s| s.source_family.clone()));
    summary.families = families_seen.len() as u64;

    for (n, (fid, members)) in families_seen.iter().enumerate() {
        let parents: Vec<PersonId> = members.iter().filter(|m| m.1).map(|m| m.0).collect();
        let children: Vec<PersonId> = members.iter().filter(|m| !m.1).map(|m| m.0).collect();
        if n % 3 != 0 || parents.is_empty() || children.is_empty() {
            continue;
        }
        // Separated a few hours after the family was encountered (never in the future).
        let formed = world.families.get(fid).map(|f| f.formed_at.timestamp()).unwrap_or(now);
        let at = formed.checked_add((2 + (n as i64 % 5)).hours()).unwrap_or(now).min(now);
        let sep = SeparationId::new_v7();
        let separated = vec![parents[0]];
        let (code, policy) =
            if n % 2 == 0 { ("FMPP", Some("Zero Tolerance (2018-04-06)".to_string())) } else { (["FMPC", "FMH", "FMPIV"][n % 3], None) };
        engine.execute(
            &meta(&agent, format!("demo:sep:{n}"), at),
            &Command::RecordSeparation {
                family: *fid,
                separation: sep,
                members: separated.clone(),
                reason_code: code.into(),
                policy,
                narrative: "Adult referred for prosecution; children remain in the family record.".into(),
                approved_by: "PAIC Morales".into(),
            },
        )?;
        summary.separations += 1;
        engine.execute(
            &meta(&sup1, format!("demo:rev1:{n}"), at),
            &Command::ReviewSeparation { family: *fid, separation: sep, level: 1, decision: ReviewDecision::Approve, note: None },
        )?;
        if n % 2 == 0 {
            engine.execute(
                &meta(&sup2, format!("demo:rev2:{n}"), at),
                &Command::ReviewSeparation { family: *fid, separation: sep, level: 2, decision: ReviewDecision::Approve, note: None },
            )?;
        }
        // The separated parent goes to ICE; the children to ORR (but some
        // children are still waiting at the station).
        let parent = separated[0];
        engine.execute(
            &meta(&agent, format!("demo:offer-ice:{n}"), at),
            &Command::OfferTransfer { person: parent, to_agency: "ICE".into(), to_facility: Some("Port Isabel SPC".into()) },
        )?;
        engine.execute(&meta(&ice, format!("demo:accept-ice:{n}"), at), &Command::AcceptTransfer { person: parent, facility: None })?;
        summary.transfers += 1;
        // Children of a two-parent family stay with the other parent.
        if n % 9 != 0 && parents.len() == 1 {
            for (k, c) in children.iter().enumerate() {
                engine.execute(
                    &meta(&agent, format!("demo:offer-orr:{n}:{k}"), at),
                    &Command::OfferTransfer { person: *c, to_agency: "ORR".into(), to_facility: Some("Casa Padre, Brownsville".into()) },
                )?;
                engine.execute(
                    &meta(&orr, format!("demo:accept-orr:{n}:{k}"), at),
                    &Command::AcceptTransfer { person: *c, facility: None },
                )?;
                summary.transfers += 1;
            }
        }
        if n % 6 == 3 {
            engine.execute(
                &meta(&ice, format!("demo:reunify:{n}"), now),
                &Command::Reunify { family: *fid, members: separated.clone(), location: "Port Isabel SPC".into() },
            )?;
            summary.reunifications += 1;
        }
    }
    // A release with no U.S. address: allowed, but flagged.
    // (Family 1 was not separated above: only every third family is.)
    if let Some((_, members)) = families_seen.get(1) {
        for (k, m) in members.iter().enumerate() {
            engine.execute(
                &meta(&agent, format!("demo:release:{k}"), now),
                &Command::Release { person: m.0, us_address: None, conditions: Some("Notice to Appear".into()) },
            )?;
        }
    }
    Ok(summary)
}
