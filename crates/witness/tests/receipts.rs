//! Signed receipts against the published log: an operator who rewrites an entry and
//! re-signs, one who rebuilds the log from scratch with the same key, one who publishes a
//! log without what it receipted, and forged receipts each fail, saying which; a receipt
//! past the published size waits.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use cordon_log::receipt::ReceiptText;
use cordon_log::{Log, LogConfig, Signer};
use cordon_witness::verify::{self, Options, Outcome, Receipt, Report, Source};

const ORIGIN: &str = "city.example/cordon";

fn entries(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{{\"{tag}\":{i}}}").into_bytes())
        .collect()
}

/// Appends `entries` to the log in `dir` (created if needed) and returns each entry's
/// signed receipt as the gateway's header carries it. The disk is stalled while they are
/// submitted, so after the first they are made durable together: batches of several.
fn append_with_receipts(dir: &Path, key: &Signer, entries: &[Vec<u8>]) -> Vec<String> {
    if !dir.join("checkpoint").exists() {
        cordon_log::create(dir, key).unwrap();
    }
    let config = LogConfig {
        checkpoint_interval: Duration::ZERO,
        ..LogConfig::default()
    };
    let faults = config.faults.clone();
    let (log, _) = Log::open(dir, key.clone(), config).unwrap();
    let stalled = faults.stall();
    let pending: Vec<_> = entries.iter().map(|e| log.submit(e.clone())).collect();
    drop(stalled);
    let receipts = pending
        .into_iter()
        .map(|p| p.wait().unwrap().header_value().unwrap())
        .collect();
    log.close().unwrap();
    receipts
}

/// Like [`append_with_receipts`], but `first` is made durable alone and `rest` in one
/// batch after it: the sequencer takes `first` and waits on the stalled disk while
/// `rest` is queued (only once it is waiting, so that it took `first` alone).
fn append_in_two_batches(dir: &Path, key: &Signer, first: &[u8], rest: &[Vec<u8>]) -> Vec<String> {
    let config = LogConfig::default();
    let faults = config.faults.clone();
    let (log, _) = Log::open(dir, key.clone(), config).unwrap();
    let stalled = faults.stall();
    let mut pending = vec![log.submit(first.to_vec())];
    assert!(faults.wait_for_held_write(Duration::from_secs(10)));
    pending.extend(rest.iter().map(|e| log.submit(e.clone())));
    drop(stalled);
    let receipts: Vec<String> = pending
        .into_iter()
        .map(|p| p.wait().unwrap().header_value().unwrap())
        .collect();
    log.close().unwrap();
    receipts
}

/// What an operator holding the log key can do to the public log: build the tree over
/// other entries and sign a checkpoint for it, then put its tiles and checkpoint (and
/// entry bundles) in place of the real ones. The result verifies on its own.
fn replace_published(dir: &Path, key: &Signer, entries: &[Vec<u8>]) {
    let forged = dir.with_extension("forged");
    append_with_receipts(&forged, key, entries);
    std::fs::remove_dir_all(dir.join("tile")).unwrap();
    std::fs::rename(forged.join("tile"), dir.join("tile")).unwrap();
    std::fs::rename(forged.join("checkpoint"), dir.join("checkpoint")).unwrap();
    cordon_log::verify::verify_dir(dir, &key.verifier()).unwrap();
}

fn signed(header: &str) -> Receipt {
    Receipt::Signed {
        from: "test".into(),
        text: ReceiptText::decode(header.as_bytes()).unwrap(),
    }
}

fn check(dir: &Path, key: &Signer, receipts: Vec<Receipt>) -> Report {
    let opts = Options {
        source: Source::parse(dir.to_str().unwrap(), Duration::from_secs(5)).unwrap(),
        log_key: key.verifier(),
        witnesses: vec![],
        quorum: 0,
        state: None,
        checkpoints: vec![],
        receipts,
        receipt_key: Some(key.receipt_signer().verifier()),
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(verify::run(opts))
}

fn outcome(r: &Report, i: usize) -> Outcome {
    r.receipts[i].outcome
}

#[test]
fn receipts_of_an_untouched_log_are_included() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = (tmp.path().join("log"), Signer::generate(ORIGIN).unwrap());
    let receipts = append_with_receipts(&dir, &key, &entries("a", 40));
    let r = check(&dir, &key, receipts.iter().map(|h| signed(h)).collect());
    assert!(r.pass && !r.pending, "{r:#?}");
    assert!(r.receipts.iter().all(|c| c.outcome == Outcome::Included));
}

#[test]
fn an_operator_who_rewrites_an_entry_and_re_signs_the_checkpoint_is_caught_as_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = (tmp.path().join("log"), Signer::generate(ORIGIN).unwrap());
    let mut es = entries("a", 12);
    // Two runs of the log: entries 0-3 are in other batches than entry 5.
    let mut receipts = append_with_receipts(&dir, &key, &es[..4]);
    receipts.extend(append_with_receipts(&dir, &key, &es[4..]));
    es[5] = b"{\"a\":\"nothing to see\"}".to_vec();
    replace_published(&dir, &key, &es);

    let r = check(&dir, &key, vec![signed(&receipts[5]), signed(&receipts[3])]);
    assert!(!r.pass, "{r:#?}");
    assert!(
        r.checks.iter().all(|c| c.ok),
        "the rewritten log verifies: {r:#?}"
    );
    assert_eq!(outcome(&r, 0), Outcome::Changed, "{r:#?}");
    assert!(r.receipts[0].detail.contains("rewritten"), "{r:#?}");
    assert_eq!(outcome(&r, 1), Outcome::Included, "{r:#?}");
}

#[test]
fn an_operator_who_rebuilds_the_log_from_scratch_without_an_entry_is_caught_as_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = (tmp.path().join("log"), Signer::generate(ORIGIN).unwrap());
    let mut es = entries("a", 12);
    // Entry 5 opens a batch: what shows its batch was written are the entries after it,
    // which the removal moved.
    let mut receipts = append_with_receipts(&dir, &key, &es[..4]);
    receipts.extend(append_in_two_batches(&dir, &key, &es[4], &es[5..]));
    es.remove(5);
    es.push(b"{\"a\":\"filler\"}".to_vec());
    replace_published(&dir, &key, &es);

    let r = check(&dir, &key, vec![signed(&receipts[5]), signed(&receipts[8])]);
    assert!(!r.pass, "{r:#?}");
    assert_eq!(outcome(&r, 0), Outcome::Removed, "{r:#?}");
    assert!(r.receipts[0].detail.contains("taken out"), "{r:#?}");
    assert_eq!(outcome(&r, 1), Outcome::Removed, "{r:#?}");
    assert!(r.receipts[1].detail.contains("is at index 7"), "{r:#?}");
}

#[test]
fn a_receipt_for_an_entry_the_published_log_never_held_is_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = (tmp.path().join("log"), Signer::generate(ORIGIN).unwrap());
    let receipts = append_with_receipts(&dir, &key, &entries("a", 8));
    replace_published(&dir, &key, &entries("b", 8));

    let r = check(&dir, &key, vec![signed(&receipts[6])]);
    assert!(!r.pass, "{r:#?}");
    assert_eq!(outcome(&r, 0), Outcome::NeverWritten, "{r:#?}");
    assert!(r.receipts[0].detail.contains("never written"), "{r:#?}");
}

#[test]
fn forged_receipts_are_refused_as_forged() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = (tmp.path().join("log"), Signer::generate(ORIGIN).unwrap());
    let es = entries("a", 6);
    let receipts = append_with_receipts(&dir, &key, &es);
    // Someone with their own key, claiming to be this log.
    let impostor = Signer::generate(ORIGIN).unwrap();
    let theirs = append_with_receipts(&tmp.path().join("theirs"), &impostor, &es);
    let text = |h: &str| ReceiptText::decode(h.as_bytes()).unwrap();
    let mut other_index = text(&receipts[2]);
    other_index.index = 3;
    let mut other_leaf = text(&receipts[2]);
    other_leaf.leaf = cordon_log::hash::leaf_hash(b"what I wish I had been told");
    let mut other_time = text(&receipts[2]);
    let note = String::from_utf8(other_time.note.clone()).unwrap();
    let time_line = note.lines().find(|l| l.starts_with("time ")).unwrap();
    other_time.note = note.replace(time_line, "time 1").into_bytes();
    let as_receipt = |t: ReceiptText| Receipt::Signed {
        from: "edited".into(),
        text: t,
    };

    let r = check(
        &dir,
        &key,
        vec![
            signed(&theirs[2]),
            as_receipt(other_index),
            as_receipt(other_leaf),
            as_receipt(other_time),
            signed(&receipts[2]),
        ],
    );
    assert!(!r.pass, "{r:#?}");
    for (i, says) in [
        "not signed by the receipt key",
        "the receipt was edited",
        "the receipt was edited",
        "does not verify",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(outcome(&r, i), Outcome::Forged, "{i}: {r:#?}");
        assert!(r.receipts[i].detail.contains(says), "{i}: {r:#?}");
    }
    assert_eq!(outcome(&r, 4), Outcome::Included, "{r:#?}");
}

#[test]
fn a_receipt_past_the_published_size_is_not_yet_published_and_not_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, key) = (tmp.path().join("log"), Signer::generate(ORIGIN).unwrap());
    let first = append_with_receipts(&dir, &key, &entries("a", 5));
    // The published copy stops here; the log goes on.
    let published = tmp.path().join("published");
    copy_dir(&dir, &published);
    let later = append_with_receipts(&dir, &key, &entries("b", 3));

    let r = check(&published, &key, vec![signed(&first[4]), signed(&later[0])]);
    assert!(r.pass && r.pending, "{r:#?}");
    assert_eq!(outcome(&r, 0), Outcome::Included, "{r:#?}");
    assert_eq!(outcome(&r, 1), Outcome::NotYetPublished, "{r:#?}");
    assert!(r.receipts[1].detail.contains("has 5 entries"), "{r:#?}");
    let r = check(&dir, &key, vec![signed(&later[0])]);
    assert!(
        r.pass && !r.pending,
        "once published it is included: {r:#?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
