//! The shared log against a real PostgreSQL (CORDON_TEST_PG; `.ci/postgres` starts one).
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::*;
use crate::error::AppendError;
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

pub(super) fn config(writer: &str) -> PgConfig {
    PgConfig {
        writer: writer.into(),
        checkpoint_interval: Duration::from_millis(5),
        ..PgConfig::default()
    }
}

fn has_row(i: usize) -> bool {
    !i.is_multiple_of(5)
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
fn two_writers_share_one_gapless_order_and_every_receipt_holds_its_entry_signed() {
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
                            // Some entries have no decision row: each row still
                            // names its own entry's index.
                            (log.submit(e.clone(), has_row(i).then(|| row(i))), e)
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
    let receipt_key = signer.receipt_signer().verifier();
    for (r, e) in &receipts {
        assert_eq!(&read_entry(&dir, 600, r.index()).unwrap(), e);
        // Each writer signs its own commit batches, with the one key the log's derives.
        assert!(r.is_for(e), "receipt {} is for its entry", r.index());
        let text = crate::receipt::ReceiptText::decode(r.to_text().unwrap().as_bytes());
        assert_eq!(text.unwrap().check(&receipt_key).unwrap().index, r.index());
    }
    let mut client = connect(&url, "check").unwrap();
    let denies: i64 = client
        .query_one(
            "SELECT count(*) FROM cordon_decisions WHERE decision = 'deny'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        denies,
        2 * (0..300).filter(|&i| i % 2 == 1 && has_row(i)).count() as i64
    );
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
    let described = |i: usize| i % 3 == 1 && i % 2 == 1 && has_row(i);
    assert_eq!(found.len(), 2 * (0..300).filter(|&i| described(i)).count());
    for d in &found {
        assert_eq!(d.time, "2026-11-28T08:00:00.000Z");
        let entry = String::from_utf8(read_entry(&dir, 600, d.index).unwrap()).unwrap();
        let i: usize = entry.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(
            described(i),
            "row at {} describes another entry: {entry}",
            d.index
        );
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

/// Ends every session of `writer` in `role` (`sequencer` or `integrator`), as a database
/// restart or a network cut would, in this test's database only: tests run in parallel,
/// each in its own database, and several name their writers "a" and "b".
fn cut(url: &str, writer: &str, role: &str) -> u64 {
    let mut c = connect(url, "cutter").unwrap();
    let rows = c
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND datname = current_database()",
            &[&format!("{writer} {role}")],
        )
        .unwrap();
    rows.len() as u64
}

#[test]
fn a_lost_database_session_refuses_appends_then_reconnects_without_a_gap() {
    let url = fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/shared").unwrap();
    let cfg = config("flaky");
    let faults = cfg.faults.clone();
    let log = PgLog::open(&url, tmp.path(), signer.clone(), cfg).unwrap();
    assert_eq!(log.append(b"a".to_vec(), None).unwrap().index(), 0);
    faults.fail_writes(true);
    assert!(matches!(
        log.append(b"refused".to_vec(), None),
        Err(AppendError::Storage(_))
    ));
    faults.fail_writes(false);
    // The refused entry took no index.
    assert_eq!(log.append(b"a2".to_vec(), None).unwrap().index(), 1);
    assert_eq!(cut(&url, "flaky", "sequencer"), 1);
    // The first append after the cut may fail (its session is gone) or succeed on a new
    // one; either way no index is skipped and nothing unacknowledged is counted.
    let mut got = Vec::new();
    for e in [b"b".to_vec(), b"c".to_vec(), b"d".to_vec()] {
        if let Ok(r) = log.append(e, None) {
            got.push(r.index());
        }
    }
    assert!(got.len() >= 2, "the sequencer did not reconnect: {got:?}");
    assert_eq!(got, (2..2 + got.len() as u64).collect::<Vec<_>>());
    let size = 2 + got.len() as u64;
    log.wait_checkpoint(size, Duration::from_secs(10)).unwrap();
    assert_eq!(log.close().unwrap().checkpoint.size, size);
    assert_eq!(
        verify_dir(tmp.path(), &signer.verifier()).unwrap().size,
        size
    );
}

#[test]
fn an_integrator_that_loses_its_session_is_replaced_and_the_log_keeps_growing() {
    let url = fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/shared").unwrap();
    let a = PgLog::open(&url, tmp.path(), signer.clone(), config("a")).unwrap();
    let b = PgLog::open(&url, tmp.path(), signer.clone(), config("b")).unwrap();
    a.append(b"first".to_vec(), None).unwrap();
    a.wait_checkpoint(1, Duration::from_secs(10)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !a.is_integrator() && !b.is_integrator() {
        assert!(std::time::Instant::now() < deadline, "nobody integrates");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (holder, other) = if a.is_integrator() {
        ("a", &b)
    } else {
        ("b", &a)
    };
    assert_eq!(cut(&url, holder, "integrator"), 1);
    for i in 0..50 {
        a.submit(format!("a {i}").into_bytes(), None);
        b.append(format!("b {i}").into_bytes(), None).unwrap();
    }
    let size = a.append(b"last".to_vec(), None).unwrap().index() + 1;
    other
        .wait_checkpoint(size, Duration::from_secs(10))
        .unwrap();
    a.close().unwrap();
    b.close().unwrap();
    assert_eq!(
        verify_dir(tmp.path(), &signer.verifier()).unwrap().size,
        size
    );
}

#[test]
fn each_database_on_one_server_names_its_own_integrator() {
    let (one, two) = (fresh_database(), fresh_database());
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let signer = Signer::generate("test.example/shared").unwrap();
    let a = PgLog::open(&one, d1.path(), signer.clone(), config("one")).unwrap();
    let b = PgLog::open(&two, d2.path(), signer.clone(), config("two")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(a.is_integrator() && b.is_integrator()) {
        assert!(
            std::time::Instant::now() < deadline,
            "a log has no integrator"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for (url, writer) in [(&one, "one"), (&two, "two")] {
        let mut c = connect(url, "asker").unwrap();
        assert_eq!(
            super::integrator_holder(&mut c).unwrap().as_deref(),
            Some(format!("{writer} integrator").as_str())
        );
    }
    a.close().unwrap();
    b.close().unwrap();
}

/// The flush writes with `pg_logical_emit_message`; a role that may not run it must be
/// told so when the log opens, not at its first append.
#[test]
fn a_role_that_may_not_emit_the_flush_message_is_refused_at_open_with_the_reason() {
    let url = fresh_database();
    let (base, database) = url.rsplit_once('/').unwrap();
    let role = format!("{database}_gateway");
    let mut admin = connect(&url, "cordon test").unwrap();
    // Function privileges are per database, so this one's revocation touches no other test.
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN; GRANT ALL ON SCHEMA public TO {role}; \
             REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) FROM PUBLIC"
        ))
        .unwrap();
    let (scheme, host) = base.rsplit_once('@').unwrap();
    let (scheme, _) = scheme.rsplit_once("//").unwrap();
    let as_role = format!("{scheme}//{role}@{host}/{database}");
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/privilege").unwrap();
    let refused = PgLog::open(&as_role, tmp.path(), signer.clone(), config("p"))
        .err()
        .expect("opened a log whose flush the role may not run")
        .to_string();
    assert!(
        refused.contains("flush") && refused.contains("pg_logical_emit_message"),
        "{refused}"
    );
    admin
        .batch_execute(&format!(
            "GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO {role}"
        ))
        .unwrap();
    let log = PgLog::open(&as_role, tmp.path(), signer, config("p")).unwrap();
    assert_eq!(log.append(b"granted".to_vec(), None).unwrap().index(), 0);
    log.close().unwrap();
}

/// A gateway opening the log re-runs the schema; were that to take an exclusive lock on
/// the entries (an `ALTER TABLE` that finds nothing to add still does), one auditor's long
/// query would hold up the start, and every replica's appends would queue behind it.
#[test]
fn opening_the_log_does_not_wait_for_readers_or_writers_of_its_tables() {
    let url = fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/shared").unwrap();
    let first = PgLog::open(&url, tmp.path(), signer.clone(), config("first")).unwrap();
    first.append(b"one".to_vec(), None).unwrap();
    let mut reader = connect(&url, "cordon test auditor").unwrap();
    let mut tx = reader.transaction().unwrap();
    tx.query("SELECT idx FROM cordon_entries", &[]).unwrap();
    // And a writer of the decision index, as an append is until it commits.
    tx.execute(
        "INSERT INTO cordon_decisions (idx, time, decision) VALUES (1000000, now(), 'allow')",
        &[],
    )
    .unwrap();
    let (done, opened) = std::sync::mpsc::channel();
    let (u, d, s) = (url.clone(), tmp.path().join("second"), signer.clone());
    std::thread::spawn(move || {
        let _ = done.send(PgLog::open(&u, &d, s, config("second")).map(|l| l.close()));
    });
    let r = opened.recv_timeout(Duration::from_secs(5));
    tx.rollback().unwrap();
    assert!(
        r.is_ok(),
        "a gateway waited for a reader of the entries or a writer of the decisions before it could open the log"
    );
    first.close().unwrap();
}

/// A database administrator creates the tables once (by opening the log as their owner);
/// gateways then run as a role that may read and write those tables and nothing more, no
/// CREATE on the schema (PostgreSQL 15 no longer grants it to every role). Opening the
/// log must not try to create what exists.
#[test]
fn a_role_with_only_table_privileges_opens_an_existing_log_and_appends() {
    let url = fresh_database();
    let (base, database) = url.rsplit_once('/').unwrap();
    let role = format!("{database}_app");
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/least").unwrap();
    let owner = PgLog::open(&url, &tmp.path().join("owner"), signer.clone(), config("o")).unwrap();
    owner.append(b"by the owner".to_vec(), None).unwrap();
    owner.close().unwrap();
    let mut admin = connect(&url, "cordon test").unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN; \
             REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
             GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT, INSERT ON cordon_entries, cordon_decisions TO {role}; \
             GRANT SELECT, UPDATE ON cordon_counter, cordon_checkpoint TO {role}"
        ))
        .unwrap();
    let (scheme, host) = base.rsplit_once('@').unwrap();
    let (scheme, _) = scheme.rsplit_once("//").unwrap();
    let as_role = format!("{scheme}//{role}@{host}/{database}");
    let log = PgLog::open(&as_role, &tmp.path().join("app"), signer, config("app"))
        .unwrap_or_else(|e| panic!("a role with table privileges could not open the log: {e}"));
    assert_eq!(log.append(b"by the app".to_vec(), None).unwrap().index(), 1);
    log.close().unwrap();
    let mut app = connect(&as_role, "cordon test").unwrap();
    for rewrite in [
        "DELETE FROM cordon_entries",
        "UPDATE cordon_entries SET entry = 'x'",
    ] {
        let refused = app.batch_execute(rewrite).unwrap_err();
        assert_eq!(
            refused.code(),
            Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{rewrite}: {refused:?}"
        );
    }
}
