//! Query strings: never a panic, and a canonical query binds again to exactly itself, so
//! what is decided and what is sent upstream cannot drift apart.
#![no_main]
use cordon_gateway::config::{Binding, QueryParam};
use cordon_gateway::query::{bind_query, QueryError};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let p = |bind, max| QueryParam { bind, max };
    let declared = BTreeMap::from([
        ("id".to_owned(), p(Binding::Record, None)),
        ("since".to_owned(), p(Binding::TimeFrom, None)),
        ("until".to_owned(), p(Binding::TimeTo, None)),
        ("limit".to_owned(), p(Binding::Limit, Some(500))),
    ]);
    let path_record = raw.len().is_multiple_of(2).then_some("P-1");
    if let Ok(b) = bind_query(Some(raw), &declared, path_record) {
        match bind_query(Some(&b.canonical), &declared, path_record) {
            Ok(again) => assert_eq!(again, b),
            Err(QueryError::TooLong) => {}
            Err(e) => panic!("a canonical query is refused: {e:?}"),
        }
    }
});
