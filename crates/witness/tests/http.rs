//! A witness over real HTTP: what it cosigns, what it refuses and with which status, and
//! that what it cosigned survives a restart.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use cordon_log::hash::{empty_root, leaf_hash, list_root};
use cordon_log::merkle::{consistency_proof, HashSource, ProofError};
use cordon_log::witness::Witness;
use cordon_log::{Checkpoint, Hash, Signer};
use cordon_witness::client::verified_cosignature;
use cordon_witness::server::WitnessService;
use cordon_witness::{AddCheckpoint, ClientError, WitnessClient};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const ORIGIN: &str = "city.example/cordon";

struct Mem(Vec<Hash>);
impl HashSource for Mem {
    type Error = ProofError;
    fn node(&mut self, h: u32, i: u64) -> Result<Hash, ProofError> {
        let s = (i << h) as usize;
        Ok(list_root(&self.0[s..s + (1 << h)]))
    }
}

fn tree(tag: &str) -> Mem {
    Mem((0..64u32)
        .map(|i| leaf_hash(format!("{tag}{i}").as_bytes()))
        .collect())
}

fn signed(log: &Signer, t: &Mem, size: u64) -> Vec<u8> {
    let root = if size == 0 {
        empty_root()
    } else {
        list_root(&t.0[..size as usize])
    };
    Checkpoint {
        origin: log.name().into(),
        size,
        root,
        extensions: vec![],
    }
    .sign(log)
    .to_bytes()
}

fn request(log: &Signer, t: &mut Mem, old: u64, size: u64) -> AddCheckpoint {
    AddCheckpoint {
        old_size: old,
        proof: consistency_proof(t, old, size).unwrap(),
        checkpoint: signed(log, t, size),
    }
}

/// A witness serving on a free port until the returned sender is dropped or fired.
struct Running {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.done.await.unwrap();
    }
}

async fn start(key: &Signer, log: &Signer, state: &std::path::Path) -> Running {
    let witness = Witness::open(key.clone(), vec![log.verifier()], state).unwrap();
    let service = WitnessService::new(witness, &state.join("cosigned"), "/w").unwrap();
    let service = Arc::new(service);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/w", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        cordon_witness::server::serve(service, listener, async {
            let _ = rx.await;
        })
        .await;
    });
    Running {
        url,
        stop: Some(tx),
        done,
    }
}

struct Fixture {
    log: Signer,
    key: Signer,
    state: tempfile::TempDir,
    client: WitnessClient,
}

fn fixture() -> Fixture {
    Fixture {
        log: Signer::generate(ORIGIN).unwrap(),
        key: Signer::generate_cosigner("witness.example/w1").unwrap(),
        state: tempfile::tempdir().unwrap(),
        client: WitnessClient::new(Duration::from_secs(5)),
    }
}

#[tokio::test]
async fn cosigns_a_good_checkpoint_and_a_consistent_extension() {
    let f = fixture();
    let w = start(&f.key, &f.log, f.state.path()).await;
    let mut t = tree("a");
    let req = request(&f.log, &mut t, 0, 10);
    let lines = f.client.add_checkpoint(&w.url, &req).await.unwrap();
    let cosig = verified_cosignature(&req.checkpoint, &lines, &f.key.verifier()).unwrap();
    assert_eq!(cosig.name, "witness.example/w1");

    let req = request(&f.log, &mut t, 10, 37);
    let lines = f.client.add_checkpoint(&w.url, &req).await.unwrap();
    verified_cosignature(&req.checkpoint, &lines, &f.key.verifier()).unwrap();
    // A cosignature is for the checkpoint it was given, not another.
    assert!(verified_cosignature(&signed(&f.log, &t, 36), &lines, &f.key.verifier()).is_err());
    w.stop().await;
}

#[tokio::test]
async fn refuses_a_rewound_checkpoint_with_409_and_its_size() {
    let f = fixture();
    let w = start(&f.key, &f.log, f.state.path()).await;
    let mut t = tree("a");
    f.client
        .add_checkpoint(&w.url, &request(&f.log, &mut t, 0, 40))
        .await
        .unwrap();
    let e = f
        .client
        .add_checkpoint(&w.url, &request(&f.log, &mut t, 0, 20))
        .await
        .unwrap_err();
    assert_eq!(e, ClientError::Conflict { latest: 40 });
    // Told the size, an honest log resends with a proof from there.
    f.client
        .add_checkpoint(&w.url, &request(&f.log, &mut t, 40, 41))
        .await
        .unwrap();
    w.stop().await;
}

#[tokio::test]
async fn refuses_a_forked_checkpoint_with_422() {
    let f = fixture();
    let w = start(&f.key, &f.log, f.state.path()).await;
    let mut a = tree("a");
    f.client
        .add_checkpoint(&w.url, &request(&f.log, &mut a, 0, 40))
        .await
        .unwrap();
    let mut b = tree("b");
    for size in [40, 50] {
        // A proof from the fork's own size-40 tree does not reach the cosigned root.
        let e = f
            .client
            .add_checkpoint(&w.url, &request(&f.log, &mut b, 40, size))
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(422), "{e}");
        assert!(!e.is_retryable());
    }
    w.stop().await;
}

#[tokio::test]
async fn unknown_origin_bad_signature_and_malformed_bodies_get_404_403_400() {
    let f = fixture();
    let w = start(&f.key, &f.log, f.state.path()).await;
    let mut t = tree("a");
    let stranger = Signer::generate("other.example/log").unwrap();
    let e = f
        .client
        .add_checkpoint(&w.url, &request(&stranger, &mut t, 0, 5))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");

    let impostor = Signer::generate(ORIGIN).unwrap();
    let e = f
        .client
        .add_checkpoint(&w.url, &request(&impostor, &mut t, 0, 5))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");

    for body in [&b"old 01\n\n"[..], b"new 1\n\n", b"old 5\n"] {
        let e = f
            .client
            .add_checkpoint_body(&w.url, body.to_vec())
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(400), "{e}");
    }
    let too_big = vec![b'a'; cordon_witness::server::MAX_BODY_BYTES + 1];
    let e = f
        .client
        .add_checkpoint_body(&w.url, too_big)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(413), "{e}");
    w.stop().await;
}

#[tokio::test]
async fn the_cosigned_state_survives_a_restart() {
    let f = fixture();
    let mut t = tree("a");
    let w = start(&f.key, &f.log, f.state.path()).await;
    f.client
        .add_checkpoint(&w.url, &request(&f.log, &mut t, 0, 30))
        .await
        .unwrap();
    w.stop().await;

    let w = start(&f.key, &f.log, f.state.path()).await;
    let e = f
        .client
        .add_checkpoint(&w.url, &request(&f.log, &mut t, 0, 10))
        .await
        .unwrap_err();
    assert_eq!(e, ClientError::Conflict { latest: 30 });
    w.stop().await;
}

#[tokio::test]
async fn an_unreachable_witness_is_a_retryable_network_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let f = fixture();
    let mut t = tree("a");
    let e = f
        .client
        .add_checkpoint(&url, &request(&f.log, &mut t, 0, 1))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Network(_)), "{e}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn monitors_read_the_latest_cosigned_checkpoint_by_origin_hash() {
    let f = fixture();
    let w = start(&f.key, &f.log, f.state.path()).await;
    let http = cordon_witness::verify::source::Http::new(Duration::from_secs(5));
    let at = |w: &Running| {
        format!(
            "{}/{}/checkpoint",
            w.url,
            cordon_witness::monitor::origin_hash(ORIGIN)
        )
    };
    assert_eq!(http.get(&at(&w)).await.unwrap(), None);

    let mut t = tree("a");
    for (old, size) in [(0, 12), (12, 20)] {
        f.client
            .add_checkpoint(&w.url, &request(&f.log, &mut t, old, size))
            .await
            .unwrap();
    }
    w.stop().await;
    let w = start(&f.key, &f.log, f.state.path()).await;
    let body = http.get(&at(&w)).await.unwrap().unwrap();
    let (log_key, witness_key) = (f.log.verifier(), f.key.verifier());
    let cp = cordon_log::SignedCheckpoint::open(&body, &[&log_key], Some(ORIGIN)).unwrap();
    assert_eq!(cp.checkpoint.size, 20);
    assert_eq!(
        cp.note.verify(&[&witness_key]).unwrap(),
        vec!["witness.example/w1"]
    );
    w.stop().await;
}

/// Terminates TLS for `localhost` with a fresh certificate and forwards to `plain`, as a
/// reverse proxy in front of a witness would; returns the https URL and the certificate.
async fn tls_front(plain: &str) -> (String, rustls::pki_types::CertificateDer<'static>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = plain
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut up = tokio::net::TcpStream::connect(backend).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    (format!("https://localhost:{port}/w"), der)
}

#[tokio::test]
async fn a_witness_behind_https_is_reached_and_its_certificate_checked() {
    let f = fixture();
    let w = start(&f.key, &f.log, f.state.path()).await;
    let (url, cert) = tls_front(&w.url).await;
    let mut t = tree("a");
    let req = request(&f.log, &mut t, 0, 3);

    // Not signed by a root the client trusts: refused before anything is sent.
    let e = f.client.add_checkpoint(&url, &req).await.unwrap_err();
    assert!(matches!(e, ClientError::Network(_)), "{e}");

    // Had it reached the witness, this resend from size 0 would now be a 409.
    let trusting = WitnessClient::with_roots(Duration::from_secs(5), &[cert]);
    let lines = trusting.add_checkpoint(&url, &req).await.unwrap();
    verified_cosignature(&req.checkpoint, &lines, &f.key.verifier()).unwrap();
    w.stop().await;
}
