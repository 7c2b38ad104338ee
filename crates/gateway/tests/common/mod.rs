//! A gateway in front of the real sample upstream, on loopback ports the OS picks.
#![allow(clippy::unwrap_used, dead_code)]
pub mod cases;
pub mod frames;
pub mod h2;
pub mod pki;
use cordon_gateway::config::Config;
use cordon_gateway::sample::Hits;
use cordon_gateway::wire::{self, Reply};
use cordon_gateway::Gateway;
use cordon_log::{FaultSwitch, Signer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::oneshot;

pub fn pack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/chicago-welcoming-city")
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub upstream: SocketAddr,
    pub hits: Arc<Hits>,
    pub gw: Arc<Gateway>,
    pub faults: FaultSwitch,
    pub verifier: cordon_log::Verifier,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// The demo's two development API keys.
pub const DEV_IDENTITY: &str = r#"
[identity]
dev_mode = true

[[identity.api_keys]]
key = "demo-cpd"
principal = "cpd-detective-0417"
agency = "cpd"

[[identity.api_keys]]
key = "demo-ice"
principal = "ice-ero-officer-12"
agency = "ice-ero"
"#;

/// The token `/metrics` requires in every test gateway.
pub const METRICS_TOKEN: &str = "test-metrics-token-8c41f0d2b7e9a356";

/// The secret the test proxies send to the forward-auth endpoint.
pub const PROXY_SECRET: &str = "test-proxy-secret-2f9c1e7a4b6d8f03";

/// The config every test shares: forward-auth in NGINX's dialect, the routes, the given
/// identity section and `extra`.
pub fn config_text(upstream: SocketAddr, identity: &str, extra: &str) -> String {
    config_text_for(upstream, identity, extra, "nginx")
}

/// [`config_text`] with forward-auth in the given dialect.
pub fn config_text_for(upstream: SocketAddr, identity: &str, extra: &str, dialect: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
upstream = "http://{upstream}"
pack = "{pack}"
max_body_bytes = 4096
header_timeout_ms = 2000

[log]
dir = "log"
key = "log.key"

[forward_auth]
dialect = "{dialect}"
proxy_secret_file = "proxy.secret"

[metrics]
token_file = "metrics.token"
{identity}
[[routes]]
prefix = "/alpr/plates"
dataset = "alpr"
action = "search"
# The sample service removes the fields named in Cordon-Redact itself.
upstream_redacts = true
max_window_hours = 24
[routes.query]
since = {{ bind = "time_from" }}
until = {{ bind = "time_to" }}
limit = {{ bind = "limit", max = 100 }}

[[routes]]
prefix = "/records/people"
dataset = "arrests"
action = "read"
[routes.query]
id = {{ bind = "record" }}
{extra}
"#,
        pack = pack_dir().display()
    )
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(DEV_IDENTITY, "", |_| {}).await
    }

    /// Starts the sample upstream and a gateway in front of it, with the given identity
    /// section and `extra` config text (TLS); `prepare` may write files (certificates,
    /// JWKS) into the config folder first.
    pub async fn start_with(identity: &str, extra: &str, prepare: impl FnOnce(&Path)) -> Harness {
        Self::start_full(identity, extra, "nginx", prepare).await
    }

    /// A gateway whose forward-auth speaks `dialect`.
    pub async fn start_dialect(dialect: &str) -> Harness {
        Self::start_full(DEV_IDENTITY, "", dialect, |_| {}).await
    }

    pub async fn start_full(
        identity: &str,
        extra: &str,
        dialect: &str,
        prepare: impl FnOnce(&Path),
    ) -> Harness {
        Self::start_tweaked(identity, extra, dialect, prepare, |_| {}).await
    }

    /// [`Harness::start_full`] with the parsed config changed by `tweak` before the
    /// gateway opens (for top-level keys the config text has no place for).
    pub async fn start_tweaked(
        identity: &str,
        extra: &str,
        dialect: &str,
        prepare: impl FnOnce(&Path),
        tweak: impl FnOnce(&mut Config),
    ) -> Harness {
        Self::launch(identity, extra, dialect, prepare, tweak, None).await
    }

    /// The default gateway with `extra` config, served as `cordon serve` serves it: on
    /// `threads` serving threads, each with its own event loop.
    pub async fn start_on_threads(extra: &str, threads: usize) -> Harness {
        Self::launch(DEV_IDENTITY, extra, "nginx", |_| {}, |_| {}, Some(threads)).await
    }

    async fn launch(
        identity: &str,
        extra: &str,
        dialect: &str,
        prepare: impl FnOnce(&Path),
        tweak: impl FnOnce(&mut Config),
        threads: Option<usize>,
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let signer = Signer::generate("test.cordon.example/gateway").unwrap();
        std::fs::write(dir.path().join("log.key"), signer.to_text()).unwrap();
        std::fs::write(dir.path().join("proxy.secret"), format!("{PROXY_SECRET}\n")).unwrap();
        std::fs::write(dir.path().join("metrics.token"), METRICS_TOKEN).unwrap();
        prepare(dir.path());
        let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = up.local_addr().unwrap();
        let hits = Arc::new(Hits::default());
        tokio::spawn(cordon_gateway::sample::serve(up, hits.clone()));
        let mut config = Config::from_toml(
            &config_text_for(upstream, identity, extra, dialect),
            dir.path(),
        )
        .unwrap();
        tweak(&mut config);
        let faults = FaultSwitch::default();
        let gw = Arc::new(Gateway::open(config, faults.clone()).unwrap());
        let (listener, tls) = cordon_gateway::server::bind(gw.config()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let stopped = async {
            let _ = rx.await;
        };
        let server = match threads {
            None => tokio::spawn(cordon_gateway::server::serve(
                gw.clone(),
                listener,
                tls,
                stopped,
            )),
            Some(n) => {
                let served = cordon_gateway::workers::serve(gw.clone(), listener, tls, n, stopped);
                tokio::spawn(async move { served.await.unwrap() })
            }
        };
        Harness {
            dir,
            addr,
            upstream,
            hits,
            gw,
            faults,
            verifier: signer.verifier(),
            stop: Some(tx),
            server: Some(server),
        }
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        wire::send(self.addr, &wire::request("GET", path, headers))
            .await
            .unwrap()
    }

    /// `/metrics`, with the metrics token.
    pub async fn metrics(&self) -> Reply {
        let bearer = format!("Bearer {METRICS_TOKEN}");
        self.get("/metrics", &[("Authorization", &bearer)]).await
    }

    pub fn upstream_hits(&self) -> u64 {
        self.hits.total.load(Ordering::SeqCst)
    }

    /// Tells the server to stop; the returned future ends when it has (drained, and its
    /// follow-ups written). [`Harness::stop`] then only closes the log.
    pub fn begin_stop(&mut self) -> impl std::future::Future<Output = ()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let server = self.server.take();
        async move {
            if let Some(s) = server {
                s.await.unwrap();
            }
        }
    }

    /// Stops the server and closes the log; returns the log directory (kept alive by `dir`).
    pub async fn stop(mut self) -> (tempfile::TempDir, cordon_log::Verifier, Arc<Hits>) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.await.unwrap();
        }
        // Connection tasks drop their handle just after the drain completes.
        let mut gw = self.gw;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let gw = loop {
            match Arc::try_unwrap(gw) {
                Ok(g) => break g,
                Err(shared) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the gateway is still shared"
                    );
                    gw = shared;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        };
        tokio::task::spawn_blocking(move || gw.close().unwrap())
            .await
            .unwrap();
        (self.dir, self.verifier, self.hits)
    }
}

/// The headers of a lawful CPD search.
pub const CPD: [(&str, &str); 4] = [
    ("Authorization", "Bearer demo-cpd"),
    ("Cordon-Purpose", "criminal_investigation"),
    ("Cordon-Reason", "burglary%20suspect%20vehicle"),
    ("Cordon-Case", "JD-1"),
];

/// The same search by ICE ERO.
pub const ICE: [(&str, &str); 4] = [
    ("Authorization", "Bearer demo-ice"),
    ("Cordon-Purpose", "criminal_investigation"),
    ("Cordon-Reason", "fugitive%20locate"),
    ("Cordon-Case", "JD-1"),
];

/// Reads the log entry at `index` from a closed log.
pub fn entry(dir: &Path, verifier: &cordon_log::Verifier, index: u64) -> serde_json::Value {
    let report = cordon_log::verify::verify_dir(dir, verifier).unwrap();
    let bytes = cordon_log::verify::read_entry(dir, report.size, index).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Every entry of a closed log, read with the one entry reader.
pub fn entries(dir: &Path, verifier: &cordon_log::Verifier) -> Vec<cordon_gateway::entry::Entry> {
    let report = cordon_log::verify::verify_dir(dir, verifier).unwrap();
    (0..report.size)
        .map(|i| {
            let bytes = cordon_log::verify::read_entry(dir, report.size, i).unwrap();
            cordon_gateway::entry::read(&bytes).unwrap()
        })
        .collect()
}

/// Values of the fields the Chicago pack orders removed from person records: none may
/// ever reach a client.
pub const REDACTED_VALUES: [&str; 5] = [
    "lawful_permanent_resident",
    "undocumented",
    "Fakeland",
    "Nowhere Province",
    "Testopolis",
];

/// Fails if a response shows any value a redaction removes.
pub fn assert_nothing_redacted_leaks(r: &Reply) {
    let text = format!("{:?}{}", r.headers, r.text());
    for v in REDACTED_VALUES {
        assert!(!text.contains(v), "{v:?} reached the client: {text}");
    }
}

/// THREAT-MODEL promise 1: every request the upstream received carries the receipt of an
/// allow in the log whose method, path, canonical query and body (and its hash) are
/// exactly what arrived, and no two requests share one allow.
pub fn assert_served_as_logged(dir: &Path, verifier: &cordon_log::Verifier, hits: &Hits) {
    use cordon_gateway::entry::Entry;
    let entries = entries(dir, verifier);
    let mut used = std::collections::HashSet::new();
    for seen in hits.seen() {
        let receipt: u64 = seen
            .headers
            .iter()
            .find(|(k, _)| k == "cordon-receipt")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("{seen:?} reached the upstream without a receipt"));
        let Some(Entry::Decision(e)) = entries.get(receipt as usize) else {
            panic!("{seen:?} carries receipt {receipt}, which is not a decision in the log");
        };
        assert!(e.allowed(), "{seen:?} was served under a refusal: {e:?}");
        assert_eq!(seen.method, e.method, "method served differs from decided");
        assert_eq!(
            seen.target,
            e.target(),
            "target served differs from decided"
        );
        assert_eq!(
            seen.body,
            e.body.as_deref().unwrap_or("").as_bytes(),
            "body served differs from the body decided"
        );
        if let Some(sha) = &e.body_sha256 {
            assert_eq!(
                *sha,
                cordon_gateway::entry::sha256_hex(&seen.body),
                "the logged body hash is not the hash of the body served"
            );
        }
        assert!(
            used.insert(receipt),
            "two upstream requests under one allow ({receipt})"
        );
    }
}

/// The action each decision entry was decided as, in log order (refusals made before a
/// decision have none and are left out).
pub fn decided_actions(entries: &[cordon_gateway::entry::Entry]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| match e {
            cordon_gateway::entry::Entry::Decision(d) => {
                d.request.as_ref().map(|r| r.action.to_string())
            }
            _ => None,
        })
        .collect()
}
