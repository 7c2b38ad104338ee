//! The shipped systemd units are valid for this build and stay hardened: `systemd-analyze
//! verify` checks each against the built binary (a unit whose command line the binary
//! rejects, or whose directives systemd does not know, fails), and `systemd-analyze
//! security --offline=true` holds each to an exposure of at most 2.0 of 10
//! (`--threshold=20`). Needs
//! `systemd-analyze` (Debian's systemd package; `.ci/run` installs it); without it the test
//! fails rather than skips.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

/// `--threshold` counts in tenths of the 0-10 exposure scale it prints: 20 is 2.0.
const THRESHOLD: &str = "20";
const UNITS: [&str; 2] = ["cordon-gateway.service", "cordon-witness.service"];

/// The unit as shipped, with its command pointed at the binary under test.
fn unit_for_this_build(name: &str, dir: &Path) -> std::path::PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name);
    let text = std::fs::read_to_string(&shipped).unwrap();
    assert!(
        text.contains("/usr/local/bin/cordon "),
        "{name} runs /usr/local/bin/cordon, as docs/deploy.md installs it"
    );
    let text = text.replace(
        "/usr/local/bin/cordon ",
        &format!("{} ", env!("CARGO_BIN_EXE_cordon")),
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn analyze(args: &[&str], unit: &Path) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .unwrap_or_else(|e| panic!("systemd-analyze is needed (apt install systemd): {e}"))
}

#[test]
fn shipped_units_verify_against_the_built_binary() {
    let dir = tempfile::tempdir().unwrap();
    for name in UNITS {
        let unit = unit_for_this_build(name, dir.path());
        let out = analyze(&["verify"], &unit);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.trim().is_empty(),
            "{name}: {said}"
        );
    }
}

#[test]
fn shipped_units_keep_their_exposure_at_or_below_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    for name in UNITS {
        let unit = unit_for_this_build(name, dir.path());
        let out = analyze(
            &[
                "security",
                "--offline=true",
                &format!("--threshold={THRESHOLD}"),
            ],
            &unit,
        );
        let said = String::from_utf8_lossy(&out.stdout);
        let overall = said
            .lines()
            .find(|l| l.contains("Overall exposure"))
            .unwrap_or("");
        assert!(
            out.status.success(),
            "{name} is too exposed: {overall}\n{said}"
        );
        assert!(!overall.is_empty(), "{name}: no exposure figure in {said}");
    }
}

#[test]
fn an_unhardened_unit_fails_the_exposure_check() {
    // The check itself must be able to fail: the same unit without its sandbox.
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build("cordon-gateway.service", dir.path());
    let text = std::fs::read_to_string(&unit).unwrap();
    let bare: String = text
        .lines()
        .filter(|l| {
            !l.starts_with("Protect") && !l.starts_with("Private") && !l.starts_with("Restrict")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&unit, bare).unwrap();
    let out = analyze(
        &[
            "security",
            "--offline=true",
            &format!("--threshold={THRESHOLD}"),
        ],
        &unit,
    );
    assert!(
        !out.status.success(),
        "an unsandboxed gateway passed the threshold"
    );
}
