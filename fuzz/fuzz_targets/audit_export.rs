//! Audit inputs: any bytes as a CSV or JSONL export end in a report, never a panic.
#![no_main]
use cordon_audit::columns::ColumnMap;
use cordon_audit::{audit, AuditOptions, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("cordon-fuzz-audit-{}", std::process::id()));
    let file = dir.join("export");
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(&file, body).expect("the export is written");
    let format = if selector & 1 == 0 { Format::Flock } else { Format::Jsonl };
    let opts = AuditOptions {
        files: vec![file],
        format: Some(format),
        map: ColumnMap::default(),
        out: dir.join("out"),
        threads: 2,
        log_key: None,
        org: None,
    };
    let outcome = audit(&opts, &|_, _| {}).expect("the report is written");
    let s = &outcome.summary;
    assert!(s.flagged.immigration <= s.rows && s.flagged.immigration_agency <= s.rows);
});
