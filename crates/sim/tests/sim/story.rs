//! The story replays through the real command path: every step the core can
//! accept is applied, and the result is a living record.

use super::*;
use kinship_app::Engine;
use kinship_app::import::{self, ImportOptions};
use kinship_domain::Profile;
use kinship_store::Store;
use kinship_store_sqlite::SqliteStore;

fn load(p: &Params) -> (tempfile::TempDir, Engine<SqliteStore>, kinship_app::story::StoryReport, kinship_sim::Summary) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scenario");
    let summary = kinship_sim::generate(p, &out).unwrap();
    let engine = Engine::new(SqliteStore::open_dir(&dir.path().join("data")).unwrap(), Profile::default_profile().unwrap());
    let files = kinship_sim::data_files(&out);
    let mut quiet = |_| {};
    let mut import = |f: &[std::path::PathBuf]| {
        let paths: Vec<&Path> = f.iter().map(|p| p.as_path()).collect();
        import::import(&engine, &paths, ImportOptions { assume_tz: None, format: None, user: "test".into(), progress: &mut quiet })
            .unwrap();
    };
    import(&files[..2]);
    let report = kinship_app::story::apply_file(&engine, &kinship_sim::story_file(&out), &mut |_| {}).unwrap();
    import(&files[2..]);
    (dir, engine, report, summary)
}

#[test]
fn a_clean_story_applies_completely_and_rebuilds_to_the_same_state() {
    let mut p = small(6);
    p.start = jiff::civil::date(2018, 5, 1);
    p.days = 45;
    p.per_day = 50;
    p.errors = kinship_sim::ErrorRates::none();
    let (_dir, engine, report, summary) = load(&p);
    assert_eq!(report.steps, summary.steps.values().sum::<u64>());
    assert_eq!((report.refused_total(), report.unresolved), (0, 0), "{report:?}");
    for kind in ["separate", "review", "offer_transfer", "accept_transfer", "release", "remove", "reunify", "refer_for_prosecution"] {
        assert!(report.applied_by_kind.get(kind).copied().unwrap_or(0) > 0, "no {kind} applied: {report:?}");
    }
    let today = jiff::civil::date(2018, 6, 1);
    assert!(!engine.store.separated_children(today).unwrap().is_empty());
    // Applying the story again writes nothing new.
    let out = _dir.path().join("scenario");
    let again = kinship_app::story::apply_file(&engine, &kinship_sim::story_file(&out), &mut |_| {}).unwrap();
    assert_eq!(again.replayed, report.applied);
    let live = engine.store.projection_dump().unwrap();
    engine.store.rebuild(&mut |_| {}).unwrap();
    assert_eq!(live, engine.store.projection_dump().unwrap());
}

#[test]
fn with_default_errors_only_steps_about_rejected_rows_are_left_out() {
    let mut p = small(9);
    p.errors.time_without_offset = 0.02;
    let (_dir, _engine, report, _) = load(&p);
    // A review of a separation whose step named a rejected row finds no
    // separation; nothing else is refused.
    assert!(report.refused.keys().all(|rule| rule == "separation-not-found"), "{report:?}");
    assert!(report.refused_total() <= report.unresolved);
    assert!(report.unresolved > 0 && report.unresolved < report.steps / 10, "{report:?}");
}
