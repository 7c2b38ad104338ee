//! The tables that hold a shared log in PostgreSQL, and creating them once.
use postgres::Client;

use crate::checkpoint::SignedCheckpoint;
use crate::error::LogError;

use super::db;

/// Taken while the tables and the first checkpoint are created, so that gateways starting
/// together create them once.
const INIT_LOCK: i64 = 0x636f_7264_6f6e_0001;
/// Held, for the life of its session, by the one integrator that writes tiles.
pub(crate) const INTEGRATOR_LOCK: i64 = 0x636f_7264_6f6e_0002;

/// `cordon_counter.next` is the next index; appenders serialize on its row lock, so indexes
/// are assigned in commit order without gaps. The checkpoint lives in its own table so
/// the integrator never waits on that lock. `cordon_decisions` is the private audit index.
/// (A `cordon_flush` table made by an earlier release is no longer used; `flush.rs` writes
/// a logical-decoding message instead.)
const DDL: &str = "
CREATE TABLE IF NOT EXISTS cordon_counter (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    next bigint NOT NULL CHECK (next >= 0)
);
CREATE TABLE IF NOT EXISTS cordon_checkpoint (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    origin text NOT NULL,
    size bigint NOT NULL CHECK (size >= 0),
    signed bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS cordon_entries (
    idx bigint PRIMARY KEY,
    entry bytea NOT NULL,
    writer text NOT NULL
);
-- Each batch's random id, on every entry it wrote: a batch whose append got no answer is
-- looked for by it, so no other batch with the same bytes can be taken for it. Added only
-- when missing: ALTER TABLE takes an exclusive lock even when there is nothing to add,
-- and every replica's appends would wait behind it at each start.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = 'cordon_entries'::regclass AND attname = 'batch'
                   AND NOT attisdropped) THEN
        ALTER TABLE cordon_entries ADD COLUMN batch bytea;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS cordon_decisions (
    idx bigint PRIMARY KEY,
    time timestamptz NOT NULL,
    agency text,
    principal text,
    decision text NOT NULL,
    dataset text
);
-- Created only when missing, for the same reason: CREATE INDEX takes a lock on the
-- table that blocks appends before it looks whether the index exists.
DO $$ BEGIN
    IF to_regclass('cordon_decisions_time') IS NULL THEN
        CREATE INDEX cordon_decisions_time ON cordon_decisions (time);
    END IF;
    IF to_regclass('cordon_decisions_agency') IS NULL THEN
        CREATE INDEX cordon_decisions_agency ON cordon_decisions (agency, time);
    END IF;
    IF to_regclass('cordon_decisions_decision') IS NULL THEN
        CREATE INDEX cordon_decisions_decision ON cordon_decisions (decision, time);
    END IF;
END $$;
";

/// Creates the tables if missing and, for a new log, records `first` (the signed empty
/// checkpoint). Returns the recorded checkpoint's origin, which must be the signer's.
pub(crate) fn init(client: &mut Client, first: &SignedCheckpoint) -> Result<String, LogError> {
    // A log already made needs nothing created, and gateways may run as a role that can
    // read and write these tables but not create in the schema (least privilege; the
    // default since PostgreSQL 15), so look before taking any step that needs more.
    if let Some(origin) = existing_origin(client)? {
        return Ok(origin);
    }
    let mut tx = client.transaction().map_err(db("begin"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INIT_LOCK])
        .map_err(db("take the schema lock"))?;
    tx.batch_execute(DDL)
        .map_err(db("create the log's tables"))?;
    tx.execute(
        "INSERT INTO cordon_counter (next) VALUES (0) ON CONFLICT DO NOTHING",
        &[],
    )
    .map_err(db("create the counter"))?;
    tx.execute(
        "INSERT INTO cordon_checkpoint (origin, size, signed) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
        &[&first.checkpoint.origin, &first.to_bytes()],
    )
    .map_err(db("record the first checkpoint"))?;
    let origin: String = tx
        .query_one("SELECT origin FROM cordon_checkpoint", &[])
        .map_err(db("read the origin"))?
        .get(0);
    tx.commit().map_err(db("commit the schema"))?;
    Ok(origin)
}

/// The recorded origin, when every table, column, index and row that `init` makes is
/// already there; `None` when anything is missing and `init` must create it.
fn existing_origin(client: &mut Client) -> Result<Option<String>, LogError> {
    let complete: bool = client
        .query_one(
            "SELECT to_regclass('cordon_counter') IS NOT NULL
                AND to_regclass('cordon_checkpoint') IS NOT NULL
                AND to_regclass('cordon_entries') IS NOT NULL
                AND to_regclass('cordon_decisions') IS NOT NULL
                AND to_regclass('cordon_decisions_time') IS NOT NULL
                AND to_regclass('cordon_decisions_agency') IS NOT NULL
                AND to_regclass('cordon_decisions_decision') IS NOT NULL
                AND EXISTS (SELECT 1 FROM pg_attribute
                            WHERE attrelid = to_regclass('cordon_entries')
                            AND attname = 'batch' AND NOT attisdropped)",
            &[],
        )
        .map_err(db("look for the log's tables"))?
        .get(0);
    if !complete {
        return Ok(None);
    }
    let counter = client
        .query_opt("SELECT 1 FROM cordon_counter", &[])
        .map_err(db("read the counter"))?;
    let origin = client
        .query_opt("SELECT origin FROM cordon_checkpoint", &[])
        .map_err(db("read the origin"))?;
    Ok(match (counter, origin) {
        (Some(_), Some(row)) => Some(row.get(0)),
        _ => None,
    })
}

/// The recorded checkpoint: the newest one signed, whichever gateway signed it.
pub(crate) fn recorded_checkpoint(client: &mut Client) -> Result<(u64, Vec<u8>), LogError> {
    let row = client
        .query_one("SELECT size, signed FROM cordon_checkpoint", &[])
        .map_err(db("read the checkpoint"))?;
    Ok((to_u64(row.get(0)), row.get(1)))
}

/// The next index to be assigned: everything below it is committed.
pub(crate) fn next_index(client: &mut Client) -> Result<u64, LogError> {
    let next: i64 = client
        .query_one("SELECT next FROM cordon_counter", &[])
        .map_err(db("read the counter"))?
        .get(0);
    Ok(to_u64(next))
}

/// Indexes and sizes are `bigint` in SQL and never negative (the tables check it).
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
