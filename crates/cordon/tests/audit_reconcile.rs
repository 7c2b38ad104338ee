//! `cordon audit reconcile`: a vendor's network-audit export against Cordon's own log.
//! The export is in the 13-column Flock network-audit layout (LAW-AND-FACTS §3: ID, Name,
//! Org Name, ... Moderation; times `11/14/2025, 09:53:36 AM UTC`, two-line Time Frame
//! cells, `***` masks); the log holds version 2 gateway decision entries as the gateway
//! writes them. Names, plates and case numbers are invented.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;
use std::path::{Path, PathBuf};

/// A version 2 gateway decision for a plate search.
fn decision(time: &str, user: &str, plate: &str, reason: &str, case: &str, effect: &str) -> String {
    let mut purpose = serde_json::json!({"code": "criminal_investigation", "reason": reason});
    if !case.is_empty() {
        purpose["case"] = case.into();
    }
    serde_json::json!({"v":2,"kind":"decision","time":time,"via":"proxy","auth":"mtls",
        "principal":{"id":format!("ecso:{user}"),"agency":"ecso"},"client":"10.20.0.7",
        "method":"GET","path":format!("/alpr/plates/{plate}"),"query":"days=30",
        "request":{"principal":{"id":format!("ecso:{user}"),"agency":"ecso"},
            "action":"search","resource":{"dataset":"alpr","path":format!("plates/{plate}")},
            "purpose":purpose,"authority":{"kind":"none"}},
        "decision":{"decision":effect,"policies":["p"],"citations":[],"obligations":{"redact":[]},
            "screen":{"flags":[],"spans":[]},"explanation":[]}})
    .to_string()
}

/// The log: five allows on 14 November, one the day before, one deny, and a register
/// entry (not a decision).
fn gateway_log(parent: &Path) -> (PathBuf, String) {
    let dir = parent.join("log");
    let d = dir.to_str().unwrap();
    let o = run(&["log", "init", d, "--origin", "ecso.example/cordon"], b"");
    assert!(o.status.success(), "{}", text(&o));
    let vkey = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let lines = [
        decision(
            "2025-11-13T08:00:00.000Z",
            "jsmith",
            "OLD0001",
            "follow-up",
            "",
            "allow",
        ),
        decision(
            "2025-11-14T09:53:20.118Z",
            "jsmith",
            "ABC1234",
            "stolen vehicle",
            "25-001",
            "allow",
        ),
        decision(
            "2025-11-14T10:05:00.530Z",
            "mdoe",
            "XYZ987",
            "burglary suspect vehicle",
            "25-002",
            "allow",
        ),
        decision(
            "2025-11-14T10:30:00.001Z",
            "jsmith",
            "LMN555",
            "hit and run",
            "",
            "allow",
        ),
        decision(
            "2025-11-14T11:00:00.000Z",
            "kbrown",
            "QRS222",
            "missing person",
            "",
            "allow",
        ),
        decision(
            "2025-11-14T12:00:00.000Z",
            "mdoe",
            "TUV333",
            "investigation",
            "",
            "allow",
        ),
        decision(
            "2025-11-14T12:10:00.000Z",
            "jsmith",
            "IMM001",
            "ICE assist",
            "",
            "deny",
        ),
        r#"{"register":1,"kind":"federal_request"}"#.to_string(),
    ];
    let o = run(&["log", "append", d], (lines.join("\n") + "\n").as_bytes());
    assert!(o.status.success(), "{}", text(&o));
    (dir, vkey)
}

const HEADER: &str = "ID,Name,Org Name,Total Networks Searched,Time Frame,License Plate,Reason,Case #,Filters,Search Time,Search Type,Text Prompt,Moderation";

fn row(
    id: &str,
    user: &str,
    org: &str,
    plate: &str,
    reason: &str,
    case: &str,
    time: &str,
) -> String {
    format!(
        "{id},\"{user}\",{org},412,\"11/07/2025, 09:53:00 AM UTC -\n11/14/2025, 09:53:00 AM UTC\",{plate},{reason},{case},,\"11/14/2025, {time} UTC\",lookup,,allow"
    )
}

/// Six searches by the sheriff's office (one row repeated), one by another agency.
fn export(parent: &Path) -> PathBuf {
    let org = "Example County FL SO";
    let rows = [
        row(
            "a1f0c2e4-0001",
            "jsmith",
            org,
            "ABC1234",
            "stolen vehicle",
            "25-001",
            "09:53:36 AM",
        ),
        row(
            "a1f0c2e4-0001",
            "jsmith",
            org,
            "ABC1234",
            "stolen vehicle",
            "25-001",
            "09:53:36 AM",
        ),
        row(
            "a1f0c2e4-0002",
            "mdoe",
            org,
            "XYZ987",
            "burglary suspect vehicle",
            "25-002",
            "10:05:09 AM",
        ),
        row(
            "a1f0c2e4-0003",
            "Smith, John",
            org,
            "LMN555",
            "hit and run",
            "",
            "10:30:04 AM",
        ),
        // The same officer, a minute later, a plate Cordon never allowed.
        row(
            "a1f0c2e4-0004",
            "jsmith",
            org,
            "DEF4444",
            "ICE detainer",
            "",
            "10:31:00 AM",
        ),
        // Names and plates stripped from the export: only the time can match.
        row("a1f0c2e4-0005", "***", org, "***", "***", "", "12:00:03 PM"),
        // Cordon denied this one; the vendor shows it ran anyway.
        row(
            "a1f0c2e4-0006",
            "jsmith",
            org,
            "IMM001",
            "ICE assist",
            "",
            "12:10:05 PM",
        ),
        row(
            "b7d9e100-0001",
            "officer9",
            "Another City PD",
            "GHI777",
            "theft",
            "",
            "11:15:00 AM",
        ),
    ];
    let path = parent.join("network-audit.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    path
}

fn reconcile(tmp: &Path, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let (log, vkey) = gateway_log(tmp);
    let export = export(tmp);
    let out = tmp.join("out");
    let mut args = vec![
        "audit",
        "reconcile",
        export.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--vkey",
        &vkey,
        "--dataset",
        "alpr",
        "--org",
        "example county fl so",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = run(&args, b"");
    let json = std::fs::read(out.join("reconcile.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (o, json)
}

fn users_file(tmp: &Path) -> PathBuf {
    let p = tmp.join("users.csv");
    std::fs::write(
        &p,
        "vendor_user,cordon_principal\n\"Smith, John\",ecso:jsmith\n",
    )
    .unwrap();
    p
}

#[test]
fn searches_with_no_allow_are_reported_as_going_around_cordon() {
    let tmp = tempfile::tempdir().unwrap();
    let users = users_file(tmp.path());
    let (o, r) = reconcile(tmp.path(), &["--users", users.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert_eq!(r["vendor_searches"], 6, "{r:#}");
    assert_eq!(r["duplicate_rows"], 1);
    assert_eq!(r["other_organizations"], 1);
    let unmatched: Vec<&str> = r["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(unmatched, ["a1f0c2e4-0004", "a1f0c2e4-0006"], "{r:#}");
    let matched: Vec<(&str, u64, String)> = r["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let on: Vec<&str> = m["agreed_on"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            (
                m["search"]["id"].as_str().unwrap(),
                m["log_index"].as_u64().unwrap(),
                on.join("+"),
            )
        })
        .collect();
    assert_eq!(
        matched,
        [
            ("a1f0c2e4-0001", 1, "user+plate+case+reason".to_string()),
            ("a1f0c2e4-0002", 2, "user+plate+case+reason".into()),
            ("a1f0c2e4-0003", 3, "user+plate+reason".into()),
            ("a1f0c2e4-0005", 5, String::new()),
        ]
    );
    assert_eq!(r["matched_on_time_only"], 1);
    assert_eq!(r["matched"][0]["seconds_after_allow"], 16);
    let unrecorded: Vec<u64> = r["unrecorded_allows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["index"].as_u64().unwrap())
        .collect();
    assert_eq!(
        unrecorded,
        [4],
        "kbrown's allow never reached the vendor's log"
    );
    assert_eq!(
        r["allows_outside_export_period"], 1,
        "the day before is not compared"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("2 had none: they went around Cordon"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("out/unmatched.csv")).unwrap();
    assert!(csv.contains("DEF4444") && csv.contains("IMM001"), "{csv}");
}

#[test]
fn a_vendor_account_named_differently_matches_only_through_the_user_map() {
    let tmp = tempfile::tempdir().unwrap();
    let (o, r) = reconcile(tmp.path(), &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let ids: Vec<&str> = r["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a1f0c2e4-0003", "a1f0c2e4-0004", "a1f0c2e4-0006"]);
    // Its allow is then one the vendor "never recorded".
    assert_eq!(r["unrecorded_allows"].as_array().unwrap().len(), 2);
}

#[test]
fn a_narrow_window_leaves_searches_unmatched_that_a_wide_one_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let users = users_file(tmp.path());
    let (_, r) = reconcile(
        tmp.path(),
        &["--users", users.to_str().unwrap(), "--window", "5"],
    );
    let ids: Vec<&str> = r["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    // 16 s and 9 s after their allows: outside a 5 s window.
    assert_eq!(
        ids,
        [
            "a1f0c2e4-0001",
            "a1f0c2e4-0002",
            "a1f0c2e4-0004",
            "a1f0c2e4-0006"
        ]
    );
}

#[test]
fn a_log_that_does_not_verify_is_not_reconciled() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, _) = gateway_log(tmp.path());
    let export = export(tmp.path());
    let other = tmp.path().join("other");
    let o = run(
        &[
            "log",
            "init",
            other.to_str().unwrap(),
            "--origin",
            "other.example/log",
        ],
        b"",
    );
    let wrong = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let o = run(
        &[
            "audit",
            "reconcile",
            export.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--vkey",
            &wrong,
            "--out",
            tmp.path().join("out").to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("does not verify"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
