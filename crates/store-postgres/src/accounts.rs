//! Accounts, sessions and API tokens in PostgreSQL, as the SQLite backend
//! keeps them: hashes only, times to the microsecond.

use crate::PgStore;
use crate::conn::{Conn, Session, db_err};
use kinship_store::StoreError;
use kinship_store::accounts::{Account, Accounts, ApiToken, SessionRecord};
use postgres::Row;

fn ts(us: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(us).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn us(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}

const ACCOUNT_COLS: &str = "username, password_hash, agency, role, disabled, created_us";

fn account_row(r: &Row) -> Account {
    Account { username: r.get(0), password_hash: r.get(1), agency: r.get(2), role: r.get(3), disabled: r.get(4), created_at: ts(r.get(5)) }
}

const TOKEN_COLS: &str = "id, secret_hash, label, agency, role, scopes, created_by, created_us, revoked_us";

fn token_row(r: &Row) -> ApiToken {
    ApiToken {
        id: r.get(0),
        secret_hash: r.get(1),
        label: r.get(2),
        agency: r.get(3),
        role: r.get(4),
        scopes: r.get(5),
        created_by: r.get(6),
        created_at: ts(r.get(7)),
        revoked_at: r.get::<_, Option<i64>>(8).map(ts),
    }
}

/// Runs `f` in a transaction on a pooled connection.
fn in_tx<T>(
    store: &PgStore,
    f: impl FnOnce(&mut Session<'_, postgres::Transaction<'_>>) -> Result<T, postgres::Error>,
) -> Result<T, StoreError> {
    let mut conn = store.conn()?;
    let Conn { client, cache } = &mut *conn;
    let mut tx = client.transaction().map_err(db_err)?;
    let out = f(&mut Session::new(&mut tx, cache)).map_err(db_err)?;
    tx.commit().map_err(db_err)?;
    Ok(out)
}

impl Accounts for PgStore {
    fn account_create(&self, a: &Account) -> Result<bool, StoreError> {
        let sql = format!("INSERT INTO accounts ({ACCOUNT_COLS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING");
        self.read(|db| {
            db.exec(&sql, &[&a.username, &a.password_hash, &a.agency, &a.role, &a.disabled, &us(a.created_at)])
                .map(|n| n == 1)
                .map_err(db_err)
        })
    }

    fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE username = $1");
        self.read(|db| Ok(db.query_opt(&sql, &[&username]).map_err(db_err)?.as_ref().map(account_row)))
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY username");
        self.read(|db| Ok(db.query(&sql, &[]).map_err(db_err)?.iter().map(account_row).collect()))
    }

    fn account_count(&self) -> Result<u64, StoreError> {
        self.read(|db| Ok(db.query_one("SELECT count(*) FROM accounts", &[]).map_err(db_err)?.get::<_, i64>(0) as u64))
    }

    fn account_set_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        in_tx(self, |db| {
            let n = db.exec("UPDATE accounts SET password_hash = $2 WHERE username = $1", &[&username, &password_hash])?;
            db.exec("DELETE FROM sessions WHERE username = $1", &[&username])?;
            Ok(n == 1)
        })
    }

    fn account_set_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
        in_tx(self, |db| {
            let n = db.exec("UPDATE accounts SET disabled = $2 WHERE username = $1", &[&username, &disabled])?;
            if disabled {
                db.exec("DELETE FROM sessions WHERE username = $1", &[&username])?;
            }
            Ok(n == 1)
        })
    }

    fn session_create(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.read(|db| {
            db.exec(
                "INSERT INTO sessions (id_hash, username, created_us, last_seen_us) VALUES ($1, $2, $3, $4)",
                &[&s.id_hash, &s.username, &us(s.created_at), &us(s.last_seen)],
            )
            .map(|_| ())
            .map_err(db_err)
        })
    }

    fn session_touch(&self, id_hash: &str, now: jiff::Timestamp, idle_seconds: i64) -> Result<Option<SessionRecord>, StoreError> {
        in_tx(self, |db| {
            // FOR UPDATE: two requests touching one session take turns.
            let Some(r) =
                db.query_opt("SELECT username, created_us, last_seen_us FROM sessions WHERE id_hash = $1 FOR UPDATE", &[&id_hash])?
            else {
                return Ok(None);
            };
            let (username, created, last): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
            if us(now) - last > idle_seconds.saturating_mul(1_000_000) {
                db.exec("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])?;
                return Ok(None);
            }
            db.exec("UPDATE sessions SET last_seen_us = $2 WHERE id_hash = $1", &[&id_hash, &us(now)])?;
            Ok(Some(SessionRecord { id_hash: id_hash.into(), username, created_at: ts(created), last_seen: ts(us(now)) }))
        })
    }

    fn session_end(&self, id_hash: &str) -> Result<bool, StoreError> {
        self.read(|db| db.exec("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash]).map(|n| n == 1).map_err(db_err))
    }

    fn token_create(&self, t: &ApiToken) -> Result<bool, StoreError> {
        let sql = format!("INSERT INTO api_tokens ({TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING");
        self.read(|db| {
            db.exec(
                &sql,
                &[&t.id, &t.secret_hash, &t.label, &t.agency, &t.role, &t.scopes, &t.created_by, &us(t.created_at), &t.revoked_at.map(us)],
            )
            .map(|n| n == 1)
            .map_err(db_err)
        })
    }

    fn token(&self, id: &str) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1");
        self.read(|db| Ok(db.query_opt(&sql, &[&id]).map_err(db_err)?.as_ref().map(token_row)))
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_us, id");
        self.read(|db| Ok(db.query(&sql, &[]).map_err(db_err)?.iter().map(token_row).collect()))
    }

    fn token_revoke(&self, id: &str, at: jiff::Timestamp) -> Result<bool, StoreError> {
        self.read(|db| {
            db.exec("UPDATE api_tokens SET revoked_us = $2 WHERE id = $1 AND revoked_us IS NULL", &[&id, &us(at)])
                .map(|n| n == 1)
                .map_err(db_err)
        })
    }
}
