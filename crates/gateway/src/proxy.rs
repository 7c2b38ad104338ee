//! Reverse-proxy mode: send an admitted request to the upstream and bring its answer back
//! through the decision's obligations.
use crate::gate::Admitted;
use crate::metrics::Outcome;
use crate::redact::{Cut, Limits, Prefix, Source, StreamError, Streamed, Treatment};
use crate::respond::{full, refuse, Body};
use crate::upstream::Failure;
use crate::Gateway;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{
    HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HOST,
};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};

/// Hop-by-hop headers (RFC 9110 §7.6.1), which a proxy must not pass on.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Identity headers that some upstreams trust from a front proxy. Only Cordon may set
/// identity, so a client's copies are removed.
const IDENTITY_HEADERS: [&str; 20] = [
    "authorization",
    // A session the upstream keeps for its own users would choose what it answers, behind
    // the decision's back.
    "cookie",
    "proxy-authorization",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-remote-user",
    "x-remote-group",
    "remote-user",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-user",
    // What other authenticating proxies tell a service (Grafana, Apache, Kong, Envoy,
    // Kubernetes): a service once behind one of them may still believe them.
    "x-authenticated-user",
    "x-webauth-user",
    "x-auth-user",
    "x-consumer-username",
    "x-userinfo",
    "impersonate-user",
    "impersonate-group",
    "x-ms-client-principal-name",
];

/// Prefixes of identity headers that authenticating proxies and load balancers set
/// (Authelia, oauth2-proxy, Keycloak gatekeeper, Kubernetes impersonation, AWS ALB, Google
/// IAP, Azure, Cloudflare Access, Pomerium, authentik, Vouch, Tailscale, TLS fronts, API
/// gateways): a client's copies are removed.
const IDENTITY_PREFIXES: [&str; 24] = [
    "remote-",
    "x-remote-",
    "x-auth-",
    "impersonate-",
    "x-amzn-oidc-",
    "x-amzn-mtls-",
    "x-goog-authenticated-",
    "x-goog-iap-",
    "x-ms-client-principal",
    "x-ms-token-",
    "x-arr-clientcert",
    "cf-access-",
    "x-pomerium-",
    "x-authentik-",
    "x-vouch-",
    "tailscale-",
    "x-forwarded-",
    // Client certificates that a TLS-terminating front passes on.
    "x-ssl-client",
    "ssl-client",
    "x-client-cert",
    "x-client-verify",
    // Verified token claims that API gateways and meshes pass on.
    "x-jwt-",
    "x-apigateway-api-userinfo",
    "x-endpoint-api-userinfo",
];

/// Request headers that make the upstream answer with a part of the body, a different
/// encoding, or nothing: each would hand the client bytes Cordon cannot redact, so they
/// are removed whenever the decision obliges redaction.
const UNREDACTABLE_REQUEST: [&str; 7] = [
    "range",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "accept-encoding",
];

/// Response headers that describe the upstream's body: after redaction they would tell
/// the client the removed value's length or digest.
const BODY_DESCRIBING_RESPONSE: [&str; 8] = [
    "etag",
    "digest",
    "content-md5",
    "content-digest",
    "repr-digest",
    "content-range",
    "accept-ranges",
    "content-length",
];

/// Headers that describe the client's body, which is never forwarded: a decided search
/// body is Cordon's own serialization, described by Cordon.
const CLIENT_BODY_HEADERS: [&str; 6] = [
    "expect",
    "content-length",
    "content-type",
    "content-encoding",
    "content-md5",
    "content-digest",
];

/// Headers that claim where the request came from: only Cordon (through its trusted
/// proxies) says that, so a client's copies are removed.
const ADDRESS_HEADERS: [&str; 13] = [
    "forwarded",
    "forwarded-for",
    "x-forwarded",
    "x-real-ip",
    "true-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "client-ip",
    "cf-connecting-ip",
    "x-originating-ip",
    "fastly-client-ip",
    "x-envoy-external-address",
    "x-proxyuser-ip",
];

/// Headers that common frameworks read as the method or URL to act on instead of the
/// request line's (method-override middleware, IIS/Symfony URL rewriting): what was
/// decided is the request line, so a client's copies are removed.
const OVERRIDE_HEADERS: [&str; 8] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-method",
    "x-rewrite-url",
    "x-rewrite-path",
    "x-override-url",
    "x-envoy-original-path",
];

/// Request headers a client's request carries on to the service by default: content
/// negotiation, caching validators (dropped again when the answer must be redacted),
/// the client's name for itself and the trace context. Anything else the service is to
/// see must be named in `upstream.forward_headers`; a list of what is dropped could never
/// be complete (every authenticating proxy and framework adds names a service may trust).
const FORWARDED: [&str; 15] = [
    "accept",
    "accept-language",
    "user-agent",
    "cache-control",
    "pragma",
    "range",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "traceparent",
    "tracestate",
    "x-request-id",
    "x-correlation-id",
];

/// Why a header may never be forwarded, even when an operator lists it in
/// `upstream.forward_headers`; `None` for a header that may be. `name` is lowercase.
pub fn never_forwarded(name: &str) -> Option<&'static str> {
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') || name.is_empty() {
        Some("a header name is letters, digits and hyphens (CGI, WSGI, Rack and PHP read `_` and `.` as `-`)")
    } else if HOP_BY_HOP.contains(&name) {
        Some("it is hop-by-hop (RFC 9110 §7.6.1)")
    } else if IDENTITY_HEADERS.contains(&name)
        || IDENTITY_PREFIXES.iter().any(|p| name.starts_with(p))
    {
        Some("services trust it as the user's identity, which only Cordon establishes")
    } else if ADDRESS_HEADERS.contains(&name) {
        Some("it claims the client's address, which only Cordon establishes")
    } else if OVERRIDE_HEADERS.contains(&name) || name.starts_with("x-original-") {
        Some("frameworks read it as the method or URL, which would not be the one decided")
    } else if name.starts_with("cordon-") {
        Some("Cordon's own headers are set by Cordon")
    } else if name == "host" || CLIENT_BODY_HEADERS.contains(&name) || name == "accept-encoding" {
        Some("Cordon sets it for the request it sends")
    } else {
        None
    }
}

/// Keeps only the headers a client may send on ([`FORWARDED`], the purpose inputs the
/// decision read, and the operator's `extra`), less any the client's `Connection` names
/// (RFC 9110 §7.6.1). Everything else is dropped, whatever its name.
pub fn strip_client_headers(h: &mut HeaderMap, extra: &[HeaderName]) {
    let named_by_connection: Vec<String> = h
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    let doomed: Vec<HeaderName> = h
        .keys()
        .filter(|k| {
            let n = k.as_str();
            let allowed = FORWARDED.contains(&n)
                || crate::purpose::INPUT_HEADERS.contains(&n)
                || extra.contains(k);
            !allowed || named_by_connection.iter().any(|c| c == n)
        })
        .cloned()
        .collect();
    for k in doomed {
        h.remove(&k);
    }
}

/// Bytes a purpose value is percent-encoded in on its way upstream: controls, `%` and
/// (always, by `utf8_percent_encode`) everything outside ASCII.
const PURPOSE_VALUE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');

/// Replaces the client's purpose headers with the purpose as decided and logged, in one
/// encoding: `criminal%5Finvestigation` or `Cordon-Case: %43-1` reach the service as
/// `criminal_investigation` and `C-1`, what the log says, not as the client spelled them.
fn set_decided_purpose(h: &mut HeaderMap, purpose: &cordon_policy::Purpose) {
    use crate::purpose::{CASE, PURPOSE, REASON};
    for name in [PURPOSE, REASON, CASE] {
        h.remove(name);
    }
    let encoded = |v: &str| percent_encoding::utf8_percent_encode(v, PURPOSE_VALUE).to_string();
    let values = [
        (PURPOSE, purpose.code.as_ref().map(|c| c.as_sent())),
        (
            REASON,
            Some(purpose.reason.as_str()).filter(|r| !r.is_empty()),
        ),
        (CASE, purpose.case.as_deref()),
    ];
    for (name, value) in values {
        let Some(value) = value else {
            continue;
        };
        if let Ok(v) = HeaderValue::from_str(&encoded(value)) {
            h.insert(name, v);
        }
    }
}

impl Gateway {
    /// Forwards an admitted request to the upstream.
    ///
    /// Invariant: nothing reaches the upstream without a durable decision. This function
    /// consumes the [`Admitted`] request and with it the signed [`cordon_log::Receipt`] that only the
    /// log can mint, once the allow is on disk, for exactly this decision's entry; there is
    /// no other path to the upstream client. Whatever the upstream answers, the response
    /// carries the receipt.
    pub async fn forward(
        &self,
        admitted: Admitted,
        method: Method,
        headers: HeaderMap,
    ) -> Response<Body> {
        let mut r = self.send_upstream(&admitted, method, headers).await;
        crate::respond::stamp(&mut r, Some(admitted.receipt), &self.origin_header);
        r
    }

    async fn send_upstream(
        &self,
        admitted: &Admitted,
        method: Method,
        mut headers: HeaderMap,
    ) -> Response<Body> {
        let Some(up) = &self.upstream else {
            return refuse(
                StatusCode::NOT_FOUND,
                "this gateway has no upstream",
                "use the forward-auth endpoint",
            );
        };
        strip_client_headers(&mut headers, &up.forward_headers);
        // A claimed authority is the requester's word, honoured or not by the decision
        // (a warrant no register vouches for is decided as none): the service learns the
        // authority from the logged entry its receipt names, never from these.
        for h in [
            crate::purpose::AUTHORITY,
            crate::purpose::AUTHORITY_REF,
            crate::purpose::AUTHORITY_RECORD,
        ] {
            headers.remove(h);
        }
        let redacting = !admitted.decision.obligations.redact.is_empty();
        if redacting {
            for h in UNREDACTABLE_REQUEST {
                headers.remove(h);
            }
        }
        // Redaction needs the plain body; ask the upstream not to compress it.
        headers.remove(hyper::header::ACCEPT_ENCODING);
        headers.remove(HOST);
        // The client's body is never sent: only the decided one, described by Cordon.
        for h in CLIENT_BODY_HEADERS {
            headers.remove(h);
        }
        let body = admitted.body.clone().unwrap_or_default();
        if admitted.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let set = |h: &mut HeaderMap, k: &'static str, v: &str| {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(k, v);
            }
        };
        set(&mut headers, "host", &up.authority);
        crate::respond::set_receipt(&mut headers, &admitted.receipt);
        set(
            &mut headers,
            "cordon-principal",
            &admitted.identity.principal,
        );
        set(&mut headers, "cordon-agency", &admitted.identity.agency);
        set_decided_purpose(&mut headers, &admitted.purpose);
        let mut target = admitted.target.upstream_path.clone();
        if let Some(q) = &admitted.query {
            target.push('?');
            target.push_str(q);
        }
        let is_head = method == Method::HEAD;
        // A HEAD answer must give the redacted length, which only the redacted body has:
        // fetch the body and send none of it.
        let upstream_method = if is_head && redacting {
            Method::GET
        } else {
            method
        };
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = upstream_method;
        *req.headers_mut() = headers;
        match up.uri(&target) {
            Some(u) => *req.uri_mut() = u,
            None => return self.upstream_failed("the upstream URL could not be built"),
        }
        let resp = match up.send(req).await {
            Ok(r) => r,
            Err(f) => return self.upstream_failure(&f),
        };
        let (mut parts, body) = resp.into_parts();
        if redacting && parts.status == StatusCode::PARTIAL_CONTENT {
            return self.upstream_failed(
                "the upstream sent part of a response that must be redacted; Cordon redacts only whole responses",
            );
        }
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if !is_head && declared.is_some_and(|n| n > self.config.max_response_bytes) {
            return self.upstream_failure(&Failure::TooLarge(self.config.max_response_bytes));
        }
        let treatment = treatment(
            &admitted.decision.obligations.redact,
            &parts.headers,
            self.config.response_window_bytes,
        );
        let limits = Limits {
            max_bytes: self.config.max_response_bytes,
            idle: up.body_timeout(),
            connect: up.connect_timeout(),
        };
        let src = Source::new(body, treatment, limits, self.metrics.clone());
        strip_upstream_headers(&mut parts.headers);
        if redacting {
            for h in BODY_DESCRIBING_RESPONSE {
                parts.headers.remove(h);
            }
        }
        if is_head {
            // A HEAD answer has no body but the length the GET body would have: with
            // redaction, the redacted length, which only the whole redacted body gives.
            let length = if redacting {
                match crate::redact::length(src).await {
                    Ok(n) => HeaderValue::from(n),
                    Err(e) => return self.stream_failed(&e),
                }
            } else {
                HeaderValue::from(declared.unwrap_or(0))
            };
            parts.headers.insert(CONTENT_LENGTH, length);
            return Response::from_parts(parts, full(Bytes::new()));
        }
        match crate::redact::prefix(src, self.config.response_window_bytes).await {
            Err(e) => self.stream_failed(&e),
            Ok(Prefix::Whole(bytes)) => {
                parts
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
                Response::from_parts(parts, full(bytes))
            }
            // The length is unknown once redaction changes it (then hyper sends it
            // chunked); passed through unchanged, hyper gives the upstream's.
            Ok(Prefix::Started(first, src)) => {
                let cut = Cut {
                    log: self.log.clone(),
                    metrics: self.metrics.clone(),
                    of: admitted.receipt.index(),
                    watch: self.watch.clone(),
                };
                Response::from_parts(parts, Streamed::new(first, src, cut).boxed())
            }
        }
    }

    /// A response that failed before anything was sent: 502, or 504 for a stall.
    fn stream_failed(&self, e: &StreamError) -> Response<Body> {
        match e {
            StreamError::Upstream(f) => self.upstream_failure(f),
            other => self.upstream_failed(&other.to_string()),
        }
    }

    /// The upstream failed or was too slow: 502 or 504, saying which and what to do.
    fn upstream_failure(&self, f: &Failure) -> Response<Body> {
        self.metrics.count(Outcome::UpstreamError);
        tracing::warn!(why = %f, "upstream failure");
        refuse(f.status(), &f.to_string(), f.what_to_do())
    }

    fn upstream_failed(&self, why: &str) -> Response<Body> {
        self.metrics.count(Outcome::UpstreamError);
        tracing::warn!(why, "upstream failure");
        refuse(
            StatusCode::BAD_GATEWAY,
            why,
            "the decision is logged (see Cordon-Receipt); try again later or tell the operator",
        )
    }
}

fn strip_upstream_headers(h: &mut HeaderMap) {
    let doomed: Vec<HeaderName> = h
        .keys()
        .filter(|k| {
            let n = k.as_str();
            HOP_BY_HOP.contains(&n) || n.starts_with("cordon-") || n == "content-length"
        })
        .cloned()
        .collect();
    for k in doomed {
        h.remove(&k);
    }
}

/// What the decision's redactions do to a body with these headers. Redaction applies only
/// to plain JSON; a body that must be redacted but cannot be is refused as soon as any
/// byte of it arrives (an empty one, as a 204's, passes as before).
fn treatment(fields: &[String], h: &HeaderMap, max_token: usize) -> Treatment {
    if fields.is_empty() {
        return Treatment::Pass;
    }
    if h.get(CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() != b"identity")
    {
        return Treatment::Refuse("the upstream compressed a response that must be redacted");
    }
    let is_json = h
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    if !is_json {
        return Treatment::Refuse(
            "the decision requires redaction, which Cordon applies only to JSON responses",
        );
    }
    Treatment::Redact(Box::new(cordon_redact::Redactor::new(fields, max_token)))
}
