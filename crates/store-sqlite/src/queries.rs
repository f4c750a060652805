//! Read queries over the projections.

use crate::{Key, db_err, key_uuid};
use jiff::civil::Date;
use kinship_domain::person::SourceRef;
use kinship_domain::{ANumber, FamilyId, PersonId, name};
use kinship_store::{
    CustodyEntry, CustodyNow, FindingView, MembershipView, PersonBrief, PersonRow, PersonView, SearchQuery, SeparatedChild,
    SeparatedParent, StoreError,
};
use rusqlite::{Connection, OptionalExtension, params};

type R<T> = Result<T, StoreError>;

/// A person id column (16 bytes) of a row.
fn pid(r: &rusqlite::Row<'_>, i: usize) -> R<PersonId> {
    key_uuid(r.get_ref(i).map_err(db_err)?, "person").map(PersonId)
}

/// A family id column (16 bytes) of a row.
fn fid(r: &rusqlite::Row<'_>, i: usize) -> R<FamilyId> {
    key_uuid(r.get_ref(i).map_err(db_err)?, "family").map(FamilyId)
}

/// Person ids, the first column of every row of `rows`.
fn pids(mut rows: rusqlite::Rows<'_>) -> R<Vec<PersonId>> {
    let mut out = vec![];
    while let Some(r) = rows.next().map_err(db_err)? {
        out.push(pid(r, 0)?);
    }
    Ok(out)
}

pub fn person_by_record(conn: &Connection, r: &SourceRef) -> R<Option<PersonId>> {
    let mut st = conn.prepare_cached("SELECT person_id FROM person_records WHERE source = ?1 AND record_id = ?2").map_err(db_err)?;
    Ok(pids(st.query(params![r.source, r.record_id]).map_err(db_err)?)?.pop())
}

pub fn persons_by_a_number(conn: &Connection, a: &ANumber) -> R<Vec<PersonId>> {
    let mut st = conn.prepare_cached("SELECT id FROM persons WHERE a_number = ?1 ORDER BY id").map_err(db_err)?;
    pids(st.query(params![a.as_str()]).map_err(db_err)?)
}

pub fn family_by_source(conn: &Connection, f: &SourceRef) -> R<Option<FamilyId>> {
    let mut st = conn.prepare_cached("SELECT id FROM families WHERE source = ?1 AND source_family_id = ?2").map_err(db_err)?;
    let mut rows = st.query(params![f.source, f.record_id]).map_err(db_err)?;
    rows.next().map_err(db_err)?.map(|r| fid(r, 0)).transpose()
}

/// The import's lookups for a whole chunk in one read transaction: each
/// autocommit read takes and drops SQLite's shared lock and revalidates the
/// page cache, which cost more than the index lookups themselves.
pub fn lookup_many(conn: &Connection, records: &[&SourceRef], a_numbers: &[&ANumber], families: &[&SourceRef]) -> R<kinship_store::Known> {
    let mut known = kinship_store::Known::default();
    if records.is_empty() && a_numbers.is_empty() && families.is_empty() {
        return Ok(known);
    }
    // A reader's transaction: dropped (rolled back) on every path, it never writes.
    let tx = conn.unchecked_transaction().map_err(db_err)?;
    {
        let mut by_record =
            tx.prepare_cached("SELECT person_id FROM person_records WHERE source = ?1 AND record_id = ?2").map_err(db_err)?;
        for r in records {
            if let Some(id) = pids(by_record.query(params![r.source, r.record_id]).map_err(db_err)?)?.pop() {
                known.records.insert((*r).clone(), id);
            }
        }
    }
    for a in a_numbers {
        let found = persons_by_a_number(&tx, a)?;
        if !found.is_empty() {
            known.a_numbers.insert((*a).clone(), found);
        }
    }
    for f in families {
        if let Some(id) = family_by_source(&tx, f)? {
            known.families.insert((*f).clone(), id);
        }
    }
    drop(tx);
    Ok(known)
}

pub fn persons_in_encounter(conn: &Connection, key: &str) -> R<Vec<PersonId>> {
    let mut st =
        conn.prepare_cached("SELECT DISTINCT person_id FROM person_records WHERE encounter_key = ?1 ORDER BY person_id").map_err(db_err)?;
    pids(st.query(params![key]).map_err(db_err)?)
}

const PERSON_COLS: &str = "p.id, p.given, p.family, p.birth_date, p.birth_estimated, p.sex, p.citizenship, p.a_number, \
    p.first_encountered, p.custody_status, p.custody_agency, p.custody_facility, p.custody_since, p.family_id, p.aged_out";

/// A person's row; its id and family id as users see them (`P-…`, `F-…`).
fn person_row(r: &rusqlite::Row<'_>) -> R<PersonRow> {
    let family_id = match r.get_ref(13).map_err(db_err)? {
        rusqlite::types::ValueRef::Null => None,
        _ => Some(fid(r, 13)?.to_string()),
    };
    person_row_with(r, pid(r, 0)?.to_string(), family_id).map_err(db_err)
}

fn person_row_with(r: &rusqlite::Row<'_>, id: String, family_id: Option<String>) -> rusqlite::Result<PersonRow> {
    Ok(PersonRow {
        id,
        given: r.get(1)?,
        family: r.get(2)?,
        birth: r.get(3)?,
        estimated: r.get(4)?,
        sex: r.get(5)?,
        citizenship: r.get(6)?,
        a_number: r.get(7)?,
        first: r.get(8)?,
        custody: CustodyNow { status: r.get(9)?, agency: r.get(10)?, facility: r.get(11)?, since: r.get(12)? },
        family_id,
        aged_out: r.get(14)?,
    })
}

fn view(conn: &Connection, row: PersonRow) -> R<PersonView> {
    let id = PersonId::parse(&row.id).ok_or_else(|| StoreError::Backend(format!("bad person id: {}", row.id)))?;
    let family_id = row.family_id.as_deref().map(|f| FamilyId::parse(f).ok_or_else(|| StoreError::Backend(format!("bad family id: {f}"))));
    let family = match family_id.transpose()? {
        Some(f) => conn
            .prepare_cached(
                "SELECT f.kind, m.role, m.status, f.lead FROM memberships m JOIN families f ON f.id = m.family_id \
                 WHERE m.family_id = ?1 AND m.person_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![f.key(), id.key()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<Vec<u8>>>(3)?))
                })
                .optional()
            })
            .map_err(db_err)?
            .map(|(kind, role, status, lead)| MembershipView { family: f, kind, role, status, is_lead: lead.as_deref() == Some(id.key()) }),
        None => None,
    };
    let mut st = conn
        .prepare_cached("SELECT source, record_id FROM person_records WHERE person_id = ?1 ORDER BY is_primary DESC, source, record_id")
        .map_err(db_err)?;
    let records = st
        .query_map(params![id.key()], |r| Ok(SourceRef { source: r.get(0)?, record_id: r.get(1)? }))
        .map_err(db_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err)?;
    Ok(row.into_view(id, family, records))
}

pub fn person(conn: &Connection, id: PersonId) -> R<Option<PersonView>> {
    let mut st = conn.prepare_cached(&format!("SELECT {PERSON_COLS} FROM persons p WHERE p.id = ?1")).map_err(db_err)?;
    let mut rows = st.query(params![id.key()]).map_err(db_err)?;
    let row = rows.next().map_err(db_err)?.map(person_row).transpose()?;
    drop(rows);
    row.map(|r| view(conn, r)).transpose()
}

pub fn custody_history(conn: &Connection, id: PersonId) -> R<Vec<CustodyEntry>> {
    let mut st = conn
        .prepare_cached("SELECT position, at, kind, agency, facility, detail FROM custody WHERE person_id = ?1 ORDER BY position")
        .map_err(db_err)?;
    let rows = st
        .query_map(params![id.key()], |r| {
            Ok(CustodyEntry {
                position: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                kind: r.get(2)?,
                agency: r.get(3)?,
                facility: r.get(4)?,
                detail: r.get(5)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

fn years_before(d: Date, years: i16) -> Option<Date> {
    d.checked_sub(jiff::Span::new().years(years)).ok()
}

pub fn search(conn: &Connection, q: &SearchQuery) -> R<Vec<PersonView>> {
    let mut sql = format!("SELECT {PERSON_COLS} FROM persons p WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = vec![];
    let arg = |v: String, args: &mut Vec<rusqlite::types::Value>| {
        args.push(rusqlite::types::Value::Text(v));
        args.len()
    };
    if let Some(n) = &q.name {
        // Every token must be one of the person's name tokens. Folded tokens
        // are letters and digits only, so quoting them is safe.
        let tokens = name::tokens(n);
        if !tokens.is_empty() {
            let query = tokens.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(" ");
            let i = arg(query, &mut args);
            sql.push_str(&format!(" AND p.num IN (SELECT rowid FROM person_names WHERE person_names MATCH ?{i})"));
        }
    }
    let today = q.age_on.unwrap_or_else(|| jiff::Zoned::now().date());
    if let Some(min) = q.min_age {
        // At least `min` years old: born on or before today − min years.
        if let Some(d) = years_before(today, min as i16) {
            let i = arg(d.to_string(), &mut args);
            sql.push_str(&format!(" AND p.birth_date <= ?{i}"));
        }
    }
    if let Some(max) = q.max_age {
        // At most `max` years old: born after today − (max + 1) years.
        if let Some(d) = years_before(today, max as i16 + 1) {
            let i = arg(d.to_string(), &mut args);
            sql.push_str(&format!(" AND p.birth_date > ?{i}"));
        }
    }
    if q.encountered_from.is_some() || q.encountered_to.is_some() {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM person_records ep JOIN encounters e ON e.key = ep.encounter_key WHERE ep.person_id = p.id",
        );
        if let Some(from) = q.encountered_from {
            let i = arg(from.to_string(), &mut args);
            sql.push_str(&format!(" AND e.local_date >= ?{i}"));
        }
        if let Some(to) = q.encountered_to {
            let i = arg(to.to_string(), &mut args);
            sql.push_str(&format!(" AND e.local_date <= ?{i}"));
        }
        sql.push(')');
    }
    if let Some(f) = q.family {
        args.push(rusqlite::types::Value::Blob(f.key().to_vec()));
        let i = args.len();
        sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id AND m.family_id = ?{i})"));
    }
    let limit = if q.limit == 0 { 100 } else { q.limit };
    sql.push_str(&format!(" ORDER BY p.family, p.given, p.id LIMIT {limit}"));
    let mut st = conn.prepare(&sql).map_err(db_err)?;
    let mut found = st.query(rusqlite::params_from_iter(args)).map_err(db_err)?;
    let mut rows: Vec<PersonRow> = vec![];
    while let Some(r) = found.next().map_err(db_err)? {
        rows.push(person_row(r)?);
    }
    drop(found);
    rows.into_iter().map(|r| view(conn, r)).collect()
}

/// A brief from the separated-children tables' copy of a person's columns
/// (`schema::BRIEF_COLS` less `aged_out`, then the id) starting at column `at`.
fn brief_at(r: &rusqlite::Row<'_>, at: usize) -> R<PersonBrief> {
    let get = |i: usize| r.get::<_, Option<String>>(at + i).map_err(db_err);
    let id = pid(r, at + 8)?;
    let custody = CustodyNow { status: r.get(at + 4).map_err(db_err)?, agency: get(5)?, facility: get(6)?, since: get(7)? };
    Ok(PersonBrief::new(id, get(0)?.as_deref(), get(1)?.as_deref(), get(2)?, get(3)?, custody))
}

/// Every child currently separated from a parent: the child or the parent is
/// separated from the family they were recorded in, and not yet reunified.
/// One query over the two separated-children tables (see `schema.rs`), one
/// row per child and parent; whether the child is still a minor is decided
/// here (it depends on `today`).
pub fn separated_children(conn: &Connection, today: Date) -> R<Vec<SeparatedChild>> {
    let adult_cutoff = years_before(today, 18).map(|d| d.to_string()).unwrap_or_default();
    let mut st = conn
        .prepare_cached(
            "SELECT c.family_id, c.separation_id, c.since, c.reason_code, c.policy, c.review, p.role, p.status, \
               c.given, c.family, c.birth_date, c.a_number, c.custody_status, c.custody_agency, c.custody_facility, c.custody_since, c.child_id, \
               p.given, p.family, p.birth_date, p.a_number, p.custody_status, p.custody_agency, p.custody_facility, p.custody_since, p.parent_id \
             FROM separated_children c JOIN separated_parents p ON p.family_id = c.family_id \
             WHERE c.aged_out = 0 AND (c.birth_date IS NULL OR c.birth_date > ?1) \
             ORDER BY c.since, c.child_id, c.family_id, p.parent_id",
        )
        .map_err(db_err)?;
    let mut rows = st.query(params![adult_cutoff]).map_err(db_err)?;
    let mut out: Vec<SeparatedChild> = vec![];
    while let Some(r) = rows.next().map_err(db_err)? {
        let family = fid(r, 0)?;
        let child = brief_at(r, 8)?;
        let parent = SeparatedParent { role: r.get(6).map_err(db_err)?, status: r.get(7).map_err(db_err)?, person: brief_at(r, 17)? };
        match out.last_mut() {
            Some(last) if last.child.id == child.id && last.family == family => last.parents.push(parent),
            _ => out.push(SeparatedChild {
                child,
                family,
                separation: r.get(1).map_err(db_err)?,
                since: r.get(2).map_err(db_err)?,
                reason_code: r.get(3).map_err(db_err)?,
                policy: r.get(4).map_err(db_err)?,
                review: r.get(5).map_err(db_err)?,
                parents: vec![parent],
            }),
        }
    }
    Ok(out)
}

pub fn findings(conn: &Connection, open_only: bool) -> R<Vec<FindingView>> {
    let sql = format!(
        "SELECT id, kind, message, record_source, record_id, resolution FROM findings {} ORDER BY position",
        if open_only { "WHERE resolution IS NULL" } else { "" }
    );
    let mut st = conn.prepare(&sql).map_err(db_err)?;
    type FindingRow = (String, String, String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<FindingRow> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let mut subj = conn.prepare_cached("SELECT subject FROM finding_subjects WHERE finding_id = ?1 ORDER BY subject").map_err(db_err)?;
    let mut out = vec![];
    for (id, kind, message, src, rid, resolution) in rows {
        let subjects: Vec<String> = subj.query_map(params![id], |r| r.get(0)).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
        let record = match (src, rid) {
            (Some(source), Some(record_id)) => Some(SourceRef { source, record_id }),
            _ => None,
        };
        out.push(FindingView { id, kind, message, subjects, record, resolution });
    }
    Ok(out)
}

pub fn dump(conn: &Connection) -> R<String> {
    let mut out = String::new();
    for t in crate::schema::PROJECTION_TABLES {
        if *t == "person_names" {
            dump_names(conn, &mut out)?;
            continue;
        }
        let cols: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"))
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(db_err)?;
        let order = (1..=cols.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let mut st = conn.prepare(&format!("SELECT * FROM {t} ORDER BY {order}")).map_err(db_err)?;
        let rows = st
            .query_map([], |r| {
                let mut line = String::new();
                for (i, col) in cols.iter().enumerate() {
                    let v: rusqlite::types::Value = r.get(i)?;
                    line.push_str(&format!("{:?}|", as_users_see_it(t, col, v)));
                }
                Ok(line)
            })
            .map_err(db_err)?;
        out.push_str(&format!("## {t}\n"));
        for r in rows {
            out.push_str(&r.map_err(db_err)?);
            out.push('\n');
        }
    }
    Ok(out)
}

/// A person or family key as users (and the PostgreSQL backend) see it:
/// `P-…`/`F-…` text instead of its 16 stored bytes, so dumps of both
/// backends compare as text.
fn as_users_see_it(table: &str, col: &str, v: rusqlite::types::Value) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    let prefix = match (table, col) {
        ("persons", "id") | (_, "person_id" | "child_id" | "parent_id" | "lead") => "P",
        ("families", "id") | (_, "family_id") => "F",
        _ => return v,
    };
    match &v {
        Value::Blob(b) => match uuid::Uuid::from_slice(b) {
            Ok(id) => Value::Text(format!("{prefix}-{id}")),
            Err(_) => v,
        },
        _ => v,
    }
}

/// The name index holds no readable rows (it is contentless): dump which
/// person each token points to instead.
fn dump_names(conn: &Connection, out: &mut String) -> R<()> {
    conn.execute_batch("CREATE VIRTUAL TABLE IF NOT EXISTS temp.person_name_terms USING fts5vocab(main, person_names, instance);")
        .map_err(db_err)?;
    let mut st = conn
        .prepare("SELECT t.term, p.id FROM temp.person_name_terms t JOIN persons p ON p.num = t.doc ORDER BY t.term, p.id")
        .map_err(db_err)?;
    let rows = st
        .query_map([], |r| {
            let id = match as_users_see_it("persons", "id", r.get(1)?) {
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            };
            Ok(format!("{}|{id}|", r.get::<_, String>(0)?))
        })
        .map_err(db_err)?;
    out.push_str("## person_names\n");
    for r in rows {
        out.push_str(&r.map_err(db_err)?);
        out.push('\n');
    }
    Ok(())
}
