//! A flush promises the synchronous standby too: when an operator cancels a commit's wait
//! for the standby (`pg_cancel_backend`), PostgreSQL returns the commit with only a
//! warning, and a batch must not be acknowledged on that. A cluster of the test's own,
//! because the standby setting is the whole server's.
use std::time::{Duration, Instant};

use super::crash_tests::Cluster;
use super::*;

/// Names the synchronous standby the server waits for (`''`: none), and reloads.
fn require_standby(admin: &mut Client, names: &str) {
    admin
        .batch_execute(&format!(
            "ALTER SYSTEM SET synchronous_standby_names = '{names}'"
        ))
        .unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
}

/// Returns once synchronous commits wait for the standby: a reload takes effect when the
/// server's processes get to it, so a commit is tried until one waits (and is let go).
fn until_commits_wait(url: &str, admin: &mut Client) {
    for _ in 0..100 {
        let url = url.to_string();
        let probe = std::thread::spawn(move || {
            let mut c = connect(&url, "probe").unwrap();
            let _ = c.batch_execute("SELECT pg_logical_emit_message(true, 'probe', '')");
        });
        std::thread::sleep(Duration::from_millis(100));
        if !probe.is_finished() {
            let pid = waiting_for_standby(admin, "probe");
            admin
                .execute("SELECT pg_cancel_backend($1)", &[&pid])
                .unwrap();
            probe.join().unwrap();
            return;
        }
        probe.join().unwrap();
    }
    panic!("commits never waited for the standby after the reload");
}

/// The backend of the session named `application`, if it is waiting for the standby.
fn waiting(admin: &mut Client, application: &str) -> Option<i32> {
    let rows = admin
        .query(
            "SELECT pid FROM pg_stat_activity \
             WHERE application_name = $1 AND wait_event = 'SyncRep'",
            &[&application],
        )
        .unwrap();
    rows.first().map(|row| row.get(0))
}

/// The backend of the session named `application` once it waits for the standby.
fn waiting_for_standby(admin: &mut Client, application: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = waiting(admin, application) {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{application} never waited for the standby"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Requires no standby any more when dropped.
struct Release(String);

impl Drop for Release {
    fn drop(&mut self) {
        if let Ok(mut admin) = connect(&self.0, "release") {
            require_standby(&mut admin, "");
        }
    }
}

#[test]
fn a_commit_whose_wait_for_the_standby_was_cancelled_is_not_acknowledged() {
    let cluster = Cluster::start();
    cancelled_standby_wait_holds_the_batch_back(&cluster.url());
}

/// A role set to hear only errors would not be sent the cancel's warning unless the
/// flush asks for warnings itself.
#[test]
fn a_cancelled_standby_wait_is_caught_when_the_role_hears_only_errors() {
    let cluster = Cluster::start();
    let url = cluster.url();
    let mut admin = connect(&url, "admin").unwrap();
    admin
        .batch_execute("ALTER ROLE cordon SET client_min_messages = error")
        .unwrap();
    cancelled_standby_wait_holds_the_batch_back(&url);
}

/// Cancels a flush's wait for a standby that never answers and checks that the batch is
/// answered only once the standby is no longer required, and then acknowledged.
fn cancelled_standby_wait_holds_the_batch_back(url: &str) {
    let url = url.to_string();
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/standby").unwrap();
    let log = PgLog::open(&url, tmp.path(), signer, super::tests::config("standby")).unwrap();
    assert_eq!(log.append(b"first".to_vec(), None).unwrap().index(), 0);
    let mut admin = connect(&url, "admin").unwrap();
    // A standby that never answers: every synchronous commit now waits for it (until the
    // guard lets them go, also when an assertion fails, so that closing the log ends).
    require_standby(&mut admin, "ghost");
    let _release = Release(url.clone());
    until_commits_wait(&url, &mut admin);
    let pending = log.submit(b"second".to_vec(), None);
    let appender = std::thread::spawn(move || pending.wait());
    let flushing = waiting_for_standby(&mut admin, "standby sequencer");
    let cancelled: bool = admin
        .query_one("SELECT pg_cancel_backend($1)", &[&flushing])
        .unwrap()
        .get(0);
    assert!(cancelled);
    // The batch is settled on a new session, whose flush waits for the standby in turn;
    // meanwhile nothing is answered.
    let deadline = Instant::now() + Duration::from_secs(20);
    while waiting(&mut admin, "standby sequencer settle").is_none() {
        assert!(
            !appender.is_finished(),
            "a commit the standby never confirmed was answered: {:?}",
            appender.join().unwrap().map(|r| r.index())
        );
        assert!(Instant::now() < deadline, "the batch was never settled");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!appender.is_finished(), "answered while being settled");
    // The standby is no longer required (as if it had caught up): now it is durable.
    require_standby(&mut admin, "");
    let receipt = appender
        .join()
        .unwrap()
        .expect("a settled batch was refused");
    assert_eq!(receipt.index(), 1);
    let cp = log.close().unwrap();
    assert_eq!(cp.checkpoint.size, 2);
}

/// An operator reading the gateway's log sees what the server said, not only that it
/// warned.
#[test]
fn a_flush_whose_standby_wait_was_cancelled_fails_quoting_the_warning() {
    let cluster = Cluster::start();
    let url = cluster.url();
    let mut admin = connect(&url, "admin").unwrap();
    require_standby(&mut admin, "ghost");
    let _release = Release(url.clone());
    until_commits_wait(&url, &mut admin);
    let mut session = Session::open(&url, "flusher").unwrap();
    let flushing = std::thread::spawn(move || super::flush::flush(&mut session));
    let pid = waiting_for_standby(&mut admin, "flusher");
    admin
        .execute("SELECT pg_cancel_backend($1)", &[&pid])
        .unwrap();
    let refused = flushing
        .join()
        .unwrap()
        .expect_err("a flush the standby never confirmed succeeded")
        .to_string();
    assert!(
        refused.contains("warning") && refused.contains("synchronous replication"),
        "{refused}"
    );
}
