//! WAL checkpoints off the request path, for the server.
//!
//! Why: with SQLite's automatic checkpoint, the commit that pushes the WAL
//! past 1,000 pages copies them into the database file and fsyncs both files
//! before it returns. A command writes ~45 WAL pages (log, projections, full
//! text index, audit), so one command in ~20 paid for a checkpoint, and every
//! request queued behind it waited too: at 500 commands/s that was the whole
//! p99 (BENCHMARKS.md, "Command latency tail").
//!
//! Here the writer never checkpoints. A thread with its own connection runs
//! PASSIVE checkpoints (they copy committed pages without taking the write
//! lock) as long as there are pages to copy. A PASSIVE checkpoint cannot
//! finish while commits keep arriving, and SQLite only rewinds the WAL to its
//! start when a writer finds it fully copied, so under steady load the WAL
//! would grow without bound (and every page lookup with it). So once the WAL
//! is long and the copy has almost caught up, the thread holds the writer
//! for the last few pages: the checkpoint completes and the next commit
//! rewinds the WAL. That short hold (a few hundred pages and the fsyncs) is
//! the only stall commands see, once per `restart_frames` pages written.
//! Should the thread fall behind anyway (a write burst larger than it can
//! copy), SQLite's own checkpoint still runs in the writer at four times
//! that length, as a bound.

use crate::db_err;
use kinship_store::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// When the checkpointer holds the writer to finish a checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct CheckpointPolicy {
    /// Frames in the WAL before it is worth rewinding (32 MB at 4 KB pages,
    /// under the 64 MB `journal_size_limit`, so a rewind never truncates).
    pub restart_frames: i64,
    /// At most this many frames left to copy when the writer is held.
    pub catch_up_frames: i64,
    /// Pause when there is nothing to copy.
    pub idle: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self { restart_frames: 8_192, catch_up_frames: 256, idle: Duration::from_millis(10) }
    }
}

/// What the checkpointer has done (for tests and metrics).
#[derive(Debug, Default)]
pub struct CheckpointStats {
    pub checkpoints: AtomicU64,
    /// Checkpoints that copied a long WAL in full (holding the writer for the
    /// last pages when commits kept coming): the next commit rewinds the WAL.
    pub completions: AtomicU64,
    /// What the last checkpoint saw: frames in the WAL, and frames not yet copied.
    pub wal_frames: AtomicI64,
    pub behind: AtomicI64,
}

pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    pub(crate) stats: Arc<CheckpointStats>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path, writer: Weak<Mutex<Connection>>, policy: CheckpointPolicy) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(db_err)?;
        conn.execute_batch("PRAGMA busy_timeout = 10000;").map_err(db_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(CheckpointStats::default());
        let (s, st) = (stop.clone(), stats.clone());
        let handle = std::thread::Builder::new()
            .name("kinship-checkpoint".into())
            .spawn(move || run(&conn, &writer, policy, &s, &st))
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self { stop, handle: Some(handle), stats })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// What one PASSIVE checkpoint found.
enum Pass {
    /// `log` frames in the WAL, `done` of them copied.
    Ran { log: i64, done: i64 },
    /// Another connection was checkpointing: try again later.
    Busy,
}

/// `None` when the checkpoint failed (the thread then stops: the writer
/// still works, its own checkpoint bound still applies, and SQLite
/// checkpoints when the last connection closes).
fn passive(conn: &Connection) -> Option<Pass> {
    let (busy, log, done): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).ok()?;
    Some(if busy != 0 || log < 0 { Pass::Busy } else { Pass::Ran { log, done } })
}

fn run(conn: &Connection, writer: &Weak<Mutex<Connection>>, policy: CheckpointPolicy, stop: &AtomicBool, stats: &CheckpointStats) {
    // The WAL length at the last complete copy (so that an idle WAL, copied
    // long ago, is not counted again).
    let mut copied = -1;
    while !stop.load(Ordering::Relaxed) {
        let (log, done) = match passive(conn) {
            Some(Pass::Ran { log, done }) => (log, done),
            Some(Pass::Busy) => {
                std::thread::sleep(policy.idle);
                continue;
            }
            None => return,
        };
        let behind = log - done;
        stats.wal_frames.store(log, Ordering::Relaxed);
        stats.behind.store(behind, Ordering::Relaxed);
        stats.checkpoints.fetch_add(1, Ordering::Relaxed);
        if behind == 0 {
            if log >= policy.restart_frames && log != copied {
                stats.completions.fetch_add(1, Ordering::Relaxed);
            }
            copied = log;
        } else if behind > policy.catch_up_frames {
            continue; // a backlog: copy on at once
        } else if log >= policy.restart_frames {
            let Some(w) = writer.upgrade() else { return };
            // Holding the writer's mutex keeps commits out, so this
            // checkpoint copies everything and the next commit rewinds.
            let held = w.lock();
            if let Some(Pass::Ran { log, done }) = passive(conn)
                && log == done
            {
                stats.completions.fetch_add(1, Ordering::Relaxed);
                copied = log;
            }
            drop(held);
        }
        // Otherwise a short WAL: let a few pages gather, each checkpoint costs two fsyncs.
        std::thread::sleep(policy.idle);
    }
}
