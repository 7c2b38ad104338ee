//! Waiting for the disk: appends commit without it (so the counter's row lock is not held
//! through an fsync), and nothing they hold is acknowledged, integrated or reported as
//! durable until a flush has returned.
use std::time::{Duration, Instant};

use postgres::SimpleQueryMessage;

use crate::error::LogError;

use super::sequencer::{Backend, BatchId};
use super::{db, Request, Session, Shared};

/// A transaction that writes to the write-ahead log, committed synchronously, returns
/// once the log is on disk up to its commit record, which comes after every commit this
/// server made before it (on a synchronous standby too, when one is configured). It must
/// write: the synchronous commit of a transaction that wrote nothing (`SELECT
/// txid_current()`, say) does not wait, as the power-cut test showed. What it writes is
/// a transactional logical-decoding message (no table, no lock, nothing left to vacuum;
/// readers of a logical replication slot that asked for messages see its prefix).
///
/// `set_config(…, true)` makes this one statement's implicit transaction commit
/// synchronously whatever the session's setting: the setting is read at commit, before
/// a local one is undone. `client_min_messages` is raised the same way so that a role or
/// database set to `error` cannot hide the warning a cancelled standby wait sends. The
/// backend's process id is returned, so that the caller can check the flush ran where
/// its append did.
const FLUSH: &str = "SELECT set_config('synchronous_commit', 'on', true), \
    set_config('client_min_messages', 'warning', true), \
    pg_logical_emit_message(true, 'cordon-flush', ''), pg_backend_pid()";

/// Returns once every commit this server made before the call is on disk, with the
/// process id of the server backend that flushed. A simple query, not a prepared one:
/// that protocol commits before it reports the statement complete, and the call returns
/// only at the server's ready-for-query, after any warning the commit sent; the extended
/// protocol reports the statement complete first and commits at the next sync.
pub(super) fn flush(session: &mut Session) -> Result<i32, LogError> {
    let before = session.warnings().count;
    let messages = session
        .simple_query(FLUSH)
        .map_err(db("flush commits to disk"))?;
    let after = session.warnings();
    if after.count != before {
        return Err(LogError::Database {
            what: "flush commits to disk".into(),
            why: format!(
                "the server committed with a warning, so a synchronous standby may not hold \
                 the batch: {}",
                after.last
            ),
        });
    }
    let backend = messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(3).and_then(|pid| pid.parse().ok()),
        _ => None,
    });
    backend.ok_or_else(|| LogError::Database {
        what: "flush commits to disk".into(),
        why: "the flush returned no row".into(),
    })
}

/// How long a batch whose flush failed is retried before it is given up as unknown.
const SETTLE_FOR: Duration = Duration::from_secs(30);

/// A batch whose append returned (indexes from `first`) but whose flush failed: whether
/// it is on disk is unknown, and refusing it would leave entries in the log whose
/// requests were told no. On a new session, read the batch's indexes back, then flush:
/// if they hold the batch's entries, written by this writer in this batch (its random
/// id), they are durable now and the batch is acknowledged (late: its callers may have
/// given up, and record that it was not served); if not, the commit was lost (a crash took it back) and the batch is
/// refused. A server that cannot be reached is tried again for [`SETTLE_FOR`].
pub(super) fn settle(
    shared: &Shared,
    first: u64,
    id: &BatchId,
    batch: &[Request],
) -> Result<u64, LogError> {
    retrying(|| {
        let mut client = shared.connect("sequencer settle")?;
        if read_back(shared, &mut client, first, id, batch)? {
            return Ok(first);
        }
        Err(Settled::Lost(LogError::Database {
            what: "settle a batch whose flush failed".into(),
            why: format!(
                "indexes {first}..{} do not hold the batch: its commit was lost",
                first + batch.len() as u64
            ),
        }))
    })
}

/// A batch whose append's answer never came (the connection broke, the session was
/// ended): it may have committed, at indexes from `floor` on, or not. Refusing it
/// unseen would leave entries in the log whose requests were told no, with nothing to
/// say they were not served. On a new session, end the append's own session first (an
/// append still running there could commit after the search), then look from `floor` on
/// for the entries written under the batch's random id (never another batch's, whatever
/// bytes it holds) and check they are its entries, in order: found, they are
/// flushed and acknowledged (late, as [`settle`]); not found, the batch certainly never
/// committed and is refused. A server that cannot be reached, or a session that will
/// not end, is tried again for [`SETTLE_FOR`], then the batch is refused as unknown.
pub(super) fn settle_lost_answer(
    shared: &Shared,
    floor: u64,
    backend: &Backend,
    id: &BatchId,
    batch: &[Request],
) -> Result<u64, LogError> {
    retrying(|| {
        let mut client = shared.connect("sequencer settle")?;
        end_backend(&mut client, backend)?;
        if let Some(first) = first_of(&mut client, floor, id)? {
            if read_back(shared, &mut client, first, id, batch)? {
                return Ok(first);
            }
        }
        Err(Settled::Lost(LogError::Database {
            what: "settle a batch whose append got no answer".into(),
            why: format!(
                "the batch is not in the log from index {floor} on, and the session that \
                 sent it has ended: it never committed"
            ),
        }))
    })
}

/// How a settling attempt ended without an index.
enum Settled {
    /// Certain: the batch is not in the log.
    Lost(LogError),
    /// Not known yet (the server could not be asked): try again.
    Unknown(LogError),
}

impl From<LogError> for Settled {
    fn from(e: LogError) -> Settled {
        Settled::Unknown(e)
    }
}

/// Runs `attempt` until it gives an answer, for at most [`SETTLE_FOR`].
fn retrying(mut attempt: impl FnMut() -> Result<u64, Settled>) -> Result<u64, LogError> {
    let deadline = Instant::now() + SETTLE_FOR;
    let mut pause = Duration::from_millis(100);
    loop {
        match attempt() {
            Ok(first) => return Ok(first),
            Err(Settled::Lost(e)) => return Err(e),
            Err(Settled::Unknown(e)) if Instant::now() + pause > deadline => return Err(e),
            Err(Settled::Unknown(_)) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// How long an ended session may take to go: it ends at its next check for interrupts,
/// which a running statement reaches within moments.
const END_WITHIN: Duration = Duration::from_secs(5);

/// Ends `backend` (if it is still there) and waits until it has gone, so that nothing it
/// was running can still commit. The same role may end its own sessions.
fn end_backend(client: &mut Session, backend: &Backend) -> Result<(), LogError> {
    let deadline = Instant::now() + END_WITHIN;
    loop {
        let alive = client
            .query_opt(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE pid = $1 AND pid <> pg_backend_pid() \
                 AND (extract(epoch FROM backend_start) * 1000000)::bigint = $2",
                &[&backend.pid, &backend.started_us],
            )
            .map_err(db("end the session whose append got no answer"))?;
        if alive.is_none() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(LogError::Database {
                what: "end the session whose append got no answer".into(),
                why: format!(
                    "backend {} is still running {END_WITHIN:?} after it was told to end",
                    backend.pid
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The first index, from `floor` on, of an entry the batch named `id` wrote.
fn first_of(client: &mut Session, floor: u64, id: &BatchId) -> Result<Option<u64>, LogError> {
    let row = client
        .query_one(
            "SELECT min(idx) FROM cordon_entries WHERE idx >= $1 AND batch = $2",
            &[&super::schema::to_i64(floor), &id.as_slice()],
        )
        .map_err(db("look for a batch whose append got no answer"))?;
    Ok(row.get::<_, Option<i64>>(0).map(super::schema::to_u64))
}

/// Whether the batch's indexes hold its entries, written by this writer, on disk.
fn read_back(
    shared: &Shared,
    client: &mut Session,
    first: u64,
    id: &BatchId,
    batch: &[Request],
) -> Result<bool, LogError> {
    let from = super::schema::to_i64(first);
    let to = from + batch.len() as i64;
    let rows = client
        .query(
            "SELECT entry, writer, batch FROM cordon_entries WHERE idx >= $1 AND idx < $2 \
             ORDER BY idx",
            &[&from, &to],
        )
        .map_err(db("read back a batch whose flush failed"))?;
    // What was read is on disk once this returns (read first, then flush).
    flush(client)?;
    Ok(rows.len() == batch.len()
        && rows.iter().zip(batch).all(|(row, r)| {
            row.get::<_, &[u8]>(0) == r.entry.as_slice()
                && row.get::<_, &str>(1) == shared.config.writer
                && row.get::<_, Option<&[u8]>>(2) == Some(id.as_slice())
        }))
}
