//! Authentication: who is asking, from a verified client certificate, a verified OIDC/JWT
//! bearer token or, in development mode only, an API key. Never from a header the client
//! fills in about itself, and never by guessing: a certificate name counts only with the
//! type configured, and a certificate with a bearer token is accepted only where the
//! config says that certificate delegates.
use crate::config::{CertName, IdentitySection};
use crate::jwt::JwtVerifier;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

pub use crate::jwks::JwksError as IdentityError;

/// An authenticated requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub principal: String,
    pub agency: String,
    /// How the identity was proven: `mtls`, `jwt` or `api_key`.
    pub method: &'static str,
    /// The application or proxy whose client certificate carried this requester's
    /// token, when one did (its principal, or its certificate name for a proxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

/// Why a request could not be authenticated (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no credentials: send `Authorization: Bearer <token>` or present a client certificate"
    )]
    Missing,
    #[error(
        "the Authorization header is not `Bearer <token>`: send `Authorization: Bearer <token>`"
    )]
    NotBearer,
    #[error("the bearer token was refused: {0}")]
    BadToken(String),
    #[error("the API key is not known (API keys work only in development mode)")]
    UnknownKey,
    #[error("the client certificate ({0}) is not registered: ask the operator to add one of its names to identity.certificates")]
    UnknownCertificate(String),
    #[error("the request carries both a client certificate ({names}, registered as {principal}) and an Authorization header, and that certificate does not delegate: send one credential; if the certificate belongs to an application acting for its users, the operator must set delegates = true on it")]
    CertificateAndToken { names: String, principal: String },
    #[error("the client certificate ({0}) matches more than one entry of identity.certificates with different identities: the operator must list only one of its names")]
    AmbiguousCertificate(String),
    #[error("the client certificate ({0}) identifies the forward-auth proxy, not a requester: the proxy must pass on the user's Authorization header")]
    ProxyWithoutToken(String),
}

/// The typed names a verified client certificate carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertNames(pub Vec<CertName>);

impl CertNames {
    fn list(&self) -> String {
        let names: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        names.join(", ")
    }
}

/// A configured certificate identity.
struct CertEntry {
    identity: Identity,
    delegates: bool,
}

/// What a presented certificate is, by configuration.
enum Holder<'a> {
    /// An identity of its own (which may delegate).
    Own(&'a CertEntry),
    /// A forward-auth proxy: it only ever carries its users' tokens.
    Proxy(&'a CertName),
}

/// Verifies credentials against the configured identities.
pub struct Authenticator {
    dev_mode: bool,
    api_keys: HashMap<String, Identity>,
    certs: HashMap<CertName, CertEntry>,
    proxies: HashSet<CertName>,
    jwt: Option<JwtVerifier>,
}

impl Authenticator {
    /// `proxies` are the forward-auth proxies' certificate names: they carry their users'
    /// tokens and are no identity themselves.
    pub fn new(cfg: &IdentitySection, proxies: &[CertName]) -> Result<Self, IdentityError> {
        let ident = |principal: &str, agency: &str, method| Identity {
            principal: principal.to_owned(),
            agency: agency.to_owned(),
            method,
            app: None,
        };
        let api_keys = if cfg.dev_mode {
            cfg.api_keys
                .iter()
                .map(|k| (k.key.clone(), ident(&k.principal, &k.agency, "api_key")))
                .collect()
        } else {
            HashMap::new()
        };
        let certs = cfg
            .certificates
            .iter()
            .map(|c| {
                let identity = ident(&c.principal, &c.agency, "mtls");
                let entry = CertEntry {
                    identity,
                    delegates: c.delegates,
                };
                (c.name.clone(), entry)
            })
            .collect();
        let jwt = cfg.jwt.as_ref().map(JwtVerifier::new).transpose()?;
        Ok(Authenticator {
            dev_mode: cfg.dev_mode,
            api_keys,
            certs,
            proxies: proxies.iter().cloned().collect(),
            jwt,
        })
    }

    pub fn dev_mode(&self) -> bool {
        self.dev_mode
    }

    /// The agency ids the static identities name, for checking against the registry.
    pub fn configured_agencies(&self) -> impl Iterator<Item = &str> {
        self.api_keys
            .values()
            .chain(self.certs.values().map(|c| &c.identity))
            .map(|i| i.agency.as_str())
    }

    /// Authenticates one request. A certificate alone is its own identity. A certificate
    /// with an Authorization header is refused unless it delegates (or is a forward-auth
    /// proxy's): then the bearer token is the requester and the certificate its app.
    /// Without a certificate, the bearer credential is a JWT (three dot-separated parts)
    /// or a development API key.
    pub async fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        cert: Option<&CertNames>,
    ) -> Result<Identity, AuthError> {
        let Some(names) = cert else {
            return self
                .bearer_identity(bearer(authorization.ok_or(AuthError::Missing)?)?)
                .await;
        };
        match (self.holder(names)?, authorization) {
            (Holder::Own(entry), None) => Ok(entry.identity.clone()),
            (Holder::Own(entry), Some(raw)) if entry.delegates => {
                let mut id = self.bearer_identity(bearer(raw)?).await?;
                id.app = Some(entry.identity.principal.clone());
                Ok(id)
            }
            (Holder::Own(entry), Some(_)) => Err(AuthError::CertificateAndToken {
                names: names.list(),
                principal: entry.identity.principal.clone(),
            }),
            (Holder::Proxy(name), Some(raw)) => {
                let mut id = self.bearer_identity(bearer(raw)?).await?;
                id.app = Some(name.to_string());
                Ok(id)
            }
            (Holder::Proxy(name), None) => Err(AuthError::ProxyWithoutToken(name.to_string())),
        }
    }

    /// The configured identity a certificate's names select; names of different
    /// identities in one certificate are refused rather than one picked.
    fn holder(&self, names: &CertNames) -> Result<Holder<'_>, AuthError> {
        let mut found: Option<&CertEntry> = None;
        for entry in names.0.iter().filter_map(|n| self.certs.get(n)) {
            match found {
                Some(f) if f.identity != entry.identity || f.delegates != entry.delegates => {
                    return Err(AuthError::AmbiguousCertificate(names.list()))
                }
                _ => found = Some(entry),
            }
        }
        if let Some(entry) = found {
            return Ok(Holder::Own(entry));
        }
        match names.0.iter().find_map(|n| self.proxies.get(n)) {
            Some(name) => Ok(Holder::Proxy(name)),
            None => Err(AuthError::UnknownCertificate(names.list())),
        }
    }

    async fn bearer_identity(&self, token: &str) -> Result<Identity, AuthError> {
        if token.split('.').count() == 3 {
            if let Some(jwt) = &self.jwt {
                return jwt.verify(token).await.map_err(AuthError::BadToken);
            }
        }
        if self.dev_mode {
            if let Some(id) = self.api_keys.get(token) {
                return Ok(id.clone());
            }
            return Err(AuthError::UnknownKey);
        }
        Err(AuthError::BadToken(
            "it is not a JWT (header.payload.signature)".into(),
        ))
    }
}

fn bearer(raw: &[u8]) -> Result<&str, AuthError> {
    let text = std::str::from_utf8(raw).map_err(|_| AuthError::NotBearer)?;
    let (scheme, token) = text.split_once(' ').ok_or(AuthError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::NotBearer);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CertIdentity;

    fn cert(name: &str, principal: &str) -> CertIdentity {
        CertIdentity {
            name: CertName::parse(name).unwrap(),
            principal: principal.into(),
            agency: "cpd".into(),
            delegates: false,
        }
    }

    fn names(list: &[&str]) -> CertNames {
        CertNames(list.iter().map(|n| CertName::parse(n).unwrap()).collect())
    }

    #[tokio::test]
    async fn a_certificate_whose_names_select_different_identities_is_refused() {
        let section = IdentitySection {
            certificates: vec![
                cert("dns:a.example", "alice"),
                cert("email:b@example", "bob"),
            ],
            ..IdentitySection::default()
        };
        let auth = Authenticator::new(&section, &[]).unwrap();
        let both = names(&["dns:a.example", "email:b@example"]);
        assert!(matches!(
            auth.authenticate(None, Some(&both)).await,
            Err(AuthError::AmbiguousCertificate(_))
        ));
        let one = names(&["dns:a.example", "cn:b@example"]);
        let id = auth.authenticate(None, Some(&one)).await.unwrap();
        assert_eq!(id.principal, "alice");
    }
}
