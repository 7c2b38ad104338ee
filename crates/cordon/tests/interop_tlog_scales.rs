//! Interoperability: a log written by `cordon log` verifies with tlog-scales, an
//! independent Python implementation of tlog-tiles (installed by `.ci/run`).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn log_written_by_cordon_verifies_with_tlog_scales() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let cordon = env!("CARGO_BIN_EXE_cordon");
    let init = Command::new(cordon)
        .args(["log", "init"])
        .arg(&dir)
        .args(["--origin", "interop.example/log"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let vkey = tmp.path().join("vkey");
    std::fs::write(&vkey, &init.stdout).unwrap();

    // 70,000 entries cross full tiles at levels 0 and 1 and leave partials at three levels.
    let entries: String = (0..70_000)
        .map(|i| format!("decision {i} {}\n", "x".repeat(i % 40)))
        .collect();
    let entries_file = tmp.path().join("entries");
    std::fs::write(&entries_file, &entries).unwrap();
    // Two appends, so the second extends tiles the first left partial.
    let cut = entries[..entries.len() / 3].rfind('\n').unwrap() + 1;
    for part in [&entries[..cut], &entries[cut..]] {
        let mut child = Command::new(cordon)
            .args(["log", "append"])
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(part.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/tlog_scales_check.py");
    let python = std::env::var("CORDON_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(&script)
        .arg(&dir)
        .arg(&vkey)
        .arg(&entries_file)
        .arg(cordon)
        .output()
        .unwrap_or_else(|e| {
            panic!("running {python}: {e}; install Python 3.11+ and `pip install tlog-scales`")
        });
    assert!(
        out.status.success(),
        "tlog-scales rejected the log (is it installed? `pip install tlog-scales`):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("tlog-scales: OK, 70000 entries"));
}
