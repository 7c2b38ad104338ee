//! `cordon policy` and `cordon screen` as a user runs them: the documented output, exit
//! statuses, and a clear message (never a panic) for every bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn pack(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

/// Copies shipped packs (with their requests/ folders) side by side into a temporary
/// folder, so that a pack's home stack resolves among the copies.
fn copy_packs(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for name in names {
        copy_tree(&pack(name), &dir.path().join(name));
    }
    dir
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn cordon(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cordon"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run cordon: {e}"));
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn eval(request: &str) -> Output {
    let dir = pack("chicago-welcoming-city");
    cordon(&["policy", "eval", &dir.to_string_lossy()], request)
}

#[test]
fn eval_prints_an_allow_and_exits_zero() {
    let out = eval(
        r#"{"principal":{"id":"p","agency":"cpd"},"action":"search","resource":{"dataset":"arrests"},"purpose":{"code":"criminal_investigation","reason":"burglary"}}"#,
    );
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(decision["decision"], "allow");
    assert_eq!(
        decision["policies"][0],
        "chicago-welcoming-city/public-safety-search-read"
    );
    assert_eq!(decision["rules"][0]["basis"], "agency_choice");
    assert!(decision["obligations"]["redact"]
        .as_array()
        .is_some_and(|r| !r.is_empty()));
}

#[test]
fn eval_denies_the_side_door_with_the_citation_and_exits_one() {
    let out = eval(
        r#"{"principal":{"id":"p","agency":"cpd"},"action":"search","resource":{"dataset":"alpr"},"purpose":{"code":"criminal_investigation","reason":"assist ICE"}}"#,
    );
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(decision["decision"], "deny");
    assert_eq!(decision["screen"]["flags"][0]["term"], "ICE");
    let citations = decision["citations"].to_string();
    assert!(
        citations.contains("2-173-020(a)")
            && citations.contains("805/15")
            && citations.contains("2-130"),
        "{citations}"
    );
    assert_eq!(
        decision["packs"].as_array().map(Vec::len),
        Some(3),
        "every pack that denied"
    );
}

#[test]
fn eval_refuses_malformed_json_with_a_message_and_exit_two() {
    let out = eval(r#"{"principal":{"id":"p"#);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("not valid JSON") && stderr.contains("request.schema.json"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn eval_names_an_unknown_purpose_code_and_what_to_use_prints_the_deny_and_exits_two() {
    let out = eval(
        r#"{"principal":{"id":"p","agency":"cpd"},"action":"search","resource":{"dataset":"arrests"},"purpose":{"code":"ice_assist","reason":"x"}}"#,
    );
    let stderr = text(&out.stderr);
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(decision["decision"], "deny");
    assert!(
        stderr.contains("\"ice_assist\"") && stderr.contains("criminal_investigation"),
        "{stderr}"
    );
}

#[test]
fn check_says_whether_the_stack_has_a_decision_table_and_why_not() {
    let dir = copy_packs(&["illinois-trust-act", "illinois-alpr-2-130"]);
    let trust = dir.path().join("illinois-trust-act");
    let out = cordon(&["policy", "check", &trust.to_string_lossy()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("decision table: "),
        "{}",
        text(&out.stdout)
    );
    let _ = std::fs::write(
        trust.join("pattern.cedar"),
        "@id(\"sealed\") @basis(\"agency_choice\") @source(\"s\") @citation(\"c\") @explain(\"e\")\nforbid (principal, action, resource) when { context.path like \"sealed/*\" };",
    );
    let out = cordon(&["policy", "check", &trust.to_string_lossy()], "");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("no decision table") && stdout.contains("sealed"),
        "{stdout}"
    );
}

#[test]
fn check_reports_a_broken_policy_by_file_and_fails() {
    let dir = copy_packs(&["illinois-trust-act", "illinois-alpr-2-130"]);
    let trust = dir.path().join("illinois-trust-act");
    let _ = std::fs::write(
        trust.join("broken.cedar"),
        "permit (principal, action, resource) when { context.nope };",
    );
    let out = cordon(&["policy", "check", &trust.to_string_lossy()], "");
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("broken.cedar") || stderr.contains("nope"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn test_names_each_failing_case_and_fails() {
    let dir = copy_packs(&[
        "chicago-welcoming-city",
        "illinois-trust-act",
        "illinois-alpr-2-130",
    ]);
    let chicago = dir.path().join("chicago-welcoming-city");
    let wrong = r#"[{"name":"ICE should be allowed (wrong on purpose)","request":{"principal":{"id":"p","agency":"ice-ero"},"action":"search","resource":{"dataset":"arrests"},"purpose":{"code":"criminal_investigation"}},"expect":{"decision":"allow","policies":[]}}]"#;
    let _ = std::fs::write(chicago.join("cases.json"), wrong);
    let out = cordon(&["policy", "test", &chicago.to_string_lossy()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("FAIL ICE should be allowed (wrong on purpose)"));
}

#[test]
fn shipped_packs_check_and_test_clean() {
    for name in [
        "chicago-welcoming-city",
        "illinois-trust-act",
        "illinois-alpr-2-130",
        "california-values-act",
    ] {
        let dir = pack(name);
        for command in ["check", "test"] {
            let out = cordon(&["policy", command, &dir.to_string_lossy()], "");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{command} {name}: {}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn screen_prints_one_json_object_per_reason() {
    let out = cordon(&["screen"], "ICE+ERO\nstolen vehicle\n");
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_default())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["text"], "ICE+ERO");
    assert_eq!(lines[0]["flags"][0]["flag"], "civil_immigration");
    assert_eq!(
        (
            lines[0]["flags"][0]["start"].as_u64(),
            lines[0]["flags"][0]["end"].as_u64()
        ),
        (Some(0), Some(3))
    );
    assert_eq!(lines[1]["flags"].as_array().map(Vec::len), Some(0));
}

#[test]
fn the_rule_table_in_docs_policy_md_is_the_packs_own() {
    let docs = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for stack in ["chicago-welcoming-city", "california-values-act"] {
        let out = cordon(&["policy", "table", &pack(stack).to_string_lossy()], "");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let table = text(&out.stdout);
        assert!(table.lines().count() > 20, "{table}");
        for row in table.lines() {
            assert!(
                docs.contains(row),
                "docs/policy.md lacks (run `cordon policy table`): {row}"
            );
        }
    }
}
