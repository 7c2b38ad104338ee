//! The two ways a report counts (the register view, and the raw log entries read as plain
//! JSON) agree on every period for many generated histories of requests, outcomes and
//! corrections; and register entries and access decisions are never mistaken for each other.
#![allow(clippy::unwrap_used)]

use cordon_policy::{FederalAsk, FederalRequestKind};
use cordon_register::totals::{differences, from_view, RawTally};
use cordon_register::view::RegisterBuilder;
use cordon_register::{
    Correction, FederalRequest, Outcome, OutcomeResult, Period, Recorder, RegisterEntry, Registrar,
    Step, Transferee, When,
};
use std::path::Path;

fn registrar() -> Registrar {
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/illinois-trust-act");
    Registrar::load(&pack, "cli").unwrap()
}

fn clerk() -> Recorder {
    Recorder {
        id: "clerk-7".into(),
        agency: "cpd".into(),
        auth: "log_key".into(),
    }
}

/// xorshift64: a reproducible stream without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn request(rng: &mut Rng) -> FederalRequest {
    let kinds = FederalRequestKind::ALL;
    let asks = FederalAsk::ALL;
    let received = When::parse(&format!(
        "2025-{:02}-{:02}T08:00",
        1 + rng.next(12),
        1 + rng.next(28)
    ))
    .unwrap();
    FederalRequest {
        kind: kinds[rng.next(kinds.len() as u64) as usize].clone(),
        attached: if rng.next(3) == 0 {
            vec![kinds[rng.next(kinds.len() as u64) as usize].clone()]
        } else {
            Vec::new()
        },
        agency: ["ice-ero", "cbp", "fbi"][rng.next(3) as usize].into(),
        unit: "Field Office".into(),
        received,
        subject: format!("CB-{}", rng.next(1_000_000)),
        asks: vec![asks[rng.next(asks.len() as u64) as usize].clone()],
        document_ref: None,
    }
}

fn outcome(rng: &mut Rng) -> Outcome {
    let result = [
        OutcomeResult::Released,
        OutcomeResult::Transferred,
        OutcomeResult::HeldCriminal,
        OutcomeResult::NotInCustody,
    ][rng.next(4) as usize];
    Outcome {
        result,
        at: When::parse("2025-12-31T12:00").unwrap(),
        bail_posted: None,
        transferred_to: (result == OutcomeResult::Transferred).then(|| Transferee {
            agency: "ccso".into(),
            unit: String::new(),
        }),
    }
}

#[test]
fn view_and_raw_totals_agree_for_generated_histories() {
    let registrar = registrar();
    for seed in 1..60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut log: Vec<Vec<u8>> = Vec::new();
        let (mut requests, mut outcomes) = (Vec::new(), Vec::new());
        for _ in 0..40 {
            let index = log.len() as u64;
            let prepared = match rng.next(4) {
                0 | 1 => {
                    requests.push(index);
                    registrar.request(clerk(), request(&mut rng)).unwrap()
                }
                2 if !requests.is_empty() => {
                    let of = requests[rng.next(requests.len() as u64) as usize];
                    outcomes.push(index);
                    registrar
                        .outcome(clerk(), of, &log[of as usize], outcome(&mut rng))
                        .unwrap()
                }
                _ if !requests.is_empty() => {
                    let correct_outcome = !outcomes.is_empty() && rng.next(2) == 0;
                    let (of, c) = if correct_outcome {
                        let of = outcomes[rng.next(outcomes.len() as u64) as usize];
                        (
                            of,
                            Correction {
                                reason: "fix".into(),
                                federal_request: None,
                                outcome: Some(outcome(&mut rng)),
                            },
                        )
                    } else {
                        let of = requests[rng.next(requests.len() as u64) as usize];
                        (
                            of,
                            Correction {
                                reason: "fix".into(),
                                federal_request: Some(request(&mut rng)),
                                outcome: None,
                            },
                        )
                    };
                    registrar
                        .correction(clerk(), of, &log[of as usize], c)
                        .unwrap()
                }
                _ => continue,
            };
            log.push(prepared.bytes);
        }
        let mut builder = RegisterBuilder::default();
        let mut raw = RawTally::default();
        for (i, bytes) in log.iter().enumerate() {
            builder.push(
                i as u64,
                RegisterEntry::parse(i as u64, bytes).unwrap().unwrap(),
            );
            raw.push(i as u64, &serde_json::from_slice(bytes).unwrap());
        }
        let register = builder.finish();
        assert!(register.anomalies.is_empty());
        let periods = [
            Period::Year(2025),
            Period::Year(2024),
            Period::Quarter(2025, 1),
            Period::Quarter(2025, 4),
        ];
        for period in periods {
            let chosen: Vec<_> = register
                .requests
                .iter()
                .filter(|r| period.contains(&r.request.received))
                .collect();
            let view = from_view(&chosen);
            assert_eq!(
                differences(&view, &raw.totals(period)),
                Vec::<String>::new(),
                "seed {seed}, {period}"
            );
            assert_eq!(view.requests, view.declined + view.complied);
        }
    }
}

#[test]
fn an_access_decision_is_not_a_register_entry_and_a_register_entry_has_no_decision() {
    let access = br#"{"v":1,"time":"2026-01-01T00:00:00.000Z","via":"proxy","auth":"jwt","method":"GET","path":"/x","request":{},"decision":{}}"#;
    assert!(RegisterEntry::parse(0, access).unwrap().is_none());
    let prepared = registrar().request(clerk(), request(&mut Rng(7))).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&prepared.bytes).unwrap();
    assert!(prepared.bytes.starts_with(b"{\"register\":1,"));
    assert!(value.get("decision").is_none() && value.get("request").is_none());
    assert!(matches!(prepared.entry.step, Step::Request { .. }));
}

#[test]
fn an_entry_from_a_newer_layout_is_refused_by_name() {
    let newer = br#"{"register":2,"time":"t","via":"cli","by":{"id":"a","agency":"b","auth":"c"},"step":"outcome","of":0,"outcome":{"result":"released","at":"2026-01-01"}}"#;
    let err = RegisterEntry::parse(5, newer).unwrap_err().to_string();
    assert!(
        err.contains("entry 5") && err.contains("version 2"),
        "{err}"
    );
}

#[test]
fn an_outcome_says_what_is_wrong_with_it() {
    let cases = [
        (
            r#"{"result":"transferred","at":"2026-01-02"}"#,
            "transferred_to is missing",
        ),
        (
            r#"{"result":"released","at":"2026-01-02","transferred_to":{"agency":"ice-ero"}}"#,
            "drop transferred_to",
        ),
        (
            r#"{"result":"released","at":"2026-01-02T10:00","bail_posted":"2026-01-02T11:00"}"#,
            "bail is posted before",
        ),
        (
            r#"{"result":"deported","at":"2026-01-02"}"#,
            "result, at, bail_posted, transferred_to",
        ),
        (
            r#"{"result":"released","at":"2099-01-02"}"#,
            "in the future",
        ),
    ];
    for (body, expect) in cases {
        let err = Outcome::from_json(body.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(expect), "{body}: {err}");
    }
}
