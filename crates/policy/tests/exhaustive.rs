//! The firewall property, checked for every shipped stack over every combination of the
//! vocabularies: no request whose purpose is civil immigration enforcement, whose agency is
//! an immigration agency, whose reason screens as immigration or that filters on status is
//! allowed unless it is a read of the one record a registered federal criminal warrant
//! names; nothing with an unknown input and nothing under non-judicial immigration process
//! is allowed.
//!
//! Two passes keep it fast enough for every `cargo test`: (1) every agency kind, action,
//! purpose, authority (kind, court, matter, registered), flag set, dataset kind and the
//! named record or a pattern, with the yes/no facts (in state, ALPR declaration, reason
//! given, case given) set the way that opens the most permits; (2) every value of those
//! facts and of status filtering, for plate reads and records, every agency kind, action
//! and authority, an ordinary and an immigration purpose, the named and another record.
//! The SMT proof in tests/symcc_proof.rs covers every value symbolically. Every point is
//! also decided through the stack's decision table, which must give Cedar's decision.

mod common;

use cordon_policy::engine::authority_names_path;
use cordon_policy::{Action, AgencyKind, Facts, PurposeCode, Stack};

const FLAG_SETS: [&[&str]; 4] = [
    &[],
    &["civil_immigration"],
    &["reproductive_health"],
    &["civil_immigration", "reproductive_health"],
];
const DATASET_KINDS: [&str; 5] = [
    "criminal_records",
    "gang_database",
    "plate_reads",
    "clets",
    "unregistered",
];
/// Authorities as (kind, court, matter, registered): who signed what, and whether staff
/// registered it.
const AUTHORITIES: [(&str, &str, &str, bool); 14] = [
    ("none", "none", "not_recorded", false),
    ("judicial_warrant", "federal", "criminal", true),
    ("judicial_warrant", "federal", "criminal_immigration", true),
    ("judicial_warrant", "federal", "criminal", false),
    ("judicial_warrant", "not_recorded", "not_recorded", false),
    ("judicial_warrant", "state", "criminal", true),
    ("court_order", "immigration_court", "civil", true),
    ("court_order", "federal", "criminal", true),
    ("court_order", "state", "civil", true),
    ("judicial_subpoena", "state", "criminal", true),
    ("notice_to_appear", "none", "civil", true),
    ("detainer", "none", "civil", false),
    ("written_consent", "none", "not_recorded", true),
    ("unrecognized", "unrecognized", "unrecognized", false),
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
    }
}

/// One point of the grid: the categorical values, then flags, path, dataset and the bits.
struct Point<'a> {
    kind: &'a str,
    action: &'a str,
    purpose: &'a str,
    authority: (&'a str, &'a str, &'a str, bool),
    flags: &'a [&'static str],
    path: (&'a str, &'a str),
    dataset_kind: &'a str,
    bits: u8,
}

fn decide(pack: &Stack, p: &Point<'_>, check: &mut impl FnMut(&Facts<'_>, bool)) {
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
        authority: p.authority.0,
        authority_court: p.authority.1,
        authority_matter: p.authority.2,
        authority_registered: p.authority.3,
        authority_record: p.path.1,
        authority_names_path: authority_names_path(p.path.0, p.path.1),
        filters_status: p.bits & 16 != 0,
        flags: p.flags,
    };
    let decision = pack.decide_facts(&facts, Default::default(), Vec::new());
    // The gateway decides through the table: it must give Cedar's decision, reasons and all.
    assert_eq!(
        pack.decide_table(&facts).as_ref(),
        Some(&decision),
        "the table and Cedar disagree on {facts:?}"
    );
    check(&facts, decision.is_allowed());
}

/// Calls `check` on both passes of the grid (every point, or the slice `grid` takes: see
/// [`common::Grid`] for the cap and why); returns the grid walked.
fn for_every_request(pack: &Stack, mut check: impl FnMut(&Facts<'_>, bool)) -> common::Grid {
    let v = vocab();
    let mut grid = common::Grid::from_env();
    for kind in &v.kinds {
        for action in &v.actions {
            for authority in AUTHORITIES {
                for purpose in &v.purposes {
                    for flags in FLAG_SETS {
                        for path in [PATHS[0], PATHS[2]] {
                            for dataset_kind in DATASET_KINDS {
                                let bits = 0b01111;
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
                                if grid.take() {
                                    decide(pack, &p, &mut check);
                                }
                            }
                        }
                    }
                }
                for purpose in ["criminal_investigation", "civil_immigration_enforcement"] {
                    for dataset_kind in ["criminal_records", "plate_reads"] {
                        for path in [PATHS[0], PATHS[1]] {
                            for bits in 0u8..32 {
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
                                if grid.take() {
                                    decide(pack, &p, &mut check);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    grid
}

fn federal_criminal_warrant_read_of_the_named_record(f: &Facts<'_>) -> bool {
    f.action == "read"
        && f.authority_registered
        && f.authority == "judicial_warrant"
        && f.authority_court == "federal"
        && matches!(f.authority_matter, "criminal" | "criminal_immigration")
        && f.path == f.authority_record
        && !f.path.contains('*')
}

fn check_stack(name: &str, packs: &[&str]) {
    let pack = common::stack(packs);
    let mut violations = Vec::new();
    let (mut judicial_allows, mut ordinary_allows) = (0, 0);
    let grid = for_every_request(&pack, |f, allowed| {
        if !allowed {
            return;
        }
        if f.agency_kind == "federal_immigration"
            && federal_criminal_warrant_read_of_the_named_record(f)
        {
            judicial_allows += 1;
        }
        if f.agency_kind == "local_police" && f.purpose == "criminal_investigation" {
            ordinary_allows += 1;
        }
        let immigration = f.purpose == "civil_immigration_enforcement"
            || f.agency_kind == "federal_immigration"
            || f.agency_kind == "immigration_task_force"
            || f.flags.contains(&"civil_immigration")
            || f.filters_status;
        let unknown = f.agency_kind == "unregistered"
            || f.dataset_kind == "unregistered"
            || f.action == "unrecognized"
            || f.purpose == "missing"
            || f.purpose == "unrecognized"
            || f.authority == "unrecognized"
            || f.authority_court == "unrecognized";
        let non_judicial = matches!(
            f.authority,
            "administrative_warrant"
                | "notice_to_appear"
                | "detainer"
                | "administrative_subpoena"
                | "ncic_immigration_violator"
        );
        let immigration_court = f.authority_court == "immigration_court";
        if (immigration && !federal_criminal_warrant_read_of_the_named_record(f))
            || unknown
            || non_judicial
            || immigration_court
        {
            violations.push(format!("{f:?}"));
        }
    });
    assert!(
        grid.visited() > 200_000 && grid.decided() >= grid.visited() / common::Grid::STRIDE,
        "{name}: only {} of {} combinations decided",
        grid.decided(),
        grid.visited()
    );
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
fn chicago_stack_allows_no_immigration_access_beyond_the_statutes_and_nothing_unknown() {
    check_stack("chicago", common::STACKS[0].1);
}

#[test]
fn illinois_stack_allows_no_immigration_access_beyond_the_statutes_and_nothing_unknown() {
    check_stack("illinois", common::STACKS[1].1);
}

#[test]
fn california_stack_allows_no_immigration_access_beyond_the_statutes_and_nothing_unknown() {
    check_stack("california", common::STACKS[2].1);
}
