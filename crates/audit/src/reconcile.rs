//! Reconcile a vendor's audit export with Cordon's own log: every search the vendor
//! recorded should have an allow in the log, made by the same user for the same query a
//! moment before. A search with none went around Cordon (a direct login, a shared
//! account, a side channel); an allow the vendor never recorded is shown too.
//!
//! Matching, per vendor search in time order: the unused allows within `window` seconds
//! whose user, plate and case number agree wherever both sides record one; of those, the
//! one agreeing on most (user, plate, case, reason), then the nearest in time. A match
//! made on time alone (the export masks the user and plate) is counted apart as weak.
use std::collections::HashMap;
use std::path::Path;

use cordon_log::Verifier;
use serde::Serialize;

use crate::columns::Field;
use crate::error::AuditError;
use crate::logread::{bundle_entries, verified_size};
use crate::table::Table;
use crate::time::parse_time;

/// How to match.
pub struct ReconcileOptions {
    /// Seconds a vendor's search time may differ from the log's allow.
    pub window: i64,
    /// Only allows for this dataset are looked at (the vendor's, e.g. `alpr`).
    pub dataset: Option<String>,
    /// Only vendor searches by these organizations should have passed Cordon (folded
    /// names); empty means every search.
    pub orgs: Vec<String>,
    /// Vendor user name → Cordon principal, for accounts named differently on each side.
    pub users: HashMap<String, String>,
}

/// One search from the export.
#[derive(Debug, Clone, Serialize)]
pub struct VendorSearch {
    pub file: String,
    pub line: u64,
    pub id: String,
    pub user: String,
    pub org: String,
    pub time: String,
    pub plate: String,
    pub case: String,
    pub reason: String,
    #[serde(skip)]
    secs: i64,
}

/// One allow from the log.
#[derive(Debug, Clone, Serialize)]
pub struct LogAllow {
    pub index: u64,
    pub time: String,
    pub principal: String,
    pub agency: String,
    pub target: String,
    pub reason: String,
    pub case: String,
    #[serde(skip)]
    secs: i64,
}

/// A vendor search and the allow it matched.
#[derive(Debug, Clone, Serialize)]
pub struct Matched {
    pub search: VendorSearch,
    pub log_index: u64,
    /// Vendor time minus log time, in seconds.
    pub seconds_after_allow: i64,
    /// What agreed besides the time: `user`, `plate`, `case`, `reason`.
    pub agreed_on: Vec<&'static str>,
}

/// The outcome.
#[derive(Debug, Default, Serialize)]
pub struct ReconcileReport {
    pub window_seconds: i64,
    /// Vendor searches read (rows, after uniting rows that share a search id).
    pub vendor_searches: u64,
    /// Rows that repeated a search id already read.
    pub duplicate_rows: u64,
    /// Rows left out: another organization's, per `orgs`.
    pub other_organizations: u64,
    /// Rows whose search time could not be read: they cannot be matched, and are listed.
    pub no_time: Vec<VendorSearch>,
    /// Searches before the log's first decision or after its last (beyond the window):
    /// the log was not watching then, so they are not judged.
    pub outside_log_period: u64,
    pub log_entries: u64,
    pub log_allows: u64,
    pub matched: Vec<Matched>,
    /// Matches on time alone: neither user, plate, case nor reason could be compared.
    pub matched_on_time_only: u64,
    /// Vendor searches with no allow: they went around Cordon.
    pub unmatched: Vec<VendorSearch>,
    /// Allows in the export's period that the vendor never recorded.
    pub unrecorded_allows: Vec<LogAllow>,
    /// Allows outside the export's period (not compared).
    pub allows_outside_export_period: u64,
    /// Damaged export rows (field count differs from the header), as `file:line`.
    pub damaged_rows: Vec<String>,
}

/// Reconciles the export `tables` with the verified log in `dir`.
pub fn reconcile(
    tables: &[Table],
    dir: &Path,
    verifier: &Verifier,
    opts: &ReconcileOptions,
) -> Result<ReconcileReport, AuditError> {
    let mut report = ReconcileReport {
        window_seconds: opts.window,
        ..ReconcileReport::default()
    };
    let mut searches = vendor_searches(tables, opts, &mut report);
    let (entries, log_span, mut allows) = log_allows(dir, verifier, opts.dataset.as_deref())?;
    report.log_entries = entries;
    report.log_allows = allows.len() as u64;
    searches.sort_by_key(|s| s.secs);
    allows.sort_by_key(|a| a.secs);
    let log_period = log_span.map(|(a, b)| (a - opts.window, b + opts.window));
    let export_period = searches
        .first()
        .zip(searches.last())
        .map(|(a, b)| (a.secs - opts.window, b.secs + opts.window));
    let mut used = vec![false; allows.len()];
    for s in searches {
        let inside = log_period.is_some_and(|(a, b)| (a..=b).contains(&s.secs));
        if !inside {
            report.outside_log_period += 1;
            continue;
        }
        match best_allow(&s, &allows, &used, opts) {
            Some((k, agreed_on)) => {
                used[k] = true;
                if agreed_on.is_empty() {
                    report.matched_on_time_only += 1;
                }
                report.matched.push(Matched {
                    log_index: allows[k].index,
                    seconds_after_allow: s.secs - allows[k].secs,
                    search: s,
                    agreed_on,
                });
            }
            None => report.unmatched.push(s),
        }
    }
    for (a, was_used) in allows.into_iter().zip(used) {
        if was_used {
            continue;
        }
        if export_period.is_some_and(|(from, to)| (from..=to).contains(&a.secs)) {
            report.unrecorded_allows.push(a);
        } else {
            report.allows_outside_export_period += 1;
        }
    }
    Ok(report)
}

fn vendor_searches(
    tables: &[Table],
    opts: &ReconcileOptions,
    report: &mut ReconcileReport,
) -> Vec<VendorSearch> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in tables {
        report
            .damaged_rows
            .extend(t.damaged.iter().map(|l| format!("{}:{l}", t.label)));
        for row in &t.rows {
            let value = |f| t.value(row, f).unwrap_or_default().to_string();
            let org = value(Field::Org);
            if !opts.orgs.is_empty() && !opts.orgs.contains(&fold(&org)) {
                report.other_organizations += 1;
                continue;
            }
            let id = value(Field::Id);
            if !id.is_empty() && !seen.insert(id.clone()) {
                report.duplicate_rows += 1;
                continue;
            }
            let raw_time = t.get(row, Field::Time).trim().to_string();
            let s = VendorSearch {
                file: t.label.clone(),
                line: row.line,
                id,
                user: value(Field::User),
                org,
                plate: value(Field::Plate),
                case: value(Field::Case),
                reason: value(Field::Reason),
                secs: parse_time(&raw_time).unwrap_or(i64::MIN),
                time: raw_time,
            };
            report.vendor_searches += 1;
            if s.secs == i64::MIN {
                report.no_time.push(s);
            } else {
                out.push(s);
            }
        }
    }
    out
}

/// The log's size, the first and last time it recorded a decision (the period it
/// watched), and every allow in it (for `dataset`, when given).
type LogAllows = (u64, Option<(i64, i64)>, Vec<LogAllow>);

fn log_allows(
    dir: &Path,
    verifier: &Verifier,
    dataset: Option<&str>,
) -> Result<LogAllows, AuditError> {
    let size = verified_size(dir, verifier)?;
    let mut out = Vec::new();
    let mut span: Option<(i64, i64)> = None;
    for t in 0..size.div_ceil(256) {
        for (k, bytes) in bundle_entries(dir, size, t)?.into_iter().enumerate() {
            let Ok(cordon_entry::Entry::Decision(r)) = cordon_entry::read(&bytes) else {
                continue;
            };
            let Some(secs) = parse_time(&r.time) else {
                continue;
            };
            span = Some(span.map_or((secs, secs), |(a, b)| (a.min(secs), b.max(secs))));
            let request = r.request.as_ref();
            let other_dataset =
                dataset.is_some_and(|d| request.is_none_or(|q| q.resource.dataset != d));
            if !r.allowed() || other_dataset {
                continue;
            }
            out.push(LogAllow {
                index: t * 256 + k as u64,
                target: r.target(),
                reason: request
                    .map(|q| q.purpose.reason.clone())
                    .unwrap_or_default(),
                case: request
                    .and_then(|q| q.purpose.case.clone())
                    .unwrap_or_default(),
                principal: r.principal.clone(),
                agency: r.agency.clone(),
                time: r.time.clone(),
                secs,
            });
        }
    }
    Ok((size, span, out))
}

/// The best unused allow for `s` within the window, and what it agreed on.
fn best_allow(
    s: &VendorSearch,
    allows: &[LogAllow],
    used: &[bool],
    opts: &ReconcileOptions,
) -> Option<(usize, Vec<&'static str>)> {
    let from = allows.partition_point(|a| a.secs < s.secs - opts.window);
    let mut best: Option<(usize, Vec<&'static str>)> = None;
    for (k, a) in allows.iter().enumerate().skip(from) {
        if a.secs > s.secs + opts.window {
            break;
        }
        if used[k] {
            continue;
        }
        let Some(agreed) = agreement(s, a, opts) else {
            continue;
        };
        let better = best.as_ref().is_none_or(|(b, bagreed)| {
            let (dt, bdt) = ((s.secs - a.secs).abs(), (s.secs - allows[*b].secs).abs());
            (agreed.len(), std::cmp::Reverse(dt)) > (bagreed.len(), std::cmp::Reverse(bdt))
        });
        if better {
            best = Some((k, agreed));
        }
    }
    best
}

/// `None` when the user, plate or case number disagree; else what agreed.
fn agreement(s: &VendorSearch, a: &LogAllow, opts: &ReconcileOptions) -> Option<Vec<&'static str>> {
    let mut agreed = Vec::new();
    if !s.user.is_empty() {
        if !same_user(&s.user, &a.principal, &opts.users) {
            return None;
        }
        agreed.push("user");
    }
    if !s.plate.is_empty() && !a.target.is_empty() {
        if !in_target(&s.plate, &a.target) {
            return None;
        }
        agreed.push("plate");
    }
    if !s.case.is_empty() && !a.case.is_empty() {
        if fold(&s.case) != fold(&a.case) {
            return None;
        }
        agreed.push("case");
    }
    if !s.reason.is_empty() && fold(&s.reason) == fold(&a.reason) {
        agreed.push("reason");
    }
    Some(agreed)
}

/// Whether a vendor account and a Cordon principal are one person: by the user map, or
/// by name with case, spaces and punctuation ignored, the principal read with or without
/// its agency prefix (`cpd:jsmith`) or mail domain (`jsmith@city.example`).
fn same_user(vendor: &str, principal: &str, map: &HashMap<String, String>) -> bool {
    if let Some(mapped) = map.get(&fold(vendor)) {
        return fold(mapped) == fold(principal);
    }
    let v = fold(vendor);
    let bare = principal
        .rsplit_once(':')
        .map_or(principal, |(_, b)| b)
        .split('@')
        .next()
        .unwrap_or(principal);
    v == fold(principal) || v == fold(bare)
}

/// Whether a plate is one of the target's words (path segments, query values).
fn in_target(plate: &str, target: &str) -> bool {
    let want = fold(plate);
    let decoded = target.replace('+', " ").replace("%20", " ");
    decoded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| !w.is_empty() && fold(w) == want)
}

/// Lower case, letters and digits only.
pub fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_match_across_agency_prefixes_mail_domains_and_the_map() {
        let none = HashMap::new();
        assert!(same_user("JSmith", "cpd:jsmith", &none));
        assert!(same_user("j.smith", "jsmith@city.example", &none));
        assert!(!same_user("jsmith", "cpd:jdoe", &none));
        let map = HashMap::from([(fold("Officer J. Smith"), "cpd:badge-41".to_string())]);
        assert!(same_user("Officer J. Smith", "cpd:badge-41", &map));
        assert!(!same_user("Officer J. Smith", "cpd:jsmith", &map));
    }

    #[test]
    fn a_plate_matches_a_whole_word_of_the_target_only() {
        assert!(in_target("ABC 123", "/alpr/plates/abc123"));
        assert!(in_target("XYZ9", "/alpr/search?plate=xyz9&days=30"));
        assert!(!in_target("ABC1", "/alpr/plates/ABC123"));
    }
}
