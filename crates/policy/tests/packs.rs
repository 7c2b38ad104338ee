//! The shipped packs load, validate, and decide every one of their cases as the law expects.

mod common;

use cordon_policy::{cases, AccessRequest, Effect};

#[test]
fn every_shipped_pack_passes_all_its_cases() {
    for name in common::PACKS {
        let pack = common::load(name);
        let all = cases::load(&pack).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(all.len() >= 30, "{name} has only {} cases", all.len());
        let failures: Vec<String> = cases::run(&pack, &all)
            .into_iter()
            .map(|f| {
                format!(
                    "{}: expected {:?}, got {:?} by {:?}",
                    f.name, f.expected, f.got.decision, f.got.policies
                )
            })
            .collect();
        assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
    }
}

#[test]
fn every_pack_policy_carries_a_citation_and_an_explanation() {
    for name in common::PACKS {
        let pack = common::load(name);
        for policy in pack.policy_set().policies() {
            let id = policy.id().to_string();
            let meta = pack
                .policy_meta(&id)
                .unwrap_or_else(|| panic!("{name}: {id} has no meta"));
            assert!(
                !meta.citation.is_empty() && !meta.explain.is_empty(),
                "{name}: {id}"
            );
        }
    }
}

fn request(json: &str) -> AccessRequest {
    AccessRequest::from_json_str(json).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_side_door_denial_cites_the_ordinance_and_shows_the_words_that_triggered_it() {
    let pack = common::load("chicago-welcoming-city");
    let decision = pack.decide(&request(
        r#"{"principal":{"id":"po-1","agency":"cpd"},"action":"search","resource":{"dataset":"alpr"},
            "purpose":{"code":"criminal_investigation","reason":"assist ICE with locate","case":"RD-1"}}"#,
    ));
    assert_eq!(decision.decision, Effect::Deny);
    assert!(decision
        .citations
        .iter()
        .any(|c| c.contains("2-173-030(b)")));
    let flag = &decision.screen.flags[0];
    assert_eq!((flag.start, flag.end, flag.term.as_str()), (7, 10, "ICE"));
    assert!(!decision.explanation.is_empty());
}

#[test]
fn an_allow_carries_the_redaction_obligation() {
    let pack = common::load("illinois-trust-act");
    let decision = pack.decide(&request(
        r#"{"principal":{"id":"po-1","agency":"cpd"},"action":"read","resource":{"dataset":"arrests","path":"arrests/1"},
            "purpose":{"code":"victim_services","reason":"U visa certification - DV victim"}}"#,
    ));
    assert_eq!(decision.decision, Effect::Allow);
    assert!(decision
        .obligations
        .redact
        .contains(&"immigration_status".to_owned()));
    assert!(decision
        .obligations
        .redact
        .contains(&"place_of_birth".to_owned()));
}

#[test]
fn the_agency_kind_comes_from_the_registry_not_the_request() {
    let pack = common::load("chicago-welcoming-city");
    // A client cannot smuggle a kind in: the field does not exist and is rejected.
    let smuggled = AccessRequest::from_json_str(
        r#"{"principal":{"id":"x","agency":"ice-ero","kind":"local_police"},"action":"search","resource":{"dataset":"arrests"}}"#,
    );
    assert!(smuggled.is_err());
    assert_eq!(
        pack.registry().kind_of("ice-ero").map(|k| k.policy_word()),
        Some("federal_immigration")
    );
}

#[test]
fn a_decision_serializes_to_the_documented_shape() {
    let pack = common::load("california-values-act");
    let decision = pack.decide(&request(
        r#"{"principal":{"id":"a","agency":"lapd"},"action":"search","resource":{"dataset":"alpr"},
            "purpose":{"code":"criminal_investigation","reason":"stolen vehicle"}}"#,
    ));
    let json = serde_json::to_value(&decision).unwrap_or_default();
    for key in [
        "decision",
        "policies",
        "citations",
        "obligations",
        "screen",
        "explanation",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }
    assert_eq!(json["decision"], "allow");
    assert!(json["screen"]["flags"]
        .as_array()
        .is_some_and(|f| f.is_empty()));
}

#[test]
fn a_remembered_decision_equals_the_one_cedar_gives_afresh() {
    for name in common::PACKS {
        let pack = common::load(name);
        let all = cases::load(&pack).unwrap_or_else(|e| panic!("{name}: {e}"));
        for _round in 0..2 {
            for case in &all {
                assert_eq!(
                    pack.decide(&case.request),
                    pack.decide_uncached(&case.request),
                    "{name}: {}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn a_policy_that_reads_the_path_makes_the_memo_tell_paths_apart() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let from = common::pack_dir("chicago-welcoming-city");
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let _ = std::fs::copy(entry.path(), dir.path().join(entry.file_name()));
    }
    let sealed = "@id(\"sealed-record\") @citation(\"court sealing order\") @explain(\"sealed\")\n\
                  forbid (principal, action, resource) when { context.path == \"arrests/sealed\" };";
    std::fs::write(dir.path().join("sealed.cedar"), sealed).unwrap_or_else(|e| panic!("{e}"));
    let pack = cordon_policy::Pack::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let read = |path: &str| {
        request(&format!(
            r#"{{"principal":{{"id":"p","agency":"cpd"}},"action":"read","resource":{{"dataset":"arrests","path":"{path}"}},
                "purpose":{{"code":"criminal_investigation","reason":"burglary"}}}}"#
        ))
    };
    assert_eq!(pack.decide(&read("arrests/open")).decision, Effect::Allow);
    assert_eq!(pack.decide(&read("arrests/sealed")).decision, Effect::Deny);
    assert_eq!(pack.decide(&read("arrests/open")).decision, Effect::Allow);
}
