//! Upgrades of older on-disk formats whose changes are all in the
//! projections (formats 2 to 4 → 5): the projections are rebuilt from the
//! log, which is never rewritten.

use crate::{db_err, schema};
use kinship_store::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// The oldest format this version upgrades in place; older ones are refused.
pub const UPGRADABLE_FROM: i64 = 2;

/// Brings a store in format [`UPGRADABLE_FROM`]..[`schema::FORMAT`] up to
/// the current format. Every step since format 2 changed projections only
/// (new tables, dropped indexes, then 16-byte person and family keys), so
/// one rebuild from the log gives exactly the current projections, however
/// old they were. The rebuild is one transaction; a crash before the format
/// is recorded leaves a store that is rebuilt again on the next open.
pub fn upgrade(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    crate::rebuild::rebuild(conn, path, &mut |_| {})?;
    conn.execute_batch(&format!("PRAGMA user_version = {};", schema::FORMAT)).map_err(db_err)
}
