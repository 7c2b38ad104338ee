//! The shared log against a real PostgreSQL (CORDON_TEST_PG; `.ci/postgres` starts one).
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::*;
use crate::verify::{read_entry, verify_dir};

/// A new, empty database on the test server, so tests never share a log.
pub(crate) fn fresh_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("CORDON_TEST_PG").unwrap_or_else(|_| {
        panic!("CORDON_TEST_PG is not set: start a server with `.ci/postgres start DIR` and export the URL it prints")
    });
    let mut client = connect(&admin, "cordon test")
        .unwrap_or_else(|e| panic!("PostgreSQL at CORDON_TEST_PG={admin} is unreachable: {e}"));
    let name = format!(
        "cordon_log_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn config(writer: &str) -> PgConfig {
    PgConfig {
        writer: writer.into(),
        checkpoint_interval: Duration::from_millis(5),
        ..PgConfig::default()
    }
}

fn row(i: usize) -> IndexRow {
    IndexRow {
        time: "2026-11-28T08:00:00.000Z".into(),
        agency: Some(format!("agency-{}", i % 3)),
        principal: Some("officer".into()),
        decision: if i.is_multiple_of(2) { "allow" } else { "deny" }.into(),
        dataset: Some("arrests".into()),
    }
}

#[test]
fn two_writers_share_one_gapless_order_and_every_receipt_holds_its_entry() {
    let url = fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiles");
    let signer = Signer::generate("test.example/shared").unwrap();
    let a = PgLog::open(&url, &dir, signer.clone(), config("a")).unwrap();
    let b = PgLog::open(&url, &dir, signer.clone(), config("b")).unwrap();
    let receipts: Vec<(Receipt, Vec<u8>)> = std::thread::scope(|s| {
        let hs: Vec<_> = [&a, &b]
            .into_iter()
            .enumerate()
            .map(|(w, log)| {
                s.spawn(move || {
                    let pending: Vec<_> = (0..300)
                        .map(|i| {
                            let e = format!("writer {w} entry {i}").into_bytes();
                            (log.submit(e.clone(), Some(row(i))), e)
                        })
                        .collect();
                    pending
                        .into_iter()
                        .map(|(p, e)| (p.wait().unwrap(), e))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut indexes: Vec<u64> = receipts.iter().map(|(r, _)| r.index()).collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..600).collect::<Vec<_>>(),
        "duplicate or missing index"
    );
    a.close().unwrap();
    let cp = b.close().unwrap();
    assert_eq!(cp.checkpoint.size, 600);
    let report = verify_dir(&dir, &signer.verifier()).unwrap();
    assert_eq!(report.size, 600);
    for (r, e) in &receipts {
        assert_eq!(&read_entry(&dir, 600, r.index()).unwrap(), e);
    }
    let mut client = connect(&url, "check").unwrap();
    let denies: i64 = client
        .query_one(
            "SELECT count(*) FROM cordon_decisions WHERE decision = 'deny'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(denies, 300);
    let q = DecisionQuery {
        agency: Some("agency-1".into()),
        decision: Some("deny".into()),
        since: Some("2026-11-28T00:00:00Z".into()),
        until: Some("2026-11-29T00:00:00Z".into()),
        limit: 1000,
        ..DecisionQuery::default()
    };
    let found = decisions(&mut client, &q).unwrap();
    // Entries i with i % 3 == 1 and i odd, from each of the two writers.
    assert_eq!(
        found.len(),
        2 * (0..300).filter(|i| i % 3 == 1 && i % 2 == 1).count()
    );
    for d in &found {
        assert_eq!(d.time, "2026-11-28T08:00:00.000Z");
        let entry = read_entry(&dir, 600, d.index).unwrap();
        let (_, e) = receipts.iter().find(|(r, _)| r.index() == d.index).unwrap();
        assert_eq!(&entry, e, "the index points at the entry it describes");
    }
    let later = DecisionQuery {
        since: Some("2026-11-29T00:00:00Z".into()),
        limit: 10,
        ..DecisionQuery::default()
    };
    assert!(decisions(&mut client, &later).unwrap().is_empty());
}

#[test]
fn a_new_integrator_repairs_tiles_a_dead_one_left_behind() {
    let url = fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiles");
    let signer = Signer::generate("test.example/shared").unwrap();
    let log = PgLog::open(&url, &dir, signer.clone(), config("first")).unwrap();
    for i in 0..300 {
        log.submit(format!("entry {i}").into_bytes(), None);
    }
    log.append(b"last".to_vec(), None).unwrap();
    log.wait_checkpoint(301, Duration::from_secs(10)).unwrap();
    log.close().unwrap();
    // A dead integrator's torn round: a tile rewritten with garbage and entries committed
    // after the recorded checkpoint that were never integrated.
    std::fs::write(dir.join("tile/0/001.p/45"), b"torn").unwrap();
    let mut client = connect(&url, "check").unwrap();
    client
        .execute(
            "INSERT INTO cordon_entries (idx, entry, writer) VALUES (301, 'committed before the crash', 'first')",
            &[],
        )
        .unwrap();
    client
        .execute("UPDATE cordon_counter SET next = 302", &[])
        .unwrap();
    let next = PgLog::open(&url, &dir, signer.clone(), config("second")).unwrap();
    next.wait_checkpoint(302, Duration::from_secs(10)).unwrap();
    assert_eq!(next.close().unwrap().checkpoint.size, 302);
    assert_eq!(verify_dir(&dir, &signer.verifier()).unwrap().size, 302);
    assert_eq!(
        read_entry(&dir, 302, 301).unwrap(),
        b"committed before the crash"
    );
}

#[test]
fn a_log_refuses_a_signer_of_another_origin() {
    let url = fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let first = Signer::generate("test.example/one").unwrap();
    PgLog::open(&url, tmp.path(), first, config("a"))
        .unwrap()
        .close()
        .unwrap();
    let other = Signer::generate("test.example/two").unwrap();
    assert!(matches!(
        PgLog::open(&url, tmp.path(), other, config("b")),
        Err(LogError::WrongKey { .. })
    ));
}
