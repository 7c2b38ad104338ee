//! The decision pipeline shared by the reverse proxy and forward-auth: authenticate, read
//! the purpose, map the path to a dataset, decide, and make the decision durable in the
//! log. Only a durable decision yields a [`Receipt`].
use crate::entry::{now_rfc3339, LogEntry};
use crate::identity::{CertNames, Identity};
use crate::metrics::Outcome;
use crate::path::normalize_path;
use crate::purpose::{self, parse_purpose, PurposeFields};
use crate::respond::{self, refuse, Body};
use crate::routes::Target;
use crate::Gateway;
use cordon_log::{AppendError, Receipt};
use cordon_policy::{AccessRequest, Decision, Principal, Resource};
use hyper::header::AUTHORIZATION;
use hyper::{HeaderMap, Method, Response, StatusCode};
use serde_json::json;
use std::net::IpAddr;

/// What is being asked, as read off the wire (the proxied request, or the original
/// request a forward-auth subrequest describes).
pub struct Ask<'a> {
    pub via: &'static str,
    pub method: &'a Method,
    /// The raw path and query.
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub peer: IpAddr,
    pub cert: Option<&'a CertNames>,
}

/// A request whose allow is durable in the log.
pub struct Admitted {
    pub receipt: Receipt,
    pub decision: Decision,
    pub target: Target,
    pub identity: Identity,
    pub query: Option<String>,
}

/// A request that was refused, with the response to send and the outcome to count.
pub struct Refused {
    /// Boxed: a response is large and refusals travel through every `?` in the pipeline.
    pub response: Box<Response<Body>>,
    pub outcome: Outcome,
    pub receipt: Option<u64>,
}

fn refused(outcome: Outcome, response: Response<Body>) -> Refused {
    Refused {
        response: Box::new(response),
        outcome,
        receipt: None,
    }
}

impl Gateway {
    /// Decides one request and appends the decision to the log, waiting until it is
    /// durable. Allowed requests come back with their [`Receipt`]; everything else comes
    /// back as the refusal to send.
    pub async fn admit(&self, ask: &Ask<'_>) -> Result<Admitted, Refused> {
        let identity = self.identify(ask)?;
        let (target, query) = self.locate(ask)?;
        let (purpose, authority) = parse_purpose(purpose_fields(ask.headers)).map_err(|e| {
            refused(
                Outcome::BadRequest,
                refuse(
                    StatusCode::BAD_REQUEST,
                    &e.to_string(),
                    &purpose_help(e.header()),
                ),
            )
        })?;
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
            authority,
            time: None,
            source: Some(ask.peer),
        };
        let decision = self.pack.decide(&request);
        let logged_path = match &query {
            Some(q) => format!("{}?{q}", target.upstream_path),
            None => target.upstream_path.clone(),
        };
        let entry = LogEntry {
            v: crate::entry::ENTRY_VERSION,
            time: now_rfc3339(),
            via: ask.via,
            auth: identity.method,
            method: ask.method.as_str(),
            path: &logged_path,
            request: &request,
            decision: &decision,
        };
        let receipt = self.append(&entry).await?;
        tracing::debug!(receipt = receipt.index(), allowed = decision.is_allowed(), principal = %identity.principal, path = %logged_path, "decided");
        if !decision.is_allowed() {
            return Err(Refused {
                response: Box::new(self.denial(&decision, receipt.index())),
                outcome: Outcome::Denied,
                receipt: Some(receipt.index()),
            });
        }
        Ok(Admitted {
            receipt,
            decision,
            target,
            identity,
            query,
        })
    }

    fn identify(&self, ask: &Ask<'_>) -> Result<Identity, Refused> {
        let authorization = ask.headers.get(AUTHORIZATION).map(|v| v.as_bytes());
        self.auth.authenticate(authorization, ask.cert).map_err(|e| {
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

    /// The dataset and action the path names, and the query as sent.
    fn locate(&self, ask: &Ask<'_>) -> Result<(Target, Option<String>), Refused> {
        let (raw_path, query) = match ask.path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (ask.path_and_query, None),
        };
        let path = normalize_path(raw_path).map_err(|e| {
            refused(
                Outcome::BadRequest,
                refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("bad path: {e}"),
                    "send a plain path such as /alpr/plates/ABC123",
                ),
            )
        })?;
        let target = self.router.route(&path).ok_or_else(|| {
            refused(
                Outcome::NoRoute,
                refuse(
                    StatusCode::NOT_FOUND,
                    &format!("no dataset is configured for the path {}", path.decoded()),
                    &format!("use one of the configured routes: {}", self.route_list()),
                ),
            )
        })?;
        if ask.method != Method::GET && ask.method != Method::HEAD {
            return Err(refused(
                Outcome::BadRequest,
                refuse(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("method {} is not allowed through Cordon", ask.method),
                    "records are read with GET or HEAD",
                ),
            ));
        }
        Ok((target, query))
    }

    async fn append(&self, entry: &LogEntry<'_>) -> Result<Receipt, Refused> {
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
        match self.log.submit(bytes).durable().await {
            Ok(r) => Ok(r),
            Err(AppendError::TooLarge(n)) => Err(refused(
                Outcome::BadRequest,
                refuse(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    &format!("the decision record would be {n} bytes, over the log's limit"),
                    "shorten Cordon-Reason and the other purpose headers",
                ),
            )),
            Err(e) => {
                tracing::error!(error = %e, "log append failed; refusing the request (fail closed)");
                Err(refused(
                    Outcome::LogUnavailable,
                    respond::log_unavailable(self.config.retry_after_seconds),
                ))
            }
        }
    }

    /// A 403 a person can act on: the decision, the law in words and as a citation, the receipt.
    fn denial(&self, d: &Decision, receipt: u64) -> Response<Body> {
        let what_to_do = if d.problems.is_empty() {
            "this access is not permitted by law for your agency and stated purpose; if you believe it is lawful, present the legal process (Cordon-Authority) or contact your records officer, quoting the receipt"
        } else {
            "fix the problems listed and send the request again"
        };
        respond::json(
            StatusCode::FORBIDDEN,
            &json!({
                "decision": "deny",
                "receipt": receipt,
                "log": self.origin,
                "why": d.explanation,
                "citations": d.citations,
                "policies": d.policies,
                "problems": d.problems,
                "screening": d.screen,
                "what_to_do": what_to_do,
            }),
        )
    }

    fn route_list(&self) -> String {
        let v: Vec<String> = self
            .config
            .routes
            .iter()
            .map(|r| format!("{}/...", r.prefix))
            .collect();
        v.join(", ")
    }
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
