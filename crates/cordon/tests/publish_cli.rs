//! `cordon serve` with three `cordon witness serve` processes and a quorum of two, as an
//! operator runs them: the public listener serves a cosigned checkpoint that `cordon
//! verify` accepts; with every witness killed the gateway keeps deciding and logging and
//! the public checkpoint stands still; with two back, publication catches up.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
mod common;
mod gateway_common;
use common::{run, text};
use cordon_gateway::wire;
use cordon_log::Signer;
use gateway_common::{
    free_port, spawn, start_witness, wait_listening, witness, Proc, WitnessSetup,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn gateway_config(
    dir: &Path,
    (listen, public, metrics): (SocketAddr, SocketAddr, SocketAddr),
    ws: &[WitnessSetup],
) -> PathBuf {
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/chicago-welcoming-city");
    let mut text = format!(
        r#"listen = "{listen}"
pack = "{}"
[log]
dir = "log"
key = "log.key"
[identity]
dev_mode = true
[[identity.api_keys]]
key = "demo-cpd"
principal = "cpd-detective-0417"
agency = "cpd"
[forward_auth]
dialect = "nginx"
proxy_secret_file = "proxy.secret"
[[routes]]
prefix = "/alpr/plates"
dataset = "alpr"
action = "search"
upstream_redacts = true
[public]
listen = "{public}"
[metrics]
listen = "{metrics}"
[publish]
quorum = 2
max_backoff_ms = 300
"#,
        pack.display()
    );
    for (i, w) in ws.iter().enumerate() {
        text.push_str(&format!(
            "[[publish.witnesses]]\nname = \"Witness {i}\"\nurl = \"http://{}\"\nvkey = \"{}\"\n",
            w.listen, w.vkey
        ));
    }
    let path = dir.join("cordon.toml");
    std::fs::write(&path, text).unwrap();
    gateway_common::write_proxy_secret(path.parent().unwrap());
    path
}

fn get(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    path: &str,
    h: &[(&str, &str)],
) -> wire::Reply {
    rt.block_on(wire::send(addr, &wire::request("GET", path, h)))
        .unwrap()
}

/// A lawful search through forward-auth; returns its receipt.
fn decide(rt: &tokio::runtime::Runtime, gw: SocketAddr) -> u64 {
    let r = get(
        rt,
        gw,
        "/_cordon/auth",
        &[
            ("Authorization", "Bearer demo-cpd"),
            ("Cordon-Purpose", "criminal_investigation"),
            ("Cordon-Reason", "burglary%20suspect%20vehicle"),
            ("Cordon-Case", "JD-1"),
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/alpr/plates/FAKE123"),
            ("Cordon-Proxy-Secret", gateway_common::PROXY_SECRET),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("cordon-receipt").unwrap().parse().unwrap()
}

fn public_size(rt: &tokio::runtime::Runtime, public: SocketAddr) -> Option<u64> {
    let r = get(rt, public, "/checkpoint", &[]);
    (r.status == 200).then(|| r.text().lines().nth(1).unwrap().parse().unwrap())
}

fn wait_published(rt: &tokio::runtime::Runtime, public: SocketAddr, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while public_size(rt, public).is_none_or(|s| s < size) {
        assert!(Instant::now() < deadline, "size {size} was never published");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn verify(public: SocketAddr, log_vkey: &str, ws: &[WitnessSetup]) -> std::process::Output {
    let url = format!("http://{public}");
    let mut args = vec!["verify", &url, "--vkey", log_vkey, "--quorum", "2"];
    for w in ws {
        args.extend(["--witness", &w.vkey]);
    }
    run(&args, b"")
}

#[test]
fn cordon_serve_publishes_with_a_quorum_and_keeps_deciding_while_witnesses_are_down() {
    let tmp = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test.example/cordon").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    let log_vkey = signer.verifier().to_text();
    let ws: Vec<WitnessSetup> = (0..3).map(|i| witness(tmp.path(), i, &log_vkey)).collect();
    let mut running: Vec<Proc> = ws.iter().map(start_witness).collect();
    let (listen, public, metrics) = (free_port(), free_port(), free_port());
    let config = gateway_config(tmp.path(), (listen, public, metrics), &ws);
    let _gateway = spawn(&["serve", "--config", config.to_str().unwrap()]);
    wait_listening(listen);
    wait_listening(public);
    wait_listening(metrics);
    let rt = tokio::runtime::Runtime::new().unwrap();

    for _ in 0..5 {
        decide(&rt, listen);
    }
    wait_published(&rt, public, 5);
    let o = verify(public, &log_vkey, &ws);
    assert!(o.status.success(), "{}", text(&o));
    let first = get(&rt, public, "/checkpoint", &[]).body;

    running.clear(); // every witness killed
    let receipts: Vec<u64> = (0..5).map(|_| decide(&rt, listen)).collect();
    assert_eq!(
        receipts,
        (5..10).collect::<Vec<_>>(),
        "decisions keep being logged"
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(get(&rt, public, "/checkpoint", &[]).body, first);
    let r = get(&rt, listen, "/metrics", &[]);
    assert_eq!(r.status, 404, "/metrics is only on the metrics listener");
    let counters = get(&rt, metrics, "/metrics", &[]).text();
    assert!(
        counters.contains("cordon_publication_lag_entries 5"),
        "{counters}"
    );

    running.extend(ws.iter().take(2).map(start_witness));
    wait_published(&rt, public, 10);
    let o = verify(public, &log_vkey, &ws);
    assert!(o.status.success(), "{}", text(&o));
    let page = get(&rt, public, "/", &[]).text();
    assert!(
        page.contains("Witness 0") && page.contains("Witness 1"),
        "{page}"
    );
    assert!(!page.contains("cpd-detective-0417") && !page.contains("FAKE123"));
}
