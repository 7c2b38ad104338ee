//! Search bodies: never a panic, and a canonical body binds again to exactly itself, so
//! what is decided, logged and sent upstream cannot drift apart.
#![no_main]
use cordon_gateway::body::bind_body;
use cordon_gateway::config::{Binding, QueryParam};
use cordon_gateway::query::BoundQuery;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let p = |bind, max| QueryParam { bind, max };
    let declared = BTreeMap::from([
        ("plate".to_owned(), p(Binding::Record, None)),
        ("since".to_owned(), p(Binding::TimeFrom, None)),
        ("until".to_owned(), p(Binding::TimeTo, None)),
        ("limit".to_owned(), p(Binding::Limit, Some(500))),
    ]);
    let path_record = data.len().is_multiple_of(2).then_some("FAKE123");
    let query = BoundQuery::default();
    if let Ok(b) = bind_body(data, &declared, path_record, &query) {
        match bind_body(b.canonical.as_bytes(), &declared, path_record, &query) {
            Ok(again) => assert_eq!(again, b),
            Err(e) => panic!("a canonical body is refused: {e:?}"),
        }
    }
});
