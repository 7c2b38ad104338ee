//! `cordon requests` and `cordon report` on a log directory: the hard cases through the
//! pack, reports whose totals equal the register, corrections that are logged and win
//! while the original stays, and a log that was tampered with or holds a forged register
//! entry yields no report.
#![allow(clippy::unwrap_used)]

mod common;

use common::{run, text};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn pack() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies/chicago-welcoming-city")
        .display()
        .to_string()
}

fn new_log(parent: &Path) -> PathBuf {
    let dir = parent.join("log");
    let o = run(
        &[
            "log",
            "init",
            dir.to_str().unwrap(),
            "--origin",
            "city.example/register",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    dir
}

/// Runs a recording subcommand with `--json`; returns the parsed answer.
fn record(log: &Path, sub: &str, args: &[&str]) -> Value {
    let p = pack();
    let mut all = vec![
        "requests",
        sub,
        log.to_str().unwrap(),
        "--pack",
        &p,
        "--by",
        "clerk-7",
        "--agency",
        "cpd",
        "--json",
    ];
    all.extend_from_slice(args);
    let o = run(&all, b"");
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn add(
    log: &Path,
    kind: &str,
    from: &str,
    received: &str,
    subject: &str,
    asks: &str,
    extra: &[&str],
) -> Value {
    let mut args = vec![
        "--kind",
        kind,
        "--from",
        from,
        "--unit",
        "Field Office",
        "--received",
        received,
        "--subject",
        subject,
        "--asks",
        asks,
    ];
    args.extend_from_slice(extra);
    record(log, "add", &args)
}

fn receipt(v: &Value) -> String {
    v["receipt"].as_u64().unwrap().to_string()
}

#[test]
fn the_hard_cases_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let detainer = add(
        &log,
        "detainer_i247a",
        "ice-ero",
        "2026-02-03T14:05",
        "CB-2026-1",
        "hold,release_date",
        &["--attached", "warrant_i200"],
    );
    assert_eq!(detainer["response"]["response"], "decline");
    assert!(detainer["response"]["citations"]
        .to_string()
        .contains("MCC 2-173-020(a)"));
    let judicial = add(
        &log,
        "judicial_warrant",
        "ice-hsi",
        "2026-02-04",
        "CB-2026-2",
        "transfer",
        &[
            "--court",
            "federal",
            "--matter",
            "criminal",
            "--names-subject",
        ],
    );
    assert_eq!(judicial["response"]["response"], "comply");
    let release = add(
        &log,
        "request_for_assistance",
        "ice-ero",
        "2026-02-05",
        "CB-2026-3",
        "release_date",
        &[],
    );
    assert_eq!(release["response"]["response"], "decline");
    assert_eq!(
        (receipt(&detainer), receipt(&judicial), receipt(&release)),
        ("0".into(), "1".into(), "2".into())
    );
}

#[test]
fn bad_input_is_named_and_nothing_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let p = pack();
    let base = [
        "requests",
        "add",
        log.to_str().unwrap(),
        "--pack",
        &p,
        "--by",
        "clerk-7",
        "--agency",
        "cpd",
        "--kind",
        "detainer_i247a",
        "--from",
        "ice-ero",
        "--unit",
        "ERO",
        "--asks",
        "hold",
    ];
    let cases: [(&[&str], &str); 3] = [
        (
            &["--received", "2026-02-30", "--subject", "CB-1"],
            "not a real calendar date",
        ),
        (
            &["--received", "2026-02-03", "--subject", "Maria Lopez"],
            "never a person's name",
        ),
        (
            &[
                "--received",
                "2026-02-03",
                "--subject",
                "CB-1",
                "--attached",
                "i200",
            ],
            "attached: \"i200\"",
        ),
    ];
    for (extra, expect) in cases {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let o = run(&args, b"");
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stderr).contains(expect),
            "{expect}: {}",
            text(&o)
        );
    }
    let list = run(&["requests", "list", log.to_str().unwrap(), "--json"], b"");
    let register: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(
        register["requests"].as_array().map(Vec::len),
        Some(0),
        "{}",
        text(&list)
    );
}

fn report(log: &Path, kind: &str, flag: &str, period: &str, out: &Path) -> std::process::Output {
    run(
        &[
            "report",
            kind,
            flag,
            period,
            "--log",
            log.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    )
}

#[test]
fn report_totals_equal_the_register_and_a_logged_correction_wins_while_the_original_stays() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let a = add(
        &log,
        "detainer_i247a",
        "ice-ero",
        "2026-01-10T08:00",
        "CB-2026-10",
        "hold",
        &["--attached", "warrant_i205"],
    );
    let b = add(
        &log,
        "warrant_i200",
        "ice-ero",
        "2026-02-11",
        "CB-2026-11",
        "transfer",
        &[],
    );
    let c = add(
        &log,
        "request_for_assistance",
        "ice-hsi",
        "2026-03-31T23:59",
        "CB-2026-12",
        "address",
        &[],
    );
    add(
        &log,
        "judicial_warrant",
        "fbi",
        "2026-03-01",
        "CB-2026-13",
        "transfer",
        &[
            "--court",
            "federal",
            "--matter",
            "criminal",
            "--names-subject",
        ],
    );
    add(
        &log,
        "ncic_immigration_violator",
        "ice-ero",
        "2026-04-01",
        "CB-2026-14",
        "hold",
        &[],
    );
    record(
        &log,
        "outcome",
        &[
            "--of",
            &receipt(&a),
            "--result",
            "released",
            "--at",
            "2026-01-10T13:00",
            "--bail-posted",
            "2026-01-10T09:15",
        ],
    );
    record(
        &log,
        "outcome",
        &[
            "--of",
            &receipt(&b),
            "--result",
            "held_criminal",
            "--at",
            "2026-02-11",
        ],
    );
    // The request for assistance was received in April, not March: corrected, moving it out of Q1.
    let fix = record(
        &log,
        "correct",
        &[
            "--of",
            &receipt(&c),
            "--reason",
            "date stamp misread",
            "--kind",
            "request_for_assistance",
            "--from",
            "ice-hsi",
            "--unit",
            "Field Office",
            "--received",
            "2026-04-01T08:00",
            "--subject",
            "CB-2026-12",
            "--asks",
            "address",
        ],
    );

    let out = dir.path().join("q1");
    let o = report(&log, "chicago-quarterly", "--quarter", "2026Q1", &out);
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let indexes: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(indexes, ["0", "1", "3"], "{csv}");
    assert_eq!(&rows[0][15], "3h 45m", "time held after bail");

    // The register, read independently, has the same Q1 requests.
    let list = run(&["requests", "list", log.to_str().unwrap(), "--json"], b"");
    let register: Value = serde_json::from_slice(&list.stdout).unwrap();
    let in_q1 = register["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["request"]["received"].as_str().unwrap() < "2026-04")
        .count();
    assert_eq!(in_q1, rows.len());
    let corrected = &register["requests"][2];
    assert_eq!(
        corrected["original"]["received"], "2026-03-31T23:59",
        "the original stays visible"
    );
    assert_eq!(corrected["request"]["received"], "2026-04-01T08:00");
    assert_eq!(corrected["corrected_by"][0], fix["receipt"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("3 requests (1 detainers, 1 civil warrants, 0 requests for assistance, 1 judicial); 2 declined, 1 complied"), "{}", text(&o));

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("MCC 2-173-020(a)")
            && html.contains("Inspector General")
            && html.contains("CB-2026-10")
    );

    let q2 = dir.path().join("q2");
    let o = report(&log, "chicago-quarterly", "--quarter", "2026Q2", &q2);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(q2.join("report.html")).unwrap();
    assert!(
        html.contains("date stamp misread") && html.contains("2026-03-31T23:59"),
        "the correction and the original are shown"
    );

    // A correction of a correction is refused: correct the original.
    let p = pack();
    let o = run(
        &[
            "requests",
            "correct",
            log.to_str().unwrap(),
            "--pack",
            &p,
            "--by",
            "clerk-7",
            "--agency",
            "cpd",
            "--of",
            &receipt(&fix),
            "--reason",
            "again",
            "--result",
            "released",
            "--at",
            "2026-04-02",
        ],
        b"",
    );
    assert!(
        !o.status.success()
            && String::from_utf8_lossy(&o.stderr).contains("correct the original entry"),
        "{}",
        text(&o)
    );

    let y = dir.path().join("y");
    let o = report(&log, "trust-act", "--year", "2026", &y);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(y.join("report.html")).unwrap();
    assert!(html.contains("5 ILCS 805/25") && html.contains("Attorney General"));
}

#[test]
fn a_year_with_no_requests_is_certified_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    add(
        &log,
        "judicial_warrant",
        "fbi",
        "2025-06-01",
        "CB-2025-1",
        "transfer",
        &[
            "--court",
            "federal",
            "--matter",
            "criminal",
            "--names-subject",
        ],
    );
    let out = dir.path().join("r");
    let o = report(&log, "trust-act", "--year", "2025", &out);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("certifies that none was received"),
        "a judicial warrant is not a detainer or civil warrant"
    );
}

#[test]
fn a_tampered_log_or_a_forged_register_entry_yields_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    add(
        &log,
        "detainer_i247a",
        "ice-ero",
        "2026-01-10",
        "CB-2026-10",
        "hold",
        &[],
    );
    // An outcome that names an entry which is not a register request, appended behind
    // the register's back.
    let forged = br#"{"register":1,"time":"2026-01-11T00:00:00Z","via":"cli","by":{"id":"x","agency":"cpd","auth":"log_key"},"step":"outcome","of":7,"outcome":{"result":"released","at":"2026-01-11"}}"#;
    let mut line = forged.to_vec();
    line.push(b'\n');
    let o = run(&["log", "append", log.to_str().unwrap()], &line);
    assert!(o.status.success(), "{}", text(&o));
    let o = report(
        &log,
        "chicago-quarterly",
        "--quarter",
        "2026Q1",
        &dir.path().join("r"),
    );
    assert!(
        !o.status.success()
            && String::from_utf8_lossy(&o.stderr).contains("entry 1 is an outcome of entry 7"),
        "{}",
        text(&o)
    );

    let clean = tempfile::tempdir().unwrap();
    let log = new_log(clean.path());
    add(
        &log,
        "detainer_i247a",
        "ice-ero",
        "2026-01-10",
        "CB-2026-10",
        "hold",
        &[],
    );
    // Change the declined detainer to "comply!" (same length) inside the entry bundle.
    let bundle = log.join("tile/entries/000.p/1");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.windows(9).position(|w| w == b"\"decline\"").unwrap();
    bytes[at..at + 9].copy_from_slice(b"\"comply!\"");
    std::fs::write(&bundle, &bytes).unwrap();
    let out = clean.path().join("r");
    let o = report(&log, "chicago-quarterly", "--quarter", "2026Q1", &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("does not match"),
        "{}",
        text(&o)
    );
    assert_eq!(
        stderr.matches("does not match").count(),
        1,
        "said once: {stderr}"
    );
    assert!(!out.join("report.html").exists());
}

#[test]
fn policy_test_runs_the_federal_request_cases_and_fails_on_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    for name in ["illinois-trust-act", "illinois-alpr-2-130"] {
        common::copy_dir(&policies.join(name), &dir.path().join(name));
    }
    let copy = dir.path().join("chicago-welcoming-city");
    common::copy_dir(Path::new(&pack()), &copy);
    let ok = run(&["policy", "test", copy.to_str().unwrap()], b"");
    assert!(
        ok.status.success()
            && String::from_utf8_lossy(&ok.stdout).contains("federal request cases pass"),
        "{}",
        text(&ok)
    );
    let cases = copy.join("requests/cases.json");
    let edited = std::fs::read_to_string(&cases).unwrap().replacen(
        "\"response\": \"decline\"",
        "\"response\": \"comply\"",
        1,
    );
    std::fs::write(&cases, edited).unwrap();
    let bad = run(&["policy", "test", copy.to_str().unwrap()], b"");
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains(
            "FAIL a detainer with an I-200 attached is declined under both laws: expected comply"
        ),
        "{}",
        text(&bad)
    );
}

#[test]
fn a_request_body_from_stdin_goes_through_the_gateway_parser() {
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let p = pack();
    let args = [
        "requests",
        "add",
        log.to_str().unwrap(),
        "--pack",
        &p,
        "--by",
        "clerk-7",
        "--agency",
        "cpd",
        "--json",
        "--body",
        "-",
    ];
    let body = br#"{"kind":"warrant_i205","agency":"ice-ero","unit":"ERO","received":"2026-03-02","subject":"CB-9","asks":["transfer"]}"#;
    let o = run(&args, body);
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["response"]["response"], "decline");
    let o = run(&args, br#"{"kind":"warrant_i205","agency":"ice-ero","unit":"ERO","received":"2026-03-02","subject":"CB-9","asks":["transfer"],"name":"x"}"#);
    assert!(
        !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("unknown field `name`"),
        "{}",
        text(&o)
    );
}
