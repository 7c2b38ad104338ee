//! The firewall property, checked for every shipped pack over every combination of the
//! vocabularies: no request whose purpose is civil immigration enforcement, whose agency is
//! a federal immigration agency, or whose reason screens as immigration is allowed unless
//! it is a read of the one record a judicial warrant or court order names; nothing with an
//! unknown input and nothing under non-judicial immigration process is allowed.
//!
//! Two passes keep it fast enough for every `cargo test`: (1) every agency kind, action,
//! purpose, authority, flag set, path/record relation and dataset kind, with the four
//! yes/no facts (in state, ALPR declaration, reason given, case given) set the way that
//! opens the most permits; (2) every value of those four facts and of dataset kind, agency
//! kind, action and authority, for an ordinary and an immigration purpose. The SMT proof in
//! tests/symcc_proof.rs covers every value symbolically.

mod common;

use cordon_policy::engine::authority_names_path;
use cordon_policy::{Action, AgencyKind, AuthorityKind, Facts, Pack, PurposeCode};

const FLAG_SETS: [&[&str]; 4] = [
    &[],
    &["civil_immigration"],
    &["reproductive_health"],
    &["civil_immigration", "reproductive_health"],
];
const DATASET_KINDS: [&str; 4] = [
    "criminal_records",
    "gang_database",
    "plate_reads",
    "unregistered",
];
const RECORD: &str = "arrests/2024-001234";
/// (path, the record the authority names): the named record, another record, a pattern.
const PATHS: [(&str, &str); 3] = [
    (RECORD, RECORD),
    ("arrests/2024-009999", RECORD),
    ("arrests/*", "arrests/*"),
];

fn words<T>(known: &[T], word: impl Fn(&T) -> &str, extra: &[&'static str]) -> Vec<String> {
    known
        .iter()
        .map(|k| word(k).to_owned())
        .chain(extra.iter().map(|s| s.to_string()))
        .collect()
}

struct Vocab {
    kinds: Vec<String>,
    actions: Vec<String>,
    purposes: Vec<String>,
    authorities: Vec<String>,
}

fn vocab() -> Vocab {
    Vocab {
        kinds: words(AgencyKind::ALL, |k| k.policy_word(), &["unregistered"]),
        actions: words(Action::ALL, |a| a.policy_word(), &["unrecognized"]),
        purposes: words(
            PurposeCode::ALL,
            |p| p.policy_word(),
            &["missing", "unrecognized"],
        ),
        authorities: words(AuthorityKind::ALL, |a| a.policy_word(), &["unrecognized"]),
    }
}

/// One point of the grid: the categorical values, then flags, path, dataset and the bits.
struct Point<'a> {
    kind: &'a str,
    action: &'a str,
    purpose: &'a str,
    authority: &'a str,
    flags: &'a [&'static str],
    path: (&'a str, &'a str),
    dataset_kind: &'a str,
    bits: u8,
}

fn decide(pack: &Pack, p: &Point<'_>, check: &mut impl FnMut(&Facts<'_>, bool)) {
    let facts = Facts {
        principal: "p",
        action: p.action,
        dataset: "d",
        agency: "a",
        agency_kind: p.kind,
        agency_in_state: p.bits & 1 != 0,
        alpr_declaration: p.bits & 2 != 0,
        dataset_kind: p.dataset_kind,
        path: p.path.0,
        purpose: p.purpose,
        has_reason: p.bits & 4 != 0,
        has_case: p.bits & 8 != 0,
        authority: p.authority,
        authority_record: p.path.1,
        authority_names_path: authority_names_path(p.path.0, p.path.1),
        flags: p.flags,
    };
    let allowed = pack
        .decide_facts(&facts, Default::default(), Vec::new())
        .is_allowed();
    check(&facts, allowed);
}

/// Calls `check` on both passes of the grid; returns how many requests were decided.
fn for_every_request(pack: &Pack, mut check: impl FnMut(&Facts<'_>, bool)) -> usize {
    let v = vocab();
    let mut count = 0;
    for kind in &v.kinds {
        for action in &v.actions {
            for authority in &v.authorities {
                for purpose in &v.purposes {
                    for flags in FLAG_SETS {
                        for path in PATHS {
                            for dataset_kind in DATASET_KINDS {
                                let bits = 0b1111;
                                let p = Point {
                                    kind,
                                    action,
                                    purpose,
                                    authority,
                                    flags,
                                    path,
                                    dataset_kind,
                                    bits,
                                };
                                decide(pack, &p, &mut check);
                                count += 1;
                            }
                        }
                    }
                }
                for purpose in ["criminal_investigation", "civil_immigration_enforcement"] {
                    for dataset_kind in DATASET_KINDS {
                        for path in [PATHS[0], PATHS[1]] {
                            for bits in 0u8..16 {
                                let flags: &[&str] = &[];
                                let p = Point {
                                    kind,
                                    action,
                                    purpose,
                                    authority,
                                    flags,
                                    path,
                                    dataset_kind,
                                    bits,
                                };
                                decide(pack, &p, &mut check);
                                count += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    count
}

fn judicial_read_of_the_named_record(f: &Facts<'_>) -> bool {
    f.action == "read"
        && (f.authority == "judicial_warrant" || f.authority == "court_order")
        && f.path == f.authority_record
        && !f.path.contains('*')
}

fn check_pack(name: &str) {
    let pack = common::load(name);
    let mut violations = Vec::new();
    let (mut judicial_allows, mut ordinary_allows) = (0, 0);
    let checked = for_every_request(&pack, |f, allowed| {
        if !allowed {
            return;
        }
        if f.agency_kind == "federal_immigration" && judicial_read_of_the_named_record(f) {
            judicial_allows += 1;
        }
        if f.agency_kind == "local_police" && f.purpose == "criminal_investigation" {
            ordinary_allows += 1;
        }
        let immigration = f.purpose == "civil_immigration_enforcement"
            || f.agency_kind == "federal_immigration"
            || f.flags.contains(&"civil_immigration");
        let unknown = f.agency_kind == "unregistered"
            || f.dataset_kind == "unregistered"
            || f.action == "unrecognized"
            || f.purpose == "missing"
            || f.purpose == "unrecognized"
            || f.authority == "unrecognized";
        let non_judicial = matches!(
            f.authority,
            "administrative_warrant"
                | "detainer"
                | "administrative_subpoena"
                | "ncic_immigration_violator"
        );
        if (immigration && !judicial_read_of_the_named_record(f)) || unknown || non_judicial {
            violations.push(format!("{f:?}"));
        }
    });
    assert!(checked > 150_000, "{name}: only {checked} combinations");
    // Guards against a pack that passes by denying everything.
    assert!(
        judicial_allows > 0 && ordinary_allows > 0,
        "{name}: the grid allowed nothing"
    );
    assert!(
        violations.is_empty(),
        "{name}: {} allowed requests break the firewall, e.g. {}",
        violations.len(),
        violations[0]
    );
}

#[test]
fn chicago_allows_no_immigration_access_without_a_judge_and_nothing_unknown() {
    check_pack("chicago-welcoming-city");
}

#[test]
fn illinois_allows_no_immigration_access_without_a_judge_and_nothing_unknown() {
    check_pack("illinois-trust-act");
}

#[test]
fn california_allows_no_immigration_access_without_a_judge_and_nothing_unknown() {
    check_pack("california-values-act");
}
