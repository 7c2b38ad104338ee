//! `cordon audit` on every export layout agencies release (LAW-AND-FACTS §3), each from a
//! small real public release or a faithful reconstruction (tests/data/exports/README.md
//! cites each one): nothing the export says is lost, and what Cordon cannot read is said
//! in the report's first lines, in summary.json and in the exit status.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;
use std::path::{Path, PathBuf};

/// The exit status of an audit in which a key column could not be read.
const INCOMPLETE: i32 = 3;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/exports")
        .join(name)
}

#[test]
fn the_2025_sheriffs_export_keeps_organization_months_reach_and_moderation() {
    let a = audit(&[&fixture("okaloosa-2025-agency-export.csv")], &[]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    let s = &a.summary;
    assert_eq!(s["rows"], 35);
    assert_eq!(s["by_org"]["Okaloosa County FL SO"]["rows"], 35);
    assert!(s["by_org"].get("(no organization)").is_none(), "{s}");
    assert!(s["by_month"].get("unknown").is_none(), "{}", s["by_month"]);
    assert_eq!(s["by_month"]["2025-11"]["rows"], 33);
    assert_eq!(s["by_month"]["2025-12"]["rows"], 2);
    assert_eq!(s["reach"]["networks_known"], 35);
    assert_eq!(s["reach"]["devices_known"], 35);
    let m = &s["moderation"];
    assert_eq!(
        (
            &m["rows"],
            &m["allowed"],
            &m["warned"],
            &m["blocked"],
            &m["blank"]
        ),
        (
            &serde_json::json!(35),
            &serde_json::json!(8),
            &serde_json::json!(2),
            &serde_json::json!(12),
            &serde_json::json!(13)
        )
    );
    let blocked = m["blocked_reasons"].as_array().unwrap();
    assert_eq!(blocked[0], serde_json::json!(["Investigation", 4]));
    assert_eq!(blocked[1], serde_json::json!(["pursuit", 4]));
    assert_eq!(m["warned_reasons"], serde_json::json!([["hit and run", 2]]));
    assert_eq!(s["unmapped_columns"], serde_json::json!([]));
    assert_eq!(s["warnings"], serde_json::json!([]));
    assert!(s["files"][0]["layout"]
        .as_str()
        .unwrap()
        .contains("Time_Frame_Start/End"));
    assert!(
        a.report.contains("data-figure=\"moderation_blocked\">12<"),
        "the report shows the blocked searches"
    );
    assert!(!a.first_lines().contains("Read this first"));
}

#[test]
fn an_xlsx_release_is_read_sheet_by_sheet_with_sheet_rows_as_lines() {
    let a = audit(&[&fixture("two-sheet-release.xlsx")], &[]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    let s = &a.summary;
    assert_eq!(s["rows"], 17);
    assert_eq!(s["by_org"]["Okaloosa County FL SO"]["rows"], 12);
    assert!(s["by_month"].get("unknown").is_none(), "{}", s["by_month"]);
    assert_eq!(s["by_month"]["2025-07"]["rows"], 5);
    assert_eq!(s["reach"]["networks_known"], 17);
    assert_eq!(s["reach"]["devices_known"], 12);
    assert_eq!(s["files"][0]["format"], "xlsx");
    let path = |i: usize| s["files"][i]["path"].as_str().unwrap().to_string();
    assert!(
        path(0).ends_with("two-sheet-release.xlsx [Audit]"),
        "{}",
        path(0)
    );
    assert!(
        path(1).ends_with("two-sheet-release.xlsx [Federal]"),
        "{}",
        path(1)
    );
    assert_eq!(s["flagged"]["immigration_agency"], 2);
    // The ICE and HSI rows are rows 4 and 5 of the "Federal" sheet.
    assert_eq!(a.flagged_col("line"), vec!["4", "5"]);
    assert!(a.flagged_col("source_file")[0].ends_with("[Federal]"));
    assert_eq!(
        a.flagged_col("Org Name")[0],
        "[Federal] U.S. Immigration and Customs Enforcement (ICE)"
    );
}

#[test]
fn a_portal_search_audit_reads_iso_times_network_counts_and_reasons() {
    let f = fixture("alameda-portal-search-audit.csv");
    let a = audit(&[&f], &["--org", "Alameda CA PD"]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    let s = &a.summary;
    assert_eq!(s["rows"], 25);
    assert_eq!(s["by_org"]["Alameda CA PD"]["rows"], 25);
    assert!(s["by_month"].get("unknown").is_none(), "{}", s["by_month"]);
    assert_eq!(s["reach"]["networks_known"], 25);
    assert!(s["files"][0]["layout"]
        .as_str()
        .unwrap()
        .contains("Public Search Audit"));
    assert_eq!(
        s["reason_states"]["case_number_only"], 2,
        "{}",
        s["reason_states"]
    );
    assert_eq!(s["reason_states"]["missing"], 1, "{}", s["reason_states"]);
    let absent = s["files"][0]["absent_fields"].to_string();
    assert!(
        absent.contains("organization") && absent.contains("license plate"),
        "{absent}"
    );
}

#[test]
fn a_portal_audit_without_an_organization_says_so_first_and_exits_3() {
    let a = audit(&[&fixture("alameda-portal-search-audit.csv")], &[]);
    assert_eq!(a.out.status.code(), Some(INCOMPLETE), "{}", text(&a.out));
    let t = text(&a.out);
    assert!(
        t.contains("no organization column") && t.contains("--org"),
        "{t}"
    );
    assert!(
        a.first_lines().contains("Read this first"),
        "{}",
        a.first_lines()
    );
    assert!(a.first_lines().contains("no organization column"));
    assert_eq!(a.summary["rows"], 25, "the rows are still audited");
}

#[test]
fn structured_portal_reasons_are_screened_from_the_offense_type() {
    let a = audit(
        &[&fixture("albany-portal-structured-reasons.csv")],
        &["--org", "Albany CA PD"],
    );
    assert!(a.out.status.success(), "{}", text(&a.out));
    let s = &a.summary;
    assert!(s["files"][0]["layout"]
        .as_str()
        .unwrap()
        .contains("structured reasons"));
    assert_eq!(s["rows"], 25);
    assert_eq!(s["reason_states"]["stated"], 25, "{}", s["reason_states"]);
    let b = audit(
        &[&fixture("lincoln-portal-reason-case-offense.csv")],
        &["--org", "Lincoln CA PD"],
    );
    assert!(b.out.status.success(), "{}", text(&b.out));
    assert_eq!(b.summary["rows"], 20);
    assert_eq!(b.summary["unmapped_columns"], serde_json::json!([]));
}

#[test]
fn a_portal_audit_with_no_reason_column_is_audited_but_flagged_incomplete() {
    let a = audit(
        &[&fixture("fontana-portal-no-reason.csv")],
        &["--org", "Fontana CA PD"],
    );
    assert_eq!(a.out.status.code(), Some(INCOMPLETE), "{}", text(&a.out));
    assert!(
        text(&a.out).contains("no reason column"),
        "{}",
        text(&a.out)
    );
    assert!(a.first_lines().contains("no reason column"));
    assert_eq!(a.summary["rows"], 15);
    assert_eq!(a.summary["reach"]["networks_known"], 15);
}

#[test]
fn the_federal_layout_without_time_frame_flags_agencies_and_reasons() {
    let a = audit(&[&fixture("conway-federal-export.csv")], &[]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    let s = &a.summary;
    assert_eq!(s["rows"], 5);
    assert_eq!(s["flagged"]["immigration_agency"], 2);
    assert_eq!(s["flagged"]["immigration"], 1);
    assert_eq!(
        s["reason_states"]["vague"], 3,
        "Other - Not Applicable says nothing"
    );
    assert!(s["files"][0]["layout"]
        .as_str()
        .unwrap()
        .contains("without time frame"));
    assert_eq!(s["by_month"]["2025-07"]["rows"], 5);
}

#[test]
fn an_organization_audit_screens_the_offense_type_and_reads_search_date_time() {
    let f = fixture("organization-audit-offense-type.csv");
    let a = audit(&[&f], &["--org", "Example PD"]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    let s = &a.summary;
    assert_eq!(s["rows"], 4);
    assert_eq!(s["flagged"]["immigration"], 2, "{s}");
    assert_eq!(s["by_month"]["2025-12"]["rows"], 4);
    assert!(s["files"][0]["layout"]
        .as_str()
        .unwrap()
        .contains("organization audit"));
    let terms = a.flagged_col("matched_terms");
    assert!(terms.iter().any(|t| t.contains("Immigration")), "{terms:?}");
    assert!(terms.iter().any(|t| t.contains("ICE")), "{terms:?}");
}

#[test]
fn values_that_do_not_parse_are_counted_per_column_and_named() {
    let a = audit(&[&fixture("network-audit-one-line-time-frame.csv")], &[]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    let s = &a.summary;
    assert_eq!(s["rows"], 4);
    assert_eq!(s["flagged"]["immigration"], 1);
    let cols = s["files"][0]["columns"].as_array().unwrap();
    let col = |name: &str| cols.iter().find(|c| c["column"] == name).unwrap().clone();
    assert_eq!(col("Time Frame")["unreadable"], 1);
    assert_eq!(col("Search Time")["unreadable"], 1);
    assert_eq!(col("Name")["redacted"], 4);
    assert_eq!(col("License Plate")["redacted"], 4);
    assert_eq!(s["by_month"]["2025-06"]["rows"], 3);
    assert_eq!(s["by_month"]["unknown"]["rows"], 1);
    let warnings = s["warnings"].to_string();
    assert!(
        warnings.contains("Search Time") && warnings.contains("sometime in June"),
        "{warnings}"
    );
}

#[test]
fn columns_cordon_does_not_understand_are_listed_and_carried_through() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("extra.csv");
    std::fs::write(
        &f,
        "ID,Org Name,Reason,Search Time,Camera Colour\n1,Metro PD,assist ICE,\"01/02/2025, 01:00:00 PM UTC\",blue\n",
    )
    .unwrap();
    let a = audit(&[&f], &[]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    assert_eq!(
        a.summary["unmapped_columns"],
        serde_json::json!(["Camera Colour"])
    );
    assert_eq!(
        a.summary["files"][0]["unmapped_columns"],
        serde_json::json!(["Camera Colour"])
    );
    assert!(
        a.first_lines().contains("Camera Colour"),
        "{}",
        a.first_lines()
    );
    assert_eq!(a.flagged_col("Camera Colour"), vec!["blue"]);
}

#[test]
fn a_time_column_with_no_readable_time_makes_the_audit_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("times.csv");
    std::fs::write(
        &f,
        "Org Name,Reason,Search Time\nMetro PD,theft,last Tuesday\nMetro PD,burglary,45000.5\n",
    )
    .unwrap();
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(INCOMPLETE), "{}", text(&a.out));
    let t = text(&a.out);
    assert!(
        t.contains("no search time could be read") && t.contains("last Tuesday"),
        "{t}"
    );
    assert!(a.first_lines().contains("no search time could be read"));
}

#[test]
fn vague_reasons_are_shown_overall_and_per_organization() {
    let a = audit(&[&fixture("okaloosa-2025-agency-export.csv")], &[]);
    let s = &a.summary;
    // "Investigation" ×5, "investigation", "Inv", "Criminal Investigation" ×2: vague;
    // 25-000001 and 25-000002: case numbers only.
    assert_eq!(s["reason_states"]["vague"], 9, "{}", s["reason_states"]);
    assert_eq!(s["reason_states"]["case_number_only"], 2);
    assert_eq!(s["reason_says_nothing"], 11);
    assert_eq!(
        s["by_org"]["Okaloosa County FL SO"]["reason_says_nothing"],
        11
    );
    assert!(a.report.contains("id=\"lower-bound\""));
    assert!(a.report.contains("lower bound"));
    assert!(s["counts_are"].as_str().unwrap().contains("lower bound"));
    assert!(a.report.contains("id=\"vague-by-org\""));
}

#[test]
fn overlapping_scrapes_in_a_directory_are_united_by_search_id() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["search_audit-2026-03-28.csv", "search_audit-2026-04-04.csv"] {
        std::fs::copy(fixture("lassen-portal").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "cover letter").unwrap();
    let a = audit(&[dir.path()], &["--org", "Lassen County CA SO"]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    let s = &a.summary;
    assert_eq!(s["files"].as_array().unwrap().len(), 2);
    assert_eq!(s["rows"], 58);
    assert_eq!(s["searches"]["rows"], 58);
    assert_eq!(s["searches"]["repeated_rows"], 25);
    assert_eq!(s["searches"]["distinct"], 33);
    assert_eq!(s["searches"]["rows_without_id"], 0);
    assert!(
        s["warnings"].to_string().contains("notes.txt"),
        "{}",
        s["warnings"]
    );
    assert!(
        a.report.contains("data-figure=\"distinct\">33<"),
        "the report shows distinct searches"
    );
}

#[test]
fn a_search_flagged_in_one_copy_is_one_flagged_search() {
    let dir = tempfile::tempdir().unwrap();
    let header = "ID,Org Name,Reason,Search Time\n";
    // The same search in two agencies' network audits: one masked the reason.
    std::fs::write(
        dir.path().join("a.csv"),
        format!("{header}S-1,Metro PD,***,\"01/02/2025, 01:00:00 PM UTC\"\nS-2,Metro PD,theft,\"01/02/2025, 02:00:00 PM UTC\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.csv"),
        format!("{header}s-1,Metro PD,assist ICE,\"01/02/2025, 01:00:00 PM UTC\"\nS-3,Metro PD,ICE ERO,\"01/03/2025, 01:00:00 PM UTC\"\n"),
    )
    .unwrap();
    let a = audit(&[&dir.path().join("a.csv"), &dir.path().join("b.csv")], &[]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    let d = &a.summary["searches"];
    assert_eq!(
        (d["rows"].as_u64(), d["distinct"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(d["immigration"], 2);
    assert_eq!(a.summary["flagged"]["immigration"], 2, "rows");
    // Every flagged row keeps its file and line.
    assert_eq!(a.flagged_col("line"), vec!["2", "3"]);
    assert!(a
        .flagged_col("source_file")
        .iter()
        .all(|f| f.ends_with("b.csv")));
}

/// An agency's habits (150 daytime searches of two or three networks) and two searches
/// far outside them: one at night, one reaching 6,674 networks.
fn habits_export() -> String {
    let mut csv = String::from("ID,Org Name,Total Networks Searched,Reason,Search Time\n");
    for i in 0..150 {
        // Daytime, two or three networks, a few a day.
        let (day, hour) = (1 + i % 28, 1 + i % 6);
        csv += &format!(
            "d{i},Metro PD,{},Investigation,\"03/{day:02}/2025, {hour:02}:15:00 PM UTC\"\n",
            2 + i % 2
        );
    }
    csv += "n1,Metro PD,2,Investigation,\"03/05/2025, 03:40:00 AM UTC\"\n";
    csv += "w1,Metro PD,6674,Investigation,\"03/06/2025, 02:10:00 PM UTC\"\n";
    csv
}

fn org_signal(a: &Audit, kind: &str) -> serde_json::Value {
    let anomalies = a.summary["anomalies"].as_array().unwrap();
    anomalies
        .iter()
        .find(|x| x["kind"] == kind && x["who"] == "organization Metro PD")
        .unwrap_or_else(|| panic!("no {kind} in {anomalies:?}"))
        .clone()
}

#[test]
fn searches_far_outside_an_agencys_habits_are_signalled() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("habits.csv");
    std::fs::write(&f, habits_export()).unwrap();
    let a = audit(&[&f], &[]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    assert_eq!(org_signal(&a, "off_hours")["searches"], 1);
    let detail = org_signal(&a, "off_hours")["detail"].to_string();
    assert!(
        detail.contains("03:00") && detail.contains("1 searches"),
        "{detail}"
    );
    assert_eq!(org_signal(&a, "reach")["searches"], 1);
    assert!(a.report.contains("id=\"anomalies\""));
}

#[test]
fn signals_over_overlapping_files_say_they_count_rows_not_searches() {
    // The same searches in two files (two overlapping scrapes, one spelling a column
    // another way, so not byte-for-byte copies, which are read once): each search is two
    // rows, and a signal's count is of rows, which its text must say.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), habits_export()).unwrap();
    let respelled = habits_export().replacen("Org Name", "Org_Name", 1);
    std::fs::write(dir.path().join("b.csv"), respelled).unwrap();
    let a = audit(&[dir.path()], &[]);
    assert!(a.out.status.success(), "{}", text(&a.out));
    assert_eq!(a.summary["searches"]["repeated_rows"], 152);
    assert!(
        a.report.contains("<th>Who</th><th>Rows</th>"),
        "the table says what it counts"
    );
    for kind in ["off_hours", "reach"] {
        let detail = org_signal(&a, kind)["detail"].to_string();
        assert!(
            detail.contains("2 rows") && !detail.contains("searches"),
            "{kind}: {detail}"
        );
    }
}

/// The sheriff's export as a spreadsheet set to a locale whose decimal mark is a comma
/// saves it: the same cells, separated by `sep`, quoted where a cell holds `sep`.
fn resaved_with(sep: u8, dir: &Path, name: &str) -> PathBuf {
    let mut r = csv::Reader::from_path(fixture("okaloosa-2025-agency-export.csv")).unwrap();
    let to = dir.join(name);
    let mut w = csv::WriterBuilder::new()
        .delimiter(sep)
        .from_path(&to)
        .unwrap();
    w.write_record(r.headers().unwrap()).unwrap();
    for rec in r.records() {
        w.write_record(&rec.unwrap()).unwrap();
    }
    w.flush().unwrap();
    to
}

#[test]
fn semicolon_and_tab_separated_exports_are_audited_as_the_comma_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let comma = audit(&[&fixture("okaloosa-2025-agency-export.csv")], &[]);
    for (sep, name, said) in [
        (b';', "export-semicolons.csv", "separated by semicolons"),
        (b'\t', "export-tabs.tsv", "separated by tabs"),
    ] {
        let a = audit(&[&resaved_with(sep, dir.path(), name)], &[]);
        assert!(a.out.status.success(), "{name}: {}", text(&a.out));
        for figure in [
            "rows",
            "searches",
            "flagged",
            "reason_states",
            "moderation",
            "by_org",
            "by_month",
            "reach",
            "unmapped_columns",
        ] {
            assert_eq!(a.summary[figure], comma.summary[figure], "{name}: {figure}");
        }
        let layout = a.summary["files"][0]["layout"].as_str().unwrap();
        assert!(layout.contains(said), "{name}: {layout}");
        assert_eq!(a.flagged.len(), comma.flagged.len(), "{name}");
    }
}

#[test]
fn a_second_reason_column_is_not_left_unscreened_in_silence() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("two-reasons.csv");
    std::fs::write(
        &f,
        "ID,Org Name,Reason,Reason,Search Time\n\
         1,Metro PD,theft,ICE ERO,\"03/05/2025, 03:40:00 PM UTC\"\n",
    )
    .unwrap();
    let a = audit(&[&f], &[]);
    assert_eq!(a.out.status.code(), Some(INCOMPLETE), "{}", text(&a.out));
    let t = text(&a.out);
    assert!(
        t.contains("reason column \"Reason\" more than once (columns 3 and 4)"),
        "{t}"
    );
    assert!(
        a.first_lines().contains("more than once"),
        "{}",
        a.first_lines()
    );
}
