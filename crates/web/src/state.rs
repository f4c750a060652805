//! What every handler shares: the service (access control and audit live
//! there), the accounts store, metrics and the session settings.

use crate::metrics::Metrics;
use kinship_app::service::Service;
use kinship_store::{Accounts, Store};
use std::sync::Arc;

pub struct AppState {
    pub service: Service<Arc<dyn Store>>,
    pub accounts: Arc<dyn Accounts>,
    pub metrics: Metrics,
    /// Cookies get `Secure` when the server speaks TLS.
    pub secure_cookies: bool,
    /// A session unused for longer than this ends.
    pub idle_timeout_s: i64,
}

pub type Shared = Arc<AppState>;

/// Runs a synchronous store call on the blocking pool.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, crate::problem::Problem> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        crate::problem::Problem::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request's worker stopped; try again")
    })
}
