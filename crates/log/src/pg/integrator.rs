//! The integrator: whichever process holds the advisory lock folds committed entries into
//! tiles in the shared directory, signs the checkpoint and records it; the others follow
//! the recorded checkpoint.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use postgres::Client;

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::error::LogError;
use crate::fs::AtomicWriter;
use crate::keys::Signer;
use crate::log::check_consistent;
use crate::storage::RealDisk;
use crate::tree::TreeEdge;

use super::flush::flush;
use super::schema::{self, to_i64, to_u64, INTEGRATOR_LOCK};
use super::{db, Session, Shared};

/// Most entries folded into one checkpoint.
const MAX_BATCH: i64 = 16_384;

/// The lock holder's session and its view of the tree.
struct Holder {
    client: Session,
    edge: TreeEdge,
    checkpoint: SignedCheckpoint,
}

pub(super) fn run(shared: Arc<Shared>) {
    let interval = shared.config.checkpoint_interval;
    let mut holder: Option<Holder> = None;
    let mut follower: Option<Session> = None;
    let mut backoff = Duration::from_millis(50);
    loop {
        let closing = pause(&shared, interval);
        let result = match holder.as_mut() {
            Some(h) => integrate_all(&shared, h, closing).map(|_| ()),
            // The last gateway to stop may take the lock only as it closes: it must then
            // integrate what the others committed, or nobody would until the next start.
            None => follow(&shared, &mut follower, &mut holder).and_then(|()| match &mut holder {
                Some(h) if closing => integrate_all(&shared, h, true).map(|_| ()),
                _ => Ok(()),
            }),
        };
        match result {
            Ok(()) => {
                backoff = Duration::from_millis(50);
                shared.lock().integration_error = None;
            }
            Err(e) => {
                // Dropping the session releases the lock: another process may take over
                // while this one backs off.
                holder = None;
                follower = None;
                shared
                    .stats
                    .integration_failures
                    .fetch_add(1, Ordering::Relaxed);
                let mut st = shared.lock();
                st.integrating = false;
                st.integration_error = Some(e.to_string());
                drop(st);
                shared.changed.notify_all();
                if closing {
                    return;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        if closing {
            return;
        }
    }
}

/// Waits one interval, or less when the log is closing; says whether it is.
fn pause(shared: &Shared, interval: Duration) -> bool {
    let st = shared.lock();
    if st.closing {
        return true;
    }
    let (st, _) = shared
        .changed
        .wait_timeout_while(st, interval, |s| !s.closing)
        .unwrap_or_else(|p| p.into_inner());
    st.closing
}

/// Not the integrator: try to become it; otherwise pick up the recorded checkpoint.
fn follow(
    shared: &Shared,
    follower: &mut Option<Session>,
    holder: &mut Option<Holder>,
) -> Result<(), LogError> {
    let mut client = match follower.take() {
        Some(c) => c,
        None => {
            let mut c = shared.connect("integrator")?;
            // Whatever the server's default: this session's commits wait for the disk.
            c.batch_execute("SET synchronous_commit = on")
                .map_err(db("set synchronous commits"))?;
            c
        }
    };
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&INTEGRATOR_LOCK])
        .map_err(db("try the integrator lock"))?
        .get(0);
    if got {
        let h = take_over(shared, client)?;
        publish(shared, &h.checkpoint, true);
        *holder = Some(h);
        return Ok(());
    }
    let cp = read_recorded(&mut client, &shared.signer)?;
    let durable = schema::next_index(&mut client)?;
    // The counter counts commits the disk may not hold yet (see `flush`); an idle log's
    // followers have nothing new to flush.
    if durable > shared.lock().durable {
        flush(&mut client)?;
    }
    *follower = Some(client);
    {
        let mut st = shared.lock();
        st.durable = st.durable.max(durable);
    }
    publish(shared, &cp, false);
    Ok(())
}

/// The checkpoint recorded in the database, checked against this log's key.
pub(crate) fn read_recorded(
    client: &mut Client,
    signer: &Signer,
) -> Result<SignedCheckpoint, LogError> {
    let (_, bytes) = schema::recorded_checkpoint(client)?;
    SignedCheckpoint::open(&bytes, &[&signer.verifier()], None).map_err(|source| {
        LogError::Checkpoint {
            path: "cordon_checkpoint".into(),
            source,
        }
    })
}

/// Resumes from the recorded checkpoint. Tiles a dead integrator wrote beyond it are
/// rewritten (they are deterministic); if the directory does not hash to the recorded
/// root, or lacks tiles, every tile is rebuilt from the entries in the database.
fn take_over(shared: &Shared, mut client: Session) -> Result<Holder, LogError> {
    let checkpoint = read_recorded(&mut client, &shared.signer)?;
    let size = checkpoint.checkpoint.size;
    let edge = match TreeEdge::load(&shared.dir, size) {
        Ok(e) if e.root() == checkpoint.checkpoint.root => e,
        _ => rebuild(shared, &mut client, &checkpoint.checkpoint)?,
    };
    write_checkpoint_file(shared, &checkpoint)?;
    Ok(Holder {
        client,
        edge,
        checkpoint,
    })
}

fn rebuild(shared: &Shared, client: &mut Client, cp: &Checkpoint) -> Result<TreeEdge, LogError> {
    tracing_free_warn(&format!(
        "rebuilding the tiles in {} from the database (size {})",
        shared.dir.display(),
        cp.size
    ));
    let mut edge = TreeEdge::default();
    while edge.size() < cp.size {
        let want = (cp.size - edge.size()).min(MAX_BATCH as u64);
        let entries = read_entries(client, edge.size(), want)?;
        write_tiles(shared, &mut edge, &entries)?;
    }
    if edge.root() != cp.root {
        return Err(LogError::Corrupt {
            path: shared.dir.clone(),
            why: format!(
                "the entries in the database do not hash to the recorded checkpoint's root (size {})",
                cp.size
            ),
        });
    }
    Ok(edge)
}

/// The log crate has no logging dependency; the gateway reports integration state
/// through metrics, so a rebuild is only noted on standard error.
pub(super) fn tracing_free_warn(msg: &str) {
    eprintln!("cordon-log: {msg}");
}

/// Integrates until nothing committed is left (when closing) or one round is done.
fn integrate_all(shared: &Shared, h: &mut Holder, closing: bool) -> Result<u64, LogError> {
    let mut total = 0;
    loop {
        let n = integrate_round(shared, h)?;
        total += n;
        if n == 0 || !closing {
            return Ok(total);
        }
    }
}

fn integrate_round(shared: &Shared, h: &mut Holder) -> Result<u64, LogError> {
    let from = h.edge.size();
    let entries = read_entries(&mut h.client, from, MAX_BATCH as u64)?;
    if entries.is_empty() {
        return Ok(0);
    }
    // Writers commit without waiting for the disk and flush before they acknowledge, so
    // what was just read may not be on disk yet. Once this synchronous commit returns it
    // is: no tile, and no checkpoint, is made of entries a crash could still take back
    // (a full tile, once written, is served as immutable).
    flush(&mut h.client)?;
    let before = h.edge.clone();
    let full = match write_tiles(shared, &mut h.edge, &entries) {
        Ok(f) => f,
        Err(e) => {
            h.edge = before;
            return Err(e);
        }
    };
    let new = Checkpoint {
        origin: h.checkpoint.checkpoint.origin.clone(),
        size: h.edge.size(),
        root: h.edge.root(),
        extensions: vec![],
    };
    if let Err(e) = check_consistent(&RealDisk, &shared.dir, &h.checkpoint.checkpoint, &new) {
        h.edge = before;
        return Err(e);
    }
    let signed = new.sign(&shared.signer);
    record(&mut h.client, &h.checkpoint, &signed)?;
    write_checkpoint_file(shared, &signed)?;
    for id in full {
        // The full tile replaces its partials, removed only now that a recorded checkpoint
        // no longer needs them to resume from.
        let _ = std::fs::remove_dir_all(shared.dir.join(id.partial_dir()));
    }
    h.checkpoint = signed;
    shared.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
    publish(shared, &h.checkpoint, true);
    Ok(entries.len() as u64)
}

/// Committed entries from `from`, at most `max`, stopping at any gap (there should be
/// none: indexes are taken under the counter's row lock and committed in that order).
fn read_entries(client: &mut Client, from: u64, max: u64) -> Result<Vec<Vec<u8>>, LogError> {
    let rows = client
        .query(
            "SELECT idx, entry FROM cordon_entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
            &[&to_i64(from), &to_i64(max)],
        )
        .map_err(db("read entries to integrate"))?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if to_u64(row.get(0)) != from + i as u64 {
            break;
        }
        out.push(row.get(1));
    }
    Ok(out)
}

/// Extends the tree and durably writes its new tiles and bundles; returns the full tiles.
fn write_tiles(
    shared: &Shared,
    edge: &mut TreeEdge,
    entries: &[Vec<u8>],
) -> Result<Vec<crate::tile::TileId>, LogError> {
    let writes = edge.extend(entries.iter().map(Vec::as_slice));
    let mut w = AtomicWriter::new(&shared.dir);
    let mut full = Vec::new();
    for t in &writes {
        w.write(&t.id.path(), &t.data)?;
        if t.id.is_full() {
            full.push(t.id);
        }
    }
    w.finish()?;
    Ok(full)
}

/// Records `new` only if the recorded checkpoint is still `old`: an integrator whose lock
/// was lost and taken over can never move the recorded checkpoint.
fn record(
    client: &mut Client,
    old: &SignedCheckpoint,
    new: &SignedCheckpoint,
) -> Result<(), LogError> {
    let n = client
        .execute(
            "UPDATE cordon_checkpoint SET size = $1, signed = $2 WHERE size = $3",
            &[
                &to_i64(new.checkpoint.size),
                &new.to_bytes(),
                &to_i64(old.checkpoint.size),
            ],
        )
        .map_err(db("record the checkpoint"))?;
    if n != 1 {
        return Err(LogError::Database {
            what: "record the checkpoint".into(),
            why: format!(
                "the recorded checkpoint is no longer size {}; another integrator took over",
                old.checkpoint.size
            ),
        });
    }
    Ok(())
}

/// The served checkpoint: replaced only by a larger one, so a late write from an
/// integrator that lost its lock cannot roll it back.
fn write_checkpoint_file(shared: &Shared, cp: &SignedCheckpoint) -> Result<(), LogError> {
    let path = shared.dir.join("checkpoint");
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(on_disk) = SignedCheckpoint::open(&bytes, &[&shared.signer.verifier()], None) {
            if on_disk.checkpoint.size >= cp.checkpoint.size {
                return Ok(());
            }
        }
    }
    let mut w = AtomicWriter::new(&shared.dir);
    w.write("checkpoint", &cp.to_bytes())?;
    w.finish()
}

fn publish(shared: &Shared, cp: &SignedCheckpoint, integrating: bool) {
    {
        let mut st = shared.lock();
        st.integrating = integrating;
        if cp.checkpoint.size >= st.checkpoint.checkpoint.size {
            st.checkpoint = cp.clone();
        }
    }
    shared.changed.notify_all();
}

/// The `application_name` of the session holding the integrator lock, if any: tells an
/// operator (and the tests) which writer integrates. Advisory locks belong to one
/// database, so a server holding several logs has one holder per database; this asks
/// about the database the client is connected to.
pub fn integrator_holder(client: &mut Client) -> Result<Option<String>, LogError> {
    let (hi, lo) = (INTEGRATOR_LOCK >> 32, INTEGRATOR_LOCK & 0xffff_ffff);
    let row = client
        .query_opt(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[&hi, &lo],
        )
        .map_err(db("find the integrator"))?;
    Ok(row.map(|r| r.get(0)))
}
