//! Replay: re-decide every request a Cordon log recorded under another stack of policy
//! packs, and report which decisions would change and why — before a new stack is
//! deployed, or to show what an older law allowed. An authority recorded before courts
//! were recorded (a `judicial_warrant` or `court_order` with no court) is re-decided as
//! what it is, a court not recorded, and flagged; the log is never rewritten.
use std::path::Path;

use cordon_log::Verifier;
use cordon_policy::{AccessRequest, Effect, Stack};
use serde::Serialize;

use crate::error::AuditError;
use crate::logread::{bundle_entries, verified_size};

/// A decision that comes out differently under the new pack.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub index: u64,
    pub time: String,
    pub agency: String,
    pub action: String,
    pub dataset: String,
    pub purpose: String,
    pub was: Effect,
    pub now: Effect,
    pub was_policies: Vec<String>,
    pub now_policies: Vec<String>,
    /// The new stack's explanation, in words.
    pub why: Vec<String>,
    pub citations: Vec<String>,
    /// What the entry did not record and the replay had to read conservatively.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// The flag on an entry whose judicial authority names no court.
pub const COURT_NOT_RECORDED: &str = "court not recorded: no registered document says which court issued this judicial authority (the entry predates court recording, or the authority was typed and matched no registration), so it is read as opening nothing";

/// The outcome of a replay.
#[derive(Debug, Default, Serialize)]
pub struct ReplayReport {
    pub entries: u64,
    pub unchanged: u64,
    pub allow_to_deny: u64,
    pub deny_to_allow: u64,
    pub changes: Vec<Change>,
    /// Entries whose judicial authority names no court (recorded before courts were),
    /// by index: read as opening nothing, flagged, never rewritten.
    pub court_not_recorded: Vec<u64>,
    /// Entries of the federal request register: not access decisions, so not replayed
    /// here (the register's reports read them).
    pub register_entries: u64,
    /// Refusals before any policy decision (a bad query, a non-canonical URI), reloads and
    /// "not served" notes: nothing a pack could decide differently.
    pub not_decisions: u64,
    /// Entries that are not gateway decisions (or not readable as one), by index and why.
    pub skipped: Vec<String>,
}

/// The key that opens every register entry (`{"register":1,...}`), as the register
/// writes it; kept here rather than depending on the register for one word.
const REGISTER_KEY: &str = "register";

/// Replays every entry of the verified log in `dir` under `pack`.
pub fn replay(dir: &Path, verifier: &Verifier, pack: &Stack) -> Result<ReplayReport, AuditError> {
    let size = verified_size(dir, verifier)?;
    let mut report = ReplayReport::default();
    for t in 0..size.div_ceil(256) {
        for (k, entry) in bundle_entries(dir, size, t)?.into_iter().enumerate() {
            let index = t * 256 + k as u64;
            match replay_one(index, &entry, pack) {
                Ok(Replayed::Register) => report.register_entries += 1,
                Ok(Replayed::NotADecision) => report.not_decisions += 1,
                Ok(Replayed::Same { court_not_recorded }) => {
                    report.entries += 1;
                    report.unchanged += 1;
                    if court_not_recorded {
                        report.court_not_recorded.push(index);
                    }
                }
                Ok(Replayed::Changed(c)) => {
                    let c = *c;
                    if !c.flags.is_empty() {
                        report.court_not_recorded.push(index);
                    }
                    report.entries += 1;
                    if c.now == Effect::Deny {
                        report.allow_to_deny += 1;
                    } else {
                        report.deny_to_allow += 1;
                    }
                    report.changes.push(c);
                }
                Err(why) => {
                    report.entries += 1;
                    report.skipped.push(format!("entry {index}: {why}"));
                }
            }
        }
    }
    Ok(report)
}

enum Replayed {
    Same { court_not_recorded: bool },
    Changed(Box<Change>),
    Register,
    NotADecision,
}

fn replay_one(index: u64, entry: &[u8], pack: &Stack) -> Result<Replayed, String> {
    let v: serde_json::Value =
        serde_json::from_slice(entry).map_err(|e| format!("not JSON: {e}"))?;
    if v.get(REGISTER_KEY).is_some() {
        return Ok(Replayed::Register);
    }
    // Version 2 entries say what they are; version 1 entries are all decisions.
    if matches!(
        v.get("kind").and_then(|k| k.as_str()),
        Some("refusal" | "reload" | "not_served")
    ) {
        return Ok(Replayed::NotADecision);
    }
    let request: AccessRequest = serde_json::from_value(v["request"].clone())
        .map_err(|e| format!("no gateway request in it: {e}"))?;
    let was: Effect = serde_json::from_value(v["decision"]["decision"].clone())
        .map_err(|e| format!("no recorded decision in it: {e}"))?;
    let court_not_recorded = request.authority.court_not_recorded();
    let now = pack.decide(&request);
    if now.decision == was {
        return Ok(Replayed::Same { court_not_recorded });
    }
    let text = |p: &serde_json::Value| p.as_str().map(str::to_string).unwrap_or_default();
    let strings = |p: &serde_json::Value| -> Vec<String> {
        p.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let req = &v["request"];
    Ok(Replayed::Changed(Box::new(Change {
        index,
        time: text(&v["time"]),
        agency: text(&req["principal"]["agency"]),
        action: text(&req["action"]),
        dataset: text(&req["resource"]["dataset"]),
        purpose: text(&req["purpose"]["code"]),
        was,
        now: now.decision,
        was_policies: strings(&v["decision"]["policies"]),
        now_policies: now.policies,
        why: now.explanation,
        citations: now.citations,
        flags: if court_not_recorded {
            vec![COURT_NOT_RECORDED.to_owned()]
        } else {
            Vec::new()
        },
    })))
}
