//! The `[publish]`, `[public]` and `[register]` sections: plain data the publisher, the
//! public site and the federal request register read.
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `[publish]`: witnesses that must cosign a checkpoint before it is published.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSection {
    /// How many distinct witnesses must cosign before a checkpoint is published.
    pub quorum: usize,
    /// Longest wait between two rounds while the quorum is not reached, in milliseconds.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
    /// The public directory: the cosigned `checkpoint` and the hash tiles it covers, for
    /// a static web server (default: `public` inside the log directory).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    pub witnesses: Vec<WitnessEntry>,
}

fn default_max_backoff() -> u64 {
    30_000
}

/// One witness the gateway asks to cosign.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessEntry {
    /// Shown on the public page.
    pub name: String,
    /// The witness's submission prefix (`https://witness.example/`).
    pub url: String,
    /// Its cosignature/v1 verifier key.
    pub vkey: String,
}

/// `[public]`: where residents reach the public page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSection {
    /// Address of the public listener, e.g. `0.0.0.0:8081`. Plain HTTP: put a TLS
    /// terminator in front of it.
    pub listen: SocketAddr,
    /// The URL residents use to reach it, shown in the "check it yourself" commands
    /// (default: `http://<listen>`).
    #[serde(default)]
    pub url: Option<String>,
}

/// `[register]`: where staff record federal requests, and who may.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSection {
    /// The endpoint: `POST <path>`, `POST <path>/<index>/outcome`, `.../correction`.
    #[serde(default = "default_register_path")]
    pub path: String,
    /// The authenticated principals (certificate, JWT `sub`, or dev-mode key principal)
    /// who may record requests, outcomes and corrections: records staff, not officers.
    pub recorders: Vec<String>,
}

fn default_register_path() -> String {
    "/requests".into()
}

/// Whether `path` is the register's path or below it.
pub fn is_under(path: &str, base: &str) -> bool {
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}
