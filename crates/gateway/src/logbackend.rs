//! The gateway's log: the file log it owns alone, or its share of a log in PostgreSQL
//! that several gateways append to. Either way an append yields a `Receipt` only once
//! it is durable, so `Gateway::forward` keeps its guarantee.
use std::path::Path;
use std::time::Duration;

use cordon_log::log::Stats;
use cordon_log::pg::{IndexRow, PgConfig, PgLog};
use cordon_log::{
    AppendError, FaultSwitch, Log, LogConfig, LogError, PendingAppend, SignedCheckpoint, Signer,
};

use crate::config::{LogBackendKind, LogSection};
use crate::GatewayError;

/// The open log, whichever backend the configuration chose.
pub enum GatewayLog {
    File(Log),
    Postgres(PgLog),
}

impl GatewayLog {
    /// Opens the configured backend; `writer` names this gateway in a shared log.
    pub fn open(
        section: &LogSection,
        signer: Signer,
        faults: FaultSwitch,
        writer: &str,
    ) -> Result<GatewayLog, GatewayError> {
        let interval = section.checkpoint_interval_ms.map(Duration::from_millis);
        let delay = Duration::from_micros(section.commit_delay_us);
        match (section.backend, &section.url) {
            (LogBackendKind::Postgres, Some(url)) => {
                let defaults = PgConfig::default();
                let config = PgConfig {
                    writer: writer.to_string(),
                    checkpoint_interval: interval.unwrap_or(defaults.checkpoint_interval),
                    // The gateway answers 503 at its deadline; the connection that
                    // missed it is replaced so the next request has a live one.
                    commit_deadline: Duration::from_millis(section.durable_deadline_ms.max(1)),
                    commit_delay: delay,
                    faults,
                    ..defaults
                };
                Ok(GatewayLog::Postgres(PgLog::open(
                    url,
                    &section.dir,
                    signer,
                    config,
                )?))
            }
            _ => open_file(&section.dir, signer, faults, interval, delay),
        }
    }

    /// Hands a decision's entry to the log without ever blocking (a full queue is an
    /// immediate error, which the gateway answers with 503); in PostgreSQL it is also
    /// filed in the decision index in the same transaction.
    pub fn submit(&self, entry: Vec<u8>) -> Result<PendingAppend, AppendError> {
        match self {
            GatewayLog::File(l) => l.try_submit(entry),
            GatewayLog::Postgres(l) => {
                let row = index_row(&entry);
                l.try_submit(entry, row)
            }
        }
    }

    pub fn checkpoint(&self) -> SignedCheckpoint {
        match self {
            GatewayLog::File(l) => l.checkpoint(),
            GatewayLog::Postgres(l) => l.checkpoint(),
        }
    }

    pub fn durable_size(&self) -> u64 {
        match self {
            GatewayLog::File(l) => l.durable_size(),
            GatewayLog::Postgres(l) => l.durable_size(),
        }
    }

    pub fn stats(&self) -> &Stats {
        match self {
            GatewayLog::File(l) => l.stats(),
            GatewayLog::Postgres(l) => l.stats(),
        }
    }

    pub fn origin(&self) -> String {
        match self {
            GatewayLog::File(l) => l.origin(),
            GatewayLog::Postgres(l) => l.origin(),
        }
    }

    /// The directory the public checkpoint and tiles are served from.
    pub fn root(&self) -> &Path {
        match self {
            GatewayLog::File(l) => l.root(),
            GatewayLog::Postgres(l) => l.root(),
        }
    }

    pub fn wait_checkpoint(
        &self,
        size: u64,
        timeout: Duration,
    ) -> Result<SignedCheckpoint, LogError> {
        match self {
            GatewayLog::File(l) => l.wait_checkpoint(size, timeout),
            GatewayLog::Postgres(l) => l.wait_checkpoint(size, timeout),
        }
    }

    pub fn integration_error(&self) -> Option<String> {
        match self {
            GatewayLog::File(l) => l.integration_error(),
            GatewayLog::Postgres(l) => l.integration_error(),
        }
    }

    pub fn close(self) -> Result<SignedCheckpoint, LogError> {
        match self {
            GatewayLog::File(l) => l.close(),
            GatewayLog::Postgres(l) => l.close(),
        }
    }
}

fn open_file(
    dir: &Path,
    signer: Signer,
    faults: FaultSwitch,
    interval: Option<Duration>,
    commit_delay: Duration,
) -> Result<GatewayLog, GatewayError> {
    if !dir.join("checkpoint").exists() {
        cordon_log::create(dir, &signer)?;
    }
    let defaults = LogConfig::default();
    let config = LogConfig {
        faults,
        checkpoint_interval: interval.unwrap_or(defaults.checkpoint_interval),
        commit_delay,
        ..defaults
    };
    let (log, recovery) = Log::open(dir, signer, config)?;
    if recovery.requeued > 0 || recovery.torn_bytes > 0 {
        tracing::warn!(
            requeued = recovery.requeued,
            torn_bytes = recovery.torn_bytes,
            "log recovered after an unclean stop"
        );
    }
    Ok(GatewayLog::File(log))
}

/// Decisions and refusals are filed in the index; other entries (the federal request
/// register's, reloads) are in the log only.
fn index_row(entry: &[u8]) -> Option<IndexRow> {
    let cordon_entry::Entry::Decision(r) = cordon_entry::read(entry).ok()? else {
        return None;
    };
    Some(IndexRow {
        decision: if r.allowed() { "allow" } else { "deny" }.to_owned(),
        dataset: r.request.as_ref().map(|q| q.resource.dataset.clone()),
        time: r.time,
        agency: Some(r.agency),
        principal: Some(r.principal),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn commit_delay_us_in_the_log_section_reaches_the_file_log() {
        let tmp = tempfile::tempdir().unwrap();
        let delay = Duration::from_millis(300);
        let section = LogSection {
            dir: tmp.path().join("log"),
            key: tmp.path().join("unused.key"),
            checkpoint_interval_ms: None,
            commit_delay_us: delay.as_micros() as u64,
            backend: LogBackendKind::File,
            durable_deadline_ms: 10_000,
            url: None,
        };
        let signer = Signer::generate("test.example/log").unwrap();
        let faults = FaultSwitch::default();
        let log = GatewayLog::open(&section, signer, faults.clone(), "test").unwrap();
        // Twenty decisions queue behind one held at the disk and form one batch; the lone
        // decision after it then waits up to the delay for as many again, which only a
        // configured delay does.
        let stalled = faults.stall();
        let held = log.submit(b"held".to_vec()).unwrap();
        assert!(faults.wait_for_held_write(Duration::from_secs(10)));
        let burst: Vec<_> = (0..20)
            .map(|i| log.submit(format!("burst {i}").into_bytes()).unwrap())
            .collect();
        drop(stalled);
        held.wait().unwrap();
        for p in burst {
            p.wait().unwrap();
        }
        let t = Instant::now();
        log.submit(b"alone".to_vec()).unwrap().wait().unwrap();
        assert!(
            t.elapsed() >= delay * 9 / 10,
            "the lone decision after a burst did not wait for the configured delay: {:?}",
            t.elapsed()
        );
        log.close().unwrap();
    }
}
