//! The role × endpoint × field-class matrix, generated from the profile:
//! every role reads the same person through every read endpoint, and each
//! planted value must appear exactly when the profile grants its class at
//! a level that includes its column. Persons out of reach answer 404.

use crate::harness::*;
use kinship_domain::visibility::{Level, Reach};
use kinship_store::audit::AuditQuery;
use std::collections::BTreeSet;

fn agency_of(profile: &kinship_domain::Profile, role: &str) -> String {
    let a = &profile.roles[role].agency;
    if a == "*" { "HQ".into() } else { a.clone() }
}

/// Does `role` of `agency` reach the seeded family (BP recorded it; ORR holds the child)?
fn reaches_family(profile: &kinship_domain::Profile, role: &str, agency: &str) -> bool {
    match profile.reach(role) {
        Reach::All => true,
        Reach::None => false,
        Reach::Agency => agency == "BP" || agency == "ORR",
    }
}

fn column_shown(profile: &kinship_domain::Profile, role: &str, column: &str) -> bool {
    let class = profile.class_of_column(column).unwrap();
    match profile.sees(role, class) {
        Some(Level::Full) => true,
        Some(Level::Summary) => profile.field_classes[class].summary.iter().any(|c| c == column),
        None => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_by_endpoint_by_field_class_matrix() {
    let s = Server::start().await;
    let w = seed(&s).await;
    separate_parent_for_prosecution(&s, &w).await;
    let p = &s.profile;
    let mut checked = 0;
    for role in p.roles.keys() {
        let agency = agency_of(p, role);
        let c = s.token(role, &agency, &["read"]);
        let reach = reaches_family(p, role, &agency);
        let ctx = format!("{role} of {agency}");

        // GET /api/persons/{id}, with a purpose: exactly one audit record.
        let before = s.audit_count();
        let r = c.get(&format!("/api/persons/{}?purpose=matrix", w.parent.0)).await.unwrap();
        assert_eq!(s.audit_count(), before + 1, "{ctx}: one audit record per read");
        let body = String::from_utf8_lossy(&r.body).to_string();
        if !reach {
            assert_eq!(r.status, 404, "{ctx}: out of reach must look absent: {body}");
            assert_eq!(r.json()["code"], "not-found");
        } else {
            assert_eq!(r.status, 200, "{ctx}: {body}");
            let j = r.json();
            let expected: BTreeSet<String> = p.field_classes.keys().filter(|c| p.sees(role, c).is_some()).cloned().collect();
            let got: BTreeSet<String> = j["classes"].as_object().unwrap_or_else(|| panic!("{ctx}: {body}")).keys().cloned().collect();
            assert_eq!(got, expected, "{ctx}: classes");
            let sees_identity = p.sees(role, "identity").is_some();
            assert_eq!(body.contains(PARENT_NAME), sees_identity, "{ctx}: name");
            assert_eq!(body.contains(PARENT_A), sees_identity, "{ctx}: A-number");
            assert_eq!(j.get("family").is_some(), p.sees(role, "family").is_some(), "{ctx}: family part");
            assert_eq!(j.get("custody").is_some(), p.sees(role, "custody").is_some(), "{ctx}: custody part");
            for (col, val) in PARENT_COLUMNS {
                assert_eq!(body.contains(val), column_shown(p, role, col), "{ctx}: column {col}");
            }
            // The audit record names the classes returned, never the values.
            let rec = s.backend.audit.audit_query(&AuditQuery { limit: 1, ..Default::default() }).unwrap().remove(0);
            assert_eq!(rec.entry.field_classes.iter().cloned().collect::<BTreeSet<_>>(), expected, "{ctx}: audited classes");
            assert_eq!(rec.entry.subjects, vec![w.parent.to_string()]);
            assert_eq!(rec.entry.purpose.as_deref(), Some("matrix"));
            let rec_text = serde_json::to_string(&rec).unwrap();
            assert!(
                PARENT_COLUMNS.iter().all(|(_, v)| !rec_text.contains(v)) && !rec_text.contains(PARENT_NAME),
                "{ctx}: values in the audit"
            );

            // Without a purpose, sensitive classes are withheld.
            let r = c.get(&format!("/api/persons/{}", w.parent.0)).await.unwrap();
            let body = String::from_utf8_lossy(&r.body).to_string();
            for (col, val) in PARENT_COLUMNS {
                let sensitive = p.field_classes[p.class_of_column(col).unwrap()].sensitive;
                assert_eq!(body.contains(val), column_shown(p, role, col) && !sensitive, "{ctx}: no purpose, column {col}");
            }
            let withheld: BTreeSet<String> =
                r.json()["withheld"].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default();
            let expect_withheld: BTreeSet<String> = expected.iter().filter(|c| p.field_classes[*c].sensitive).cloned().collect();
            assert_eq!(withheld, expect_withheld, "{ctx}: withheld");
        }

        // Another agency's person: only ICE and the all-reaching roles.
        let r = c.get(&format!("/api/persons/{}", w.ice_person.0)).await.unwrap();
        let ice_reach = match p.reach(role) {
            Reach::All => true,
            Reach::None => false,
            Reach::Agency => agency == "ICE",
        };
        assert_eq!(r.status, if ice_reach { 200 } else { 404 }, "{ctx}: ICE's person");

        // GET /api/persons: hits only in reach, never a column value.
        let r = c.get("/api/persons?limit=100").await.unwrap();
        assert_eq!(r.status, 200, "{ctx}");
        let body = String::from_utf8_lossy(&r.body).to_string();
        assert_eq!(body.contains(&w.parent.0.to_string()), reach, "{ctx}: search reach");
        assert_eq!(body.contains(&w.ice_person.0.to_string()), ice_reach, "{ctx}: search reach (ICE)");
        assert_eq!(body.contains(PARENT_NAME), reach && p.sees(role, "identity").is_some(), "{ctx}: search identity");
        assert!(PARENT_COLUMNS.iter().all(|(_, v)| !body.contains(v)), "{ctx}: search shows no column class");
        // Searching by name needs the identity class.
        let r = c.get("/api/persons?name=marisolxq").await.unwrap();
        assert_eq!(r.status, if p.sees(role, "identity").is_some() { 200 } else { 403 }, "{ctx}: search by name");

        // GET /api/export: the same cut as the person view.
        let r = c.get("/api/export?purpose=matrix").await.unwrap();
        assert_eq!(r.status, 200, "{ctx}");
        let body = String::from_utf8_lossy(&r.body).to_string();
        assert_eq!(body.contains(&w.parent.0.to_string()), reach, "{ctx}: export reach");
        for (col, val) in PARENT_COLUMNS {
            assert_eq!(body.contains(val), reach && column_shown(p, role, col), "{ctx}: export column {col}");
        }

        // The separated-children list: family-class data, rows in reach only.
        let r = c.get("/api/reports/separated-children").await.unwrap();
        if p.sees(role, "family").is_none() {
            assert_eq!(r.status, 403, "{ctx}: list without the family class");
        } else {
            assert_eq!(r.status, 200, "{ctx}");
            let rows = r.json();
            let rows = rows.as_array().unwrap();
            assert_eq!(rows.iter().any(|row| row["child"]["id"] == w.child.0.to_string()), reach, "{ctx}: list reach");
            let body = String::from_utf8_lossy(&r.body).to_string();
            assert_eq!(body.contains("DANIXQ"), reach && p.sees(role, "identity").is_some(), "{ctx}: list identity");
        }
        checked += 1;
    }
    assert_eq!(checked, p.roles.len());
    assert!(checked >= 9, "every role of the profile is in the matrix");
}
