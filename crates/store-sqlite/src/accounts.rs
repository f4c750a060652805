//! Accounts, sessions and API tokens in SQLite. Not part of the event log
//! (they are security state, not facts about people); changes to them are
//! recorded in the audit log by the layer that makes them.

use crate::{SqliteStore, db_err};
use kinship_store::StoreError;
use kinship_store::accounts::{Account, Accounts, ApiToken, SessionRecord};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS accounts (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    agency        TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_us    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash      TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES accounts (username),
    created_us   INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (username);
CREATE TABLE IF NOT EXISTS api_tokens (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    label       TEXT NOT NULL,
    agency      TEXT NOT NULL,
    role        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_us  INTEGER NOT NULL,
    revoked_us  INTEGER
);
"#;

fn ts(us: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(us).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn us(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}

const ACCOUNT_COLS: &str = "username, password_hash, agency, role, disabled, created_us";

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        username: r.get(0)?,
        password_hash: r.get(1)?,
        agency: r.get(2)?,
        role: r.get(3)?,
        disabled: r.get::<_, i64>(4)? != 0,
        created_at: ts(r.get(5)?),
    })
}

const TOKEN_COLS: &str = "id, secret_hash, label, agency, role, scopes, created_by, created_us, revoked_us";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ApiToken, String)> {
    Ok((
        ApiToken {
            id: r.get(0)?,
            secret_hash: r.get(1)?,
            label: r.get(2)?,
            agency: r.get(3)?,
            role: r.get(4)?,
            scopes: vec![],
            created_by: r.get(6)?,
            created_at: ts(r.get(7)?),
            revoked_at: r.get::<_, Option<i64>>(8)?.map(ts),
        },
        r.get(5)?,
    ))
}

fn with_scopes((mut t, scopes): (ApiToken, String)) -> Result<ApiToken, StoreError> {
    t.scopes = serde_json::from_str(&scopes).map_err(|e| StoreError::Backend(format!("token {} scopes do not parse: {e}", t.id)))?;
    Ok(t)
}

impl Accounts for SqliteStore {
    fn account_create(&self, a: &Account) -> Result<bool, StoreError> {
        let n = self
            .writer()?
            .execute(
                &format!("INSERT INTO accounts ({ACCOUNT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (username) DO NOTHING"),
                params![a.username, a.password_hash, a.agency, a.role, a.disabled as i64, us(a.created_at)],
            )
            .map_err(db_err)?;
        Ok(n == 1)
    }

    fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        self.reader()?
            .prepare_cached(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE username = ?1"))
            .and_then(|mut st| st.query_row(params![username], account_row).optional())
            .map_err(db_err)
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY username")).map_err(db_err)?;
        let rows = st.query_map([], account_row).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn account_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self.reader()?.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0)).map_err(db_err)?;
        Ok(n as u64)
    }

    fn account_set_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let n =
            tx.execute("UPDATE accounts SET password_hash = ?2 WHERE username = ?1", params![username, password_hash]).map_err(db_err)?;
        tx.execute("DELETE FROM sessions WHERE username = ?1", params![username]).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(n == 1)
    }

    fn account_set_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let n = tx.execute("UPDATE accounts SET disabled = ?2 WHERE username = ?1", params![username, disabled as i64]).map_err(db_err)?;
        if disabled {
            tx.execute("DELETE FROM sessions WHERE username = ?1", params![username]).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(n == 1)
    }

    fn session_create(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.writer()?
            .execute(
                "INSERT INTO sessions (id_hash, username, created_us, last_seen_us) VALUES (?1, ?2, ?3, ?4)",
                params![s.id_hash, s.username, us(s.created_at), us(s.last_seen)],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn session_touch(&self, id_hash: &str, now: jiff::Timestamp, idle_seconds: i64) -> Result<Option<SessionRecord>, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let found: Option<(String, i64, i64)> = tx
            .query_row("SELECT username, created_us, last_seen_us FROM sessions WHERE id_hash = ?1", params![id_hash], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(db_err)?;
        let Some((username, created, last)) = found else { return Ok(None) };
        if us(now) - last > idle_seconds.saturating_mul(1_000_000) {
            tx.execute("DELETE FROM sessions WHERE id_hash = ?1", params![id_hash]).map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            return Ok(None);
        }
        tx.execute("UPDATE sessions SET last_seen_us = ?2 WHERE id_hash = ?1", params![id_hash, us(now)]).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(Some(SessionRecord { id_hash: id_hash.into(), username, created_at: ts(created), last_seen: ts(us(now)) }))
    }

    fn session_end(&self, id_hash: &str) -> Result<bool, StoreError> {
        let n = self.writer()?.execute("DELETE FROM sessions WHERE id_hash = ?1", params![id_hash]).map_err(db_err)?;
        Ok(n == 1)
    }

    fn token_create(&self, t: &ApiToken) -> Result<bool, StoreError> {
        let scopes = serde_json::to_string(&t.scopes).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let n = self
            .writer()?
            .execute(
                &format!("INSERT INTO api_tokens ({TOKEN_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING"),
                params![t.id, t.secret_hash, t.label, t.agency, t.role, scopes, t.created_by, us(t.created_at), t.revoked_at.map(us)],
            )
            .map_err(db_err)?;
        Ok(n == 1)
    }

    fn token(&self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        let row = self
            .reader()?
            .prepare_cached(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = ?1"))
            .and_then(|mut st| st.query_row(params![id], token_row).optional())
            .map_err(db_err)?;
        row.map(with_scopes).transpose()
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_us, id")).map_err(db_err)?;
        let rows = st.query_map([], token_row).map_err(db_err)?;
        let mut out = vec![];
        for r in rows {
            out.push(with_scopes(r.map_err(db_err)?)?);
        }
        Ok(out)
    }

    fn token_revoke(&self, id: &str, at: jiff::Timestamp) -> Result<bool, StoreError> {
        let n = self
            .writer()?
            .execute("UPDATE api_tokens SET revoked_us = ?2 WHERE id = ?1 AND revoked_us IS NULL", params![id, us(at)])
            .map_err(db_err)?;
        Ok(n == 1)
    }
}
