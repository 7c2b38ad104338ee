//! Waiting for the disk: appends commit without it (so the counter's row lock is not held
//! through an fsync), and nothing they hold is acknowledged, integrated or reported as
//! durable until a flush on the same session has returned.
use postgres::{Client, SimpleQueryMessage};

use crate::error::LogError;

use super::{db, Request, Shared};

/// A transaction that writes to the write-ahead log, committed synchronously, returns
/// once the log is on disk up to its commit record, which comes after every commit this
/// server made before it (on a synchronous standby too, when one is configured). It must
/// write: the synchronous commit of a transaction that wrote nothing (`SELECT
/// txid_current()`, say) does not wait, as the power-cut test showed. Each session bumps
/// its own row (by its backend's process id), so flushes never wait on each other's
/// locks; `SET LOCAL` holds for this transaction alone, whatever the session's setting,
/// and the setting in force is returned so that a flush that did not wait is refused.
const FLUSH: &str = "BEGIN; SET LOCAL synchronous_commit = on; \
    INSERT INTO cordon_flush (session, n) VALUES (pg_backend_pid()::text, 1) \
    ON CONFLICT (session) DO UPDATE SET n = cordon_flush.n + 1 \
    RETURNING current_setting('synchronous_commit'); COMMIT";

/// Returns once every commit this server made before the call is on disk.
pub(super) fn flush(client: &mut Client) -> Result<(), LogError> {
    let messages = client
        .simple_query(FLUSH)
        .map_err(db("flush commits to disk"))?;
    let setting = messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    });
    match setting.as_deref() {
        Some(s) if s != "off" => Ok(()),
        other => Err(LogError::Database {
            what: "flush commits to disk".into(),
            why: format!(
                "the flush ran with synchronous_commit = {} and did not wait for the disk \
                 (is a connection pooler in transaction mode between Cordon and PostgreSQL? \
                 connect directly or in session mode)",
                other.unwrap_or("(unknown)")
            ),
        }),
    }
}

/// A batch whose append returned (indexes from `first`) but whose flush failed: whether
/// it is on disk is unknown, and refusing it would leave entries in the log whose
/// requests were told no. On a new session, flush and read the batch's indexes back: if
/// they hold the batch's entries, they are durable now and the batch is acknowledged;
/// if not, the commit was lost (a crash took it back) and the batch is refused.
pub(super) fn settle(shared: &Shared, first: u64, batch: &[Request]) -> Result<u64, LogError> {
    let mut client = shared.connect("sequencer settle")?;
    flush(&mut client)?;
    let from = super::schema::to_i64(first);
    let to = from + batch.len() as i64;
    let rows = client
        .query(
            "SELECT entry FROM cordon_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            &[&from, &to],
        )
        .map_err(db("read back a batch whose flush failed"))?;
    let held = rows.len() == batch.len()
        && rows
            .iter()
            .zip(batch)
            .all(|(row, r)| row.get::<_, &[u8]>(0) == r.entry.as_slice());
    if held {
        Ok(first)
    } else {
        Err(LogError::Database {
            what: "settle a batch whose flush failed".into(),
            why: format!(
                "indexes {first}..{} do not hold the batch: its commit was lost",
                first + batch.len() as u64
            ),
        })
    }
}
