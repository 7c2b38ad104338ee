//! `POST /requests` on a running gateway: records staff record federal requests and get
//! the pack's answer with its law and receipt; officers and strangers cannot; entries are
//! never edited or deleted, only corrected by a logged correction that wins in the view.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, DEV_IDENTITY};
use cordon_gateway::wire::{self, Reply};
use serde_json::{json, Value};

const CLERK: &str = "Bearer clerk-key";

fn identity() -> String {
    format!(
        "{DEV_IDENTITY}\n[[identity.api_keys]]\nkey = \"clerk-key\"\nprincipal = \"records-clerk-7\"\nagency = \"cpd\"\n"
    )
}

const REGISTER: &str = "\n[register]\nrecorders = [\"records-clerk-7\"]\n";

async fn start() -> Harness {
    Harness::start_with(&identity(), REGISTER, |_| {}).await
}

async fn send(h: &Harness, method: &str, path: &str, auth: Option<&str>, body: &Value) -> Reply {
    let body = body.to_string();
    let len = body.len().to_string();
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Content-Length", len.as_str()),
    ];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    let mut raw = wire::request(method, path, &headers);
    raw.extend_from_slice(body.as_bytes());
    wire::send(h.addr, &raw).await.unwrap()
}

fn detainer_with_i200() -> Value {
    json!({"kind": "detainer_i247a", "attached": ["warrant_i200"], "agency": "ice-ero",
           "unit": "Chicago Field Office", "received": "2026-02-03T14:05",
           "subject": "CB-2026-000123", "asks": ["hold", "release_date"]})
}

#[tokio::test]
async fn the_hard_cases_are_answered_with_the_law_and_a_receipt() {
    let h = start().await;
    let declined = send(&h, "POST", "/requests", Some(CLERK), &detainer_with_i200()).await;
    assert_eq!(declined.status, 201, "{}", declined.text());
    let d = declined.json();
    assert_eq!(d["response"]["response"], "decline");
    assert!(
        d["response"]["citations"]
            .to_string()
            .contains("MCC 2-173-020(a)"),
        "{d}"
    );
    assert_eq!(
        declined.header("cordon-receipt"),
        Some(d["receipt"].to_string().as_str())
    );

    let judicial = json!({"kind": "judicial_warrant", "agency": "ice-hsi", "unit": "HSI Chicago",
        "received": "2026-02-10", "subject": "CB-2026-000200", "asks": ["transfer"],
        "court": "federal", "matter": "criminal", "names_subject": true});
    let complied = send(&h, "POST", "/requests", Some(CLERK), &judicial).await;
    assert_eq!(
        complied.json()["response"]["response"],
        "comply",
        "{}",
        complied.text()
    );

    let release_date = json!({"kind": "request_for_assistance", "agency": "ice-ero", "unit": "ERO Chicago",
        "received": "2026-02-11", "subject": "CB-2026-000300", "asks": ["release_date"]});
    let question = send(&h, "POST", "/requests", Some(CLERK), &release_date).await;
    let q = question.json();
    assert_eq!(q["response"]["response"], "decline");
    let metrics = h.metrics().await.text();
    assert!(
        metrics.contains("cordon_register_entries_total{step=\"request\",response=\"decline\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cordon_register_entries_total{step=\"request\",response=\"comply\"} 1"),
        "{metrics}"
    );
    assert!(
        q["response"]["policies"]
            .to_string()
            .contains("chicago-welcoming-city/chicago-2-173-020a-custody-release-contact"),
        "{q}"
    );
    h.stop().await;
}

#[tokio::test]
async fn only_listed_records_staff_may_record() {
    let h = start().await;
    let officer = send(
        &h,
        "POST",
        "/requests",
        Some("Bearer demo-cpd"),
        &detainer_with_i200(),
    )
    .await;
    assert_eq!(officer.status, 403, "{}", officer.text());
    assert!(officer.json()["error"]
        .as_str()
        .unwrap()
        .contains("cpd-detective-0417"));
    let stranger = send(&h, "POST", "/requests", None, &detainer_with_i200()).await;
    assert_eq!(stranger.status, 401);
    let metrics = h.metrics().await.text();
    assert!(
        metrics.contains("cordon_register_refused_total 2"),
        "{metrics}"
    );
    assert_eq!(h.gw.log().durable_size(), 0, "nothing was recorded");
    h.stop().await;
}

#[tokio::test]
async fn a_bad_field_is_named_and_a_name_is_refused_as_a_subject() {
    let h = start().await;
    let mut named = detainer_with_i200();
    named["subject"] = json!("Jane Doe");
    let r = send(&h, "POST", "/requests", Some(CLERK), &named).await;
    assert_eq!(r.status, 400);
    let error = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("subject") && error.contains("never a person's name"),
        "{error}"
    );
    let mut misspelt = detainer_with_i200();
    misspelt["recieved"] = json!("2026-02-03");
    let r = send(&h, "POST", "/requests", Some(CLERK), &misspelt).await;
    assert!(
        r.json()["error"].as_str().unwrap().contains("recieved"),
        "{}",
        r.text()
    );
    let mut kind = detainer_with_i200();
    kind["kind"] = json!("i-247");
    let r = send(&h, "POST", "/requests", Some(CLERK), &kind).await;
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("detainer_i247a"),
        "{}",
        r.text()
    );
    h.stop().await;
}

#[tokio::test]
async fn an_entry_cannot_be_edited_or_deleted_only_corrected_and_the_correction_wins() {
    let h = start().await;
    let first = send(&h, "POST", "/requests", Some(CLERK), &detainer_with_i200()).await;
    let index = first.json()["receipt"].as_u64().unwrap();
    for method in ["PUT", "PATCH", "DELETE"] {
        let r = send(
            &h,
            method,
            &format!("/requests/{index}"),
            Some(CLERK),
            &detainer_with_i200(),
        )
        .await;
        assert_eq!(r.status, 405, "{method}: {}", r.text());
        assert_eq!(r.header("allow"), Some("POST"));
        assert!(r.text().contains("correction"), "{}", r.text());
    }
    let outcome =
        json!({"result": "released", "at": "2026-02-04T10:00", "bail_posted": "2026-02-04T09:30"});
    let o = send(
        &h,
        "POST",
        &format!("/requests/{index}/outcome"),
        Some(CLERK),
        &outcome,
    )
    .await;
    assert_eq!(o.status, 201, "{}", o.text());
    let mut fixed = detainer_with_i200();
    fixed["received"] = json!("2026-02-02T09:00");
    let correction =
        json!({"reason": "date misread from the fax header", "federal_request": fixed});
    let c = send(
        &h,
        "POST",
        &format!("/requests/{index}/correction"),
        Some(CLERK),
        &correction,
    )
    .await;
    assert_eq!(c.status, 201, "{}", c.text());
    assert_eq!(c.json()["response"]["response"], "decline");
    // An outcome cannot follow an outcome: it belongs to the request.
    let o_index = o.json()["receipt"].as_u64().unwrap();
    let wrong = send(
        &h,
        "POST",
        &format!("/requests/{o_index}/outcome"),
        Some(CLERK),
        &outcome,
    )
    .await;
    assert_eq!(wrong.status, 409, "{}", wrong.text());
    let (dir, verifier, _) = h.stop().await;
    let (register, _) = cordon_register::read_register(&dir.path().join("log"), &verifier).unwrap();
    let r = &register.requests[0];
    assert_eq!(r.request.received.to_string(), "2026-02-02T09:00");
    assert_eq!(r.original.received.to_string(), "2026-02-03T14:05");
    assert_eq!(r.corrected_by, vec![c.json()["receipt"].as_u64().unwrap()]);
    assert_eq!(
        register.corrections[0].reason,
        "date misread from the fax header"
    );
}

#[tokio::test]
async fn an_outcome_cannot_follow_an_access_decision_and_data_routes_still_refuse_post() {
    let h = start().await;
    let decision = h.get("/alpr/plates/ABC123", &common::CPD).await;
    let index = decision.header("cordon-receipt").unwrap().to_owned();
    let outcome = json!({"result": "released", "at": "2026-02-04"});
    let r = send(
        &h,
        "POST",
        &format!("/requests/{index}/outcome"),
        Some(CLERK),
        &outcome,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.text().contains("not in the federal request register"),
        "{}",
        r.text()
    );
    let post = send(
        &h,
        "POST",
        "/alpr/plates/ABC123",
        Some("Bearer demo-cpd"),
        &outcome,
    )
    .await;
    assert_eq!(post.status, 405, "{}", post.text());
    h.stop().await;
}

#[test]
fn a_register_that_shadows_a_route_or_lets_nobody_record_is_refused_at_startup() {
    let up: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = |extra: &str| {
        cordon_gateway::config::Config::from_toml(
            &common::config_text(up, &identity(), extra),
            dir.path(),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    };
    let shadow = config("\n[register]\npath = \"/alpr\"\nrecorders = [\"records-clerk-7\"]\n");
    assert!(shadow.contains("overlaps register.path"), "{shadow}");
    let nobody = config("\n[register]\nrecorders = []\n");
    assert!(nobody.contains("register.recorders is empty"), "{nobody}");
}

/// The register speaks the new vocabulary: a judicial document must say which court issued
/// it, and an immigration judge's order, presented as a court order, is declined.
#[tokio::test]
async fn a_judicial_request_must_name_its_court_and_an_immigration_judges_order_is_declined() {
    let h = start().await;
    let mut order = json!({"kind": "court_order", "agency": "ice-ero", "unit": "ERO Chicago",
        "received": "2026-03-02", "subject": "CB-2026-000400", "asks": ["transfer"],
        "matter": "civil", "names_subject": true});
    let no_court = send(&h, "POST", "/requests", Some(CLERK), &order).await;
    assert_eq!(no_court.status, 400, "{}", no_court.text());
    assert!(
        no_court.json()["error"]
            .as_str()
            .unwrap()
            .contains("must say who issued it"),
        "{}",
        no_court.text()
    );
    order["court"] = json!("immigration_court");
    let r = send(&h, "POST", "/requests", Some(CLERK), &order).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let d = r.json();
    assert_eq!(d["response"]["response"], "decline", "{d}");
    assert!(
        d["response"]["citations"].to_string().contains("S06-14-03"),
        "an immigration judge's order is administrative: {d}"
    );
    h.stop().await;
}
