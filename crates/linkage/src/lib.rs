//! Record linkage for Kinship: the same person across agencies' records
//! ([`identities`]), and the family ties nobody recorded ([`families`]).
//!
//! Pure and deterministic: no IO, no clock, no async. The same records in
//! the same order give the same output, whatever the thread count.

pub mod block;
pub mod compare;
pub mod families;
pub mod identities;
pub mod model;
pub mod names;
pub mod par;
pub mod phonetic;
pub mod prep;
pub mod record;
pub mod similarity;

pub use families::{Candidate, FamilyOptions, Relation, link as link_families};
pub use identities::{Cluster, Identities, IdentityOptions, link as link_identities};
pub use record::Record;
