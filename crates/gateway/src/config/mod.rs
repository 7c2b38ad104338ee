//! The gateway's TOML configuration as plain data, and the checks that refuse a config
//! which would leave a door open. Features read these types; this module imports no
//! feature, so configuration has no cycle through the code that uses it.
mod forward_auth;
mod http2;
mod identity;
mod log;
mod network;
mod publish;
mod reloadable;
mod routes;
mod upstream;

pub use forward_auth::{Dialect, ForwardAuthSection};
pub use http2::Http2Section;
pub use identity::{
    ApiKey, CertIdentity, CertName, IdentitySection, JwtSection, NameKind, TlsSection,
    JWT_ALGORITHMS,
};
pub use log::{LogBackendKind, LogSection};
pub use network::{Cidr, MetricsSection};
pub use publish::{is_under, PublicSection, PublishSection, RegisterSection, WitnessEntry};
pub use routes::{carries_search_body, Binding, QueryParam, Route};
pub use upstream::{UpstreamHttp2, UpstreamSection};

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole `cordon.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Serving threads, each with its own event loop and upstream connections, all
    /// accepting from the one listening socket (like NGINX's `worker_processes`);
    /// default: one per core.
    #[serde(default)]
    pub workers: Option<usize>,
    /// The proxies whose `X-Forwarded-For` is believed: only when the connection comes
    /// from one of these blocks is the client's address taken from that header (the
    /// rightmost hop not in the list); otherwise it is the connection's peer.
    #[serde(default)]
    pub trusted_proxies: Vec<Cidr>,
    /// The upstream: a URL (`http://host:port`, `https://host[:port]`) or an `[upstream]`
    /// table (TLS trust, client certificate, timeouts); without it only forward-auth is
    /// served.
    #[serde(default, deserialize_with = "upstream::deserialize")]
    pub upstream: Option<UpstreamSection>,
    /// One policy pack folder; or, with `packs`, an ordered stack of them (the city's
    /// ordinance, then the state's laws) where any deny wins.
    #[serde(default)]
    pub pack: Option<PathBuf>,
    #[serde(default)]
    pub packs: Vec<PathBuf>,
    /// Forward-auth for NGINX, Traefik or Caddy; absent, there is no auth endpoint.
    #[serde(default)]
    pub forward_auth: Option<ForwardAuthSection>,
    /// Replaced by `[forward_auth]`; kept only to say so.
    #[serde(default)]
    pub forward_auth_path: Option<String>,
    /// Where the public side of the log (checkpoint and hash tiles) is served.
    #[serde(default = "default_public_log_prefix")]
    pub public_log_prefix: String,
    /// Largest request body forwarded.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Largest upstream response body passed on. Responses stream, so this bounds what
    /// one request can carry away, not memory: past it a response is refused (502) if
    /// nothing was sent yet, or cut off and recorded as not fully served.
    #[serde(default = "default_max_response")]
    pub max_response_bytes: u64,
    /// How much of a response Cordon holds before it starts sending: a response that ends
    /// within it goes with its length, and one that fails within it (invalid JSON where
    /// redaction applies, an upstream failure) is a clean 502/504. Also the longest single
    /// JSON number a redacted response may hold. Bounds memory per response.
    #[serde(default = "default_response_window")]
    pub response_window_bytes: usize,
    /// Longest time a client may take to send a request's head, in milliseconds.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_ms: u64,
    /// Seconds a client is told to wait (`Retry-After`) when the log cannot be written.
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u32,
    pub log: LogSection,
    #[serde(default)]
    pub tls: Option<TlsSection>,
    /// HTTP/2 from clients: by ALPN over TLS, h2c on a plain listener only when set.
    #[serde(default)]
    pub http2: Http2Section,
    /// Where `/metrics` is served, and to whom; absent, it is not served.
    #[serde(default)]
    pub metrics: Option<MetricsSection>,
    #[serde(default)]
    pub identity: IdentitySection,
    #[serde(default)]
    pub routes: Vec<Route>,
    /// The federal request register endpoint; absent, the gateway has none.
    #[serde(default)]
    pub register: Option<RegisterSection>,
    /// The public page and the public log at the root of a second listener; absent,
    /// there is none.
    #[serde(default)]
    pub public: Option<PublicSection>,
    /// Witnesses that must cosign a checkpoint before it is published; absent, the
    /// log's own signed checkpoint is served.
    #[serde(default)]
    pub publish: Option<PublishSection>,
}

/// Most serving threads a config may ask for; each holds an event loop and a connection pool.
const MAX_WORKERS: usize = 256;

/// A path as the router compares prefixes: whole segments, ignoring case and empty
/// segments (`/Records//People` and `/records/people` are one route).
fn route_key(path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect();
    format!("/{}", segments.join("/"))
}

fn default_public_log_prefix() -> String {
    "/_cordon/log".into()
}
fn default_max_body() -> usize {
    1 << 20
}
fn default_max_response() -> u64 {
    4 << 30
}
fn default_response_window() -> usize {
    64 << 10
}
fn default_retry_after() -> u32 {
    5
}
fn default_header_timeout() -> u64 {
    10_000
}

/// Why a config was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads a config file; relative paths in it are taken relative to its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let config = Config::read_unchecked(path)?;
        config.check()?;
        Ok(config)
    }

    /// Reads a config file and resolves its paths without checking it; see
    /// [`Config::problems`] for what [`Config::load`] would refuse.
    pub fn read_unchecked(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Parses config text whose relative paths are relative to `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: base.to_owned(),
            message: e.to_string(),
        })?;
        config.resolve_paths(base);
        config.check()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(p) = &mut self.pack {
            fix(p);
        }
        for p in &mut self.packs {
            fix(p);
        }
        fix(&mut self.log.dir);
        fix(&mut self.log.key);
        if let Some(tls) = &mut self.tls {
            fix(&mut tls.cert);
            fix(&mut tls.key);
            if let Some(ca) = &mut tls.client_ca {
                fix(ca);
            }
            tls.crls.iter_mut().for_each(fix);
        }
        if let Some(jwt) = &mut self.identity.jwt {
            jwt.jwks
                .iter_mut()
                .chain(jwt.jwks_ca.iter_mut())
                .for_each(fix);
        }
        if let Some(token) = self.metrics.as_mut().and_then(|m| m.token_file.as_mut()) {
            fix(token);
        }
        if let Some(secret) = self
            .forward_auth
            .as_mut()
            .and_then(|f| f.proxy_secret_file.as_mut())
        {
            fix(secret);
        }
        if let Some(dir) = self.publish.as_mut().and_then(|p| p.dir.as_mut()) {
            fix(dir);
        }
        if let Some(u) = &mut self.upstream {
            u.ca.iter_mut()
                .chain(u.client_cert.iter_mut())
                .chain(u.client_key.iter_mut())
                .for_each(fix);
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems.join("\nconfig: ")))
        }
    }

    /// Everything wrong with the config's own settings (not the files it names), so an
    /// operator fixes them in one pass instead of one per restart.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut note = |r: Result<(), String>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        if self.log.backend == LogBackendKind::Postgres && self.log.url.is_none() {
            note(Err(
                "log.backend = \"postgres\" needs log.url = \"postgresql://user@host/db\"".into(),
            ));
        }
        if self.forward_auth_path.is_some() {
            note(Err(
                "forward_auth_path is replaced by a [forward_auth] section: give its path, the \
                 proxy's dialect (nginx, traefik or caddy) and how the proxy authenticates \
                 (proxy_certificates or proxy_secret_file); see docs/gateway.md"
                    .into(),
            ));
        }
        if self.pack.is_some() != self.packs.is_empty() {
            note(Err(
                "give either pack = \"<folder>\" or packs = [\"<city pack>\", \"<state pack>\", ...], not both or neither"
                    .into(),
            ));
        }
        note(self.check_limits());
        if let Some(n) = self.workers {
            if !(1..=MAX_WORKERS).contains(&n) {
                note(Err(format!(
                    "workers = {n}: give between 1 and {MAX_WORKERS} serving threads, or leave it out for one per core"
                )));
            }
        }
        note(log::check(&self.log));
        note(self.check_identity());
        note(self.check_tls());
        note(http2::check(&self.http2, self.tls.is_some()));
        if let Some(jwt) = &self.identity.jwt {
            note(check_jwt(jwt));
        }
        if let Some(m) = &self.metrics {
            note(check_metrics(m, self.listen));
        }
        note(self.check_forward_auth());
        note(absolute(&self.public_log_prefix, "public_log_prefix"));
        if let Some(u) = &self.upstream {
            note(upstream::check(u));
        }
        for r in &self.routes {
            note(routes::check(r));
        }
        note(self.check_route_overlaps());
        if let Some(register) = &self.register {
            note(self.check_register(register));
        }
        problems
    }

    /// How many serving threads `cordon serve` runs.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// The pack folders in enforcement order.
    pub fn pack_dirs(&self) -> Vec<PathBuf> {
        match &self.pack {
            Some(p) => vec![p.clone()],
            None => self.packs.clone(),
        }
    }

    fn has_client_ca(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.client_ca.is_some())
    }

    fn check_identity(&self) -> Result<(), String> {
        let id = &self.identity;
        if !id.api_keys.is_empty() && !id.dev_mode {
            return Err(
                "identity.api_keys are set but identity.dev_mode is false: API keys are for \
                 development only; set dev_mode = true or use client certificates or JWTs"
                    .into(),
            );
        }
        let has_certs = !id.certificates.is_empty();
        if has_certs && !self.has_client_ca() {
            return Err(
                "identity.certificates need tls.client_ca to verify client certificates".into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for c in &id.certificates {
            if !seen.insert(&c.name) {
                return Err(format!(
                    "identity.certificates lists {} more than once: give each certificate \
                     name one principal",
                    c.name
                ));
            }
        }
        let proxies = self.forward_auth.iter().flat_map(|f| &f.proxy_certificates);
        for p in proxies {
            if id.certificates.iter().any(|c| &c.name == p && !c.delegates) {
                return Err(format!(
                    "{p} is both a forward_auth proxy certificate and an identity that does \
                     not delegate: the proxy carries its users' tokens, so set delegates = \
                     true on that identity or give the proxy its own certificate"
                ));
            }
        }
        if id.api_keys.is_empty() && id.jwt.is_none() && !has_certs {
            return Err(
                "no way to authenticate anyone: configure identity.jwt, identity.certificates \
                 (with tls.client_ca) or, for development, identity.api_keys with dev_mode = true"
                    .into(),
            );
        }
        Ok(())
    }

    /// A zero limit or deadline starts, then refuses or closes everything: refused here.
    fn check_limits(&self) -> Result<(), String> {
        let zero: Vec<&str> = [
            ("max_body_bytes", self.max_body_bytes == 0),
            ("max_response_bytes", self.max_response_bytes == 0),
            ("response_window_bytes", self.response_window_bytes == 0),
            ("header_timeout_ms", self.header_timeout_ms == 0),
            ("log.durable_deadline_ms", self.log.durable_deadline_ms == 0),
            (
                "log.checkpoint_interval_ms",
                self.log.checkpoint_interval_ms == Some(0),
            ),
        ]
        .into_iter()
        .filter_map(|(name, is_zero)| is_zero.then_some(name))
        .collect();
        if zero.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{} must be above 0: at 0 the gateway would refuse or close every request; \
             remove the setting to use its default",
            zero.join(", ")
        ))
    }

    fn check_tls(&self) -> Result<(), String> {
        match &self.tls {
            Some(t) if !t.crls.is_empty() && t.client_ca.is_none() => Err(
                "tls.crls revoke client certificates, but there is no tls.client_ca: add the \
                 CA that signs client certificates, or remove tls.crls"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    fn check_forward_auth(&self) -> Result<(), String> {
        let Some(fa) = &self.forward_auth else {
            return Ok(());
        };
        absolute(&fa.path, "forward_auth.path")?;
        if fa.proxy_certificates.is_empty() && fa.proxy_secret_file.is_none() {
            return Err(
                "forward_auth: say how the proxy authenticates to Cordon, with \
                 proxy_certificates (its client certificate names) or proxy_secret_file (a \
                 shared secret it sends in proxy_secret_header); otherwise anyone could call \
                 the auth endpoint as if they were the proxy"
                    .into(),
            );
        }
        if !fa.proxy_certificates.is_empty() && !self.has_client_ca() {
            return Err(
                "forward_auth.proxy_certificates need tls.client_ca to verify the proxy's \
                 certificate"
                    .into(),
            );
        }
        if hyper::header::HeaderName::from_bytes(fa.proxy_secret_header.as_bytes()).is_err() {
            return Err(format!(
                "forward_auth.proxy_secret_header {:?} is not a header name",
                fa.proxy_secret_header
            ));
        }
        Ok(())
    }

    /// The register's path must be absolute, must not shadow a data route, and someone
    /// must be allowed to record.
    /// Two routes with one prefix, or a route over Cordon's own endpoints, would be decided
    /// silently by order: one of them could never be reached.
    fn check_route_overlaps(&self) -> Result<(), String> {
        let mut own = vec![
            ("public_log_prefix", self.public_log_prefix.as_str()),
            ("the health check", "/healthz"),
            ("the metrics endpoint", "/metrics"),
        ];
        if let Some(fa) = &self.forward_auth {
            own.push(("forward_auth.path", fa.path.as_str()));
        }
        for (i, r) in self.routes.iter().enumerate() {
            let key = route_key(&r.prefix);
            if self.routes[..i]
                .iter()
                .any(|earlier| route_key(&earlier.prefix) == key)
            {
                return Err(format!(
                    "route prefix {:?} is configured twice; only the first would ever be used: \
                     merge them into one route",
                    r.prefix
                ));
            }
            for (name, path) in &own {
                let theirs = route_key(path);
                if is_under(&key, &theirs) || is_under(&theirs, &key) {
                    return Err(format!(
                        "route prefix {:?} overlaps {name} {path:?}: give the route or {name} \
                         another path",
                        r.prefix
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_register(&self, section: &RegisterSection) -> Result<(), String> {
        let p = &section.path;
        if !p.starts_with('/') || p.len() < 2 || p.ends_with('/') {
            return Err(format!(
                "register.path {p:?} must be an absolute path such as /requests"
            ));
        }
        if section.recorders.is_empty() || section.recorders.iter().any(|r| r.trim().is_empty()) {
            return Err("register.recorders is empty: list the principals of the records staff who may record federal requests".into());
        }
        let register = route_key(p);
        for r in &self.routes {
            let key = route_key(&r.prefix);
            if is_under(&key, &register) || is_under(&register, &key) {
                return Err(format!(
                    "route prefix {:?} overlaps register.path {p:?}: give the register another path",
                    r.prefix
                ));
            }
        }
        Ok(())
    }
}

fn check_jwt(jwt: &JwtSection) -> Result<(), String> {
    if jwt.algorithms.is_empty() {
        return Err(format!(
            "identity.jwt.algorithms is missing: name the algorithms your identity provider \
             signs with, e.g. algorithms = [\"RS256\"] (one of {}); the token's own header \
             never chooses",
            JWT_ALGORITHMS.join(", ")
        ));
    }
    for a in &jwt.algorithms {
        if !JWT_ALGORITHMS.contains(&a.as_str()) {
            return Err(format!(
                "identity.jwt.algorithms has {a:?}: use one of {} (HMAC algorithms need a \
                 shared secret, which a JWKS of public keys does not hold)",
                JWT_ALGORITHMS.join(", ")
            ));
        }
    }
    match (&jwt.jwks, &jwt.jwks_url) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(
                "identity.jwt: give exactly one of jwks (a JWKS file) or jwks_url (the \
                 identity provider's https:// JWKS address)"
                    .into(),
            )
        }
        (None, Some(url)) if !url.starts_with("https://") => {
            return Err(format!(
                "identity.jwt.jwks_url {url:?} must start with https://: keys fetched over \
                 plain HTTP could be replaced on the way"
            ))
        }
        _ => {}
    }
    if jwt.jwks_ca.is_some() && jwt.jwks_url.is_none() {
        return Err(
            "identity.jwt.jwks_ca is only for jwks_url: remove it or fetch the keys from a URL"
                .into(),
        );
    }
    if jwt.refresh_seconds == 0 {
        return Err("identity.jwt.refresh_seconds must be at least 1".into());
    }
    Ok(())
}

fn check_metrics(m: &MetricsSection, data: SocketAddr) -> Result<(), String> {
    if m.listen.is_none() && m.token_file.is_none() {
        return Err(
            "[metrics] needs listen (a separate listener, e.g. \"127.0.0.1:9100\") or \
             token_file (a bearer token required for /metrics), or both"
                .into(),
        );
    }
    if m.listen.is_some_and(|l| l == data && l.port() != 0) {
        return Err("metrics.listen is the data listener's address: give it its own port".into());
    }
    Ok(())
}

fn absolute(p: &str, what: &str) -> Result<(), String> {
    if !p.starts_with('/') || p.len() < 2 {
        return Err(format!(
            "{what} {p:?} must be an absolute path such as /_cordon/auth"
        ));
    }
    Ok(())
}
