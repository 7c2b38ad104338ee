//! A sample records service with synthetic, clearly fake data (people, vehicles, plate
//! reads), for the demo, the tests and the benchmark's upstream.
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

/// Counts the requests the sample service received, so tests can prove what reached it.
#[derive(Debug, Default)]
pub struct Hits {
    pub total: AtomicU64,
    /// Requests that came without a `Cordon-Receipt` header.
    pub without_receipt: AtomicU64,
    /// The receipts seen, in arrival order.
    pub receipts: std::sync::Mutex<Vec<u64>>,
    /// Every request received, in arrival order, so tests can match each one to a log
    /// entry.
    pub requests: std::sync::Mutex<Vec<Seen>>,
    /// Connections accepted, so tests can see kept-alive connections reused.
    pub connections: AtomicU64,
}

/// One request as the sample service received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// The request target: path and query exactly as received.
    pub target: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body exactly as received.
    pub body: Vec<u8>,
    /// The protocol it came in, e.g. `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
}

impl Seen {
    /// The first value of a header, by its lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Hits {
    /// The requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.requests.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Largest request body the sample service reads.
const MAX_BODY: usize = 64 * 1024;

/// Serves the sample records on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, hits: Arc<Hits>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, hits.clone()));
    }
}

/// Serves the sample records on one connection (plain or TLS), keeping it alive; HTTP/2
/// when the client opens with its preface (after ALPN `h2`, or h2c), HTTP/1.1 otherwise.
pub async fn serve_connection<I>(io: I, hits: Arc<Hits>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    hits.connections.fetch_add(1, Ordering::SeqCst);
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let hits = hits.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let req = Request::from_parts(parts, body);
            Ok::<_, Infallible>(answer(&req, &hits))
        }
    });
    let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
        .serve_connection(TokioIo::new(io), svc)
        .await;
}

fn answer(req: &Request<Bytes>, hits: &Hits) -> Response<Full<Bytes>> {
    hits.total.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut v) = hits.requests.lock() {
        v.push(Seen {
            method: req.method().to_string(),
            target: req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: req.body().to_vec(),
            version: format!("{:?}", req.version()),
        });
    }
    match req
        .headers()
        .get("cordon-receipt")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(r) => {
            if let Ok(mut v) = hits.receipts.lock() {
                v.push(r);
            }
        }
        None => {
            hits.without_receipt.fetch_add(1, Ordering::SeqCst);
        }
    }
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    let found = if let Some(plate) = path.strip_prefix("/alpr/plates/") {
        plate_reads(plate)
    } else if let Some(id) = path.strip_prefix("/records/people/") {
        person(id)
    } else if let Some(plate) = path.strip_prefix("/alpr/search/") {
        plate_reads(plate)
    } else if path == "/alpr/search" {
        // A search service that takes its parameters as a JSON body.
        serde_json::from_slice::<Value>(req.body())
            .ok()
            .and_then(|b| b.get("plate").and_then(Value::as_str).and_then(plate_reads))
    } else if path == "/records/people" {
        // Like many records services, the collection also takes ?id=<record>.
        query
            .split('&')
            .find_map(|p| p.strip_prefix("id="))
            .and_then(person)
    } else {
        None
    };
    let (status, mut body) = match found {
        Some(v) => (StatusCode::OK, v),
        None => (StatusCode::NOT_FOUND, json!({"error": "no such record"})),
    };
    if !query.is_empty() {
        body["query"] = json!(query);
    }
    if !req.body().is_empty() {
        body["body"] = json!(String::from_utf8_lossy(req.body()));
    }
    // A service behind forward-auth that promises to redact (`upstream_redacts`) removes
    // the fields Cordon names.
    if let Some(fields) = req
        .headers()
        .get("cordon-redact")
        .and_then(|v| v.to_str().ok())
    {
        let fields: Vec<String> = fields
            .split(',')
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect();
        let text = body.to_string();
        if let Ok((redacted, _)) = cordon_redact::redact_slice(text.as_bytes(), &fields, text.len())
        {
            return honour_http_semantics(req, status, Bytes::from(redacted));
        }
    }
    let bytes = Bytes::from(body.to_string());
    honour_http_semantics(req, status, bytes)
}

/// What ordinary web servers do with a whole body: an `ETag` (here its length, as some
/// servers derive it), `304` for a matching `If-None-Match`, and `206` for a `Range`.
/// Tests use these to prove that nothing of an unredacted body leaks through Cordon.
fn honour_http_semantics(
    req: &Request<Bytes>,
    status: StatusCode,
    bytes: Bytes,
) -> Response<Full<Bytes>> {
    use hyper::header::{HeaderValue, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RANGE};
    let etag = format!("\"{}\"", bytes.len());
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let mut r = Response::new(Full::new(bytes.clone()));
    *r.status_mut() = status;
    if status == StatusCode::OK && header(IF_NONE_MATCH) == Some(etag.as_str()) {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        *r.body_mut() = Full::new(Bytes::new());
    } else if let Some((a, b)) = status
        .is_success()
        .then(|| header(RANGE).and_then(|v| byte_range(v, bytes.len())))
        .flatten()
    {
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        *r.body_mut() = Full::new(bytes.slice(a..=b));
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{}", bytes.len())) {
            r.headers_mut().insert(CONTENT_RANGE, v);
        }
    }
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert("accept-ranges", HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, v);
    }
    r
}

/// `bytes=A-B` within a body of `len` bytes.
fn byte_range(v: &str, len: usize) -> Option<(usize, usize)> {
    let (a, b) = v.strip_prefix("bytes=")?.split_once('-')?;
    let a: usize = a.trim().parse().ok()?;
    let b: usize = b.trim().parse().ok()?;
    (a <= b && b < len).then_some((a, b))
}

/// Synthetic people. Every name, address and number is invented.
const PEOPLE: [(&str, &str, &str, &str, &str); 3] = [
    (
        "P-1001",
        "Alex Example",
        "1990-01-01",
        "Fakeland",
        "lawful_permanent_resident",
    ),
    (
        "P-1002",
        "Sam Sample",
        "1985-06-15",
        "Nowhere Province",
        "undocumented",
    ),
    (
        "P-1003",
        "Jordan Placeholder",
        "1979-11-30",
        "Testopolis",
        "citizen",
    ),
];

/// Synthetic vehicles: plate, make and model, registered owner.
const VEHICLES: [(&str, &str, &str); 3] = [
    ("FAKE123", "Demo Motors Sedan", "P-1001"),
    ("TEST456", "Example Works Pickup", "P-1002"),
    ("DEMO789", "Sample Co. Hatchback", "P-1003"),
];

/// A synthetic person record, with the fields the Chicago pack redacts.
pub fn person(id: &str) -> Option<Value> {
    let (id, name, dob, pob, status) = PEOPLE.iter().find(|p| p.0 == id)?;
    Some(json!({
        "synthetic": "FAKE DEMO DATA - not a real person",
        "id": id,
        "name": name,
        "date_of_birth": dob,
        "address": "100 Example Street, Demo City",
        "place_of_birth": pob,
        "citizenship": if *status == "citizen" { "US" } else { "other" },
        "immigration_status": status,
        "arrests": [{"date": "2024-03-02", "charge": "FAKE-CHARGE-01"}],
    }))
}

/// Synthetic plate reads for a plate, with its registered owner.
pub fn plate_reads(plate: &str) -> Option<Value> {
    let (plate, vehicle, owner) = VEHICLES.iter().find(|v| v.0.eq_ignore_ascii_case(plate))?;
    Some(json!({
        "synthetic": "FAKE DEMO DATA",
        "plate": plate,
        "vehicle": vehicle,
        "registered_owner": person(owner),
        "reads": [
            {"camera": "DEMO-CAM-01", "time": "2026-11-01T08:15:00Z", "location": "Demo Ave & Sample St"},
            {"camera": "DEMO-CAM-07", "time": "2026-11-02T17:40:00Z", "location": "Example Blvd"},
        ],
    }))
}
