//! Audit queries over the private decision index: which decisions, by whom, when.
use postgres::Client;

use crate::error::LogError;

use super::db;
use super::schema::{to_i64, to_u64};

/// Filters, each optional; times are RFC 3339 (`2026-01-01T00:00:00Z`), `until` exclusive.
#[derive(Clone, Debug, Default)]
pub struct DecisionQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub agency: Option<String>,
    pub principal: Option<String>,
    pub decision: Option<String>,
    pub dataset: Option<String>,
    /// Most rows returned, oldest first.
    pub limit: u64,
}

/// One indexed decision; `index` finds its entry (and inclusion proof) in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedDecision {
    pub index: u64,
    /// RFC 3339 UTC with milliseconds.
    pub time: String,
    pub agency: Option<String>,
    pub principal: Option<String>,
    pub decision: String,
    pub dataset: Option<String>,
}

const SELECT: &str = "
SELECT idx, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
       agency, principal, decision, dataset
FROM cordon_decisions
WHERE ($1::text IS NULL OR time >= $1::text::timestamptz)
  AND ($2::text IS NULL OR time < $2::text::timestamptz)
  AND ($3::text IS NULL OR agency = $3)
  AND ($4::text IS NULL OR principal = $4)
  AND ($5::text IS NULL OR decision = $5)
  AND ($6::text IS NULL OR dataset = $6)
ORDER BY time, idx
LIMIT $7";

/// The decisions matching every filter given.
pub fn decisions(client: &mut Client, q: &DecisionQuery) -> Result<Vec<IndexedDecision>, LogError> {
    let present: bool = client
        .query_one("SELECT to_regclass('cordon_decisions') IS NOT NULL", &[])
        .map_err(db("look for the decision index"))?
        .get(0);
    if !present {
        return Err(LogError::Database {
            what: "find the decision index".into(),
            why: "this database holds no Cordon log (no cordon_decisions table); use the database the gateways' [log] url names".into(),
        });
    }
    let rows = client
        .query(
            SELECT,
            &[
                &q.since,
                &q.until,
                &q.agency,
                &q.principal,
                &q.decision,
                &q.dataset,
                &to_i64(q.limit),
            ],
        )
        .map_err(db(
            "query the decision index (are --since and --until RFC 3339 times?)",
        ))?;
    Ok(rows
        .iter()
        .map(|r| IndexedDecision {
            index: to_u64(r.get(0)),
            time: r.get(1),
            agency: r.get(2),
            principal: r.get(3),
            decision: r.get(4),
            dataset: r.get(5),
        })
        .collect())
}
