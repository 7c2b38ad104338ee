//! Responding to a federal request (a detainer, an administrative or judicial warrant, a
//! request for information): a pack's `requests/` policies decide decline or comply, and
//! cite the law that decides it.
//!
//! They live in their own folder with their own schema, beside the access policies rather
//! than among them: an access policy scoped to every action would otherwise have to be
//! valid for a request that has no purpose or dataset, and the access proofs would have to
//! reason about an action that moves no data.

use crate::compose::{compose, Member};
use crate::error::PolicyError;
use crate::pack::{load_policies, require, validate, Pack, PolicyMeta, UNREGISTERED};
use crate::registry::AgencyRegistry;
use crate::stack::{rule_of, Stack};
use crate::vocab::{Court, FederalAsk, FederalRequestKind, Matter};
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

/// One pack's response policies, loaded and validated once.
#[derive(Debug)]
pub struct RequestPolicies {
    pack_name: String,
    title: String,
    dir: PathBuf,
    schema: Schema,
    schema_text: String,
    policies: PolicySet,
    meta: HashMap<String, PolicyMeta>,
}

impl RequestPolicies {
    /// Reads `<pack>/requests/` (schema and `.cedar` files, validated strictly, every
    /// policy annotated); `None` when the pack has no such folder (it then has nothing to
    /// say about federal requests and abstains).
    pub fn load(pack: &Pack) -> Result<Option<RequestPolicies>, PolicyError> {
        let dir = pack.dir().join(REQUESTS_DIR);
        let files = pack.files();
        if !files.has_dir(&dir) {
            return Ok(None);
        }
        let schema_path = require(files, &dir, crate::pack::SCHEMA_FILE, "schema.cedarschema")?;
        let schema_text = files.text(&schema_path)?.to_owned();
        let schema = crate::pack::parse_schema(&schema_path, &schema_text)?;
        let (policies, mut meta) = load_policies(files, &dir)?;
        validate(&schema, &policies)?;
        for m in meta.values_mut() {
            m.pack = pack.name().to_owned();
        }
        Ok(Some(RequestPolicies {
            pack_name: pack.name().to_owned(),
            title: pack.manifest().title.clone(),
            dir,
            schema,
            schema_text,
            policies,
            meta,
        }))
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

    /// What a rule stands for, by its id within the pack.
    pub fn policy_meta(&self, id: &str) -> Option<&PolicyMeta> {
        self.meta.get(id)
    }

    /// Every rule's meta, in id order.
    pub fn metas(&self) -> Vec<&PolicyMeta> {
        let mut all: Vec<&PolicyMeta> = self.meta.values().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }
}

/// The response policies of a stack's packs, layered: a request is complied with only when
/// every pack with response policies complies, and a decline cites every pack that
/// declined. Packs without a `requests/` folder abstain.
#[derive(Debug)]
pub struct RequestStack {
    name: String,
    packs: Vec<RequestPolicies>,
    policies: PolicySet,
    meta: HashMap<String, PolicyMeta>,
    registry: AgencyRegistry,
}

impl RequestStack {
    /// Loads the packs in order (as [`Stack::load`]) and layers their response policies.
    pub fn load<P: AsRef<Path>>(dirs: &[P]) -> Result<RequestStack, PolicyError> {
        RequestStack::of(&Stack::load(dirs)?)
    }

    /// The response policies of a loaded stack.
    pub fn of(stack: &Stack) -> Result<RequestStack, PolicyError> {
        let mut packs = Vec::new();
        for pack in stack.packs() {
            if let Some(p) = RequestPolicies::load(pack)? {
                packs.push(p);
            }
        }
        let Some(first) = packs.first() else {
            return Err(PolicyError::NoRequestPolicies {
                stack: stack.name(),
            });
        };
        if let Some(other) = packs.iter().find(|p| p.schema_text != first.schema_text) {
            return Err(PolicyError::Stack {
                message: format!(
                    "{}/requests has a different schema from {}/requests: every pack of a stack carries the same one",
                    other.name(),
                    first.name()
                ),
            });
        }
        let members: Vec<Member<'_>> = packs
            .iter()
            .map(|p| Member {
                pack: &p.pack_name,
                title: &p.title,
                policies: &p.policies,
                meta: &p.meta,
                governs: None,
            })
            .collect();
        let composed = compose(&members)?;
        crate::pack::validate_layered(&first.schema, &composed.policies)?;
        Ok(RequestStack {
            name: stack.name(),
            policies: composed.policies,
            meta: composed.meta,
            registry: stack.registry().clone(),
            packs,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The packs that answer federal requests, in stack order.
    pub fn packs(&self) -> &[RequestPolicies] {
        &self.packs
    }

    pub fn schema(&self) -> &Schema {
        &self.packs[0].schema
    }

    /// The layered response policies: what `respond` evaluates and the proofs check.
    pub fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    /// What a rule stands for, by qualified id (`<pack>/<rule>`).
    pub fn policy_meta(&self, qualified: &str) -> Option<&PolicyMeta> {
        self.meta.get(qualified)
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
    /// The requesting agency's id, a key of the agency registry.
    pub agency: &'a str,
    /// The agency it asks for, when it asks on another's behalf.
    pub on_behalf_of: Option<&'a str>,
    /// The main document.
    pub kind: &'a FederalRequestKind,
    /// Documents that came with it (ICE attaches an I-200 or I-205 to each detainer).
    pub attached: &'a [FederalRequestKind],
    /// Who issued the judicial document among them.
    pub court: &'a Court,
    /// What that document is about.
    pub matter: &'a Matter,
    /// The judicial document names the person the request concerns.
    pub names_subject: bool,
    pub asks: &'a [FederalAsk],
    /// A conviction that Gov. Code 7282.5 lets the agency act on was recorded.
    pub conviction: bool,
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
    /// The qualified ids (`<pack>/<rule>`) of the permits behind a comply, the forbids
    /// behind a decline, in every pack that declined.
    pub policies: Vec<String>,
    /// The packs whose rules decided.
    #[serde(default)]
    pub packs: Vec<String>,
    /// Each deciding rule with its basis and source.
    #[serde(default)]
    pub rules: Vec<crate::decision::Rule>,
    pub citations: Vec<String>,
    /// One plain sentence per deciding policy.
    pub explanation: Vec<String>,
    /// Inputs the pack did not understand; each is a reason to decline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl RequestStack {
    /// Decides the response to a federal request. Never panics; anything unknown and any
    /// evaluation error decline.
    pub fn respond(&self, q: &FederalQuestion<'_>) -> ResponseDecision {
        let mut problems = question_problems(q);
        let mut kind_of = |id: &str, what: &str| match self.registry().agency(id) {
            Some(a) => a.kind.policy_word().to_owned(),
            None => {
                problems.push(format!(
                    "{what} {id:?} is not in the deployment's agency registry: register it in a pack's {}",
                    crate::pack::AGENCIES_FILE
                ));
                UNREGISTERED.to_owned()
            }
        };
        let agency_kind = kind_of(q.agency, "requesting agency");
        let on_behalf_kind = match q.on_behalf_of {
            Some(id) => kind_of(id, "on_behalf_of agency"),
            None => "none".to_owned(),
        };
        let answer = match cedar_request(q, &agency_kind, &on_behalf_kind) {
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
        let mut decision = self.response_explained(response, ids, problems);
        let order = |name: &String| self.packs.iter().position(|p| p.name() == name);
        decision.packs.sort_by_key(order);
        decision
    }

    fn response_explained(
        &self,
        response: Response,
        ids: Vec<String>,
        problems: Vec<String>,
    ) -> ResponseDecision {
        let mut citations: Vec<String> = Vec::new();
        let mut packs: Vec<String> = Vec::new();
        let mut explanation = Vec::new();
        let mut rules = Vec::new();
        for meta in ids.iter().filter_map(|id| self.policy_meta(id)) {
            if !citations.contains(&meta.citation) {
                citations.push(meta.citation.clone());
            }
            if !packs.contains(&meta.pack) {
                packs.push(meta.pack.clone());
            }
            explanation.push(meta.explain.clone());
            rules.push(rule_of(meta));
        }
        ResponseDecision {
            response,
            policies: ids,
            packs,
            rules,
            citations,
            explanation,
            problems,
        }
    }

    fn declined_by_default(&self, problems: Vec<String>) -> ResponseDecision {
        ResponseDecision {
            response: Response::Decline,
            policies: Vec::new(),
            packs: Vec::new(),
            rules: Vec::new(),
            citations: Vec::new(),
            explanation: vec![format!(
                "The stack {} could not decide this request, so it is declined.",
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
    if let Court::Unrecognized(raw) = q.court {
        problems.push(unknown("court", raw, Court::WORDS));
    }
    if let Matter::Unrecognized(raw) = q.matter {
        problems.push(unknown("matter", raw, Matter::WORDS));
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
fn cedar_request(
    q: &FederalQuestion<'_>,
    agency_kind: &str,
    on_behalf_kind: &str,
) -> Result<Request, String> {
    let uid = |ty: &str, id: &str| -> Result<EntityUid, String> {
        let ty = EntityTypeName::from_str(ty).map_err(|e| e.to_string())?;
        Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
    };
    let s = |v: &str| RestrictedExpression::new_string(v.to_owned());
    let words = |v: Vec<&str>| RestrictedExpression::new_set(v.into_iter().map(s));
    let pairs = [
        ("agency".to_owned(), s(q.agency)),
        ("agency_kind".to_owned(), s(agency_kind)),
        ("on_behalf_kind".to_owned(), s(on_behalf_kind)),
        ("kind".to_owned(), s(q.kind.policy_word())),
        ("court".to_owned(), s(q.court.policy_word())),
        ("matter".to_owned(), s(q.matter.policy_word())),
        (
            "names_subject".to_owned(),
            RestrictedExpression::new_bool(q.names_subject),
        ),
        (
            "conviction".to_owned(),
            RestrictedExpression::new_bool(q.conviction),
        ),
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
