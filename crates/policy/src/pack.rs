//! A policy pack: a folder of Cedar policies, their schema, the agency and dataset
//! registries, and the citation each policy stands for. Loaded and validated once.

use crate::decision::{Decision, Effect, Obligations};
use crate::engine::{Engine, Facts};
use crate::error::PolicyError;
use crate::memo::{Memo, Reads};
use crate::registry::{AgencyRegistry, DatasetRegistry};
use crate::request::AccessRequest;
use crate::screen::{Screener, Screening};
use cedar_policy::{ActionConstraint, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The file names a pack folder holds.
pub const SCHEMA_FILE: &str = "schema.cedarschema";
pub const AGENCIES_FILE: &str = "agencies.json";
pub const DATASETS_FILE: &str = "datasets.json";
pub const CASES_FILE: &str = "cases.json";

/// The word policies see for an agency or dataset the pack does not know.
pub const UNREGISTERED: &str = "unregistered";
/// The word policies see when no purpose code was sent.
pub const MISSING: &str = "missing";

/// What a policy stands for, read from its annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMeta {
    pub id: String,
    /// `@citation`: the law (or local rule) the policy encodes.
    pub citation: String,
    /// `@explain`: one sentence a requester can read.
    pub explain: String,
    /// `@redact`: comma-separated fields an allow by this policy must remove.
    pub redact: Vec<String>,
    pub file: PathBuf,
}

/// A loaded, validated pack.
#[derive(Debug)]
pub struct Pack {
    name: String,
    dir: PathBuf,
    schema: Schema,
    policies: PolicySet,
    /// The policies whose scope can match each action, so Cedar evaluates only those.
    slices: HashMap<String, PolicySet>,
    meta: HashMap<String, PolicyMeta>,
    registry: AgencyRegistry,
    datasets: DatasetRegistry,
    screener: Screener,
    engine: Engine,
    reads: Reads,
    memo: Memo,
}

impl Pack {
    /// Reads and validates a pack folder: the schema parses, every policy parses, carries
    /// `@id`, `@citation` and `@explain`, and validates against the schema in strict mode.
    pub fn load(dir: &Path) -> Result<Pack, PolicyError> {
        if !dir.is_dir() {
            return Err(PolicyError::NotADirectory {
                dir: dir.to_owned(),
            });
        }
        let schema = load_schema(dir)?;
        let (policies, meta) = load_policies(dir)?;
        validate(&schema, &policies)?;
        let registry =
            AgencyRegistry::load(&require(dir, AGENCIES_FILE, "agencies.json registry")?)?;
        let datasets =
            DatasetRegistry::load(&require(dir, DATASETS_FILE, "datasets.json registry")?)?;
        let engine = Engine::new().map_err(|e| PolicyError::PolicySet {
            message: e.to_string(),
        })?;
        let slices = slice_by_action(&schema, &policies)?;
        let reads = Reads::of(&policies);
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Pack {
            name,
            dir: dir.to_owned(),
            schema,
            policies,
            slices,
            meta,
            registry,
            datasets,
            screener: Screener::new(),
            engine,
            reads,
            memo: Memo::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Maps an authenticated agency id to its registered agency and kind.
    pub fn registry(&self) -> &AgencyRegistry {
        &self.registry
    }

    pub fn datasets(&self) -> &DatasetRegistry {
        &self.datasets
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The pack's Cedar policies, with their ids set from `@id`.
    pub fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    /// The policies Cedar evaluates for an action word (the whole set if not sliced).
    pub fn policies_for(&self, action: &str) -> &PolicySet {
        self.slices.get(action).unwrap_or(&self.policies)
    }

    /// What each policy stands for, by id.
    pub fn policy_meta(&self, id: &str) -> Option<&PolicyMeta> {
        self.meta.get(id)
    }

    pub fn screener(&self) -> &Screener {
        &self.screener
    }

    /// Decides one request: screens its reason, looks up the agency and dataset, asks Cedar.
    /// Never panics; anything unknown or any evaluation error is a deny.
    pub fn decide(&self, request: &AccessRequest) -> Decision {
        let screening = self.screener.screen(&request.purpose.reason);
        self.decide_screened(request, screening)
    }

    /// As [`Pack::decide`], with a screening the caller already has.
    pub fn decide_screened(&self, request: &AccessRequest, screening: Screening) -> Decision {
        PackView {
            pack: self,
            memo: &self.memo,
        }
        .decide(request, screening)
    }
}

/// A pack with the memo a decision uses: the pack's own, or a fresh one for a cold decision.
struct PackView<'a> {
    pack: &'a Pack,
    memo: &'a Memo,
}

impl PackView<'_> {
    fn decide(&self, request: &AccessRequest, screening: Screening) -> Decision {
        let pack = self.pack;
        let mut problems = request.unrecognized_words();
        let agency = pack.registry.agency(&request.principal.agency);
        if agency.is_none() {
            problems.push(format!(
                "agency {:?} is not in this pack's agency registry: register it in {AGENCIES_FILE}",
                request.principal.agency
            ));
        }
        let dataset_kind = pack.datasets.kind_of(&request.resource.dataset);
        if dataset_kind.is_none() {
            problems.push(format!(
                "dataset {:?} is not governed by this pack: add it to {DATASETS_FILE}",
                request.resource.dataset
            ));
        }
        let flags = flag_words(&screening);
        let facts = Facts {
            principal: &request.principal.id,
            action: request.action.policy_word(),
            dataset: &request.resource.dataset,
            agency: &request.principal.agency,
            agency_kind: agency.map_or(UNREGISTERED, |a| a.kind.policy_word()),
            agency_in_state: agency.is_some_and(|a| a.in_state),
            alpr_declaration: agency.is_some_and(|a| a.alpr_declaration),
            dataset_kind: dataset_kind.unwrap_or(UNREGISTERED),
            path: &request.resource.path,
            purpose: request
                .purpose
                .code
                .as_ref()
                .map_or(MISSING, |c| c.policy_word()),
            has_reason: !request.purpose.reason.trim().is_empty(),
            has_case: request
                .purpose
                .case
                .as_deref()
                .is_some_and(|c| !c.trim().is_empty()),
            authority: request.authority.kind.policy_word(),
            authority_record: request.authority.record.as_deref().unwrap_or(""),
            authority_names_path: crate::engine::authority_names_path(
                &request.resource.path,
                request.authority.record.as_deref().unwrap_or(""),
            ),
            flags: &flags,
        };
        self.finish(&facts, screening, problems)
    }

    /// Looks the facts up in the memo, or asks Cedar and remembers a clean answer.
    fn finish(&self, facts: &Facts<'_>, screening: Screening, problems: Vec<String>) -> Decision {
        let key = self.pack.reads.key(facts);
        let mut decision = match self.memo.get(&key) {
            Some(stored) => (*stored).clone(),
            None => {
                let (decision, clean) = self.pack.evaluate(facts);
                if clean {
                    self.memo.put(key, decision.clone());
                }
                decision
            }
        };
        decision.screen = screening;
        let mut all = problems;
        all.append(&mut decision.problems);
        decision.problems = all;
        decision
    }
}

impl Pack {
    /// As [`Pack::decide`], always asking Cedar (the benchmark's cold path).
    pub fn decide_uncached(&self, request: &AccessRequest) -> Decision {
        let memo = Memo::default();
        let screening = self.screener.screen(&request.purpose.reason);
        PackView {
            pack: self,
            memo: &memo,
        }
        .decide(request, screening)
    }

    /// Decides from facts already resolved, always asking Cedar; the exhaustive test and
    /// the bench use this.
    pub fn decide_facts(
        &self,
        facts: &Facts<'_>,
        screening: Screening,
        mut problems: Vec<String>,
    ) -> Decision {
        let (mut decision, _) = self.evaluate(facts);
        decision.screen = screening;
        problems.append(&mut decision.problems);
        decision.problems = problems;
        decision
    }

    /// Asks Cedar. The flag says whether the answer is clean (no evaluation error), and so
    /// may be remembered.
    fn evaluate(&self, facts: &Facts<'_>) -> (Decision, bool) {
        let none = Screening::default;
        let request = match self.engine.request(facts) {
            Ok(request) => request,
            Err(message) => {
                let problem = format!("the request could not be put to the policies: {message}");
                return (self.deny_without_policy(none(), vec![problem]), false);
            }
        };
        let response = self
            .engine
            .authorize(&request, self.policies_for(facts.action));
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| format!("policy evaluation failed, so the request is denied: {e}"))
            .collect();
        if !errors.is_empty() {
            return (self.deny_without_policy(none(), errors), false);
        }
        let mut ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        ids.sort();
        let effect = match response.decision() {
            cedar_policy::Decision::Allow => Effect::Allow,
            cedar_policy::Decision::Deny => Effect::Deny,
        };
        if ids.is_empty() {
            return (self.deny_without_policy(none(), Vec::new()), true);
        }
        (self.explained(effect, ids, none(), Vec::new()), true)
    }

    fn explained(
        &self,
        effect: Effect,
        ids: Vec<String>,
        screening: Screening,
        problems: Vec<String>,
    ) -> Decision {
        let metas: Vec<&PolicyMeta> = ids.iter().filter_map(|id| self.meta.get(id)).collect();
        let mut citations: Vec<String> = Vec::new();
        for meta in &metas {
            if !citations.contains(&meta.citation) {
                citations.push(meta.citation.clone());
            }
        }
        let redact: BTreeSet<String> = match effect {
            Effect::Allow => metas
                .iter()
                .flat_map(|m| m.redact.iter().cloned())
                .collect(),
            Effect::Deny => BTreeSet::new(),
        };
        Decision {
            decision: effect,
            policies: ids,
            citations,
            obligations: Obligations {
                redact: redact.into_iter().collect(),
            },
            screen: screening,
            explanation: metas.iter().map(|m| m.explain.clone()).collect(),
            problems,
        }
    }

    fn deny_without_policy(&self, screening: Screening, problems: Vec<String>) -> Decision {
        Decision {
            decision: Effect::Deny,
            policies: Vec::new(),
            citations: Vec::new(),
            obligations: Obligations::default(),
            screen: screening,
            explanation: vec![format!(
                "No policy in the {} pack permits this combination of agency, action, purpose \
                 and authority, so it is denied by default.",
                self.name
            )],
            problems,
        }
    }
}

/// The distinct flag words of a screening, in a fixed order.
fn flag_words(screening: &Screening) -> Vec<&'static str> {
    let mut words: Vec<&'static str> = screening.flags.iter().map(|f| f.flag.as_str()).collect();
    words.sort_unstable();
    words.dedup();
    words
}

pub(crate) fn require(dir: &Path, file: &str, what: &'static str) -> Result<PathBuf, PolicyError> {
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(PolicyError::MissingFile {
            dir: dir.to_owned(),
            what,
        })
    }
}

fn read(path: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn load_schema(dir: &Path) -> Result<Schema, PolicyError> {
    let path = require(dir, SCHEMA_FILE, "schema.cedarschema")?;
    let text = read(&path)?;
    Schema::from_cedarschema_str(&text)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| PolicyError::Schema {
            path,
            message: crate::diagnostics::render(&e),
        })
}

pub(crate) fn load_policies(
    dir: &Path,
) -> Result<(PolicySet, HashMap<String, PolicyMeta>), PolicyError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| PolicyError::Io {
            path: dir.to_owned(),
            source,
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(PolicyError::MissingFile {
            dir: dir.to_owned(),
            what: "*.cedar policy files",
        });
    }
    let mut policies = Vec::new();
    let mut meta: HashMap<String, PolicyMeta> = HashMap::new();
    for file in files {
        for (policy, m) in crate::annotations::read_file(&file, &read(&file)?)? {
            if let Some(first) = meta.get(&m.id) {
                return Err(PolicyError::DuplicateId {
                    id: m.id,
                    first: first.file.clone(),
                    second: file,
                });
            }
            meta.insert(m.id.clone(), m);
            policies.push(policy);
        }
    }
    let set = PolicySet::from_policies(policies).map_err(|e| PolicyError::PolicySet {
        message: crate::diagnostics::render(&e),
    })?;
    Ok((set, meta))
}

pub(crate) fn validate(schema: &Schema, policies: &PolicySet) -> Result<(), PolicyError> {
    let result = Validator::new(schema.clone()).validate(policies, ValidationMode::Strict);
    let mut messages: Vec<String> = result
        .validation_errors()
        .map(|e| format!("  error: {}", crate::diagnostics::render(e)))
        .collect();
    messages.extend(result.validation_warnings().map(|w| {
        format!(
            "  warning (treated as an error): {}",
            crate::diagnostics::render(w)
        )
    }));
    if messages.is_empty() {
        Ok(())
    } else {
        Err(PolicyError::Validation { messages })
    }
}

/// Splits the policies by the action their scope names. Exact only because packs declare
/// no action groups (`action in [...]` is then plain membership); with groups, every
/// action gets the whole set.
fn slice_by_action(
    schema: &Schema,
    policies: &PolicySet,
) -> Result<HashMap<String, PolicySet>, PolicyError> {
    let mut slices = HashMap::new();
    if schema.action_groups().next().is_some() {
        return Ok(slices);
    }
    let words = crate::vocab::Action::WORDS
        .iter()
        .copied()
        .chain([crate::vocab::UNRECOGNIZED]);
    for word in words {
        let applies = |p: &&cedar_policy::Policy| match p.action_constraint() {
            ActionConstraint::Any => true,
            ActionConstraint::Eq(uid) => uid.id().unescaped() == word,
            ActionConstraint::In(uids) => uids.iter().any(|u| u.id().unescaped() == word),
        };
        let slice = PolicySet::from_policies(policies.policies().filter(applies).cloned())
            .map_err(|e| PolicyError::PolicySet {
                message: crate::diagnostics::render(&e),
            })?;
        slices.insert(word.to_owned(), slice);
    }
    Ok(slices)
}

/// Ids are only ever set by the pack loader, from `@id`.
pub(crate) fn policy_id(id: &str) -> PolicyId {
    PolicyId::new(id)
}
