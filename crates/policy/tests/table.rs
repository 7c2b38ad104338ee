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
