//! `cordon verify`'s checks on real logs, from a directory and over HTTP: what passes,
//! and that a split view, a rewind, a short quorum and a wrong receipt each fail.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use cordon_log::hash::leaf_hash;
use cordon_log::{Log, LogConfig, Note, SignedCheckpoint, Signer, Verifier};
use cordon_witness::verify::receipt::{self, Expect};
use cordon_witness::verify::{self, Options, Receipt, Report, Source};
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

const ORIGIN: &str = "city.example/cordon";

/// A log in `dir` holding `entries`, signed by `key`.
fn build_log(dir: &Path, key: &Signer, entries: &[Vec<u8>]) -> SignedCheckpoint {
    cordon_log::create(dir, key).unwrap();
    let (log, _) = Log::open(dir, key.clone(), LogConfig::default()).unwrap();
    // Submitted together, made durable in a few group commits.
    let pending: Vec<_> = entries.iter().map(|e| log.submit(e.clone())).collect();
    for p in pending {
        p.wait().unwrap();
    }
    log.close().unwrap()
}

fn entries(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{{\"{tag}\":{i}}}").into_bytes())
        .collect()
}

fn options(source: Source, key: &Signer) -> Options {
    Options {
        source,
        log_key: key.verifier(),
        witnesses: vec![],
        quorum: 0,
        state: None,
        checkpoints: vec![],
        receipts: vec![],
        receipt_key: None,
    }
}

fn dir_source(dir: &Path) -> Source {
    Source::parse(dir.to_str().unwrap(), Duration::from_secs(5)).unwrap()
}

fn run(opts: Options) -> Report {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(verify::run(opts))
}

fn failed<'a>(r: &'a Report, check: &str) -> &'a verify::Check {
    r.checks
        .iter()
        .find(|c| c.check == check && !c.ok)
        .unwrap_or_else(|| panic!("expected {check} to fail: {r:#?}"))
}

/// Serves only what a public log serves (`checkpoint`, `tile/<L>/...`) from `dir`, as a
/// web server publishing the log would; entry bundles are not served.
async fn serve_public(dir: PathBuf) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/log", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let dir = dir.clone();
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let dir = dir.clone();
                async move { Ok::<_, Infallible>(public_file(&dir, req.uri().path())) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    url
}

fn public_file(dir: &Path, path: &str) -> Response<Full<Bytes>> {
    let rel = path.strip_prefix("/log/").unwrap_or("");
    let public = rel == "checkpoint"
        || (rel.starts_with("tile/") && !rel.starts_with("tile/entries") && !rel.contains(".."));
    match std::fs::read(dir.join(rel)) {
        Ok(b) if public => Response::new(Full::new(Bytes::from(b))),
        _ => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    }
}

#[test]
fn a_good_log_verifies_from_its_directory_and_over_http_with_receipts() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Signer::generate(ORIGIN).unwrap();
    // Over 17 level-0 tiles and a partial one: more than are fetched at once.
    let es = entries("a", 4500);
    build_log(&tmp.path().join("log"), &key, &es);
    std::fs::write(tmp.path().join("e42.json"), &es[42]).unwrap();
    let receipts = [
        receipt::parse(
            &format!("0:{}", receipt::hex(&leaf_hash(&es[0]))),
            tmp.path(),
        )
        .unwrap(),
        receipt::parse(
            &format!("4499:{}", receipt::hex(&leaf_hash(&es[4499]))),
            tmp.path(),
        )
        .unwrap(),
        receipt::parse("42:e42.json", tmp.path()).unwrap(),
    ]
    .concat();

    let mut opts = options(dir_source(&tmp.path().join("log")), &key);
    opts.receipts = receipts.clone();
    let r = run(opts);
    assert!(r.pass, "{r:#?}");
    assert_eq!(r.size, Some(4500));
    assert!(
        r.checks.iter().any(|c| c.check == "entries" && c.ok),
        "{r:#?}"
    );
    assert_eq!(r.receipts.len(), 3);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(serve_public(tmp.path().join("log")));
    let mut opts = options(Source::parse(&url, Duration::from_secs(5)).unwrap(), &key);
    opts.receipts = receipts;
    let r = rt.block_on(verify::run(opts));
    assert!(r.pass, "{r:#?}");
    // Over HTTP the entries are private: the tree is recomputed from the tiles alone.
    assert!(!r.checks.iter().any(|c| c.check == "entries"), "{r:#?}");
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(json["pass"], true);
}

#[test]
fn wrong_receipts_fail_and_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Signer::generate(ORIGIN).unwrap();
    build_log(&tmp.path().join("log"), &key, &entries("a", 20));
    let mut opts = options(dir_source(&tmp.path().join("log")), &key);
    opts.receipts = vec![
        Receipt::Entry {
            index: 3,
            expect: Expect::LeafHash(leaf_hash(b"something else")),
        },
        Receipt::Entry {
            index: 20,
            expect: Expect::LeafHash(leaf_hash(b"{\"a\":20}")),
        },
    ];
    let r = run(opts);
    assert!(!r.pass);
    assert!(r.receipts[0].detail.contains("another entry"), "{r:#?}");
    assert_eq!(r.receipts[1].outcome, verify::Outcome::NotYetPublished);
}

#[test]
fn a_tampered_tile_fails_the_tree_check() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Signer::generate(ORIGIN).unwrap();
    let dir = tmp.path().join("log");
    build_log(&dir, &key, &entries("a", 300));
    let tile = dir.join("tile/0/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[5] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let r = run(options(dir_source(&dir), &key));
    assert!(!r.pass);
    failed(&r, "tree");
}

/// Two logs under one key and origin that share the first `common` entries: what a log
/// operator could show two different audiences.
fn forks(tmp: &Path, key: &Signer, common: usize, a: usize, b: usize) -> (PathBuf, PathBuf) {
    let mut ea = entries("shared", common);
    let mut eb = ea.clone();
    ea.extend(entries("a", a));
    eb.extend(entries("b", b));
    let (da, db) = (tmp.join("a"), tmp.join("b"));
    build_log(&da, key, &ea);
    build_log(&db, key, &eb);
    (da, db)
}

#[test]
fn a_split_view_is_caught_from_the_state_file_with_both_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Signer::generate(ORIGIN).unwrap();
    let (a, b) = forks(tmp.path(), &key, 10, 5, 5);
    let state = tmp.path().join("state.json");

    let mut opts = options(dir_source(&a), &key);
    opts.state = Some(state.clone());
    let r = run(opts);
    assert!(r.pass && r.state_updated, "{r:#?}");
    let remembered = std::fs::read(&state).unwrap();

    let mut opts = options(dir_source(&b), &key);
    opts.state = Some(state.clone());
    let r = run(opts);
    assert!(!r.pass);
    let c = failed(&r, "consistency");
    assert!(c.detail.contains("split view"), "{c:?}");
    let sv = c.split_view.as_ref().unwrap();
    assert_eq!(sv.size, 15);
    assert_ne!(sv.seen[0].root, sv.seen[1].root);
    // A failed run leaves the remembered checkpoint alone.
    assert!(!r.state_updated);
    assert_eq!(std::fs::read(&state).unwrap(), remembered);
}

#[test]
fn a_larger_fork_and_a_rewound_log_are_caught_too() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Signer::generate(ORIGIN).unwrap();
    let (a, b) = forks(tmp.path(), &key, 10, 5, 30);
    let state = tmp.path().join("state.json");
    let mut opts = options(dir_source(&a), &key);
    opts.state = Some(state.clone());
    assert!(run(opts).pass);

    // Larger, but not an extension of what was seen: no consistency proof holds.
    let mut opts = options(dir_source(&b), &key);
    opts.state = Some(state.clone());
    let r = run(opts);
    assert!(
        failed(&r, "consistency").detail.contains("split view"),
        "{r:#?}"
    );

    // What was seen is larger than what is shown now.
    let short = tmp.path().join("short");
    build_log(&short, &key, &entries("shared", 10));
    let mut opts = options(dir_source(&short), &key);
    opts.state = Some(state);
    let r = run(opts);
    assert!(
        failed(&r, "consistency").detail.contains("rewound"),
        "{r:#?}"
    );
}

#[test]
fn growth_since_the_last_run_is_proved_and_remembered() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Signer::generate(ORIGIN).unwrap();
    let dir = tmp.path().join("log");
    build_log(&dir, &key, &entries("a", 10));
    let state = tmp.path().join("state.json");
    let mut opts = options(dir_source(&dir), &key);
    opts.state = Some(state.clone());
    assert!(run(opts).pass);
    let (log, _) = Log::open(&dir, key.clone(), LogConfig::default()).unwrap();
    for e in entries("b", 300) {
        log.append(e).unwrap();
    }
    log.close().unwrap();
    let mut opts = options(dir_source(&dir), &key);
    opts.state = Some(state);
    let r = run(opts);
    assert!(r.pass, "{r:#?}");
    assert!(r.checks.iter().any(
        |c| c.check == "consistency" && c.detail.contains("extends the checkpoint of size 10")
    ));
}

/// The checkpoint of the log in `dir` with a cosignature from each of `witnesses`.
fn cosigned(dir: &Path, witnesses: &[&Signer]) -> Vec<u8> {
    let mut note = Note::parse(&std::fs::read(dir.join("checkpoint")).unwrap()).unwrap();
    for w in witnesses {
        let sig = w.sign(note.text().as_bytes());
        note.add_signature(sig);
    }
    note.to_bytes()
}

fn witnesses(n: usize) -> Vec<Signer> {
    (1..=n)
        .map(|i| Signer::generate_cosigner(&format!("witness.example/w{i}")).unwrap())
        .collect()
}

fn keys(ws: &[Signer]) -> Vec<Verifier> {
    ws.iter().map(Signer::verifier).collect()
}

#[test]
fn the_quorum_counts_valid_cosignatures_from_distinct_witnesses() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Signer::generate(ORIGIN).unwrap();
    let dir = tmp.path().join("log");
    build_log(&dir, &key, &entries("a", 50));
    let ws = witnesses(3);
    let file = tmp.path().join("cosigned");
    std::fs::write(&file, cosigned(&dir, &[&ws[0], &ws[1]])).unwrap();

    let with = |quorum: usize| {
        let mut o = options(dir_source(&dir), &key);
        o.witnesses = keys(&ws);
        o.quorum = quorum;
        o.checkpoints = vec![file.to_str().unwrap().to_string()];
        run(o)
    };
    let r = with(2);
    assert!(r.pass, "{r:#?}");
    assert_eq!(r.witnessed_size, Some(50));
    let r = with(3);
    assert!(!r.pass);
    assert!(
        failed(&r, "cosignatures")
            .detail
            .contains("3 valid cosignatures"),
        "{r:#?}"
    );

    // One witness named twice is one vote.
    let mut o = options(dir_source(&dir), &key);
    o.witnesses = vec![ws[0].verifier(), ws[0].verifier()];
    o.quorum = 2;
    o.checkpoints = vec![file.to_str().unwrap().to_string()];
    assert!(!run(o).pass);

    // A cosignature that does not verify is a failure, not a missing vote.
    let mut forged = cosigned(&dir, &[&ws[0], &ws[1]]);
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&file, forged).unwrap();
    let r = with(1);
    assert!(!r.pass, "{r:#?}");
    assert!(
        failed(&r, "cosignatures")
            .detail
            .contains("does not verify"),
        "{r:#?}"
    );
}

#[test]
fn two_witnesses_cosigned_checkpoints_that_disagree_are_a_split_view() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Signer::generate(ORIGIN).unwrap();
    let (a, b) = forks(tmp.path(), &key, 10, 5, 5);
    let ws = witnesses(2);
    let (fa, fb) = (tmp.path().join("seen-by-w1"), tmp.path().join("seen-by-w2"));
    std::fs::write(&fa, cosigned(&a, &[&ws[0]])).unwrap();
    std::fs::write(&fb, cosigned(&b, &[&ws[1]])).unwrap();
    let mut o = options(dir_source(&a), &key);
    o.witnesses = keys(&ws);
    o.quorum = 1;
    o.checkpoints = vec![fa.display().to_string(), fb.display().to_string()];
    let r = run(o);
    assert!(!r.pass);
    let c = failed(&r, "other checkpoint");
    assert!(c.detail.contains("split view"), "{c:?}");
    assert_eq!(c.split_view.as_ref().unwrap().size, 15);
}
