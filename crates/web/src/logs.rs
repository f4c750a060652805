//! Structured logs: one JSON object per line. What is logged is chosen in
//! code (route templates, status, timings, counts), never request paths,
//! queries or bodies, so personal data cannot reach the log.

use tracing_subscriber::fmt::MakeWriter;

/// Installs the global JSON subscriber writing to `writer`. `RUST_LOG`
/// overrides the default level (`info`). Returns false if one was already set.
pub fn init<W>(writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(writer).with_current_span(false).try_init().is_ok()
}
