//! The gateway's TOML configuration, and the checks that refuse a config which would
//! leave a door open.
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole `cordon.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Base URL of the upstream (`http://host:port`); without it only forward-auth is served.
    #[serde(default)]
    pub upstream: Option<String>,
    /// The policy pack folder.
    pub pack: PathBuf,
    /// Where NGINX, Traefik and Caddy send their auth subrequests.
    #[serde(default = "default_forward_auth_path")]
    pub forward_auth_path: String,
    /// Where the public side of the log (checkpoint and hash tiles) is served.
    #[serde(default = "default_public_log_prefix")]
    pub public_log_prefix: String,
    /// Largest request body forwarded.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Largest upstream response read (responses are buffered to apply redactions).
    #[serde(default = "default_max_response")]
    pub max_response_bytes: usize,
    /// Seconds a client is told to wait (`Retry-After`) when the log cannot be written.
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u32,
    pub log: LogSection,
    #[serde(default)]
    pub tls: Option<TlsSection>,
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
    pub public: Option<crate::site::PublicSection>,
    /// Witnesses that must cosign a checkpoint before it is published; absent, the
    /// log's own signed checkpoint is served.
    #[serde(default)]
    pub publish: Option<crate::publish::PublishSection>,
}

/// Where staff record federal requests, and who may.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSection {
    /// The endpoint: `POST <path>`, `POST <path>/<index>/outcome`, `.../correction`.
    #[serde(default = "default_register_path")]
    pub path: String,
    /// The authenticated principals (certificate, JWT `sub`, or dev-mode key principal)
    /// who may record requests, outcomes and corrections: records staff, not officers.
    pub recorders: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
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
    /// `file` (the default): this gateway alone appends to `dir`. `postgres`: several
    /// gateways share one log in the database at `url`, and `dir` is their shared tile
    /// directory (see docs/deploy.md).
    #[serde(default)]
    pub backend: LogBackendKind,
    /// `postgresql://user@host/db` when `backend = "postgres"`.
    #[serde(default)]
    pub url: Option<String>,
}

/// Where the log's sequencing state lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogBackendKind {
    #[default]
    File,
    Postgres,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain of the server.
    pub cert: PathBuf,
    /// PEM private key of the server.
    pub key: PathBuf,
    /// PEM CA certificates that sign client certificates; enables mutual TLS.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySection {
    /// Accept the API keys below. For development only; announced loudly at startup.
    #[serde(default)]
    pub dev_mode: bool,
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    #[serde(default)]
    pub jwt: Option<JwtSection>,
    /// Client certificates, by SAN or subject common name.
    #[serde(default)]
    pub certificates: Vec<CertIdentity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub key: String,
    pub principal: String,
    pub agency: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSection {
    /// A JWKS file holding the issuer's public keys.
    pub jwks: PathBuf,
    pub issuer: String,
    pub audience: String,
    /// The claim that names the agency id (the principal is `sub`).
    #[serde(default = "default_agency_claim")]
    pub agency_claim: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertIdentity {
    /// A subject alternative name (DNS, email or URI) or the subject common name.
    pub name: String,
    pub principal: String,
    pub agency: String,
}

/// A path prefix that names a dataset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Matched segment by segment, ignoring ASCII case: `/alpr/plates`.
    pub prefix: String,
    pub dataset: String,
    /// The action a request on this route performs: search, read, export or bulk.
    pub action: String,
}

fn default_forward_auth_path() -> String {
    "/_cordon/auth".into()
}
fn default_public_log_prefix() -> String {
    "/_cordon/log".into()
}
fn default_max_body() -> usize {
    1 << 20
}
fn default_max_response() -> usize {
    16 << 20
}
fn default_retry_after() -> u32 {
    5
}
fn default_register_path() -> String {
    "/requests".into()
}
fn default_agency_claim() -> String {
    "agency".into()
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
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config.check()?;
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
        fix(&mut self.pack);
        fix(&mut self.log.dir);
        fix(&mut self.log.key);
        if let Some(tls) = &mut self.tls {
            fix(&mut tls.cert);
            fix(&mut tls.key);
            if let Some(ca) = &mut tls.client_ca {
                fix(ca);
            }
        }
        if let Some(jwt) = &mut self.identity.jwt {
            fix(&mut jwt.jwks);
        }
        if let Some(dir) = self.publish.as_mut().and_then(|p| p.dir.as_mut()) {
            fix(dir);
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.log.backend == LogBackendKind::Postgres && self.log.url.is_none() {
            return Err(ConfigError::Invalid(
                "log.backend = \"postgres\" needs log.url = \"postgresql://user@host/db\"".into(),
            ));
        }
        let id = &self.identity;
        if !id.api_keys.is_empty() && !id.dev_mode {
            return Err(ConfigError::Invalid(
                "identity.api_keys are set but identity.dev_mode is false: API keys are for \
                 development only; set dev_mode = true or use client certificates or JWTs"
                    .into(),
            ));
        }
        let has_certs = !id.certificates.is_empty();
        let has_ca = self.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
        if has_certs && !has_ca {
            return Err(ConfigError::Invalid(
                "identity.certificates need tls.client_ca to verify client certificates".into(),
            ));
        }
        if id.api_keys.is_empty() && id.jwt.is_none() && !has_certs {
            return Err(ConfigError::Invalid(
                "no way to authenticate anyone: configure identity.jwt, identity.certificates \
                 (with tls.client_ca) or, for development, identity.api_keys with dev_mode = true"
                    .into(),
            ));
        }
        for p in [&self.forward_auth_path, &self.public_log_prefix] {
            if !p.starts_with('/') || p.len() < 2 {
                return Err(ConfigError::Invalid(format!(
                    "{p:?} must be an absolute path such as /_cordon/auth"
                )));
            }
        }
        for r in &self.routes {
            crate::path::normalize_path(&r.prefix)
                .map_err(|e| ConfigError::Invalid(format!("route prefix {:?}: {e}", r.prefix)))?;
        }
        if let Some(register) = &self.register {
            crate::requests::check_section(register, &self.routes)?;
        }
        Ok(())
    }
}
