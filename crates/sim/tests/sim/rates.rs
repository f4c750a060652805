//! Error rates come out as configured, measured on the files where the
//! files can show them, and otherwise from the generator's own tally.

use super::*;
use kinship_sim::ErrorRates;

fn near(measured: f64, rate: f64, what: &str) {
    assert!((measured - rate).abs() <= 0.25 * rate + 0.01, "{what}: measured {measured:.4}, configured {rate}");
}

#[test]
fn each_error_appears_at_its_own_rate() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = small(3);
    p.days = 10;
    p.per_day = 400;
    let mut e = ErrorRates::none();
    let rates = [
        ("family_unrecorded", 0.15),
        ("parent_booked_single", 0.10),
        ("family_unit_in_error", 0.05),
        ("typo", 0.06),
        ("surname_swapped", 0.04),
        ("surname_missing", 0.08),
        ("birth_date_estimated", 0.07),
        ("a_number_typo", 0.12),
        ("time_without_offset", 0.03),
        ("missing_us_address", 0.2),
        ("orr_spelling", 0.3),
    ];
    for (k, v) in rates {
        e.set(k, v).unwrap();
    }
    assert_eq!(rates.len(), ErrorRates::NAMES.len(), "every kind is checked");
    p.errors = e;
    let s = kinship_sim::generate(&p, dir.path()).unwrap();
    for (k, v) in rates {
        let t = s.errors.0[k];
        assert!(t.opportunities > 100, "{k}: only {} chances", t.opportunities);
        near(t.injected as f64 / t.opportunities as f64, v, k);
    }
    // What the files themselves show.
    let recs = records(dir.path());
    let n = recs.len() as f64;
    near(recs.values().filter(|r| no_offset(&r["encountered_at"])).count() as f64 / n, 0.03, "rows without offset");
    near(recs.values().filter(|r| r["birth_date_estimated"] == "true").count() as f64 / n, 0.07, "estimated birth dates");
    let identity = truth(dir.path(), "identity.csv");
    let person: HashMap<(String, String), String> =
        identity.iter().map(|r| ((r["source"].clone(), r["record_id"].clone()), r["person"].clone())).collect();
    let digits = |a: &str| a.chars().filter(char::is_ascii_digit).collect::<String>();
    let mut border_a = HashMap::new();
    for (k, r) in &recs {
        if (r["source"] == "BP" || r["source"] == "OFO") && !r["a_number"].is_empty() {
            border_a.insert(person[k].clone(), digits(&r["a_number"]));
        }
    }
    let rekeyed: Vec<bool> = recs
        .iter()
        .filter(|(_, r)| (r["source"] == "ICE" || r["source"] == "ORR") && !r["a_number"].is_empty())
        .filter_map(|(k, r)| border_a.get(&person[k]).map(|a| *a != digits(&r["a_number"])))
        .collect();
    near(rekeyed.iter().filter(|x| **x).count() as f64 / rekeyed.len() as f64, 0.12, "A-numbers re-keyed wrongly by ICE/ORR");
    let pairs = truth(dir.path(), "parent_child.csv");
    let unrecorded = pairs.iter().filter(|r| r["recorded"] == "false").count() as f64 / pairs.len() as f64;
    assert!(unrecorded > 0.15 && unrecorded < 0.4, "families never recorded or a parent booked alone: {unrecorded}");
}

#[test]
fn with_every_rate_at_zero_the_files_are_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = small(4);
    p.errors = ErrorRates::none();
    let s = kinship_sim::generate(&p, dir.path()).unwrap();
    assert!(s.errors.0.values().all(|t| t.injected == 0));
    let recs = records(dir.path());
    assert!(recs.values().all(|r| !no_offset(&r["encountered_at"]) && r["birth_date_estimated"] == "false"));
    assert!(truth(dir.path(), "parent_child.csv").iter().all(|r| r["recorded"] == "true"));
}

#[test]
fn bad_rates_are_refused_by_name() {
    let mut e = ErrorRates::default();
    assert!(e.set("typos", 0.1).unwrap_err().contains("unknown error kind \"typos\""));
    assert!(e.set("typo", 1.5).unwrap_err().contains("between 0 and 1"));
    let mut p = small(1);
    p.family_share = 0.9;
    p.uac_share = 0.2;
    assert!(kinship_sim::generate(&p, tempfile::tempdir().unwrap().path()).unwrap_err().to_string().contains("family_share + uac_share"));
}
