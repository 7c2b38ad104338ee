//! A typed `Cordon-Authority` opens nothing unless records staff registered the document
//! for that agency, that record and that day, and it is not revoked. Each test tries to get
//! a record with an authority the register does not back: no registration, an expired one,
//! one for another record, another agency's, a revoked one. The one that opens is logged
//! with its registration and the document's SHA-256.
#![allow(clippy::unwrap_used)]

mod common;

use common::{entry, pack_dir, Harness, DEV_IDENTITY};
use cordon_gateway::wire::{self, Reply};
use serde_json::{json, Value};

const CLERK: &str = "Bearer clerk-key";
const HSI: &str = "Bearer hsi-key";
const RECORD: &str = "records/people/P-1001";
const WARRANT: &str = "24-MJ-0191";
const DOCUMENT_SHA256: &str = "5d41402abc4b2a76b9719d911017c592ae0f6c7c8a1b1c3d4e5f60718293a4b5";

fn identity() -> String {
    format!(
        "{DEV_IDENTITY}
[[identity.api_keys]]
key = \"clerk-key\"
principal = \"records-clerk-7\"
agency = \"cpd\"

[[identity.api_keys]]
key = \"hsi-key\"
principal = \"hsi-agent-3\"
agency = \"ice-hsi\"
"
    )
}

const REGISTER: &str = "\n[register]\nrecorders = [\"records-clerk-7\"]\n";

async fn start() -> Harness {
    Harness::start_with(&identity(), REGISTER, |_| {}).await
}

async fn post(h: &Harness, path: &str, body: &Value) -> Reply {
    let body = body.to_string();
    let len = body.len().to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", len.as_str()),
        ("Authorization", CLERK),
    ];
    let mut raw = wire::request("POST", path, &headers);
    raw.extend_from_slice(body.as_bytes());
    wire::send(h.addr, &raw).await.unwrap()
}

/// A federal criminal search warrant for one record, for HSI, in force for decades.
fn warrant() -> Value {
    json!({"kind": "judicial_warrant", "court": "federal", "matter": "criminal",
           "issued_by": "U.S. District Court, N.D. Ill.", "reference": WARRANT,
           "agency": "ice-hsi", "records": [RECORD],
           "valid_from": "2020-01-01", "expires": "2099-12-31", "sha256": DOCUMENT_SHA256})
}

/// HSI reads `record` presenting the warrant `reference`.
async fn read_with(h: &Harness, auth: &str, record: &str, reference: &str) -> Reply {
    h.get(
        &format!("/{record}"),
        &[
            ("Authorization", auth),
            ("Cordon-Purpose", "criminal_investigation"),
            (
                "Cordon-Reason",
                "child%20exploitation%20-%20federal%20search%20warrant",
            ),
            ("Cordon-Case", "RD-24-118233"),
            ("Cordon-Authority", "judicial_warrant"),
            ("Cordon-Authority-Ref", reference),
        ],
    )
    .await
}

fn refused_because(r: &Reply, words: &str) {
    assert_eq!(r.status, 403, "{}", r.text());
    let body = r.json();
    let why = body["authority"]["why"].as_str().unwrap_or_default();
    assert!(why.contains(words), "expected {words:?} in {body}");
    assert_eq!(body["authority"]["honoured"], false);
    assert!(
        body["what_to_do"]
            .as_str()
            .unwrap()
            .contains("records staff"),
        "{body}"
    );
    assert!(
        body["why"].to_string().contains("decided as no authority"),
        "{body}"
    );
}

fn receipt(r: &Reply) -> u64 {
    r.header("cordon-receipt").unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_typed_warrant_with_no_registration_opens_nothing_and_the_refusal_says_why() {
    let h = start().await;
    let r = read_with(&h, HSI, RECORD, WARRANT).await;
    refused_because(&r, "is not registered");
    let logged = receipt(&r);
    assert_eq!(h.upstream_hits(), 0);
    let (dir, verifier, _) = h.stop().await;
    let e = entry(&dir.path().join("log"), &verifier, logged);
    assert!(e.get("authority").is_none(), "{e}");
    assert_eq!(e["request"]["authority"]["kind"], "judicial_warrant");
    assert!(e["request"]["authority"].get("registration").is_none());
    assert!(
        e["request"]["authority"].get("court").is_none(),
        "court not recorded: {e}"
    );
}

#[tokio::test]
async fn a_registered_warrant_opens_its_record_and_the_log_names_the_registration_and_document() {
    let h = start().await;
    let registered = post(&h, "/requests/authorities", &warrant()).await;
    assert_eq!(registered.status, 201, "{}", registered.text());
    let registration = registered.json()["receipt"].as_u64().unwrap();
    assert!(
        registered.json()["what_to_do"]
            .as_str()
            .unwrap()
            .contains("Cordon-Authority-Ref: 24-MJ-0191"),
        "{}",
        registered.text()
    );
    // What the officer types as the kind does not matter: the register says what it is.
    let r = read_with(&h, HSI, RECORD, WARRANT).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let allowed = receipt(&r);
    assert_eq!(h.upstream_hits(), 1);
    let (dir, verifier, _) = h.stop().await;
    let e = entry(&dir.path().join("log"), &verifier, allowed);
    assert_eq!(
        e["authority"],
        json!({"registration": registration, "document_sha256": DOCUMENT_SHA256}),
        "{e}"
    );
    let a = &e["request"]["authority"];
    assert_eq!(a["court"], "federal");
    assert_eq!(a["matter"], "criminal");
    assert_eq!(a["record"], RECORD);
    assert_eq!(a["registration"]["entry"], registration);
    assert_eq!(a["registration"]["sha256"], DOCUMENT_SHA256);
    assert_eq!(e["decision"]["decision"], "allow");
    assert!(
        e["decision"]["policies"]
            .to_string()
            .contains("il-805-15-federal-criminal-warrant"),
        "{e}"
    );
}

#[tokio::test]
async fn an_expired_registration_opens_nothing() {
    let h = start().await;
    let mut expired = warrant();
    expired["valid_from"] = json!("2020-01-01");
    expired["expires"] = json!("2020-12-31");
    let r = post(&h, "/requests/authorities", &expired).await;
    assert_eq!(r.status, 201, "{}", r.text());
    refused_because(
        &read_with(&h, HSI, RECORD, WARRANT).await,
        "expired on 2020-12-31",
    );
    let mut later = warrant();
    later["valid_from"] = json!("2099-01-01");
    later["reference"] = json!("99-MJ-0001");
    assert_eq!(post(&h, "/requests/authorities", &later).await.status, 201);
    refused_because(
        &read_with(&h, HSI, RECORD, "99-MJ-0001").await,
        "may be used only from 2099-01-01",
    );
    assert_eq!(h.upstream_hits(), 0);
    h.stop().await;
}

#[tokio::test]
async fn a_registration_opens_only_the_records_it_names() {
    let h = start().await;
    assert_eq!(
        post(&h, "/requests/authorities", &warrant()).await.status,
        201
    );
    refused_because(
        &read_with(&h, HSI, "records/people/P-1002", WARRANT).await,
        "does not name the record",
    );
    assert_eq!(h.upstream_hits(), 0);
    h.stop().await;
}

#[tokio::test]
async fn another_agencys_registration_opens_nothing() {
    let h = start().await;
    assert_eq!(
        post(&h, "/requests/authorities", &warrant()).await.status,
        201
    );
    refused_because(
        &read_with(&h, "Bearer demo-ice", RECORD, WARRANT).await,
        "registered for another agency",
    );
    assert_eq!(h.upstream_hits(), 0);
    h.stop().await;
}

#[tokio::test]
async fn a_revoked_registration_opens_nothing_from_the_moment_it_is_revoked() {
    let h = start().await;
    let registered = post(&h, "/requests/authorities", &warrant()).await;
    let index = registered.json()["receipt"].as_u64().unwrap();
    assert_eq!(read_with(&h, HSI, RECORD, WARRANT).await.status, 200);
    let revoked = post(
        &h,
        &format!("/requests/authorities/{index}/revocation"),
        &json!({"reason": "warrant quashed"}),
    )
    .await;
    assert_eq!(revoked.status, 201, "{}", revoked.text());
    refused_because(&read_with(&h, HSI, RECORD, WARRANT).await, "was revoked");
    assert_eq!(h.upstream_hits(), 1);
    let not_a_registration = post(
        &h,
        &format!("/requests/authorities/{}/revocation", index + 1),
        &json!({"reason": "typo"}),
    )
    .await;
    assert_eq!(
        not_a_registration.status,
        409,
        "{}",
        not_a_registration.text()
    );
    let metrics = h.metrics().await.text();
    assert!(
        metrics.contains("cordon_register_entries_total{step=\"authority\",response=\"\"} 1"),
        "{metrics}"
    );
    h.stop().await;
}

#[tokio::test]
async fn officers_cannot_register_an_authority_and_a_bad_one_is_named() {
    let h = start().await;
    let body = warrant().to_string();
    let len = body.len().to_string();
    let mut raw = wire::request(
        "POST",
        "/requests/authorities",
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", len.as_str()),
            ("Authorization", HSI),
        ],
    );
    raw.extend_from_slice(body.as_bytes());
    let officer = wire::send(h.addr, &raw).await.unwrap();
    assert_eq!(officer.status, 403, "{}", officer.text());
    let mut no_court = warrant();
    no_court["court"] = json!("none");
    let r = post(&h, "/requests/authorities", &no_court).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"].as_str().unwrap().contains("court"),
        "{}",
        r.text()
    );
    let mut bad_hash = warrant();
    bad_hash["sha256"] = json!("not-a-hash");
    let r = post(&h, "/requests/authorities", &bad_hash).await;
    assert!(
        r.json()["error"].as_str().unwrap().contains("sha256"),
        "{}",
        r.text()
    );
    refused_because(
        &read_with(&h, HSI, RECORD, WARRANT).await,
        "is not registered",
    );
    h.stop().await;
}

/// A registration recorded with `cordon requests authority` while the gateway was down is
/// honoured once it starts: the gateway reads the book from the verified log.
#[tokio::test]
async fn a_registration_recorded_before_the_gateway_started_is_honoured() {
    let h = Harness::start_with(&identity(), REGISTER, |dir| {
        // The log blocks until an append is durable: off the test's async thread.
        std::thread::scope(|s| s.spawn(|| record_before_start(dir)).join().unwrap());
    })
    .await;
    let r = read_with(&h, HSI, RECORD, WARRANT).await;
    assert_eq!(r.status, 200, "{}", r.text());
    h.stop().await;
}

/// What `cordon requests authority` does on a log directory: the registrar's entry,
/// appended and made durable.
fn record_before_start(dir: &std::path::Path) {
    let key = std::fs::read_to_string(dir.join("log.key")).unwrap();
    let signer = cordon_log::Signer::parse(key.trim()).unwrap();
    let log_dir = dir.join("log");
    cordon_log::create(&log_dir, &signer).unwrap();
    let (log, _) =
        cordon_log::Log::open(&log_dir, signer, cordon_log::LogConfig::default()).unwrap();
    let stack = cordon_policy::Stack::home(&pack_dir()).unwrap();
    let registrar =
        cordon_register::Registrar::new(cordon_policy::RequestStack::of(&stack).unwrap(), "cli");
    let by = cordon_register::Recorder {
        id: "records-clerk-7".into(),
        agency: "cpd".into(),
        auth: "log_key".into(),
    };
    let registration =
        cordon_register::AuthorityRegistration::from_json(warrant().to_string().as_bytes())
            .unwrap();
    let prepared = registrar.authority(by, registration).unwrap();
    log.append(prepared.bytes).unwrap();
    log.close().unwrap();
}

/// A federal identity that carries a recorder's name (a JWT's `sub` and agency claim are
/// separate) cannot register a warrant for its own agency: recorders are matched by
/// agency as well as name, and are never federal.
#[tokio::test]
async fn a_federal_identity_named_like_a_recorder_cannot_register_an_authority() {
    let impostor = format!(
        "{}
[[identity.api_keys]]
key = \"impostor-key\"
principal = \"records-clerk-7\"
agency = \"ice-hsi\"
",
        identity()
    );
    let h = Harness::start_with(&impostor, REGISTER, |_| {}).await;
    let body = warrant().to_string();
    let len = body.len().to_string();
    let mut raw = wire::request(
        "POST",
        "/requests/authorities",
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", len.as_str()),
            ("Authorization", "Bearer impostor-key"),
        ],
    );
    raw.extend_from_slice(body.as_bytes());
    let r = wire::send(h.addr, &raw).await.unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    refused_because(
        &read_with(&h, HSI, RECORD, WARRANT).await,
        "is not registered",
    );
    h.stop().await;
}
