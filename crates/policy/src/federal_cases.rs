//! A pack's federal request cases (`requests/cases.json`): requests with the response and
//! deciding policies the law expects, run by the tests and `cordon policy test`.

use crate::error::PolicyError;
use crate::federal::{FederalQuestion, RequestPolicies, Response, ResponseDecision};
use crate::vocab::{FederalAsk, FederalRequestKind};
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
    pub kind: FederalRequestKind,
    #[serde(default)]
    pub attached: Vec<FederalRequestKind>,
    pub asks: Vec<FederalAsk>,
}

/// The expected response and, exactly, the policies that must decide it.
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
            kind: &self.kind,
            attached: &self.attached,
            asks: &self.asks,
        }
    }
}

/// Reads `requests/cases.json`; every expected policy id must exist.
pub fn load(policies: &RequestPolicies) -> Result<Vec<RequestCase>, PolicyError> {
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
            .find(|id| policies.policy_meta(id).is_none())
        {
            return Err(PolicyError::Cases {
                path: path.clone(),
                message: format!(
                    "case {:?} expects policy {unknown:?}, which requests/ does not have",
                    case.name
                ),
            });
        }
    }
    Ok(cases)
}

/// Runs every case; returns the ones that failed.
pub fn run(policies: &RequestPolicies, cases: &[RequestCase]) -> Vec<RequestFailure> {
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
