//! The access request: who asks, for what, why, and under which legal authority.

use crate::error::PolicyError;
use crate::vocab::{Action, AuthorityKind, PurposeCode};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One request to touch a dataset, as the gateway or `cordon policy eval` receives it.
///
/// The agency's *kind* is deliberately absent: it is looked up in the pack's registry
/// from the authenticated agency id, because a client may not vouch for itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    pub principal: Principal,
    pub action: Action,
    pub resource: Resource,
    #[serde(default)]
    pub purpose: Purpose,
    #[serde(default)]
    pub authority: Authority,
    /// When the request was made, RFC 3339 (informational; the log keeps its own clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The network address the request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<IpAddr>,
}

/// The authenticated requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// The person or service account.
    pub id: String,
    /// The agency id the identity belongs to, a key of the pack's agency registry.
    pub agency: String,
}

/// What is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// A key of the pack's dataset registry.
    pub dataset: String,
    /// The record or collection within the dataset; `*` marks a pattern over many records.
    #[serde(default)]
    pub path: String,
    /// The fields requested, when the caller names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Why it is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// A code from the purpose vocabulary; absent means no purpose was stated.
    #[serde(default)]
    pub code: Option<PurposeCode>,
    /// The requester's own words; screened for immigration enforcement.
    #[serde(default)]
    pub reason: String,
    /// The case or incident number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
}

/// The legal process presented, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    #[serde(default)]
    pub kind: AuthorityKind,
    /// Docket, warrant or form number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The one record (a resource path) the warrant or order names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

impl AccessRequest {
    /// Parses one request from JSON bytes. Never panics on any input, which makes it a
    /// fuzzing entry point; unknown vocabulary words parse (and are later denied), while
    /// malformed JSON, missing required fields and unknown fields are errors.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, PolicyError> {
        serde_json::from_slice(bytes).map_err(|source| PolicyError::RequestJson { source })
    }

    /// Parses one request from a JSON string; see [`AccessRequest::from_json_slice`].
    pub fn from_json_str(text: &str) -> Result<Self, PolicyError> {
        Self::from_json_slice(text.as_bytes())
    }

    /// The words in this request that are outside a vocabulary, each with what to do instead.
    pub fn unrecognized_words(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Action::Unrecognized(raw) = &self.action {
            problems.push(unknown("action", raw, Action::WORDS));
        }
        match &self.purpose.code {
            Some(PurposeCode::Unrecognized(raw)) => {
                problems.push(unknown("purpose code", raw, PurposeCode::WORDS))
            }
            None => problems.push(format!(
                "no purpose code: set purpose.code to one of {}",
                PurposeCode::WORDS.join(", ")
            )),
            Some(_) => {}
        }
        if let AuthorityKind::Unrecognized(raw) = &self.authority.kind {
            problems.push(unknown("authority kind", raw, AuthorityKind::WORDS));
        }
        problems
    }
}

fn unknown(what: &str, raw: &str, words: &[&str]) -> String {
    format!("unknown {what} {raw:?}: use one of {}", words.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_request_parses_with_no_purpose_and_no_authority() {
        let request = AccessRequest::from_json_str(
            r#"{"principal":{"id":"u1","agency":"cpd"},"action":"read","resource":{"dataset":"arrests"}}"#,
        );
        let request = request.map_err(|e| e.to_string());
        assert_eq!(request.as_ref().map(|r| r.purpose.code.clone()), Ok(None));
        assert_eq!(request.map(|r| r.authority.kind), Ok(AuthorityKind::None));
    }

    #[test]
    fn a_misspelt_field_is_an_error_not_a_silent_default() {
        let result = AccessRequest::from_json_str(
            r#"{"principal":{"id":"u1","agency":"cpd"},"action":"read","resource":{"dataset":"a"},"purpsoe":{}}"#,
        );
        assert!(result.is_err_and(|e| e.to_string().contains("purpsoe")));
    }

    #[test]
    fn unknown_codes_are_reported_with_the_accepted_words() {
        let request = AccessRequest::from_json_str(
            r#"{"principal":{"id":"u1","agency":"cpd"},"action":"peek","resource":{"dataset":"a"},"purpose":{"code":"ice_assist"}}"#,
        );
        let problems = request.map(|r| r.unrecognized_words()).unwrap_or_default();
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("\"peek\"") && problems[0].contains("search"));
        assert!(problems[1].contains("\"ice_assist\"") && problems[1].contains("missing_person"));
    }
}
