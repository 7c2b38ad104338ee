//! The identity provider's signing keys (a JWKS): read from a file, or fetched over HTTPS
//! and fetched again when old or when a token names a key id not yet seen (key
//! rotation), at most once per `refetch_min_seconds`. Each key is checked once, when
//! read: only signature keys for a configured algorithm are ever used.
use crate::config::JwtSection;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1 << 20;
/// Longest a JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the JWKS configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read JWKS file {path}")]
    ReadJwks {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("JWKS file {path} is not a JSON Web Key Set: {message}")]
    ParseJwks { path: PathBuf, message: String },
    #[error("identity.jwt.jwks_url {url:?} is not usable: {message}")]
    Url { url: String, message: String },
    #[error("identity.jwt.jwks_ca {path}: {message}")]
    Ca { path: PathBuf, message: String },
}

/// A signature key ready to verify with.
pub struct Key {
    /// The algorithm the key is bound to by its `alg`, if it names one.
    pub alg: Option<Algorithm>,
    pub decoding: DecodingKey,
}

/// One JWKS entry: its key id, and the key or why it is not used.
struct Entry {
    kid: Option<String>,
    key: Result<Arc<Key>, String>,
}

/// The keys of one JWKS document.
#[derive(Default)]
pub struct KeySet {
    entries: Vec<Entry>,
}

/// What looking a key id up found.
pub enum Lookup {
    Found(Arc<Key>),
    /// The key exists but is not used, and why.
    Unusable(String),
    NotFound,
}

impl KeySet {
    /// Parses a JWKS document; keys this gateway must not use are kept with the reason,
    /// so a token naming one is refused with that reason.
    pub fn parse(text: &str, algorithms: &[Algorithm]) -> Result<KeySet, String> {
        #[derive(serde::Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        let doc: Doc = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let entries = doc
            .keys
            .into_iter()
            .map(|v| {
                let kid = v.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
                let key = serde_json::from_value::<Jwk>(v)
                    .map_err(|e| format!("it is not a JWK this gateway reads ({e})"))
                    .and_then(|jwk| usable(&jwk, algorithms))
                    .map(Arc::new);
                Entry { kid, key }
            })
            .collect();
        Ok(KeySet { entries })
    }

    /// The key a token's `kid` names; without a `kid`, the one signature key if there is
    /// exactly one.
    pub fn lookup(&self, kid: Option<&str>) -> Lookup {
        let found = match kid {
            Some(kid) => self.entries.iter().find(|e| e.kid.as_deref() == Some(kid)),
            None => {
                let mut usable = self.entries.iter().filter(|e| e.key.is_ok());
                match (usable.next(), usable.next()) {
                    (Some(one), None) => Some(one),
                    _ => None,
                }
            }
        };
        match found.map(|e| &e.key) {
            Some(Ok(k)) => Lookup::Found(k.clone()),
            Some(Err(why)) => Lookup::Unusable(why.clone()),
            None => Lookup::NotFound,
        }
    }
}

/// A JWK is used only to verify signatures, only with a configured algorithm, and never
/// as a shared secret.
fn usable(jwk: &Jwk, algorithms: &[Algorithm]) -> Result<Key, String> {
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(PublicKeyUse::Encryption) => {
            return Err("the key is marked use=enc: it is for encryption, not signatures".into())
        }
        Some(PublicKeyUse::Other(u)) => {
            return Err(format!("the key is marked use={u}, not use=sig"))
        }
    }
    if let Some(ops) = &jwk.common.key_operations {
        if !ops.iter().any(|o| matches!(o, KeyOperations::Verify)) {
            return Err("the key's key_ops do not include verify".into());
        }
    }
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return Err("the key is a shared secret (kty oct), which is never accepted".into());
    }
    let alg = match &jwk.common.key_algorithm {
        None => None,
        Some(a) => {
            let name = a.to_string();
            let alg = Algorithm::from_str(&name)
                .map_err(|_| format!("the key's alg {name} is not a signature algorithm"))?;
            if !algorithms.contains(&alg) {
                return Err(format!(
                    "the key's alg {name} is not in identity.jwt.algorithms"
                ));
            }
            Some(alg)
        }
    };
    let decoding =
        DecodingKey::from_jwk(jwk).map_err(|e| format!("the key cannot be used ({e})"))?;
    Ok(Key { alg, decoding })
}

/// Where the keys come from.
pub enum Source {
    File(Arc<KeySet>),
    Remote(Box<Remote>),
}

impl Source {
    pub fn new(cfg: &JwtSection, algorithms: &[Algorithm]) -> Result<Source, JwksError> {
        match (&cfg.jwks, &cfg.jwks_url) {
            (Some(path), _) => read_file(path, algorithms).map(|k| Source::File(Arc::new(k))),
            (None, Some(url)) => {
                Remote::new(cfg, url, algorithms).map(|r| Source::Remote(Box::new(r)))
            }
            // The config check requires one of them.
            (None, None) => Ok(Source::File(Arc::default())),
        }
    }
}

fn read_file(path: &std::path::Path, algorithms: &[Algorithm]) -> Result<KeySet, JwksError> {
    let text = std::fs::read_to_string(path).map_err(|source| JwksError::ReadJwks {
        path: path.to_owned(),
        source,
    })?;
    KeySet::parse(&text, algorithms).map_err(|message| JwksError::ParseJwks {
        path: path.to_owned(),
        message,
    })
}

/// The state of a fetched JWKS.
struct Fetched {
    keys: Arc<KeySet>,
    /// When the keys now held were fetched; `None` before the first success.
    at: Option<Instant>,
    /// When a fetch was last tried, successful or not.
    tried: Option<Instant>,
    /// Counts fetches, so a request that waited for another's fetch uses its result.
    generation: u64,
    last_error: Option<String>,
}

/// A JWKS at an HTTPS URL.
pub struct Remote {
    url: hyper::Uri,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    algorithms: Vec<Algorithm>,
    refresh: Duration,
    refetch_min: Duration,
    state: RwLock<Fetched>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl Remote {
    fn new(cfg: &JwtSection, url: &str, algorithms: &[Algorithm]) -> Result<Remote, JwksError> {
        let uri: hyper::Uri = url.parse().map_err(|e| JwksError::Url {
            url: url.to_owned(),
            message: format!("{e}"),
        })?;
        Ok(Remote {
            url: uri,
            // No pooled connections: a pooled one is driven by the serving thread that
            // opened it, and a fetch from another thread would wait on that one. Fetches
            // are rare (refresh_seconds), so each opens its own.
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build(connector(cfg)?),
            algorithms: algorithms.to_vec(),
            refresh: Duration::from_secs(cfg.refresh_seconds),
            refetch_min: Duration::from_secs(cfg.refetch_min_seconds),
            state: RwLock::new(Fetched {
                keys: Arc::default(),
                at: None,
                tried: None,
                generation: 0,
                last_error: None,
            }),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Fetched> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The keys to verify with, fetched first if none are held or they are older than
    /// `refresh_seconds`, and the generation they belong to. A failed fetch keeps the
    /// keys held (and is retried after `refetch_min_seconds`, or `refresh_seconds` if
    /// shorter); with none held, it says why no key is known.
    pub async fn keys(&self) -> Result<(Arc<KeySet>, u64), String> {
        {
            let s = self.read();
            if !self.due(&s) {
                return self.held(&s);
            }
        }
        let _one = self.fetching.lock().await;
        let generation = {
            let s = self.read();
            if !self.due(&s) {
                return self.held(&s);
            }
            s.generation
        };
        self.fetch(generation).await;
        self.held(&self.read())
    }

    /// After a token named a key id the keys of `generation` lack: the keys again, fetched
    /// anew unless another request already did or one was fetched too recently.
    pub async fn after_unknown_kid(&self, generation: u64) -> Result<Arc<KeySet>, String> {
        let _one = self.fetching.lock().await;
        {
            let s = self.read();
            if s.generation != generation || self.too_soon(&s) {
                return self.held(&s).map(|(k, _)| k);
            }
        }
        self.fetch(generation).await;
        self.held(&self.read()).map(|(k, _)| k)
    }

    /// Whether a scheduled fetch is due: none yet, the keys are old, or the last fetch
    /// failed long enough ago.
    fn due(&self, s: &Fetched) -> bool {
        let Some(tried) = s.tried else {
            return true;
        };
        let wait = match s.last_error {
            Some(_) => self.refetch_min.min(self.refresh),
            None => self.refresh,
        };
        tried.elapsed() >= wait
    }

    fn too_soon(&self, s: &Fetched) -> bool {
        s.tried.is_some_and(|t| t.elapsed() < self.refetch_min)
    }

    fn held(&self, s: &Fetched) -> Result<(Arc<KeySet>, u64), String> {
        match (s.at, &s.last_error) {
            (None, Some(e)) => Err(format!(
                "the identity provider's keys could not be fetched from {} ({e}); Cordon tries again within {} s",
                self.url,
                self.refetch_min.as_secs()
            )),
            _ => Ok((s.keys.clone(), s.generation)),
        }
    }

    async fn fetch(&self, generation: u64) {
        let result = self.get().await;
        let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
        s.tried = Some(Instant::now());
        s.generation = generation + 1;
        match result {
            Ok(keys) => {
                s.keys = Arc::new(keys);
                s.at = Some(Instant::now());
                s.last_error = None;
                tracing::info!(url = %self.url, "fetched the identity provider's keys");
            }
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "cannot fetch the identity provider's keys; keeping the keys held");
                s.last_error = Some(e);
            }
        }
    }

    async fn get(&self) -> Result<KeySet, String> {
        let req = hyper::Request::get(self.url.clone())
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let fetch = async {
            let resp = self.client.request(req).await.map_err(|e| {
                use std::error::Error;
                let mut m = e.to_string();
                let mut src = e.source();
                while let Some(s) = src {
                    m = format!("{m}: {s}");
                    src = s.source();
                }
                m
            })?;
            if resp.status() != hyper::StatusCode::OK {
                return Err(format!("it answered {}", resp.status()));
            }
            let body = Limited::new(resp.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?;
            Ok(body.to_bytes())
        };
        let bytes = tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))??;
        let text = std::str::from_utf8(&bytes).map_err(|_| "the answer is not UTF-8".to_owned())?;
        KeySet::parse(text, &self.algorithms)
            .map_err(|e| format!("the answer is not a JSON Web Key Set: {e}"))
    }
}

/// HTTPS only, trusting `jwks_ca` when given and the system's roots otherwise.
fn connector(cfg: &JwtSection) -> Result<HttpsConnector<HttpConnector>, JwksError> {
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.jwks_ca {
        Some(path) => {
            let ca = |message: String| JwksError::Ca {
                path: path.clone(),
                message,
            };
            let certs = crate::tls::read_certs(path).map_err(|e| ca(e.to_string()))?;
            for c in certs {
                roots.add(c).map_err(|e| ca(e.to_string()))?;
            }
        }
        None => {
            // Unreadable system certificates leave fewer roots: the fetch then fails
            // with a certificate error naming the identity provider.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| JwksError::Url {
            url: cfg.jwks_url.clone().unwrap_or_default(),
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(FETCH_TIMEOUT));
    http.enforce_http(false);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(http))
}
