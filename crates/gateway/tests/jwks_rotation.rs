//! A JWKS fetched from the identity provider over HTTPS: a rotated key becomes known when
//! a token first names it, unknown key ids cannot make Cordon hammer the provider, keys
//! are fetched again when old, and a provider whose certificate the configured CA did
//! not sign is not believed.
#![allow(clippy::unwrap_used)]
mod common;
use common::pki::{self, ca, claims, Ca};
use common::Harness;
use rcgen::KeyPair;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A pretend identity provider serving whatever JWKS it currently holds.
struct Idp {
    addr: SocketAddr,
    ca: Ca,
    jwks: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

impl Idp {
    async fn start(keys: &[(&KeyPair, &str)]) -> Idp {
        let ca = ca("idp ca");
        let (cert, key) = pki::leaf(&ca, pki::dns("localhost"), false);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = Idp {
            addr: listener.local_addr().unwrap(),
            ca,
            jwks: Arc::new(Mutex::new(String::new())),
            fetches: Arc::default(),
        };
        idp.publish(keys);
        let (jwks, fetches) = (idp.jwks.clone(), idp.fetches.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, jwks, fetches) = (acceptor.clone(), jwks.clone(), fetches.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |_req| {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let body = jwks.lock().unwrap().clone();
                        async move {
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from(body)),
                            ))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        idp
    }

    /// Replaces the published keys (a rotation).
    fn publish(&self, keys: &[(&KeyPair, &str)]) {
        let keys: Vec<_> = keys
            .iter()
            .map(|(k, kid)| pki::ed25519_jwk(k, kid))
            .collect();
        *self.jwks.lock().unwrap() = serde_json::json!({ "keys": keys }).to_string();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn identity(&self, refresh: u64, refetch_min: u64) -> String {
        format!(
            r#"
[identity]
[identity.jwt]
jwks_url = "https://localhost:{}/.well-known/jwks.json"
jwks_ca = "idp-ca.pem"
refresh_seconds = {refresh}
refetch_min_seconds = {refetch_min}
algorithms = ["EdDSA"]
issuer = "https://idp.cordon.test"
audience = "cordon-gateway"
"#,
            self.addr.port()
        )
    }
}

fn ed25519() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap()
}

async fn gateway(idp: &Idp, refresh: u64, refetch_min: u64, trusted_ca: &Ca) -> Harness {
    let ca_pem = trusted_ca.cert.pem();
    Harness::start_with(&idp.identity(refresh, refetch_min), "", move |dir| {
        std::fs::write(dir.join("idp-ca.pem"), ca_pem).unwrap();
    })
    .await
}

async fn ask(h: &Harness, key: &KeyPair, kid: &str) -> (u16, String) {
    let auth = format!(
        "Bearer {}",
        pki::ed25519_token(key, kid, &claims("det-0417", "cpd"))
    );
    let r = h
        .get(
            "/alpr/plates/FAKE123",
            &[
                ("Authorization", &auth),
                ("Cordon-Purpose", "criminal_investigation"),
                ("Cordon-Reason", "burglary"),
            ],
        )
        .await;
    let err = r.json()["error"].as_str().unwrap_or_default().to_owned();
    (r.status, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_when_a_token_first_names_it() {
    let (k1, k2) = (ed25519(), ed25519());
    let idp = Idp::start(&[(&k1, "k1")]).await;
    let h = gateway(&idp, 3600, 0, &idp.ca).await;
    assert_eq!(ask(&h, &k1, "k1").await.0, 200);
    assert_eq!(idp.fetches(), 1);
    idp.publish(&[(&k2, "k2")]);
    assert_eq!(ask(&h, &k2, "k2").await.0, 200, "the new key is fetched");
    assert_eq!(idp.fetches(), 2);
    let (status, err) = ask(&h, &k1, "k1").await;
    assert_eq!(status, 401, "the retired key is gone");
    assert!(err.contains("\"k1\" is not among"), "{err}");
    assert_eq!(h.upstream_hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_key_ids_cannot_make_cordon_hammer_the_identity_provider() {
    let (k1, k2) = (ed25519(), ed25519());
    let idp = Idp::start(&[(&k1, "k1")]).await;
    let h = gateway(&idp, 3600, 3600, &idp.ca).await;
    assert_eq!(ask(&h, &k1, "k1").await.0, 200);
    idp.publish(&[(&k1, "k1"), (&k2, "k2")]);
    for i in 0..10 {
        let (status, err) = ask(&h, &k2, &format!("made-up-{i}")).await;
        assert_eq!(status, 401);
        assert!(err.contains("is not among"), "{err}");
    }
    assert_eq!(
        idp.fetches(),
        1,
        "at most one fetch per refetch_min_seconds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_fetched_again_once_older_than_refresh_seconds() {
    let (k1, k2) = (ed25519(), ed25519());
    let idp = Idp::start(&[(&k1, "k1")]).await;
    let h = gateway(&idp, 1, 3600, &idp.ca).await;
    assert_eq!(ask(&h, &k1, "k1").await.0, 200);
    idp.publish(&[(&k2, "k2")]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(ask(&h, &k2, "k2").await.0, 200);
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_provider_the_configured_ca_did_not_certify_is_not_believed() {
    let k1 = ed25519();
    let idp = Idp::start(&[(&k1, "k1")]).await;
    let h = gateway(&idp, 3600, 60, &ca("some other ca")).await;
    let (status, err) = ask(&h, &k1, "k1").await;
    assert_eq!(status, 401);
    assert!(err.contains("could not be fetched"), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(idp.fetches(), 0);
    assert_eq!(h.upstream_hits(), 0);
}
