//! Whatever arrives, parsing never panics and a decision is always made; a request built
//! from arbitrary words is allowed only when every word is one the pack knows.

mod common;

use cordon_policy::{AccessRequest, Stack};
use proptest::prelude::*;
use std::sync::OnceLock;

fn pack() -> &'static Stack {
    static PACK: OnceLock<Stack> = OnceLock::new();
    PACK.get_or_init(|| common::home("chicago-welcoming-city"))
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("cpd".to_owned()),
        Just("ice-ero".to_owned()),
        Just("search".to_owned()),
        Just("read".to_owned()),
        Just("arrests".to_owned()),
        Just("criminal_investigation".to_owned()),
        Just("judicial_warrant".to_owned()),
        "\\PC{0,12}",
    ]
}

proptest! {
    #[test]
    fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = AccessRequest::from_json_slice(&bytes);
    }

    #[test]
    fn any_request_gets_a_decision_and_unknown_words_are_denied(
        agency in word(), action in word(), dataset in word(), code in word(),
        authority in word(), reason in "\\PC{0,30}",
    ) {
        let json = serde_json::json!({
            "principal": {"id": "p", "agency": agency},
            "action": action,
            "resource": {"dataset": dataset, "path": "arrests/1"},
            "purpose": {"code": code, "reason": reason},
            "authority": {"kind": authority, "record": "arrests/1"},
        });
        let request = AccessRequest::from_json_str(&json.to_string());
        prop_assert!(request.is_ok());
        if let Ok(request) = request {
            let decision = pack().decide(&request);
            if !request.unrecognized_words().is_empty()
                || pack().registry().agency(&request.principal.agency).is_none()
                || pack().datasets().kind_of(&request.resource.dataset).is_none()
            {
                prop_assert!(!decision.is_allowed());
                prop_assert!(!decision.problems.is_empty());
            }
        }
    }
}
