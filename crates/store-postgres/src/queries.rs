//! Read queries over the projections: the same questions, orderings and
//! answers as the SQLite backend's `queries.rs`. Text columns are
//! COLLATE "C" and nullable sort keys say NULLS FIRST, as SQLite sorts.

use crate::conn::{Session, db_err};
use crate::migrate::PROJECTION_TABLES;
use jiff::civil::Date;
use kinship_domain::person::SourceRef;
use kinship_domain::{ANumber, FamilyId, PersonId, name};
use kinship_store::{
    CustodyEntry, CustodyNow, FindingView, MembershipView, PersonBrief, PersonRow, PersonView, SearchQuery, SeparatedChild,
    SeparatedParent, StoreError,
};
use postgres::types::ToSql;
use postgres::{GenericClient, Row};
use std::fmt::Write as _;

type R<T> = Result<T, StoreError>;
type Db<'s, 'a, C> = &'s mut Session<'a, C>;

fn pid(text: &str) -> R<PersonId> {
    PersonId::parse(text).ok_or_else(|| StoreError::Backend(format!("bad person id in projection: {text}")))
}

fn fid(text: &str) -> R<FamilyId> {
    FamilyId::parse(text).ok_or_else(|| StoreError::Backend(format!("bad family id in projection: {text}")))
}

fn ids(rows: Vec<Row>) -> R<Vec<PersonId>> {
    rows.iter().map(|r| pid(r.get(0))).collect()
}

pub fn person_by_record<C: GenericClient>(db: Db<'_, '_, C>, r: &SourceRef) -> R<Option<PersonId>> {
    let row = db
        .query_opt("SELECT person_id FROM person_records WHERE source = $1 AND record_id = $2", &[&r.source, &r.record_id])
        .map_err(db_err)?;
    row.map(|r| pid(r.get(0))).transpose()
}

pub fn persons_by_a_number<C: GenericClient>(db: Db<'_, '_, C>, a: &ANumber) -> R<Vec<PersonId>> {
    ids(db.query("SELECT id FROM persons WHERE a_number = $1 ORDER BY id", &[&a.as_str()]).map_err(db_err)?)
}

pub fn family_by_source<C: GenericClient>(db: Db<'_, '_, C>, f: &SourceRef) -> R<Option<FamilyId>> {
    let row =
        db.query_opt("SELECT id FROM families WHERE source = $1 AND source_family_id = $2", &[&f.source, &f.record_id]).map_err(db_err)?;
    row.map(|r| fid(r.get(0))).transpose()
}

pub fn persons_in_encounter<C: GenericClient>(db: Db<'_, '_, C>, key: &str) -> R<Vec<PersonId>> {
    ids(db.query("SELECT DISTINCT person_id FROM person_records WHERE encounter_key = $1 ORDER BY person_id", &[&key]).map_err(db_err)?)
}

const PERSON_COLS: &str = "p.id, p.given, p.family, p.birth_date, p.birth_estimated, p.sex, p.citizenship, p.a_number, \
    p.first_encountered, p.custody_status, p.custody_agency, p.custody_facility, p.custody_since, p.family_id, p.aged_out";

fn person_row(r: &Row) -> PersonRow {
    PersonRow {
        id: r.get(0),
        given: r.get(1),
        family: r.get(2),
        birth: r.get(3),
        estimated: r.get(4),
        sex: r.get(5),
        citizenship: r.get(6),
        a_number: r.get(7),
        first: r.get(8),
        custody: CustodyNow { status: r.get(9), agency: r.get(10), facility: r.get(11), since: r.get(12) },
        family_id: r.get(13),
        aged_out: r.get(14),
    }
}

fn view<C: GenericClient>(db: Db<'_, '_, C>, row: PersonRow) -> R<PersonView> {
    let family = match &row.family_id {
        Some(f) => db
            .query_opt(
                "SELECT f.kind, m.role, m.status, f.lead FROM memberships m JOIN families f ON f.id = m.family_id \
                 WHERE m.family_id = $1 AND m.person_id = $2",
                &[f, &row.id],
            )
            .map_err(db_err)?
            .map(|r| -> R<MembershipView> {
                let lead: Option<String> = r.get(3);
                Ok(MembershipView {
                    family: fid(f)?,
                    kind: r.get(0),
                    role: r.get(1),
                    status: r.get(2),
                    is_lead: lead.as_deref() == Some(row.id.as_str()),
                })
            })
            .transpose()?,
        None => None,
    };
    let records = db
        .query("SELECT source, record_id FROM person_records WHERE person_id = $1 ORDER BY is_primary DESC, source, record_id", &[&row.id])
        .map_err(db_err)?
        .iter()
        .map(|r| SourceRef { source: r.get(0), record_id: r.get(1) })
        .collect();
    let id = pid(&row.id)?;
    Ok(row.into_view(id, family, records))
}

fn person_by_id<C: GenericClient>(db: Db<'_, '_, C>, id: &str) -> R<Option<PersonRow>> {
    let sql = format!("SELECT {PERSON_COLS} FROM persons p WHERE p.id = $1");
    Ok(db.query_opt(&sql, &[&id]).map_err(db_err)?.as_ref().map(person_row))
}

pub fn person<C: GenericClient>(db: Db<'_, '_, C>, id: PersonId) -> R<Option<PersonView>> {
    match person_by_id(db, &id.to_string())? {
        Some(row) => view(db, row).map(Some),
        None => Ok(None),
    }
}

pub fn custody_history<C: GenericClient>(db: Db<'_, '_, C>, id: PersonId) -> R<Vec<CustodyEntry>> {
    let rows = db
        .query(
            "SELECT position, at, kind, agency, facility, detail FROM custody WHERE person_id = $1 ORDER BY position",
            &[&id.to_string()],
        )
        .map_err(db_err)?;
    Ok(rows
        .iter()
        .map(|r| CustodyEntry {
            position: r.get::<_, i64>(0) as u64,
            at: r.get(1),
            kind: r.get(2),
            agency: r.get(3),
            facility: r.get(4),
            detail: r.get(5),
        })
        .collect())
}

fn years_before(d: Date, years: i16) -> Option<Date> {
    d.checked_sub(jiff::Span::new().years(years)).ok()
}

pub fn search<C: GenericClient>(db: Db<'_, '_, C>, q: &SearchQuery) -> R<Vec<PersonView>> {
    let mut sql = format!("SELECT {PERSON_COLS} FROM persons p WHERE TRUE");
    // Every argument is text; `arg` returns its placeholder number.
    let mut args: Vec<String> = vec![];
    let mut arg = |v: String| {
        args.push(v);
        args.len()
    };
    if let Some(n) = &q.name {
        for t in name::tokens(n) {
            let i = arg(t);
            let _ = write!(sql, " AND EXISTS (SELECT 1 FROM person_names n WHERE n.token = ${i} AND n.person_id = p.id)");
        }
    }
    let today = q.age_on.unwrap_or_else(|| jiff::Zoned::now().date());
    if let Some(min) = q.min_age {
        // At least `min` years old: born on or before today − min years.
        if let Some(d) = years_before(today, min as i16) {
            let i = arg(d.to_string());
            let _ = write!(sql, " AND p.birth_date <= ${i}");
        }
    }
    if let Some(max) = q.max_age {
        // At most `max` years old: born after today − (max + 1) years.
        if let Some(d) = years_before(today, max as i16 + 1) {
            let i = arg(d.to_string());
            let _ = write!(sql, " AND p.birth_date > ${i}");
        }
    }
    if q.encountered_from.is_some() || q.encountered_to.is_some() {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM person_records ep JOIN encounters e ON e.key = ep.encounter_key WHERE ep.person_id = p.id",
        );
        if let Some(from) = q.encountered_from {
            let i = arg(from.to_string());
            let _ = write!(sql, " AND e.local_date >= ${i}");
        }
        if let Some(to) = q.encountered_to {
            let i = arg(to.to_string());
            let _ = write!(sql, " AND e.local_date <= ${i}");
        }
        sql.push(')');
    }
    if let Some(f) = q.family {
        let i = arg(f.to_string());
        let _ = write!(sql, " AND EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id AND m.family_id = ${i})");
    }
    let limit = if q.limit == 0 { 100 } else { q.limit };
    let _ = write!(sql, " ORDER BY p.family NULLS FIRST, p.given NULLS FIRST, p.id LIMIT {limit}");
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
    // Not cached: the text varies with the filters given.
    let rows = db.client.query(&sql, &params).map_err(db_err)?;
    rows.iter().map(person_row).collect::<Vec<_>>().into_iter().map(|r| view(db, r)).collect()
}

/// A brief from the separated-children tables' copy of a person's columns
/// (`migrate::BRIEF_COLS` less `aged_out`, then the id) starting at column `at`.
fn brief_at(r: &Row, at: usize) -> R<PersonBrief> {
    let id = pid(r.get(at + 8))?;
    let custody = CustodyNow { status: r.get(at + 4), agency: r.get(at + 5), facility: r.get(at + 6), since: r.get(at + 7) };
    Ok(PersonBrief::new(id, r.get(at), r.get(at + 1), r.get(at + 2), r.get(at + 3), custody))
}

/// Every child currently separated from a parent, as the SQLite backend
/// answers it: one query over the two separated-children tables, one row per
/// child and parent; whether the child is still a minor depends on `today`.
pub fn separated_children<C: GenericClient>(db: Db<'_, '_, C>, today: Date) -> R<Vec<SeparatedChild>> {
    let adult_cutoff = years_before(today, 18).map(|d| d.to_string()).unwrap_or_default();
    let rows = db
        .query(
            "SELECT c.family_id, c.separation_id, c.since, c.reason_code, c.policy, c.review, p.role, p.status, \
               c.given, c.family, c.birth_date, c.a_number, c.custody_status, c.custody_agency, c.custody_facility, c.custody_since, c.child_id, \
               p.given, p.family, p.birth_date, p.a_number, p.custody_status, p.custody_agency, p.custody_facility, p.custody_since, p.parent_id \
             FROM separated_children c JOIN separated_parents p ON p.family_id = c.family_id \
             WHERE NOT c.aged_out AND (c.birth_date IS NULL OR c.birth_date > $1) \
             ORDER BY c.since, c.child_id, c.family_id, p.parent_id",
            &[&adult_cutoff],
        )
        .map_err(db_err)?;
    let mut out: Vec<SeparatedChild> = vec![];
    for r in &rows {
        let family = fid(r.get(0))?;
        let child = brief_at(r, 8)?;
        let parent = SeparatedParent { role: r.get(6), status: r.get(7), person: brief_at(r, 17)? };
        match out.last_mut() {
            Some(last) if last.child.id == child.id && last.family == family => last.parents.push(parent),
            _ => out.push(SeparatedChild {
                child,
                family,
                separation: r.get(1),
                since: r.get(2),
                reason_code: r.get(3),
                policy: r.get(4),
                review: r.get(5),
                parents: vec![parent],
            }),
        }
    }
    Ok(out)
}

pub fn findings<C: GenericClient>(db: Db<'_, '_, C>, open_only: bool) -> R<Vec<FindingView>> {
    let sql = format!(
        "SELECT id, kind, message, record_source, record_id, resolution FROM findings {} ORDER BY position",
        if open_only { "WHERE resolution IS NULL" } else { "" }
    );
    let rows = db.query(&sql, &[]).map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.get(0);
        let subjects = db
            .query("SELECT subject FROM finding_subjects WHERE finding_id = $1 ORDER BY subject", &[&id])
            .map_err(db_err)?
            .iter()
            .map(|s| s.get(0))
            .collect();
        let record = match (r.get::<_, Option<String>>(3), r.get::<_, Option<String>>(4)) {
            (Some(source), Some(record_id)) => Some(SourceRef { source, record_id }),
            _ => None,
        };
        out.push(FindingView { id, kind: r.get(1), message: r.get(2), subjects, record, resolution: r.get(5) });
    }
    Ok(out)
}

/// Every projection row in a stable order, written exactly as the SQLite
/// backend writes its dump (`Text("…")`, `Integer(n)`, `Blob([…])`, `Null`;
/// booleans as 0/1, as SQLite stores them), so the two backends' dumps can be
/// compared.
pub fn dump<C: GenericClient>(db: Db<'_, '_, C>) -> R<String> {
    let mut out = String::new();
    for t in PROJECTION_TABLES {
        if *t == "person_names" {
            // As SQLite dumps its FTS name index: each (token, person), the
            // token as that index holds it (ASCII lowercased).
            let _ = writeln!(out, "## {t}");
            let sql = "SELECT lower(token), person_id FROM person_names ORDER BY 1, 2";
            for r in db.client.query(sql, &[]).map_err(db_err)? {
                let _ = writeln!(out, "{}|{}|", r.get::<_, String>(0), r.get::<_, String>(1));
            }
            continue;
        }
        let cols: Vec<String> = db
            .query(
                "SELECT data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[t],
            )
            .map_err(db_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let order = (1..=cols.len()).map(|i| format!("{i} NULLS FIRST")).collect::<Vec<_>>().join(", ");
        let rows = db.client.query(&format!("SELECT * FROM {t} ORDER BY {order}"), &[]).map_err(db_err)?;
        let _ = writeln!(out, "## {t}");
        for r in &rows {
            for (i, ty) in cols.iter().enumerate() {
                let v = match ty.as_str() {
                    "bigint" => r.try_get::<_, Option<i64>>(i).map(|v| v.map(|n| format!("Integer({n})"))),
                    "integer" => r.try_get::<_, Option<i32>>(i).map(|v| v.map(|n| format!("Integer({n})"))),
                    "boolean" => r.try_get::<_, Option<bool>>(i).map(|v| v.map(|b| format!("Integer({})", i32::from(b)))),
                    "bytea" => r.try_get::<_, Option<Vec<u8>>>(i).map(|v| v.map(|b| format!("Blob({b:?})"))),
                    _ => r.try_get::<_, Option<String>>(i).map(|v| v.map(|s| format!("Text({s:?})"))),
                }
                .map_err(db_err)?;
                out.push_str(v.as_deref().unwrap_or("Null"));
                out.push('|');
            }
            out.push('\n');
        }
    }
    Ok(out)
}
