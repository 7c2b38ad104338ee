//! The errors a pack load, a request parse or a case run can return.

use std::path::PathBuf;

/// Everything that can go wrong before a decision is made. Each message says what was
/// wrong and where; decisions themselves never fail (unknowns are denied).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a folder; give the path of a pack folder such as policies/chicago-welcoming-city", dir.display())]
    NotADirectory { dir: PathBuf },
    #[error("{} is not a policy pack: it has no {what}", dir.display())]
    MissingFile { dir: PathBuf, what: &'static str },
    #[error("no pack of the stack {stack} has a requests/ folder, so it cannot answer federal requests: copy one from a shipped pack (policies/*/requests) and adapt it")]
    NoRequestPolicies { stack: String },
    #[error("schema {} is invalid: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    #[error("policy file {} does not parse: {message}", path.display())]
    PolicyParse { path: PathBuf, message: String },
    #[error("policy {index} in {} {problem}", path.display())]
    PolicyAnnotation {
        path: PathBuf,
        index: usize,
        problem: String,
    },
    #[error("policy id {id:?} is used twice (in {} and {}); give each policy its own @id", first.display(), second.display())]
    DuplicateId {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("policies do not validate against the schema (strict mode):\n{}", messages.join("\n"))]
    Validation { messages: Vec<String> },
    #[error("{} is invalid: {message}", path.display())]
    Registry { path: PathBuf, message: String },
    #[error("request is not valid JSON for an access request: {source} (see policies/request.schema.json)")]
    RequestJson {
        #[source]
        source: serde_json::Error,
    },
    #[error("cases file {} is invalid: {message}", path.display())]
    Cases { path: PathBuf, message: String },
    #[error("the pack's policies could not be assembled: {message}")]
    PolicySet { message: String },
    #[error("a stack needs at least one pack: list the pack folders in order, the state's first")]
    EmptyStack,
    #[error("the packs cannot be stacked: {message}")]
    Stack { message: String },
}
