//! Connections: an r2d2 pool of `postgres` clients, each with its own cache
//! of prepared statements (the `postgres` crate prepares a `&str` query on
//! every call otherwise: one extra round trip per statement).

use kinship_store::StoreError;
use postgres::types::ToSql;
use postgres::{GenericClient, NoTls, Row, Statement};
use std::collections::HashMap;

pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A pooled connection and the statements prepared on it.
pub struct Conn {
    pub client: postgres::Client,
    pub cache: HashMap<String, Statement>,
}

pub struct Manager {
    pub config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn { client: self.config.connect(NoTls)?, cache: HashMap::new() })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

/// Turns a driver error into a store error. Only the server's message and
/// SQLSTATE are kept: a constraint failure's DETAIL can quote a whole row
/// (names, A-numbers), which must never reach a log.
pub fn db_err(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("PostgreSQL: {} (SQLSTATE {})", db.message(), db.code().code())),
        None => StoreError::Backend(format!("PostgreSQL: {e}")),
    }
}

/// A client (or a transaction) together with its connection's statement cache.
pub struct Session<'a, C: GenericClient> {
    pub client: &'a mut C,
    cache: &'a mut HashMap<String, Statement>,
}

impl<'a, C: GenericClient> Session<'a, C> {
    pub fn new(client: &'a mut C, cache: &'a mut HashMap<String, Statement>) -> Self {
        Self { client, cache }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.cache.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub fn exec(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params)
    }

    pub fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    pub fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_opt(&s, params)
    }

    pub fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_one(&s, params)
    }
}
