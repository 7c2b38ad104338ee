//! A pack's test cases: requests with the decision and deciding policies the law expects.

use crate::decision::{Decision, Effect};
use crate::error::PolicyError;
use crate::pack::{Pack, CASES_FILE};
use crate::request::AccessRequest;
use crate::stack::Stack;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One case: a request and what must come of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub request: AccessRequest,
    pub expect: Expected,
}

/// The expected decision and, exactly, the rules that must decide it (`<pack>/<rule>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub decision: Effect,
    pub policies: Vec<String>,
}

/// A case whose decision differed from what it expects.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub name: String,
    pub expected: Expected,
    pub got: Decision,
}

/// Reads a pack's `cases.json`; every expected rule must exist in `stack`.
pub fn load(pack: &Pack, stack: &Stack) -> Result<Vec<Case>, PolicyError> {
    let path = pack.dir().join(CASES_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| PolicyError::Io {
        path: path.clone(),
        source,
    })?;
    let cases = parse(&path, &text)?;
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

/// Parses a cases file, naming the case and the problem when one is malformed.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Case>, PolicyError> {
    let raw: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| PolicyError::Cases {
            path: path.to_owned(),
            message: format!("{e}: the file must be a JSON array of {{name, request, expect}}"),
        })?;
    raw.into_iter()
        .enumerate()
        .map(|(i, value)| {
            let name = value
                .get("name")
                .and_then(|n| n.as_str())
                .map_or_else(|| format!("#{}", i + 1), str::to_owned);
            serde_json::from_value(value).map_err(|e| PolicyError::Cases {
                path: path.to_owned(),
                message: format!("case {name:?}: {e}"),
            })
        })
        .collect()
}

/// Runs every case; returns the ones that failed.
pub fn run(stack: &Stack, cases: &[Case]) -> Vec<Failure> {
    cases
        .iter()
        .filter_map(|case| {
            let got = stack.decide(&case.request);
            let mut expected_ids = case.expect.policies.clone();
            expected_ids.sort();
            let passed = got.decision == case.expect.decision && got.policies == expected_ids;
            (!passed).then(|| Failure {
                name: case.name.clone(),
                expected: case.expect.clone(),
                got,
            })
        })
        .collect()
}
