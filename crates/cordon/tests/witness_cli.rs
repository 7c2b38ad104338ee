//! `cordon witness keygen|serve` and `cordon verify` as a user runs them: a witness
//! process cosigning a real log over HTTP and remembering it across a restart, and an
//! auditor's verify passing, failing on a short quorum, and catching a split view.
#![allow(clippy::unwrap_used)]

mod common;

use common::{append, copy_dir, make_log, run, text};
use cordon_log::fs::TileHashes;
use cordon_log::merkle::consistency_proof;
use cordon_log::Verifier;
use cordon_witness::client::verified_cosignature;
use cordon_witness::{AddCheckpoint, ClientError, WitnessClient};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{}.key", name.replace('/', "_")));
    let o = run(
        &[
            "witness",
            "keygen",
            "--name",
            name,
            "--key",
            key.to_str().unwrap(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    (key, String::from_utf8(o.stdout).unwrap().trim().to_string())
}

#[test]
fn keygen_writes_a_private_key_prints_its_vkey_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (key, vkey) = keygen(tmp.path(), "witness.example/w1");
    let v = Verifier::parse(&vkey).unwrap();
    assert!(v.is_cosigner());
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let before = std::fs::read(&key).unwrap();
    let o = run(
        &[
            "witness",
            "keygen",
            "--name",
            "x.example/w",
            "--key",
            key.to_str().unwrap(),
        ],
        b"",
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("never overwritten"), "{}", text(&o));
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Served(Child);
impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(config: &Path, listen: SocketAddr) -> Served {
    // Owned by `Served` at once: its drop kills and reaps the process on every path.
    let served = Served(
        common::cordon()
            .args(["witness", "serve", "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(listen).is_ok() {
            return served;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the witness did not start listening on {listen}");
}

fn add(client: &WitnessClient, url: &str, req: &AddCheckpoint) -> Result<String, ClientError> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(client.add_checkpoint(url, req))
}

#[test]
fn a_witness_process_cosigns_a_real_log_and_remembers_it_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, log_vkey) = make_log(tmp.path(), "log", 5);
    let (key, wvkey) = keygen(tmp.path(), "witness.example/w1");
    let listen = free_port();
    let config = tmp.path().join("witness.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"{listen}\"\nkey = \"{}\"\nstate_dir = \"state\"\n[[log]]\nvkey = \"{log_vkey}\"\n",
            key.file_name().unwrap().to_str().unwrap()
        ),
    )
    .unwrap();
    let url = format!("http://{listen}");
    let client = WitnessClient::new(Duration::from_secs(5));
    let witness = Verifier::parse(&wvkey).unwrap();

    let served = serve(&config, listen);
    let first = std::fs::read(log.join("checkpoint")).unwrap();
    let req = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: first.clone(),
    };
    let lines = add(&client, &url, &req).unwrap();
    verified_cosignature(&first, &lines, &witness).unwrap();

    append(&log, 5..300);
    let second = std::fs::read(log.join("checkpoint")).unwrap();
    let req = AddCheckpoint {
        old_size: 5,
        proof: consistency_proof(&mut TileHashes::new(&log, 300), 5, 300).unwrap(),
        checkpoint: second.clone(),
    };
    let lines = add(&client, &url, &req).unwrap();
    verified_cosignature(&second, &lines, &witness).unwrap();

    // An auditor reads what the witness cosigned from its monitoring URL.
    let seen = format!(
        "{url}/{}/checkpoint",
        cordon_witness::monitor::origin_hash("test.example/log")
    );
    let o = run(
        &[
            "verify",
            log.to_str().unwrap(),
            "--vkey",
            &log_vkey,
            "--witness",
            &wvkey,
            "--checkpoint",
            &seen,
            "--json",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["witnessed_size"], 300);
    drop(served);

    let _served = serve(&config, listen);
    let rewound = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: first,
    };
    assert_eq!(
        add(&client, &url, &rewound).unwrap_err(),
        ClientError::Conflict { latest: 300 }
    );
}

#[test]
fn a_bad_witness_config_is_named_not_a_stack_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("witness.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nkey = \"missing.key\"\nstate_dir = \"s\"\n",
    )
    .unwrap();
    let o = run(
        &["witness", "serve", "--config", config.to_str().unwrap()],
        b"",
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("lists no logs"), "{}", text(&o));
}

/// `log`'s checkpoint with a cosignature from the witness whose key file is `key`.
fn cosign(log: &Path, key: &Path, out: &Path) {
    let signer = cordon_log::Signer::parse(&std::fs::read_to_string(key).unwrap()).unwrap();
    let mut note =
        cordon_log::Note::parse(&std::fs::read(log.join("checkpoint")).unwrap()).unwrap();
    note.add_signature(signer.sign(note.text().as_bytes()));
    std::fs::write(out, note.to_bytes()).unwrap();
}

#[test]
fn verify_passes_with_a_quorum_and_fails_without_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, vkey) = make_log(tmp.path(), "log", 40);
    let (k1, w1) = keygen(tmp.path(), "witness.example/w1");
    let (_, w2) = keygen(tmp.path(), "witness.example/w2");
    let cosigned = tmp.path().join("cosigned-checkpoint");
    cosign(&log, &k1, &cosigned);
    let leaf = cordon_log::hash::leaf_hash(b"entry 39");
    let entry_39 = format!("39:{}", cordon_witness::verify::receipt::hex(&leaf));
    let base = [
        "verify",
        log.to_str().unwrap(),
        "--vkey",
        &vkey,
        "--checkpoint",
        cosigned.to_str().unwrap(),
        "--witness",
        &w1,
        "--witness",
        &w2,
        "--receipt",
        &entry_39,
    ];
    let o = run(&[&base[..], &["--quorum", "1", "--json"]].concat(), b"");
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["pass"], true);
    assert_eq!(json["witnessed_size"], 40);
    assert_eq!(json["receipts"][0]["ok"], true);

    // Both witnesses by default; only one cosigned.
    let o = run(&base, b"");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("FAIL: cosignatures"), "{out}");
}

#[test]
fn verify_catches_a_split_view_and_prints_both_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, vkey) = make_log(tmp.path(), "a", 10);
    let b = tmp.path().join("b");
    copy_dir(&a, &b);
    std::fs::copy(tmp.path().join("a.key"), tmp.path().join("b.key")).unwrap();
    append(&a, 10..15);
    append(&b, 100..105);
    let state = tmp.path().join("verify-state.json");
    let args = |dir: &Path| {
        run(
            &[
                "verify",
                dir.to_str().unwrap(),
                "--vkey",
                &vkey,
                "--state",
                state.to_str().unwrap(),
            ],
            b"",
        )
    };
    let o = args(&a);
    assert!(o.status.success(), "{}", text(&o));
    let o = args(&b);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("split view"), "{out}");
    assert_eq!(out.matches("size 15 root").count(), 2, "{out}");
}
