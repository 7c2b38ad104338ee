//! This process's sequencer: batch the queued appends into one statement that takes
//! their indexes from the shared counter, and acknowledge them only once its commit is
//! flushed to disk.
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

use postgres::Statement;

use crate::error::{AppendError, LogError};
use crate::hash::leaf_hash;
use crate::keys::Signer;
use crate::log::gather;
use crate::receipt::mint_batch;

use super::flush::{flush, settle, settle_lost_answer};
use super::integrator::tracing_free_warn;
use super::schema::to_u64;
use super::{db, Request, Session, Shared};

/// Abandoned workers still waiting on the server, past which batches are refused at
/// once: a server that swallowed this many commits is not going to take another.
const MAX_ABANDONED: usize = 4;

/// An append's one statement, prepared once per connection.
pub(super) struct Prepared {
    pub(super) client: Session,
    append: Statement,
    /// The server backend behind `client`: if an append's answer is lost, this is the
    /// session that must be ended before the log can be searched for the batch.
    backend: Backend,
}

/// One server backend, named so that it cannot be mistaken for a later one that reuses
/// its process id. Its start is kept in microseconds since the epoch, not as text, which
/// would follow each session's time zone.
#[derive(Clone, Debug)]
pub(super) struct Backend {
    pub(super) pid: i32,
    pub(super) started_us: i64,
}

/// Takes the batch's indexes from the counter and inserts its entries and decision rows,
/// in one statement: one round trip, and the counter's row lock held only while the
/// server runs it. `$1` entries (`$2`, written by `$3`, in the batch named `$10`); `$4`
/// is the offset in the batch of each decision row (`$5`..`$9`).
const APPEND: &str = "\
    WITH c AS (UPDATE cordon_counter SET next = next + $1 RETURNING next - $1 AS first), \
    e AS (INSERT INTO cordon_entries (idx, entry, writer, batch) \
        SELECT c.first + t.o - 1, t.e, $3, $10 FROM c, unnest($2::bytea[]) WITH ORDINALITY AS t(e, o)), \
    d AS (INSERT INTO cordon_decisions (idx, time, agency, principal, decision, dataset) \
        SELECT c.first + u.o, u.t::timestamptz, u.a, u.p, u.d, u.s FROM c, \
        unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) \
        AS u(o, t, a, p, d, s)) \
    SELECT first, pg_backend_pid() FROM c";

impl Prepared {
    pub(super) fn new(
        mut client: Session,
        deadline: std::time::Duration,
    ) -> Result<Prepared, LogError> {
        let ms = deadline.as_millis().max(1);
        // Appends commit without waiting for the disk (`synchronous_commit = off`), so the
        // counter's row lock is released before the fsync and the writers' flushes run
        // together; each batch is acknowledged only after `flush`. No statement here leaves a
        // transaction open across round trips, so the idle-in-transaction timeout only
        // matters if one ever does: the server would end a session frozen between taking
        // indexes and committing, and with it the counter's row lock, instead of every
        // writer waiting on it for ever (`frozen_tests` checks the setting does that).
        client
            .batch_execute(&format!(
                "SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
                 SET idle_in_transaction_session_timeout = {ms}; SET synchronous_commit = off"
            ))
            .map_err(db("set the commit timeouts"))?;
        let append = client.prepare(APPEND).map_err(db("prepare the append"))?;
        let me = client
            .query_one(
                "SELECT pid, (extract(epoch FROM backend_start) * 1000000)::bigint \
                 FROM pg_stat_activity WHERE pid = pg_backend_pid()",
                &[],
            )
            .map_err(db("name the sequencer's backend"))?;
        let backend = Backend {
            pid: me.get(0),
            started_us: me.get(1),
        };
        Ok(Prepared {
            client,
            append,
            backend,
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
    let outcome = match commit(shared, conn, &batch) {
        Ok(first) => Ok(first),
        Err(Failed::Unflushed { first, id, why }) => {
            // The connection may be broken; the next batch reconnects.
            *conn = None;
            tracing_free_warn(&why);
            settle(shared, first, &id, &batch)
        }
        Err(Failed::Before(e)) => {
            // Nothing was committed (the server refused the statement, or it was never
            // sent); the next batch reconnects.
            *conn = None;
            Err(e)
        }
        Err(Failed::AnswerLost {
            floor,
            backend,
            id,
            why,
        }) => {
            *conn = None;
            tracing_free_warn(&why);
            settle_lost_answer(shared, floor, &backend, &id, &batch)
        }
    };
    match outcome {
        Ok(first) => acknowledge(shared, receipt_key, batch, first),
        Err(e) => {
            shared.stats.wal_failures.fetch_add(1, Ordering::Relaxed);
            refuse(batch, &e.to_string());
        }
    }
}

/// How a commit failed: certainly before committing, with its append's answer lost (it
/// may have committed anywhere from `floor` on, on `backend`), or after its append
/// returned (its indexes known).
enum Failed {
    Before(LogError),
    AnswerLost {
        floor: u64,
        backend: Backend,
        id: BatchId,
        why: String,
    },
    Unflushed {
        first: u64,
        id: BatchId,
        why: String,
    },
}

/// A batch's random name, written beside each of its entries (`cordon_entries.batch`), so
/// that settling finds this batch and no other, whatever bytes other batches hold.
pub(super) type BatchId = [u8; 16];

fn new_batch_id() -> Result<BatchId, LogError> {
    let mut id = [0u8; 16];
    getrandom::getrandom(&mut id).map_err(|e| LogError::Database {
        what: "name a batch".into(),
        why: format!("the system's random source failed: {e}"),
    })?;
    Ok(id)
}

/// Whether an append that failed with `e` certainly did not commit: only an ERROR the
/// server itself reported aborts the statement's transaction. A lost connection, a FATAL
/// (an administrator ending the session, which can come after the commit), a reply that
/// could not be read, or an error without the untranslated severity (which a pooler
/// such as pgbouncer sends, also when the server connection broke) leave it unknown; so
/// do connection-exception and operator-intervention codes whatever their severity.
fn certainly_not_committed(e: &postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| {
        let code = d.code().code();
        d.parsed_severity() == Some(postgres::error::Severity::Error)
            && !code.starts_with("08")
            && !code.starts_with("57P")
    })
}

impl From<LogError> for Failed {
    fn from(e: LogError) -> Failed {
        Failed::Before(e)
    }
}

fn commit(shared: &Shared, conn: &mut Option<Prepared>, batch: &[Request]) -> Result<u64, Failed> {
    shared.config.faults.wait_while_stalled();
    if shared.config.faults.is_failing() {
        return Err(Failed::Before(LogError::Database {
            what: "commit".into(),
            why: "writes are switched off for a test".into(),
        }));
    }
    let p = match conn.take() {
        Some(p) => p,
        None => Prepared::new(shared.connect("sequencer")?, shared.config.commit_deadline)?,
    };
    let p = conn.insert(p);
    // Every batch acknowledged so far committed before this one is sent, so this one's
    // indexes, if it commits, come at or after this.
    let floor = shared.lock().durable;
    let id = new_batch_id()?;
    let n = batch.len() as i64;
    let entries: Vec<&[u8]> = batch.iter().map(|r| r.entry.as_slice()).collect();
    let rows = DecisionRows::of(batch);
    let appended = p
        .client
        .query_one(
            &p.append,
            &[
                &n,
                &entries,
                &shared.config.writer,
                &rows.offset,
                &rows.time,
                &rows.agency,
                &rows.principal,
                &rows.decision,
                &rows.dataset,
                &id.as_slice(),
            ],
        )
        .map_err(|e| {
            let lost = !certainly_not_committed(&e);
            let e = db("append entries")(e);
            if lost {
                Failed::AnswerLost {
                    floor,
                    backend: p.backend.clone(),
                    id,
                    why: format!("a batch's append got no answer ({e}); settling it"),
                }
            } else {
                Failed::Before(e)
            }
        })?;
    let first = to_u64(appended.get(0));
    let append_backend: i32 = appended.get(1);
    // Committed, but perhaps not yet on disk: nothing is acknowledged before this returns.
    let unflushed = |why: String| Failed::Unflushed {
        first,
        id,
        why: format!("a batch at {first} was committed but not flushed ({why}); settling it"),
    };
    shared.config.faults.wait_while_flushes_stalled();
    let flush_backend = flush(&mut p.client).map_err(|e| unflushed(e.to_string()))?;
    if flush_backend != append_backend {
        // Not the session that appended (a pooler in transaction mode): it may not even
        // be the same server.
        return Err(unflushed(format!(
            "the flush ran on backend {flush_backend}, the append on {append_backend}; \
             connect to PostgreSQL directly or through a pooler in session mode"
        )));
    }
    Ok(first)
}

/// The decision index rows of a batch, column by column, with each row's offset in it.
struct DecisionRows<'a> {
    offset: Vec<i64>,
    time: Vec<&'a str>,
    agency: Vec<Option<&'a str>>,
    principal: Vec<Option<&'a str>>,
    decision: Vec<&'a str>,
    dataset: Vec<Option<&'a str>>,
}

impl<'a> DecisionRows<'a> {
    fn of(batch: &'a [Request]) -> DecisionRows<'a> {
        let mut rows = DecisionRows {
            offset: Vec::new(),
            time: Vec::new(),
            agency: Vec::new(),
            principal: Vec::new(),
            decision: Vec::new(),
            dataset: Vec::new(),
        };
        for (i, row) in batch
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.row.as_ref().map(|row| (i, row)))
        {
            rows.offset.push(i as i64);
            rows.time.push(&row.time);
            rows.agency.push(row.agency.as_deref());
            rows.principal.push(row.principal.as_deref());
            rows.decision.push(&row.decision);
            rows.dataset.push(row.dataset.as_deref());
        }
        rows
    }
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
