//! One module per top-level subcommand.
pub mod log;
pub mod policy;
pub mod screen;
