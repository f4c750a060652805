//! The Kinship server: the JSON API and the HTML pages (`ui`) over HTTP (axum), its OpenAPI
//! description and Swagger UI (vendored), sessions and API tokens, metrics
//! and structured logs. This is the only crate that speaks HTTP; access
//! control and audit are enforced below it, in `kinship_app::service`.

pub mod auth;
pub mod client;
pub mod handlers;
pub mod load;
pub mod logs;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod reports;
pub mod server;
pub mod state;
pub mod ui;
pub mod worklist;

pub use server::{Backend, Options, Running, router, start, state};
