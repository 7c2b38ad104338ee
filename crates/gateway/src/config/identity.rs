//! The `[identity]` and `[tls]` sections: how requesters prove who they are.
use serde::Deserialize;
use std::path::PathBuf;

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

fn default_agency_claim() -> String {
    "agency".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertIdentity {
    /// A subject alternative name (DNS, email or URI) or the subject common name.
    pub name: String,
    pub principal: String,
    pub agency: String,
}
