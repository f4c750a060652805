//! Where encounters happen and where people are held: Border Patrol sectors
//! and stations, ports of entry, ICE facilities, ORR shelters, and the U.S.
//! addresses people give.

use crate::rng::Rng;

pub struct Place {
    pub sector: &'static str,
    pub station: &'static str,
    pub zone: &'static str,
}

/// Border Patrol sectors with one station each, weighted by share of apprehensions.
pub const BP: &[(f64, Place)] = &[
    (0.40, Place { sector: "RGV", station: "MCS", zone: "America/Chicago" }),
    (0.08, Place { sector: "RGV", station: "WSL", zone: "America/Chicago" }),
    (0.08, Place { sector: "DRT", station: "EGT", zone: "America/Chicago" }),
    (0.05, Place { sector: "LRT", station: "LRN", zone: "America/Chicago" }),
    (0.12, Place { sector: "EPT", station: "PDT", zone: "America/Denver" }),
    (0.10, Place { sector: "TCA", station: "NGL", zone: "America/Phoenix" }),
    (0.06, Place { sector: "YUM", station: "WLT", zone: "America/Phoenix" }),
    (0.05, Place { sector: "SDC", station: "IMB", zone: "America/Los_Angeles" }),
    (0.06, Place { sector: "ECJ", station: "CAX", zone: "America/Los_Angeles" }),
];

/// Ports of entry (OFO field offices and ports).
pub const OFO: &[(f64, Place)] = &[
    (0.35, Place { sector: "SDFO", station: "SYS", zone: "America/Los_Angeles" }),
    (0.25, Place { sector: "ELPFO", station: "PDN", zone: "America/Denver" }),
    (0.25, Place { sector: "LFO", station: "HID", zone: "America/Chicago" }),
    (0.15, Place { sector: "TFO", station: "NOG", zone: "America/Phoenix" }),
];

pub struct Facility {
    pub code: &'static str,
    pub name: &'static str,
    pub zone: &'static str,
}

pub const ICE_ADULT: &[Facility] = &[
    Facility { code: "PIC", name: "Port Isabel SPC", zone: "America/Chicago" },
    Facility { code: "EPC", name: "El Paso SPC", zone: "America/Denver" },
    Facility { code: "OTM", name: "Otay Mesa DC", zone: "America/Los_Angeles" },
    Facility { code: "FLO", name: "Florence SPC", zone: "America/Phoenix" },
];
pub const ICE_FAMILY: &[Facility] = &[
    Facility { code: "STF", name: "South Texas FRC, Dilley", zone: "America/Chicago" },
    Facility { code: "KRN", name: "Karnes County FRC", zone: "America/Chicago" },
];
pub const ORR: &[Facility] = &[
    Facility { code: "CPD", name: "Casa Padre, Brownsville", zone: "America/Chicago" },
    Facility { code: "TRN", name: "Tornillo influx facility", zone: "America/Denver" },
    Facility { code: "SWK", name: "Southwest Key, San Benito", zone: "America/Chicago" },
    Facility { code: "BCF", name: "BCFS Baytown", zone: "America/Chicago" },
    Facility { code: "CYC", name: "Cayuga Centers, New York", zone: "America/New_York" },
];

const STREETS: &[&str] = &["MAIN ST", "ELM ST", "OAK AVE", "2ND ST", "WASHINGTON AVE", "MAPLE DR", "PINE ST", "LINCOLN AVE", "MARKET ST"];
const CITIES: &[&str] = &[
    "HOUSTON TX 77036",
    "LOS ANGELES CA 90011",
    "MIAMI FL 33135",
    "NEW YORK NY 10032",
    "ATLANTA GA 30349",
    "CHARLOTTE NC 28212",
    "HYATTSVILLE MD 20783",
    "OMAHA NE 68107",
    "NEW ORLEANS LA 70119",
    "DALLAS TX 75217",
];

pub fn address(rng: &mut Rng) -> String {
    format!("{} {}, {}", rng.range(100, 9899), rng.pick(STREETS), rng.pick(CITIES))
}
