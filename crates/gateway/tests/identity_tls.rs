//! Identity over HTTPS: mutual TLS with generated certificates matched by typed name and
//! checked against a revocation list, OIDC/JWT bearer tokens checked for signature,
//! issuer, audience and expiry against a JWKS file, and the precedence between the two.
#![allow(clippy::unwrap_used)]
mod common;
use base64::Engine;
use common::pki::{self, ca, claims, dns, email, leaf, leaf_with, now, Ca, AUDIENCE, ISSUER};
use common::Harness;
use cordon_gateway::config::{CertName, Config};
use cordon_gateway::wire::Reply;
use rcgen::KeyPair;
use std::path::Path;
use std::sync::Arc;

fn identity_section() -> String {
    r#"
[identity]
dev_mode = false

[identity.jwt]
jwks = "jwks.json"
algorithms = ["EdDSA"]
issuer = "https://idp.cordon.test"
audience = "cordon-gateway"
agency_claim = "agency"

[[identity.certificates]]
name = "email:det-0417@cpd.example"
principal = "cpd-detective-0417"
agency = "cpd"

[[identity.certificates]]
name = "email:officer-12@ice.example"
principal = "ice-ero-officer-12"
agency = "ice-ero"

[[identity.certificates]]
name = "dns:records-app.cpd.example"
principal = "cpd-records-app"
agency = "cpd"
delegates = true
"#
    .into()
}

const TLS: &str = r#"
[tls]
cert = "server.pem"
key = "server.key"
client_ca = "client-ca.pem"
crls = ["client-ca.crl"]
"#;

/// The serial number the CRL revokes.
const REVOKED: u64 = 666;

struct Pki {
    server_ca: Ca,
    client_ca: Ca,
    jwt_key: KeyPair,
}

fn write_pki(dir: &Path, pki: &Pki) {
    let (cert, key) = pki::localhost(&pki.server_ca);
    std::fs::write(dir.join("server.pem"), cert).unwrap();
    std::fs::write(dir.join("server.key"), key).unwrap();
    std::fs::write(dir.join("client-ca.pem"), pki.client_ca.cert.pem()).unwrap();
    std::fs::write(
        dir.join("client-ca.crl"),
        pki::crl(&pki.client_ca, &[REVOKED]),
    )
    .unwrap();
    let jwks = serde_json::json!({"keys": [pki::ed25519_jwk(&pki.jwt_key, "k1")]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
}

async fn start() -> (Harness, Arc<Pki>) {
    start_tweaked(|_| {}).await
}

async fn start_tweaked(tweak: impl FnOnce(&mut Config)) -> (Harness, Arc<Pki>) {
    let pki = Arc::new(Pki {
        server_ca: ca("server ca"),
        client_ca: ca("client ca"),
        jwt_key: KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
    });
    let p = pki.clone();
    let prepare = move |dir: &Path| write_pki(dir, &p);
    let h = Harness::start_tweaked(&identity_section(), TLS, "nginx", prepare, tweak).await;
    (h, pki)
}

async fn https(
    h: &Harness,
    pki: &Pki,
    client: Option<(&rcgen::Certificate, &KeyPair)>,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    pki::https_get(
        h.addr,
        &pki.server_ca,
        client,
        "/alpr/plates/FAKE123",
        headers,
    )
    .await
}

const PURPOSE: [(&str, &str); 2] = [
    ("Cordon-Purpose", "criminal_investigation"),
    ("Cordon-Reason", "burglary"),
];

fn with_token(token: &str) -> (String, Vec<(&'static str, &'static str)>) {
    (format!("Bearer {token}"), PURPOSE.to_vec())
}

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
    assert!(e["principal"].get("app").is_none(), "{e}");
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
        .contains("email:stranger@cpd.example"));
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_name_matches_only_its_own_name_type() {
    let (h, pki) = start().await;
    let name = "records-app.cpd.example";
    // The configured text as the subject CN and as an email SAN: not the dns: name.
    let (cert, key) = leaf_with(&pki.client_ca, vec![email(name)], name, true, 7);
    let r = https(&h, &pki, Some((&cert, &key)), &PURPOSE)
        .await
        .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    let err = r.json()["error"].as_str().unwrap().to_owned();
    assert!(err.contains(&format!("cn:{name}")), "{err}");
    assert!(err.contains(&format!("email:{name}")), "{err}");
    // The same text as a DNS SAN (in any case) is the configured identity.
    let (cert, key) = leaf_with(
        &pki.client_ca,
        vec![dns("Records-App.CPD.example")],
        "x",
        true,
        8,
    );
    let r = https(&h, &pki, Some((&cert, &key)), &PURPOSE)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // An email configured as email: is not matched by a CN holding the same text.
    let (cert, key) = leaf_with(&pki.client_ca, vec![], "det-0417@cpd.example", true, 9);
    let r = https(&h, &pki, Some((&cert, &key)), &PURPOSE)
        .await
        .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(h.upstream_hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_client_certificate_is_refused_in_the_handshake() {
    let (h, pki) = start().await;
    let who = || vec![email("det-0417@cpd.example")];
    let (good, good_key) = leaf_with(&pki.client_ca, who(), "leaf", true, REVOKED + 1);
    let r = https(&h, &pki, Some((&good, &good_key)), &PURPOSE)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let (revoked, revoked_key) = leaf_with(&pki.client_ca, who(), "leaf", true, REVOKED);
    let err = https(&h, &pki, Some((&revoked, &revoked_key)), &PURPOSE)
        .await
        .unwrap_err();
    assert!(err.to_lowercase().contains("revoked"), "{err}");
    assert_eq!(h.upstream_hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_with_a_bearer_token_is_refused_unless_it_delegates() {
    let (h, pki) = start().await;
    let token = pki::ed25519_token(&pki.jwt_key, "k1", &claims("officer-77", "cpd"));
    let (auth, mut headers) = with_token(&token);
    headers.push(("Authorization", &auth));
    // A detective's own certificate with someone's token: which one is asking? Refused.
    let (det, det_key) = leaf(&pki.client_ca, email("det-0417@cpd.example"), true);
    let r = https(&h, &pki, Some((&det, &det_key)), &headers)
        .await
        .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    let err = r.json()["error"].as_str().unwrap().to_owned();
    assert!(err.contains("does not delegate"), "{err}");
    // The records application delegates: the token's subject is the requester.
    let (app, app_key) = leaf(&pki.client_ca, dns("records-app.cpd.example"), true);
    let r = https(&h, &pki, Some((&app, &app_key)), &headers)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let delegated: u64 = r.header("cordon-receipt").unwrap().parse().unwrap();
    // Alone, the application's certificate is the application.
    let r = https(&h, &pki, Some((&app, &app_key)), &PURPOSE)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let own: u64 = r.header("cordon-receipt").unwrap().parse().unwrap();
    // A delegating certificate does not make a bad token good.
    let forged = pki::ed25519_token(
        &KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
        "k1",
        &claims("officer-77", "cpd"),
    );
    let (auth, mut headers) = with_token(&forged);
    headers.push(("Authorization", &auth));
    let r = https(&h, &pki, Some((&app, &app_key)), &headers)
        .await
        .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(h.upstream_hits(), 2);
    let (dir, verifier, _) = h.stop().await;
    let e = common::entry(&dir.path().join("log"), &verifier, delegated);
    assert_eq!(e["auth"], "jwt");
    assert_eq!(e["principal"]["id"], "officer-77");
    assert_eq!(e["principal"]["app"], "cpd-records-app");
    let e = common::entry(&dir.path().join("log"), &verifier, own);
    assert_eq!(e["auth"], "mtls");
    assert_eq!(e["principal"]["id"], "cpd-records-app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_jwt_is_the_identity_and_its_agency_claim_is_looked_up_in_the_registry() {
    let (h, pki) = start().await;
    let t = pki::ed25519_token(&pki.jwt_key, "k1", &claims("det-0417", "cpd"));
    let (auth, mut headers) = with_token(&t);
    headers.push(("Authorization", &auth));
    let r = https(&h, &pki, None, &headers).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let t = pki::ed25519_token(&pki.jwt_key, "k1", &claims("det-0417", "ice-ero"));
    let auth = format!("Bearer {t}");
    headers[2] = ("Authorization", &auth);
    assert_eq!(https(&h, &pki, None, &headers).await.unwrap().status, 403);
}

fn claims_at(iss: &str, aud: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({"sub": "det-0417", "agency": "cpd", "iss": iss, "aud": aud, "exp": exp})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_misaddressed_forged_or_malformed_tokens_are_refused_with_401() {
    let (h, pki) = start().await;
    let other = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let none_alg = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(claims_at(ISSUER, AUDIENCE, now() + 300).to_string())
    );
    let sign = |key: &KeyPair, c: serde_json::Value| pki::ed25519_token(key, "k1", &c);
    let cases = [
        (
            "expired",
            sign(&pki.jwt_key, claims_at(ISSUER, AUDIENCE, now() - 3600)),
            "expired",
        ),
        (
            "wrong audience",
            sign(&pki.jwt_key, claims_at(ISSUER, "someone-else", now() + 300)),
            "audience",
        ),
        (
            "wrong issuer",
            sign(
                &pki.jwt_key,
                claims_at("https://evil.test", AUDIENCE, now() + 300),
            ),
            "issuer",
        ),
        (
            "forged",
            sign(&other, claims_at(ISSUER, AUDIENCE, now() + 300)),
            "signature",
        ),
        ("alg none", none_alg, "\"none\" is not one"),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_auth_proxy_certificate_carries_users_tokens_and_is_no_identity_itself() {
    let (h, pki) = start_tweaked(|c| {
        let fa = c.forward_auth.as_mut().unwrap();
        fa.proxy_certificates = vec![CertName::parse("dns:proxy.internal").unwrap()];
    })
    .await;
    let (proxy, proxy_key) = leaf(&pki.client_ca, dns("proxy.internal"), true);
    let original = [
        ("X-Original-Method", "GET"),
        ("X-Original-URI", "/alpr/plates/FAKE123"),
    ];
    let token = pki::ed25519_token(&pki.jwt_key, "k1", &claims("officer-77", "cpd"));
    let auth = format!("Bearer {token}");
    let mut headers = [PURPOSE.to_vec(), original.to_vec()].concat();
    headers.push(("Authorization", &auth));
    let auth_path = "/_cordon/auth";
    let r = pki::https_get(
        h.addr,
        &pki.server_ca,
        Some((&proxy, &proxy_key)),
        auth_path,
        &headers,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cordon-principal"), Some("officer-77"));
    let receipt: u64 = r.header("cordon-receipt").unwrap().parse().unwrap();
    let bare = [PURPOSE.to_vec(), original.to_vec()].concat();
    let r = pki::https_get(
        h.addr,
        &pki.server_ca,
        Some((&proxy, &proxy_key)),
        auth_path,
        &bare,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    let err = r.json()["error"].as_str().unwrap().to_owned();
    assert!(err.contains("identifies the forward-auth proxy"), "{err}");
    let (dir, verifier, _) = h.stop().await;
    let e = common::entry(&dir.path().join("log"), &verifier, receipt);
    assert_eq!(e["principal"]["id"], "officer-77");
    assert_eq!(e["principal"]["app"], "dns:proxy.internal");
}
