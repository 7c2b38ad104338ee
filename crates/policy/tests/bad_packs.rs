//! A broken pack is refused at load with a message that names the file and the problem.

mod common;

use cordon_policy::{Pack, PolicyError};
use std::path::Path;

fn copy_pack(to: &Path) {
    let from = common::pack_dir("chicago-welcoming-city");
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let _ = std::fs::copy(entry.path(), to.join(entry.file_name()));
    }
    // pack.json names the stack the Chicago pack belongs to by folder name: the copy, in
    // a folder of another name, is a standalone pack.
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned());
    let _ = std::fs::write(
        to.join("pack.json"),
        format!(
            r#"{{"title": "a copy of the Chicago pack", "governs": {{"dataset_kinds": "*", "actions": "*"}}, "stack": [{:?}]}}"#,
            name.unwrap_or_default()
        ),
    );
}

fn load_error(edit: impl FnOnce(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_pack(dir.path());
    edit(dir.path());
    match Pack::load(dir.path()) {
        Ok(_) => panic!("a broken pack loaded"),
        Err(err) => err.to_string(),
    }
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_policy_that_does_not_parse_names_its_file() {
    let message = load_error(|d| {
        write(
            d,
            "extra.cedar",
            "permit (principal, action, resource) when {",
        )
    });
    assert!(
        message.contains("extra.cedar") && message.contains("does not parse"),
        "{message}"
    );
}

#[test]
fn a_policy_using_an_attribute_the_schema_lacks_fails_strict_validation() {
    let message = load_error(|d| {
        write(
            d,
            "extra.cedar",
            "@id(\"x\") @citation(\"c\") @basis(\"city_ordinance\") @source(\"s\") @explain(\"e\")\npermit (principal, action, resource) when { context.agency_type == \"local_police\" };",
        )
    });
    assert!(
        message.contains("strict") && message.contains("agency_type"),
        "{message}"
    );
}

#[test]
fn a_policy_without_a_citation_is_refused() {
    let message = load_error(|d| {
        write(
            d,
            "extra.cedar",
            "@id(\"x\") @explain(\"e\")\nforbid (principal, action, resource);",
        )
    });
    assert!(
        message.contains("extra.cedar") && message.contains("@citation"),
        "{message}"
    );
}

#[test]
fn two_policies_with_one_id_are_refused() {
    let message = load_error(|d| {
        write(
            d,
            "extra.cedar",
            "@id(\"baseline-unknown-input\") @citation(\"c\") @basis(\"city_ordinance\") @source(\"s\") @explain(\"e\")\nforbid (principal, action, resource);",
        )
    });
    assert!(
        message.contains("baseline-unknown-input") && message.contains("twice"),
        "{message}"
    );
}

#[test]
fn a_schema_that_does_not_parse_is_named() {
    let message = load_error(|d| write(d, "schema.cedarschema", "entity Principal {"));
    assert!(message.contains("schema.cedarschema"), "{message}");
}

#[test]
fn a_registry_with_an_unknown_agency_kind_is_refused_with_the_accepted_kinds() {
    let message = load_error(|d| {
        write(
            d,
            "agencies.json",
            r#"{"agencies":{"x":{"name":"X","kind":"sheriff"}}}"#,
        )
    });
    assert!(
        message.contains("sheriff") && message.contains("local_police"),
        "{message}"
    );
}

#[test]
fn a_folder_without_policies_is_not_a_pack() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let err = Pack::load(dir.path()).err();
    assert!(
        matches!(err, Some(PolicyError::MissingFile { .. })),
        "{err:?}"
    );
}
