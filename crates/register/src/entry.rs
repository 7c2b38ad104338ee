//! The register's log entries: one per step (a request recorded with the pack's answer, an
//! outcome, a correction), versioned, and distinct from the gateway's access decisions.
//!
//! Canonical form: compact JSON whose first key is `"register"` (the layout version), then
//! `time`, `via`, `by`, `step` and the step's fields, in the order declared here. Access
//! decision entries have no `register` key, and register entries have no `decision` or
//! `request` key, so neither can be read as the other.

use crate::authority::AuthorityRegistration;
use crate::error::RegisterError;
use crate::model::{FederalRequest, Outcome};
use cordon_policy::ResponseDecision;
use serde::{Deserialize, Serialize};

/// Version of the register entry layout; bumped on any change to the fields. Version 2
/// added the court and matter of judicial documents, `on_behalf_of`, the 7282.5
/// conviction, whether the requester is an immigration agency, and the authority and
/// revocation steps. Version 1 entries are still read: their judicial documents read as
/// "court not recorded".
pub const REGISTER_VERSION: u32 = 2;
/// The oldest layout this Cordon reads.
pub const OLDEST_REGISTER_VERSION: u32 = 1;

/// The bytes every register entry starts with.
const PREFIX: &[u8] = b"{\"register\":";

/// Who recorded a step, and how they were identified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorder {
    /// The staff member.
    pub id: String,
    /// Their agency.
    pub agency: String,
    /// `log_key` (the command line, run by whoever holds the log's key), or the gateway's
    /// authentication method: `mtls`, `jwt`, `api_key`.
    pub auth: String,
}

/// One register entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterEntry {
    /// [`REGISTER_VERSION`].
    pub register: u32,
    /// When it was recorded, RFC 3339 UTC.
    pub time: String,
    /// `cli` or `gateway`.
    pub via: String,
    pub by: Recorder,
    #[serde(flatten)]
    pub step: Step,
}

/// What the entry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// A federal request received, and the stack's answer to it.
    Request {
        /// The stack that answered (its packs' names joined by " + ").
        pack: String,
        federal_request: FederalRequest,
        response: ResponseDecision,
        /// Whether the requester, or the agency it asked for, is an immigration agency in
        /// the registry when recorded: what the TRUST Act's §25 report counts. Absent in
        /// version 1 entries.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        immigration_agency: Option<bool>,
    },
    /// What became of the person; `of` is the request entry's log index.
    Outcome { of: u64, outcome: Outcome },
    /// Legal process records staff checked and registered, so that the gateway honours it.
    Authority { authority: AuthorityRegistration },
    /// The registration at `of` no longer opens anything (quashed, entered in error).
    Revocation { of: u64, reason: String },
    /// A correction of the request or outcome entry at `of`. A corrected request carries
    /// the pack's answer to the corrected facts.
    Correction {
        of: u64,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        federal_request: Option<FederalRequest>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response: Option<ResponseDecision>,
        /// As in a request entry, for the corrected facts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        immigration_agency: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<Outcome>,
    },
}

impl Step {
    pub fn word(&self) -> &'static str {
        match self {
            Step::Request { .. } => "request",
            Step::Outcome { .. } => "outcome",
            Step::Correction { .. } => "correction",
            Step::Authority { .. } => "authority",
            Step::Revocation { .. } => "revocation",
        }
    }
}

impl RegisterEntry {
    /// The canonical bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RegisterError> {
        Ok(serde_json::to_vec(self)?)
    }

    /// Reads a log entry: `Ok(None)` if it is not a register entry (an access decision,
    /// anything else), an error if it claims to be one and is not.
    pub fn parse(index: u64, bytes: &[u8]) -> Result<Option<RegisterEntry>, RegisterError> {
        if !bytes.starts_with(PREFIX) {
            return Ok(None);
        }
        let bad = |why: String| RegisterError::BadEntry { index, why };
        let entry: RegisterEntry = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if !(OLDEST_REGISTER_VERSION..=REGISTER_VERSION).contains(&entry.register) {
            return Err(bad(format!(
                "it has register layout version {}, and this Cordon reads versions {OLDEST_REGISTER_VERSION} to {REGISTER_VERSION}: use a Cordon that reads it",
                entry.register
            )));
        }
        Ok(Some(entry))
    }
}

/// Whether a log entry claims to be a register entry (its canonical first key).
pub fn is_register_entry(bytes: &[u8]) -> bool {
    bytes.starts_with(PREFIX)
}

/// Now as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let today = crate::when::When::today();
    let rem = secs % 86_400;
    format!(
        "{today}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
