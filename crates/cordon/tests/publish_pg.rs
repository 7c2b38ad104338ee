//! Cosigned publication on the shared PostgreSQL log: two `cordon serve` processes on one
//! log, each publishing through three `cordon witness serve` processes at a quorum of two.
//! Whichever gateway a decision went through, and across a full tile, both public
//! listeners end up serving a cosigned checkpoint covering it that `cordon verify`
//! accepts, and so does the shared public directory a static web server would serve.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
mod gateway_common;
mod pg_common;
use common::{run, text};
use cordon_gateway::wire;
use gateway_common::{
    chicago_pack, free_port, serve, start_witness, wait_healthy, witness, Proc, WitnessSetup,
    DEV_IDENTITIES_AND_ROUTES,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const METRICS_TOKEN: &str = "metrics-token-0b7e41c9a2d35f86";

fn gateway_config(
    dir: &Path,
    n: usize,
    url: &str,
    (listen, public): (SocketAddr, SocketAddr),
    ws: &[WitnessSetup],
) -> PathBuf {
    let mut text = format!(
        r#"listen = "{listen}"
pack = "{}"
[log]
backend = "postgres"
url = "{url}"
dir = "tiles"
key = "log.key"
checkpoint_interval_ms = 5
{DEV_IDENTITIES_AND_ROUTES}
[public]
listen = "{public}"
[metrics]
token_file = "metrics.token"
[publish]
quorum = 2
max_backoff_ms = 300
"#,
        chicago_pack().display()
    );
    for (i, w) in ws.iter().enumerate() {
        text.push_str(&format!(
            "[[publish.witnesses]]\nname = \"Witness {i}\"\nurl = \"http://{}\"\nvkey = \"{}\"\n",
            w.listen, w.vkey
        ));
    }
    let path = dir.join(format!("gateway-{n}.toml"));
    std::fs::write(&path, text).unwrap();
    gateway_common::write_proxy_secret(path.parent().unwrap());
    std::fs::write(dir.join("metrics.token"), METRICS_TOKEN).unwrap();
    path
}

/// A lawful search through forward-auth; returns its receipt.
async fn decide(gw: SocketAddr) -> u64 {
    let headers = [
        ("Authorization", "Bearer demo-cpd"),
        ("Cordon-Purpose", "criminal_investigation"),
        ("Cordon-Reason", "burglary"),
        ("X-Original-Method", "GET"),
        ("X-Original-URI", "/alpr/plates/FAKE123"),
        ("Cordon-Proxy-Secret", gateway_common::PROXY_SECRET),
    ];
    let r = wire::send(gw, &wire::request("GET", "/_cordon/auth", &headers))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("cordon-receipt").unwrap().parse().unwrap()
}

async fn wait_published(public: SocketAddr, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = wire::send(public, &wire::request("GET", "/checkpoint", &[]))
            .await
            .unwrap();
        let published: Option<u64> = (r.status == 200)
            .then(|| r.text().lines().nth(1).and_then(|l| l.parse().ok()))
            .flatten();
        if published.is_some_and(|s| s >= size) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{public} never published size {size} (last: {published:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn verify(source: &str, log_vkey: &str, ws: &[WitnessSetup]) {
    let mut args = vec!["verify", source, "--vkey", log_vkey, "--quorum", "2"];
    for w in ws {
        args.extend(["--witness", w.vkey.as_str()]);
    }
    let o = tokio::task::block_in_place(|| run(&args, b""));
    assert!(o.status.success(), "cordon verify {source}: {}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_postgres_log_publish_cosigned_checkpoints_that_verify() {
    let url = tokio::task::block_in_place(|| pg_common::fresh_database("publish"));
    let tmp = tempfile::tempdir().unwrap();
    let signer = cordon_log::Signer::generate("shared.cordon.example/log").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    let log_vkey = signer.verifier().to_text();
    let ws: Vec<WitnessSetup> = (0..3).map(|i| witness(tmp.path(), i, &log_vkey)).collect();
    let _witnesses: Vec<Proc> = ws.iter().map(start_witness).collect();

    let addrs: Vec<(SocketAddr, SocketAddr)> = (0..2).map(|_| (free_port(), free_port())).collect();
    let _gateways: Vec<Proc> = addrs
        .iter()
        .enumerate()
        .map(|(n, a)| Proc(serve(&gateway_config(tmp.path(), n, &url, *a, &ws))))
        .collect();
    for (listen, _) in &addrs {
        wait_healthy(*listen).await;
    }

    // Past the first full tile, so both publishers meet a partial tile the integrator
    // has already replaced.
    let clients: Vec<_> = addrs
        .iter()
        .map(|(listen, _)| {
            let listen = *listen;
            tokio::spawn(async move {
                let mut last = 0;
                for _ in 0..150 {
                    last = last.max(decide(listen).await);
                }
                last
            })
        })
        .collect();
    let mut last = 0;
    for c in clients {
        last = last.max(c.await.unwrap());
    }
    assert!(
        last >= 299,
        "every decision was logged: last receipt {last}"
    );
    for (_, public) in &addrs {
        wait_published(*public, last + 1).await;
        verify(&format!("http://{public}"), &log_vkey, &ws);
    }
    for (listen, _) in &addrs {
        let bearer = format!("Bearer {METRICS_TOKEN}");
        let h = [("Authorization", bearer.as_str())];
        let r = wire::send(*listen, &wire::request("GET", "/metrics", &h))
            .await
            .unwrap();
        let text = r.text();
        let failures: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("cordon_witness_failures_total{") && !l.ends_with(" 0"))
            .collect();
        assert!(
            failures.is_empty(),
            "healthy witnesses are not counted as failing when the other gateway got there first: {failures:?}"
        );
    }
    let on_disk = std::fs::read_to_string(tmp.path().join("tiles/public/checkpoint")).unwrap();
    let disk_size: u64 = on_disk.lines().nth(1).unwrap().parse().unwrap();
    assert!(
        disk_size > last,
        "the shared public checkpoint was rewound to {disk_size} after {} was published",
        last + 1
    );
    verify(
        tmp.path().join("tiles/public").to_str().unwrap(),
        &log_vkey,
        &ws,
    );
    assert!(
        !tmp.path().join("tiles/public/tile/entries").exists(),
        "no entry bundle is public"
    );
}
