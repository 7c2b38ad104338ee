//! Identity over HTTPS: mutual TLS with generated certificates, and OIDC/JWT bearer
//! tokens checked for signature, issuer, audience and expiry against a JWKS file.
#![allow(clippy::unwrap_used)]
mod common;
use base64::Engine;
use common::Harness;
use cordon_gateway::wire::{self, Reply};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

fn leaf(ca: &Ca, san: SanType, client: bool) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.subject_alt_names = vec![san];
    p.distinguished_name.push(DnType::CommonName, "leaf");
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    (p.signed_by(&key, &ca.cert, &ca.key).unwrap(), key)
}

fn email(s: &str) -> SanType {
    SanType::Rfc822Name(s.try_into().unwrap())
}

const ISSUER: &str = "https://idp.cordon.test";
const AUDIENCE: &str = "cordon-gateway";

fn identity_section() -> String {
    r#"
[identity]
dev_mode = false

[identity.jwt]
jwks = "jwks.json"
issuer = "https://idp.cordon.test"
audience = "cordon-gateway"
agency_claim = "agency"

[[identity.certificates]]
name = "det-0417@cpd.example"
principal = "cpd-detective-0417"
agency = "cpd"

[[identity.certificates]]
name = "officer-12@ice.example"
principal = "ice-ero-officer-12"
agency = "ice-ero"
"#
    .into()
}

const TLS: &str = r#"
[tls]
cert = "server.pem"
key = "server.key"
client_ca = "client-ca.pem"
"#;

struct Pki {
    server_ca: Ca,
    client_ca: Ca,
    jwt_key: KeyPair,
}

fn write_pki(dir: &Path, pki: &Pki) {
    let (srv, srv_key) = leaf(
        &pki.server_ca,
        SanType::DnsName("localhost".try_into().unwrap()),
        false,
    );
    std::fs::write(dir.join("server.pem"), srv.pem()).unwrap();
    std::fs::write(dir.join("server.key"), srv_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("client-ca.pem"), pki.client_ca.cert.pem()).unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pki.jwt_key.public_key_raw());
    let jwks = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "x": x}]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
}

async fn start() -> (Harness, Arc<Pki>) {
    let pki = Arc::new(Pki {
        server_ca: ca("server ca"),
        client_ca: ca("client ca"),
        jwt_key: KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
    });
    let p = pki.clone();
    let h = Harness::start_with(&identity_section(), TLS, move |dir| write_pki(dir, &p)).await;
    (h, pki)
}

async fn https(
    h: &Harness,
    pki: &Pki,
    client: Option<(&rcgen::Certificate, &KeyPair)>,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.server_ca.cert.der().clone()).unwrap();
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
    let tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let raw = wire::request("GET", "/alpr/plates/FAKE123", headers);
    wire::exchange(tls, &raw).await.map_err(|e| e.to_string())
}

const PURPOSE: [(&str, &str); 2] = [
    ("Cordon-Purpose", "criminal_investigation"),
    ("Cordon-Reason", "burglary"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_client_certificate_is_the_identity_and_is_logged_as_mtls() {
    let (h, pki) = start().await;
    let (cert, key) = leaf(&pki.client_ca, email("det-0417@cpd.example"), true);
    let r = https(&h, &pki, Some((&cert, &key)), &PURPOSE)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let receipt: u64 = r.header("cordon-receipt").unwrap().parse().unwrap();
    let (ice, ice_key) = leaf(&pki.client_ca, email("officer-12@ice.example"), true);
    let r = https(&h, &pki, Some((&ice, &ice_key)), &PURPOSE)
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let (dir, verifier, _) = h.stop().await;
    let e = common::entry(&dir.path().join("log"), &verifier, receipt);
    assert_eq!(e["auth"], "mtls");
    assert_eq!(e["request"]["principal"]["id"], "cpd-detective-0417");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_from_another_ca_or_not_registered_are_refused() {
    let (h, pki) = start().await;
    let rogue = ca("rogue ca");
    let (cert, key) = leaf(&rogue, email("det-0417@cpd.example"), true);
    let r = https(&h, &pki, Some((&cert, &key)), &PURPOSE).await;
    assert!(
        r.is_err() || r.as_ref().is_ok_and(|r| r.status != 200),
        "{r:?}"
    );
    let (cert, key) = leaf(&pki.client_ca, email("stranger@cpd.example"), true);
    let r = https(&h, &pki, Some((&cert, &key)), &PURPOSE)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("stranger@cpd.example"));
    assert_eq!(h.upstream_hits(), 0);
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(key: &KeyPair, claims: serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(&key.serialize_der()),
    )
    .unwrap()
}

fn claims(agency: &str, iss: &str, aud: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({"sub": "det-0417", "agency": agency, "iss": iss, "aud": aud, "exp": exp})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_jwt_is_the_identity_and_its_agency_claim_is_looked_up_in_the_registry() {
    let (h, pki) = start().await;
    let t = token(&pki.jwt_key, claims("cpd", ISSUER, AUDIENCE, now() + 300));
    let auth = format!("Bearer {t}");
    let mut headers = PURPOSE.to_vec();
    headers.push(("Authorization", &auth));
    let r = https(&h, &pki, None, &headers).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let t = token(
        &pki.jwt_key,
        claims("ice-ero", ISSUER, AUDIENCE, now() + 300),
    );
    let auth = format!("Bearer {t}");
    headers[2] = ("Authorization", &auth);
    assert_eq!(https(&h, &pki, None, &headers).await.unwrap().status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_misaddressed_forged_or_malformed_tokens_are_refused_with_401() {
    let (h, pki) = start().await;
    let other = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let none_alg = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(claims("cpd", ISSUER, AUDIENCE, now() + 300).to_string())
    );
    let cases = [
        (
            "expired",
            token(&pki.jwt_key, claims("cpd", ISSUER, AUDIENCE, now() - 3600)),
            "Expired",
        ),
        (
            "wrong audience",
            token(
                &pki.jwt_key,
                claims("cpd", ISSUER, "someone-else", now() + 300),
            ),
            "Audience",
        ),
        (
            "wrong issuer",
            token(
                &pki.jwt_key,
                claims("cpd", "https://evil.test", AUDIENCE, now() + 300),
            ),
            "Issuer",
        ),
        (
            "forged",
            token(&other, claims("cpd", ISSUER, AUDIENCE, now() + 300)),
            "Signature",
        ),
        ("alg none", none_alg, "refused"),
        ("garbage", "a.b.c".to_string(), "malformed"),
    ];
    for (what, t, says) in cases {
        let auth = format!("Bearer {t}");
        let mut headers = PURPOSE.to_vec();
        headers.push(("Authorization", &auth));
        let r = https(&h, &pki, None, &headers).await.unwrap();
        assert_eq!(r.status, 401, "{what}: {}", r.text());
        let err = r.json()["error"].as_str().unwrap().to_string();
        assert!(err.contains(says), "{what}: {err}");
    }
    let r = https(&h, &pki, None, &[("Authorization", "Bearer demo-cpd")])
        .await
        .unwrap();
    assert_eq!(
        r.status, 401,
        "API keys are refused outside development mode"
    );
    assert_eq!(h.upstream_hits(), 0);
}
