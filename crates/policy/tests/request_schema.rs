//! `policies/request.schema.json` is what integrators read to build a request: its
//! vocabularies must be exactly the ones the policy crate accepts, so a word added to one
//! (a new authority kind, a court) cannot be missing from the other.
#![allow(clippy::unwrap_used)]

use cordon_policy::{Action, AuthorityKind, Court, Matter, PurposeCode};
use serde_json::Value;
use std::path::Path;

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/request.schema.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The enum of the first `anyOf` branch of `at`.
fn words(at: &Value) -> Vec<String> {
    at["anyOf"][0]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no vocabulary at {at}"))
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn owned(w: &[&str]) -> Vec<String> {
    sorted(w.iter().map(|s| s.to_string()).collect())
}

#[test]
fn the_request_schema_carries_every_vocabulary_word_and_no_other() {
    let s = schema();
    let p = &s["properties"];
    assert_eq!(sorted(words(&p["action"])), owned(Action::WORDS));
    assert_eq!(
        sorted(words(&p["purpose"]["properties"]["code"])),
        owned(PurposeCode::WORDS)
    );
    let a = &p["authority"]["properties"];
    assert_eq!(sorted(words(&a["kind"])), owned(AuthorityKind::WORDS));
    assert_eq!(sorted(words(&a["court"])), owned(Court::WORDS));
    assert_eq!(sorted(words(&a["matter"])), owned(Matter::WORDS));
}

#[test]
fn the_request_schema_describes_a_registration_as_the_parser_reads_it() {
    let s = schema();
    let r = &s["properties"]["authority"]["properties"]["registration"];
    let mut fields: Vec<&str> = r["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["entry", "expires", "sha256"]);
    let request = r#"{"principal":{"id":"a","agency":"cpd"},"action":"read","resource":{"dataset":"arrests","path":"x","filters":["citizenship"]},
        "authority":{"kind":"judicial_warrant","court":"federal","matter":"criminal","reference":"r","record":"x",
        "registration":{"entry":7,"sha256":"ab","expires":"2027-12-31"}}}"#;
    let parsed = cordon_policy::AccessRequest::from_json_str(request).unwrap();
    assert_eq!(parsed.authority.registration.map(|g| g.entry), Some(7));
    assert!(parsed.resource.filters_status());
}
