//! `systemctl reload` end to end: SIGHUP makes `cordon serve` load its packs and routes
//! again, write the change to the log and apply it, without exiting; a config that cannot
//! be applied leaves the running policy as it was.
#![allow(clippy::unwrap_used)]
mod common;
mod gateway_common;
use common::copy_dir;
use cordon_gateway::entry::Entry;
use cordon_gateway::wire;
use gateway_common::{free_port, wait_healthy};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn hangup(child: &Child) {
    let st = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

async fn search_status(addr: SocketAddr) -> u16 {
    let headers = [
        ("Authorization", "Bearer demo-cpd"),
        ("Cordon-Purpose", "criminal_investigation"),
        ("Cordon-Reason", "burglary"),
    ];
    let req = wire::request("GET", "/alpr/plates/FAKE123", &headers);
    wire::send(addr, &req).await.unwrap().status
}

/// Polls until the search answers `want`, or fails after 10 s.
async fn until_status(addr: SocketAddr, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = search_status(addr).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "still {got}, never {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for `needle` in the gateway's stderr log.
fn until_logged(stderr: &Path, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(stderr)
        .unwrap_or_default()
        .contains(needle)
    {
        assert!(Instant::now() < deadline, "{needle:?} never logged");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_an_edited_pack_logs_the_change_and_refuses_a_broken_one() {
    let tmp = tempfile::tempdir().unwrap();
    let signer = cordon_log::Signer::generate("reload.cordon.example/gateway").unwrap();
    std::fs::write(tmp.path().join("log.key"), signer.to_text()).unwrap();
    copy_dir(
        &gateway_common::chicago_pack().join(".."),
        &tmp.path().join("policies"),
    );
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = up.local_addr().unwrap();
    tokio::spawn(cordon_gateway::sample::serve(
        up,
        Arc::new(cordon_gateway::sample::Hits::default()),
    ));
    let listen = free_port();
    let config = tmp.path().join("cordon.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"{listen}\"\nupstream = \"http://{upstream}\"\npack = \"policies/chicago-welcoming-city\"\n[log]\ndir = \"log\"\nkey = \"log.key\"\n{}",
            gateway_common::DEV_IDENTITIES_AND_ROUTES
        ),
    )
    .unwrap();
    gateway_common::write_proxy_secret(tmp.path());
    let stderr = tmp.path().join("stderr.log");
    let mut gateway = gateway_common::Proc(
        common::cordon()
            .args(["serve", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap(),
    );
    let child = &mut gateway.0;
    // `systemctl reload` right after the start, while the gateway is still loading its
    // packs and opening its log: SIGHUP must not end it.
    std::thread::sleep(Duration::from_millis(50));
    hangup(child);
    wait_healthy(listen).await;
    assert_eq!(search_status(listen).await, 200);

    // The city's policy stops allowing criminal investigations on plate data.
    let access = tmp
        .path()
        .join("policies/chicago-welcoming-city/access.cedar");
    let text = std::fs::read_to_string(&access).unwrap();
    std::fs::write(
        &access,
        text.replacen("context.purpose == \"criminal_investigation\" ||", "", 1),
    )
    .unwrap();
    hangup(child);
    until_status(listen, 403).await;
    until_logged(&stderr, "reload applied and logged");

    // A pack that no longer parses: the gateway says so and keeps the policy it has.
    std::fs::write(&access, "permit (principal, action, resource) when {").unwrap();
    hangup(child);
    until_logged(&stderr, "reload refused");
    // It says which file and why, not only that a pack was refused.
    until_logged(&stderr, "access.cedar");
    assert_eq!(search_status(listen).await, 403);
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP stopped the gateway"
    );

    stop(child);

    let reloads = logged_reloads(tmp.path(), &signer);
    assert_eq!(reloads.len(), 1, "{reloads:?}");
    assert!(
        reloads[0][0].starts_with("pack chicago-welcoming-city: sha256:"),
        "{reloads:?}"
    );

    // The pack is changed back while the gateway is stopped: the restart announces it
    // before deciding, as a reload would have; a restart with nothing changed does not.
    std::fs::write(&access, &text).unwrap();
    for _ in 0..2 {
        let mut again = gateway_common::Proc(gateway_common::serve(&config));
        wait_healthy(listen).await;
        assert_eq!(search_status(listen).await, 200);
        stop(&mut again.0);
    }
    let reloads = logged_reloads(tmp.path(), &signer);
    assert_eq!(reloads.len(), 2, "{reloads:?}");
    assert!(
        reloads[1][0].starts_with("pack stack at start: sha256:"),
        "{reloads:?}"
    );
}

fn stop(child: &mut Child) {
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(child.wait().unwrap().success(), "graceful shutdown exits 0");
}

/// The `changed` lines of every reload entry in the closed log under `dir`.
fn logged_reloads(dir: &Path, signer: &cordon_log::Signer) -> Vec<Vec<String>> {
    let log = dir.join("log");
    let report = cordon_log::verify::verify_dir(&log, &signer.verifier()).unwrap();
    (0..report.size)
        .filter_map(|i| {
            let bytes = cordon_log::verify::read_entry(&log, report.size, i).unwrap();
            match cordon_gateway::entry::read(&bytes).unwrap() {
                Entry::Reload { changed, .. } => Some(changed),
                _ => None,
            }
        })
        .collect()
}
