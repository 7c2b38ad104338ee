//! The firewall property, proved with Cedar's symbolic compiler and the cvc5 SMT solver
//! for every request any client could send, not only the ones a test enumerates, on each
//! shipped stack exactly as it is layered for decisions: every allowed request whose
//! purpose is civil immigration enforcement, whose agency is an immigration agency, whose
//! reason screens as immigration or that filters on status is a read of the one record a
//! registered federal criminal warrant names (the process the TRUST Act and, for federal
//! process, the California Values Act name); every request with an unknown input is
//! denied; and every federal request a stack complies with for an immigration agency
//! carries the process its statute names.
//!
//! The `symcc` feature is on by default; the proof needs cvc5 (`CVC5=/path/to/cvc5` or `cvc5`
//! on PATH; `.ci/run` installs Debian's).
//! Without cvc5 the tests fail rather than skip: a proof that did not run proves nothing.
#![cfg(feature = "symcc")]

mod common;

use cedar_policy::{Policy, PolicyId, PolicySet, Schema};
use cedar_policy_symcc::{solver::LocalSolver, CedarSymCompiler, CompiledPolicySet};

const IMMIGRATION: &str = r#"context.purpose == "civil_immigration_enforcement" ||
    context.agency_kind == "federal_immigration" ||
    context.agency_kind == "immigration_task_force" ||
    context.flags.contains("civil_immigration") ||
    context.filters_status"#;
const FEDERAL_CRIMINAL_WARRANT_READ: &str = r#"permit (principal, action == Action::"read", resource) when {
    context.authority_registered &&
    context.authority == "judicial_warrant" &&
    context.authority_court == "federal" &&
    (context.authority_matter == "criminal" || context.authority_matter == "criminal_immigration") &&
    context.authority_names_path };"#;
const UNKNOWN: &str = r#"context.agency_kind == "unregistered" ||
    context.dataset_kind == "unregistered" || context.purpose == "missing" ||
    context.purpose == "unrecognized" || context.authority == "unrecognized" ||
    context.authority_court == "unrecognized" || context.authority_matter == "unrecognized" ||
    action == Action::"unrecognized""#;

fn policy(id: &str, text: &str) -> Policy {
    Policy::parse(Some(PolicyId::new(id)), text).unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// The pack's policies, restricted to requests where `condition` holds.
fn restricted(pack: &PolicySet, condition: &str) -> PolicySet {
    let only = policy(
        "proof-restriction",
        &format!("forbid (principal, action, resource) unless {{ {condition} }};"),
    );
    PolicySet::from_policies(pack.policies().cloned().chain([only]))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn solver() -> LocalSolver {
    LocalSolver::cvc5().unwrap_or_else(|e| {
        panic!("cvc5 is needed for the proof (set CVC5 or put cvc5 on PATH): {e}")
    })
}

/// A request of `set` that `spec` does not allow, for the environment of `action`, or of
/// every action when `action` is `None`.
fn counterexample(
    schema: &Schema,
    set: &PolicySet,
    spec: &PolicySet,
    action: Option<&str>,
) -> Option<String> {
    runtime().block_on(async {
        let mut compiler = CedarSymCompiler::new(solver()).unwrap_or_else(|e| panic!("{e}"));
        for env in schema.request_envs() {
            if action.is_some_and(|a| !env.action().to_string().contains(a)) {
                continue;
            }
            let typed = |ps: &PolicySet| {
                CompiledPolicySet::compile(ps, &env, schema).unwrap_or_else(|e| panic!("{e}"))
            };
            let found = compiler
                .check_implies_with_counterexample_opt(&typed(set), &typed(spec))
                .await
                .unwrap_or_else(|e| panic!("solver failed: {e}"));
            if let Some(c) = found {
                return Some(format!("{}: {:?}", env.action(), c.request));
            }
        }
        None
    })
}

fn prove(stack_name: &str, packs: &[&str]) {
    let stack = common::stack(packs);
    let schema = stack.schema();
    assert_eq!(
        schema.request_envs().count(),
        5,
        "one request environment per action"
    );
    let immigration = restricted(stack.policy_set(), IMMIGRATION);
    let door = PolicySet::from_policies([policy("door", FEDERAL_CRIMINAL_WARRANT_READ)])
        .unwrap_or_else(|e| panic!("{e}"));
    let leak = counterexample(schema, &immigration, &door, None);
    assert!(
        leak.is_none(),
        "{stack_name}: allows immigration access the statutes do not open: {leak:?}"
    );
    let unknown = restricted(stack.policy_set(), UNKNOWN);
    let nothing = PolicySet::new();
    let leak = counterexample(schema, &unknown, &nothing, None);
    assert!(
        leak.is_none(),
        "{stack_name}: allows a request with an unknown input: {leak:?}"
    );
}

#[test]
fn chicago_stack_proves_no_immigration_access_beyond_what_the_statutes_open() {
    prove("chicago", common::STACKS[0].1);
}

#[test]
fn illinois_stack_proves_no_immigration_access_beyond_what_the_statutes_open() {
    prove("illinois", common::STACKS[1].1);
}

#[test]
fn california_stack_proves_no_immigration_access_beyond_what_the_statutes_open() {
    prove("california", common::STACKS[2].1);
}

#[test]
fn the_proof_can_fail_a_stack_that_lets_ice_search() {
    // Guards the proof against passing vacuously: the Chicago pack with the City's and the
    // TRUST Act's agency rules removed and a permit for ICE searches must be caught.
    let chicago = common::stack(common::STACKS[0].1);
    let leaky = PolicySet::from_policies(
        chicago
            .policy_set()
            .policies()
            .filter(|p| {
                let id = p.id().to_string();
                !id.ends_with("chicago-ice-cbp-no-access")
                    && !id.ends_with("il-805-15-immigration-agent-databases")
                    && !id.ends_with("/no-rule-permits")
            })
            .cloned()
            .chain([policy(
                "leak",
                r#"permit (principal, action == Action::"search", resource) when { context.agency_kind == "federal_immigration" };"#,
            )]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let door = PolicySet::from_policies([policy("door", FEDERAL_CRIMINAL_WARRANT_READ)])
        .unwrap_or_else(|e| panic!("{e}"));
    let caught = counterexample(
        chicago.schema(),
        &restricted(&leaky, IMMIGRATION),
        &door,
        Some("search"),
    );
    assert!(
        caught.is_some(),
        "the proof did not catch an ICE search permit"
    );
}

#[test]
fn the_proof_can_fail_a_stack_that_honours_a_state_warrant_for_ice() {
    // The judge-signed door wider than the TRUST Act's: any registered judicial warrant.
    let illinois = common::stack(common::STACKS[1].1);
    let wide = PolicySet::from_policies(
        illinois
            .policy_set()
            .policies()
            .filter(|p| !p.id().to_string().ends_with("il-805-15-immigration-agent-databases"))
            .cloned()
            .chain([policy(
                "wide-door",
                r#"permit (principal, action == Action::"read", resource) when { context.authority_registered && context.authority == "judicial_warrant" && context.authority_names_path };"#,
            )]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let door = PolicySet::from_policies([policy("door", FEDERAL_CRIMINAL_WARRANT_READ)])
        .unwrap_or_else(|e| panic!("{e}"));
    let caught = counterexample(
        illinois.schema(),
        &restricted(&wide, IMMIGRATION),
        &door,
        Some("read"),
    );
    assert!(
        caught.is_some(),
        "the proof did not catch a state warrant opening ICE's door"
    );
}

const IMMIGRATION_ASKS: &str = r#"(
    ["federal_immigration", "immigration_task_force"].contains(context.agency_kind) ||
    ["federal_immigration", "immigration_task_force"].contains(context.on_behalf_kind)
  ) && context.asks.containsAny(["custody_status", "release_date", "address",
    "criminal_history", "interview", "access", "hold", "transfer"])"#;

/// What each stack's statutes open to an immigration agency's request that moves a person
/// or information about one.
fn named_process(stack: &str) -> &'static str {
    match stack {
        "california" => {
            r#"permit (principal, action == Action::"respond", resource) when {
            ((["judicial_warrant", "probable_cause_determination"].containsAny([context.kind]) ||
              context.attached.containsAny(["judicial_warrant", "probable_cause_determination"])) &&
             context.court == "federal" && context.matter == "criminal_immigration" &&
             context.names_subject) ||
            (context.conviction && ["release_date", "transfer"].containsAll(context.asks)) ||
            ((context.kind == "written_consent" || context.attached.contains("written_consent")) &&
             context.asks == ["interview"]) };"#
        }
        _ => {
            r#"permit (principal, action == Action::"respond", resource) when {
            (context.kind == "judicial_warrant" || context.attached.contains("judicial_warrant")) &&
            context.court == "federal" &&
            (context.matter == "criminal" || context.matter == "criminal_immigration") &&
            context.names_subject };"#
        }
    }
}

fn response_counterexample(
    stack: &cordon_policy::RequestStack,
    set: &PolicySet,
    name: &str,
) -> Option<String> {
    let spec = PolicySet::from_policies([policy("named-process", named_process(name))])
        .unwrap_or_else(|e| panic!("{e}"));
    counterexample(
        stack.schema(),
        &restricted(set, IMMIGRATION_ASKS),
        &spec,
        None,
    )
}

#[test]
fn every_stack_complies_with_immigration_agents_only_on_the_process_its_statutes_name() {
    for (name, packs) in common::STACKS {
        let stack = common::request_stack(packs);
        let leak = response_counterexample(&stack, stack.policy_set(), name);
        assert!(
            leak.is_none(),
            "{name}: complies beyond the named process: {leak:?}"
        );
    }
}

#[test]
fn the_response_proof_can_fail_a_stack_that_honours_detainers() {
    let stack = common::request_stack(common::STACKS[1].1);
    let leaky = PolicySet::from_policies([policy(
        "honour-detainers",
        r#"permit (principal, action == Action::"respond", resource) when { context.kind == "detainer_i247a" };"#,
    )])
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        response_counterexample(&stack, &leaky, "illinois").is_some(),
        "the proof did not catch a permit for detainers"
    );
}

#[test]
fn the_response_proof_can_fail_a_stack_that_honours_any_court_order() {
    // The old, wider door: any judicial warrant or court order, whoever issued it.
    let stack = common::request_stack(common::STACKS[2].1);
    let wide = PolicySet::from_policies([policy(
        "any-court",
        r#"permit (principal, action == Action::"respond", resource) when { ["judicial_warrant", "court_order"].contains(context.kind) };"#,
    )])
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        response_counterexample(&stack, &wide, "california").is_some(),
        "the proof did not catch the any-court door"
    );
}
