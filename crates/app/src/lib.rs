//! Kinship's application layer: command handling over any [`Store`], import
//! and export of the interchange format, the data-quality checks that turn
//! what is wrong with a family into findings, and the demo scenario.

pub mod access;
pub mod demo;
pub mod engine;
pub mod error;
pub mod export;
pub mod import;
pub mod linkage;
pub mod quality;
pub mod report;
pub mod service;
pub mod service_reports;
pub mod story;
pub mod worklist;

pub use engine::{BatchOutcome, Engine, Outcome};
pub use error::AppError;
pub mod sweep;
