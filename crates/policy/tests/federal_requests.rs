//! Answering federal requests: each shipped pack decides its `requests/cases.json` as the
//! law expects, and over every combination of document, attachment and ask it complies
//! only with what a judge signed, and cites the law for every other answer.

mod common;

use cordon_policy::federal_cases::{self, Asked};
use cordon_policy::{FederalAsk, FederalRequestKind, RequestPolicies, Response};

fn respond(pack: &RequestPolicies, asked: &Asked) -> cordon_policy::ResponseDecision {
    pack.respond(&asked.question())
}

#[test]
fn every_shipped_pack_answers_its_federal_request_cases_as_the_law_expects() {
    for name in common::PACKS {
        let pack = load(name);
        let cases = federal_cases::load(&pack).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(cases.len() >= 15, "{name}: only {} cases", cases.len());
        let failures: Vec<String> = federal_cases::run(&pack, &cases)
            .into_iter()
            .map(|f| {
                format!(
                    "{}: expected {:?} by {:?}, got {:?} by {:?}",
                    f.name,
                    f.expected.response,
                    f.expected.policies,
                    f.got.response,
                    f.got.policies
                )
            })
            .collect();
        assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
    }
}

const JUDICIAL: [FederalRequestKind; 2] = [
    FederalRequestKind::JudicialWarrant,
    FederalRequestKind::CourtOrder,
];

fn kinds() -> Vec<FederalRequestKind> {
    let mut all = FederalRequestKind::ALL.to_vec();
    all.push(FederalRequestKind::Unrecognized("form_x".into()));
    all
}

/// Every subset of the asks vocabulary, plus one with an unknown ask.
fn ask_sets() -> Vec<Vec<FederalAsk>> {
    let all = FederalAsk::ALL;
    let mut sets: Vec<Vec<FederalAsk>> = (0u32..1 << all.len())
        .map(|bits| {
            (0..all.len())
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| all[i].clone())
                .collect()
        })
        .collect();
    sets.push(vec![
        FederalAsk::Transfer,
        FederalAsk::Unrecognized("fingerprints".into()),
    ]);
    sets
}

#[test]
fn packs_comply_only_with_what_a_judge_signed_and_cite_the_law_for_every_decline() {
    for name in common::PACKS {
        let pack = load(name);
        let agencies = ["ice-ero", "cbp", "fbi", "not-registered"];
        let attachments: Vec<Vec<FederalRequestKind>> = std::iter::once(Vec::new())
            .chain(kinds().into_iter().map(|k| vec![k]))
            .collect();
        let (mut complied, mut checked) = (0, 0);
        for agency in agencies {
            for kind in kinds() {
                for attached in &attachments {
                    for asks in ask_sets() {
                        let asked = Asked {
                            agency: agency.into(),
                            kind: kind.clone(),
                            attached: attached.clone(),
                            asks,
                        };
                        let got = respond(&pack, &asked);
                        checked += 1;
                        let judge_signed = JUDICIAL.contains(&asked.kind)
                            || asked.attached.iter().any(|a| JUDICIAL.contains(a));
                        let known = pack.registry().agency(agency).is_some()
                            && asked.kind.is_recognized()
                            && asked.attached.iter().all(|a| a.is_recognized())
                            && !asked.asks.is_empty()
                            && asked.asks.iter().all(|a| a.is_recognized());
                        let expected = if judge_signed && known {
                            Response::Comply
                        } else {
                            Response::Decline
                        };
                        assert_eq!(
                            got.response, expected,
                            "{name}: {agency} {:?} with {:?} asking {:?}",
                            asked.kind, asked.attached, asked.asks
                        );
                        assert!(
                            !got.citations.is_empty(),
                            "{name}: no citation for {agency} {:?} {:?}",
                            asked.kind,
                            asked.asks
                        );
                        complied += usize::from(got.response == Response::Comply);
                    }
                }
            }
        }
        assert!(
            checked > 20_000 && complied > 0,
            "{name}: {checked} checked"
        );
    }
}

fn load(name: &str) -> RequestPolicies {
    RequestPolicies::load(&common::pack_dir(name))
        .unwrap_or_else(|e| panic!("{name}: the request policies do not load: {e}"))
}

#[test]
fn a_pack_without_request_policies_says_which_folder_is_missing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let err = RequestPolicies::load(dir.path()).map(|_| ());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.to_string().contains("requests/ folder")),
        "{err:?}"
    );
}

#[test]
fn a_response_policy_without_a_citation_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let from = common::pack_dir("chicago-welcoming-city");
    let _ = std::fs::copy(from.join("agencies.json"), dir.path().join("agencies.json"));
    std::fs::create_dir(dir.path().join("requests")).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::copy(
        from.join("requests/schema.cedarschema"),
        dir.path().join("requests/schema.cedarschema"),
    );
    std::fs::write(
        dir.path().join("requests/respond.cedar"),
        "@id(\"x\") @explain(\"y\")\npermit (principal, action == Action::\"respond\", resource);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = RequestPolicies::load(dir.path()).map(|_| ());
    assert!(
        err.as_ref()
            .is_err_and(|e| e.to_string().contains("@citation")),
        "{err:?}"
    );
}
