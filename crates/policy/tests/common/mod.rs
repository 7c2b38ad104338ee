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

/// The cap on the grid tests (`exhaustive.rs`, `federal_requests.rs`). CI has 2 cores and
/// 45 minutes for every test, lint and fuzz step; in the debug profile there the full grids
/// took about 140 s (345,000 access decisions per stack) and 105 s (166,000 federal
/// requests per stack), so by default they decide every `STRIDE`-th point of the grid.
/// The SMT proof (`symcc_proof.rs`, 3 s) covers every value symbolically; the grids are the
/// concrete second check. `STRIDE` is prime to the length of every loop of both grids, so
/// every value of every dimension is still decided. `CORDON_FULL_GRID=1` decides all of
/// it; `CORDON_GRID_OFFSET=<0..STRIDE>` picks another slice.
pub struct Grid {
    stride: u64,
    offset: u64,
    visited: u64,
    decided: u64,
}

impl Grid {
    /// Prime to 2, 3, 4, 5, 8, 9, 12, 14, 16, 32 and 48: the loop lengths of the grids.
    pub const STRIDE: u64 = 11;

    /// The grid as the environment asks (the capped one by default).
    pub fn from_env() -> Grid {
        let full = std::env::var("CORDON_FULL_GRID").is_ok_and(|v| v == "1");
        let offset = std::env::var("CORDON_GRID_OFFSET")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        assert!(
            full || offset < Self::STRIDE,
            "CORDON_GRID_OFFSET must be below {}",
            Self::STRIDE
        );
        Grid {
            stride: if full { 1 } else { Self::STRIDE },
            offset: if full { 0 } else { offset },
            visited: 0,
            decided: 0,
        }
    }

    /// Whether the next point of the grid is decided in this run.
    pub fn take(&mut self) -> bool {
        let keep = self.visited % self.stride == self.offset;
        self.visited += 1;
        self.decided += u64::from(keep);
        keep
    }

    /// Points of the grid walked, decided or not.
    pub fn visited(&self) -> u64 {
        self.visited
    }

    /// Points decided.
    pub fn decided(&self) -> u64 {
        self.decided
    }
}
