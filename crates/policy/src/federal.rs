//! Responding to a federal request (a detainer, an administrative or judicial warrant, a
//! request for information): a pack's `requests/` policies decide decline or comply, and
//! cite the law that decides it.
//!
//! They live in their own folder with their own schema, beside the access policies rather
//! than among them: an access policy scoped to every action would otherwise have to be
//! valid for a request that has no purpose or dataset, and the access proofs would have to
//! reason about an action that moves no data.

use crate::error::PolicyError;
use crate::pack::{
    load_policies, load_schema, require, validate, PolicyMeta, AGENCIES_FILE, UNREGISTERED,
};
use crate::registry::AgencyRegistry;
use crate::vocab::{FederalAsk, FederalRequestKind};
use cedar_policy::{
    Authorizer, Context, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The folder inside a pack that holds its response policies.
pub const REQUESTS_DIR: &str = "requests";
/// The Cedar action a pack's response policies are written for.
pub const RESPOND_ACTION: &str = "respond";
/// The Cedar entity type of the request being answered.
pub const FEDERAL_REQUEST_TYPE: &str = "FederalRequest";

/// A pack's response policies, loaded and validated once, with the pack's agency registry.
#[derive(Debug)]
pub struct RequestPolicies {
    pack_name: String,
    dir: PathBuf,
    schema: Schema,
    policies: PolicySet,
    meta: HashMap<String, PolicyMeta>,
    registry: AgencyRegistry,
}

impl RequestPolicies {
    /// Reads `<pack>/requests/` (schema and `.cedar` files, validated strictly, every
    /// policy with `@id`, `@citation` and `@explain`) and the pack's `agencies.json`.
    pub fn load(pack_dir: &Path) -> Result<RequestPolicies, PolicyError> {
        let dir = pack_dir.join(REQUESTS_DIR);
        if !dir.is_dir() {
            return Err(PolicyError::NoRequestPolicies {
                dir: pack_dir.to_owned(),
            });
        }
        let schema = load_schema(&dir)?;
        let (policies, meta) = load_policies(&dir)?;
        validate(&schema, &policies)?;
        let registry =
            AgencyRegistry::load(&require(pack_dir, AGENCIES_FILE, "agencies.json registry")?)?;
        let pack_name = pack_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| pack_dir.display().to_string());
        Ok(RequestPolicies {
            pack_name,
            dir,
            schema,
            policies,
            meta,
            registry,
        })
    }

    /// The pack's name (its folder's name).
    pub fn name(&self) -> &str {
        &self.pack_name
    }

    /// The `requests/` folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    pub fn policy_meta(&self, id: &str) -> Option<&PolicyMeta> {
        self.meta.get(id)
    }

    pub fn registry(&self) -> &AgencyRegistry {
        &self.registry
    }
}

/// What the policies see of one federal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederalQuestion<'a> {
    /// The staff member who records it.
    pub recorded_by: &'a str,
    /// The requesting agency's id, a key of the pack's agency registry.
    pub agency: &'a str,
    /// The main document.
    pub kind: &'a FederalRequestKind,
    /// Documents that came with it (ICE attaches an I-200 or I-205 to each detainer).
    pub attached: &'a [FederalRequestKind],
    pub asks: &'a [FederalAsk],
}

/// What the jurisdiction does with a federal request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Response {
    Comply,
    Decline,
}

impl Response {
    pub fn word(self) -> &'static str {
        match self {
            Response::Comply => "comply",
            Response::Decline => "decline",
        }
    }
}

/// The pack's answer to a federal request, with the law behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseDecision {
    pub response: Response,
    /// The permits behind a comply, the forbids behind a decline (empty when nothing
    /// permitted it).
    pub policies: Vec<String>,
    pub citations: Vec<String>,
    /// One plain sentence per deciding policy.
    pub explanation: Vec<String>,
    /// Inputs the pack did not understand; each is a reason to decline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl RequestPolicies {
    /// Decides the response to a federal request. Never panics; anything unknown and any
    /// evaluation error decline.
    pub fn respond(&self, q: &FederalQuestion<'_>) -> ResponseDecision {
        let mut problems = question_problems(q);
        let agency_kind = match self.registry().agency(q.agency) {
            Some(a) => a.kind.policy_word(),
            None => {
                problems.push(format!(
                    "requesting agency {:?} is not in this pack's agency registry: register it in {AGENCIES_FILE}",
                    q.agency
                ));
                UNREGISTERED
            }
        };
        let answer = match cedar_request(q, agency_kind) {
            Ok(request) => {
                Authorizer::new().is_authorized(&request, self.policy_set(), &Entities::empty())
            }
            Err(message) => {
                problems.push(format!(
                    "the request could not be put to the policies: {message}"
                ));
                return self.declined_by_default(problems);
            }
        };
        let errors: Vec<String> = answer
            .diagnostics()
            .errors()
            .map(|e| format!("policy evaluation failed, so the request is declined: {e}"))
            .collect();
        if !errors.is_empty() {
            problems.extend(errors);
            return self.declined_by_default(problems);
        }
        let mut ids: Vec<String> = answer
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        ids.sort();
        if ids.is_empty() {
            return self.declined_by_default(problems);
        }
        let response = match answer.decision() {
            cedar_policy::Decision::Allow => Response::Comply,
            cedar_policy::Decision::Deny => Response::Decline,
        };
        self.response_explained(response, ids, problems)
    }

    fn response_explained(
        &self,
        response: Response,
        ids: Vec<String>,
        problems: Vec<String>,
    ) -> ResponseDecision {
        let mut citations: Vec<String> = Vec::new();
        let mut explanation = Vec::new();
        for meta in ids.iter().filter_map(|id| self.policy_meta(id)) {
            if !citations.contains(&meta.citation) {
                citations.push(meta.citation.clone());
            }
            explanation.push(meta.explain.clone());
        }
        ResponseDecision {
            response,
            policies: ids,
            citations,
            explanation,
            problems,
        }
    }

    fn declined_by_default(&self, problems: Vec<String>) -> ResponseDecision {
        ResponseDecision {
            response: Response::Decline,
            policies: Vec::new(),
            citations: Vec::new(),
            explanation: vec![format!(
                "No policy in the {} pack permits complying with this request, so it is declined by default.",
                self.name()
            )],
            problems,
        }
    }
}

fn question_problems(q: &FederalQuestion<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    let unknown = |what: &str, raw: &str, words: &[&str]| {
        format!("unknown {what} {raw:?}: use one of {}", words.join(", "))
    };
    for kind in std::iter::once(q.kind).chain(q.attached) {
        if let FederalRequestKind::Unrecognized(raw) = kind {
            problems.push(unknown("document kind", raw, FederalRequestKind::WORDS));
        }
    }
    for ask in q.asks {
        if let FederalAsk::Unrecognized(raw) = ask {
            problems.push(unknown("ask", raw, FederalAsk::WORDS));
        }
    }
    if q.asks.is_empty() {
        problems.push(format!(
            "the request asks nothing: list what it asks, from {}",
            FederalAsk::WORDS.join(", ")
        ));
    }
    problems
}

/// The Cedar request: `Principal::"<staff>"` does `Action::"respond"` on
/// `FederalRequest::"request"`, with the facts as context.
fn cedar_request(q: &FederalQuestion<'_>, agency_kind: &str) -> Result<Request, String> {
    let uid = |ty: &str, id: &str| -> Result<EntityUid, String> {
        let ty = EntityTypeName::from_str(ty).map_err(|e| e.to_string())?;
        Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
    };
    let s = |v: &str| RestrictedExpression::new_string(v.to_owned());
    let words = |v: Vec<&str>| RestrictedExpression::new_set(v.into_iter().map(s));
    let pairs = [
        ("agency".to_owned(), s(q.agency)),
        ("agency_kind".to_owned(), s(agency_kind)),
        ("kind".to_owned(), s(q.kind.policy_word())),
        (
            "attached".to_owned(),
            words(q.attached.iter().map(|k| k.policy_word()).collect()),
        ),
        (
            "asks".to_owned(),
            words(q.asks.iter().map(|a| a.policy_word()).collect()),
        ),
    ];
    let context = Context::from_pairs(pairs).map_err(|e| e.to_string())?;
    Request::new(
        uid("Principal", q.recorded_by)?,
        uid("Action", RESPOND_ACTION)?,
        uid(FEDERAL_REQUEST_TYPE, "request")?,
        context,
        None,
    )
    .map_err(|e| e.to_string())
}
