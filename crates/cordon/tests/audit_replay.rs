//! `cordon audit replay`: re-decide a log's requests under a pack and report what changes.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;
use std::path::Path;

const CPD: &str = r#"{"principal":{"id":"cpd:det-1","agency":"cpd"},"action":"search","resource":{"dataset":"alpr","path":"/alpr/plates/FAKE1"},"purpose":{"code":"criminal_investigation","reason":"burglary","case":"JD-1"},"authority":{"kind":"none"}}"#;
const ICE: &str = r#"{"principal":{"id":"ice-ero:officer-1","agency":"ice-ero"},"action":"search","resource":{"dataset":"alpr","path":"/alpr/plates/FAKE1"},"purpose":{"code":"criminal_investigation","reason":"warrant service","case":"X"},"authority":{"kind":"administrative_warrant","reference":"I-200"}}"#;

fn pack() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies/chicago-welcoming-city")
        .to_string_lossy()
        .into_owned()
}

/// A log entry in the gateway's layout, with the decision the pack makes or a forced one.
fn entry(request: &str, forced: Option<&str>) -> String {
    let o = run(&["policy", "eval", &pack()], request.as_bytes());
    let mut decision: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    if let Some(f) = forced {
        decision["decision"] = f.into();
    }
    let request: serde_json::Value = serde_json::from_str(request).unwrap();
    serde_json::json!({"v":1,"time":"2026-11-28T10:00:00.000Z","via":"proxy","auth":"mtls",
        "method":"GET","path":"/alpr/plates/FAKE1","request":request,"decision":decision})
    .to_string()
}

#[test]
fn replay_reports_only_the_decisions_that_change_and_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let o = run(
        &[
            "log",
            "init",
            dir.to_str().unwrap(),
            "--origin",
            "replay.example/log",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    // Two honest decisions, then an ICE search recorded as allowed (as a laxer pack, or
    // a tampered gateway, would have decided it).
    // ...and an entry of the federal request register, which is not an access decision.
    let lines = format!(
        "{}\n{}\n{}\n{}\n",
        entry(CPD, None),
        entry(ICE, None),
        entry(ICE, Some("allow")),
        r#"{"register":1,"step":"request","kind":"i247a_detainer"}"#
    );
    let o = run(&["log", "append", dir.to_str().unwrap()], lines.as_bytes());
    assert!(o.status.success(), "{}", text(&o));

    let o = run(
        &[
            "audit",
            "replay",
            dir.to_str().unwrap(),
            "--pack",
            &pack(),
            "--json",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["entries"], 3);
    assert_eq!(r["register_entries"], 1);
    assert_eq!(r["skipped"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(r["unchanged"], 2);
    assert_eq!(r["allow_to_deny"], 1);
    assert_eq!(r["deny_to_allow"], 0);
    let c = &r["changes"][0];
    assert_eq!(c["index"], 2);
    assert_eq!(c["agency"], "ice-ero");
    assert_eq!(
        (c["was"].as_str(), c["now"].as_str()),
        (Some("allow"), Some("deny"))
    );
    assert!(c["citations"].to_string().contains("2-173"), "{c}");

    let o = run(
        &["audit", "replay", dir.to_str().unwrap(), "--pack", &pack()],
        b"",
    );
    assert!(
        text(&o).contains("1 allowed before would now be denied"),
        "{}",
        text(&o)
    );
}

#[test]
fn replay_refuses_a_log_that_does_not_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = make_log(tmp.path(), "log", 3);
    let bundle = dir.join("tile/entries/000.p/3");
    let mut d = std::fs::read(&bundle).unwrap();
    d[3] ^= 1;
    std::fs::write(&bundle, d).unwrap();
    let o = run(
        &["audit", "replay", dir.to_str().unwrap(), "--pack", &pack()],
        b"",
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("does not verify"), "{}", text(&o));
}

/// An ICE read of one record under a judicial warrant or court order, as entries written
/// before courts were recorded hold it: a kind, a reference, no court and no registration.
const OLD_WARRANT: &str = r#"{"principal":{"id":"ice-hsi:agent-3","agency":"ice-hsi"},"action":"read","resource":{"dataset":"arrests","path":"arrests/2024-001234"},"purpose":{"code":"criminal_investigation","reason":"federal case","case":"X"},"authority":{"kind":"judicial_warrant","reference":"24-MJ-0191","record":"arrests/2024-001234"}}"#;
const OLD_ORDER: &str = r#"{"principal":{"id":"ice-ero:officer-1","agency":"ice-ero"},"action":"read","resource":{"dataset":"arrests","path":"arrests/2024-001234"},"purpose":{"code":"criminal_investigation","reason":"order","case":"X"},"authority":{"kind":"court_order","reference":"A-123","record":"arrests/2024-001234"}}"#;

/// Every file under `dir` with its bytes, to show a replay changed nothing.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn old_judicial_authorities_are_read_as_court_not_recorded_flagged_and_never_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let o = run(
        &[
            "log",
            "init",
            dir.to_str().unwrap(),
            "--origin",
            "replay.example/log",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    // The warrant was complied with when any judicial_warrant opened the door; the court
    // order was refused then too.
    let lines = format!(
        "{}\n{}\n{}\n",
        entry(CPD, None),
        entry(OLD_WARRANT, Some("allow")),
        entry(OLD_ORDER, Some("deny")),
    );
    let o = run(&["log", "append", dir.to_str().unwrap()], lines.as_bytes());
    assert!(o.status.success(), "{}", text(&o));
    let before = snapshot(&dir);

    let o = run(
        &[
            "audit",
            "replay",
            dir.to_str().unwrap(),
            "--pack",
            &pack(),
            "--json",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["court_not_recorded"], serde_json::json!([1, 2]), "{r}");
    assert_eq!(r["allow_to_deny"], 1, "{r}");
    let c = &r["changes"][0];
    assert_eq!(c["index"], 1);
    assert!(
        c["flags"].to_string().contains("court not recorded"),
        "the change says why: {c}"
    );
    let o = run(
        &["audit", "replay", dir.to_str().unwrap(), "--pack", &pack()],
        b"",
    );
    assert!(
        text(&o)
            .contains("2 entries name a judicial warrant or court order with no court recorded"),
        "{}",
        text(&o)
    );
    assert_eq!(snapshot(&dir), before, "replay never rewrites the log");
}
