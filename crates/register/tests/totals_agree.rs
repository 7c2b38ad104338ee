//! The two ways a report counts (the register view, and the raw log entries read as plain
//! JSON) agree on every period for many generated histories of requests, outcomes and
//! corrections; and register entries and access decisions are never mistaken for each other.
#![allow(clippy::unwrap_used)]

use cordon_policy::{Court, FederalAsk, FederalRequestKind, Matter};
use cordon_register::totals::{differences, from_view, RawTally};
use cordon_register::view::RegisterBuilder;
use cordon_register::{
    AuthorityBook, AuthorityRegistration, Conviction, Correction, FederalRequest, Outcome,
    OutcomeResult, Period, Recorder, RegisterEntry, Registrar, Step, Transferee, When,
};
use std::path::Path;

fn registrar() -> Registrar {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    Registrar::load(
        &[
            policies.join("chicago-welcoming-city"),
            policies.join("illinois-trust-act"),
            policies.join("illinois-alpr-2-130"),
        ],
        "cli",
    )
    .unwrap()
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
    let mut r = FederalRequest {
        kind: kinds[rng.next(kinds.len() as u64) as usize].clone(),
        attached: if rng.next(3) == 0 {
            vec![kinds[rng.next(kinds.len() as u64) as usize].clone()]
        } else {
            Vec::new()
        },
        agency: ["ice-ero", "cbp", "fbi", "usms"][rng.next(4) as usize].into(),
        on_behalf_of: (rng.next(5) == 0).then(|| "ice-ero".into()),
        unit: "Field Office".into(),
        received,
        subject: format!("CB-{}", rng.next(1_000_000)),
        asks: vec![asks[rng.next(asks.len() as u64) as usize].clone()],
        document_ref: None,
        court: Court::NotRecorded,
        matter: Matter::NotRecorded,
        names_subject: rng.next(2) == 0,
        conviction: (rng.next(4) == 0).then(|| Conviction {
            offense: "Pen. Code 211".into(),
            ground: "7282.5(a)(1)".into(),
        }),
    };
    if r.has_judicial_document() {
        r.court =
            [Court::Federal, Court::State, Court::ImmigrationCourt][rng.next(3) as usize].clone();
        r.matter = [Matter::Criminal, Matter::CriminalImmigration, Matter::Civil]
            [rng.next(3) as usize]
            .clone();
    }
    r
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
    assert!(prepared.bytes.starts_with(b"{\"register\":2,"));
    assert!(value.get("decision").is_none() && value.get("request").is_none());
    assert!(matches!(prepared.entry.step, Step::Request { .. }));
}

#[test]
fn an_entry_from_a_newer_layout_is_refused_by_name() {
    let newer = br#"{"register":3,"time":"t","via":"cli","by":{"id":"a","agency":"b","auth":"c"},"step":"outcome","of":0,"outcome":{"result":"released","at":"2026-01-01"}}"#;
    let err = RegisterEntry::parse(5, newer).unwrap_err().to_string();
    assert!(
        err.contains("entry 5") && err.contains("version 3"),
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

/// A request entry as version 1 wrote it: a court order with no court, and no record of
/// whether an immigration agency asked.
const V1_COURT_ORDER: &[u8] = br#"{"register":1,"time":"2025-03-01T10:00:00Z","via":"cli","by":{"id":"clerk-7","agency":"cpd","auth":"log_key"},"step":"request","pack":"chicago-welcoming-city","federal_request":{"kind":"court_order","agency":"ice-ero","unit":"Chicago Field Office","received":"2025-03-01","subject":"CB-2025-000123","asks":["release_date"]},"response":{"response":"comply","policies":["chicago-respond-judicial-process"],"citations":["MCC 2-173-030(a)"],"explanation":["complied"]}}"#;

#[test]
fn a_version_1_court_order_is_read_as_court_not_recorded_flagged_and_counted_as_dhs() {
    let entry = RegisterEntry::parse(0, V1_COURT_ORDER).unwrap().unwrap();
    let mut builder = RegisterBuilder::default();
    builder.push(0, entry);
    let register = builder.finish();
    let r = &register.requests[0];
    assert_eq!(r.request.court, Court::NotRecorded);
    assert!(r.request.court_not_recorded());
    assert!(r.from_dhs());
    assert!(!cordon_register::report::row_flags(r).is_empty());
    let view = from_view(&[r]);
    let mut raw = RawTally::default();
    raw.push(0, &serde_json::from_slice(V1_COURT_ORDER).unwrap());
    let raw = raw.totals(Period::Year(2025));
    assert_eq!(
        (
            view.court_not_recorded,
            view.requester_not_recorded,
            view.judicial
        ),
        (1, 1, 1)
    );
    assert_eq!(differences(&view, &raw), Vec::<String>::new());
    // The entry's bytes are what they were: reading never rewrites.
    assert!(V1_COURT_ORDER.starts_with(b"{\"register\":1,"));
}

#[test]
fn the_section_25_count_is_requests_from_dhs_not_every_request_for_assistance() {
    let registrar = registrar();
    let ask = |agency: &str, behalf: Option<&str>| FederalRequest {
        kind: FederalRequestKind::RequestForAssistance,
        attached: Vec::new(),
        agency: agency.into(),
        on_behalf_of: behalf.map(str::to_owned),
        unit: "Office".into(),
        received: When::parse("2025-05-01").unwrap(),
        subject: "CB-2025-1".into(),
        asks: vec![FederalAsk::ReleaseDate],
        document_ref: None,
        court: Court::NotRecorded,
        matter: Matter::NotRecorded,
        names_subject: false,
        conviction: None,
    };
    let mut builder = RegisterBuilder::default();
    for (i, (agency, behalf)) in [
        ("fbi", None),
        ("usms", None),
        ("ice-ero", None),
        ("usms", Some("ice-ero")),
    ]
    .into_iter()
    .enumerate()
    {
        let p = registrar.request(clerk(), ask(agency, behalf)).unwrap();
        builder.push(i as u64, p.entry);
    }
    let register = builder.finish();
    let all: Vec<_> = register.requests.iter().collect();
    let t = from_view(&all);
    assert_eq!((t.assistance_requests, t.other_agency_requests), (2, 2));
    assert_eq!(
        (t.complied, t.declined),
        (2, 2),
        "the FBI and the Marshals are answered"
    );
}

fn warrant(records: &[&str]) -> AuthorityRegistration {
    AuthorityRegistration {
        kind: cordon_policy::AuthorityKind::JudicialWarrant,
        court: Court::Federal,
        matter: Matter::Criminal,
        issued_by: "U.S. District Court, N.D. Ill.".into(),
        reference: "24-MJ-0191".into(),
        agency: "ice-hsi".into(),
        records: records.iter().map(|r| r.to_string()).collect(),
        valid_from: When::parse("2026-01-10").unwrap(),
        expires: When::parse("2026-01-24").unwrap(),
        sha256: "ab".repeat(32),
    }
}

#[test]
fn a_registered_authority_opens_only_its_records_its_agency_and_its_dates_until_revoked() {
    let registrar = registrar();
    let registered = registrar
        .authority(clerk(), warrant(&["arrests/2024-001234"]))
        .unwrap();
    let mut book = AuthorityBook::default();
    book.push(4, &registered.entry);
    let on = |d: &str| When::parse(d).unwrap();
    let hit = book.verify(
        "24-MJ-0191",
        "ice-hsi",
        "arrests/2024-001234",
        on("2026-01-12"),
    );
    assert_eq!(hit.map(|v| v.entry), Some(4));
    assert!(book
        .verify(
            "24-MJ-0191",
            "ice-hsi",
            "arrests/2024-009999",
            on("2026-01-12")
        )
        .is_none());
    assert!(book
        .verify(
            "24-MJ-0191",
            "ice-ero",
            "arrests/2024-001234",
            on("2026-01-12")
        )
        .is_none());
    assert!(book
        .verify(
            "24-MJ-0191",
            "ice-hsi",
            "arrests/2024-001234",
            on("2026-01-25")
        )
        .is_none());
    assert!(book
        .verify(
            "24-MJ-0191",
            "ice-hsi",
            "arrests/2024-001234",
            on("2026-01-09")
        )
        .is_none());
    assert!(book
        .verify(
            "24-MJ-9999",
            "ice-hsi",
            "arrests/2024-001234",
            on("2026-01-12")
        )
        .is_none());
    let typed = cordon_policy::Authority {
        kind: cordon_policy::AuthorityKind::CourtOrder,
        reference: Some("24-MJ-0191".into()),
        ..Default::default()
    };
    let opened = book.authority_for(&typed, "ice-hsi", "arrests/2024-001234", on("2026-01-12"));
    assert_eq!(
        opened.kind,
        cordon_policy::AuthorityKind::JudicialWarrant,
        "the register, not the header, says what it is"
    );
    assert_eq!(opened.court, Court::Federal);
    assert_eq!(
        opened.registration.as_ref().map(|r| r.sha256.clone()),
        Some("ab".repeat(32))
    );
    let unmatched = book.authority_for(&typed, "ice-hsi", "arrests/2024-009999", on("2026-01-12"));
    assert_eq!(
        (unmatched.court, unmatched.registration),
        (Court::NotRecorded, None)
    );
    let revoked = registrar
        .revocation(clerk(), 4, &book, "warrant quashed".into())
        .unwrap();
    book.push(5, &revoked.entry);
    assert!(book
        .verify(
            "24-MJ-0191",
            "ice-hsi",
            "arrests/2024-001234",
            on("2026-01-12")
        )
        .is_none());
    assert!(registrar.revocation(clerk(), 9, &book, "x".into()).is_err());
}

#[test]
fn a_registration_says_what_is_wrong_with_it() {
    let bad = |edit: &dyn Fn(&mut AuthorityRegistration), expect: &str| {
        let mut r = warrant(&["arrests/1"]);
        edit(&mut r);
        let err = r.validate().unwrap_err().to_string();
        assert!(err.contains(expect), "{expect}: {err}");
    };
    bad(&|r| r.court = Court::None, "issued by a court");
    bad(&|r| r.court = Court::NotRecorded, "say who issued it");
    bad(&|r| r.records = vec!["arrests/*".into()], "pattern");
    bad(&|r| r.records.clear(), "records");
    bad(&|r| r.sha256 = "xyz".into(), "SHA-256");
    bad(
        &|r| r.expires = When::parse("2025-01-01").unwrap(),
        "before valid_from",
    );
    bad(
        &|r| r.kind = cordon_policy::AuthorityKind::Detainer,
        "not issued by a court",
    );
}

#[test]
fn a_typed_authority_that_opens_nothing_is_told_why_and_reading_an_entry_twice_changes_nothing() {
    use cordon_register::Unmatched;
    let registrar = registrar();
    let registered = registrar
        .authority(clerk(), warrant(&["arrests/2024-001234"]))
        .unwrap();
    let mut book = AuthorityBook::default();
    book.push(4, &registered.entry);
    book.push(4, &registered.entry);
    let on = |d: &str| When::parse(d).unwrap();
    let typed = |reference: Option<&str>| cordon_policy::Authority {
        kind: cordon_policy::AuthorityKind::JudicialWarrant,
        reference: reference.map(str::to_owned),
        ..Default::default()
    };
    let why =
        |book: &AuthorityBook, reference: Option<&str>, agency: &str, record: &str, day: &str| {
            book.resolve(&typed(reference), agency, record, on(day)).1
        };
    let warrant_ref = Some("24-MJ-0191");
    assert_eq!(
        why(
            &book,
            warrant_ref,
            "ice-hsi",
            "arrests/2024-001234",
            "2026-01-12"
        ),
        None
    );
    assert_eq!(
        why(&book, None, "ice-hsi", "arrests/2024-001234", "2026-01-12"),
        Some(Unmatched::NoReference)
    );
    assert!(matches!(
        why(
            &book,
            Some("24-MJ-9999"),
            "ice-hsi",
            "arrests/2024-001234",
            "2026-01-12"
        ),
        Some(Unmatched::NotRegistered { .. })
    ));
    assert!(matches!(
        why(
            &book,
            warrant_ref,
            "ice-ero",
            "arrests/2024-001234",
            "2026-01-12"
        ),
        Some(Unmatched::OtherAgency { .. })
    ));
    assert!(matches!(
        why(
            &book,
            warrant_ref,
            "ice-hsi",
            "arrests/2024-009999",
            "2026-01-12"
        ),
        Some(Unmatched::OtherRecord { .. })
    ));
    assert!(matches!(
        why(
            &book,
            warrant_ref,
            "ice-hsi",
            "arrests/2024-001234",
            "2026-01-25"
        ),
        Some(Unmatched::Expired { .. })
    ));
    assert!(matches!(
        why(
            &book,
            warrant_ref,
            "ice-hsi",
            "arrests/2024-001234",
            "2026-01-09"
        ),
        Some(Unmatched::NotYetValid { .. })
    ));
    // Nothing typed: nothing to explain.
    let nothing = cordon_policy::Authority::default();
    assert_eq!(
        book.resolve(&nothing, "ice-hsi", "x", on("2026-01-12")).1,
        None
    );
    let revoked = registrar
        .revocation(clerk(), 4, &book, "warrant quashed".into())
        .unwrap();
    book.push(5, &revoked.entry);
    book.push(5, &revoked.entry);
    assert_eq!(
        why(
            &book,
            warrant_ref,
            "ice-hsi",
            "arrests/2024-001234",
            "2026-01-12"
        ),
        Some(Unmatched::Revoked {
            reference: "24-MJ-0191".into(),
            entry: 4
        })
    );
    // A later registration of the same document for another record still opens its own.
    let renewed = registrar
        .authority(clerk(), warrant(&["arrests/2024-005555"]))
        .unwrap();
    book.push(6, &renewed.entry);
    assert_eq!(
        why(
            &book,
            warrant_ref,
            "ice-hsi",
            "arrests/2024-005555",
            "2026-01-12"
        ),
        None
    );
    assert!(matches!(
        why(
            &book,
            warrant_ref,
            "ice-hsi",
            "arrests/2024-001234",
            "2026-01-12"
        ),
        Some(Unmatched::Revoked { .. })
    ));
}
