//! Audit exported access logs (Flock audit exports in every known layout, CSV or .xlsx;
//! any CSV or JSONL with a column map) for
//! searches run for immigration enforcement, and report what was found to people who are
//! not engineers.
#![forbid(unsafe_code)]

pub mod anomaly;
pub mod archive;
pub mod cells;
pub mod checks;
pub mod classify;
pub mod columns;
pub mod core_scan;
pub mod delimiter;
pub mod distinct;
pub mod error;
pub mod fetch;
pub mod fxhash;
pub mod html;
pub mod html_more;
pub mod input;
pub mod logread;
pub mod portal;
pub mod reconcile;
pub mod replay;
pub mod rows;
pub mod run;
pub mod sample;
pub mod split;
pub mod summary;
pub mod table;
pub mod time;
pub mod utf16;
pub mod xlsx;

pub use error::AuditError;
pub use run::{audit, AuditOptions, AuditOutcome, Format};
pub use summary::Summary;
