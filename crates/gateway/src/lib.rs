//! The enforcement point: reverse proxy and forward-auth that decide, log durably, then forward.
//!
//! Life of a request: [`server`] accepts it and terminates TLS; [`gate`] authenticates
//! ([`identity`]), normalizes the path ([`path`]), maps it to a dataset ([`routes`]),
//! reads the purpose headers ([`purpose`]), asks the policy pack, and appends the
//! decision ([`entry`]) to the log, waiting until it is durable; only then does [`proxy`]
//! forward it (or forward-auth answer 2xx), applying redactions ([`redact`]).
#![forbid(unsafe_code)]

pub mod authority;
pub mod body;
pub mod check;
pub mod client;
pub mod config;
pub mod conn;
pub mod denial;
pub mod durable;
pub mod fingerprint;
pub use cordon_entry as entry;
pub mod gate;
pub mod identity;
mod jwks;
mod jwt;
pub mod listener;
pub mod live;
pub mod logbackend;
pub mod metrics;
pub mod ops;
pub mod path;
pub mod proxy;
pub mod public;
pub mod publish;
pub mod purpose;
pub mod query;
pub mod redact;
pub mod reload;
pub mod requests;
mod respond;
pub mod routes;
pub mod sample;
pub mod server;
pub mod site;
pub mod tls;
pub mod upstream;
pub mod wire;
pub mod workers;

use config::Config;
use cordon_log::{FaultSwitch, LogError, SignedCheckpoint, Signer};
use cordon_policy::{PolicyError, Stack};
use hyper::header::HeaderValue;
use logbackend::GatewayLog;
use std::time::Duration;

pub use config::ConfigError;
pub use path::{normalize_path, NormalPath, PathError};
pub use purpose::{parse_purpose, PurposeError, PurposeFields};

/// Why the gateway could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("policy pack")]
    Policy(#[from] PolicyError),
    #[error("log")]
    Log(#[from] LogError),
    #[error("cannot read the log key {path}: {message} (create one with `cordon log init <log dir> --origin <name> --key <key file>`)")]
    Key {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("identity")]
    Identity(#[from] identity::IdentityError),
    #[error("tls")]
    Tls(#[from] tls::TlsError),
    #[error("upstream {url:?} is not usable: {why}")]
    Upstream { url: String, why: String },
    #[error("{0}")]
    Registry(String),
    #[error(transparent)]
    Publish(#[from] publish::PublishError),
    #[error("{0}")]
    Busy(String),
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        addr: std::net::SocketAddr,
        message: String,
    },
}

/// A running gateway: configuration, pack, identities, routes, the open log and counters.
pub struct Gateway {
    pub(crate) config: Config,
    /// The packs and routes in force; a reload swaps the whole snapshot at once.
    pub(crate) live: std::sync::RwLock<std::sync::Arc<live::Live>>,
    /// One reload at a time, so two changes cannot interleave their log entries.
    pub(crate) reloading: tokio::sync::Mutex<()>,
    pub(crate) auth: identity::Authenticator,
    pub(crate) log: std::sync::Arc<GatewayLog>,
    /// Appends in flight, for the deadline and `/healthz`.
    pub(crate) watch: std::sync::Arc<durable::Watch>,
    /// Shared with response bodies that finish streaming after their handler returned.
    pub(crate) metrics: std::sync::Arc<metrics::Metrics>,
    pub(crate) upstream: Option<upstream::Upstream>,
    pub(crate) origin: String,
    pub(crate) origin_header: HeaderValue,
    /// The authorities records staff registered: what a typed `Cordon-Authority` must match.
    pub(crate) authorities: std::sync::Arc<authority::Authorities>,
    /// Cosigned publication, when `[publish]` names witnesses.
    pub(crate) publication: Option<std::sync::Arc<publish::Publication>>,
    /// The forward-auth proxy's shared secret, when configured.
    pub(crate) proxy_secret: Option<Vec<u8>>,
    /// The token `/metrics` requires, when `[metrics] token_file` is configured.
    pub(crate) metrics_token: Option<Vec<u8>>,
}

impl Gateway {
    /// Loads the pack, the identities and the log key, and opens the log for appending
    /// (creating it if the directory has no log yet). `faults` lets tests fail the log's
    /// storage on purpose.
    pub fn open(config: Config, faults: FaultSwitch) -> Result<Gateway, GatewayError> {
        let proxies = config
            .forward_auth
            .as_ref()
            .map_or(&[][..], |f| &f.proxy_certificates[..]);
        let auth = identity::Authenticator::new(&config.identity, proxies)?;
        let live = live::Live::load(&config, &auth)?;
        let signer = read_signer(&config.log.key)?;
        let log_key = signer.verifier();
        let writer = format!("gateway {}", config.listen);
        let log = GatewayLog::open(&config.log, signer, faults, &writer)?;
        let authorities = std::sync::Arc::new(authority::Authorities::load(&log, &log_key)?);
        let upstream = config
            .upstream
            .as_ref()
            .map(|u| {
                upstream::Upstream::new(u, config.workers()).map_err(|e| GatewayError::Upstream {
                    url: u.url.clone(),
                    why: e.to_string(),
                })
            })
            .transpose()?;
        let origin = log.origin();
        let origin_header = HeaderValue::from_str(&origin).map_err(|_| GatewayError::Key {
            path: config.log.key.clone(),
            message: "the log origin is not a valid header value".into(),
        })?;
        let publication = config
            .publish
            .as_ref()
            .map(|p| publish::Publication::open(p, log.root(), &log_key))
            .transpose()?
            .map(std::sync::Arc::new);
        let proxy_secret = read_proxy_secret(&config)?;
        let metrics_token = ops::read_token(&config)?;
        Ok(Gateway {
            metrics_token,
            proxy_secret,
            watch: Default::default(),
            publication,
            authorities,
            live: std::sync::RwLock::new(std::sync::Arc::new(live)),
            reloading: tokio::sync::Mutex::new(()),
            config,
            auth,
            log: std::sync::Arc::new(log),
            metrics: Default::default(),
            upstream,
            origin,
            origin_header,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The packs and routes in force now. Take it once per request: a reload may replace
    /// it between two calls.
    pub fn live(&self) -> std::sync::Arc<live::Live> {
        // A poisoned lock means a reload panicked after taking it; the snapshot it guards
        // is still whole (swapping is one assignment), so keep serving it.
        match self.live.read() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    pub fn log(&self) -> &GatewayLog {
        &self.log
    }

    /// Cosigned publication, when configured.
    pub fn publication(&self) -> Option<&publish::Publication> {
        self.publication.as_deref()
    }

    pub fn dev_mode(&self) -> bool {
        self.auth.dev_mode()
    }

    /// Integrates everything durable into a final checkpoint and releases the log.
    /// Waits (at most 5 s) for any late "not served" follow-up still holding the log.
    pub fn close(self) -> Result<SignedCheckpoint, GatewayError> {
        let mut log = self.log;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match std::sync::Arc::try_unwrap(log) {
                Ok(l) => return Ok(l.close()?),
                Err(shared) if std::time::Instant::now() < deadline => {
                    log = shared;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => return Err(GatewayError::Busy(
                    "a late log append is still pending after 5 s; the log recovers it on the next start".into(),
                )),
            }
        }
    }

    /// The log's append watch: deadline misses, late follow-ups, stalls.
    pub fn watch(&self) -> &durable::Watch {
        &self.watch
    }
}

/// The forward-auth proxy's secret, trimmed of a trailing newline; an empty file would
/// let anyone in, so it is refused.
fn read_proxy_secret(config: &Config) -> Result<Option<Vec<u8>>, GatewayError> {
    let Some(path) = config
        .forward_auth
        .as_ref()
        .and_then(|f| f.proxy_secret_file.as_ref())
    else {
        return Ok(None);
    };
    let bad = |message: String| {
        GatewayError::Config(ConfigError::Invalid(format!(
            "forward_auth.proxy_secret_file {}: {message}",
            path.display()
        )))
    };
    let text = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let secret = text.trim_ascii().to_vec();
    if secret.len() < 16 {
        return Err(bad(
            "the secret is shorter than 16 bytes: generate one, e.g. `openssl rand -hex 32`".into(),
        ));
    }
    Ok(Some(secret))
}

fn read_signer(path: &std::path::Path) -> Result<Signer, GatewayError> {
    let text = std::fs::read_to_string(path).map_err(|e| GatewayError::Key {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Signer::parse(text.trim()).map_err(|e| GatewayError::Key {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Every statically configured identity must belong to an agency the pack knows, and
/// every route must name a dataset it governs: a typo here would deny everyone silently.
pub(crate) fn check_agencies(
    pack: &Stack,
    auth: &identity::Authenticator,
    config: &Config,
) -> Result<(), GatewayError> {
    for agency in auth.configured_agencies() {
        if pack.registry().agency(agency).is_none() {
            return Err(GatewayError::Registry(format!(
                "identity agency {agency:?} is not in the {} pack's agency registry",
                pack.name()
            )));
        }
    }
    for r in &config.routes {
        if pack.datasets().kind_of(&r.dataset).is_none() {
            return Err(GatewayError::Registry(format!(
                "route {} names dataset {:?}, which the {} pack does not govern",
                r.prefix,
                r.dataset,
                pack.name()
            )));
        }
        if !cordon_policy::Action::parse(&r.action).is_recognized() {
            return Err(GatewayError::Registry(format!(
                "route {} has action {:?}; use one of {}",
                r.prefix,
                r.action,
                cordon_policy::Action::WORDS.join(", ")
            )));
        }
    }
    Ok(())
}
