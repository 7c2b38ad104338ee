//! Public counts of decisions, aggregated from the private log entries. Only vocabulary
//! words and months leave this module: never ids, names, plates, case numbers, paths or
//! reasons, because the aggregate keys are built from closed sets, not from entry text.
use cordon_log::bundle;
use cordon_log::tile::{TileId, TILE_WIDTH};
use cordon_policy::{AgencyKind, PurposeCode, Stack};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Allowed and denied decisions in one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub allowed: u64,
    pub denied: u64,
    /// Denied requests from federal immigration agencies (ICE, CBP, USCIS).
    pub immigration_denied: u64,
}

/// Counts over the log's entries `0..entries`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// How many log entries have been read (decisions and other entries).
    pub entries: u64,
    /// Entries that are not access decisions (the federal request register's).
    pub other_entries: u64,
    pub total: Tally,
    pub by_agency_kind: BTreeMap<String, Tally>,
    pub by_purpose: BTreeMap<String, Tally>,
    /// `YYYY-MM`, in UTC, of the decision time.
    pub by_month: BTreeMap<String, Tally>,
    /// Denials by the rule that made them (`<pack>/<rule>`), each rule of a denial counted
    /// once; a rule no longer in the packs in force is counted under [`RETIRED_RULE`].
    pub denied_by_rule: BTreeMap<String, u64>,
    /// How many times the packs or routes changed while serving (`reload` entries).
    pub policy_changes: u64,
    /// The latest of them, oldest first, at most [`RECENT_POLICY_CHANGES`].
    pub recent_policy_changes: Vec<PolicyChange>,
}

/// How many policy changes the page lists; the count covers them all.
pub const RECENT_POLICY_CHANGES: usize = 20;

/// A change of the packs in force, as the public may see it: when, the hash of the packs
/// that decided from then on, and one line per pack that changed. Route lines are only
/// counted: a route names an upstream path, which is the operator's, not the public's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyChange {
    pub time: String,
    pub stack_sha256: String,
    pub packs: Vec<String>,
    pub route_changes: usize,
}

/// The key for denials by a rule the packs now in force do not have.
pub const RETIRED_RULE: &str = "retired";

/// The key a denying rule is counted under: its own qualified id when the stack in force
/// has it (a closed set, from the packs, never from a requester).
fn rule_key(pack: &Stack, policy: &str) -> String {
    let known = policy.split_once('/').is_some_and(|(p, rule)| {
        rule == cordon_policy::compose::NO_RULE_PERMITS
            && pack.packs().iter().any(|k| k.name() == p)
            || p == "stack" && rule == cordon_policy::compose::NO_PACK_GOVERNS
            || pack
                .packs()
                .iter()
                .any(|k| k.name() == p && k.policy_meta(rule).is_some())
    });
    if known {
        policy.to_owned()
    } else {
        RETIRED_RULE.to_owned()
    }
}

/// The label of an agency kind; an agency the pack does not know is `unregistered`.
fn agency_label(pack: &Stack, agency: &str) -> (&'static str, bool) {
    match pack.registry().kind_of(agency) {
        Some(AgencyKind::LocalPolice) => ("local_police", false),
        Some(AgencyKind::StatePolice) => ("state_police", false),
        Some(AgencyKind::FederalImmigration) => ("federal_immigration", true),
        Some(AgencyKind::FederalOther) => ("federal_other", false),
        Some(AgencyKind::Other) => ("other", false),
        Some(AgencyKind::TaskForce) => ("task_force", false),
        Some(AgencyKind::ImmigrationTaskForce) => ("immigration_task_force", true),
        _ => ("unregistered", false),
    }
}

/// A purpose word from the vocabulary, or `none`/`unrecognized`: what a requester typed
/// is never echoed.
fn purpose_label(code: Option<&str>) -> String {
    match code {
        None => "none".into(),
        Some(word) => {
            let p = PurposeCode::parse(word);
            if p.is_recognized() {
                p.as_sent().to_owned()
            } else {
                "unrecognized".into()
            }
        }
    }
}

/// `YYYY-MM` when the time starts with one, else `unknown`.
fn month(time: &str) -> String {
    let m = time.get(..7).unwrap_or("");
    let b = m.as_bytes();
    let ok = b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit());
    if ok {
        m.to_owned()
    } else {
        "unknown".into()
    }
}

impl Counts {
    /// Folds one entry in. Refusals of authenticated requesters (a bad query, a
    /// non-canonical forward-auth URI) count as denied: nothing was released.
    pub fn add(&mut self, pack: &Stack, entry: &[u8]) {
        self.entries += 1;
        let r = match cordon_entry::read(entry) {
            Ok(cordon_entry::Entry::Decision(r)) => r,
            Ok(cordon_entry::Entry::Reload {
                time,
                stack_sha256,
                changed,
                ..
            }) => {
                self.other_entries += 1;
                self.note_policy_change(time, stack_sha256, changed);
                return;
            }
            _ => {
                self.other_entries += 1;
                return;
            }
        };
        let allowed = r.allowed();
        let (kind, immigration) = agency_label(pack, &r.agency);
        let bump = |t: &mut Tally| {
            if allowed {
                t.allowed += 1;
            } else {
                t.denied += 1;
                if immigration {
                    t.immigration_denied += 1;
                }
            }
        };
        bump(&mut self.total);
        bump(self.by_agency_kind.entry(kind.to_owned()).or_default());
        let code = r
            .request
            .as_ref()
            .and_then(|q| q.purpose.code.as_ref())
            .map(|c| c.as_sent());
        bump(self.by_purpose.entry(purpose_label(code)).or_default());
        bump(self.by_month.entry(month(&r.time)).or_default());
        if !allowed {
            for policy in r.decision.iter().flat_map(|d| &d.policies) {
                *self
                    .denied_by_rule
                    .entry(rule_key(pack, policy))
                    .or_default() += 1;
            }
        }
    }

    fn note_policy_change(&mut self, time: String, stack_sha256: String, changed: Vec<String>) {
        self.policy_changes += 1;
        let (packs, routes): (Vec<String>, Vec<String>) =
            changed.into_iter().partition(|l| l.starts_with("pack "));
        self.recent_policy_changes.push(PolicyChange {
            time,
            stack_sha256,
            packs,
            route_changes: routes.len(),
        });
        if self.recent_policy_changes.len() > RECENT_POLICY_CHANGES {
            self.recent_policy_changes.remove(0);
        }
    }

    /// Reads the entries `self.entries..upto` from the bundles under `root` of a log
    /// whose tree has `size` entries (`upto <= size`: the published checkpoint may lag
    /// the log, whose older partial bundles are gone once a fuller one replaced them).
    /// Counting resumes where it stopped, so after a restart the first call reads the
    /// whole log and later calls only what is new.
    pub fn catch_up(
        &mut self,
        pack: &Stack,
        root: &Path,
        size: u64,
        upto: u64,
    ) -> Result<(), String> {
        let upto = upto.min(size);
        while self.entries < upto {
            let n = self.entries / TILE_WIDTH;
            let width = (size - n * TILE_WIDTH).min(TILE_WIDTH);
            // Bounded by TILE_WIDTH (256), so it fits a u16.
            let tile = TileId::entries(n, width as u16);
            let path = root.join(tile.path());
            let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let entries = bundle::decode(&data).map_err(|e| format!("{}: {e}", path.display()))?;
            let skip = (self.entries - n * TILE_WIDTH) as usize;
            if entries.len() as u64 != width {
                return Err(format!(
                    "{} holds {} entries, not {width}",
                    path.display(),
                    entries.len()
                ));
            }
            let take = (upto - self.entries) as usize;
            for e in entries.into_iter().skip(skip).take(take) {
                self.add(pack, e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_only_digits() {
        assert_eq!(month("2026-11-28T08:00:00.000Z"), "2026-11");
        assert_eq!(month("plate ABC"), "unknown");
        assert_eq!(month(""), "unknown");
    }

    #[test]
    fn a_typed_purpose_is_never_echoed() {
        assert_eq!(
            purpose_label(Some("criminal_investigation")),
            "criminal_investigation"
        );
        assert_eq!(purpose_label(Some("find Jane Doe")), "unrecognized");
        assert_eq!(purpose_label(None), "none");
    }
}
