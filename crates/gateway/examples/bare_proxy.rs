//! A reverse proxy with nothing of Cordon's in it (no policy, no log, no redaction): the
//! same hyper server and pooled hyper client the gateway uses, forwarding every request
//! but the bench's ICE key, which it refuses with 403 as the bench's NGINX arms do. The
//! gateway bench (`bench.py --bare-proxy`) runs it beside NGINX to show how much of the gap
//! is the HTTP stack, on a work-stealing runtime and with one event loop per core.
//!
//! `cargo run --release -p cordon-gateway --example bare_proxy -- LISTEN UPSTREAM [per-core]`
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;

type Upstream = Client<HttpConnector, Incoming>;
type Answer = Response<Either<Incoming, Full<Bytes>>>;

/// Ends the process with a message naming what failed; a bench tool, but no stack traces.
fn or_exit<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("bare_proxy: {what}: {e}");
        std::process::exit(1);
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT [per-core]");
        std::process::exit(2);
    };
    let addr: std::net::SocketAddr = or_exit(listen.parse(), "LISTEN_ADDR, e.g. 127.0.0.1:8081");
    or_exit(
        format!("http://{upstream}/").parse::<hyper::Uri>(),
        "UPSTREAM_HOST:PORT, e.g. 127.0.0.1:9000",
    );
    if args.get(3).map(String::as_str) == Some("per-core") {
        // One event loop per core, each on its own SO_REUSEPORT socket: the simplest
        // per-core server, as a floor (Cordon's serving threads share one socket instead).
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let threads: Vec<_> = (0..cores)
            .map(|_| {
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let rt = or_exit(
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build(),
                        "starting an event loop",
                    );
                    rt.block_on(async move {
                        let bound = (|| {
                            let s = tokio::net::TcpSocket::new_v4()?;
                            s.set_reuseport(true)?;
                            s.bind(addr)?;
                            s.listen(1024)
                        })();
                        run(or_exit(bound, "listening"), upstream).await
                    })
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
    } else {
        let rt = or_exit(tokio::runtime::Runtime::new(), "starting the runtime");
        rt.block_on(async move {
            let listener = or_exit(tokio::net::TcpListener::bind(addr).await, "listening");
            run(listener, upstream.clone()).await
        })
    }
}

async fn run(listener: tokio::net::TcpListener, upstream: String) {
    let client: Upstream = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build_http();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let client = client.clone();
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                forward(client.clone(), upstream.clone(), req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn forward(
    client: Upstream,
    upstream: String,
    req: Request<Incoming>,
) -> Result<Answer, Infallible> {
    if req
        .headers()
        .get("authorization")
        .is_some_and(|v| v == "Bearer demo-ice")
    {
        let mut refused = Response::new(Either::Right(Full::new(Bytes::from_static(b"refused\n"))));
        *refused.status_mut() = hyper::StatusCode::FORBIDDEN;
        return Ok(refused);
    }
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    // main checked that http://UPSTREAM/ parses, and hyper already parsed the path.
    parts.uri = or_exit(
        format!("http://{upstream}{path}").parse(),
        "the upstream URI",
    );
    match client.request(Request::from_parts(parts, body)).await {
        Ok(r) => Ok(r.map(Either::Left)),
        Err(e) => {
            eprintln!("bare_proxy: upstream: {e}");
            std::process::exit(1);
        }
    }
}
