//! Authentication: who is asking, from a verified client certificate, a verified OIDC/JWT
//! bearer token or, in development mode only, an API key. Never from a header the client
//! fills in about itself.
use crate::config::{IdentitySection, JwtSection};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde::Serialize;
use std::collections::HashMap;

/// An authenticated requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub principal: String,
    pub agency: String,
    /// How the identity was proven: `mtls`, `jwt` or `api_key`.
    pub method: &'static str,
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
    #[error("the client certificate ({0}) is not registered: ask the operator to add it to identity.certificates")]
    UnknownCertificate(String),
}

/// The names a verified client certificate carries: its SANs, then its subject CN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertNames(pub Vec<String>);

/// Verifies credentials against the configured identities.
pub struct Authenticator {
    dev_mode: bool,
    api_keys: HashMap<String, Identity>,
    certs: HashMap<String, Identity>,
    jwt: Option<JwtVerifier>,
}

struct JwtVerifier {
    keys: JwkSet,
    issuer: String,
    audience: String,
    agency_claim: String,
}

/// Why the identity configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read JWKS file {path}")]
    ReadJwks {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("JWKS file {path} is not a JSON Web Key Set: {message}")]
    ParseJwks {
        path: std::path::PathBuf,
        message: String,
    },
}

impl Authenticator {
    pub fn new(cfg: &IdentitySection) -> Result<Self, IdentityError> {
        let ident = |principal: &str, agency: &str, method| Identity {
            principal: principal.to_owned(),
            agency: agency.to_owned(),
            method,
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
            .map(|c| (c.name.clone(), ident(&c.principal, &c.agency, "mtls")))
            .collect();
        let jwt = cfg.jwt.as_ref().map(JwtVerifier::load).transpose()?;
        Ok(Authenticator {
            dev_mode: cfg.dev_mode,
            api_keys,
            certs,
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
            .chain(self.certs.values())
            .map(|i| i.agency.as_str())
    }

    /// Authenticates one request. A verified client certificate wins; otherwise the
    /// bearer credential is a JWT (three dot-separated parts) or a development API key.
    pub fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        cert: Option<&CertNames>,
    ) -> Result<Identity, AuthError> {
        if let Some(names) = cert {
            return names
                .0
                .iter()
                .find_map(|n| self.certs.get(n))
                .cloned()
                .ok_or_else(|| AuthError::UnknownCertificate(names.0.join(", ")));
        }
        let raw = authorization.ok_or(AuthError::Missing)?;
        let token = bearer(raw)?;
        if token.split('.').count() == 3 {
            if let Some(jwt) = &self.jwt {
                return jwt.verify(token);
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

impl JwtVerifier {
    fn load(cfg: &JwtSection) -> Result<Self, IdentityError> {
        let text =
            std::fs::read_to_string(&cfg.jwks).map_err(|source| IdentityError::ReadJwks {
                path: cfg.jwks.clone(),
                source,
            })?;
        let keys: JwkSet = serde_json::from_str(&text).map_err(|e| IdentityError::ParseJwks {
            path: cfg.jwks.clone(),
            message: e.to_string(),
        })?;
        Ok(JwtVerifier {
            keys,
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            agency_claim: cfg.agency_claim.clone(),
        })
    }

    fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let bad = |m: &str| AuthError::BadToken(m.to_owned());
        let header = decode_header(token).map_err(|e| bad(&format!("malformed header: {e}")))?;
        let jwk = match &header.kid {
            Some(kid) => self.keys.find(kid),
            None if self.keys.keys.len() == 1 => self.keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| bad("its key id (kid) is not in the configured JWKS"))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(&format!("unusable JWK: {e}")))?;
        // The algorithm is pinned by the key, never chosen by the token alone.
        let alg = jwk
            .common
            .key_algorithm
            .and_then(|a| a.to_string().parse().ok())
            .unwrap_or(header.alg);
        let mut v = Validation::new(alg);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 30;
        let data = decode::<HashMap<String, serde_json::Value>>(token, &key, &v)
            .map_err(|e| bad(&e.to_string()))?;
        let claim = |name: &str| {
            data.claims
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let principal = claim("sub").ok_or_else(|| bad("it has no string `sub` claim"))?;
        let agency = claim(&self.agency_claim)
            .ok_or_else(|| bad(&format!("it has no string `{}` claim", self.agency_claim)))?;
        Ok(Identity {
            principal,
            agency,
            method: "jwt",
        })
    }
}
