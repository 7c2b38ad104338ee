//! How a bench run prints: one row per contender (median and worst round), the ratios that
//! matter, the memo's hit rate, the table's size and load time, and the verdict.

use super::{Report, Row, TARGET_P50_NS, TARGET_P99_NS};
use std::fmt;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rounds = self.rows.first().map_or(0, |r| r.rounds.len());
        writeln!(f, "stack {}", self.pack)?;
        match &self.table {
            Ok(t) => writeln!(
                f,
                "decision table: {} policies, {} leaves, {} cells filled by Cedar at load in {:.1} ms",
                t.policies,
                t.leaves,
                t.cells,
                t.took.as_secs_f64() * 1e3
            )?,
            Err(why) => writeln!(f, "no decision table: {why}")?,
        }
        writeln!(
            f,
            "decision latency (ns), {rounds} alternated rounds of {} calls, over a mix of typed requests",
            self.decisions
        )?;
        writeln!(
            f,
            "{:<52} {:>8} {:>8} {:>10} {:>10}",
            "", "p50", "p99", "worst p50", "worst p99"
        )?;
        for row in &self.rows {
            let worst = row.worst();
            writeln!(
                f,
                "{:<52} {:>8} {:>8} {:>10} {:>10}",
                row.name,
                row.p50(),
                row.p99(),
                worst.p50,
                worst.p99
            )?;
        }
        self.ratios(f)?;
        let rate = self.memo_hits as f64 / self.memo_lookups.max(1) as f64;
        writeln!(
            f,
            "memo hit rate on a stream of {} fresh requests from the mix: {:.2}% ({} misses)",
            self.memo_lookups,
            rate * 100.0,
            self.memo_lookups - self.memo_hits
        )?;
        if let Some(first) = self.rows.first() {
            writeln!(
                f,
                "target p50 <= {} ns, p99 <= {} ns in every round, {}: {}",
                TARGET_P50_NS,
                TARGET_P99_NS,
                first.name,
                if first.meets_targets() {
                    "met"
                } else {
                    "MISSED"
                }
            )?;
        }
        writeln!(
            f,
            "screening: {:.0} reasons/s on one core ({} distinct reasons cycled)",
            self.reasons_per_second, self.reason_mix
        )
    }
}

impl Report {
    fn row(&self, prefix: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name.starts_with(prefix))
    }

    fn ratios(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(first) = self.rows.first() else {
            return Ok(());
        };
        for prefix in [
            "Stack::decide_uncached",
            "Stack::decide_memoized",
            "raw Cedar is_authorized, action slice",
        ] {
            if let Some(other) = self.row(prefix) {
                writeln!(
                    f,
                    "{} / {}: p50 {:.2}x  p99 {:.2}x",
                    other.name,
                    first.name,
                    other.p50() as f64 / first.p50().max(1) as f64,
                    other.p99() as f64 / first.p99().max(1) as f64
                )?;
            }
        }
        Ok(())
    }
}
