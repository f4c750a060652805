//! Scratch databases for `rebuild`: several threads write the projection
//! tables at once, each into a file of its own (one connection can only be
//! used by one thread, and the rebuild's transaction is one connection). The
//! rebuilding connection then attaches them and copies each table with
//! `INSERT INTO main.t SELECT * FROM part.t`: into an empty table of the same
//! definition, SQLite's transfer optimisation copies the stored records and
//! index entries as they are, in key order, without decoding or re-encoding
//! a column ([`copy`]; `copies_take_the_transfer_path` checks the plan).
//!
//! The files lie beside the store (same disk, no size limit of a tmpfs) and
//! are removed when the [`Scratch`] is dropped, whether the rebuild
//! succeeded or not; leftovers of a killed rebuild are removed by the next.

use crate::schema;
use kinship_store::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Page cache of each scratch connection (KiB): holds the largest table a
/// part writes on the issue-3 store (custody, ~32 MB) with its index pages.
const SCRATCH_CACHE_KIB: i64 = 131_072;

/// Scratch files a killed rebuild of an earlier version may have left.
const LEFT_BY_EARLIER: usize = 3;

/// The scratch files of one rebuild, removed when dropped.
pub struct Scratch {
    paths: Vec<PathBuf>,
}

/// The name a part is attached under.
pub fn schema_name(part: usize) -> String {
    format!("rebuild_part_{part}")
}

impl Scratch {
    /// `parts` scratch files beside the database file `db`
    /// (`kinship.db.rebuild-0` …), any left by an earlier rebuild removed.
    pub fn new(db: &Path, parts: usize) -> Result<Self, StoreError> {
        let name = db.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "kinship.db".into());
        let path = |k: usize| db.with_file_name(format!("{name}.rebuild-{k}"));
        // Also the parts an earlier version wrote more of (session 6: three).
        for k in 0..parts.max(LEFT_BY_EARLIER) {
            let p = path(k);
            remove(&p).map_err(|e| StoreError::Backend(format!("cannot remove the old rebuild file {}: {e}", p.display())))?;
        }
        Ok(Self { paths: (0..parts).map(path).collect() })
    }

    pub fn path(&self, part: usize) -> &Path {
        &self.paths[part]
    }

    /// Opens part `part`'s file for writing: no journal and no syncs (a
    /// scratch file that a crash leaves half-written is simply made again),
    /// the projection tables created empty.
    pub fn open(&self, part: usize) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            self.path(part),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; \
             PRAGMA cache_size = -{SCRATCH_CACHE_KIB}; PRAGMA temp_store = MEMORY;"
        ))?;
        conn.execute_batch(schema::PROJECTIONS)?;
        Ok(conn)
    }

    /// Writes part `part` in one transaction with `write`, then builds the
    /// secondary indexes (after the rows: one sort each, not a B-tree insert
    /// per row). The connection is closed on return, so the file is complete
    /// and unlocked for the rebuilding connection.
    pub fn write_part(&self, part: usize, write: impl FnOnce(&Connection) -> rusqlite::Result<()>) -> Result<(), StoreError> {
        let path = self.path(part);
        let fail = |e: rusqlite::Error| StoreError::Backend(format!("rebuild: cannot write the scratch file {}: {e}", path.display()));
        let mut conn = self.open(part).map_err(fail)?;
        let tx = conn.transaction().map_err(fail)?;
        write(&tx).map_err(fail)?;
        tx.execute_batch(schema::PROJECTION_INDEXES).map_err(fail)?;
        tx.commit().map_err(fail)?;
        conn.close().map_err(|(_, e)| fail(e))
    }

    /// Attaches every part to `conn` (inside its transaction: SQLite allows
    /// it) under [`schema_name`].
    pub fn attach(&self, conn: &Connection) -> Result<(), StoreError> {
        for (k, p) in self.paths.iter().enumerate() {
            let file = p.to_str().ok_or_else(|| StoreError::Backend(format!("the data directory's path {} is not UTF-8", p.display())))?;
            conn.execute("ATTACH DATABASE ?1 AS ?2", rusqlite::params![file, schema_name(k)])
                .map_err(|e| StoreError::Backend(format!("rebuild: cannot attach the scratch file {}: {e}", p.display())))?;
        }
        Ok(())
    }

    /// Detaches whichever parts are attached to `conn` (after its
    /// transaction ended: an attached file in use cannot be detached).
    pub fn detach(&self, conn: &Connection) {
        for k in 0..self.paths.len() {
            // Not attached (the rebuild failed before) is not an error here.
            let _ = conn.execute("DETACH DATABASE ?1", [schema_name(k)]);
        }
    }
}

/// The statement copying `table` from part `part` into the main database.
pub fn copy_sql(part: usize, table: &str) -> String {
    format!("INSERT INTO main.{table} SELECT * FROM {}.{table}", schema_name(part))
}

/// Copies `table` from part `part` into the (empty) main table.
pub fn copy(conn: &Connection, part: usize, table: &str) -> Result<(), StoreError> {
    conn.execute_batch(&copy_sql(part, table))
        .map_err(|e| StoreError::Backend(format!("rebuild: cannot copy {table} from its scratch file: {e}")))
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.paths {
            // Nothing to report to: a file left behind is removed by the next rebuild.
            let _ = remove(p);
        }
    }
}

/// Removes a scratch file and any journal SQLite may have left beside it.
fn remove(p: &Path) -> std::io::Result<()> {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut name = p.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
