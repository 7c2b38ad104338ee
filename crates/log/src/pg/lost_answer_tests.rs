//! An append whose answer never comes back (the connection breaks after the statement
//! was sent) may have committed or not. Refused unseen, a committed batch would leave
//! allows in the log that no one was served and nothing saying so; acknowledged
//! unseen, a batch that never committed would get receipts for entries the log lacks.
//! The sequencer ends the session that sent it, then looks: these tests cut the
//! connection at the append and check each outcome.
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::frozen_tests::{via, wait_at_most};
use super::tests::fresh_database;
use super::*;
use crate::verify::verify_dir;

/// What the relay does to the connection that sends the marked append.
#[derive(Clone, Copy, PartialEq)]
enum Cut {
    /// The server gets the append and runs it; its answer is thrown away and the
    /// client's side closed shortly after.
    AfterSending,
    /// The append never reaches the server; the client's side is closed at once.
    BeforeSending,
    /// As `BeforeSending`, but the relay first says it holds the append and waits for
    /// the test's go, so that the test can act while the append is in limbo.
    HeldThenDropped,
}

/// The marker the relay waits for and what it does on seeing it (taken when it fires),
/// with the channels of a `HeldThenDropped` cut.
#[derive(Default)]
struct Rule {
    armed: Option<(Vec<u8>, Cut)>,
    held: Option<Sender<()>>,
    go: Option<Receiver<()>>,
}

/// A TCP relay to the test server that cuts, once, the connection whose client sends
/// bytes containing `marker`.
struct Relay {
    addr: String,
    rule: Arc<Mutex<Rule>>,
}

impl Relay {
    fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let rule: Arc<Mutex<Rule>> = Arc::default();
        let shared = rule.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let muted = Arc::new(AtomicBool::new(false));
                let (c, s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (rule, mute) = (shared.clone(), muted.clone());
                std::thread::spawn(move || to_server(c, s, &rule, &mute));
                std::thread::spawn(move || to_client(server, client, &muted));
            }
        });
        Relay { addr, rule }
    }

    fn arm(&self, marker: &[u8], cut: Cut) {
        self.rule.lock().unwrap().armed = Some((marker.to_vec(), cut));
    }

    /// Arms a `HeldThenDropped` cut: the first receiver hears when the append is held,
    /// the sender lets it be dropped.
    fn hold(&self, marker: &[u8]) -> (Receiver<()>, Sender<()>) {
        let (held_tx, held) = channel();
        let (go, go_rx) = channel();
        let mut rule = self.rule.lock().unwrap();
        rule.armed = Some((marker.to_vec(), Cut::HeldThenDropped));
        rule.held = Some(held_tx);
        rule.go = Some(go_rx);
        (held, go)
    }
}

fn to_server(mut client: TcpStream, mut server: TcpStream, rule: &Mutex<Rule>, muted: &AtomicBool) {
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let hit = {
            let mut rule = rule.lock().unwrap();
            let hit = rule
                .armed
                .as_ref()
                .filter(|(m, _)| chunk.windows(m.len()).any(|w| w == m.as_slice()))
                .map(|(_, cut)| *cut);
            if hit.is_some() {
                rule.armed = None;
            }
            hit.map(|cut| (cut, rule.held.take(), rule.go.take()))
        };
        let Some((cut, held, go)) = hit else {
            if server.write_all(chunk).is_err() {
                return;
            }
            continue;
        };
        // The server's answers are dropped from here on; its side stays open, so its
        // session lives on until someone ends it.
        muted.store(true, Ordering::SeqCst);
        match cut {
            Cut::AfterSending => {
                let _ = server.write_all(chunk);
                std::thread::sleep(Duration::from_millis(200));
            }
            Cut::BeforeSending => {}
            Cut::HeldThenDropped => {
                if let Some(held) = held {
                    let _ = held.send(());
                }
                if let Some(go) = go {
                    let _ = go.recv();
                }
            }
        }
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
}

fn to_client(mut server: TcpStream, mut client: TcpStream, muted: &AtomicBool) {
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !muted.load(Ordering::SeqCst) && client.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// A log reached through a fresh relay, with one entry already at index 0.
fn log_through_relay(
    writer: &str,
    deadline: Duration,
) -> (PgLog, Relay, String, Signer, tempfile::TempDir) {
    let url = fresh_database();
    let (upstream, _) = via(&url, "unused");
    let relay = Relay::start(upstream);
    let (_, proxied) = via(&url, &relay.addr);
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/lost-answer").unwrap();
    let cfg = PgConfig {
        writer: writer.into(),
        checkpoint_interval: Duration::from_millis(5),
        commit_deadline: deadline,
        ..PgConfig::default()
    };
    let log = PgLog::open(&proxied, tmp.path(), signer.clone(), cfg).unwrap();
    assert_eq!(log.append(b"before".to_vec(), None).unwrap().index(), 0);
    (log, relay, url, signer, tmp)
}

/// How many entries the log holds with exactly these bytes.
fn copies(url: &str, entry: &[u8]) -> i64 {
    let mut c = connect(url, "cordon test").unwrap();
    c.query_one(
        "SELECT count(*) FROM cordon_entries WHERE entry = $1",
        &[&entry],
    )
    .unwrap()
    .get(0)
}

#[test]
fn a_batch_committed_before_its_answer_was_lost_is_found_and_acknowledged() {
    let (log, relay, url, signer, tmp) = log_through_relay("lost-after", Duration::from_secs(5));
    let entry = b"committed-but-unanswered".to_vec();
    relay.arm(&entry, Cut::AfterSending);
    let receipt = wait_at_most(log.submit(entry.clone(), None), Duration::from_secs(20))
        .expect("a batch that committed is acknowledged once found, not refused unseen");
    assert_eq!(receipt.index(), 1);
    assert_eq!(receipt.leaf_hash(), Some(crate::hash::leaf_hash(&entry)));
    assert_eq!(copies(&url, &entry), 1);
    assert_eq!(log.append(b"after".to_vec(), None).unwrap().index(), 2);
    log.wait_checkpoint(3, Duration::from_secs(10)).unwrap();
    assert_eq!(log.close().unwrap().checkpoint.size, 3);
    assert_eq!(verify_dir(tmp.path(), &signer.verifier()).unwrap().size, 3);
}

#[test]
fn a_batch_whose_append_never_reached_the_server_is_refused_and_its_index_reused() {
    let (log, relay, url, _, _tmp) = log_through_relay("lost-before", Duration::from_secs(5));
    let entry = b"never-sent".to_vec();
    relay.arm(&entry, Cut::BeforeSending);
    let err = wait_at_most(log.submit(entry.clone(), None), Duration::from_secs(20))
        .expect_err("a batch the server never saw cannot be acknowledged");
    assert!(err.to_string().contains("never committed"), "{err}");
    assert_eq!(copies(&url, &entry), 0);
    assert_eq!(log.append(b"after".to_vec(), None).unwrap().index(), 1);
    log.close().unwrap();
}

/// Sends `entry` while another session holds the counter's lock, loses the append's
/// answer, and checks the batch is refused and never commits once the lock is free.
fn lost_while_waiting_for_the_lock(log: &PgLog, relay: &Relay, url: &str, entry: &[u8]) {
    let mut holder = connect(url, "cordon test lock holder").unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.execute("SELECT next FROM cordon_counter FOR UPDATE", &[])
        .unwrap();
    relay.arm(entry, Cut::AfterSending);
    let err = wait_at_most(log.submit(entry.to_vec(), None), Duration::from_secs(20))
        .expect_err("the append never committed, so it cannot be acknowledged");
    assert!(err.to_string().contains("never committed"), "{err}");
    tx.commit().unwrap();
    // Were the session still there, its append would take the lock now and commit.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        copies(url, entry),
        0,
        "a refused append committed after all"
    );
}

/// The append reached the server but waits there for the counter's lock when its answer
/// is lost. Searching while it waits would find nothing, and it would commit after the
/// refusal; the sequencer must end that session before it looks.
#[test]
fn an_unanswered_append_still_running_is_ended_before_the_log_is_searched() {
    let (log, relay, url, _, _tmp) = log_through_relay("lost-waiting", Duration::from_secs(10));
    lost_while_waiting_for_the_lock(&log, &relay, &url, b"stuck-behind-a-lock");
    assert_eq!(log.append(b"after".to_vec(), None).unwrap().index(), 1);
    log.close().unwrap();
}

/// Replicas sharing one config share a writer name, and two identical requests in the
/// same millisecond make identical entries: a lost batch must be looked for by its own
/// random id, never by its bytes, or it would be acknowledged with another's entry.
#[test]
fn a_lost_batch_is_never_taken_for_another_writers_batch_with_the_same_bytes() {
    let writer = "gateway 0.0.0.0:8443";
    let (a, relay, url, signer, _tmp) = log_through_relay(writer, Duration::from_secs(5));
    let tmp_b = tempfile::tempdir().unwrap();
    let cfg = PgConfig {
        writer: writer.into(),
        checkpoint_interval: Duration::from_millis(5),
        ..PgConfig::default()
    };
    let b = PgLog::open(&url, tmp_b.path(), signer, cfg).unwrap();
    let entry = br#"{"kind":"decision","time":"2026-12-02T01:00:00.000Z","same":"bytes"}"#.to_vec();
    let (held, go) = relay.hold(&entry);
    let pending = a.submit(entry.clone(), None);
    held.recv_timeout(Duration::from_secs(10)).unwrap();
    let theirs = b.append(entry.clone(), None).unwrap();
    go.send(()).unwrap();
    let ours = wait_at_most(pending, Duration::from_secs(20));
    assert!(
        ours.is_err(),
        "a batch that never reached the server was acknowledged at {:?}, the other writer's index {}",
        ours.map(|r| r.index()),
        theirs.index()
    );
    assert_eq!(copies(&url, &entry), 1);
    a.close().unwrap();
    b.close().unwrap();
}

/// The unanswered session is named by its process id and start time; read as text, the
/// start would follow each session's time zone, and a zone changed since the sequencer
/// connected would make the still-running session look gone.
#[test]
fn a_changed_time_zone_does_not_hide_the_unanswered_session() {
    let (log, relay, url, _, _tmp) = log_through_relay("lost-zone", Duration::from_secs(10));
    let database = url.rsplit_once('/').unwrap().1.to_string();
    let mut admin = connect(&url, "cordon test admin").unwrap();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {database} SET TimeZone = 'Pacific/Chatham'"
        ))
        .unwrap();
    lost_while_waiting_for_the_lock(&log, &relay, &url, b"stuck-behind-a-lock-in-another-zone");
    log.close().unwrap();
}
