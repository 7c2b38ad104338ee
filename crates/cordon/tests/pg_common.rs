//! A fresh database per test on the server CORDON_TEST_PG names (`.ci/postgres` starts one).
#![allow(clippy::unwrap_used)]
use std::sync::atomic::{AtomicU32, Ordering};

pub fn fresh_database(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("CORDON_TEST_PG").unwrap_or_else(|_| {
        panic!("CORDON_TEST_PG is not set: start a server with `.ci/postgres start DIR` and export the URL it prints")
    });
    let mut client = cordon_log::pg::connect(&admin, "cordon test")
        .unwrap_or_else(|e| panic!("PostgreSQL at CORDON_TEST_PG={admin} is unreachable: {e}"));
    let name = format!(
        "cordon_{tag}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
