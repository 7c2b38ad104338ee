//! The firewall property, proved with Cedar's symbolic compiler and the cvc5 SMT solver
//! for every request any client could send, not only the ones a test enumerates: for each
//! shipped pack, every allowed request whose purpose is civil immigration enforcement or
//! whose agency is a federal immigration agency is a read of the one record a judicial
//! warrant or court order names; and every request with an unknown input is denied.
//!
//! The `symcc` feature is on by default; the proof needs cvc5 (`CVC5=/path/to/cvc5` or `cvc5`
//! on PATH; `.ci/run` installs Debian's).
//! Without cvc5 the tests fail rather than skip: a proof that did not run proves nothing.
#![cfg(feature = "symcc")]

mod common;

use cedar_policy::{Policy, PolicyId, PolicySet};
use cedar_policy_symcc::{solver::LocalSolver, CedarSymCompiler, CompiledPolicySet};

const IMMIGRATION: &str = r#"context.purpose == "civil_immigration_enforcement" ||
    context.agency_kind == "federal_immigration""#;
const JUDICIAL_READ: &str = r#"permit (principal, action == Action::"read", resource) when {
    (context.authority == "judicial_warrant" || context.authority == "court_order") &&
    context.authority_names_path };"#;
const UNKNOWN: &str = r#"context.agency_kind == "unregistered" ||
    context.dataset_kind == "unregistered" || context.purpose == "missing" ||
    context.purpose == "unrecognized" || context.authority == "unrecognized" ||
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

fn prove(name: &str) {
    let pack = common::load(name);
    let schema = pack.schema();
    let immigration = restricted(pack.policy_set(), IMMIGRATION);
    let unknown = restricted(pack.policy_set(), UNKNOWN);
    let judicial = PolicySet::from_policies([policy("judicial-read", JUDICIAL_READ)])
        .unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let solver = LocalSolver::cvc5().unwrap_or_else(|e| {
            panic!("cvc5 is needed for the proof (set CVC5 or put cvc5 on PATH): {e}")
        });
        let mut compiler = CedarSymCompiler::new(solver).unwrap_or_else(|e| panic!("{e}"));
        let mut envs = 0;
        for env in schema.request_envs() {
            envs += 1;
            let typed = |ps: &PolicySet| {
                CompiledPolicySet::compile(ps, &env, schema).unwrap_or_else(|e| panic!("{e}"))
            };
            let counterexample = compiler
                .check_implies_with_counterexample_opt(&typed(&immigration), &typed(&judicial))
                .await
                .unwrap_or_else(|e| panic!("{name}: solver failed: {e}"));
            assert!(
                counterexample.is_none(),
                "{name}: {} allows immigration access without judicial authority: {:?}",
                env.action(),
                counterexample.map(|c| c.request)
            );
            let always_denies = compiler
                .check_always_denies_opt(&typed(&unknown))
                .await
                .unwrap_or_else(|e| panic!("{name}: solver failed: {e}"));
            assert!(
                always_denies,
                "{name}: {} allows a request with an unknown input",
                env.action()
            );
        }
        assert_eq!(
            envs, 5,
            "{name}: expected one request environment per action"
        );
    });
}

#[test]
fn chicago_proves_no_immigration_access_without_a_judge() {
    prove("chicago-welcoming-city");
}

#[test]
fn illinois_proves_no_immigration_access_without_a_judge() {
    prove("illinois-trust-act");
}

#[test]
fn california_proves_no_immigration_access_without_a_judge() {
    prove("california-values-act");
}

#[test]
fn the_proof_can_fail_a_pack_that_lets_ice_search() {
    // Guards the proof against passing vacuously: a pack with one extra permit for ICE
    // searches must be caught.
    let pack = common::load("chicago-welcoming-city");
    let leaky = PolicySet::from_policies(pack.policy_set().policies().cloned().chain([policy(
        "leak",
        r#"permit (principal, action == Action::"search", resource) when { context.agency_kind == "federal_immigration" };"#,
    )]));
    let leaky = leaky.unwrap_or_else(|e| panic!("{e}"));
    // With the Chicago forbid in place the leak is overridden, so remove that forbid too.
    let without_forbid = PolicySet::from_policies(
        leaky
            .policies()
            .filter(|p| p.id().to_string() != "chicago-2-173-030b-immigration-agency")
            .cloned(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let schema = pack.schema();
    let immigration = restricted(&without_forbid, IMMIGRATION);
    let judicial = PolicySet::from_policies([policy("judicial-read", JUDICIAL_READ)])
        .unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let caught = runtime.block_on(async {
        let solver = LocalSolver::cvc5().unwrap_or_else(|e| panic!("cvc5 is needed: {e}"));
        let mut compiler = CedarSymCompiler::new(solver).unwrap_or_else(|e| panic!("{e}"));
        let env = schema
            .request_envs()
            .find(|e| e.action().to_string().contains("search"))
            .unwrap_or_else(|| panic!("no search environment"));
        let typed = |ps: &PolicySet| {
            CompiledPolicySet::compile(ps, &env, schema).unwrap_or_else(|e| panic!("{e}"))
        };
        compiler
            .check_implies_with_counterexample_opt(&typed(&immigration), &typed(&judicial))
            .await
            .unwrap_or_else(|e| panic!("solver failed: {e}"))
    });
    assert!(
        caught.is_some(),
        "the proof did not catch an ICE search permit"
    );
}

const JUDGE_SIGNED: &str = r#"permit (principal, action == Action::"respond", resource) when {
    ["judicial_warrant", "court_order"].contains(context.kind) ||
    context.attached.containsAny(["judicial_warrant", "court_order"]) };"#;

/// Every federal request a pack's `requests/` policies comply with carries a document a
/// judge signed: proved for every request, not only the ones the tests list.
fn prove_responses(name: &str) {
    let policies = cordon_policy::RequestPolicies::load(&common::pack_dir(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let counterexample = response_counterexample(&policies, policies.policy_set());
    assert!(
        counterexample.is_none(),
        "{name}: complies with a federal request no judge signed: {counterexample:?}"
    );
}

/// A request the given response policies comply with although no judge signed it.
fn response_counterexample(
    policies: &cordon_policy::RequestPolicies,
    set: &PolicySet,
) -> Option<String> {
    let schema = policies.schema();
    let judge_signed = PolicySet::from_policies([policy("judge-signed", JUDGE_SIGNED)])
        .unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let solver = LocalSolver::cvc5().unwrap_or_else(|e| panic!("cvc5 is needed: {e}"));
        let mut compiler = CedarSymCompiler::new(solver).unwrap_or_else(|e| panic!("{e}"));
        let envs: Vec<_> = schema.request_envs().collect();
        assert_eq!(envs.len(), 1, "expected only the respond action");
        let env = &envs[0];
        let typed = |ps: &PolicySet| {
            CompiledPolicySet::compile(ps, env, schema).unwrap_or_else(|e| panic!("{e}"))
        };
        compiler
            .check_implies_with_counterexample_opt(&typed(set), &typed(&judge_signed))
            .await
            .unwrap_or_else(|e| panic!("solver failed: {e}"))
            .map(|c| format!("{:?}", c.request))
    })
}

#[test]
fn the_response_proof_can_fail_a_pack_that_honours_detainers() {
    // Guards the proof against passing vacuously.
    let policies = cordon_policy::RequestPolicies::load(&common::pack_dir("illinois-trust-act"))
        .unwrap_or_else(|e| panic!("{e}"));
    let leaky = PolicySet::from_policies([policy(
        "honour-detainers",
        r#"permit (principal, action == Action::"respond", resource) when { context.kind == "detainer_i247a" };"#,
    )])
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        response_counterexample(&policies, &leaky).is_some(),
        "the proof did not catch a permit for detainers"
    );
}

#[test]
fn every_pack_complies_only_with_federal_requests_a_judge_signed() {
    for name in common::PACKS {
        prove_responses(name);
    }
}
