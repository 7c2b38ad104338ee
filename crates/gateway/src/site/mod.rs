//! The public listener: the resident-facing page at `/`, the counts behind it at
//! `/stats.json`, know-your-rights pages at `/rights` and `/derechos`, and the public side
//! of the log (`checkpoint`, hash tiles) at the root so `cordon verify <url>` works. It
//! serves nothing an officer could query and never an entry bundle.
pub mod page;
pub mod rights;
pub mod stats;

pub use crate::config::PublicSection;
use crate::respond::{self, refuse, Body};
use crate::Gateway;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use stats::Counts;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// The latest checkpoint as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointView {
    pub size: u64,
    /// Base64, as in the checkpoint note.
    pub root: String,
    /// When this gateway's copy was last written (RFC 3339 UTC).
    pub time: String,
    /// Names of the witnesses whose cosignatures it carries.
    pub cosigners: Vec<String>,
}

/// Everything `/` renders and `/stats.json` serves, taken at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub origin: String,
    pub checkpoint: CheckpointView,
    pub counts: Counts,
    pub public_url: String,
    /// The log's verifier key.
    pub vkey: String,
    /// The witnesses' verifier keys, for the verify command.
    pub witness_vkeys: Vec<String>,
    /// Cosignatures a published checkpoint carries at least, when witnesses are configured.
    pub quorum: Option<usize>,
    /// Every rule of the packs in force that can refuse a request, with what it stands on
    /// and how many refusals it made.
    pub rules: Vec<RuleView>,
}

/// One refusing rule as the public sees it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    /// `<pack>/<rule>`.
    pub rule: String,
    /// `state_law`, `city_ordinance` or `agency_choice`.
    pub basis: cordon_policy::Basis,
    /// The basis in words, with the open question when it needs counsel.
    pub basis_words: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_counsel: Option<String>,
    pub citation: String,
    pub source: String,
    /// Refusals in the counted entries that this rule made (with others, or alone).
    pub denied: u64,
}

/// The refusing rules of `pack`, in stack order, with their counts from `counts`.
fn rule_views(pack: &cordon_policy::Stack, counts: &Counts) -> Vec<RuleView> {
    pack.packs()
        .iter()
        .flat_map(|p| p.forbid_metas().into_iter().map(move |m| (p.name(), m)))
        .map(|(name, m)| {
            let rule = format!("{name}/{}", m.id);
            RuleView {
                denied: counts.denied_by_rule.get(&rule).copied().unwrap_or(0),
                rule,
                basis: m.basis.clone(),
                basis_words: crate::denial::rule_basis(&m.basis, m.needs_counsel.as_deref()),
                needs_counsel: m.needs_counsel.clone(),
                citation: m.citation.clone(),
                source: m.source.clone(),
            }
        })
        .collect()
}

/// The public site's state: the running counts, kept across requests so each one reads
/// only the entries that are new.
pub struct Site {
    gw: Arc<Gateway>,
    counts: Mutex<Counts>,
    public_url: String,
    vkey: String,
}

impl Site {
    pub fn new(gw: Arc<Gateway>, section: &PublicSection) -> Site {
        let public_url = section
            .url
            .clone()
            .unwrap_or_else(|| format!("http://{}", section.listen))
            .trim_end_matches('/')
            .to_owned();
        let vkey = std::fs::read_to_string(gw.log.root().join(cordon_log::log::VKEY_FILE))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "<the log's verifier key>".into());
        Site {
            gw,
            counts: Mutex::new(Counts::default()),
            public_url,
            vkey,
        }
    }

    /// Brings the counts up to the log's latest checkpoint and takes a snapshot. Reads
    /// files, so call it off the async threads.
    pub fn snapshot(&self) -> Result<Snapshot, String> {
        let mut counts = self
            .counts
            .lock()
            .map_err(|_| "the counts were poisoned by an earlier failure".to_owned())?;
        let live = self.gw.live();
        let mut cp = self.gw.log.checkpoint();
        // The integrator may replace a partial bundle between reading the checkpoint and
        // the bundle; the next checkpoint then has the full one.
        let mut tries = 0;
        loop {
            // Only what the public can check: the published (cosigned) checkpoint's
            // entries, never the log's newer ones.
            let upto = match self.gw.publication() {
                None => cp.checkpoint.size,
                Some(p) => p.published().map_or(0, |pb| pb.size),
            };
            match counts.catch_up(live.pack(), self.gw.log.root(), cp.checkpoint.size, upto) {
                Ok(()) => break,
                Err(e) if tries >= 3 => return Err(e),
                Err(_) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(25));
                    cp = self.gw.log.checkpoint();
                }
            }
        }
        let (checkpoint, witness_vkeys) = match self.gw.publication() {
            None => (self.own_checkpoint(&cp), Vec::new()),
            Some(p) => (published_view(p), p.witness_vkeys()),
        };
        Ok(Snapshot {
            origin: cp.checkpoint.origin.clone(),
            checkpoint,
            counts: counts.clone(),
            public_url: self.public_url.clone(),
            vkey: self.vkey.clone(),
            witness_vkeys,
            quorum: self.gw.publication().map(|p| p.quorum()),
            rules: rule_views(live.pack(), &counts),
        })
    }

    /// Without witnesses, the log's own signed checkpoint is the published one.
    fn own_checkpoint(&self, cp: &cordon_log::SignedCheckpoint) -> CheckpointView {
        let time = std::fs::metadata(self.gw.log.root().join("checkpoint"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or_else(
                || "unknown".into(),
                |d| crate::entry::rfc3339(d.as_secs(), 0),
            );
        CheckpointView {
            size: cp.checkpoint.size,
            root: b64(&cp.checkpoint.root),
            time,
            cosigners: Vec::new(),
        }
    }
}

/// The last cosigned checkpoint; before the first, size 0 and no cosigners.
fn published_view(p: &crate::publish::Publication) -> CheckpointView {
    match p.published() {
        Some(pb) => CheckpointView {
            size: pb.size,
            root: b64(&pb.root),
            time: crate::entry::rfc3339(pb.time, 0),
            cosigners: pb.cosigners,
        },
        None => CheckpointView {
            size: 0,
            root: String::new(),
            time: "not yet published".into(),
            cosigners: Vec::new(),
        },
    }
}

fn b64(h: &cordon_log::Hash) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, h)
}

/// Serves the public site until `shutdown` resolves.
pub async fn serve(site: Arc<Site>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let answer = move |req| handle(site.clone(), req);
    let timeout = Duration::from_secs(30);
    crate::listener::serve_http1(listener, shutdown, "public", timeout, answer).await;
}

async fn handle(site: Arc<Site>, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "the public site is read-only",
            "use GET",
        );
    }
    let path = req.uri().path().to_owned();
    match path.as_str() {
        "/" | "/stats.json" => {
            let s = site.clone();
            let snap = tokio::task::spawn_blocking(move || s.snapshot()).await;
            match snap {
                Ok(Ok(snap)) if path == "/" => html(page::home(&snap)),
                Ok(Ok(snap)) => no_cache(respond::json(
                    StatusCode::OK,
                    &serde_json::to_value(&snap).unwrap_or_default(),
                )),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "public page: cannot read the log's entries");
                    unavailable()
                }
                Err(_) => unavailable(),
            }
        }
        "/rights" => html(rights::english()),
        "/derechos" => html(rights::spanish()),
        p => match p.strip_prefix('/') {
            Some(rest) if rest == "checkpoint" || rest.starts_with("tile/") => {
                crate::server::public(&site.gw, rest).await
            }
            _ => refuse(
                StatusCode::NOT_FOUND,
                "no such page",
                "see / for the public record, /rights or /derechos for your rights",
            ),
        },
    }
}

fn unavailable() -> Response<Body> {
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "the counts cannot be computed right now",
        "try again in a minute; if this persists, tell the operator",
    )
}

fn no_cache(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// An HTML page that may load nothing from anywhere (it has no need to).
fn html(body: String) -> Response<Body> {
    let mut r = respond::text(
        StatusCode::OK,
        "text/html; charset=utf-8",
        Bytes::from(body),
    );
    r.headers_mut().insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    no_cache(r)
}
