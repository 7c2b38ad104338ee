//! A pack's federal request cases (`requests/cases.json`): requests with the response and
//! deciding rules the law expects, run on the pack's stack by the tests and
//! `cordon policy test`.

use crate::error::PolicyError;
use crate::federal::{FederalQuestion, RequestPolicies, RequestStack, Response, ResponseDecision};
use crate::vocab::{Court, FederalAsk, FederalRequestKind, Matter};
use serde::Deserialize;

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestCase {
    pub name: String,
    pub request: Asked,
    pub expect: ExpectedResponse,
}

/// What the case asks, as the policies see it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asked {
    pub agency: String,
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    pub kind: FederalRequestKind,
    #[serde(default)]
    pub attached: Vec<FederalRequestKind>,
    #[serde(default)]
    pub court: Court,
    #[serde(default)]
    pub matter: Matter,
    #[serde(default)]
    pub names_subject: bool,
    pub asks: Vec<FederalAsk>,
    #[serde(default)]
    pub conviction: bool,
}

/// The expected response and, exactly, the rules that must decide it (`<pack>/<rule>`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedResponse {
    pub response: Response,
    pub policies: Vec<String>,
}

/// A case whose answer differed from what it expects.
#[derive(Debug, Clone)]
pub struct RequestFailure {
    pub name: String,
    pub expected: ExpectedResponse,
    pub got: ResponseDecision,
}

impl Asked {
    pub fn question(&self) -> FederalQuestion<'_> {
        FederalQuestion {
            recorded_by: "case",
            agency: &self.agency,
            on_behalf_of: self.on_behalf_of.as_deref(),
            kind: &self.kind,
            attached: &self.attached,
            court: &self.court,
            matter: &self.matter,
            names_subject: self.names_subject,
            asks: &self.asks,
            conviction: self.conviction,
        }
    }
}

/// Reads a pack's `requests/cases.json`; every expected rule must exist in `stack`.
pub fn load(
    policies: &RequestPolicies,
    stack: &RequestStack,
) -> Result<Vec<RequestCase>, PolicyError> {
    let path = policies.dir().join(crate::pack::CASES_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| PolicyError::Io {
        path: path.clone(),
        source,
    })?;
    let cases: Vec<RequestCase> = serde_json::from_str(&text).map_err(|e| PolicyError::Cases {
        path: path.clone(),
        message: format!("{e}: the file must be a JSON array of {{name, request, expect}}"),
    })?;
    for case in &cases {
        if let Some(unknown) = case
            .expect
            .policies
            .iter()
            .find(|id| stack.policy_meta(id).is_none())
        {
            return Err(PolicyError::Cases {
                path: path.clone(),
                message: format!(
                    "case {:?} expects rule {unknown:?}, which the stack {} does not have (write <pack>/<rule>)",
                    case.name,
                    stack.name()
                ),
            });
        }
    }
    Ok(cases)
}

/// Runs every case; returns the ones that failed.
pub fn run(policies: &RequestStack, cases: &[RequestCase]) -> Vec<RequestFailure> {
    cases
        .iter()
        .filter_map(|case| {
            let got = policies.respond(&case.request.question());
            let mut want = case.expect.policies.clone();
            want.sort();
            (got.response != case.expect.response || got.policies != want).then(|| RequestFailure {
                name: case.name.clone(),
                expected: case.expect.clone(),
                got,
            })
        })
        .collect()
}
