//! The `[forward_auth]` section: the one header dialect the proxy in front speaks, and
//! how that proxy proves to Cordon that it is the proxy.
use super::CertName;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthSection {
    /// Where the proxy sends its auth subrequests.
    #[serde(default = "default_path")]
    pub path: String,
    /// The proxy's dialect: only its original-request headers are read.
    pub dialect: Dialect,
    /// Client-certificate names (as in `identity.certificates`, e.g. `dns:proxy.internal`)
    /// of the proxies allowed to call the endpoint. Needs `tls.client_ca`.
    #[serde(default)]
    pub proxy_certificates: Vec<CertName>,
    /// A file holding a shared secret the proxy sends in `proxy_secret_header`.
    #[serde(default)]
    pub proxy_secret_file: Option<PathBuf>,
    /// The header that carries the secret (default `Cordon-Proxy-Secret`).
    #[serde(default = "default_secret_header")]
    pub proxy_secret_header: String,
}

/// The forward-auth conventions Cordon understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// `auth_request`: `X-Original-Method`, `X-Original-URI`.
    Nginx,
    /// ForwardAuth: `X-Forwarded-Method`, `X-Forwarded-Uri`.
    Traefik,
    /// `forward_auth`: `X-Forwarded-Method`, `X-Forwarded-Uri`.
    Caddy,
}

impl Dialect {
    /// The headers that carry the original method and URI in this dialect.
    pub fn headers(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Nginx => ("x-original-method", "x-original-uri"),
            Dialect::Traefik | Dialect::Caddy => ("x-forwarded-method", "x-forwarded-uri"),
        }
    }

    /// Original-request headers of the other dialects: their presence means a client
    /// supplied them, so the request is refused.
    pub fn foreign_headers(self) -> &'static [&'static str] {
        match self {
            Dialect::Nginx => &["x-forwarded-method", "x-forwarded-uri"],
            Dialect::Traefik | Dialect::Caddy => &["x-original-method", "x-original-uri"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Nginx => "nginx",
            Dialect::Traefik => "traefik",
            Dialect::Caddy => "caddy",
        }
    }
}

fn default_path() -> String {
    "/_cordon/auth".into()
}

fn default_secret_header() -> String {
    "cordon-proxy-secret".into()
}
