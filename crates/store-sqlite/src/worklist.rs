//! Worklist and linkage reads over the `links`, `linkage_runs` and record
//! projections.

use crate::{db_err, key_uuid};
use jiff::civil::Date;
use kinship_domain::{FamilyId, LinkId, PersonId};
use kinship_store::{LinkageRow, StoreError, WorklistItem, WorklistQuery};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

type R<T> = Result<T, StoreError>;

fn bad(what: &str, text: &str) -> StoreError {
    StoreError::Backend(format!("bad {what} in the links projection: {text}"))
}

pub fn worklist(conn: &Connection, q: &WorklistQuery) -> R<Vec<WorklistItem>> {
    let mut st = conn
        .prepare_cached(
            "SELECT id, kind, status, person_a, person_b, relation, score, evidence, automatic, decided_by, reason, family_id, position \
             FROM links WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR status = ?2) \
             ORDER BY score DESC, position LIMIT ?3",
        )
        .map_err(db_err)?;
    type Row =
        (String, String, String, String, String, Option<String>, i64, String, bool, Option<String>, Option<String>, Option<String>, i64);
    let rows: Vec<Row> = st
        .query_map(params![q.kind, q.status, q.limit.min(i64::MAX as usize) as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
            ))
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    rows.into_iter()
        .map(|(id, kind, status, a, b, relation, score, evidence, automatic, decided_by, reason, family, position)| {
            Ok(WorklistItem {
                id: LinkId::parse(&id).ok_or_else(|| bad("link id", &id))?,
                kind,
                status,
                a: PersonId::parse(&a).ok_or_else(|| bad("person id", &a))?,
                b: PersonId::parse(&b).ok_or_else(|| bad("person id", &b))?,
                relation,
                score: score as f64 / 1000.0,
                evidence: serde_json::from_str(&evidence).map_err(|_| bad("evidence", &evidence))?,
                automatic,
                decided_by,
                reason,
                family: family.as_deref().map(|f| FamilyId::parse(f).ok_or_else(|| bad("family id", f))).transpose()?,
                position: position as u64,
            })
        })
        .collect()
}

pub fn linkage_rows(conn: &Connection, from: Date, to: Date) -> R<Vec<LinkageRow>> {
    let mut st = conn
        .prepare_cached(
            "SELECT pr.person_id, pr.source, pr.record_id, pr.encounter_key, e.at, e.local_date, e.station, \
                    p.given, p.family, p.birth_date, p.birth_estimated, p.sex, p.citizenship, p.a_number, p.family_id \
             FROM encounters e JOIN person_records pr ON pr.encounter_key = e.key JOIN persons p ON p.id = pr.person_id \
             WHERE e.local_date BETWEEN ?1 AND ?2 ORDER BY pr.source, pr.record_id",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map(params![from.to_string(), to.to_string()], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<Vec<u8>>>(14)?,
                LinkageRow {
                    person: PersonId(uuid::Uuid::nil()),
                    source: r.get(1)?,
                    record_id: r.get(2)?,
                    encounter_key: r.get(3)?,
                    at: r.get(4)?,
                    local_date: r.get(5)?,
                    station: r.get(6)?,
                    given: r.get(7)?,
                    family: r.get(8)?,
                    birth_date: r.get(9)?,
                    birth_estimated: r.get(10)?,
                    sex: r.get(11)?,
                    citizenship: r.get(12)?,
                    a_number: r.get(13)?,
                    family_id: None,
                },
            ))
        })
        .map_err(db_err)?;
    let mut out = vec![];
    for row in rows {
        let (person, family, mut row) = row.map_err(db_err)?;
        row.person = PersonId(key_uuid(ValueRef::Blob(&person), "person")?);
        // As users see it (`F-…`).
        row.family_id = family.map(|f| key_uuid(ValueRef::Blob(&f), "family").map(|f| FamilyId(f).to_string())).transpose()?;
        out.push(row);
    }
    Ok(out)
}

pub fn linkage_cursor(conn: &Connection) -> R<u64> {
    let v: Option<i64> = conn.query_row("SELECT max(through) FROM linkage_runs", [], |r| r.get(0)).map_err(db_err)?;
    Ok(v.unwrap_or(0) as u64)
}
