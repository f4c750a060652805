//! `kinship worklist run`, `kinship worklist`, `confirm-link` and
//! `reject-link`: the linker over the store, and a reviewer deciding.

use super::{HEADER, kinship, text};

#[test]
fn the_linker_proposes_a_tie_a_reviewer_confirms_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let f = dir.path().join("bp.csv");
    std::fs::write(
        &f,
        format!(
            "{HEADER}\nBP,R1,EV1,2018-05-07T14:32:00-06:00,JOSE LUIS,PEREZ GARCIA,1984-11-03,,,\n\
             BP,R2,EV1,2018-05-07T14:32:00-06:00,CARLOS DANIEL,PEREZ LOPEZ,2011-09-02,,,\n\
             BP,R3,EV2,2018-05-07T18:00:00-06:00,ANA,OZUNA,1990-01-01,,,\n"
        ),
    )
    .unwrap();
    assert!(kinship(&data, &["import", f.to_str().unwrap()]).status.success());
    let o = kinship(&data, &["worklist", "run", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((run["new_records"].as_u64(), run["family_proposed"].as_u64()), (Some(3), Some(1)), "{run}");
    let o = kinship(&data, &["worklist", "--json"]);
    let items: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let item = &items[0];
    assert_eq!((item["kind"].as_str(), item["relation"].as_str()), (Some("family"), Some("PARENT_CHILD")));
    assert!(item["evidence"].as_array().unwrap().iter().any(|e| e.as_str().unwrap().contains("same event")), "{item}");
    let id = item["id"].as_str().unwrap().to_string();
    let o = kinship(&data, &["worklist"]);
    assert!(text(&o).contains(&id) && text(&o).contains("PARENT_CHILD"), "{}", text(&o));

    // An agent may not confirm; the coordinator may, once.
    let as_coordinator = ["--as", "jc.salinas", "--role", "ice_juvenile_coordinator", "--agency", "ICE"];
    let o = kinship(&data, &["confirm-link", &id, "--as", "a.morales", "--role", "bp_agent", "--agency", "BP"]);
    assert!(!o.status.success() && text(&o).contains("not-permitted"), "{}", text(&o));
    let confirm: Vec<&str> = ["confirm-link", id.as_str(), "--adult-role", "FATHER"].into_iter().chain(as_coordinator).collect();
    let o = kinship(&data, &confirm);
    assert!(o.status.success(), "{}", text(&o));
    let o = kinship(&data, &confirm);
    assert!(!o.status.success() && text(&o).contains("link-decided"), "{}", text(&o));
    let o = kinship(&data, &["worklist", "--status", "confirmed", "--json"]);
    let done: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(done[0]["decided_by"].as_str(), Some("jc.salinas"));
    let o = kinship(&data, &["report", "findings"]);
    assert!(o.status.success());

    // Nothing new: the next run writes nothing; sweep runs the linker too.
    assert!(text(&kinship(&data, &["worklist", "run"])).contains("nothing new"));
    let o = kinship(&data, &["sweep", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["linkage"]["new_records"].as_u64(), Some(0), "{v}");
    let o = kinship(&data, &["reject-link", &id, "--reason", "late"]);
    assert!(!o.status.success() && text(&o).contains("link-decided"), "{}", text(&o));
    assert!(kinship(&data, &["verify"]).status.success());
}
