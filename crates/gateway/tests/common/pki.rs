//! Certificates for the tests: CAs, client and server leaves, revocation lists, an HTTPS
//! client that presents a chosen certificate, and Ed25519 tokens.
#![allow(clippy::unwrap_used, dead_code)]
use cordon_gateway::wire::{self, Reply};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, RevokedCertParams, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Ca {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

pub fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

/// A leaf with the given SANs, subject CN and serial number.
pub fn leaf_with(
    ca: &Ca,
    sans: Vec<SanType>,
    cn: &str,
    client: bool,
    serial: u64,
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.subject_alt_names = sans;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.serial_number = Some(SerialNumber::from(serial));
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    (p.signed_by(&key, &ca.cert, &ca.key).unwrap(), key)
}

pub fn leaf(ca: &Ca, san: SanType, client: bool) -> (rcgen::Certificate, KeyPair) {
    leaf_with(ca, vec![san], "leaf", client, 1)
}

pub fn email(s: &str) -> SanType {
    SanType::Rfc822Name(s.try_into().unwrap())
}

pub fn dns(s: &str) -> SanType {
    SanType::DnsName(s.try_into().unwrap())
}

/// A CRL from `ca` revoking the given serial numbers, in PEM.
pub fn crl(ca: &Ca, revoked: &[u64]) -> String {
    let params = CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2099, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params.signed_by(&ca.cert, &ca.key).unwrap().pem().unwrap()
}

/// A server certificate for `localhost` from `ca`, as (cert PEM, key PEM).
pub fn localhost(ca: &Ca) -> (String, String) {
    let (c, k) = leaf(ca, dns("localhost"), false);
    (c.pem(), k.serialize_pem())
}

/// One HTTPS GET of `path` to `addr` (trusting `server_ca`), optionally presenting a
/// client certificate.
pub async fn https_get(
    addr: SocketAddr,
    server_ca: &Ca,
    client: Option<(&rcgen::Certificate, &KeyPair)>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_ca.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => b
            .with_client_auth_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    // With TLS 1.3 the server judges the client's certificate after the client has
    // finished its handshake: a refusal arrives as an alert on the first read.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let raw = wire::request("GET", path, headers);
    tls.write_all(&raw).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    if let Err(e) = tls.read_to_end(&mut buf).await {
        if buf.is_empty() {
            return Err(e.to_string());
        }
    }
    wire::parse(&buf).map_err(|e| e.to_string())
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The JWK of an Ed25519 key.
pub fn ed25519_jwk(key: &KeyPair, kid: &str) -> serde_json::Value {
    use base64::Engine;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.public_key_raw());
    serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig", "x": x})
}

/// A token signed with an Ed25519 key, naming `kid`.
pub fn ed25519_token(key: &KeyPair, kid: &str, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    encode(
        &header,
        claims,
        &EncodingKey::from_ed_der(&key.serialize_der()),
    )
    .unwrap()
}

pub const ISSUER: &str = "https://idp.cordon.test";
pub const AUDIENCE: &str = "cordon-gateway";

/// Claims of a token for `sub` of `agency`, valid for five minutes.
pub fn claims(sub: &str, agency: &str) -> serde_json::Value {
    serde_json::json!({"sub": sub, "agency": agency, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300})
}

/// The sample service behind TLS with `config`, on a loopback port; every request it
/// serves is counted in the returned hits.
pub async fn serve_sample_tls(
    config: rustls::ServerConfig,
) -> (std::net::SocketAddr, Arc<cordon_gateway::sample::Hits>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(cordon_gateway::sample::Hits::default());
    let served = hits.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let hits = served.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    cordon_gateway::sample::serve_connection(tls, hits).await;
                }
            });
        }
    });
    (addr, hits)
}
