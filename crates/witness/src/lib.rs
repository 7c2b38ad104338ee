//! Witnesses for a Cordon log: the C2SP tlog-witness HTTP server and client, and the
//! independent verification an auditor runs (`cordon verify`).
//!
//! The protocol core (what a witness checks and persists) is [`cordon_log::witness`];
//! this crate puts it on HTTP and builds the checks an outsider makes on top of it.
#![forbid(unsafe_code)]

pub mod client;

pub use client::{ClientError, WitnessClient};
pub use cordon_log::witness::AddCheckpoint;
pub mod config;
pub mod monitor;
pub mod server;
pub mod tls;
pub mod verify;
