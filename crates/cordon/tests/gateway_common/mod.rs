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
