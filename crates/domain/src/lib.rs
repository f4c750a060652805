//! Kinship's pure core.
//!
//! Everything here is deterministic and free of IO: commands are validated as
//! typed values, [`decide`] turns a command plus the current state into events
//! or a [`DomainError`] naming the broken rule, and [`evolve`] folds events
//! into state. Access control (which role may issue which command) is checked
//! inside [`decide`], so no caller can bypass it.

pub mod actor;
pub mod anumber;
pub mod classify;
pub mod clocks;
pub mod command;
pub mod decide;
mod decide_link;
pub mod error;
pub mod event;
pub mod family;
pub mod ids;
pub mod link;
pub mod name;
pub mod person;
pub mod profile;
pub mod state;
pub mod time;
pub mod visibility;

pub use actor::{Actor, CommandMeta};
pub use anumber::ANumber;
pub use command::Command;
pub use decide::{Decision, decide};
pub use error::DomainError;
pub use event::Event;
pub use ids::{FamilyId, FindingId, LinkId, PersonId, SeparationId, StreamId};
pub use profile::Profile;
pub use state::{FamilyState, PersonState, World, evolve};
