//! The audit report renders in a real browser (Debian's Chromium, headless), and the
//! figures a reader sees are the ones in summary.json.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;

#[test]
fn report_renders_in_chromium_and_its_figures_match_summary_json() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export.csv");
    let o = run(
        &[
            "audit",
            "generate",
            "--rows",
            "5000",
            "--seed",
            "7",
            "--out",
            export.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = tmp.path().join("out");
    let o = run(
        &[
            "audit",
            export.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let url = format!("file://{}", out.join("report.html").display());

    let dump = chromium(&["--dump-dom", &url], &tmp.path().join("profile1"));
    assert!(dump.status.success(), "{}", text(&dump));
    let dom = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dom.contains("<svg id=\"by-org\""),
        "the agency chart is in the page"
    );
    assert_eq!(shown_figure(&dom, "rows"), summary["rows"].as_u64());
    for key in ["immigration", "immigration_agency", "side_door"] {
        assert_eq!(
            shown_figure(&dom, key),
            summary["flagged"][key].as_u64(),
            "{key}"
        );
        assert!(
            summary["flagged"][key].as_u64().unwrap() > 0,
            "{key} is exercised"
        );
    }
    assert_eq!(
        shown_figure(&dom, "networks_flagged"),
        summary["reach"]["networks_flagged"].as_u64()
    );
    // Each bar of the agency chart carries the count summary.json has for that agency.
    for (org, counts) in summary["by_org"].as_object().unwrap() {
        let any = counts["any"].as_u64().unwrap();
        if any > 0 {
            let bar = format!("data-value=\"{any}\"");
            assert!(dom.contains(&bar), "bar for {org} with {any}");
        }
    }

    let shot = tmp.path().join("report.png");
    let s = chromium(
        &[
            "--window-size=1000,2000",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
        &tmp.path().join("profile2"),
    );
    assert!(s.status.success(), "{}", text(&s));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a rendered page, {} bytes",
        png.len()
    );
}
