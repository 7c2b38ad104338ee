//! Version 2 of the entries the gateway writes. Canonical form: compact JSON with the
//! fields in exactly the order declared here (and, inside, the declared order of the
//! policy crate's types); absent optional fields are left out. Nothing is sorted at write
//! time, so the same facts always yield the same bytes.
use cordon_policy::{AccessRequest, Decision};
use serde::Serialize;
use std::net::IpAddr;

/// The version every writer here writes.
pub const ENTRY_VERSION: u32 = 2;

/// The requester as authenticated (never as asserted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requester<'a> {
    pub id: &'a str,
    pub agency: &'a str,
    /// The application or proxy whose client certificate carried the requester's token,
    /// when one did (its configured principal, or a proxy's certificate name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<&'a str>,
}

/// The pack stack that decided: its packs in order and the hash of their files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackRef<'a> {
    pub packs: &'a [String],
    pub sha256: &'a str,
}

/// A registered authority the decision honoured: where staff recorded it in the log
/// and the SHA-256 of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorityUsed<'a> {
    pub registration: u64,
    pub document_sha256: &'a str,
}

/// A request refused before (or instead of) a policy decision: a bad path or query, an
/// undeclared parameter, duplicate headers, a forward-auth URI that is not canonical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal<'a> {
    pub status: u16,
    pub error: &'a str,
}

/// One decision, or one refusal of an authenticated requester.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionEntry<'a> {
    pub v: u32,
    /// `decision` or `refusal`.
    pub kind: &'static str,
    /// When the gateway decided, RFC 3339 UTC with milliseconds.
    pub time: &'a str,
    /// The enforcement point: `proxy` or `forward_auth`.
    pub via: &'static str,
    /// How the requester was authenticated: `mtls`, `jwt` or `api_key`.
    pub auth: &'static str,
    pub principal: Requester<'a>,
    /// The client's address, from the connection or a trusted proxy hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<IpAddr>,
    /// The method and normalized path the decision covers (as sent upstream).
    pub method: &'a str,
    pub path: &'a str,
    /// The canonical query sent upstream, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<&'a str>,
    /// The decided fields of a search body, as the canonical JSON text sent upstream,
    /// when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    /// SHA-256 of the canonical body sent upstream, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackRef<'a>>,
    /// SHA-256 of the routes in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routes_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<AuthorityUsed<'a>>,
    /// The request the policy saw; absent when it was refused before one was built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<&'a AccessRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<&'a Decision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal<'a>>,
}

impl DecisionEntry<'_> {
    /// The canonical bytes: what `serde_json` writes for the entry, with the decision's
    /// unchanging part copied from its outcome's rendering ([`crate::render`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        // Destructured so that a field added to the entry must be placed here: the splice
        // below relies on `decision` being the last field written when `refusal` is absent.
        let DecisionEntry {
            v: _,
            kind: _,
            time: _,
            via: _,
            auth: _,
            principal: _,
            client: _,
            method: _,
            path: _,
            query: _,
            body: _,
            body_sha256: _,
            stack: _,
            routes_sha256: _,
            authority: _,
            request: _,
            decision,
            refusal,
        } = self;
        let (Some(decision), None) = (decision, refusal) else {
            return serde_json::to_vec(self);
        };
        let rest = DecisionEntry {
            decision: None,
            ..self.clone()
        };
        let mut out = Vec::with_capacity(4096);
        serde_json::to_writer(&mut out, &rest)?;
        // `rest` is an object with at least `v`: drop its closing brace, add the decision.
        out.pop();
        out.extend_from_slice(b",\"decision\":");
        crate::render::write_decision(decision, &mut out)?;
        out.push(b'}');
        Ok(out)
    }
}

/// An allow that was not (fully) served: its entry became durable only after the gateway
/// had already answered 503, so nothing was forwarded under it; or its response was cut
/// off after sending began (`why` says where and why).
#[derive(Debug, Serialize)]
pub struct NotServedEntry<'a> {
    pub v: u32,
    /// Always `not_served`.
    pub kind: &'static str,
    pub time: &'a str,
    /// The index of the allow this entry is about.
    pub of: u64,
    pub why: &'a str,
}

impl<'a> NotServedEntry<'a> {
    pub fn new(time: &'a str, of: u64, why: &'a str) -> Self {
        NotServedEntry {
            v: ENTRY_VERSION,
            kind: "not_served",
            time,
            of,
            why,
        }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// The policy and routes in force changed: what changed and the hashes of what now
/// decides, so a policy change is as auditable as a decision.
#[derive(Debug, Serialize)]
pub struct ReloadEntry<'a> {
    pub v: u32,
    /// Always `reload`.
    pub kind: &'static str,
    pub time: &'a str,
    pub stack: StackRef<'a>,
    pub routes_sha256: &'a str,
    /// One line per change, e.g. `pack chicago-welcoming-city: 3f2a… → 9b1c…`.
    pub changed: &'a [String],
}

impl ReloadEntry<'_> {
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}
