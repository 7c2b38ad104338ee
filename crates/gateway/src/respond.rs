//! Responses a person can act on: every refusal is JSON that says what happened, why,
//! and what to do; every decision carries its receipt and the log's origin.
use bytes::Bytes;
use cordon_log::Receipt;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// A response body: whole, or streamed from the upstream (and then possibly cut off with
/// an error, which makes hyper abort the response rather than end it).
pub type Body = BoxBody<Bytes, crate::redact::Aborted>;

/// A body whose bytes are all here.
pub fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

pub const RECEIPT: &str = "cordon-receipt";
/// The signed receipt, base64 (docs/receipts.md).
pub const SIGNED_RECEIPT: &str = "cordon-signed-receipt";
pub const LOG: &str = "cordon-log";

/// A JSON response.
pub fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec_pretty(body).unwrap_or_default();
    let mut r = Response::new(full(Bytes::from(bytes)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// A refusal before any decision: `error` names what was wrong, `fix` what to do.
pub fn refuse(status: StatusCode, error: &str, fix: &str) -> Response<Body> {
    let mut r = json(status, &json!({ "error": error, "what_to_do": fix }));
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

/// The log could not make the decision durable: nothing is forwarded; try again later.
pub fn log_unavailable(retry_after: u32) -> Response<Body> {
    let mut r = refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "the decision could not be written to the audit log, so no data was released (Cordon fails closed)",
        "try again later; if this persists, tell the operator: the log's storage is failing",
    );
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after));
    r
}

/// Plain text.
pub fn text(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Stamps the log's origin, and the receipt when there is one (its index and the signed
/// receipt), on a response. The receipt is spent on this answer.
pub fn stamp(r: &mut Response<Body>, receipt: Option<Receipt>, origin: &HeaderValue) {
    if let Some(receipt) = receipt {
        set_receipt(r.headers_mut(), &receipt);
    }
    r.headers_mut().insert(LOG, origin.clone());
}

/// The receipt headers: `Cordon-Receipt` (the index) and `Cordon-Signed-Receipt`.
pub fn set_receipt(headers: &mut hyper::HeaderMap, receipt: &Receipt) {
    headers.insert(RECEIPT, HeaderValue::from(receipt.index()));
    if let Some(v) = signed_value(receipt) {
        headers.insert(SIGNED_RECEIPT, v);
    }
}

/// The signed receipt as a header value; base64 is always a valid one.
pub fn signed_value(receipt: &Receipt) -> Option<HeaderValue> {
    HeaderValue::from_str(&receipt.header_value()?).ok()
}
