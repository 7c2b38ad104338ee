//! A sample records service with synthetic, clearly fake data (people, vehicles, plate
//! reads), for the demo, the tests and the benchmark's upstream.
use bytes::Bytes;
use http_body_util::Full;
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
}

/// Serves the sample records on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, hits: Arc<Hits>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let hits = hits.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let hits = hits.clone();
                async move { Ok::<_, Infallible>(answer(&req, &hits)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn answer<B>(req: &Request<B>, hits: &Hits) -> Response<Full<Bytes>> {
    hits.total.fetch_add(1, Ordering::SeqCst);
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
    let found = if let Some(plate) = path.strip_prefix("/alpr/plates/") {
        plate_reads(plate)
    } else if let Some(id) = path.strip_prefix("/records/people/") {
        person(id)
    } else {
        None
    };
    let (status, body) = match found {
        Some(v) => (StatusCode::OK, v),
        None => (StatusCode::NOT_FOUND, json!({"error": "no such record"})),
    };
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
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
