//! The decision pipeline shared by the reverse proxy and forward-auth: authenticate, map
//! the path to a dataset, bind the query, read the purpose, decide, and make the decision
//! durable in the log. Every refusal of an authenticated requester is logged too; only a
//! durable allow yields a [`Receipt`].
use crate::body::{search_body, BoundBody};
use crate::durable::{append_within, WaitError};
use crate::entry::{
    now_rfc3339, AuthorityUsed, DecisionEntry, Refusal, Requester, StackRef, ENTRY_VERSION,
};
use crate::identity::{CertNames, Identity};
use crate::live::Live;
use crate::metrics::Outcome;
use crate::path::normalize_path;
use crate::purpose::{self, parse_purpose, PurposeFields};
use crate::query::bind_query;
use crate::respond::{self, refuse, Body};
use crate::routes::Target;
use crate::Gateway;
use cordon_log::{AppendError, Receipt};
use cordon_policy::{AccessRequest, Decision, Effect, Principal, Resource};
use cordon_register::AuthorityBook;
use hyper::header::AUTHORIZATION;
use hyper::{HeaderMap, Method, Response, StatusCode};
use std::net::IpAddr;

/// Which enforcement point is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Proxy,
    ForwardAuth,
}

impl Via {
    fn word(self) -> &'static str {
        match self {
            Via::Proxy => "proxy",
            Via::ForwardAuth => "forward_auth",
        }
    }
}

/// What is being asked, as read off the wire (the proxied request, or the original
/// request a forward-auth subrequest describes).
pub struct Ask<'a> {
    pub via: Via,
    pub method: &'a Method,
    /// The raw path and query.
    pub path_and_query: &'a str,
    /// The request body as received (empty in forward-auth mode, which never sees it).
    pub body: &'a [u8],
    pub headers: &'a HeaderMap,
    /// The client's address: the connection's peer, or what a trusted proxy reported.
    pub peer: IpAddr,
    pub cert: Option<&'a CertNames>,
    /// Something already wrong with how the request was described (a forward-auth
    /// subrequest with conflicting originals, a body on a read): refused, and logged once
    /// the requester is known.
    pub problem: Option<Problem>,
}

/// What was wrong with a request before it was decided, and what to do instead.
#[derive(Debug, Clone)]
pub struct Problem {
    pub error: String,
    pub fix: &'static str,
}

/// A request whose allow is durable in the log.
pub struct Admitted {
    /// Not public: an `Admitted` is made only by [`Gateway::admit`], with the receipt of
    /// its own decision, and spent by [`Gateway::forward`].
    pub(crate) receipt: Receipt,
    pub decision: Decision,
    pub target: Target,
    pub identity: Identity,
    /// The canonical query that was decided and logged, if any: all the upstream gets.
    pub query: Option<String>,
    /// The canonical search body that was decided and logged, if any: the only body the
    /// upstream gets.
    pub body: Option<bytes::Bytes>,
    /// The purpose as decided and logged: the upstream gets it re-encoded from this, never
    /// the client's spelling of it.
    pub purpose: cordon_policy::Purpose,
}

/// A request that was refused, with the response to send and the outcome to count.
pub struct Refused {
    /// Boxed: a response is large and refusals travel through every `?` in the pipeline.
    pub response: Box<Response<Body>>,
    pub outcome: Outcome,
    pub receipt: Option<Receipt>,
}

fn refused(outcome: Outcome, response: Response<Body>) -> Refused {
    Refused {
        response: Box::new(response),
        outcome,
        receipt: None,
    }
}

/// A refusal before a policy decision: what was wrong and what to do instead.
struct Early {
    status: StatusCode,
    outcome: Outcome,
    error: String,
    fix: String,
}

fn early(status: StatusCode, outcome: Outcome, error: String, fix: &str) -> Early {
    Early {
        status,
        outcome,
        error,
        fix: fix.to_owned(),
    }
}

/// What was decided, before it is logged.
struct Decided {
    /// The method sent upstream: the request's, except that a HEAD whose answer must be
    /// redacted is fetched as a GET (only the redacted length is returned).
    method: String,
    target: Target,
    request: AccessRequest,
    decision: Decision,
    path: String,
    query: Option<String>,
    /// Why the authority the requester typed opened nothing, when it did not.
    unmatched: Option<cordon_register::Unmatched>,
    body: Option<BoundBody>,
}

impl Gateway {
    /// Decides one request and appends the decision (or the refusal) to the log, waiting
    /// until it is durable. Allowed requests come back with their [`Receipt`]; everything
    /// else comes back as the refusal to send. Unauthenticated requests are refused
    /// without a log entry (counted in metrics), so nobody can flood the log.
    pub async fn admit(&self, ask: &Ask<'_>) -> Result<Admitted, Refused> {
        let identity = self.identify(ask).await?;
        let time = now_rfc3339();
        // One snapshot of the packs and routes for the whole request: a reload that lands
        // now changes the next request, never half of this one.
        let live = self.live();
        let register = self.read_register_for(ask).await;
        let decided = match self.decide(&live, ask, &identity, &register) {
            Ok(d) => d,
            Err(e) => return Err(self.log_refusal(&live, ask, &identity, &time, e).await),
        };
        let entry = self.entry(&live, ask, &identity, &time, &decided);
        let receipt = self.append(&entry).await?;
        tracing::debug!(receipt = receipt.index(), allowed = decided.decision.is_allowed(), principal = %identity.principal, path = %decided.path, "decided");
        if !decided.decision.is_allowed() {
            return Err(Refused {
                response: Box::new(self.denial(
                    &decided.decision,
                    &decided.request,
                    decided.unmatched.as_ref(),
                    &receipt,
                )),
                outcome: Outcome::Denied,
                receipt: Some(receipt),
            });
        }
        Ok(Admitted {
            receipt,
            decision: decided.decision,
            target: decided.target,
            identity,
            query: decided.query,
            body: decided.body.map(|b| bytes::Bytes::from(b.canonical)),
            purpose: decided.request.purpose,
        })
    }

    fn entry<'a>(
        &'a self,
        live: &'a Live,
        ask: &'a Ask<'_>,
        identity: &'a Identity,
        time: &'a str,
        d: &'a Decided,
    ) -> DecisionEntry<'a> {
        let authority = d
            .request
            .authority
            .registration
            .as_ref()
            .map(|r| AuthorityUsed {
                registration: r.entry,
                document_sha256: &r.sha256,
            });
        DecisionEntry {
            request: Some(&d.request),
            decision: Some(&d.decision),
            authority,
            body: d.body.as_ref().map(|b| b.canonical.as_str()),
            body_sha256: d.body.as_ref().map(|b| b.sha256.as_str()),
            ..self.bare_entry(
                live,
                "decision",
                ask,
                identity,
                time,
                (&d.method, &d.path, d.query.as_deref()),
            )
        }
    }

    /// The fields every decision and refusal entry shares; request, decision and refusal
    /// are left for the caller.
    fn bare_entry<'a>(
        &'a self,
        live: &'a Live,
        kind: &'static str,
        ask: &Ask<'_>,
        identity: &'a Identity,
        time: &'a str,
        (method, path, query): (&'a str, &'a str, Option<&'a str>),
    ) -> DecisionEntry<'a> {
        DecisionEntry {
            v: ENTRY_VERSION,
            kind,
            time,
            via: ask.via.word(),
            auth: identity.method,
            principal: Requester {
                id: &identity.principal,
                agency: &identity.agency,
                app: identity.app.as_deref(),
            },
            client: Some(ask.peer),
            method,
            path,
            query,
            body: None,
            body_sha256: None,
            stack: Some(stack_ref(live)),
            routes_sha256: Some(&live.fingerprints.routes),
            authority: None,
            request: None,
            decision: None,
            refusal: None,
        }
    }

    /// Logs a refusal of an authenticated requester and builds its response.
    async fn log_refusal(
        &self,
        live: &Live,
        ask: &Ask<'_>,
        identity: &Identity,
        time: &str,
        e: Early,
    ) -> Refused {
        let (path, query) = split_target(ask.path_and_query);
        let (path, query) = (clip(path), query.map(clip));
        let entry = DecisionEntry {
            refusal: Some(Refusal {
                status: e.status.as_u16(),
                error: &e.error,
            }),
            ..self.bare_entry(
                live,
                "refusal",
                ask,
                identity,
                time,
                (ask.method.as_str(), &path, query.as_deref()),
            )
        };
        let receipt = match self.append(&entry).await {
            Ok(r) => r,
            Err(refusal) => return refusal,
        };
        Refused {
            response: Box::new(refuse(e.status, &e.error, &e.fix)),
            outcome: e.outcome,
            receipt: Some(receipt),
        }
    }

    /// The book of registered authorities, brought up to the log, when the request
    /// presents an authority (only then is it read; without one it stays empty and is
    /// never consulted); [`Gateway::decide`] resolves the authority in it.
    async fn read_register_for(&self, ask: &Ask<'_>) -> Result<AuthorityBook, String> {
        let presents = [purpose::AUTHORITY, purpose::AUTHORITY_REF]
            .iter()
            .any(|h| ask.headers.contains_key(*h));
        if !presents {
            return Ok(AuthorityBook::default());
        }
        let limit = std::time::Duration::from_millis(self.config.log.durable_deadline_ms);
        self.authorities.read_book(&self.log, limit).await
    }

    fn decide(
        &self,
        live: &Live,
        ask: &Ask<'_>,
        identity: &Identity,
        register: &Result<AuthorityBook, String>,
    ) -> Result<Decided, Early> {
        if let Some(p) = &ask.problem {
            return Err(early(
                StatusCode::BAD_REQUEST,
                Outcome::BadRequest,
                p.error.clone(),
                p.fix,
            ));
        }
        refuse_duplicates(ask.headers)?;
        let (raw_path, raw_query) = split_target(ask.path_and_query);
        let mut target = self.locate(live, ask, raw_path)?;
        if let Some(record) = target
            .path_record
            .as_deref()
            .filter(|r| !r.contains('/') && !crate::path::names_one_record(r))
        {
            return Err(early(
                StatusCode::BAD_REQUEST,
                Outcome::BadRequest,
                format!("the path's record {record:?} could name more than one record to a service (a wildcard such as % or ?, a list, or only underscores)"),
                "name one record, as it is written in the records system",
            ));
        }
        if let Some(below) = target.path_record.as_deref().filter(|r| r.contains('/')) {
            // `/records/people/P-1/associates` or `/P-1/export` would be decided as a read
            // of P-1 and answered with whatever the service keeps below it (other people,
            // a bulk file): no route decides that, so it is not served.
            return Err(early(
                StatusCode::NOT_FOUND,
                Outcome::NoRoute,
                format!(
                    "{below:?} is a path below a record of {}, not one record: no route decides what a service answers there",
                    target.route.prefix
                ),
                "request the record itself (one segment after the route's prefix), or ask the operator to configure a route for this path",
            ));
        }
        let bound = bind_query(
            raw_query,
            &target.route.query,
            target.path_record.as_deref(),
        )
        .map_err(|e| {
            early(
                StatusCode::BAD_REQUEST,
                Outcome::BadRequest,
                e.to_string(),
                "send only the query parameters the route declares, each once",
            )
        })?;
        let body = search_body(ask, &target, &bound).map_err(|e| {
            early(
                e.status(),
                Outcome::BadRequest,
                e.to_string(),
                "send a JSON object (Content-Type: application/json) of only the fields the route declares, each once",
            )
        })?;
        // A search sent with a body is scoped by its body alone: a service's POST handler
        // commonly reads only the body, so a record or time range in the query would be
        // decided and then not obeyed.
        let no_query = crate::query::BoundQuery::default();
        let scoping = if body.is_some() { &no_query } else { &bound };
        let named = scoping
            .record
            .as_ref()
            .or(body.as_ref().and_then(|b| b.record.as_ref()));
        match (named, &target.path_record) {
            // A collection path whose query or body names a record is decided as that record.
            (Some(record), None) => target.record = format!("{}/{record}", target.record),
            // A read route asked for its collection with no record named would answer with
            // the whole collection, and so would a search naming no record whose time range
            // is open or wider than the route allows (a limit only caps how much of
            // everything comes back): that is a bulk copy, and is decided as one.
            (None, None) if asks_for_everything(&target, scoping, body.as_ref())? => {
                target.action = cordon_policy::Action::Bulk;
            }
            _ => {}
        }
        let query = (!bound.canonical.is_empty()).then_some(bound.canonical);
        let canonical_uri = match &query {
            Some(q) => format!("{}?{q}", target.upstream_path),
            None => target.upstream_path.clone(),
        };
        if ask.via == Via::ForwardAuth && ask.path_and_query != canonical_uri {
            return Err(early(
                StatusCode::FORBIDDEN,
                Outcome::BadRequest,
                format!(
                    "the original URI {:?} is not in canonical form; Cordon decides only {canonical_uri:?}",
                    ask.path_and_query
                ),
                "request the canonical form: a proxy forwards the URI it was sent, so Cordon allows only that exact spelling",
            ));
        }
        let (purpose, typed) = parse_purpose(purpose_fields(ask.headers)).map_err(|e| {
            early(
                StatusCode::BAD_REQUEST,
                Outcome::BadRequest,
                e.to_string(),
                &purpose_help(e.header()),
            )
        })?;
        // Only a registration in the log fills in who signed the document; what was typed
        // alone opens nothing.
        let resolved = crate::authority::Authorities::resolve(
            register,
            &typed,
            &identity.agency,
            &target.record,
        );
        let request = AccessRequest {
            principal: Principal {
                id: identity.principal.clone(),
                agency: identity.agency.clone(),
            },
            action: target.action.clone(),
            resource: Resource {
                dataset: target.dataset.clone(),
                path: target.record.clone(),
                fields: Vec::new(),
                filters: Vec::new(),
            },
            purpose,
            authority: resolved.authority,
            time: None,
            source: Some(ask.peer),
        };
        let mut decision = live.pack.decide(&request);
        if let Some(why) = &resolved.unmatched {
            crate::denial::note_unmatched(&mut decision, &typed, why);
        }
        if ask.via == Via::ForwardAuth {
            forbid_unenforceable_redaction(&mut decision, target.route.upstream_redacts);
        }
        let head_as_get = ask.via == Via::Proxy
            && ask.method == Method::HEAD
            && !decision.obligations.redact.is_empty();
        Ok(Decided {
            method: if head_as_get {
                "GET".into()
            } else {
                ask.method.to_string()
            },
            path: target.upstream_path.clone(),
            target,
            request,
            decision,
            query,
            unmatched: resolved.unmatched,
            body,
        })
    }

    async fn identify(&self, ask: &Ask<'_>) -> Result<Identity, Refused> {
        let mut values = ask.headers.get_all(AUTHORIZATION).iter();
        let authorization = values.next().map(|v| v.as_bytes());
        if values.next().is_some() {
            return Err(refused(
                Outcome::BadRequest,
                refuse(
                    StatusCode::BAD_REQUEST,
                    "the request carries more than one Authorization header",
                    "send one credential",
                ),
            ));
        }
        self.auth.authenticate(authorization, ask.cert).await.map_err(|e| {
            refused(
                Outcome::Unauthenticated,
                refuse(
                    StatusCode::UNAUTHORIZED,
                    &e.to_string(),
                    "authenticate with a client certificate or a bearer token from your identity provider",
                ),
            )
        })
    }

    /// The dataset and action the path names, if the route takes this method.
    fn locate(&self, live: &Live, ask: &Ask<'_>, raw_path: &str) -> Result<Target, Early> {
        let path = normalize_path(raw_path).map_err(|e| {
            early(
                StatusCode::BAD_REQUEST,
                Outcome::BadRequest,
                format!("bad path: {e}"),
                "send a plain path such as /alpr/plates/ABC123",
            )
        })?;
        let target = live.router.route(&path).ok_or_else(|| {
            early(
                StatusCode::NOT_FOUND,
                Outcome::NoRoute,
                format!("no dataset is configured for the path {}", path.decoded()),
                &format!("use one of the configured routes: {}", route_list(live)),
            )
        })?;
        if !target
            .route
            .methods
            .iter()
            .any(|m| m == ask.method.as_str())
        {
            return Err(early(
                StatusCode::METHOD_NOT_ALLOWED,
                Outcome::BadRequest,
                format!(
                    "method {} is not allowed on {}",
                    ask.method, target.route.prefix
                ),
                &format!("this route takes {}", target.route.methods.join(", ")),
            ));
        }
        Ok(target)
    }

    async fn append(&self, entry: &DecisionEntry<'_>) -> Result<Receipt, Refused> {
        let bytes = entry.to_bytes().map_err(|e| {
            refused(
                Outcome::BadRequest,
                refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("the decision could not be serialized: {e}"),
                    "shorten the purpose headers",
                ),
            )
        })?;
        let allowed = entry.decision.is_some_and(Decision::is_allowed);
        let deadline = std::time::Duration::from_millis(self.config.log.durable_deadline_ms);
        match append_within(&self.log, &self.watch, bytes, allowed, deadline).await {
            Ok(r) => Ok(r),
            Err(WaitError::Deadline) => {
                tracing::error!(
                    ?deadline,
                    "the decision was not durable in time; refusing the request (fail closed)"
                );
                Err(refused(
                    Outcome::LogUnavailable,
                    respond::log_unavailable(self.config.retry_after_seconds),
                ))
            }
            Err(WaitError::Log(AppendError::TooLarge(n))) => Err(refused(
                Outcome::BadRequest,
                refuse(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    &format!("the decision record would be {n} bytes, over the log's limit"),
                    "shorten Cordon-Reason and the other purpose headers",
                ),
            )),
            Err(WaitError::Log(e)) => {
                tracing::error!(error = %e, "log append failed; refusing the request (fail closed)");
                Err(refused(
                    Outcome::LogUnavailable,
                    respond::log_unavailable(self.config.retry_after_seconds),
                ))
            }
        }
    }

    /// A 403 a person can act on: the decision, each rule with its basis and the law in
    /// words and as a citation, why a typed authority opened nothing, the signed receipt.
    fn denial(
        &self,
        d: &Decision,
        request: &AccessRequest,
        unmatched: Option<&cordon_register::Unmatched>,
        receipt: &Receipt,
    ) -> Response<Body> {
        let mut body = crate::denial::body(d, request, unmatched, receipt.index(), &self.origin);
        body["signed_receipt"] = serde_json::Value::from(receipt.header_value());
        respond::json(StatusCode::FORBIDDEN, &body)
    }
}

fn stack_ref(live: &Live) -> StackRef<'_> {
    StackRef {
        packs: &live.fingerprints.packs,
        sha256: &live.fingerprints.stack,
    }
}

fn route_list(live: &Live) -> String {
    let v: Vec<String> = live
        .routes
        .iter()
        .map(|r| format!("{}/...", r.prefix))
        .collect();
    v.join(", ")
}

/// In forward-auth mode Cordon never sees the response, so it cannot remove fields: an
/// allow that carries a redaction obligation becomes a deny unless the route declares
/// that the upstream removes them itself.
fn forbid_unenforceable_redaction(d: &mut Decision, upstream_redacts: bool) {
    if d.decision != Effect::Allow || d.obligations.redact.is_empty() || upstream_redacts {
        return;
    }
    d.decision = Effect::Deny;
    d.explanation = vec![format!(
        "the law allows this only with {} removed from the answer, and in forward-auth mode Cordon never sees the answer; this route does not declare that the upstream removes them (upstream_redacts)",
        d.obligations.redact.join(" and ")
    )];
}

/// A purpose header sent twice could be decided on one value and read upstream as the
/// other, so neither is used.
fn refuse_duplicates(h: &HeaderMap) -> Result<(), Early> {
    for name in purpose::INPUT_HEADERS {
        if h.get_all(name).iter().count() > 1 {
            return Err(early(
                StatusCode::BAD_REQUEST,
                Outcome::BadRequest,
                format!("header {name} appears more than once"),
                "send each Cordon-* header once",
            ));
        }
    }
    Ok(())
}

/// Whether a request that names no record would be answered with the whole collection: a
/// read always; a search unless its time range is closed and no wider than the route's
/// `max_window_hours` (an open end, or a range of decades, bounds nothing).
fn asks_for_everything(
    target: &Target,
    query: &crate::query::BoundQuery,
    body: Option<&BoundBody>,
) -> Result<bool, Early> {
    match target.action {
        cordon_policy::Action::Read => Ok(true),
        cordon_policy::Action::Search => {
            let Some(max_hours) = target.route.max_window_hours else {
                return Ok(true);
            };
            let from = query
                .time_from
                .as_deref()
                .or(body.and_then(|b| b.time_from.as_deref()));
            let to = query
                .time_to
                .as_deref()
                .or(body.and_then(|b| b.time_to.as_deref()));
            let (Some(from), Some(to)) = (from, to) else {
                return Ok(true);
            };
            let seconds = crate::query::seconds_between(from, to).map_err(|why| {
                early(
                    StatusCode::BAD_REQUEST,
                    Outcome::BadRequest,
                    why,
                    "send a time range whose end is after its start",
                )
            })?;
            Ok(seconds > max_hours.saturating_mul(3600))
        }
        _ => Ok(false),
    }
}

fn split_target(path_and_query: &str) -> (&str, Option<&str>) {
    match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    }
}

/// A refused request's path or query is logged as sent, cut to a length the log takes.
fn clip(s: &str) -> String {
    const MAX: usize = 2048;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn purpose_fields(h: &HeaderMap) -> PurposeFields<'_> {
    let get = |name: &str| h.get(name).map(|v| v.as_bytes());
    PurposeFields {
        purpose: get(purpose::PURPOSE),
        reason: get(purpose::REASON),
        case: get(purpose::CASE),
        authority: get(purpose::AUTHORITY),
        authority_ref: get(purpose::AUTHORITY_REF),
        authority_record: get(purpose::AUTHORITY_RECORD),
    }
}

fn purpose_help(header: &str) -> String {
    format!(
        "set the {header} header: Cordon-Purpose (required, a purpose code), Cordon-Reason (your words), \
         Cordon-Case (case number), Cordon-Authority and Cordon-Authority-Ref (legal process, if any); \
         values are percent-encoded UTF-8"
    )
}
