//! The `[log]` section: where decisions are made durable.
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub dir: PathBuf,
    /// The signing key file (`PRIVATE+KEY+origin+...`).
    pub key: PathBuf,
    /// Shortest time between two checkpoints, in milliseconds (the log's default if
    /// unset). Longer means fewer tile and checkpoint writes under load; every decision
    /// is still durable before it is answered.
    #[serde(default)]
    pub checkpoint_interval_ms: Option<u64>,
    /// Longest a commit waits for more decisions to join its batch, in microseconds
    /// (default 0: never). The file log waits only while a batch is smaller than the
    /// one before it, so an idle gateway never waits; the PostgreSQL log waits the whole
    /// delay, so several gateways' decisions share one transaction. Trades latency for
    /// fewer fsyncs or commits; measure before setting it (BENCHMARKS.md).
    #[serde(default)]
    pub commit_delay_us: u64,
    /// `file` (the default): this gateway alone appends to `dir`. `postgres`: several
    /// gateways share one log in the database at `url`, and `dir` is their shared tile
    /// directory (see docs/deploy.md).
    #[serde(default)]
    pub backend: LogBackendKind,
    /// Longest wait for a decision to become durable, in milliseconds; past it the
    /// request is refused with 503 and Retry-After (default 2,000).
    #[serde(default = "default_durable_deadline")]
    pub durable_deadline_ms: u64,
    /// `postgresql://user@host/db` when `backend = "postgres"`.
    #[serde(default)]
    pub url: Option<String>,
}

fn default_durable_deadline() -> u64 {
    2_000
}

/// Where the log's sequencing state lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogBackendKind {
    #[default]
    File,
    Postgres,
}

/// A commit delay that eats most of the durable deadline turns every decision into a 503:
/// a decision that waits for its batch must still have time to be written.
pub(super) fn check(section: &LogSection) -> Result<(), String> {
    // A request still waiting for the log when the drain at shutdown ends is dropped with
    // its event loop, and its late allow could then stand without its "not served" entry.
    // A request may wait twice (for the register of authorities, then for its append).
    let drain_ms = crate::server::DRAIN_TIMEOUT.as_millis() as u64;
    if section.durable_deadline_ms.saturating_mul(2) >= drain_ms {
        return Err(format!(
            "log.durable_deadline_ms ({} ms) must be under half the {drain_ms} ms a shutdown \
             waits for requests in flight (a request can wait for the log twice): a decision \
             still waiting when that ends could be allowed after its client was dropped, with \
             nothing in the log to say so; use a few seconds at most",
            section.durable_deadline_ms
        ));
    }
    let deadline_us = section.durable_deadline_ms.saturating_mul(1000);
    if section.commit_delay_us > 0 && section.commit_delay_us.saturating_mul(2) > deadline_us {
        return Err(format!(
            "log.commit_delay_us ({} µs) must be under half of log.durable_deadline_ms ({} ms): \
             a decision that waits that long for its batch has no time left to be written \
             before its deadline and is refused; lower the delay (a few hundred µs at most \
             is typical) or remove it",
            section.commit_delay_us, section.durable_deadline_ms
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &str) -> LogSection {
        toml::from_str(&format!("dir = \"log\"\nkey = \"log.key\"\n{extra}")).unwrap()
    }

    #[test]
    fn the_durable_deadline_must_end_before_the_drain_at_shutdown_does() {
        assert!(check(&parse("durable_deadline_ms = 4999")).is_ok());
        let e = check(&parse("durable_deadline_ms = 5000")).unwrap_err();
        assert!(e.contains("must be under half the 10000 ms"), "{e}");
        assert!(!e.contains("  "), "{e}");
    }

    #[test]
    fn a_commit_delay_must_leave_most_of_the_durable_deadline() {
        assert!(check(&parse("")).is_ok());
        assert!(check(&parse("commit_delay_us = 500")).is_ok());
        assert!(check(&parse("commit_delay_us = 999999")).is_ok());
        for text in [
            "commit_delay_us = 1000001",
            "commit_delay_us = 9223372036854775807",
            "commit_delay_us = 600\ndurable_deadline_ms = 1",
        ] {
            let e = check(&parse(text)).unwrap_err();
            assert!(
                e.contains("under half of log.durable_deadline_ms"),
                "{text}: {e}"
            );
        }
    }
}
