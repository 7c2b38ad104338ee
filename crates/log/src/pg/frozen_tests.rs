//! A server that stops answering mid-connection (frozen, or cut off by the network)
//! costs one commit deadline, not the log: the sequencer abandons that connection and
//! commits the next batch on a new one, and the abandoned batch is still answered if its
//! commit lands later.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::tests::fresh_database;
use super::*;
use crate::verify::verify_dir;

/// A TCP relay to the test server whose existing connections can be frozen: bytes stop
/// moving both ways while the sockets stay open, as with a SIGSTOPped server, except
/// that connections opened afterwards still work.
struct Freezer {
    addr: String,
    frozen: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
}

impl Freezer {
    fn start(upstream: String) -> Freezer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let frozen: Arc<Mutex<Vec<Arc<AtomicBool>>>> = Arc::default();
        let all = frozen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let flag = Arc::new(AtomicBool::new(false));
                all.lock().unwrap().push(flag.clone());
                relay(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    flag.clone(),
                );
                relay(server, client, flag);
            }
        });
        Freezer { addr, frozen }
    }

    fn freeze_existing(&self, on: bool) {
        for f in self.frozen.lock().unwrap().iter() {
            f.store(on, Ordering::SeqCst);
        }
    }
}

/// Thaws every connection when dropped, so a failing test unwinds instead of hanging on
/// connections it froze.
struct Thaw<'a>(&'a Freezer);

impl Drop for Thaw<'_> {
    fn drop(&mut self) {
        self.0.freeze_existing(false);
    }
}

fn relay(mut from: TcpStream, mut to: TcpStream, frozen: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            while frozen.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // Bytes read just as the freeze began are held until it ends.
            while frozen.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if to.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
}

/// `postgresql://user@HOST:PORT/db` with HOST:PORT replaced.
pub(super) fn via(url: &str, addr: &str) -> (String, String) {
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (hostport, db) = rest.split_once('/').unwrap();
    (hostport.to_string(), format!("{scheme_user}@{addr}/{db}"))
}

/// The append's outcome, failing the test (instead of hanging it) if it takes longer.
pub(super) fn wait_at_most(mut p: PendingAppend, limit: Duration) -> Result<Receipt, AppendError> {
    let start = Instant::now();
    loop {
        if let Some(r) = p.try_wait() {
            return r;
        }
        assert!(
            start.elapsed() < limit,
            "an append waited over {limit:?} behind a frozen connection"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_frozen_connection_is_abandoned_at_the_deadline_and_the_next_batch_commits_on_a_new_one() {
    let url = fresh_database();
    let (upstream, _) = via(&url, "unused");
    let freezer = Freezer::start(upstream);
    let (_, proxied) = via(&url, &freezer.addr);
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/shared").unwrap();
    let deadline = Duration::from_millis(300);
    let cfg = PgConfig {
        writer: "frozen".into(),
        checkpoint_interval: Duration::from_millis(5),
        commit_deadline: deadline,
        ..PgConfig::default()
    };
    let log = PgLog::open(&proxied, tmp.path(), signer.clone(), cfg).unwrap();
    assert_eq!(log.append(b"before".to_vec(), None).unwrap().index(), 0);

    let thaw = Thaw(&freezer);
    freezer.freeze_existing(true);
    let mut late = log.submit(b"late".to_vec(), None);
    // Let the sequencer take "late" as a batch of its own before "next" is queued.
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    let next = wait_at_most(log.submit(b"next".to_vec(), None), deadline * 10)
        .expect("the batch after a frozen one commits on a new connection");
    assert_eq!(next.index(), 1, "the frozen batch never reached the server");
    eprintln!("the next batch committed after {:?}", start.elapsed());
    assert!(
        late.try_wait().is_none(),
        "an abandoned batch is neither acknowledged nor refused while its commit may still land"
    );

    drop(thaw);
    let late = late
        .wait()
        .expect("the abandoned commit lands once the server answers");
    assert_eq!(late.index(), 2);
    log.wait_checkpoint(3, Duration::from_secs(10)).unwrap();
    assert_eq!(log.close().unwrap().checkpoint.size, 3);
    assert_eq!(verify_dir(tmp.path(), &signer.verifier()).unwrap().size, 3);
}

#[test]
fn a_writer_frozen_inside_its_transaction_loses_the_counter_lock_at_the_deadline() {
    let url = fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/shared").unwrap();
    let deadline = Duration::from_millis(300);
    let cfg = PgConfig {
        writer: "live".into(),
        commit_deadline: deadline,
        ..PgConfig::default()
    };
    let log = PgLog::open(&url, tmp.path(), signer, cfg).unwrap();
    // A writer's session, set up as every sequencer's is, that took indexes and then
    // stopped (a frozen process): it holds the counter's row lock and sends nothing.
    let frozen = super::sequencer::Prepared::new(Session::open(&url, "frozen").unwrap(), deadline);
    let mut frozen = frozen.unwrap();
    let mut tx = frozen.client.transaction().unwrap();
    tx.execute("UPDATE cordon_counter SET next = next + 1", &[])
        .unwrap();
    let start = Instant::now();
    let mut got = None;
    while got.is_none() && start.elapsed() < deadline * 20 {
        got = log.append(b"after the freeze".to_vec(), None).ok();
    }
    let got = got.expect("the frozen session kept the counter's lock");
    eprintln!("appended after {:?}", start.elapsed());
    // The frozen writer's indexes were never committed; the live one takes them.
    assert_eq!(got.index(), 0);
    assert!(tx.commit().is_err(), "the server ended the frozen session");
    log.close().unwrap();
}
