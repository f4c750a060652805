//! Migrations: numbered SQL files applied in order, each once, recorded in
//! `kinship_migrations`. They run as the role that will own the tables; the
//! application's role is then granted only what it needs (`grant_app_role`).

use crate::conn::db_err;
use kinship_store::StoreError;
use postgres::GenericClient;

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Fills `separated_children` for the families chosen by `$families` (an SQL
/// condition on `m.family_id`): the same rule as the SQLite backend's
/// `schema::FILL_SEPARATED_CHILDREN`. A child (by role) is listed when the
/// family has a parent and the child or a parent is separated; the separation
/// is the latest (by UTC time, then id) of the family that names the child or
/// a separated parent.
macro_rules! fill_separated_children {
    ($families:literal) => {
        concat!(
            "INSERT INTO separated_children (family_id, child_id, separation_id, since, reason_code, policy, review, \
               given, family, birth_date, a_number, custody_status, custody_agency, custody_facility, custody_since, aged_out) \
             SELECT x.family_id, x.child_id, s.id, s.at, s.reason_code, s.policy, s.review, \
               p.given, p.family, p.birth_date, p.a_number, p.custody_status, p.custody_agency, p.custody_facility, p.custody_since, p.aged_out \
             FROM ( \
               SELECT m.family_id AS family_id, m.person_id AS child_id, \
                 (SELECT s.id FROM separations s \
                   WHERE s.family_id = m.family_id AND EXISTS ( \
                     SELECT 1 FROM separation_members sm WHERE sm.separation_id = s.id AND ( \
                       sm.person_id = m.person_id OR EXISTS ( \
                         SELECT 1 FROM memberships pm WHERE pm.family_id = m.family_id AND pm.person_id = sm.person_id \
                           AND pm.status = 'separated' AND pm.role IN ('MOTHER', 'FATHER', 'LEGAL_GUARDIAN')))) \
                   ORDER BY s.at_utc DESC, s.id DESC LIMIT 1) AS separation_id \
               FROM memberships m \
               WHERE ",
            $families,
            " AND m.role IN ('SON', 'DAUGHTER', 'CHILD') AND m.status <> 'withdrawn' \
                 AND EXISTS (SELECT 1 FROM memberships pm WHERE pm.family_id = m.family_id AND pm.status <> 'withdrawn' \
                   AND pm.role IN ('MOTHER', 'FATHER', 'LEGAL_GUARDIAN') AND (pm.status = 'separated' OR m.status = 'separated')) \
             ) x \
             JOIN separations s ON s.id = x.separation_id \
             JOIN persons p ON p.id = x.child_id"
        )
    };
}

/// Fills `separated_parents` for the families chosen by `$families` (on
/// `m.family_id`) that have a child listed (as `schema::FILL_SEPARATED_PARENTS`).
macro_rules! fill_separated_parents {
    ($families:literal) => {
        concat!(
            "INSERT INTO separated_parents (family_id, parent_id, role, status, \
               given, family, birth_date, a_number, custody_status, custody_agency, custody_facility, custody_since, aged_out) \
             SELECT m.family_id, m.person_id, m.role, m.status, \
               p.given, p.family, p.birth_date, p.a_number, p.custody_status, p.custody_agency, p.custody_facility, p.custody_since, p.aged_out \
             FROM memberships m JOIN persons p ON p.id = m.person_id \
             WHERE ",
            $families,
            " AND m.role IN ('MOTHER', 'FATHER', 'LEGAL_GUARDIAN') AND m.status <> 'withdrawn' \
               AND EXISTS (SELECT 1 FROM separated_children sc WHERE sc.family_id = m.family_id)"
        )
    };
}

/// Recomputes one family's rows (`$1`), as the projector does.
pub const REFRESH_SEPARATED_CHILDREN: &str = fill_separated_children!("m.family_id = $1");
pub const REFRESH_SEPARATED_PARENTS: &str = fill_separated_parents!("m.family_id = $1");

/// The person columns the separated-children tables copy, in `persons`' names.
pub const BRIEF_COLS: &str =
    "given, family, birth_date, a_number, custody_status, custody_agency, custody_facility, custody_since, aged_out";

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "log", sql: include_str!("../migrations/0001_log.sql") },
    Migration { version: 2, name: "projections", sql: include_str!("../migrations/0002_projections.sql") },
    Migration { version: 3, name: "audit and accounts", sql: include_str!("../migrations/0003_audit_accounts.sql") },
    Migration {
        version: 4,
        name: "separated children",
        sql: concat!(
            include_str!("../migrations/0004_separated_children.sql"),
            fill_separated_children!("m.family_id IN (SELECT DISTINCT family_id FROM memberships WHERE status = 'separated')"),
            ";\n",
            fill_separated_parents!("m.family_id IN (SELECT DISTINCT family_id FROM separated_children)"),
            ";"
        ),
    },
    Migration { version: 5, name: "linkage worklist", sql: include_str!("../migrations/0005_worklist.sql") },
];

pub const LATEST: i32 = 5;

/// The log's tables (and the security tables). The application role may
/// read the logs and add to them; only heads and stream versions may move.
const LOG_GRANTS: &[(&str, &str)] = &[
    ("events", "SELECT, INSERT"),
    ("idempotency", "SELECT, INSERT"),
    ("log_head", "SELECT, UPDATE"),
    ("streams", "SELECT, INSERT, UPDATE"),
    ("kinship_migrations", "SELECT"),
    // The audit log, as the event log: read and append only.
    ("audit", "SELECT, INSERT"),
    ("audit_head", "SELECT, UPDATE"),
    // Accounts are disabled, never deleted; sessions end by deletion.
    ("accounts", "SELECT, INSERT, UPDATE"),
    ("sessions", "SELECT, INSERT, UPDATE, DELETE"),
    ("api_tokens", "SELECT, INSERT, UPDATE"),
];

pub use kinship_store::PROJECTION_TABLES;

/// An arbitrary constant: concurrent migrators of one database queue on it.
const MIGRATION_LOCK: i64 = 0x006b_696e_7368_6970; // "kinship"

pub fn current_version(c: &mut impl GenericClient) -> Result<i32, StoreError> {
    let exists: bool = c.query_one("SELECT to_regclass('kinship_migrations') IS NOT NULL", &[]).map_err(db_err)?.get(0);
    if !exists {
        return Ok(0);
    }
    Ok(c.query_one("SELECT COALESCE(max(version), 0) FROM kinship_migrations", &[]).map_err(db_err)?.get(0))
}

/// Quotes a role name as an SQL identifier (GRANT takes no parameters).
fn ident(name: &str) -> Result<String, StoreError> {
    if name.is_empty() || name.contains('\0') {
        return Err(StoreError::Invalid("the application role name is empty or contains a NUL byte".into()));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// Applies the missing migrations in one transaction and, when `app_role`
/// is given, sets that role's privileges to exactly what the application
/// needs. Returns the number of migrations applied.
pub fn migrate(client: &mut postgres::Client, app_role: Option<&str>) -> Result<usize, StoreError> {
    let mut tx = client.transaction().map_err(db_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(db_err)?;
    let current = current_version(&mut tx)?;
    if current > LATEST {
        return Err(newer(current));
    }
    if current == 0 {
        tx.batch_execute(
            "CREATE TABLE kinship_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .map_err(|e| explain_privileges(e, current))?;
    }
    let mut applied = 0;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(m.sql).map_err(|e| explain_privileges(e, current))?;
        tx.execute("INSERT INTO kinship_migrations (version, name) VALUES ($1, $2)", &[&m.version, &m.name]).map_err(db_err)?;
        applied += 1;
    }
    if let Some(role) = app_role {
        grant_app_role(&mut tx, role)?;
    }
    tx.commit().map_err(db_err)?;
    Ok(applied)
}

fn grant_app_role(tx: &mut postgres::Transaction<'_>, role: &str) -> Result<(), StoreError> {
    let role = ident(role)?;
    let schema: String = tx.query_one("SELECT current_schema()::text", &[]).map_err(db_err)?.get(0);
    let mut sql = format!("GRANT USAGE ON SCHEMA \"{}\" TO {role};\n", schema.replace('"', "\"\""));
    let all: Vec<&str> = LOG_GRANTS.iter().map(|(t, _)| *t).chain(PROJECTION_TABLES.iter().copied()).collect();
    // Exactly these privileges, whatever an earlier grant said.
    sql.push_str(&format!("REVOKE ALL ON {} FROM {role};\n", all.join(", ")));
    for (table, privileges) in LOG_GRANTS {
        sql.push_str(&format!("GRANT {privileges} ON {table} TO {role};\n"));
    }
    sql.push_str(&format!("GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON {} TO {role};\n", PROJECTION_TABLES.join(", ")));
    tx.batch_execute(&sql).map_err(db_err)
}

fn newer(found: i32) -> StoreError {
    StoreError::Backend(format!(
        "the database schema is at version {found}, newer than this kinship understands ({LATEST}); use a newer kinship"
    ))
}

fn explain_privileges(e: postgres::Error, current: i32) -> StoreError {
    if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
        return StoreError::Backend(format!(
            "the database schema is at version {current} and this kinship needs version {LATEST}, but the role it connected as \
             may not create tables: run `kinship migrate --database OWNER_URL --app-role ROLE` as the database owner"
        ));
    }
    db_err(e)
}

/// Checks the schema before use: migrates it if it is behind (this works
/// when the connecting role owns the schema), refuses if it is newer.
pub fn ensure_current(client: &mut postgres::Client) -> Result<(), StoreError> {
    let v = current_version(client)?;
    if v > LATEST {
        return Err(newer(v));
    }
    if v < LATEST {
        migrate(client, None)?;
    }
    Ok(())
}
