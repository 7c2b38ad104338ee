//! One module per top-level subcommand.
pub mod audit;
pub mod audit_bench;
pub mod demo;
pub mod demo_witness;
pub mod log;
pub mod log_bench;
pub mod log_bench_pg;
pub mod log_demo;
pub mod log_query;
pub mod log_simulate;
pub mod policy;
pub mod report;
pub mod requests;
pub mod screen;
pub mod serve;
pub mod verify;
pub mod witness;
