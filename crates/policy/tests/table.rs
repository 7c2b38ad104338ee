//! The decision table answers as Cedar does: on every case of every shipped pack, on
//! random facts (any string, not only the vocabularies), and on crafted packs that read a
//! request's path, which the table must either tell apart or refuse to tabulate.

mod common;

use cordon_policy::engine::authority_names_path;
use cordon_policy::{Facts, Stack};
use proptest::prelude::*;
use std::path::Path;

#[test]
fn every_shipped_stack_compiles_a_table() {
    for (name, packs) in common::STACKS {
        let stack = common::stack(packs);
        let info = stack
            .table()
            .unwrap_or_else(|why| panic!("{name}: no table: {why}"));
        eprintln!(
            "{name}: {} policies, {} leaves, {} cells, {:?}; {:?}",
            info.policies, info.leaves, info.cells, info.took, info.dimensions
        );
        assert!(info.cells > 0 && info.policies > 10, "{name}: {info:?}");
    }
}

#[test]
fn the_table_decides_every_case_of_every_pack_as_cedar_does() {
    for name in common::PACKS {
        let pack = common::load_pack(name);
        let stack = common::home(name);
        assert!(stack.table().is_ok(), "{name} has no table");
        let all =
            cordon_policy::cases::load(&pack, &stack).unwrap_or_else(|e| panic!("{name}: {e}"));
        for case in &all {
            assert_eq!(
                stack.decide(&case.request),
                stack.decide_uncached(&case.request),
                "{name}: {}",
                case.name
            );
        }
    }
}

fn word(words: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        8 => proptest::sample::select(words).prop_map(str::to_owned),
        1 => "[a-z_/*]{0,14}",
    ]
    .boxed()
}

const RECORD: &str = "arrests/2024-001234";

/// Owned facts, from which [`Facts`] are lent.
#[derive(Debug, Clone)]
struct Owned {
    text: Vec<String>,
    bits: Vec<bool>,
    flags: Vec<String>,
}

fn owned() -> impl Strategy<Value = Owned> {
    use cordon_policy::{Action, AgencyKind, AuthorityKind, Court, Matter, PurposeCode};
    let extra: &'static [&'static str] = &["unregistered", "missing", "unrecognized"];
    let join = |a: &'static [&'static str]| -> &'static [&'static str] {
        Box::leak(
            a.iter()
                .chain(extra)
                .copied()
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        )
    };
    let text = (
        word(join(Action::WORDS)),
        word(join(AgencyKind::WORDS)),
        word(join(&[
            "criminal_records",
            "gang_database",
            "plate_reads",
            "clets",
        ])),
        word(join(PurposeCode::WORDS)),
        word(join(AuthorityKind::WORDS)),
        word(join(Court::WORDS)),
        word(join(Matter::WORDS)),
        word(&[RECORD, "arrests/2024-009999", "arrests/*", ""]),
        word(&[RECORD, "arrests/*", ""]),
    )
        .prop_map(|t| vec![t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7, t.8]);
    let flags = proptest::sample::subsequence(
        vec![
            "civil_immigration",
            "reproductive_health",
            "some_other_flag",
        ],
        0..=3,
    )
    .prop_map(|v| v.into_iter().map(str::to_owned).collect());
    (text, proptest::collection::vec(any::<bool>(), 7), flags)
        .prop_map(|(text, bits, flags)| Owned { text, bits, flags })
}

impl Owned {
    fn facts<'a>(&'a self, flags: &'a [&'a str]) -> Facts<'a> {
        let t = |i: usize| self.text[i].as_str();
        Facts {
            principal: "officer-1",
            action: t(0),
            dataset: "arrests",
            agency: "cpd",
            agency_kind: t(1),
            agency_in_state: self.bits[0],
            alpr_declaration: self.bits[1],
            dataset_kind: t(2),
            path: t(7),
            purpose: t(3),
            has_reason: self.bits[2],
            has_case: self.bits[3],
            authority: t(4),
            authority_court: t(5),
            authority_matter: t(6),
            authority_registered: self.bits[4],
            authority_record: t(8),
            // Usually the consistent value; sometimes not, as a caller of decide_facts may.
            authority_names_path: if self.bits[6] {
                authority_names_path(t(7), t(8))
            } else {
                self.bits[5]
            },
            filters_status: self.bits[5],
            flags,
        }
    }
}

fn shipped() -> &'static [Stack] {
    static STACKS: std::sync::OnceLock<Vec<Stack>> = std::sync::OnceLock::new();
    STACKS.get_or_init(|| {
        common::STACKS
            .iter()
            .map(|(_, p)| common::stack(p))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn the_table_decides_random_facts_as_cedar_does(o in owned()) {
        let words: Vec<&str> = o.flags.iter().map(String::as_str).collect();
        let facts = o.facts(&words);
        for stack in shipped() {
            let cedar = stack.decide_facts(&facts, Default::default(), Vec::new());
            prop_assert_eq!(stack.decide_table(&facts), Some(cedar), "{}", stack.name());
        }
    }
}

/// A copy of a shipped pack under another folder name, standing alone, with `extra` added.
fn pack_with(extra: &str) -> (tempfile::TempDir, Stack) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let to = dir.path();
    for entry in std::fs::read_dir(common::pack_dir("illinois-trust-act"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        if entry.path().is_file() {
            let _ = std::fs::copy(entry.path(), to.join(entry.file_name()));
        }
    }
    let own = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = serde_json::json!({"title": "copy", "governs": {"dataset_kinds": "*", "actions": "*"}, "stack": [own]});
    write(to, "pack.json", &manifest.to_string());
    let header = "@id(\"sealed-record\") @basis(\"agency_choice\") @source(\"sealing order\") @citation(\"court sealing order\") @explain(\"sealed\")\n";
    write(to, "sealed.cedar", &format!("{header}{extra}"));
    let stack = Stack::load(&[to]).unwrap_or_else(|e| panic!("{e}"));
    (dir, stack)
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap_or_else(|e| panic!("{e}"));
}

/// An ordinary police read of `path` by `principal`.
fn read<'a>(principal: &'a str, path: &'a str) -> Facts<'a> {
    Facts {
        principal,
        action: "read",
        dataset: "arrests",
        agency: "cpd",
        agency_kind: "local_police",
        agency_in_state: true,
        alpr_declaration: false,
        dataset_kind: "criminal_records",
        path,
        purpose: "criminal_investigation",
        has_reason: true,
        has_case: true,
        authority: "none",
        authority_court: "none",
        authority_matter: "not_recorded",
        authority_registered: false,
        authority_record: "",
        authority_names_path: false,
        filters_status: false,
        flags: &[],
    }
}

fn cedar_allows(stack: &Stack, f: &Facts<'_>) -> bool {
    stack
        .decide_facts(f, Default::default(), Vec::new())
        .is_allowed()
}

#[test]
fn a_path_compared_with_a_literal_becomes_a_class_of_the_table() {
    let (_dir, stack) = pack_with(
        "forbid (principal, action, resource) when { context.path == \"arrests/sealed\" };",
    );
    let info = stack.table().unwrap_or_else(|why| panic!("refused: {why}"));
    assert!(
        info.dimensions.contains(&("path".to_owned(), 2)),
        "{info:?}"
    );
    for (path, allowed) in [("arrests/open", true), ("arrests/sealed", false)] {
        let f = read("p", path);
        let table = stack.decide_table(&f).unwrap_or_else(|| panic!("no table"));
        assert_eq!(table.is_allowed(), allowed, "{path}");
        assert_eq!(cedar_allows(&stack, &f), allowed, "{path}");
    }
}

#[test]
fn a_principal_compared_with_a_literal_becomes_a_class_of_the_table() {
    let (_dir, stack) = pack_with(
        "forbid (principal, action, resource) when { principal == Principal::\"suspended-officer\" };",
    );
    assert!(stack.table().is_ok(), "{:?}", stack.table().err());
    for (who, allowed) in [("officer-1", true), ("suspended-officer", false)] {
        let f = read(who, "arrests/open");
        assert_eq!(
            stack.decide_table(&f).map(|d| d.is_allowed()),
            Some(allowed),
            "{who}"
        );
        assert_eq!(cedar_allows(&stack, &f), allowed, "{who}");
    }
}

#[test]
fn a_pattern_over_the_path_refuses_the_table_and_cedar_decides() {
    // A `like` tells apart values no finite set of literals does: the table cannot be
    // exact, so there must be none, and the stack's decisions must still be Cedar's.
    let (_dir, stack) = pack_with(
        "forbid (principal, action, resource) when { context.path like \"arrests/sealed*\" };",
    );
    let why = stack
        .table()
        .err()
        .unwrap_or_else(|| panic!("a table was compiled"));
    assert!(
        why.contains("sealed-record") && why.contains("like"),
        "{why}"
    );
    assert!(stack.decide_table(&read("p", "arrests/open")).is_none());
    for (path, allowed) in [("arrests/open", true), ("arrests/sealed-7", false)] {
        let request: cordon_policy::AccessRequest = serde_json::from_value(serde_json::json!({
            "principal": {"id": "p", "agency": "cpd"},
            "action": "read",
            "resource": {"dataset": "arrests", "path": path},
            "purpose": {"code": "criminal_investigation", "reason": "burglary", "case": "JD-1"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stack.decide(&request).is_allowed(), allowed, "{path}");
    }
}

#[test]
fn comparing_two_request_values_refuses_the_table() {
    let (_dir, stack) = pack_with(
        "forbid (principal, action, resource) when { context.path == context.authority_record };",
    );
    let why = stack
        .table()
        .err()
        .unwrap_or_else(|| panic!("a table was compiled"));
    assert!(why.contains("sealed-record"), "{why}");
}

#[test]
fn a_reloaded_stack_gets_a_table_of_its_new_policies() {
    // Reload is a fresh load: the table must be refilled from the packs as they are now,
    // never carried over from the previous load.
    let (dir, before) = pack_with(
        "forbid (principal, action, resource) when { context.path == \"arrests/other\" };",
    );
    let f = read("p", "arrests/open");
    assert_eq!(before.decide_table(&f).map(|d| d.is_allowed()), Some(true));
    let header = "@id(\"sealed-record\") @basis(\"agency_choice\") @source(\"sealing order\") @citation(\"court sealing order\") @explain(\"sealed\")\n";
    write(
        dir.path(),
        "sealed.cedar",
        &format!("{header}forbid (principal, action, resource) when {{ context.path == \"arrests/open\" }};"),
    );
    let after = Stack::load(&[dir.path()]).unwrap_or_else(|e| panic!("{e}"));
    let decision = after.decide_table(&f).unwrap_or_else(|| panic!("no table"));
    assert!(!decision.is_allowed());
    assert!(
        decision
            .policies
            .iter()
            .any(|p| p.ends_with("/sealed-record")),
        "{:?}",
        decision.policies
    );
    assert_eq!(
        decision,
        after.decide_facts(&f, Default::default(), Vec::new())
    );
}
