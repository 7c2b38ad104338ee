//! The decision: allow or deny, the policies that decided, the law they stand for, the
//! obligations that come with an allow, and why.

use crate::screen::Screening;
use serde::{Deserialize, Serialize};

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// One decision, ready to be written into a log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub decision: Effect,
    /// The ids of the policies that decided: the permits behind an allow, the forbids
    /// behind a deny (empty when nothing permitted the request).
    pub policies: Vec<String>,
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
