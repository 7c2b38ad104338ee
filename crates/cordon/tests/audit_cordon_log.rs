//! `cordon audit --format cordon`: Cordon's own log as an audit input, verified first.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;
use std::path::Path;

/// A decision entry in the gateway's layout (only the fields the audit reads matter).
fn decision(agency: &str, reason: &str, outcome: &str) -> String {
    serde_json::json!({"v":1,"time":"2026-10-05T10:00:00.000Z","via":"proxy","auth":"mtls",
        "method":"GET","path":"/alpr/plates/FAKE1",
        "request":{"principal":{"id":format!("{agency}:officer-7"),"agency":agency},
            "action":"search","resource":{"dataset":"alpr","path":"/alpr/plates/FAKE1"},
            "purpose":{"code":"criminal_investigation","reason":reason,"case":"JD-1"},
            "authority":{"kind":"none"}},
        "decision":{"decision":outcome}})
    .to_string()
}

/// 600 entries over three bundles: routine searches, an ICE search at index 300, a local
/// search for a detainer at 301, and a register entry (not an access decision) at 302.
fn audited_log(parent: &Path) -> (std::path::PathBuf, String) {
    let dir = parent.join("log");
    let d = dir.to_str().unwrap();
    let o = run(&["log", "init", d, "--origin", "audit.example/log"], b"");
    assert!(o.status.success(), "{}", text(&o));
    let vkey = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let mut lines: Vec<String> = (0..600)
        .map(|_| decision("cpd", "burglary on W 63rd", "allow"))
        .collect();
    lines[300] = decision("ice-ero", "locate subject", "deny");
    lines[301] = decision("cpd", "assist ICE with detainer", "deny");
    lines[302] = r#"{"v":1,"kind":"federal_request","request_kind":"i247a"}"#.into();
    let o = run(&["log", "append", d], (lines.join("\n") + "\n").as_bytes());
    assert!(o.status.success(), "{}", text(&o));
    (dir, vkey)
}

fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_cordon_log_is_audited_by_log_index_with_register_entries_left_out() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = audited_log(tmp.path());
    let out = tmp.path().join("out");
    let o = run(
        &[
            "audit",
            dir.to_str().unwrap(),
            "--format",
            "cordon",
            "--vkey",
            &vkey,
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let s = summary(&out);
    assert_eq!(s["rows"], 599, "{s}");
    assert_eq!(s["flagged"]["immigration"], 1);
    assert_eq!(s["flagged"]["immigration_agency"], 1);
    assert_eq!(s["flagged"]["side_door"], 1);
    let file = &s["files"][0];
    assert_eq!(file["format"], "cordon");
    assert_eq!(file["other_entries"], 1);
    assert!(file["verified"].as_str().unwrap().contains(&vkey), "{file}");

    let flagged = std::fs::read_to_string(out.join("flagged.csv")).unwrap();
    let mut r = csv::Reader::from_reader(flagged.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let lines: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(lines, ["300", "301"], "flagged rows carry their log index");
    assert!(rows[1][4].contains("assist ICE with detainer"), "{flagged}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("other log entries (not access decisions)"));
}

#[test]
fn a_directory_is_read_as_a_cordon_log_with_the_key_it_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = audited_log(tmp.path());
    let out = tmp.path().join("out");
    let o = run(
        &[
            "audit",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let s = summary(&out);
    assert_eq!(s["files"][0]["format"], "cordon");
    assert!(s["files"][0]["verified"]
        .as_str()
        .unwrap()
        .contains("recorded in the log directory"));
}

#[test]
fn a_tampered_log_is_not_read_and_the_audit_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = audited_log(tmp.path());
    let bundle = dir.join("tile/entries/001");
    let mut data = std::fs::read(&bundle).unwrap();
    let at = data.len() / 2;
    data[at] ^= 1;
    std::fs::write(&bundle, data).unwrap();
    let out = tmp.path().join("out");
    let o = run(
        &[
            "audit",
            dir.to_str().unwrap(),
            "--vkey",
            &vkey,
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("does not verify"), "{}", text(&o));
    assert!(err.contains(dir.to_str().unwrap()), "{}", text(&o));
    assert_eq!(summary(&out)["rows"], 0, "nothing of a bad log is counted");
}

#[test]
fn a_log_checked_against_another_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = audited_log(tmp.path());
    let (_, other_key) = make_log(tmp.path(), "other", 1);
    let out = tmp.path().join("out");
    let o = run(
        &[
            "audit",
            dir.to_str().unwrap(),
            "--vkey",
            &other_key,
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not verify"),
        "{}",
        text(&o)
    );
}
