//! Real NGINX in front of the sample upstream, asking Cordon's forward-auth endpoint with
//! `auth_request` before every request. Needs Debian's `nginx` package: the test fails,
//! and says how to install it, when nginx is missing.
#![allow(clippy::unwrap_used)]
mod common;
use common::{Harness, CPD, ICE};
use cordon_gateway::wire;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the nginx child when the test ends, however it ends.
struct Nginx(Child, SocketAddr, PathBuf);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.2);
    }
}

pub fn nginx_binary() -> PathBuf {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("nginx is not installed: these tests need a real NGINX. Install it with `apt-get install -y nginx` (Debian/Ubuntu) and run the tests again.");
}

fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn start_nginx(gateway: SocketAddr, upstream: SocketAddr) -> Nginx {
    let dir = tempfile::tempdir().unwrap().keep();
    let listen = free_port();
    let d = dir.display();
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen {listen};
        location = /_cordon_auth {{
            internal;
            proxy_pass http://{gateway}/_cordon/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
        }}
        location / {{
            auth_request /_cordon_auth;
            auth_request_set $cordon_receipt $upstream_http_cordon_receipt;
            add_header Cordon-Receipt $cordon_receipt always;
            proxy_set_header Cordon-Receipt $cordon_receipt;
            proxy_pass http://{upstream};
        }}
    }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(listen).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Nginx(child, listen, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_lets_through_only_what_cordon_allowed_and_logged() {
    let h = Harness::start().await;
    let nginx = start_nginx(h.addr, h.upstream);
    let via = |path: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let addr = nginx.1;
        async move {
            wire::send(addr, &wire::request("GET", path, headers))
                .await
                .unwrap()
        }
    };
    let r = via("/alpr/plates/FAKE123", &CPD).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let receipt: u64 = r.header("cordon-receipt").unwrap().parse().unwrap();
    assert_eq!(*h.hits.receipts.lock().unwrap(), vec![receipt]);

    let r = via("/alpr/plates/FAKE123", &ICE).await;
    assert_eq!(r.status, 403);
    assert!(
        r.header("cordon-receipt").is_some(),
        "denials carry their receipt too"
    );
    let r = via(
        "/alpr/plates/FAKE123",
        &[("Authorization", "Bearer demo-cpd")],
    )
    .await;
    assert_eq!(r.status, 403, "no purpose");
    let r = via("/alpr/plates/FAKE123", &[]).await;
    assert_eq!(r.status, 401);
    // NGINX resolves `..` for its own routing but sends the raw URI on; Cordon refuses it.
    let r = via("/alpr/plates/../../records/people/P-1001", &CPD).await;
    assert_ne!(r.status, 200);
    assert_eq!(
        h.upstream_hits(),
        1,
        "only the allowed request reached the upstream"
    );

    h.faults.fail_writes(true);
    let r = via("/alpr/plates/FAKE123", &CPD).await;
    assert!(r.status >= 500, "fail closed through nginx: {}", r.status);
    assert_eq!(h.upstream_hits(), 1);
    drop(nginx);
}
