//! Determinism, the spec, and the ground truth.

use super::*;
use kinship_app::Engine;
use kinship_app::import::{self, ImportOptions};
use kinship_domain::Profile;
use kinship_store_sqlite::SqliteStore;

fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![];
    for sub in ["", "truth", "story"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                files.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn same_seed_and_params_give_byte_identical_files() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    kinship_sim::generate(&small(11), a.path()).unwrap();
    kinship_sim::generate(&small(11), b.path()).unwrap();
    kinship_sim::generate(&small(12), c.path()).unwrap();
    let (fa, fb, fc) = (all_bytes(a.path()), all_bytes(b.path()), all_bytes(c.path()));
    assert_eq!(fa.len(), 8, "4 extracts, 2 truth files, the story and scenario.json: {:?}", fa.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs between two runs with the same seed");
    }
    let bp = |f: &[(String, Vec<u8>)]| f.iter().find(|(n, _)| n == "BP.csv").unwrap().1.clone();
    assert_ne!(bp(&fa), bp(&fc), "another seed gives other people");
}

#[test]
fn every_file_imports_with_only_the_injected_spec_errors_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = small(5);
    p.errors.time_without_offset = 0.02;
    kinship_sim::generate(&p, dir.path()).unwrap();
    let recs = records(dir.path());
    let store_dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(SqliteStore::open_dir(store_dir.path()).unwrap(), Profile::default_profile().unwrap());
    let files = kinship_sim::data_files(dir.path());
    let paths: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let mut quiet = |_| {};
    let s = import::import(&engine, &paths, ImportOptions { assume_tz: None, format: None, user: "test".into(), progress: &mut quiet })
        .unwrap();
    for (f, path) in s.files.iter().zip(&files) {
        let source = path.file_stem().unwrap().to_str().unwrap();
        let expected = recs.values().filter(|r| r["source"] == source && no_offset(&r["encountered_at"])).count() as u64;
        assert_eq!(f.rejected, expected, "{source}: only the rows written without an offset are refused: {:?}", f.errors);
        assert!(f.errors.iter().all(|e| e.field == "encountered_at" && e.reason.contains("no UTC offset")), "{:?}", f.errors);
        assert_eq!(f.loaded + f.rejected, f.rows);
    }
    let rejected: u64 = s.files.iter().map(|f| f.rejected).sum();
    assert!(rejected > 0, "the scenario carries some rows without offsets");
    // Naming the zone loads them; everything else is unchanged.
    let tz = Some(jiff::tz::TimeZone::get("America/Chicago").unwrap());
    let again =
        import::import(&engine, &paths, ImportOptions { assume_tz: tz, format: None, user: "test".into(), progress: &mut quiet }).unwrap();
    assert!(again.files.iter().all(|f| f.rejected == 0 && f.corrected == 0), "{:?}", again.files);
    assert_eq!(again.files.iter().map(|f| f.loaded).sum::<u64>(), rejected);
}

#[test]
fn the_truth_names_every_record_once_and_only_records_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let summary = kinship_sim::generate(&small(8), dir.path()).unwrap();
    let recs = records(dir.path());
    let identity = truth(dir.path(), "identity.csv");
    assert_eq!(identity.len(), recs.len(), "one identity row per record");
    let mut person_of = HashMap::new();
    for row in &identity {
        let key = (row["source"].clone(), row["record_id"].clone());
        assert!(recs.contains_key(&key), "identity names {key:?}, which no file holds");
        assert!(person_of.insert(key, row["person"].clone()).is_none());
    }
    // The same person across agencies: same sex and citizenship, and (unless
    // re-keyed with a typo) the same A-number.
    let mut by_person: HashMap<&str, Vec<&Record>> = HashMap::new();
    for (k, p) in &person_of {
        by_person.entry(p.as_str()).or_default().push(&recs[k]);
    }
    assert!(by_person.values().any(|v| v.len() >= 2), "some people have records in several agencies");
    for v in by_person.values() {
        assert!(v.iter().all(|r| r["sex"] == v[0]["sex"] && r["citizenship"] == v[0]["citizenship"]));
        assert_eq!(v.iter().filter(|r| r["source"] == "BP" || r["source"] == "OFO").count(), 1, "one border record per person");
    }
    let pairs = truth(dir.path(), "parent_child.csv");
    assert_eq!(pairs.len() as u64, summary.parent_child_pairs);
    let (mut recorded, mut unrecorded) = (0, 0);
    for row in &pairs {
        let a = &recs[&(row["adult_source"].clone(), row["adult_record_id"].clone())];
        let m = &recs[&(row["minor_source"].clone(), row["minor_record_id"].clone())];
        assert_eq!(a["event_id"], m["event_id"], "pairs are within one apprehension");
        assert_ne!(person_of[&(a["source"].clone(), a["record_id"].clone())], person_of[&(m["source"].clone(), m["record_id"].clone())]);
        let same_family = !a["family_id"].is_empty() && a["family_id"] == m["family_id"];
        assert_eq!(row["recorded"] == "true", same_family, "recorded means the source put both in one family: {row:?}");
        if same_family {
            recorded += 1;
            assert!(["FATHER", "MOTHER"].contains(&a["family_role"].as_str()));
        } else {
            unrecorded += 1;
        }
        if a["birth_date_estimated"] == "false" && m["birth_date_estimated"] == "false" {
            let (ab, mb): (jiff::civil::Date, jiff::civil::Date) = (a["birth_date"].parse().unwrap(), m["birth_date"].parse().unwrap());
            let at: jiff::civil::Date = m["encountered_at"][..10].parse().unwrap();
            assert!(ab.until(at).unwrap().get_years() >= 0 && mb < at);
            assert!(jiff::civil::Date::until(ab, mb).unwrap().get_days() > 15 * 365, "parent at least 16 years older: {row:?}");
        }
    }
    assert!(recorded > 0 && unrecorded > 0, "both recorded and unrecorded pairs: {recorded} / {unrecorded}");
}

#[test]
fn names_follow_the_conventions() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = small(21);
    p.errors = kinship_sim::ErrorRates::none();
    p.accent_drop = 0.0;
    kinship_sim::generate(&p, dir.path()).unwrap();
    let recs = records(dir.path());
    let pairs = truth(dir.path(), "parent_child.csv");
    let mut checked = 0;
    for row in &pairs {
        let a = &recs[&(row["adult_source"].clone(), row["adult_record_id"].clone())];
        let m = &recs[&(row["minor_source"].clone(), row["minor_record_id"].clone())];
        // A Latin American father passes on his first surname as the child's first.
        if a["family_role"] == "FATHER" && ["GTM", "HND", "SLV", "MEX"].contains(&a["citizenship"].as_str()) {
            let first = |s: &str| s.split(' ').next().unwrap().to_string();
            if !a["family_names"].contains("DE ") && !m["family_names"].contains("DE ") {
                assert_eq!(first(&a["family_names"]), first(&m["family_names"]), "{a:?} / {m:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 10);
    let all: Vec<&Record> = recs.values().collect();
    assert!(all.iter().any(|r| r["family_names"].contains("DE LA ")), "compound surnames");
    assert!(all.iter().any(|r| r["family_names"].contains('Á') || r["family_names"].contains('É')), "accents");
    for c in ["BRA", "HTI", "GTM", "MEX"] {
        assert!(all.iter().any(|r| r["citizenship"] == c), "citizenship {c}");
    }
    assert!(all.iter().any(|r| r["classification"] == "UAC" && r["family_id"].is_empty()), "unaccompanied children");
    assert!(all.iter().any(|r| r["family_kind"] == "GROUP"), "family groups (grandparents, aunts, siblings)");
}
