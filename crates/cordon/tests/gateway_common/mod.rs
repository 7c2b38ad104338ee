//! Helpers for tests that run `cordon serve` processes: ports, the shared development
//! identities, startup, and a client that records every receipt it was given.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test, with its message
use crate::common::{cordon, run, text};
use cordon_gateway::wire;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

pub fn chicago_pack() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/chicago-welcoming-city")
}

/// The secret the tests send as the forward-auth proxy.
pub const PROXY_SECRET: &str = "test-proxy-secret-5d1a9c3e7f20b846";

/// Writes the proxy secret file that [`DEV_IDENTITIES_AND_ROUTES`] names, beside the config.
pub fn write_proxy_secret(config_dir: &Path) {
    std::fs::write(config_dir.join("proxy.secret"), PROXY_SECRET).unwrap();
}

/// The development identities (a CPD detective, an ICE ERO officer), forward-auth in
/// NGINX's dialect (the secret file comes from [`write_proxy_secret`]) and the plate
/// route, whose upstream is taken to remove what Cordon names in Cordon-Redact.
pub const DEV_IDENTITIES_AND_ROUTES: &str = r#"[forward_auth]
dialect = "nginx"
proxy_secret_file = "proxy.secret"
[identity]
dev_mode = true
[[identity.api_keys]]
key = "demo-cpd"
principal = "cpd-detective-0417"
agency = "cpd"
[[identity.api_keys]]
key = "demo-ice"
principal = "ice-ero-officer-12"
agency = "ice-ero"
[[routes]]
prefix = "/alpr/plates"
dataset = "alpr"
action = "search"
upstream_redacts = true
"#;

/// Writes `cordon.toml` in `dir` for a gateway on `listen` in front of `upstream`, with the
/// Chicago pack, a file log in `dir/log` (key `log.key`), the development identities and
/// routes, and the proxy secret: `top` goes before the first table, `end` after the rest.
pub fn write_dev_config(
    dir: &Path,
    listen: SocketAddr,
    upstream: SocketAddr,
    top: &str,
    end: &str,
) -> PathBuf {
    let text = format!(
        "listen = \"{listen}\"\n{top}upstream = \"http://{upstream}\"\npack = \"{}\"\n[log]\ndir = \"log\"\nkey = \"log.key\"\n{DEV_IDENTITIES_AND_ROUTES}{end}",
        chicago_pack().display(),
    );
    let path = dir.join("cordon.toml");
    std::fs::write(&path, text).unwrap();
    write_proxy_secret(dir);
    path
}

/// Checks every (receipt, allowed, path) a client was told against the verified log in
/// `log`: the entry is there, with the decision and path the client was told. Returns the
/// log's size.
pub fn told_is_in_log(
    log: &Path,
    verifier: &cordon_log::Verifier,
    told: &[(u64, bool, String)],
) -> u64 {
    let report = cordon_log::verify::verify_dir(log, verifier).unwrap();
    for (receipt, allowed, path) in told {
        assert!(
            *receipt < report.size,
            "receipt {receipt} beyond the log ({})",
            report.size
        );
        let bytes = cordon_log::verify::read_entry(log, report.size, *receipt).unwrap();
        let e: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let want = if *allowed { "allow" } else { "deny" };
        assert_eq!(e["decision"]["decision"], want, "receipt {receipt}");
        assert_eq!(e["path"], path.as_str(), "receipt {receipt}");
    }
    report.size
}

pub fn serve(config: &Path) -> Child {
    cordon()
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub async fn wait_healthy(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = wire::send(addr, &wire::request("GET", "/healthz", &[])).await {
            if r.status == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "cordon serve on {addr} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// (receipt, allowed, path) for every decision a client was told about.
pub type Told = Arc<Mutex<Vec<(u64, bool, String)>>>;

/// `n` plate searches, one in ten by ICE (denied); stops at the first failed connection.
pub async fn client(addr: SocketAddr, n: usize, told: Told) {
    for i in 0..n {
        let (key, plate) = if i % 10 == 0 {
            ("Bearer demo-ice", "TEST456")
        } else {
            ("Bearer demo-cpd", "FAKE123")
        };
        let path = format!("/alpr/plates/{plate}");
        let headers = [
            ("Authorization", key),
            ("Cordon-Purpose", "criminal_investigation"),
            ("Cordon-Reason", "burglary"),
        ];
        let Ok(r) = wire::send(addr, &wire::request("GET", &path, &headers)).await else {
            return;
        };
        if let Some(receipt) = r.header("cordon-receipt").and_then(|v| v.parse().ok()) {
            told.lock().unwrap().push((receipt, r.status == 200, path));
        }
    }
}

/// A child process killed and reaped on drop, on every path out of the test.
pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cordon <args>` in the background, its output discarded.
pub fn spawn(args: &[&str]) -> Proc {
    Proc(
        cordon()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

pub fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A witness's key and config, made with `cordon witness keygen`, ready to serve.
pub struct WitnessSetup {
    pub config: PathBuf,
    pub listen: SocketAddr,
    pub vkey: String,
}

/// Witness `i` in `dir`, witnessing the log whose verifier key is `log_vkey`.
pub fn witness(dir: &Path, i: usize, log_vkey: &str) -> WitnessSetup {
    let key = dir.join(format!("w{i}.key"));
    let o = run(
        &[
            "witness",
            "keygen",
            "--name",
            &format!("w{i}.example"),
            "--key",
            key.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let listen = free_port();
    let config = dir.join(format!("w{i}.toml"));
    std::fs::write(
        &config,
        format!(
            "listen = \"{listen}\"\nkey = \"w{i}.key\"\nstate_dir = \"w{i}-state\"\n[[log]]\nvkey = \"{log_vkey}\"\n"
        ),
    )
    .unwrap();
    WitnessSetup {
        config,
        listen,
        vkey: String::from_utf8(o.stdout).unwrap().trim().to_string(),
    }
}

/// `cordon witness serve` for `w`, once it listens.
pub fn start_witness(w: &WitnessSetup) -> Proc {
    let p = spawn(&["witness", "serve", "--config", w.config.to_str().unwrap()]);
    wait_listening(w.listen);
    p
}
