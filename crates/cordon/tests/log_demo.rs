//! `cordon log demo` works on a fresh directory and again on the same one.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;

#[test]
fn log_demo_runs_twice_and_catches_the_tampered_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    for (run_no, first_receipt) in [(1, "receipt    0"), (2, "receipt    4")] {
        let o = run(&["log", "demo", "--data", d], b"");
        let t = text(&o);
        assert!(o.status.success(), "run {run_no}: {t}");
        assert!(t.contains(first_receipt), "run {run_no}: {t}");
        assert!(t.contains("OK: "), "run {run_no}: {t}");
        assert!(
            t.contains("FAIL (as it should)") && t.contains("log-demo-tampered/tile/"),
            "{t}"
        );
    }
    let key = std::fs::metadata(data.join("log-demo.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );
}
