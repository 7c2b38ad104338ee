//! The register's report renders in a real browser (Debian's Chromium, headless), and the
//! totals a reader sees equal the register: one CSV row and one listed request each.
#![allow(clippy::unwrap_used)]

mod common;

use common::{dump_dom, run, shown_figure, text};
use std::path::Path;

fn shown(dom: &str, key: &str) -> u64 {
    shown_figure(dom, key).unwrap_or_else(|| panic!("no figure {key}"))
}

#[test]
fn the_report_renders_in_chromium_and_its_totals_equal_the_register() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let o = run(
        &[
            "log",
            "init",
            log.to_str().unwrap(),
            "--origin",
            "city.example/register",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/illinois-trust-act");
    let requests = [
        ("detainer_i247a", "2026-01-05", "hold"),
        ("warrant_i200", "2026-03-09", "transfer"),
        ("ncic_immigration_violator", "2026-05-20", "hold"),
        ("request_for_assistance", "2026-07-01", "release_date"),
        ("judicial_warrant", "2026-08-15", "transfer"),
    ];
    for (i, (kind, received, asks)) in requests.iter().enumerate() {
        let subject = format!("CB-2026-{i}");
        // A judicial document says who issued it and what it is about.
        let court: &[&str] = if *kind == "judicial_warrant" {
            &[
                "--court",
                "federal",
                "--matter",
                "criminal_immigration",
                "--names-subject",
            ]
        } else {
            &[]
        };
        let o = run(
            &[
                "requests",
                "add",
                log.to_str().unwrap(),
                "--pack",
                pack.to_str().unwrap(),
                "--by",
                "clerk-7",
                "--agency",
                "cpd",
                "--kind",
                kind,
                "--from",
                "ice-ero",
                "--unit",
                "ERO Chicago",
                "--received",
                received,
                "--subject",
                &subject,
                "--asks",
                asks,
            ]
            .iter()
            .chain(court)
            .copied()
            .collect::<Vec<&str>>(),
            b"",
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let out = tmp.path().join("out");
    let o = run(
        &[
            "report",
            "trust-act",
            "--year",
            "2026",
            "--log",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let dom = dump_dom(&out.join("report.html"), &tmp.path().join("profile"));
    let csv_rows = std::fs::read_to_string(out.join("report.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert_eq!(shown(&dom, "requests"), csv_rows);
    assert_eq!(shown(&dom, "requests"), requests.len() as u64);
    assert_eq!(
        (
            shown(&dom, "detainers"),
            shown(&dom, "civil_warrants"),
            shown(&dom, "assistance_requests"),
            shown(&dom, "judicial")
        ),
        (1, 2, 1, 1)
    );
    assert_eq!((shown(&dom, "declined"), shown(&dom, "complied")), (4, 1));
    assert!(dom.contains("5 ILCS 805/25") && dom.contains("CB-2026-3"));
}
