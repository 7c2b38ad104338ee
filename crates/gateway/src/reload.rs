//! Reloading packs and routes while serving (on SIGHUP): the new policy is loaded and
//! checked beside the old one, the change is written durably to the log, and only then does
//! the next request see it. A policy change is thereby as auditable as a decision, and a
//! reload that cannot be logged does not happen.
use crate::config::{Config, Route};
use crate::durable::{append_within, WaitError};
use crate::entry::{now_rfc3339, ReloadEntry, StackRef, ENTRY_VERSION};
use crate::live::Live;
use crate::{Gateway, GatewayError};
use std::sync::Arc;
use std::time::Duration;

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The packs and routes on disk are the ones in force; nothing was written.
    Unchanged,
    /// The change was logged at `index` and is now in force.
    Applied { index: u64, changed: Vec<String> },
}

/// Why a reload was refused; the policy in force is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("these settings changed but apply only at start: {}; restart the gateway to apply them (nothing was reloaded)", .0.join(", "))]
    RestartOnly(Vec<&'static str>),
    #[error("the new packs or routes are not usable: {0} (the policy in force is unchanged)")]
    Invalid(String),
    #[error("the reload could not be written to the log: {0}; the policy in force is unchanged")]
    Log(String),
}

impl Gateway {
    /// Replaces the packs and routes with those `config` names, once the change is durable
    /// in the log. Every other key of `config` must equal the one the gateway started
    /// with. Requests already deciding finish under the policy they started with; no
    /// connection is closed.
    pub async fn reload(self: &Arc<Self>, config: &Config) -> Result<Reloaded, ReloadError> {
        let outcome = self.try_reload(config).await;
        match &outcome {
            Ok(Reloaded::Applied { .. }) => self.metrics.count_reload(true),
            Ok(Reloaded::Unchanged) => {}
            Err(_) => self.metrics.count_reload(false),
        }
        outcome
    }

    async fn try_reload(self: &Arc<Self>, config: &Config) -> Result<Reloaded, ReloadError> {
        let restart = self.config.restart_only_changes(config);
        if !restart.is_empty() {
            return Err(ReloadError::RestartOnly(restart));
        }
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(ReloadError::Invalid(problems.join("; ")));
        }
        let _one_at_a_time = self.reloading.lock().await;
        // Reading and compiling packs is file and CPU work: off the request threads, so a
        // slow disk or a large pack delays the reload, never the requests.
        let gw = self.clone();
        let next = config.clone();
        let new = tokio::task::spawn_blocking(move || Live::load(&next, &gw.auth))
            .await
            .map_err(|e| ReloadError::Invalid(format!("loading the packs failed: {e}")))?
            .map_err(|e| ReloadError::Invalid(chain(&e)))?;
        let old = self.live();
        let changed = changes(&old, &new);
        if changed.is_empty() {
            return Ok(Reloaded::Unchanged);
        }
        let index = self.log_reload(&new, &changed).await?;
        let new = Arc::new(new);
        match self.live.write() {
            Ok(mut l) => *l = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
        tracing::info!(index, ?changed, "reloaded packs and routes");
        Ok(Reloaded::Applied { index, changed })
    }

    /// At start, before serving: when the packs or routes differ from those the log's
    /// latest decision or reload names, writes a `reload` entry saying so, so that a policy
    /// changed by a restart is announced like one changed by SIGHUP. Returns its index.
    pub async fn log_policy_at_start(self: &Arc<Self>) -> Result<Option<u64>, ReloadError> {
        let gw = self.clone();
        let last = tokio::task::spawn_blocking(move || last_logged_policy(&gw))
            .await
            .map_err(|e| ReloadError::Log(format!("reading the last logged policy failed: {e}")))?;
        let Some((stack, routes)) = last else {
            return Ok(None);
        };
        let live = self.live();
        let now = &live.fingerprints;
        let mut changed = Vec::new();
        if stack != now.stack {
            changed.push(format!("pack stack at start: {stack} → {}", now.stack));
        }
        if routes != now.routes {
            changed.push(format!("routes at start: {routes} → {}", now.routes));
        }
        if changed.is_empty() {
            return Ok(None);
        }
        let _one_at_a_time = self.reloading.lock().await;
        let index = self.log_reload(&live, &changed).await?;
        tracing::info!(
            index,
            ?changed,
            "the packs or routes changed while the gateway was stopped; logged"
        );
        Ok(Some(index))
    }

    async fn log_reload(&self, new: &Live, changed: &[String]) -> Result<u64, ReloadError> {
        let time = now_rfc3339();
        let entry = ReloadEntry {
            v: ENTRY_VERSION,
            kind: "reload",
            time: &time,
            stack: StackRef {
                packs: &new.fingerprints.packs,
                sha256: &new.fingerprints.stack,
            },
            routes_sha256: &new.fingerprints.routes,
            changed,
        };
        let bytes = entry
            .to_bytes()
            .map_err(|e| ReloadError::Log(e.to_string()))?;
        let deadline = Duration::from_millis(self.config.log.durable_deadline_ms);
        match append_within(&self.log, &self.watch, bytes, false, deadline).await {
            Ok(receipt) => Ok(receipt.index()),
            Err(WaitError::Deadline) => Err(ReloadError::Log(format!(
                "not durable within {} ms",
                self.config.log.durable_deadline_ms
            ))),
            Err(WaitError::Log(e)) => Err(ReloadError::Log(e.to_string())),
        }
    }
}

/// Entries read back from the end of the log when looking for the policy last in force.
const START_SCAN: u64 = 4096;

/// The (stack, routes) hashes the newest decision or reload entry among the last
/// [`START_SCAN`] integrated entries names; `None` when there is none, or the log's entries
/// are not readable here (a shared log whose tiles another host writes).
fn last_logged_policy(gw: &Gateway) -> Option<(String, String)> {
    use crate::entry::Entry;
    let size = gw.log.checkpoint().checkpoint.size;
    let root = gw.log.root();
    (size.saturating_sub(START_SCAN)..size).rev().find_map(|i| {
        let bytes = cordon_log::verify::read_entry(root, size, i).ok()?;
        match crate::entry::read(&bytes).ok()? {
            Entry::Decision(d) => Some((d.stack_sha256?, d.routes_sha256?)),
            Entry::Reload {
                stack_sha256,
                routes_sha256,
                ..
            } => Some((stack_sha256, routes_sha256)),
            _ => None,
        }
    })
}

/// An error and every cause under it, so the operator reads why, not only what.
fn chain(e: &GatewayError) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// One line per change, old hash to new, in the order a reader checks them: packs, then
/// their order, then routes.
fn changes(old: &Live, new: &Live) -> Vec<String> {
    let mut out = Vec::new();
    for (name, hash) in &new.pack_hashes {
        match old.pack_hashes.iter().find(|(n, _)| n == name) {
            None => out.push(format!("pack {name} added: {hash}")),
            Some((_, before)) if before != hash => {
                out.push(format!("pack {name}: {before} → {hash}"))
            }
            Some(_) => {}
        }
    }
    for (name, hash) in &old.pack_hashes {
        if !new.pack_hashes.iter().any(|(n, _)| n == name) {
            out.push(format!("pack {name} removed (was {hash})"));
        }
    }
    let order =
        |l: &Live| -> Vec<String> { l.pack_hashes.iter().map(|(n, _)| n.clone()).collect() };
    let (was, now) = (order(old), order(new));
    let kept: Vec<&String> = was.iter().filter(|n| now.contains(n)).collect();
    let still: Vec<&String> = now.iter().filter(|n| was.contains(n)).collect();
    if kept != still {
        out.push(format!(
            "pack order: {} → {}",
            was.join(" + "),
            now.join(" + ")
        ));
    }
    route_changes(&old.routes, &new.routes, &mut out);
    if out.is_empty() && old.fingerprints.routes != new.fingerprints.routes {
        // Only the order of the routes changed: matching ignores it, the hash does not.
        out.push(format!(
            "routes reordered: {} → {}",
            old.fingerprints.routes, new.fingerprints.routes
        ));
    }
    out
}

fn route_changes(old: &[Route], new: &[Route], out: &mut Vec<String>) {
    let digest = |r: &Route| crate::entry::sha256_hex(&serde_json::to_vec(r).unwrap_or_default());
    for r in new {
        match old.iter().find(|o| o.prefix == r.prefix) {
            None => out.push(format!(
                "route {} added: dataset {}, action {}",
                r.prefix, r.dataset, r.action
            )),
            Some(o) if o != r => {
                out.push(format!("route {}: {} → {}", r.prefix, digest(o), digest(r)))
            }
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|r| r.prefix == o.prefix) {
            out.push(format!("route {} removed", o.prefix));
        }
    }
}
