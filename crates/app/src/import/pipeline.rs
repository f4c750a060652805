//! The import's second thread: it appends one chunk (`Store::append`, one
//! transaction: log, hashes, projections) while the importer checks and
//! decides the next. At most one chunk is in flight, so the importer only
//! has to remember the facts of that one chunk until it commits.

use crate::error::AppError;
use kinship_store::{Append, Encoded, Store, StoreError};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// The importer's end of the appending thread.
pub struct Appender {
    to: SyncSender<(Vec<Append>, Option<Encoded>)>,
    done: Receiver<Result<(), StoreError>>,
    busy: bool,
}

/// What a failed append tells the person running the import.
pub fn append_error(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict { .. } => AppError::Input(format!(
            "{e}. Another writer changed the record during the import; run the import again: rows already loaded are skipped as unchanged"
        )),
        other => other.into(),
    }
}

impl Appender {
    /// Starts the appending thread in `scope`; it ends when the `Appender`
    /// is dropped (after finishing the chunk it holds).
    pub fn start<'scope, 'env, S: Store>(scope: &'scope std::thread::Scope<'scope, 'env>, store: &'env S) -> Self {
        let (to, batches) = sync_channel::<(Vec<Append>, Option<Encoded>)>(1);
        let (results, done) = sync_channel::<Result<(), StoreError>>(1);
        scope.spawn(move || {
            for (batch, encoded) in batches {
                let r = store.append_encoded(&batch, encoded).map(|_| ());
                // Freed here, on this thread: the importer's thread goes on deciding.
                drop(batch);
                if results.send(r).is_err() {
                    break;
                }
            }
        });
        Self { to, done, busy: false }
    }

    /// Hands a chunk to the thread, with what [`Store::encode`] made of it.
    /// Call [`Appender::wait`] first: one chunk at a time.
    pub fn send(&mut self, batch: Vec<Append>, encoded: Option<Encoded>) -> Result<(), AppError> {
        self.to
            .send((batch, encoded))
            .map_err(|_| AppError::Store(StoreError::Backend("the import's append thread has stopped".into())))?;
        self.busy = true;
        Ok(())
    }

    /// Waits until the chunk in flight (if any) is committed.
    pub fn wait(&mut self) -> Result<(), AppError> {
        if !self.busy {
            return Ok(());
        }
        self.busy = false;
        match self.done.recv() {
            Ok(r) => r.map_err(append_error),
            Err(_) => Err(AppError::Store(StoreError::Backend("the import's append thread has stopped".into()))),
        }
    }
}
