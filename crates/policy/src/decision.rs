//! The decision: allow or deny, the policies that decided, the law they stand for, the
//! obligations that come with an allow, and why.

use crate::screen::Screening;
use crate::vocab::Basis;
use serde::{Deserialize, Serialize};

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Allow,
    Deny,
}

/// What the gateway must do to the data before it leaves, when access is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligations {
    /// Fields to remove from every record returned (`immigration_status`, `place_of_birth`).
    pub redact: Vec<String>,
}

/// One rule that decided, with what it stands on: enough for a resident or an officer to
/// see whether a refusal is the law or the agency's policy, and to check the citation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The pack (folder) it belongs to.
    pub pack: String,
    /// Its id within the pack.
    pub id: String,
    pub basis: Basis,
    pub citation: String,
    /// Where the citation can be checked.
    pub source: String,
    /// The open legal question, when the rule is the conservative answer to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_counsel: Option<String>,
}

/// One decision, ready to be written into a log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub decision: Effect,
    /// The qualified ids (`<pack>/<rule>`) of the policies that decided: the permits behind
    /// an allow, the forbids behind a deny, in every pack that denied.
    pub policies: Vec<String>,
    /// The packs whose rules decided: every pack that denied, or every pack that permitted.
    #[serde(default)]
    pub packs: Vec<String>,
    /// Each deciding rule with its basis and source, in the order of `policies`.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The legal citations of those policies.
    pub citations: Vec<String>,
    pub obligations: Obligations,
    /// What screening found in the stated reason.
    pub screen: Screening,
    /// One plain sentence per deciding policy, or why nothing permitted the request.
    pub explanation: Vec<String>,
    /// Inputs that were not understood (an unknown code, an unregistered agency); each is
    /// denied and each message says what to send instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.decision == Effect::Allow
    }
}
