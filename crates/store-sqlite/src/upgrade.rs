//! In-place upgrades of older on-disk formats that only add projections:
//! the log is untouched, the new tables are filled from the others.

use crate::{db_err, schema};
use kinship_store::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// The oldest format this version upgrades in place; older ones are refused.
pub const UPGRADABLE_FROM: i64 = 2;

/// Brings a store in format [`UPGRADABLE_FROM`]..[`schema::FORMAT`] up to
/// the current format, in one transaction (a crash leaves it as it was).
pub fn upgrade(conn: &mut Connection, from: i64) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    if from < 3 {
        // 2 → 3: the separated-children tables, filled for every family with someone separated.
        tx.execute_batch(schema::PROJECTIONS).map_err(db_err)?;
        tx.execute_batch(schema::REPLAY_INDEXES).map_err(db_err)?;
        let all = "m.family_id IN (SELECT DISTINCT family_id FROM memberships WHERE status = 'separated')";
        tx.execute(&schema::FILL_SEPARATED_CHILDREN.replace("{families}", all), []).map_err(db_err)?;
        tx.execute(&schema::FILL_SEPARATED_PARENTS.replace("{families}", all), []).map_err(db_err)?;
        // Indexes nothing reads any more (the old separated-children query
        // read the first; nothing ever read the second).
        tx.execute_batch("DROP INDEX IF EXISTS memberships_status; DROP INDEX IF EXISTS finding_subjects_subject;").map_err(db_err)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {};", schema::FORMAT)).map_err(db_err)?;
    tx.commit().map_err(db_err)
}
