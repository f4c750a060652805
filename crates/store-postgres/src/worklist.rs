//! Worklist and linkage reads: the same questions and answers as the SQLite
//! backend's `worklist.rs`.

use crate::conn::{Session, db_err};
use jiff::civil::Date;
use kinship_domain::{FamilyId, LinkId, PersonId};
use kinship_store::{LinkageRow, StoreError, WorklistItem, WorklistQuery};
use postgres::GenericClient;

type R<T> = Result<T, StoreError>;
type Db<'s, 'a, C> = &'s mut Session<'a, C>;

fn bad(what: &str, text: &str) -> StoreError {
    StoreError::Backend(format!("bad {what} in the links projection: {text}"))
}

pub fn worklist<C: GenericClient>(db: Db<'_, '_, C>, q: &WorklistQuery) -> R<Vec<WorklistItem>> {
    let limit = q.limit.min(i64::MAX as usize) as i64;
    let rows = db
        .query(
            "SELECT id, kind, status, person_a, person_b, relation, score, evidence, automatic, decided_by, reason, family_id, position \
             FROM links WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR status = $2) \
             ORDER BY score DESC, position LIMIT $3",
            &[&q.kind, &q.status, &limit],
        )
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let id: String = r.get(0);
            let a: String = r.get(3);
            let b: String = r.get(4);
            let evidence: String = r.get(7);
            let family: Option<String> = r.get(11);
            Ok(WorklistItem {
                id: LinkId::parse(&id).ok_or_else(|| bad("link id", &id))?,
                kind: r.get(1),
                status: r.get(2),
                a: PersonId::parse(&a).ok_or_else(|| bad("person id", &a))?,
                b: PersonId::parse(&b).ok_or_else(|| bad("person id", &b))?,
                relation: r.get(5),
                score: f64::from(r.get::<_, i32>(6)) / 1000.0,
                evidence: serde_json::from_str(&evidence).map_err(|_| bad("evidence", &evidence))?,
                automatic: r.get(8),
                decided_by: r.get(9),
                reason: r.get(10),
                family: family.as_deref().map(|f| FamilyId::parse(f).ok_or_else(|| bad("family id", f))).transpose()?,
                position: r.get::<_, i64>(12) as u64,
            })
        })
        .collect()
}

pub fn linkage_rows<C: GenericClient>(db: Db<'_, '_, C>, from: Date, to: Date) -> R<Vec<LinkageRow>> {
    let rows = db
        .query(
            "SELECT pr.person_id, pr.source, pr.record_id, pr.encounter_key, e.at, e.local_date, e.station, \
                    p.given, p.family, p.birth_date, p.birth_estimated, p.sex, p.citizenship, p.a_number, p.family_id \
             FROM encounters e JOIN person_records pr ON pr.encounter_key = e.key JOIN persons p ON p.id = pr.person_id \
             WHERE e.local_date BETWEEN $1 AND $2 ORDER BY pr.source, pr.record_id",
            &[&from.to_string(), &to.to_string()],
        )
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let person: String = r.get(0);
            Ok(LinkageRow {
                person: PersonId::parse(&person).ok_or_else(|| StoreError::Backend(format!("bad person id in projection: {person}")))?,
                source: r.get(1),
                record_id: r.get(2),
                encounter_key: r.get(3),
                at: r.get(4),
                local_date: r.get(5),
                station: r.get(6),
                given: r.get(7),
                family: r.get(8),
                birth_date: r.get(9),
                birth_estimated: r.get(10),
                sex: r.get(11),
                citizenship: r.get(12),
                a_number: r.get(13),
                family_id: r.get(14),
            })
        })
        .collect()
}

pub fn linkage_cursor<C: GenericClient>(db: Db<'_, '_, C>) -> R<u64> {
    let v: Option<i64> = db.query_one("SELECT max(through) FROM linkage_runs", &[]).map_err(db_err)?.get(0);
    Ok(v.unwrap_or(0) as u64)
}
