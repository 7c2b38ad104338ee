//! This process's sequencer: batch the queued appends into one transaction that takes
//! their indexes from the shared counter, and acknowledge them only once it commits.
//!
//! A commit runs on a connection worker and gets `commit_deadline` to finish. A server
//! that is frozen (SIGSTOP, a hung VM) still answers TCP keepalives and never enforces its
//! own `statement_timeout`, so without a client-side deadline one stuck connection would
//! hold every later batch. Past the deadline the sequencer abandons that worker, with its
//! batch, and starts the next batch on a new connection. The abandoned worker still answers
//! its batch whenever its commit returns (so a late commit is reported as durable and the
//! gateway can record that it was never served), then closes its connection.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;

use postgres::{Client, Statement};

use crate::error::{AppendError, LogError};
use crate::hash::leaf_hash;
use crate::keys::Signer;
use crate::log::gather;
use crate::receipt::mint_batch;

use super::schema::to_u64;
use super::{db, Request, Shared};

/// Abandoned workers still waiting on the server, past which batches are refused at
/// once: a server that swallowed this many commits is not going to take another.
const MAX_ABANDONED: usize = 4;

/// The three statements of an append, prepared once per connection.
pub(super) struct Prepared {
    pub(super) client: Client,
    pub(super) take: Statement,
    entries: Statement,
    decisions: Statement,
}

impl Prepared {
    pub(super) fn new(
        mut client: Client,
        deadline: std::time::Duration,
    ) -> Result<Prepared, LogError> {
        let ms = deadline.as_millis().max(1);
        // The idle-in-transaction timeout is for a writer that froze between taking its
        // indexes and committing: the server ends its session, and with it the counter's
        // row lock, instead of every other writer waiting on it for ever.
        client
            .batch_execute(&format!(
                "SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
                 SET idle_in_transaction_session_timeout = {ms}"
            ))
            .map_err(db("set the commit timeouts"))?;
        let take = client
            .prepare("UPDATE cordon_counter SET next = next + $1 RETURNING next - $1")
            .map_err(db("prepare the counter update"))?;
        let entries = client
            .prepare(
                "INSERT INTO cordon_entries (idx, entry, writer) \
                 SELECT i, e, $3 FROM unnest($1::bigint[], $2::bytea[]) AS t(i, e)",
            )
            .map_err(db("prepare the entry insert"))?;
        let decisions = client
            .prepare(
                "INSERT INTO cordon_decisions (idx, time, agency, principal, decision, dataset) \
                 SELECT i, t::timestamptz, a, p, d, s \
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) \
                 AS u(i, t, a, p, d, s)",
            )
            .map_err(db("prepare the decision index insert"))?;
        Ok(Prepared {
            client,
            take,
            entries,
            decisions,
        })
    }
}

pub(super) fn run(shared: Arc<Shared>, rx: Receiver<Request>) {
    let abandoned = Arc::new(AtomicUsize::new(0));
    let mut worker: Option<Worker> = None;
    let max = shared.config.max_batch.max(1);
    while let Ok(head) = rx.recv() {
        // A fixed delay: several writers share the counter, so a batch waits its whole
        // delay for theirs (see `PgConfig::commit_delay`).
        let batch = gather(head, &rx, max, max, shared.config.commit_delay);
        if abandoned.load(Ordering::SeqCst) >= MAX_ABANDONED {
            shared.stats.wal_failures.fetch_add(1, Ordering::Relaxed);
            refuse(
                batch,
                &format!(
                    "PostgreSQL has not answered {MAX_ABANDONED} commits past their deadline; \
                     check that the server is running and reachable"
                ),
            );
            continue;
        }
        let w = match worker.take() {
            Some(w) => w,
            None => match Worker::spawn(shared.clone(), abandoned.clone()) {
                Ok(w) => w,
                Err(e) => {
                    refuse(batch, &e.to_string());
                    continue;
                }
            },
        };
        if w.jobs.send(batch).is_err() {
            // The worker is gone (it only stops when its channel closes); the next batch
            // gets a new one.
            continue;
        }
        match w.done.recv_timeout(shared.config.commit_deadline) {
            Ok(()) => worker = Some(w),
            Err(RecvTimeoutError::Timeout) => {
                shared.stats.wal_failures.fetch_add(1, Ordering::Relaxed);
                abandoned.fetch_add(1, Ordering::SeqCst);
                w.abandon();
            }
            Err(RecvTimeoutError::Disconnected) => {}
        }
    }
}

fn refuse(batch: Vec<Request>, why: &str) {
    for r in batch {
        let _ = r.reply.send(Err(AppendError::Storage(why.to_string())));
    }
}

/// A thread that owns one connection and commits the batches it is handed, in order.
struct Worker {
    jobs: SyncSender<Vec<Request>>,
    done: Receiver<()>,
    abandoned: Arc<std::sync::atomic::AtomicBool>,
}

impl Worker {
    fn spawn(shared: Arc<Shared>, abandoned_count: Arc<AtomicUsize>) -> Result<Worker, LogError> {
        let (jobs, job_rx) = sync_channel::<Vec<Request>>(1);
        let (done_tx, done) = sync_channel::<()>(1);
        let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = abandoned.clone();
        std::thread::Builder::new()
            .name("pg-commit".into())
            .spawn(move || {
                let mut conn: Option<Prepared> = None;
                let receipt_key = shared.signer.receipt_signer();
                for batch in job_rx {
                    commit_and_answer(&shared, &receipt_key, &mut conn, batch);
                    if done_tx.send(()).is_err() {
                        break;
                    }
                }
                if flag.load(Ordering::SeqCst) {
                    abandoned_count.fetch_sub(1, Ordering::SeqCst);
                }
            })
            .map_err(LogError::io("pg-commit thread"))?;
        Ok(Worker {
            jobs,
            done,
            abandoned,
        })
    }

    /// Leaves the worker to finish its batch alone; dropping the channels then ends it.
    fn abandon(self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }
}

fn commit_and_answer(
    shared: &Shared,
    receipt_key: &Signer,
    conn: &mut Option<Prepared>,
    batch: Vec<Request>,
) {
    match commit(shared, conn, &batch) {
        Ok(first_index) => acknowledge(shared, receipt_key, batch, first_index),
        Err(e) => {
            // The connection may be broken; the next batch reconnects. Whether a failed
            // COMMIT landed is unknown, which is why nothing is acknowledged.
            *conn = None;
            shared.stats.wal_failures.fetch_add(1, Ordering::Relaxed);
            refuse(batch, &e.to_string());
        }
    }
}

fn commit(
    shared: &Shared,
    conn: &mut Option<Prepared>,
    batch: &[Request],
) -> Result<u64, LogError> {
    shared.config.faults.wait_while_stalled();
    if shared.config.faults.is_failing() {
        return Err(LogError::Database {
            what: "commit".into(),
            why: "writes are switched off for a test".into(),
        });
    }
    let p = match conn.take() {
        Some(p) => p,
        None => Prepared::new(shared.connect("sequencer")?, shared.config.commit_deadline)?,
    };
    let p = conn.insert(p);
    let n = batch.len() as i64;
    let mut tx = p.client.transaction().map_err(db("begin"))?;
    let first: i64 = tx
        .query_one(&p.take, &[&n])
        .map_err(db("take indexes from the counter"))?
        .get(0);
    let idx: Vec<i64> = (first..first + n).collect();
    let entries: Vec<&[u8]> = batch.iter().map(|r| r.entry.as_slice()).collect();
    tx.execute(&p.entries, &[&idx, &entries, &shared.config.writer])
        .map_err(db("insert entries"))?;
    insert_index_rows(&mut tx, &p.decisions, &idx, batch)?;
    tx.commit().map_err(db("commit"))?;
    Ok(to_u64(first))
}

fn insert_index_rows(
    tx: &mut postgres::Transaction<'_>,
    stmt: &Statement,
    idx: &[i64],
    batch: &[Request],
) -> Result<(), LogError> {
    let rows: Vec<_> = idx
        .iter()
        .zip(batch)
        .filter_map(|(i, r)| r.row.as_ref().map(|row| (*i, row)))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let i: Vec<i64> = rows.iter().map(|(i, _)| *i).collect();
    let t: Vec<&str> = rows.iter().map(|(_, r)| r.time.as_str()).collect();
    let a: Vec<Option<&str>> = rows.iter().map(|(_, r)| r.agency.as_deref()).collect();
    let p: Vec<Option<&str>> = rows.iter().map(|(_, r)| r.principal.as_deref()).collect();
    let d: Vec<&str> = rows.iter().map(|(_, r)| r.decision.as_str()).collect();
    let s: Vec<Option<&str>> = rows.iter().map(|(_, r)| r.dataset.as_deref()).collect();
    tx.execute(stmt, &[&i, &t, &a, &p, &d, &s])
        .map_err(db("insert decision index rows"))?;
    Ok(())
}

fn acknowledge(shared: &Shared, receipt_key: &Signer, batch: Vec<Request>, first: u64) {
    let n = batch.len() as u64;
    let leaves = batch.iter().map(|r| leaf_hash(&r.entry)).collect();
    let receipts = mint_batch(receipt_key, shared.signer.name(), first, leaves);
    {
        let mut st = shared.lock();
        st.durable = st.durable.max(first + n);
    }
    shared.changed.notify_all();
    shared.stats.appended.fetch_add(n, Ordering::Relaxed);
    shared.stats.batches.fetch_add(1, Ordering::Relaxed);
    for (r, receipt) in batch.into_iter().zip(receipts) {
        let _ = r.reply.send(Ok(receipt));
    }
}
