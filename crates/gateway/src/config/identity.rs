//! The `[identity]` and `[tls]` sections: how requesters prove who they are, with every
//! certificate name typed and every token algorithm named, so nothing is guessed.
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain of the server.
    pub cert: PathBuf,
    /// PEM private key of the server.
    pub key: PathBuf,
    /// PEM CA certificates that sign client certificates; enables mutual TLS.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Certificate revocation lists (PEM or DER), one per CA in the client chains: a
    /// revoked client certificate is refused during the handshake.
    #[serde(default)]
    pub crls: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySection {
    /// Accept the API keys below. For development only; announced loudly at startup.
    #[serde(default)]
    pub dev_mode: bool,
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    #[serde(default)]
    pub jwt: Option<JwtSection>,
    /// Client certificates, each by one typed name (`dns:`, `uri:`, `email:` or `cn:`).
    #[serde(default)]
    pub certificates: Vec<CertIdentity>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub key: String,
    pub principal: String,
    pub agency: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSection {
    /// A JWKS file holding the issuer's public keys, read at startup.
    #[serde(default)]
    pub jwks: Option<PathBuf>,
    /// The issuer's JWKS at an `https://` URL, fetched when first needed, again every
    /// `refresh_seconds`, and again when a token names a key id not yet known.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// PEM CA certificates trusted for `jwks_url` instead of the system's roots.
    #[serde(default)]
    pub jwks_ca: Option<PathBuf>,
    /// How long fetched keys are used before they are fetched again.
    #[serde(default = "default_refresh")]
    pub refresh_seconds: u64,
    /// Shortest time between two fetches caused by unknown key ids, so tokens with
    /// made-up key ids cannot make Cordon hammer the identity provider.
    #[serde(default = "default_refetch_min")]
    pub refetch_min_seconds: u64,
    /// The signature algorithms accepted (`RS256`, `ES256`, `EdDSA`, ...). Required: the
    /// token's own header never chooses.
    #[serde(default)]
    pub algorithms: Vec<String>,
    pub issuer: String,
    pub audience: String,
    /// The claim that names the agency id (the principal is `sub`).
    #[serde(default = "default_agency_claim")]
    pub agency_claim: String,
}

/// The algorithms a JWKS of public keys can verify.
pub const JWT_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

fn default_agency_claim() -> String {
    "agency".into()
}
fn default_refresh() -> u64 {
    3600
}
fn default_refetch_min() -> u64 {
    60
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertIdentity {
    /// The one certificate name that identifies, with its type: `dns:`, `uri:`,
    /// `email:` (subject alternative names) or `cn:` (subject common name).
    pub name: CertName,
    pub principal: String,
    pub agency: String,
    /// An application or proxy acting for its users: with a bearer token, the token's
    /// subject is the requester (the certificate is recorded as the app). Without this,
    /// a certificate and a token together are refused.
    #[serde(default)]
    pub delegates: bool,
}

/// The kinds of name a client certificate carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A `dNSName` subject alternative name.
    Dns,
    /// A `uniformResourceIdentifier` subject alternative name.
    Uri,
    /// An `rfc822Name` (email) subject alternative name.
    Email,
    /// The subject's common name.
    Cn,
}

impl NameKind {
    const ALL: [NameKind; 4] = [NameKind::Dns, NameKind::Uri, NameKind::Email, NameKind::Cn];

    pub fn prefix(self) -> &'static str {
        match self {
            NameKind::Dns => "dns",
            NameKind::Uri => "uri",
            NameKind::Email => "email",
            NameKind::Cn => "cn",
        }
    }
}

/// A certificate name with its type: `dns:x` matches only a DNS SAN `x`, never a common
/// name or an email `x`. DNS names compare without ASCII case (they are stored in lower
/// case); the others compare exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct CertName {
    pub kind: NameKind,
    pub value: String,
}

impl CertName {
    pub fn new(kind: NameKind, value: &str) -> CertName {
        let value = match kind {
            NameKind::Dns => value.to_ascii_lowercase(),
            _ => value.to_owned(),
        };
        CertName { kind, value }
    }

    /// Parses `type:value`; a bare name is refused with the spelling to use instead.
    pub fn parse(text: &str) -> Result<CertName, String> {
        for kind in NameKind::ALL {
            if let Some(value) = text
                .strip_prefix(kind.prefix())
                .and_then(|r| r.strip_prefix(':'))
            {
                if value.is_empty() {
                    return Err(format!(
                        "certificate name {text:?} has no name after the type"
                    ));
                }
                return Ok(CertName::new(kind, value));
            }
        }
        Err(format!(
            "certificate name {text:?} does not say which kind of name it is: write \
             \"dns:{text}\", \"uri:{text}\", \"email:{text}\" or \"cn:{text}\", as the \
             certificate carries it (a DNS, URI or email subject alternative name, or the \
             subject common name)"
        ))
    }
}

impl TryFrom<String> for CertName {
    type Error = String;
    fn try_from(text: String) -> Result<CertName, String> {
        CertName::parse(&text)
    }
}

impl fmt::Display for CertName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.prefix(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_certificate_name_is_refused_with_the_typed_spelling() {
        let err = CertName::parse("records-app.city.example").unwrap_err();
        assert!(err.contains("\"dns:records-app.city.example\""), "{err}");
        assert!(CertName::parse("dns:").is_err());
    }

    #[test]
    fn dns_names_ignore_case_and_other_kinds_do_not() {
        assert_eq!(
            CertName::parse("dns:App.City.Example"),
            Ok(CertName::new(NameKind::Dns, "app.city.example"))
        );
        assert_ne!(
            CertName::parse("cn:App"),
            Ok(CertName::new(NameKind::Cn, "app"))
        );
        assert_ne!(
            CertName::parse("dns:x").unwrap(),
            CertName::parse("cn:x").unwrap()
        );
    }
}
