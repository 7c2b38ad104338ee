//! A deployment's ordered stack of packs (a city's ordinance on its state's laws), decided
//! as one: any pack that governs a request and denies it denies it, the denial cites
//! every pack that denied, and a request no pack governs is denied. One agency registry
//! and one dataset registry, merged from the packs' own, serve every pack.

use crate::compose::{compose, governs_expr, Member};
use crate::decision::{Decision, Effect, Obligations, Rule};
use crate::engine::{Engine, Facts};
use crate::error::PolicyError;
use crate::memo::{Memo, Reads};
use crate::pack::{Pack, PolicyMeta, MISSING, UNREGISTERED};
use crate::registry::{AgencyRegistry, DatasetRegistry};
use crate::request::AccessRequest;
use crate::screen::{Screener, Screening};
use crate::table::{Table, TableInfo};
use cedar_policy::{ActionConstraint, PolicySet, Schema};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// A loaded, validated stack.
#[derive(Debug)]
pub struct Stack {
    packs: Vec<Pack>,
    hash: String,
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
    /// The compiled decision table, or why the stack could not be tabulated (it is then
    /// decided by Cedar, memoized).
    table: Result<Table, String>,
    /// The table's decisions, explained once per outcome (effect and deciding policies'
    /// places in the table): the explanation is the same every time those policies decide.
    outcomes: Memo<(Effect, Vec<usize>)>,
}

impl Stack {
    /// Loads the packs in order and layers them. Every pack must carry the same request
    /// schema, and no two may define one agency or dataset differently.
    pub fn load<P: AsRef<Path>>(dirs: &[P]) -> Result<Stack, PolicyError> {
        let packs = dirs
            .iter()
            .map(|d| Pack::load(d.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Stack::of(packs)
    }

    /// The stack a pack's cases are written for (its manifest's `stack`).
    pub fn home(dir: &Path) -> Result<Stack, PolicyError> {
        let pack = Pack::load(dir)?;
        Stack::load(&pack.home_stack())
    }

    /// Layers packs already loaded.
    pub fn of(packs: Vec<Pack>) -> Result<Stack, PolicyError> {
        let first = packs.first().ok_or(PolicyError::EmptyStack)?;
        check_distinct_and_same_schema(&packs)?;
        let (registry, datasets) = merged_registries(&packs)?;
        let members: Vec<Member<'_>> = packs
            .iter()
            .map(|p| Member {
                pack: p.name(),
                title: &p.manifest().title,
                policies: p.policy_set(),
                meta: p.metas_by_id(),
                governs: governs_expr(
                    &p.manifest().governs.dataset_kinds,
                    &p.manifest().governs.actions,
                ),
            })
            .collect();
        let composed = compose(&members)?;
        crate::pack::validate_layered(first.schema(), &composed.policies)?;
        let slices = slice_by_action(first.schema(), &composed.policies)?;
        let reads = Reads::of(&composed.policies);
        let hash = crate::digest::stack_hash(&packs)?;
        let engine = Engine::new().map_err(|e| PolicyError::PolicySet {
            message: e.to_string(),
        })?;
        let table = Table::compile(&composed.policies, &engine);
        Ok(Stack {
            table,
            hash,
            policies: composed.policies,
            slices,
            meta: composed.meta,
            registry,
            datasets,
            screener: Screener::new(),
            engine,
            reads,
            memo: Memo::default(),
            outcomes: Memo::default(),
            packs,
        })
    }

    /// The packs' names joined in order (`illinois-trust-act + illinois-alpr-2-130`).
    pub fn name(&self) -> String {
        let names: Vec<&str> = self.packs.iter().map(Pack::name).collect();
        names.join(" + ")
    }

    /// `sha256:<hex>` over every file of every pack, in stack order: what a log entry
    /// records so that a decision can be traced to the exact law that made it.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn packs(&self) -> &[Pack] {
        &self.packs
    }

    /// The deployment's agency registry, merged from the packs'.
    pub fn registry(&self) -> &AgencyRegistry {
        &self.registry
    }

    /// The deployment's dataset registry, merged from the packs'.
    pub fn datasets(&self) -> &DatasetRegistry {
        &self.datasets
    }

    /// The request schema every pack shares.
    pub fn schema(&self) -> &Schema {
        self.packs[0].schema()
    }

    /// The layered policy set: what decisions evaluate and the proofs check.
    pub fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    /// The policies Cedar evaluates for an action word (the whole set if not sliced).
    pub fn policies_for(&self, action: &str) -> &PolicySet {
        self.slices.get(action).unwrap_or(&self.policies)
    }

    /// What a rule stands for, by qualified id (`<pack>/<rule>`).
    pub fn policy_meta(&self, qualified: &str) -> Option<&PolicyMeta> {
        self.meta.get(qualified)
    }

    pub fn screener(&self) -> &Screener {
        &self.screener
    }

    /// Screens everything a requester writes in their own words: the reason, and the case
    /// number, authority reference and record named, which are free text too
    /// ("investigation" with the case "ICE ERO 4471" says as much as the reason would).
    /// The other fields are read as if each present followed the reason after its label
    /// ([`SCREENED_AFTER_REASON`]), so the reason's words are their context ("missing
    /// child" before the case "DHS-2025-0412", a human-services case), and flags found
    /// past the reason point there. The reason's own flags are those it raises alone:
    /// words in the other fields cannot excuse it.
    pub fn screen_request(&self, request: &AccessRequest) -> Screening {
        let reason = &request.purpose.reason;
        let mut screening = self.screener.screen(reason);
        let mut text = String::new();
        for (label, field) in screened_after_reason(request) {
            text.push_str(label);
            text.push_str(field);
        }
        if text.is_empty() {
            return screening;
        }
        let whole = format!("{reason}{text}");
        let past_reason = self.screener.screen(&whole).flags;
        screening
            .flags
            .extend(past_reason.into_iter().filter(|f| f.start >= reason.len()));
        screening
    }

    /// Decides one request: screens what the requester wrote, looks up the agency and dataset, asks Cedar.
    /// Never panics; anything unknown or any evaluation error is a deny.
    pub fn decide(&self, request: &AccessRequest) -> Decision {
        let screening = self.screen_request(request);
        self.decide_screened(request, screening)
    }

    /// As [`Stack::decide`], with a screening the caller already has.
    pub fn decide_screened(&self, request: &AccessRequest, screening: Screening) -> Decision {
        self.decide_with(request, screening, self.via())
    }

    /// As [`Stack::decide`], always asking Cedar: the baseline the table is measured and
    /// tested against.
    pub fn decide_uncached(&self, request: &AccessRequest) -> Decision {
        let screening = self.screen_request(request);
        self.decide_with(request, screening, Via::Cedar(&Memo::default()))
    }

    /// As [`Stack::decide`], through the memo in front of Cedar even when the stack has a
    /// table: how stacks the table refuses are decided, and the benchmark's comparison.
    pub fn decide_memoized(&self, request: &AccessRequest) -> Decision {
        let screening = self.screen_request(request);
        self.decide_with(request, screening, Via::Cedar(&self.memo))
    }

    /// The decision table's size and load time, or why the stack has none (its requests
    /// are then decided by Cedar).
    pub fn table(&self) -> Result<&TableInfo, &str> {
        match &self.table {
            Ok(table) => Ok(table.info()),
            Err(why) => Err(why),
        }
    }

    /// Memo lookups so far on this stack: (hits, misses).
    pub fn memo_stats(&self) -> (u64, u64) {
        self.memo.stats()
    }

    /// Lookups so far of the table's explained outcomes: (hits, misses).
    pub fn outcome_stats(&self) -> (u64, u64) {
        self.outcomes.stats()
    }

    fn via(&self) -> Via<'_> {
        match &self.table {
            Ok(table) => Via::Table(table),
            Err(_) => Via::Cedar(&self.memo),
        }
    }

    /// The facts the policies see for `request` (whose reason raised `flags`), and the
    /// parts of it that were not understood.
    pub(crate) fn resolve<'a>(
        &'a self,
        request: &'a AccessRequest,
        flags: &'a [&'a str],
    ) -> (Facts<'a>, Vec<String>) {
        let mut problems = request.unrecognized_words();
        let agency = self.registry.agency(&request.principal.agency);
        if agency.is_none() {
            problems.push(format!(
                "agency {:?} is not in the deployment's agency registry: register it in a pack's {}",
                request.principal.agency,
                crate::pack::AGENCIES_FILE
            ));
        }
        let dataset_kind = self.datasets.kind_of(&request.resource.dataset);
        if dataset_kind.is_none() {
            problems.push(format!(
                "dataset {:?} is not in the deployment's dataset registry: add it to a pack's {}",
                request.resource.dataset,
                crate::pack::DATASETS_FILE
            ));
        }
        let record = request.authority.record.as_deref().unwrap_or("");
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
            authority_court: request.authority.court.policy_word(),
            authority_matter: request.authority.matter.policy_word(),
            authority_registered: request.authority.registration.is_some(),
            authority_record: record,
            authority_names_path: crate::engine::authority_names_path(
                &request.resource.path,
                record,
            ),
            filters_status: request.resource.filters_status(),
            flags,
        };
        (facts, problems)
    }

    fn decide_with(&self, request: &AccessRequest, screening: Screening, via: Via<'_>) -> Decision {
        let flags = flag_words(&screening);
        let (facts, mut problems) = self.resolve(request, &flags);
        let mut decision = match via {
            Via::Table(table) => self.tabulated(table, &facts),
            Via::Cedar(memo) => self.memoized(memo, &facts),
        };
        decision.screen = screening;
        problems.append(&mut decision.problems);
        decision.problems = problems;
        decision
    }

    fn memoized(&self, memo: &Memo, facts: &Facts<'_>) -> Decision {
        let key = self.reads.key(facts);
        match memo.get(&key) {
            Some(stored) => (*stored).clone(),
            None => {
                let (decision, clean) = self.evaluate(facts);
                if clean {
                    memo.put(key, decision.clone());
                }
                decision
            }
        }
    }

    fn tabulated(&self, table: &Table, facts: &Facts<'_>) -> Decision {
        let outcome = table.decide_rules(facts);
        if let Some(stored) = self.outcomes.get(&outcome) {
            return (*stored).clone();
        }
        let (effect, rules) = &outcome;
        let ids = rules.iter().map(|&i| table.rule_id(i).to_owned()).collect();
        let decision = self.decision_of(*effect, ids);
        self.outcomes.put(outcome, decision.clone());
        decision
    }

    /// The compiled table, for the bench's lookup-only row.
    pub(crate) fn compiled_table(&self) -> Option<&Table> {
        self.table.as_ref().ok()
    }

    /// Decides from resolved facts with the decision table; `None` when the stack has
    /// none. The tests compare it with [`Stack::decide_facts`].
    pub fn decide_table(&self, facts: &Facts<'_>) -> Option<Decision> {
        let table = self.table.as_ref().ok()?;
        Some(self.tabulated(table, facts))
    }

    /// Decides from facts already resolved, always asking Cedar: what the grid tests check
    /// the firewall on and compare the table with.
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
        let request = match self.engine.request(facts) {
            Ok(request) => request,
            Err(message) => {
                let problem = format!("the request could not be put to the policies: {message}");
                return (self.unexplained_deny(vec![problem]), false);
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
            return (self.unexplained_deny(errors), false);
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
        (self.decision_of(effect, ids), true)
    }

    /// The explained decision whose deciding policies are `ids` (sorted); none is a deny
    /// because nothing permitted.
    fn decision_of(&self, effect: Effect, ids: Vec<String>) -> Decision {
        if ids.is_empty() {
            return self.unexplained_deny(Vec::new());
        }
        let mut decision = explained(&self.meta, effect, ids);
        let order = |name: &String| self.packs.iter().position(|p| p.name() == name);
        decision.packs.sort_by_key(order);
        decision
    }

    fn unexplained_deny(&self, problems: Vec<String>) -> Decision {
        Decision {
            decision: Effect::Deny,
            policies: Vec::new(),
            packs: Vec::new(),
            rules: Vec::new(),
            citations: Vec::new(),
            obligations: Obligations::default(),
            screen: Screening::default(),
            explanation: vec![format!(
                "The stack {} could not decide this request, so it is denied.",
                self.name()
            )],
            problems,
        }
    }
}

/// How a decision is reached.
#[derive(Clone, Copy)]
enum Via<'a> {
    Table(&'a Table),
    Cedar(&'a Memo),
}

/// A decision whose deciding rules are `ids`, explained from their meta.
pub(crate) fn explained(
    meta: &HashMap<String, PolicyMeta>,
    effect: Effect,
    ids: Vec<String>,
) -> Decision {
    let metas: Vec<&PolicyMeta> = ids.iter().filter_map(|id| meta.get(id)).collect();
    let mut citations: Vec<String> = Vec::new();
    let mut packs: Vec<String> = Vec::new();
    for m in &metas {
        if !citations.contains(&m.citation) {
            citations.push(m.citation.clone());
        }
        if !packs.contains(&m.pack) {
            packs.push(m.pack.clone());
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
        packs,
        rules: metas.iter().map(|m| rule_of(m)).collect(),
        citations,
        obligations: Obligations {
            redact: redact.into_iter().collect(),
        },
        screen: Screening::default(),
        explanation: metas.iter().map(|m| m.explain.clone()).collect(),
        problems: Vec::new(),
    }
}

pub(crate) fn rule_of(m: &PolicyMeta) -> Rule {
    Rule {
        pack: m.pack.clone(),
        id: m.id.clone(),
        basis: m.basis.clone(),
        citation: m.citation.clone(),
        source: m.source.clone(),
        needs_counsel: m.needs_counsel.clone(),
    }
}

fn check_distinct_and_same_schema(packs: &[Pack]) -> Result<(), PolicyError> {
    let first = &packs[0];
    for (i, p) in packs.iter().enumerate() {
        if packs[..i].iter().any(|q| q.name() == p.name()) {
            return Err(PolicyError::Stack {
                message: format!("pack {} is listed twice", p.name()),
            });
        }
        if p.schema_text() != first.schema_text() {
            return Err(PolicyError::Stack {
                message: format!(
                    "{} has a different {} from {}: every pack of a stack carries the same request schema (copy it)",
                    p.name(),
                    crate::pack::SCHEMA_FILE,
                    first.name()
                ),
            });
        }
    }
    Ok(())
}

/// One agency and one dataset registry for the deployment: the union of the packs', where
/// an id defined by two packs must be defined the same way in both.
fn merged_registries(packs: &[Pack]) -> Result<(AgencyRegistry, DatasetRegistry), PolicyError> {
    let mut agencies = AgencyRegistry::default();
    let mut datasets = DatasetRegistry::default();
    let mut agency_from: HashMap<String, &str> = HashMap::new();
    let mut dataset_from: HashMap<String, &str> = HashMap::new();
    for p in packs {
        for (id, a) in &p.registry().agencies {
            if let Some(prev) = agencies.agencies.get(id) {
                if prev != a {
                    return Err(conflict("agency", id, agency_from[id], p.name()));
                }
            }
            agencies.agencies.insert(id.clone(), a.clone());
            agency_from.entry(id.clone()).or_insert(p.name());
        }
        for (id, d) in &p.datasets().datasets {
            if let Some(prev) = datasets.datasets.get(id) {
                if prev.kind != d.kind {
                    return Err(conflict("dataset", id, dataset_from[id], p.name()));
                }
            }
            datasets
                .datasets
                .entry(id.clone())
                .or_insert_with(|| d.clone());
            dataset_from.entry(id.clone()).or_insert(p.name());
        }
    }
    Ok((agencies, datasets))
}

fn conflict(what: &str, id: &str, first: &str, second: &str) -> PolicyError {
    PolicyError::Stack {
        message: format!(
            "{what} {id:?} is defined differently by {first} and {second}: a deployment has one registry, so make the two definitions the same (or drop one)"
        ),
    }
}

/// The free-text fields screened after the reason, each with the label that stands
/// before it in the text a screening's spans count in (see [`Stack::screen_request`]).
pub const SCREENED_AFTER_REASON: [&str; 3] = [" | case: ", " | authority: ", " | record: "];

/// The free-text field of a request that screening read words in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenedField {
    Reason,
    Case,
    AuthorityReference,
    AuthorityRecord,
}

/// The field a flag of [`Stack::screen_request`] starting at byte `start` lies in, so a
/// refusal can tell the requester where the words were (the spans count in the reason
/// followed by the other fields, each after its label).
pub fn screened_field(request: &AccessRequest, start: usize) -> ScreenedField {
    let mut end = request.purpose.reason.len();
    if start < end {
        return ScreenedField::Reason;
    }
    let mut last = ScreenedField::Reason;
    for (label, text) in screened_after_reason(request) {
        end += label.len() + text.len();
        last = field_of_label(label);
        if start < end {
            break;
        }
    }
    last
}

fn field_of_label(label: &str) -> ScreenedField {
    match SCREENED_AFTER_REASON.iter().position(|l| *l == label) {
        Some(0) => ScreenedField::Case,
        Some(1) => ScreenedField::AuthorityReference,
        Some(2) => ScreenedField::AuthorityRecord,
        _ => ScreenedField::Reason,
    }
}

/// The fields of [`SCREENED_AFTER_REASON`] that a request fills, with their labels.
fn screened_after_reason(request: &AccessRequest) -> impl Iterator<Item = (&'static str, &str)> {
    let [case, reference, record] = SCREENED_AFTER_REASON;
    [
        (case, request.purpose.case.as_deref()),
        (reference, request.authority.reference.as_deref()),
        (record, request.authority.record.as_deref()),
    ]
    .into_iter()
    .filter_map(|(label, text)| Some((label, text.filter(|t| !t.trim().is_empty())?)))
}

/// The distinct flag words of a screening, in a fixed order.
pub(crate) fn flag_words(screening: &Screening) -> Vec<&'static str> {
    let mut words: Vec<&'static str> = screening.flags.iter().map(|f| f.flag.as_str()).collect();
    words.sort_unstable();
    words.dedup();
    words
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
