//! Shared helpers for the policy integration tests: where the shipped packs live, and the
//! stacks they are deployed in.
#![allow(dead_code)]

use cordon_policy::{Pack, RequestStack, Stack};
use std::path::PathBuf;

/// Every shipped pack.
pub const PACKS: [&str; 4] = [
    "chicago-welcoming-city",
    "illinois-trust-act",
    "illinois-alpr-2-130",
    "california-values-act",
];

/// The shipped deployments: a name and its packs in order.
pub const STACKS: [(&str, &[&str]); 3] = [
    (
        "chicago",
        &[
            "chicago-welcoming-city",
            "illinois-trust-act",
            "illinois-alpr-2-130",
        ],
    ),
    ("illinois", &["illinois-trust-act", "illinois-alpr-2-130"]),
    ("california", &["california-values-act"]),
];

pub fn pack_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

pub fn load_pack(name: &str) -> Pack {
    Pack::load(&pack_dir(name)).unwrap_or_else(|err| panic!("pack {name} does not load: {err}"))
}

pub fn stack(packs: &[&str]) -> Stack {
    let dirs: Vec<PathBuf> = packs.iter().map(|p| pack_dir(p)).collect();
    Stack::load(&dirs).unwrap_or_else(|err| panic!("stack {packs:?} does not load: {err}"))
}

pub fn request_stack(packs: &[&str]) -> RequestStack {
    RequestStack::of(&stack(packs)).unwrap_or_else(|err| panic!("{packs:?}: {err}"))
}

/// The stack a pack's cases are written for.
pub fn home(name: &str) -> Stack {
    Stack::home(&pack_dir(name)).unwrap_or_else(|err| panic!("home stack of {name}: {err}"))
}
