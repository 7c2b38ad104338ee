//! `cordon demo --tour-only`: the README's main command runs its tour, verifies its log,
//! and works again on the same data directory.
#![allow(clippy::unwrap_used)]
mod common;
use common::{cordon, text};

fn tour(data: &std::path::Path) -> String {
    let o = cordon()
        .args([
            "demo",
            "--tour-only",
            "--listen",
            "127.0.0.1:0",
            "--public",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("DEVELOPMENT MODE"),
        "dev mode must be announced: {stderr}"
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_demo_tour_allows_denies_redacts_and_verifies_and_can_run_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = tour(&data);
    assert!(first.contains("< 200"), "{first}");
    assert!(first.contains("MCC 2-173-030(b)"), "{first}");
    assert!(first.contains("Cordon removed"), "{first}");
    // The sample people's statuses never reach the client.
    assert!(!first.contains("undocumented"), "{first}");
    assert!(!first.contains("lawful_permanent_resident"), "{first}");
    assert!(first.contains("OK: checkpoint of 4 entries"), "{first}");
    assert!(
        first.contains("cosigned by 2 of the 2 witnesses given (quorum 2)"),
        "the public copy is checked with both witnesses' cosignatures: {first}"
    );
    let second = tour(&data);
    assert!(second.contains("OK: checkpoint of 8 entries"), "{second}");
    assert!(
        second.contains("size 8 cosigned by 2 of the 2 witnesses"),
        "witnesses keep their state across runs and cosign the extension: {second}"
    );
    let vkey = std::fs::read_to_string(data.join("gateway-log/.cordon/vkey")).unwrap();
    let verifier = cordon_log::Verifier::parse(vkey.trim()).unwrap();
    let report = cordon_log::verify::verify_dir(&data.join("gateway-log"), &verifier).unwrap();
    assert_eq!(report.size, 8);
}
