//! Access requests, Cedar policy packs that encode the law, and free-text reason screening.
#![forbid(unsafe_code)]

pub mod error;
pub mod registry;
pub mod request;
pub mod screen;
pub mod vocab;

pub use error::PolicyError;
pub use registry::{Agency, AgencyRegistry, Dataset, DatasetRegistry};
pub use request::{AccessRequest, Authority, Principal, Purpose, Resource};
pub use screen::{Flag, FlagKind, Hit, Scratch, Screener, Screening};
pub use vocab::{Action, AgencyKind, AuthorityKind, PurposeCode};
