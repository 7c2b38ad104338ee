//! The federal request register on the gateway: `POST /requests` records a federal request
//! and answers with the pack's decision, its law and the log receipt;
//! `POST /requests/<index>/outcome` and `POST /requests/<index>/correction` follow it up.
//! `POST /requests/authorities` registers legal process staff checked (a warrant, an order,
//! a consent) so that the gateway honours it for the records and dates it names, and
//! `POST /requests/authorities/<index>/revocation` withdraws it; both count from the moment
//! the answer is sent.
//! Only authenticated principals listed in `register.recorders` (as `agency/principal`, or
//! by principal alone) and of a local, state or other non-federal agency may record. Entries
//! are never edited or deleted: any other method is refused and pointed at corrections.
//!
//! The entries are made by `cordon_register::Registrar`, the same code `cordon requests`
//! uses on a log directory; this module adds HTTP, identity and the durable append.

use crate::identity::{CertNames, Identity};
use crate::respond::{self, refuse, stamp, Body};
use crate::Gateway;
use bytes::Bytes;
use cordon_log::Receipt;
use cordon_register::{
    AuthorityRegistration, Correction, FederalRequest, Outcome, Prepared, Recorder, RegisterError,
    Step,
};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Largest register body accepted: a request is a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;
/// How long an outcome waits for the checkpoint that covers the entry it follows.
const TARGET_WAIT: Duration = Duration::from_secs(10);

/// Whether `path` is the register endpoint or under it.
pub fn is_register_path(path: &str, prefix: &str) -> bool {
    crate::config::is_under(path, prefix)
}

/// What a register path asks for.
enum Target {
    NewRequest,
    Outcome(u64),
    Correction(u64),
    Authority,
    Revocation(u64),
}

/// Handles one request to the register endpoint.
pub async fn handle(
    gw: &Gateway,
    prefix: &str,
    req: Request<Incoming>,
    cert: Option<&CertNames>,
) -> Response<Body> {
    let (mut response, receipt) = match answer(gw, prefix, req, cert).await {
        Ok((response, receipt)) => (response, Some(receipt)),
        Err(response) => {
            gw.metrics.register.refused.fetch_add(1, Ordering::Relaxed);
            (*response, None)
        }
    };
    stamp(&mut response, receipt, &gw.origin_header);
    response
}

type Refusal = Box<Response<Body>>;

async fn answer(
    gw: &Gateway,
    prefix: &str,
    req: Request<Incoming>,
    cert: Option<&CertNames>,
) -> Result<(Response<Body>, Receipt), Refusal> {
    let target = target(prefix, req.uri().path())?;
    if req.method() != Method::POST {
        return Err(not_post(prefix, req.method()));
    }
    let live = gw.live();
    let (registrar, recorders) = match (&live.registrar, &gw.config.register) {
        (Some(r), Some(section)) => (r, &section.recorders),
        _ => {
            return Err(fail(
                StatusCode::NOT_FOUND,
                "the federal request register is not configured",
                "configure [register] in the gateway config",
            ))
        }
    };
    let identity = identify(gw, &req, cert).await?;
    if !may_record(&live, recorders, &identity) {
        return Err(fail(
            StatusCode::FORBIDDEN,
            &format!(
                "{} of {} may not record to the federal request register",
                identity.principal, identity.agency
            ),
            "ask the operator to add you to register.recorders; the register is kept by the city's records staff",
        ));
    }
    let body = read_body(req).await?;
    let by = Recorder {
        id: identity.principal.clone(),
        agency: identity.agency.clone(),
        auth: identity.method.to_owned(),
    };
    let prepared = match target {
        Target::NewRequest => {
            FederalRequest::from_json(&body).and_then(|r| registrar.request(by, r))
        }
        Target::Outcome(of) => {
            let outcome = Outcome::from_json(&body).map_err(bad_input)?;
            let entry = target_entry(gw, of).await?;
            registrar.outcome(by, of, &entry, outcome)
        }
        Target::Correction(of) => {
            let correction = Correction::from_json(&body).map_err(bad_input)?;
            let entry = target_entry(gw, of).await?;
            registrar.correction(by, of, &entry, correction)
        }
        Target::Authority => AuthorityRegistration::from_json(&body)
            .and_then(|authority| registrar.authority(by, authority)),
        Target::Revocation(of) => {
            let reason = revocation_reason(&body)?;
            let book = current_book(gw).await?;
            registrar.revocation(by, of, &book, reason)
        }
    }
    .map_err(bad_input)?;
    let receipt = append(gw, &prepared).await?;
    if matches!(
        prepared.entry.step,
        Step::Authority { .. } | Step::Revocation { .. }
    ) {
        honour_from_now(gw, receipt.index()).await?;
    }
    gw.metrics.register.count(&prepared);
    Ok((recorded(gw, prefix, &prepared, receipt.index()), receipt))
}

/// A recorder is listed by `agency/principal` (or, matching any agency, by principal
/// alone) and is never from a federal agency or a task force: the register is the city's
/// record of what federal agencies asked for, and a name alone can be carried by an
/// identity of another agency.
fn may_record(live: &crate::live::Live, recorders: &[String], identity: &Identity) -> bool {
    use cordon_policy::vocab::AgencyKind;
    let listed = recorders.iter().any(|r| match r.split_once('/') {
        Some((agency, principal)) => agency == identity.agency && principal == identity.principal,
        None => r == &identity.principal,
    });
    let local = matches!(
        live.pack.registry().kind_of(&identity.agency),
        Some(AgencyKind::LocalPolice | AgencyKind::StatePolice | AgencyKind::Other)
    );
    listed && local
}

fn target(prefix: &str, path: &str) -> Result<Target, Refusal> {
    let rest = path.strip_prefix(prefix).unwrap_or("");
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let index = |s: &str| s.parse::<u64>().ok();
    match parts.as_slice() {
        [] => Ok(Target::NewRequest),
        ["authorities"] => Ok(Target::Authority),
        ["authorities", n, "revocation"] if index(n).is_some() => {
            Ok(Target::Revocation(index(n).unwrap_or_default()))
        }
        [n, "outcome"] if index(n).is_some() => Ok(Target::Outcome(index(n).unwrap_or_default())),
        [n, "correction"] if index(n).is_some() => Ok(Target::Correction(index(n).unwrap_or_default())),
        [n] if index(n).is_some() => Err(edit_refused(prefix, n)),
        _ => Err(fail(
            StatusCode::NOT_FOUND,
            &format!("{path} is not a register endpoint"),
            &format!("POST {prefix} (a new request), POST {prefix}/<index>/outcome, POST {prefix}/<index>/correction, POST {prefix}/authorities (register legal process), POST {prefix}/authorities/<index>/revocation"),
        )),
    }
}

/// Anything but POST: entries cannot be read, edited or deleted over HTTP.
fn not_post(prefix: &str, method: &Method) -> Refusal {
    let mut r = fail(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{method} is not allowed on the federal request register: entries are never edited or deleted"),
        &format!("record a correction with POST {prefix}/<index>/correction; read the register with `cordon requests list` or the reports"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    r
}

fn edit_refused(prefix: &str, index: &str) -> Refusal {
    let mut r = fail(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("register entry {index} cannot be edited or deleted"),
        &format!("record a correction with POST {prefix}/{index}/correction (it is logged, names entry {index}, and wins in the reports)"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    r
}

async fn identify(
    gw: &Gateway,
    req: &Request<Incoming>,
    cert: Option<&CertNames>,
) -> Result<Identity, Refusal> {
    let authorization = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    gw.auth
        .authenticate(authorization, cert)
        .await
        .map_err(|e| {
            fail(
            StatusCode::UNAUTHORIZED,
            &e.to_string(),
            "authenticate with a client certificate or a bearer token from your identity provider",
        )
        })
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, Refusal> {
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(_) => Err(fail(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is larger than {MAX_BODY} bytes"),
            "send one request as a small JSON object",
        )),
    }
}

/// The entry an outcome or correction refers to, once a checkpoint covers it.
async fn target_entry(gw: &Gateway, of: u64) -> Result<Vec<u8>, Refusal> {
    let durable = gw.log.durable_size();
    if of >= durable {
        return Err(fail(
            StatusCode::NOT_FOUND,
            &format!("there is no log entry {of}: the log has {durable} entries"),
            "give the receipt returned when the request was recorded",
        ));
    }
    let deadline = tokio::time::Instant::now() + TARGET_WAIT;
    loop {
        let size = gw.log.checkpoint().checkpoint.size;
        if size > of {
            return cordon_log::verify::read_entry(gw.log.root(), size, of).map_err(|e| {
                tracing::error!(error = %e, index = of, "cannot read a log entry");
                fail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("log entry {of} cannot be read: {e}"),
                    "try again; if this persists, tell the operator",
                )
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(fail(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("log entry {of} is not yet integrated"),
                "try again in a few seconds",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The reason a revocation gives (no names): `{"reason": "warrant quashed"}`.
fn revocation_reason(body: &[u8]) -> Result<String, Refusal> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Revocation {
        reason: String,
    }
    serde_json::from_slice::<Revocation>(body)
        .map(|r| r.reason)
        .map_err(|e| {
            fail(
                StatusCode::BAD_REQUEST,
                &format!("the revocation is not valid JSON of the expected shape: {e}"),
                "send {\"reason\": \"why it is revoked, without names\"}",
            )
        })
}

/// The registrations as of the log's latest checkpoint, for a revocation to check.
async fn current_book(gw: &Gateway) -> Result<cordon_register::AuthorityBook, Refusal> {
    // Reads the bundles integrated since the last read, off the serving thread.
    let limit = std::time::Duration::from_millis(gw.config.log.durable_deadline_ms);
    let read = gw.authorities.read_book(&gw.log, limit).await;
    read.map_err(|e| {
        tracing::error!(error = %e, "cannot read the registered authorities");
        fail(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the registered authorities cannot be read: {e}"),
            "try again; if this persists, tell the operator",
        )
    })
}

/// Waits until the checkpoint covers entry `index` and the gateway's book has read it, so
/// that a registration opens, and a revocation closes, as soon as staff are told it is
/// recorded.
async fn honour_from_now(gw: &Gateway, index: u64) -> Result<(), Refusal> {
    let deadline = tokio::time::Instant::now() + TARGET_WAIT;
    while gw.log.checkpoint().checkpoint.size <= index {
        if tokio::time::Instant::now() >= deadline {
            return Err(fail(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("entry {index} is recorded but not yet integrated, so it may not be in force yet"),
                "it takes effect once the log integrates it (normally within a second); check again before relying on it",
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    current_book(gw).await.map(|_| ())
}

async fn append(gw: &Gateway, prepared: &Prepared) -> Result<Receipt, Refusal> {
    let deadline = Duration::from_millis(gw.config.log.durable_deadline_ms);
    let appended =
        crate::durable::append_within(&gw.log, &gw.watch, prepared.bytes.clone(), false, deadline)
            .await;
    match appended {
        Ok(receipt) => Ok(receipt),
        Err(e) => {
            let e = match e {
                crate::durable::WaitError::Log(e) => e.to_string(),
                crate::durable::WaitError::Deadline => {
                    format!("not durable within {deadline:?}")
                }
            };
            tracing::error!(error = %e, "register append failed; nothing was recorded");
            Err(Box::new(respond::log_unavailable(
                gw.config.retry_after_seconds,
            )))
        }
    }
}

fn recorded(gw: &Gateway, prefix: &str, p: &Prepared, receipt: u64) -> Response<Body> {
    let follow_up =
        format!("record what becomes of the person with POST {prefix}/{receipt}/outcome");
    let what_to_do = match (&p.entry.step, p.response().map(|r| r.response)) {
        (Step::Authority { authority }, _) => format!(
            "in force now: {} may present it with Cordon-Authority: {} and Cordon-Authority-Ref: {} when reading one of the {} record(s) it names, from {} to {}; revoke it with POST {prefix}/authorities/{receipt}/revocation",
            authority.agency,
            authority.kind.as_sent(),
            authority.reference,
            authority.records.len(),
            authority.valid_from,
            authority.expires
        ),
        (Step::Revocation { of, .. }, _) => {
            format!("registration {of} opens nothing from now on")
        }
        (_, Some(cordon_policy::Response::Decline)) => {
            format!("do not act on the request: the law cited forbids it; {follow_up}")
        }
        (_, Some(cordon_policy::Response::Comply)) => {
            format!("comply as the judicial document directs; {follow_up}")
        }
        (_, None) => "recorded".to_owned(),
    };
    respond::json(
        StatusCode::CREATED,
        &json!({
            "receipt": receipt,
            "log": gw.origin,
            "step": p.entry.step.word(),
            "response": p.response(),
            "what_to_do": what_to_do,
        }),
    )
}

fn bad_input(e: RegisterError) -> Refusal {
    let status = match e {
        RegisterError::Target(_) => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    fail(
        status,
        &e.to_string(),
        "fix the field named and send it again",
    )
}

fn fail(status: StatusCode, error: &str, fix: &str) -> Refusal {
    Box::new(refuse(status, error, fix))
}

/// Prometheus counters for the register: entries by step (and answer), and refusals.
#[derive(Debug, Default)]
pub struct RegisterCounters {
    declined: AtomicU64,
    complied: AtomicU64,
    outcomes: AtomicU64,
    corrections: AtomicU64,
    authorities: AtomicU64,
    revocations: AtomicU64,
    refused: AtomicU64,
}

impl RegisterCounters {
    fn count(&self, p: &Prepared) {
        let counter = match (&p.entry.step, p.response().map(|r| r.response)) {
            (Step::Request { .. }, Some(cordon_policy::Response::Comply)) => &self.complied,
            (Step::Request { .. }, _) => &self.declined,
            (Step::Outcome { .. }, _) => &self.outcomes,
            (Step::Correction { .. }, _) => &self.corrections,
            (Step::Authority { .. }, _) => &self.authorities,
            (Step::Revocation { .. }, _) => &self.revocations,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn render(&self, s: &mut String) {
        use std::fmt::Write as _;
        let name = "cordon_register_entries_total";
        let _ = writeln!(s, "# HELP {name} Federal request register entries recorded, by step and answer.\n# TYPE {name} counter");
        let rows = [
            ("request", "decline", &self.declined),
            ("request", "comply", &self.complied),
            ("outcome", "", &self.outcomes),
            ("correction", "", &self.corrections),
            ("authority", "", &self.authorities),
            ("revocation", "", &self.revocations),
        ];
        for (step, response, v) in rows {
            let _ = writeln!(
                s,
                "{name}{{step=\"{step}\",response=\"{response}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(s, "# HELP cordon_register_refused_total Register calls refused (unauthenticated, not a recorder, bad input, log unavailable).\n# TYPE cordon_register_refused_total counter\ncordon_register_refused_total {}", self.refused.load(Ordering::Relaxed));
    }
}
