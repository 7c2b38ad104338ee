//! HTTPS upstreams: verified TLS (the CA and the name checked), mutual TLS, pooled
//! kept-alive connections, and timeouts. A certificate that does not verify is a 502
//! naming the reason and nothing reaches the upstream; a slow upstream is a 504 saying
//! which timeout ran out. Each test ends by matching what the upstream received to the
//! log's allows.
#![allow(clippy::unwrap_used)]
mod common;
use common::pki::{self, Ca};
use common::{assert_served_as_logged, Harness, CPD, DEV_IDENTITY};
use cordon_gateway::config::UpstreamSection;
use cordon_gateway::sample::Hits;
use rcgen::SanType;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The PKI files Cordon reads, in their own folder.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// The sample service over TLS with a certificate for `san` from `ca`; with `client_ca`,
/// a client certificate from that CA is required.
async fn tls_upstream(ca: &Ca, san: SanType, client_ca: Option<&Ca>) -> (SocketAddr, Arc<Hits>) {
    serve_tls(pki::leaf(ca, san, false), client_ca).await
}

/// The sample service over TLS with the given certificate and key.
async fn serve_tls(
    (cert, key): (rcgen::Certificate, rcgen::KeyPair),
    client_ca: Option<&Ca>,
) -> (SocketAddr, Arc<Hits>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(c) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(c.cert.der().clone()).unwrap();
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(v)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    pki::serve_sample_tls(config).await
}

/// A gateway whose upstream is `section`.
async fn gateway(section: UpstreamSection) -> Harness {
    Harness::start_tweaked(
        DEV_IDENTITY,
        "",
        "nginx",
        |_| {},
        |c| c.upstream = Some(section),
    )
    .await
}

fn https(url: String, ca: Option<PathBuf>) -> UpstreamSection {
    UpstreamSection {
        ca,
        ..UpstreamSection::from_url(&url)
    }
}

/// Stops the gateway and checks that every request `hits` saw matches one allow.
async fn finish(h: Harness, hits: &Hits) {
    let (dir, verifier, _) = h.stop().await;
    assert_served_as_logged(&dir.path().join("log"), &verifier, hits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_signed_by_the_configured_ca_is_served_over_one_kept_alive_connection() {
    let files = Files::new();
    let ca = pki::ca("Records CA");
    let (addr, hits) = tls_upstream(&ca, pki::dns("localhost"), None).await;
    let ca_file = files.write("records-ca.pem", &ca.cert.pem());
    let h = gateway(https(
        format!("https://localhost:{}", addr.port()),
        Some(ca_file),
    ))
    .await;
    for _ in 0..3 {
        let r = h.get("/alpr/plates/FAKE123", &CPD).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["plate"], "FAKE123");
    }
    assert_eq!(hits.total.load(Ordering::SeqCst), 3);
    assert_eq!(
        hits.connections.load(Ordering::SeqCst),
        1,
        "the three requests share one pooled, kept-alive TLS connection"
    );
    finish(h, &hits).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_presents_the_configured_client_certificate_and_without_it_is_a_502() {
    let files = Files::new();
    let ca = pki::ca("Records CA");
    let clients = pki::ca("Records clients CA");
    let (addr, hits) = tls_upstream(&ca, pki::dns("records.city.test"), Some(&clients)).await;
    let (cert, key) = pki::leaf(&clients, pki::dns("cordon.city.test"), true);
    let ca_file = files.write("records-ca.pem", &ca.cert.pem());
    // The URL names an address; the certificate names the service.
    let url = format!("https://127.0.0.1:{}", addr.port());
    let with_cert = UpstreamSection {
        client_cert: Some(files.write("cordon.pem", &cert.pem())),
        client_key: Some(files.write("cordon.key", &key.serialize_pem())),
        server_name: Some("records.city.test".into()),
        ..https(url.clone(), Some(ca_file.clone()))
    };
    let h = gateway(with_cert).await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 200, "{}", r.text());
    finish(h, &hits).await;
    assert_eq!(hits.total.load(Ordering::SeqCst), 1);

    // A client certificate the upstream does not trust: it refuses the connection.
    let stranger = pki::ca("Someone else's clients CA");
    let (cert, key) = pki::leaf(&stranger, pki::dns("cordon.city.test"), true);
    let untrusted = UpstreamSection {
        client_cert: Some(files.write("stranger.pem", &cert.pem())),
        client_key: Some(files.write("stranger.key", &key.serialize_pem())),
        server_name: Some("records.city.test".into()),
        ..https(url.clone(), Some(ca_file.clone()))
    };
    let h = gateway(untrusted).await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("upstream.client_cert"),
        "{}",
        r.text()
    );
    finish(h, &hits).await;

    let without = UpstreamSection {
        server_name: Some("records.city.test".into()),
        ..https(url, Some(ca_file))
    };
    let h = gateway(without).await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("client certificate"),
        "{}",
        r.text()
    );
    assert!(r.header("cordon-receipt").is_some(), "the allow is logged");
    finish(h, &hits).await;
    assert_eq!(hits.total.load(Ordering::SeqCst), 1, "nothing more served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_a_502_naming_the_reason() {
    let files = Files::new();
    let trusted = pki::ca("Records CA");
    let rogue = pki::ca("Someone else's CA");
    let (addr, hits) = tls_upstream(&rogue, pki::dns("localhost"), None).await;
    let ca_file = files.write("records-ca.pem", &trusted.cert.pem());
    let h = gateway(https(
        format!("https://localhost:{}", addr.port()),
        Some(ca_file),
    ))
    .await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 502, "{}", r.text());
    let error = r.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("certificate did not verify"), "{error}");
    assert!(
        error.contains("not signed by a CA Cordon trusts"),
        "{error}"
    );
    assert!(r.json()["what_to_do"]
        .as_str()
        .unwrap()
        .contains("upstream.ca"));
    assert_eq!(hits.total.load(Ordering::SeqCst), 0);
    finish(h, &hits).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_a_502_naming_the_reason() {
    let files = Files::new();
    let ca = pki::ca("Records CA");
    let (addr, hits) = tls_upstream(&ca, pki::dns("records.other.test"), None).await;
    let ca_file = files.write("records-ca.pem", &ca.cert.pem());
    let h = gateway(https(
        format!("https://localhost:{}", addr.port()),
        Some(ca_file),
    ))
    .await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 502, "{}", r.text());
    let error = r.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("does not name the host"), "{error}");
    assert!(error.contains("records.other.test"), "{error}");
    assert_eq!(hits.total.load(Ordering::SeqCst), 0);
    finish(h, &hits).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_a_502_naming_the_reason() {
    let files = Files::new();
    let ca = pki::ca("Records CA");
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    p.not_before = rcgen::date_time_ymd(2019, 1, 1);
    p.not_after = rcgen::date_time_ymd(2020, 1, 1);
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    let (addr, hits) = serve_tls((cert, key), None).await;
    let ca_file = files.write("records-ca.pem", &ca.cert.pem());
    let h = gateway(https(
        format!("https://localhost:{}", addr.port()),
        Some(ca_file),
    ))
    .await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.json()["error"].as_str().unwrap().contains("expired"),
        "{}",
        r.text()
    );
    assert_eq!(hits.total.load(Ordering::SeqCst), 0);
    finish(h, &hits).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_that_answers_in_plain_http_is_a_502_never_a_downgrade() {
    let files = Files::new();
    let ca = pki::ca("Records CA");
    let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = plain.local_addr().unwrap();
    let hits = Arc::new(Hits::default());
    tokio::spawn(cordon_gateway::sample::serve(plain, hits.clone()));
    let ca_file = files.write("records-ca.pem", &ca.cert.pem());
    let h = gateway(https(
        format!("https://localhost:{}", addr.port()),
        Some(ca_file),
    ))
    .await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.json()["error"].as_str().unwrap().contains("TLS"),
        "{}",
        r.text()
    );
    assert_eq!(hits.total.load(Ordering::SeqCst), 0);
    finish(h, &hits).await;
}

/// An upstream that accepts connections and then, per connection, does `stall`.
async fn stalling_upstream(answer: Option<&'static [u8]>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                if let Some(bytes) = answer {
                    let _ = tcp.write_all(bytes).await;
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    addr
}

fn timeouts(url: String, connect: u64, header: u64, body: u64) -> UpstreamSection {
    UpstreamSection {
        connect_timeout_ms: connect,
        header_timeout_ms: header,
        body_timeout_ms: body,
        ..UpstreamSection::from_url(&url)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_is_a_504_saying_which_timeout_ran_out() {
    let silent = stalling_upstream(None).await;
    let h = gateway(timeouts(format!("http://{silent}"), 2000, 300, 5000)).await;
    let started = std::time::Instant::now();
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the header timeout"
    );
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("header_timeout_ms"));
    assert!(r.json()["what_to_do"]
        .as_str()
        .unwrap()
        .contains("try again later"));
    assert!(r.header("cordon-receipt").is_some());
    h.stop().await;

    let half = stalling_upstream(Some(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"plate\":",
    ))
    .await;
    let h = gateway(timeouts(format!("http://{half}"), 2000, 2000, 300)).await;
    let started = std::time::Instant::now();
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the body timeout"
    );
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("body_timeout_ms"));
    assert!(
        !r.text().contains("plate\":"),
        "nothing of the partial answer is sent"
    );
    h.stop().await;

    // Accepts TCP but never finishes the TLS handshake: the connect timeout covers it.
    let mute = stalling_upstream(None).await;
    let h = gateway(timeouts(
        format!("https://localhost:{}", mute.port()),
        300,
        5000,
        5000,
    ))
    .await;
    let started = std::time::Instant::now();
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("connect_timeout_ms"),
        "{}",
        r.text()
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the connect timeout"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_refuses_connections_is_a_502() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let h = gateway(UpstreamSection::from_url(&format!("http://{addr}"))).await;
    let r = h.get("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{}",
        r.text()
    );
    h.stop().await;
}
