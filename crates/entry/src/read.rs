//! One reader for every entry version: a decision or refusal comes back as [`Recorded`]
//! whichever version wrote it, so the public page, the audit index, replay and the
//! audits count the same thing.
use cordon_policy::{AccessRequest, Decision, Effect};
use serde::Deserialize;

/// What an entry of the log is.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A decision, or a refusal of an authenticated requester.
    Decision(Box<Recorded>),
    /// The allow at index `of` was never acted on.
    NotServed { time: String, of: u64, why: String },
    /// The packs or routes in force changed.
    Reload {
        time: String,
        stack_sha256: String,
        routes_sha256: String,
        changed: Vec<String>,
    },
    /// A federal request register entry (read by the register crate).
    Register,
}

/// A decision or refusal, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub version: u32,
    pub time: String,
    pub via: String,
    pub auth: String,
    pub principal: String,
    pub agency: String,
    /// The application or proxy that carried the requester's token (version 2 only).
    pub app: Option<String>,
    pub client: Option<String>,
    pub method: String,
    /// The path without its query.
    pub path: String,
    /// The query sent upstream, without `?`.
    pub query: Option<String>,
    /// The canonical body sent upstream (version 2 only).
    pub body: Option<String>,
    pub body_sha256: Option<String>,
    pub stack_sha256: Option<String>,
    pub routes_sha256: Option<String>,
    /// The register index of the authority honoured.
    pub authority_registration: Option<u64>,
    pub request: Option<AccessRequest>,
    pub decision: Option<Decision>,
    /// For a refusal before a decision: its status and message.
    pub refusal: Option<(u16, String)>,
}

impl Recorded {
    /// Whether data could flow under this entry.
    pub fn allowed(&self) -> bool {
        self.refusal.is_none()
            && self
                .decision
                .as_ref()
                .is_some_and(|d| d.decision == Effect::Allow)
    }

    /// The path and query as one request target.
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Why an entry could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a JSON object: {0}")]
    Json(String),
    #[error("entry version {0} is newer than this reader (it reads 1 and 2): upgrade Cordon")]
    Version(u64),
    #[error("entry kind {0:?} is not one this reader knows")]
    Kind(String),
    #[error("entry is missing {0}")]
    Missing(&'static str),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    register: Option<serde_json::Value>,
    #[serde(default)]
    v: Option<u64>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    via: Option<String>,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    principal: Option<RawPrincipal>,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_sha256: Option<String>,
    #[serde(default)]
    stack: Option<RawStack>,
    #[serde(default)]
    routes_sha256: Option<String>,
    #[serde(default)]
    authority: Option<RawAuthority>,
    #[serde(default)]
    request: Option<AccessRequest>,
    #[serde(default)]
    decision: Option<Decision>,
    #[serde(default)]
    refusal: Option<RawRefusal>,
    #[serde(default)]
    of: Option<u64>,
    #[serde(default)]
    why: Option<String>,
    #[serde(default)]
    changed: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawPrincipal {
    id: String,
    agency: String,
    #[serde(default)]
    app: Option<String>,
}

#[derive(Deserialize)]
struct RawStack {
    sha256: String,
}

#[derive(Deserialize)]
struct RawAuthority {
    registration: u64,
}

#[derive(Deserialize)]
struct RawRefusal {
    status: u16,
    error: String,
}

/// Reads one entry of any version.
pub fn read(bytes: &[u8]) -> Result<Entry, ReadError> {
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| ReadError::Json(e.to_string()))?;
    if raw.register.is_some() {
        return Ok(Entry::Register);
    }
    match raw.v.ok_or(ReadError::Missing("its version (v)"))? {
        1 => v1(raw),
        2 => v2(raw),
        n => Err(ReadError::Version(n)),
    }
}

fn v1(raw: Raw) -> Result<Entry, ReadError> {
    let request = raw.request.ok_or(ReadError::Missing("request"))?;
    let full = raw.path.ok_or(ReadError::Missing("path"))?;
    let (path, query) = match full.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (full, None),
    };
    Ok(Entry::Decision(Box::new(Recorded {
        version: 1,
        time: raw.time.unwrap_or_default(),
        via: raw.via.unwrap_or_default(),
        auth: raw.auth.unwrap_or_default(),
        principal: request.principal.id.clone(),
        agency: request.principal.agency.clone(),
        app: None,
        client: request.source.map(|s| s.to_string()),
        method: raw.method.unwrap_or_default(),
        path,
        query,
        body: None,
        body_sha256: None,
        stack_sha256: None,
        routes_sha256: None,
        authority_registration: None,
        decision: Some(raw.decision.ok_or(ReadError::Missing("decision"))?),
        request: Some(request),
        refusal: None,
    })))
}

fn v2(raw: Raw) -> Result<Entry, ReadError> {
    let time = raw.time.unwrap_or_default();
    match raw.kind.as_deref() {
        Some("decision") | Some("refusal") => {}
        Some("not_served") => {
            return Ok(Entry::NotServed {
                time,
                of: raw.of.ok_or(ReadError::Missing("of"))?,
                why: raw.why.unwrap_or_default(),
            })
        }
        Some("reload") => {
            return Ok(Entry::Reload {
                time,
                stack_sha256: raw.stack.map(|s| s.sha256).unwrap_or_default(),
                routes_sha256: raw.routes_sha256.unwrap_or_default(),
                changed: raw.changed.unwrap_or_default(),
            })
        }
        Some(other) => return Err(ReadError::Kind(other.to_owned())),
        None => return Err(ReadError::Missing("kind")),
    }
    let principal = raw.principal.ok_or(ReadError::Missing("principal"))?;
    if raw.decision.is_none() && raw.refusal.is_none() {
        return Err(ReadError::Missing("a decision or a refusal"));
    }
    Ok(Entry::Decision(Box::new(Recorded {
        version: 2,
        time,
        via: raw.via.unwrap_or_default(),
        auth: raw.auth.unwrap_or_default(),
        principal: principal.id,
        agency: principal.agency,
        app: principal.app,
        client: raw.client,
        method: raw.method.unwrap_or_default(),
        path: raw.path.ok_or(ReadError::Missing("path"))?,
        query: raw.query,
        body: raw.body,
        body_sha256: raw.body_sha256,
        stack_sha256: raw.stack.map(|s| s.sha256),
        routes_sha256: raw.routes_sha256,
        authority_registration: raw.authority.map(|a| a.registration),
        request: raw.request,
        decision: raw.decision,
        refusal: raw.refusal.map(|r| (r.status, r.error)),
    })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const V1: &str = r#"{"v":1,"time":"2026-10-05T10:00:00.000Z","via":"proxy","auth":"mtls","method":"GET","path":"/records/people/P-1?id=P-1","request":{"principal":{"id":"det-1","agency":"cpd"},"action":"read","resource":{"dataset":"arrests","path":"records/people/P-1"},"purpose":{"code":"criminal_investigation","reason":"burglary"},"authority":{"kind":"none"},"source":"10.0.0.9"},"decision":{"decision":"allow","policies":["p"],"citations":[],"obligations":{"redact":[]},"screen":{"flags":[],"spans":[]},"explanation":[]}}"#;

    #[test]
    fn version_1_decisions_read_with_their_query_split_from_the_path() {
        let Entry::Decision(r) = read(V1.as_bytes()).unwrap() else {
            panic!("not a decision")
        };
        assert_eq!(r.version, 1);
        assert_eq!(r.path, "/records/people/P-1");
        assert_eq!(r.query.as_deref(), Some("id=P-1"));
        assert_eq!(r.agency, "cpd");
        assert_eq!(r.client.as_deref(), Some("10.0.0.9"));
        assert!(r.allowed());
    }

    #[test]
    fn version_2_refusals_are_never_read_as_allowed() {
        let e = r#"{"v":2,"kind":"refusal","time":"t","via":"proxy","auth":"api_key","principal":{"id":"a","agency":"cpd"},"method":"GET","path":"/records/people","refusal":{"status":400,"error":"undeclared query parameter fields"}}"#;
        let Entry::Decision(r) = read(e.as_bytes()).unwrap() else {
            panic!("not a decision")
        };
        assert!(!r.allowed());
        assert_eq!(r.refusal.as_ref().unwrap().0, 400);
    }

    #[test]
    fn unknown_versions_and_kinds_are_errors_not_guesses() {
        assert!(matches!(
            read(br#"{"v":3,"kind":"decision"}"#),
            Err(ReadError::Version(3))
        ));
        assert!(matches!(
            read(br#"{"v":2,"kind":"grant"}"#),
            Err(ReadError::Kind(_))
        ));
        assert!(matches!(
            read(br#"{"register":1,"step":"request"}"#),
            Ok(Entry::Register)
        ));
    }
}
