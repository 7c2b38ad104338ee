//! The access request: who asks, for what, why, and under which legal authority.

use crate::error::PolicyError;
use crate::vocab::{Action, AuthorityKind, Court, Matter, PurposeCode};
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
    /// The fields a search filters or sorts on (from the query), when the caller's route
    /// maps them: a search filtered on citizenship asks about status even if the field
    /// itself is redacted from the results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
}

/// The fields that hold a person's citizenship, immigration status or place of birth:
/// what MCC 2-173-030(a), 5 ILCS 805/15 and Gov. Code 7284.6(a)(1)(A) keep out of inquiry.
pub const STATUS_FIELDS: [&str; 5] = [
    "citizenship",
    "immigration_status",
    "place_of_birth",
    "country_of_birth",
    "nationality",
];

impl Resource {
    /// Whether the request filters on a status field ([`STATUS_FIELDS`]).
    pub fn filters_status(&self) -> bool {
        self.filters
            .iter()
            .any(|f| STATUS_FIELDS.contains(&f.trim().to_ascii_lowercase().as_str()))
    }
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
///
/// `kind`, `reference` and `record` are what a requester says; `court` and `matter` say
/// who signed the document and what it is about; `registration` is set only when records
/// staff registered the document in the federal request register and it covers this
/// record at this time. Only a registered authority opens a door: the gateway fills
/// `court`, `matter` and `registration` from the register, never from the request, and a
/// typed authority that matches no registration keeps `court` `not_recorded` and opens
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    #[serde(default)]
    pub kind: AuthorityKind,
    /// Who issued it. Absent in entries written before courts were recorded, which read as
    /// `not_recorded`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub court: Court,
    #[serde(default, skip_serializing_if = "is_default")]
    pub matter: Matter,
    /// Docket, warrant or form number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The one record (a resource path) the warrant or order names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The register entry that vouches for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
}

/// Where a registered authority is on the record: the register entry, the document's
/// SHA-256 and when the registration expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The log index of the register entry that registered it.
    pub entry: u64,
    /// SHA-256 of the document as registered, lowercase hex.
    pub sha256: String,
    /// The last day it may be used, `YYYY-MM-DD`.
    pub expires: String,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl Authority {
    /// An authority whose kind is judicial but whose court was never recorded: every
    /// `judicial_warrant` or `court_order` in entries written before courts were recorded.
    pub fn court_not_recorded(&self) -> bool {
        self.kind.is_judicial() && self.court == Court::NotRecorded
    }
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
        if let Court::Unrecognized(raw) = &self.authority.court {
            problems.push(unknown("court", raw, Court::WORDS));
        }
        if let Matter::Unrecognized(raw) = &self.authority.matter {
            problems.push(unknown("matter", raw, Matter::WORDS));
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
