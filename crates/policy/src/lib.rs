//! Access requests, Cedar policy packs that encode the law, and free-text reason screening.
#![forbid(unsafe_code)]

mod annotations;
pub mod bench;
pub mod cases;
pub mod compose;
pub mod decision;
mod diagnostics;
mod digest;
pub mod engine;
pub mod error;
pub mod federal;
pub mod federal_cases;
pub mod files;
mod memo;
pub mod pack;
pub mod registry;
pub mod request;
pub mod screen;
pub mod stack;
mod table;
pub mod vocab;

pub use decision::{Decision, Effect, Obligations, Rule};
pub use digest::pack_hash;
pub use engine::Facts;
pub use error::PolicyError;
pub use federal::{FederalQuestion, RequestPolicies, RequestStack, Response, ResponseDecision};
pub use pack::{Manifest, Pack, PolicyMeta};
pub use registry::{Agency, AgencyRegistry, Dataset, DatasetRegistry};
pub use request::{AccessRequest, Authority, Principal, Purpose, Registration, Resource};
pub use screen::{Flag, FlagKind, Hit, Scratch, Screener, Screening};
pub use stack::Stack;
pub use table::TableInfo;
pub use vocab::{
    Action, AgencyKind, AuthorityKind, Basis, Court, FederalAsk, FederalRequestKind, Matter,
    PurposeCode,
};
