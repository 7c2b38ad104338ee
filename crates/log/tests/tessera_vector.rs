//! Interoperability: rebuild Tessera's 15-entry test log and match it byte for byte.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cordon_log::{create, Log, LogConfig, SignedCheckpoint, Signer, Verifier};

const SKEY: &str =
    "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg";
const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
const ENTRIES: [&str; 15] = [
    "one", "two", "three", "four", "five", "six", "seven", "eit", "nain", "ten", "ileven", "twelf",
    "threeten", "fourten", "fivten",
];

fn vector_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/tessera-log");
    assert!(
        dir.join("checkpoint").exists(),
        "the Tessera vector is missing at {}; it ships beside the repository in shared/",
        dir.display()
    );
    dir
}

/// Every file under `tile/`, by path relative to `root`.
fn tile_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join("tile")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn rebuilds_tessera_log_byte_for_byte() {
    let vector = vector_dir();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("log");
    let signer = Signer::parse(SKEY).unwrap();
    let cp0 = create(&root, &signer).unwrap();
    assert_eq!(
        cp0.to_bytes(),
        std::fs::read(vector.join("checkpoint.0")).unwrap()
    );

    let (log, _) = Log::open(&root, signer, LogConfig::default()).unwrap();
    for (i, e) in ENTRIES.iter().enumerate() {
        let receipt = log.append(e.as_bytes().to_vec()).unwrap();
        assert_eq!(receipt.index(), i as u64);
        let cp = log
            .wait_checkpoint(i as u64 + 1, Duration::from_secs(10))
            .unwrap();
        let want = std::fs::read(vector.join(format!("checkpoint.{}", i + 1))).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&cp.to_bytes()),
            String::from_utf8_lossy(&want),
            "checkpoint after entry {}",
            i + 1
        );
    }
    log.close().unwrap();

    assert_eq!(
        std::fs::read(root.join("checkpoint")).unwrap(),
        std::fs::read(vector.join("checkpoint")).unwrap()
    );
    let ours = tile_files(&root);
    let theirs = tile_files(&vector);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (path, data) in &theirs {
        assert_eq!(&ours[path], data, "{path} differs");
    }
}

#[test]
fn every_tessera_checkpoint_verifies_and_the_log_verifies_in_full() {
    let vector = vector_dir();
    let v = Verifier::parse(VKEY).unwrap();
    for n in 0..=15 {
        let bytes = std::fs::read(vector.join(format!("checkpoint.{n}"))).unwrap();
        let cp = SignedCheckpoint::open(&bytes, &[&v], Some("example.com/log/testdata")).unwrap();
        assert_eq!(cp.checkpoint.size, n);
    }
    let report = cordon_log::verify::verify_dir(&vector, &v).unwrap();
    assert_eq!(report.size, 15);
    assert_eq!(report.entries_checked, 15);
}
