//! What decided: the SHA-256 of the pack files and of the routes in force, written into
//! every entry so a decision can be tied to the exact policy text that made it.
use crate::config::Route;
use cordon_policy::Stack;

/// The hashes recorded with each decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprints {
    /// The pack names, in the order they are enforced.
    pub packs: Vec<String>,
    /// `sha256:<hex>` over every pack's files, in order (the stack's own hash).
    pub stack: String,
    /// SHA-256 of the routes' canonical JSON.
    pub routes: String,
}

impl Fingerprints {
    pub fn new(stack: &Stack, routes: &[Route]) -> Fingerprints {
        let routes_json = serde_json::to_vec(routes).unwrap_or_default();
        Fingerprints {
            packs: stack.packs().iter().map(|p| p.name().to_owned()).collect(),
            stack: stack.hash().to_owned(),
            routes: crate::entry::sha256_hex(&routes_json),
        }
    }
}
