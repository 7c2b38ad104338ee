//! `cordon log verify` and `consistency` catch tampering and name the file that failed.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
use common::*;
use std::path::Path;

fn verify(dir: &Path, vkey: &str) -> std::process::Output {
    run(
        &["log", "verify", dir.to_str().unwrap(), "--vkey", vkey],
        b"",
    )
}

fn flip_byte(path: &Path, at: usize) {
    let mut d = std::fs::read(path).unwrap();
    d[at] ^= 0x01;
    std::fs::write(path, d).unwrap();
}

#[test]
fn intact_log_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 600);
    let o = verify(&dir, &vkey);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("600 entries"));
}

#[test]
fn changed_byte_in_hash_tile_fails_naming_tile_and_index() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 600);
    flip_byte(&dir.join("tile/0/001"), 32 * 5 + 3);
    let o = verify(&dir, &vkey);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("tile/0/001") && t.contains("index 261"), "{t}");
}

#[test]
fn changed_byte_in_entry_bundle_fails_naming_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 600);
    flip_byte(&dir.join("tile/entries/000"), 4);
    let o = verify(&dir, &vkey);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("entry 0 in") && t.contains("tile/entries/000"),
        "{t}"
    );
}

#[test]
fn truncated_bundle_and_tile_fail_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 600);
    let bundle = dir.join("tile/entries/002.p/88");
    let len = std::fs::metadata(&bundle).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&bundle)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let t = text(&verify(&dir, &vkey));
    assert!(
        t.contains("tile/entries/002.p/88") && t.contains("truncated"),
        "{t}"
    );

    let (dir, vkey) = make_log(tmp.path(), "log2", 600);
    let tile = dir.join("tile/0/000");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tile)
        .unwrap()
        .set_len(100)
        .unwrap();
    let t = text(&verify(&dir, &vkey));
    assert!(t.contains("tile/0/000") && t.contains("100 bytes"), "{t}");
}

#[test]
fn missing_tile_fails_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 600);
    std::fs::remove_file(dir.join("tile/1/000.p/2")).unwrap();
    let t = text(&verify(&dir, &vkey));
    assert!(t.contains("tile/1/000.p/2") && t.contains("missing"), "{t}");
}

#[test]
fn forged_checkpoint_and_wrong_key_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 10);
    let (_, other_vkey) = make_log(tmp.path(), "other", 1);
    let o = verify(&dir, &other_vkey);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no signature from a trusted key"),
        "{}",
        text(&o)
    );

    let cp = dir.join("checkpoint");
    let forged = std::fs::read_to_string(&cp)
        .unwrap()
        .replacen("\n10\n", "\n9\n", 1);
    std::fs::write(&cp, forged).unwrap();
    let o = verify(&dir, &vkey);
    assert!(!o.status.success());
    assert!(text(&o).contains("does not verify"), "{}", text(&o));
}

#[test]
fn malformed_vkey_gets_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = make_log(tmp.path(), "log", 1);
    let o = verify(&dir, "not-a-key");
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("neither a verifier key nor a file") && !t.contains("panicked"),
        "{t}"
    );
}

#[test]
fn rewound_log_is_caught_by_consistency() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 5);
    let snapshot = tmp.path().join("snapshot");
    copy_dir(&dir, &snapshot);
    append(&dir, 5..300);
    let newer = tmp.path().join("cp300");
    std::fs::copy(dir.join("checkpoint"), &newer).unwrap();
    // The log is "restored" to its older state: the holder of cp300 must notice.
    let o = run(
        &[
            "log",
            "consistency",
            snapshot.to_str().unwrap(),
            "--old",
            newer.to_str().unwrap(),
            "--vkey",
            &vkey,
        ],
        b"",
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("rewound"), "{}", text(&o));
}

/// The honest log grows to 300 entries; a copy made at 5 entries, with the same key, is
/// grown with `forged` lines instead. Returns what `consistency` says of the honest log
/// given the fork's checkpoint.
fn consistency_against_fork(forged: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 5);
    let fork = tmp.path().join("fork");
    copy_dir(&dir, &fork);
    std::fs::copy(tmp.path().join("log.key"), tmp.path().join("fork.key")).unwrap();
    append(&dir, 5..300);
    let o = run(
        &["log", "append", fork.to_str().unwrap()],
        forged.as_bytes(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let theirs = tmp.path().join("fork-cp");
    std::fs::copy(fork.join("checkpoint"), &theirs).unwrap();
    let o = run(
        &[
            "log",
            "consistency",
            dir.to_str().unwrap(),
            "--old",
            theirs.to_str().unwrap(),
            "--vkey",
            &vkey,
        ],
        b"",
    );
    assert!(!o.status.success());
    text(&o)
}

#[test]
fn forked_log_is_caught_by_consistency() {
    let forged: String = (5..300).map(|i| format!("forged {i}\n")).collect();
    let t = consistency_against_fork(&forged);
    assert!(t.contains("forked"), "{t}");
}

#[test]
fn smaller_checkpoint_from_a_fork_is_caught_by_the_proof() {
    let t = consistency_against_fork("forged\n");
    assert!(
        t.contains("does not extend the older checkpoint of size 6"),
        "{t}"
    );
}

#[test]
fn consistency_accepts_an_honest_older_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = make_log(tmp.path(), "log", 5);
    let older = tmp.path().join("cp5");
    std::fs::copy(dir.join("checkpoint"), &older).unwrap();
    append(&dir, 5..700);
    let o = run(
        &[
            "log",
            "consistency",
            dir.to_str().unwrap(),
            "--old",
            older.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("size 700 extends the one of size 5"));
}

#[test]
fn proofs_printed_by_prove_check_out_and_fail_for_other_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 300);
    let o = run(
        &["log", "prove", dir.to_str().unwrap(), "--index", "257"],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let proof = tmp.path().join("p.tlog-proof");
    std::fs::write(&proof, &o.stdout).unwrap();
    let entry = tmp.path().join("entry");
    std::fs::write(&entry, "entry 257").unwrap();
    let args = [
        "log",
        "check-proof",
        proof.to_str().unwrap(),
        "--entry",
        entry.to_str().unwrap(),
        "--vkey",
        &vkey,
    ];
    let o = run(&args, b"");
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(&entry, "entry 258").unwrap();
    assert!(!run(&args, b"").status.success());
    let o = run(
        &["log", "prove", dir.to_str().unwrap(), "--index", "300"],
        b"",
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("index 300 is not in a tree of size 300"),
        "{}",
        text(&o)
    );
}

#[test]
fn verify_checks_inclusion_and_consistency_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = make_log(tmp.path(), "log", 10);
    let older = tmp.path().join("cp10");
    std::fs::copy(dir.join("checkpoint"), &older).unwrap();
    append(&dir, 10..20);
    let d = dir.to_str().unwrap();
    let o = run(
        &[
            "log",
            "verify",
            d,
            "--vkey",
            &vkey,
            "--index",
            "3",
            "--index",
            "19",
            "--old",
            older.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("entry 19 is included"));
    let o = run(&["log", "verify", d, "--vkey", &vkey, "--index", "20"], b"");
    assert!(!o.status.success());
    assert!(text(&o).contains("inclusion of entry 20"), "{}", text(&o));
}
