//! The client address comes from a trusted hop only, and `/metrics` is served only where
//! the config says: behind a token on the data listener, or on a listener of its own.
#![allow(clippy::unwrap_used)]
mod common;
use common::{Harness, CPD, DEV_IDENTITY, METRICS_TOKEN};
use cordon_gateway::config::{Cidr, Config, MetricsSection};
use cordon_gateway::wire;

async fn client_logged(trusted: &[&str], xff: &str) -> String {
    let trusted: Vec<Cidr> = trusted.iter().map(|t| Cidr::parse(t).unwrap()).collect();
    let h = Harness::start_tweaked(
        DEV_IDENTITY,
        "",
        "nginx",
        |_| {},
        |c: &mut Config| {
            c.trusted_proxies = trusted;
        },
    )
    .await;
    let mut headers = CPD.to_vec();
    headers.push(("X-Forwarded-For", xff));
    let r = h.get("/alpr/plates/FAKE123", &headers).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let receipt: u64 = r.header("cordon-receipt").unwrap().parse().unwrap();
    let (dir, verifier, _) = h.stop().await;
    let e = common::entry(&dir.path().join("log"), &verifier, receipt);
    assert_eq!(e["client"], e["request"]["source"], "{e}");
    e["client"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_from_an_untrusted_peer_is_not_the_client() {
    assert_eq!(client_logged(&[], "203.0.113.50").await, "127.0.0.1");
    assert_eq!(
        client_logged(&["10.0.0.0/8"], "203.0.113.50").await,
        "127.0.0.1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_names_the_client_and_hops_the_client_wrote_are_skipped() {
    // The client wrote 6.6.6.6; the trusted proxy appended the address it saw.
    assert_eq!(
        client_logged(&["127.0.0.1/32"], "6.6.6.6, 198.51.100.7").await,
        "198.51.100.7"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_the_data_listener_need_the_token() {
    let h = Harness::start().await;
    for (what, headers) in [
        ("no credential", vec![]),
        (
            "a user's API key",
            vec![("Authorization", "Bearer demo-cpd")],
        ),
        (
            "a wrong token",
            vec![("Authorization", "Bearer not-the-metrics-token")],
        ),
    ] {
        let r = h.get("/metrics", &headers).await;
        assert_eq!(r.status, 401, "{what}");
        assert!(!r.text().contains("cordon_requests_total"), "{what}");
        assert!(
            r.json()["what_to_do"]
                .as_str()
                .unwrap()
                .contains("token_file"),
            "{what}"
        );
    }
    let r = h.metrics().await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("cordon_requests_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_metrics_section_metrics_are_not_served_and_the_answer_says_how() {
    let h = Harness::start_tweaked(
        DEV_IDENTITY,
        "",
        "nginx",
        |_| {},
        |c: &mut Config| {
            c.metrics = None;
        },
    )
    .await;
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let r = h.get("/metrics", &[("Authorization", &bearer)]).await;
    assert_eq!(r.status, 404);
    let fix = r.json()["what_to_do"].as_str().unwrap().to_owned();
    assert!(
        fix.contains("[metrics] listen") && fix.contains("token_file"),
        "{fix}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_listener_serves_metrics_and_the_data_listener_points_to_it() {
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = metrics.local_addr().unwrap();
    let h = Harness::start_tweaked(
        DEV_IDENTITY,
        "",
        "nginx",
        |_| {},
        |c: &mut Config| {
            c.metrics = Some(MetricsSection {
                listen: Some(at),
                token_file: None,
            });
        },
    )
    .await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(cordon_gateway::ops::serve(h.gw.clone(), metrics, async {
        let _ = rx.await;
    }));
    let r = h.get("/metrics", &[]).await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["what_to_do"]
            .as_str()
            .unwrap()
            .contains(&at.to_string()),
        "{}",
        r.text()
    );
    let r = wire::send(at, &wire::request("GET", "/metrics", &[]))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("cordon_requests_total"));
    let r = wire::send(at, &wire::request("GET", "/alpr/plates/FAKE123", &CPD))
        .await
        .unwrap();
    assert_eq!(r.status, 404, "the metrics listener serves nothing else");
    let _ = tx.send(());
    task.await.unwrap();
    assert_eq!(h.upstream_hits(), 0);
}
