//! Shared helpers for the policy integration tests: where the shipped packs live.
#![allow(dead_code)]

use cordon_policy::Pack;
use std::path::PathBuf;

pub const PACKS: [&str; 3] = [
    "chicago-welcoming-city",
    "illinois-trust-act",
    "california-values-act",
];

pub fn pack_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

pub fn load(name: &str) -> Pack {
    match Pack::load(&pack_dir(name)) {
        Ok(pack) => pack,
        Err(err) => panic!("pack {name} does not load: {err}"),
    }
}
