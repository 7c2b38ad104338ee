//! Answering federal requests: each shipped pack decides its `requests/cases.json` as the
//! law expects, and over every combination of document, attachment and ask it complies
//! only with what a judge signed, and cites the law for every other answer.

mod common;

use cordon_policy::federal_cases::{self, Asked};
use cordon_policy::{
    Court, FederalAsk, FederalRequestKind, Matter, RequestPolicies, RequestStack, Response,
};

fn respond(stack: &RequestStack, asked: &Asked) -> cordon_policy::ResponseDecision {
    stack.respond(&asked.question())
}

#[test]
fn every_shipped_pack_answers_its_federal_request_cases_on_its_home_stack() {
    let mut failures = Vec::new();
    for name in common::PACKS {
        let pack = common::load_pack(name);
        let Some(policies) = RequestPolicies::load(&pack).unwrap_or_else(|e| panic!("{name}: {e}"))
        else {
            continue;
        };
        let stack = RequestStack::of(&common::home(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cases =
            federal_cases::load(&policies, &stack).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(cases.len() >= 14, "{name}: only {} cases", cases.len());
        failures.extend(federal_cases::run(&stack, &cases).into_iter().map(|f| {
            format!(
                "{name}: {}: expected {:?} by {:?}, got {:?} by {:?} {:?}",
                f.name,
                f.expected.response,
                f.expected.policies,
                f.got.response,
                f.got.policies,
                f.got.problems
            )
        }));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn kinds() -> Vec<FederalRequestKind> {
    let mut all = FederalRequestKind::ALL.to_vec();
    all.push(FederalRequestKind::Unrecognized("form_x".into()));
    all
}

/// Every subset of the asks vocabulary with at most two asks, all of it, and one with an
/// unknown ask: a rule reads asks one by one or as a whole, so pairs reach every rule and
/// every combination of two.
fn ask_sets() -> Vec<Vec<FederalAsk>> {
    let all = FederalAsk::ALL;
    let mut sets: Vec<Vec<FederalAsk>> = (0u32..1 << all.len())
        .filter(|bits| bits.count_ones() <= 2)
        .map(|bits| {
            (0..all.len())
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| all[i].clone())
                .collect()
        })
        .collect();
    sets.push(all.to_vec());
    sets.push(vec![
        FederalAsk::Transfer,
        FederalAsk::Unrecognized("fingerprints".into()),
    ]);
    sets
}

/// What the stack's statutes open to an immigration agency, written independently of the
/// packs: a federal criminal warrant naming the person (Illinois), a federal judge's
/// warrant or probable-cause finding on federal criminal immigration law naming the
/// person, the discretion of Gov. Code 7282.5 for a notification or transfer, or an
/// interview the person consented to (California).
fn statute_opens(stack: &str, a: &Asked) -> bool {
    let has = |k: &FederalRequestKind| a.kind == *k || a.attached.contains(k);
    let asks_only = |allowed: &[FederalAsk]| a.asks.iter().all(|x| allowed.contains(x));
    match stack {
        "california" => {
            let judge = (has(&FederalRequestKind::JudicialWarrant)
                || has(&FederalRequestKind::ProbableCauseDetermination))
                && a.court == Court::Federal
                && a.matter == Matter::CriminalImmigration
                && a.names_subject;
            let discretion =
                a.conviction && asks_only(&[FederalAsk::ReleaseDate, FederalAsk::Transfer]);
            let interview =
                has(&FederalRequestKind::WrittenConsent) && asks_only(&[FederalAsk::Interview]);
            judge || discretion || interview
        }
        _ => {
            has(&FederalRequestKind::JudicialWarrant)
                && a.court == Court::Federal
                && matches!(a.matter, Matter::Criminal | Matter::CriminalImmigration)
                && a.names_subject
        }
    }
}

#[test]
fn stacks_comply_with_immigration_agents_only_as_the_statutes_open_and_cite_every_decline() {
    let courts = [
        Court::Federal,
        Court::State,
        Court::ImmigrationCourt,
        Court::NotRecorded,
    ];
    let matters = [Matter::Criminal, Matter::CriminalImmigration, Matter::Civil];
    for (name, packs) in common::STACKS {
        let stack = common::request_stack(packs);
        let mut complied = 0;
        // Capped: see `common::Grid` for how many points CI decides, and why.
        let mut grid = common::Grid::from_env();
        for agency in ["ice-ero", "usms", "not-registered"] {
            for kind in kinds() {
                for attached in [
                    vec![],
                    vec![FederalRequestKind::WrittenConsent],
                    vec![FederalRequestKind::JudicialWarrant],
                ] {
                    for (court, matter) in courts
                        .iter()
                        .flat_map(|c| matters.iter().map(move |m| (c, m)))
                    {
                        for asks in ask_sets() {
                            for (names_subject, conviction) in [(true, false), (false, true)] {
                                if !grid.take() {
                                    continue;
                                }
                                let asked = Asked {
                                    agency: agency.into(),
                                    on_behalf_of: (agency == "usms").then(|| "ice-ero".into()),
                                    kind: kind.clone(),
                                    attached: attached.clone(),
                                    court: court.clone(),
                                    matter: matter.clone(),
                                    names_subject,
                                    asks: asks.clone(),
                                    conviction,
                                };
                                let got = respond(&stack, &asked);
                                assert!(
                                    !got.citations.is_empty(),
                                    "{name}: no citation for {asked:?}"
                                );
                                if got.response != Response::Comply {
                                    continue;
                                }
                                complied += 1;
                                let moves =
                                    asked.asks.iter().any(|a| *a != FederalAsk::Certification);
                                assert!(
                                    !moves || statute_opens(name, &asked),
                                    "{name}: complies with {asked:?}: {:?}",
                                    got.policies
                                );
                                assert!(
                                    agency != "not-registered" && !asked.asks.is_empty(),
                                    "{name}: complies with an unknown input {asked:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
        assert!(
            grid.visited() > 100_000
                && grid.decided() >= grid.visited() / common::Grid::STRIDE
                && complied > 0,
            "{name}: {} of {} decided, {complied} complied",
            grid.decided(),
            grid.visited()
        );
    }
}

#[test]
fn california_never_complies_with_a_hold_on_a_conviction_alone() {
    let stack = common::request_stack(&["california-values-act"]);
    for kind in kinds() {
        for asks in ask_sets()
            .into_iter()
            .filter(|a| a.contains(&FederalAsk::Hold))
        {
            let asked = Asked {
                agency: "ice-ero".into(),
                on_behalf_of: None,
                kind: kind.clone(),
                attached: vec![],
                court: Court::NotRecorded,
                matter: Matter::NotRecorded,
                names_subject: false,
                asks,
                conviction: true,
            };
            assert_eq!(
                respond(&stack, &asked).response,
                Response::Decline,
                "{asked:?}"
            );
        }
    }
}

#[test]
fn a_stack_without_request_policies_says_which_folder_is_missing() {
    let err = RequestStack::of(&common::stack(&["illinois-alpr-2-130"])).map(|_| ());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.to_string().contains("requests/ folder")),
        "{err:?}"
    );
}

#[test]
fn a_response_policy_without_a_citation_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pack = dir.path().join("illinois-trust-act");
    std::fs::create_dir_all(pack.join("requests")).unwrap_or_else(|e| panic!("{e}"));
    let from = common::pack_dir("illinois-trust-act");
    for file in [
        "pack.json",
        "agencies.json",
        "datasets.json",
        "schema.cedarschema",
        "baseline.cedar",
        "requests/schema.cedarschema",
    ] {
        std::fs::copy(from.join(file), pack.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    std::fs::write(
        pack.join("requests/respond.cedar"),
        "@id(\"x\") @basis(\"state_law\") @source(\"s\") @explain(\"y\")\npermit (principal, action == Action::\"respond\", resource);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let loaded = cordon_policy::Pack::load(&pack).unwrap_or_else(|e| panic!("{e}"));
    let err = RequestPolicies::load(&loaded).map(|_| ());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.to_string().contains("@citation")),
        "{err:?}"
    );
}
