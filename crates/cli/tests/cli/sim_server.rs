//! `kinship sim --server`: a generated story sent to a real `kinship serve`
//! on a free port as live commands, compared with the same story replayed
//! into a local store.

use super::served::Served;
use super::{kinship, text};
use std::collections::BTreeSet;

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

fn separations(rows: &serde_json::Value) -> BTreeSet<String> {
    rows.as_array().unwrap().iter().map(|r| r["separation"].as_str().unwrap().to_string()).collect()
}

#[test]
fn sim_drives_a_running_server_with_the_story_as_live_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (out, local, data) = (dir.path().join("scenario"), dir.path().join("local"), dir.path().join("server"));
    let scenario = out.to_str().unwrap();
    let gen_args = [
        "sim",
        "--seed",
        "5",
        "--start",
        "2018-05-10",
        "--days",
        "2",
        "--per-day",
        "60",
        "--separation-rate",
        "0.8",
        "--error-rate",
        "all=0",
        "--out",
        scenario,
    ];
    assert!(kinship(&local, &gen_args).status.success());
    // The same story replayed into a local store, for comparison.
    let here = json(&kinship(&local, &["--json", "sim", "--load-only", "--out", scenario]));
    let applied = here["story"]["applied"].as_u64().unwrap();
    assert!(here["story"]["applied_by_kind"]["separate"].as_u64().unwrap() > 0, "the scenario separates no family: {here}");
    // The server's store holds the border extracts, as agencies deliver them.
    let o = kinship(&data, &["import", &format!("{scenario}/BP.csv"), &format!("{scenario}/OFO.csv")]);
    assert!(o.status.success(), "{}", text(&o));
    let s = Served::start(&data, &[]);
    let password = s.admin_password().unwrap();
    let url = format!("http://{}", s.addr);
    // As the administrator, who issues each of the story's actors a token for the run.
    let drive = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kinship"))
            .arg("--data")
            .arg(&local)
            .args(args)
            .env_remove("KINSHIP_PROFILE")
            .env("KINSHIP_PASSWORD", &password)
            .output()
            .unwrap()
    };
    let args = ["--json", "sim", "--load-only", "--out", scenario, "--server", &url, "--login", "admin"];

    let sent = json(&drive(&args));
    let server = &sent["server"];
    assert_eq!(server["refused"], serde_json::json!({}), "{sent}");
    assert_eq!(
        (server["applied"].as_u64(), server["unresolved"].as_u64(), server["not_found"].as_u64()),
        (Some(applied), Some(0), Some(0)),
        "{sent}"
    );
    assert_eq!(server["applied_by_kind"], here["story"]["applied_by_kind"], "{sent}");
    // The server now lists the separations the local replay lists (their ids
    // derive from the story; persons' ids were minted by each store).
    let cookie = s.login("admin", &password).1.unwrap();
    let listed = s.http("GET", "/api/reports/separated-children", Some(&cookie), None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let mine = json(&kinship(&local, &["--json", "report", "separated-children"]));
    assert!(!separations(&mine).is_empty());
    assert_eq!(separations(&listed.json()), separations(&mine));

    // Sent again: every step is replayed by its Idempotency-Key, nothing new is written.
    let again = json(&drive(&args));
    assert_eq!((again["server"]["applied"].as_u64(), again["server"]["replayed"].as_u64()), (Some(0), Some(applied)), "{again}");
    // The run's tokens were revoked at its end.
    let tokens = text(&kinship(&data, &["token", "list"]));
    assert!(tokens.lines().filter(|l| l.contains("sim ")).all(|l| l.contains("revoked")), "{tokens}");
    // Without credentials the command says what it needs.
    let o = kinship(&local, &["sim", "--load-only", "--out", scenario, "--server", &url]);
    assert!(!o.status.success() && text(&o).contains("--server needs --token"), "{}", text(&o));
}
