//! This process's sequencer: batch the queued appends into one transaction that takes
//! their indexes from the shared counter, and acknowledge them only once it commits.
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use postgres::{Client, Statement};

use crate::error::{AppendError, LogError};
use crate::keys::Signer;
use crate::receipt::mint_batch;

use super::schema::to_u64;
use super::{db, Request, Shared};

/// The three statements of an append, prepared once per connection.
struct Prepared {
    client: Client,
    take: Statement,
    entries: Statement,
    decisions: Statement,
}

impl Prepared {
    fn new(mut client: Client) -> Result<Prepared, LogError> {
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
    // Connects on the first batch, and again after any failure.
    let mut conn: Option<Prepared> = None;
    let max = shared.config.max_batch.max(1);
    let receipt_key = shared.signer.receipt_signer();
    while let Ok(head) = rx.recv() {
        let mut batch = vec![head];
        while batch.len() < max {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        match commit(&shared, &mut conn, &batch) {
            Ok(first_index) => acknowledge(&shared, &receipt_key, batch, first_index),
            Err(e) => {
                // The connection may be broken; the next batch reconnects. Whether a
                // failed COMMIT landed is unknown, which is why nothing is acknowledged.
                conn = None;
                shared.stats.wal_failures.fetch_add(1, Ordering::Relaxed);
                let why = e.to_string();
                for r in batch {
                    let _ = r.reply.send(Err(AppendError::Storage(why.clone())));
                }
            }
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
        None => Prepared::new(shared.connect("sequencer")?)?,
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
    let entries: Vec<&[u8]> = batch.iter().map(|r| r.entry.as_slice()).collect();
    let receipts = mint_batch(receipt_key, shared.signer.name(), first, &entries);
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
