//! Building the router and running it, over plain TCP or TLS (rustls).

use crate::handlers as h;
use crate::metrics::{Metrics, track};
use crate::state::{AppState, Shared};
use axum::Router;
use axum::routing::{get, post};
use kinship_app::Engine;
use kinship_app::access::audit::AuditWriter;
use kinship_app::service::Service;
use kinship_domain::Profile;
use kinship_store::{Accounts, AuditLog, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// The three faces of one backend (SQLite now, PostgreSQL at merge): the
/// event store, the audit log and the accounts.
#[derive(Clone)]
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub audit: Arc<dyn AuditLog>,
    pub accounts: Arc<dyn Accounts>,
}

impl Backend {
    pub fn of<B: Store + AuditLog + Accounts + 'static>(b: B) -> Self {
        let b = Arc::new(b);
        Self { store: b.clone(), audit: b.clone(), accounts: b }
    }
}

pub struct Options {
    pub tls: Option<(PathBuf, PathBuf)>,
    pub idle_timeout_s: i64,
}

pub fn state(backend: Backend, profile: Profile, options: &Options) -> Shared {
    Arc::new(AppState {
        service: Service::new(Engine::new(backend.store, profile), AuditWriter::new(backend.audit)),
        accounts: backend.accounts,
        metrics: Metrics::default(),
        secure_cookies: options.tls.is_some(),
        idle_timeout_s: options.idle_timeout_s,
    })
}

pub fn router(state: Shared) -> Router {
    let api = Router::new()
        .route("/api/persons", get(h::search))
        .route("/api/persons/{id}", get(h::person))
        .route("/api/export", get(h::export))
        .route("/api/reports/separated-children", get(h::separated_children))
        .route("/api/reports/findings", get(crate::reports::findings))
        .route("/api/reports/clocks", get(crate::reports::clocks))
        .route("/api/commands", post(h::command))
        .route("/api/audit", get(h::audit))
        .route("/api/worklist", get(crate::worklist::list))
        .route("/api/worklist/{id}/confirm", post(crate::worklist::confirm))
        .route("/api/worklist/{id}/reject", post(crate::worklist::reject))
        .route("/api/worklist/{id}/unlink", post(crate::worklist::unlink))
        .route("/api/session", post(h::login).get(h::whoami).delete(h::logout))
        .route("/api/tokens", post(h::issue_token))
        .route("/api/tokens/{id}", axum::routing::delete(h::revoke_token))
        .route("/health", get(h::health))
        .route("/metrics", get(h::metrics));
    api.merge(crate::ui::routes())
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", crate::openapi::ApiDoc::openapi()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(RequestBodyLimitLayer::new(1 << 20))
        .with_state(state)
}

/// A running server: its address and the handle that stops it.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: axum_server::Handle,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds `listen` and serves in the background on the current runtime.
pub async fn start(listen: SocketAddr, state: Shared, tls: Option<(PathBuf, PathBuf)>) -> std::io::Result<Running> {
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = match tls {
        Some((cert, key)) => {
            // One process-wide crypto provider; a second install is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key).await?;
            let server = axum_server::from_tcp_rustls(listener, config).handle(handle.clone());
            tokio::spawn(async move { server.serve(app).await })
        }
        None => {
            let server = axum_server::from_tcp(listener).handle(handle.clone());
            tokio::spawn(async move { server.serve(app).await })
        }
    };
    Ok(Running { addr, handle, task })
}
