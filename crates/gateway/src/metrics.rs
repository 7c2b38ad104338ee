//! Prometheus counters for `/metrics`, written as exposition text by hand (a handful of
//! counters does not need a metrics library).
use cordon_log::log::Stats;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The outcomes a request can have; one counter each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    BadRequest,
    Unauthenticated,
    NoRoute,
    /// The decision could not be made durable: nothing was forwarded (fail closed).
    LogUnavailable,
    UpstreamError,
}

impl Outcome {
    const ALL: [Outcome; 7] = [
        Outcome::Allowed,
        Outcome::Denied,
        Outcome::BadRequest,
        Outcome::Unauthenticated,
        Outcome::NoRoute,
        Outcome::LogUnavailable,
        Outcome::UpstreamError,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::BadRequest => "bad_request",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::NoRoute => "no_route",
            Outcome::LogUnavailable => "log_unavailable",
            Outcome::UpstreamError => "upstream_error",
        }
    }
}

/// Counters shared by every connection.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: [AtomicU64; 7],
    redacted_fields: AtomicU64,
    /// Responses cut off mid-stream (and recorded in the log as not fully served).
    responses_aborted: AtomicU64,
    /// Reloads that changed the policy, and reloads refused (the policy in force kept).
    reloads_applied: AtomicU64,
    reloads_refused: AtomicU64,
    /// Client connections accepted on the data listener.
    connections: AtomicU64,
    /// The federal request register's counters.
    pub(crate) register: crate::requests::RegisterCounters,
    /// Open connections per serving thread, once `cordon serve` has started them: a
    /// thread far above the others, or stuck, shows here.
    pub(crate) serving: std::sync::OnceLock<std::sync::Arc<[std::sync::atomic::AtomicUsize]>>,
}

impl Metrics {
    pub fn count(&self, o: Outcome) {
        let i = Outcome::ALL.iter().position(|x| *x == o).unwrap_or(0);
        self.outcomes[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, o: Outcome) -> u64 {
        let i = Outcome::ALL.iter().position(|x| *x == o).unwrap_or(0);
        self.outcomes[i].load(Ordering::Relaxed)
    }

    pub fn add_redacted(&self, n: u64) {
        self.redacted_fields.fetch_add(n, Ordering::Relaxed);
    }

    pub fn count_aborted(&self) {
        self.responses_aborted.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reload: `applied` when it changed the policy, otherwise refused.
    pub fn count_reload(&self, applied: bool) {
        let c = if applied {
            &self.reloads_applied
        } else {
            &self.reloads_refused
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a client connection accepted.
    pub fn count_connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn aborted(&self) -> u64 {
        self.responses_aborted.load(Ordering::Relaxed)
    }

    /// The exposition text, with the log's own counters.
    pub fn render(&self, log: &Stats, checkpoint_size: u64) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP cordon_requests_total Requests by outcome.\n# TYPE cordon_requests_total counter"
        );
        for o in Outcome::ALL {
            let _ = writeln!(
                s,
                "cordon_requests_total{{outcome=\"{}\"}} {}",
                o.label(),
                self.get(o)
            );
        }
        let _ = writeln!(s, "# HELP cordon_fail_closed_total Requests refused with 503 because the decision could not be logged.\n# TYPE cordon_fail_closed_total counter\ncordon_fail_closed_total {}", self.get(Outcome::LogUnavailable));
        let _ = writeln!(s, "# HELP cordon_redacted_fields_total JSON fields removed by redaction obligations.\n# TYPE cordon_redacted_fields_total counter\ncordon_redacted_fields_total {}", self.redacted_fields.load(Ordering::Relaxed));
        let _ = writeln!(
            s,
            "# HELP cordon_reloads_total Reloads of packs and routes (SIGHUP): applied (logged, in force) or refused (the policy in force kept; see the journal).\n# TYPE cordon_reloads_total counter\ncordon_reloads_total{{outcome=\"applied\"}} {}\ncordon_reloads_total{{outcome=\"refused\"}} {}",
            self.reloads_applied.load(Ordering::Relaxed),
            self.reloads_refused.load(Ordering::Relaxed)
        );
        let _ = writeln!(s, "# HELP cordon_responses_aborted_total Responses cut off after streaming began (invalid JSON where redaction applies, an upstream failure or max_response_bytes), each recorded in the log as not fully served.\n# TYPE cordon_responses_aborted_total counter\ncordon_responses_aborted_total {}", self.responses_aborted.load(Ordering::Relaxed));
        let _ = writeln!(s, "# HELP cordon_connections_total Client connections accepted. A proxy in front that keeps no connection open (NGINX without upstream keepalive) shows about one per request, and costs Cordon a connection for each.\n# TYPE cordon_connections_total counter\ncordon_connections_total {}", self.connections.load(Ordering::Relaxed));
        let counters = [
            (
                "cordon_log_appended_total",
                "Entries made durable.",
                &log.appended,
            ),
            (
                "cordon_log_batches_total",
                "Group commits (fsyncs of the write-ahead file).",
                &log.batches,
            ),
            (
                "cordon_log_write_failures_total",
                "Failed durable writes.",
                &log.wal_failures,
            ),
            (
                "cordon_log_checkpoints_total",
                "Checkpoints signed.",
                &log.checkpoints,
            ),
            (
                "cordon_log_integration_failures_total",
                "Failed integrations into tiles.",
                &log.integration_failures,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        self.register.render(&mut s);
        if let Some(threads) = self.serving.get() {
            let _ = writeln!(s, "# HELP cordon_serving_connections Open client connections on each serving thread.\n# TYPE cordon_serving_connections gauge");
            for (i, n) in threads.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "cordon_serving_connections{{thread=\"{i}\"}} {}",
                    n.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(s, "# HELP cordon_log_checkpoint_size Entries under the newest signed checkpoint.\n# TYPE cordon_log_checkpoint_size gauge\ncordon_log_checkpoint_size {checkpoint_size}");
        s
    }
}
