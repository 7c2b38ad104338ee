//! Bearer tokens against a gateway configured for RS256 (and PS256): the algorithm is the
//! config's, never the token's (`none`, HS256 signed with the public key, a key bound to
//! another algorithm); a key not meant for signatures is not used; `exp`, `nbf` and `iat`
//! are checked with 30 s of leeway. And the config refuses to guess.
#![allow(clippy::unwrap_used)]
mod common;
use base64::Engine;
use common::pki::{now, AUDIENCE, ISSUER};
use common::Harness;
use cordon_gateway::config::Config;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use std::path::Path;

const RSA_KEY: &str = include_str!("fixtures/rsa-test.key");
const RSA_PUB: &str = include_str!("fixtures/rsa-test.pub.pem");

const IDENTITY: &str = r#"
[identity]
[identity.jwt]
jwks = "jwks.json"
algorithms = ["RS256", "PS256"]
issuer = "https://idp.cordon.test"
audience = "cordon-gateway"
"#;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The fixture key's modulus and exponent, as a JWK wants them.
fn rsa_n_e() -> (String, String) {
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::PublicKey;
    let body: String = RSA_PUB
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&der).unwrap();
    let PublicKey::RSA(rsa) = spki.parsed().unwrap() else {
        panic!("the fixture is not an RSA key")
    };
    let strip = |b: &[u8]| b64(&b[b.iter().take_while(|x| **x == 0).count()..]);
    (strip(rsa.modulus), strip(rsa.exponent))
}

/// The same RSA key under several kids: bound to RS256, unbound, for encryption, and
/// bound to an algorithm the config does not list.
fn write_jwks(dir: &Path) {
    let (n, e) = rsa_n_e();
    let jwk = |extra: serde_json::Value| {
        let mut k = serde_json::json!({"kty": "RSA", "n": n, "e": e});
        k.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        k
    };
    let jwks = serde_json::json!({"keys": [
        jwk(serde_json::json!({"kid": "rsa1", "alg": "RS256", "use": "sig"})),
        jwk(serde_json::json!({"kid": "rsa-noalg"})),
        jwk(serde_json::json!({"kid": "rsa-enc", "use": "enc"})),
        jwk(serde_json::json!({"kid": "rsa-384", "alg": "RS384"})),
    ]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let mut c = serde_json::json!({"sub": "det-0417", "agency": "cpd", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300});
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    c
}

fn rsa_token(alg: Algorithm, kid: &str, claims: &serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_pem(RSA_KEY.as_bytes()).unwrap();
    encode(&header, claims, &key).unwrap()
}

/// The classic key confusion: HS256 with the RSA public key (as the server holds it) as
/// the HMAC secret.
fn hs256_with_public_key(kid: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.into());
    let secret = EncodingKey::from_secret(RSA_PUB.as_bytes());
    encode(&header, &claims(serde_json::json!({})), &secret).unwrap()
}

/// A token signed with the fixture key over raw header and claims text, for what a
/// serializer would never write (a claim given twice, a `crit` header).
fn raw_token(header: &str, claims: &str) -> String {
    let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let key = EncodingKey::from_rsa_pem(RSA_KEY.as_bytes()).unwrap();
    let signature =
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::RS256).unwrap();
    format!("{signing_input}.{signature}")
}

fn alg_none(kid: &str) -> String {
    format!(
        "{}.{}.",
        b64(format!(r#"{{"alg":"none","kid":"{kid}"}}"#).as_bytes()),
        b64(claims(serde_json::json!({})).to_string().as_bytes())
    )
}

async fn start() -> Harness {
    Harness::start_with(IDENTITY, "", write_jwks).await
}

async fn ask(h: &Harness, token: &str) -> (u16, String) {
    let auth = format!("Bearer {token}");
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
    let text = r.json()["error"].as_str().unwrap_or_default().to_owned();
    (r.status, text)
}

async fn assert_refused(h: &Harness, what: &str, token: &str, says: &str) {
    let (status, err) = ask(h, token).await;
    assert_eq!(status, 401, "{what} was accepted");
    assert!(err.contains(says), "{what}: {err}");
}

/// Validly signed tokens that still do not say who searched for whom: a claim given
/// twice (read as the last by one parser, the first by another), an issuer list, a
/// subject that is empty or forges a line, a header extension marked critical (found by
/// an outside attack; each was accepted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_token_that_names_no_one_unambiguously_is_refused() {
    let h = start().await;
    let head = r#"{"alg":"RS256","typ":"JWT","kid":"rsa1"}"#;
    let body = |extra: &str| {
        format!(
            r#"{{"sub":"det-0417","iss":"{ISSUER}","aud":"{AUDIENCE}","exp":{}{extra}}}"#,
            now() + 300
        )
    };
    let (status, err) = ask(&h, &raw_token(head, &body(r#","agency":"cpd""#))).await;
    assert_eq!(status, 200, "the control token: {err}");
    // Names in scripts that need joiners or direction marks are names.
    for sub in [
        "علی\u{200c}اکبر",
        "അവന്\u{200d}",
        "José O'Brien",
        "王小明",
        "דוד\u{200f} 7",
    ] {
        let token = rsa_token(
            Algorithm::RS256,
            "rsa1",
            &claims(serde_json::json!({"sub": sub})),
        );
        let (status, err) = ask(&h, &token).await;
        assert_eq!(status, 200, "{sub:?} was refused: {err}");
    }
    for (what, token, says) in [
        (
            "a claim given twice",
            raw_token(head, &body(r#","agency":"ice-ero","agency":"cpd""#)),
            "given twice",
        ),
        (
            "a claim given twice, once escaped",
            raw_token(head, &body(r#","agency":"ice-ero","\u0061gency":"cpd""#)),
            "given twice",
        ),
        (
            "a critical header extension",
            raw_token(
                r#"{"alg":"RS256","typ":"JWT","kid":"rsa1","crit":["exp2"],"exp2":1}"#,
                &body(r#","agency":"cpd""#),
            ),
            "critical",
        ),
        (
            "an issuer list",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"iss": ["https://evil.example", ISSUER]})),
            ),
            "iss",
        ),
        (
            "an empty subject",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"sub": " "})),
            ),
            "names no one unambiguously",
        ),
        (
            "a subject with a line break",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"sub": "a\nb"})),
            ),
            "names no one unambiguously",
        ),
        (
            "a subject that is only a zero-width space",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"sub": "\u{200b}"})),
            ),
            "names no one unambiguously",
        ),
        (
            "a subject that forges a line with a line separator",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"sub": "alice\u{2028}agency: ice-ero"})),
            ),
            "names no one unambiguously",
        ),
        (
            "an agency written backwards by a direction override",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"agency": "cpd\u{202e}ore-eci"})),
            ),
            "names no one unambiguously",
        ),
        (
            "a subject of a blank filler character",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"sub": "\u{3164}"})),
            ),
            "names no one unambiguously",
        ),
        (
            "a subject of a Braille blank",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"sub": "\u{2800}"})),
            ),
            "names no one",
        ),
        (
            "a subject with a variation selector",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"sub": "alice\u{fe0f}"})),
            ),
            "names no one",
        ),
        (
            "a subject with a trailing space",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"sub": "alice "})),
            ),
            "names no one",
        ),
        (
            "an agency with a control character",
            rsa_token(
                Algorithm::RS256,
                "rsa1",
                &claims(serde_json::json!({"agency": "cpd\u{7}"})),
            ),
            "names no one unambiguously",
        ),
    ] {
        assert_refused(&h, what, &token, says).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_algorithm_is_the_configs_never_the_tokens() {
    let h = start().await;
    let ok = rsa_token(Algorithm::RS256, "rsa1", &claims(serde_json::json!({})));
    assert_eq!(ask(&h, &ok).await.0, 200);
    let unbound = rsa_token(
        Algorithm::PS256,
        "rsa-noalg",
        &claims(serde_json::json!({})),
    );
    assert_eq!(
        ask(&h, &unbound).await.0,
        200,
        "a listed algorithm the key fits"
    );
    for kid in ["rsa1", "rsa-noalg"] {
        let t = hs256_with_public_key(kid);
        assert_refused(
            &h,
            "HS256 signed with the public key",
            &t,
            "\"HS256\" is not one",
        )
        .await;
        assert_refused(&h, "alg none", &alg_none(kid), "\"none\" is not one").await;
    }
    let t = rsa_token(Algorithm::PS256, "rsa1", &claims(serde_json::json!({})));
    assert_refused(
        &h,
        "PS256 on a key bound to RS256",
        &t,
        "bound to another algorithm",
    )
    .await;
    let t = rsa_token(Algorithm::RS384, "rsa-384", &claims(serde_json::json!({})));
    assert_refused(&h, "RS384, not configured", &t, "\"RS384\" is not one").await;
    let t = rsa_token(Algorithm::RS256, "rsa-384", &claims(serde_json::json!({})));
    assert_refused(
        &h,
        "a key bound to RS384",
        &t,
        "RS384 is not in identity.jwt.algorithms",
    )
    .await;
    assert_eq!(h.upstream_hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_marked_for_encryption_or_unknown_is_not_used() {
    let h = start().await;
    let t = rsa_token(Algorithm::RS256, "rsa-enc", &claims(serde_json::json!({})));
    assert_refused(&h, "a use=enc key", &t, "use=enc").await;
    let t = rsa_token(Algorithm::RS256, "rsa-gone", &claims(serde_json::json!({})));
    assert_refused(&h, "an unknown kid", &t, "\"rsa-gone\" is not among").await;
    assert_eq!(h.upstream_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_not_yet_valid_and_future_issued_tokens_are_refused_beyond_the_leeway() {
    let h = start().await;
    let t = |c: serde_json::Value| rsa_token(Algorithm::RS256, "rsa1", &claims(c));
    let now = now();
    assert_refused(
        &h,
        "expired",
        &t(serde_json::json!({"exp": now - 120})),
        "expired",
    )
    .await;
    assert_refused(
        &h,
        "nbf ahead",
        &t(serde_json::json!({"nbf": now + 3600})),
        "not valid yet",
    )
    .await;
    assert_refused(
        &h,
        "iat ahead",
        &t(serde_json::json!({"iat": now + 3600})),
        "issued in the future",
    )
    .await;
    assert_refused(
        &h,
        "iat not a number",
        &t(serde_json::json!({"iat": "soon"})),
        "iat",
    )
    .await;
    // Within the leeway, clocks that differ a little still agree.
    for c in [
        serde_json::json!({"exp": now - 10}),
        serde_json::json!({"nbf": now + 10}),
        serde_json::json!({"iat": now + 10}),
    ] {
        assert_eq!(ask(&h, &t(c.clone())).await.0, 200, "{c}");
    }
    assert_eq!(h.upstream_hits(), 3);
}

fn config_error(text: &str) -> String {
    let full = format!(
        "listen = \"127.0.0.1:0\"\npack = \"p\"\n{text}\n[log]\ndir = \"l\"\nkey = \"k\"\n"
    );
    match Config::from_toml(&full, Path::new(".")) {
        Ok(_) => panic!("accepted:\n{full}"),
        Err(e) => format!("{e}"),
    }
}

const JWT_OK: &str =
    "jwks = \"j.json\"\nalgorithms = [\"RS256\"]\nissuer = \"i\"\naudience = \"a\"";

#[test]
fn the_config_refuses_to_guess_and_names_the_fix() {
    let tls = "[tls]\ncert = \"c\"\nkey = \"k\"\nclient_ca = \"ca\"\n";
    let cases = [
        (
            format!("{tls}[[identity.certificates]]\nname = \"app.city.example\"\nprincipal = \"p\"\nagency = \"cpd\""),
            "\"dns:app.city.example\"",
        ),
        (
            "[identity.jwt]\njwks = \"j.json\"\nissuer = \"i\"\naudience = \"a\"".into(),
            "algorithms = [\"RS256\"]",
        ),
        (
            "[identity.jwt]\njwks = \"j.json\"\nalgorithms = [\"HS256\"]\nissuer = \"i\"\naudience = \"a\"".into(),
            "shared secret",
        ),
        (
            "[identity.jwt]\njwks_url = \"http://idp/jwks\"\nalgorithms = [\"RS256\"]\nissuer = \"i\"\naudience = \"a\"".into(),
            "https://",
        ),
        (
            format!("[identity.jwt]\n{JWT_OK}\njwks_url = \"https://idp/jwks\""),
            "exactly one of jwks",
        ),
        (
            format!("trusted_proxies = [\"10.0.0.1/8\"]\n[identity.jwt]\n{JWT_OK}"),
            "such as \"10.0.0.0/8\"",
        ),
        (
            format!("[metrics]\n[identity.jwt]\n{JWT_OK}"),
            "token_file",
        ),
        (
            format!("[tls]\ncert = \"c\"\nkey = \"k\"\ncrls = [\"x.crl\"]\n[identity.jwt]\n{JWT_OK}"),
            "client_ca",
        ),
    ];
    for (text, says) in cases {
        let err = config_error(&text);
        assert!(err.contains(says), "{text}\n=> {err}");
    }
}
