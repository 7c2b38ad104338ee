//! The counts an audit produces, built per chunk of rows and merged, then written as
//! summary.json (the machine-readable findings) and read by the HTML report.
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::classify::RowFindings;

/// How many distinct flagged reasons are tallied before the rest count as "other".
const MAX_DISTINCT_REASONS: usize = 100_000;
/// How many of the most frequent flagged reasons the report lists.
pub const TOP_REASONS: usize = 25;

/// Counts of flagged searches by kind.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Flagged {
    /// Searches whose reason screens as civil immigration enforcement.
    pub immigration: u64,
    /// Searches run by a federal immigration agency, whatever the reason.
    pub immigration_agency: u64,
    /// Searches by a non-immigration agency with an immigration reason.
    pub side_door: u64,
    /// Searches with any of the above.
    pub any: u64,
}

impl Flagged {
    fn add(&mut self, f: &RowFindings) {
        self.immigration += u64::from(f.immigration_reason());
        self.immigration_agency += u64::from(f.immigration_agency);
        self.side_door += u64::from(f.side_door());
        self.any += u64::from(f.flagged());
    }

    fn merge(&mut self, o: &Flagged) {
        self.immigration += o.immigration;
        self.immigration_agency += o.immigration_agency;
        self.side_door += o.side_door;
        self.any += o.any;
    }
}

/// Rows and flagged rows for one organization or month.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub rows: u64,
    #[serde(flatten)]
    pub flagged: Flagged,
}

/// Networks and devices searched, over all rows and over flagged rows.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Reach {
    /// Rows whose export gave a network count; zero means the export has no such column.
    pub networks_known: u64,
    pub devices_known: u64,
    pub networks_all: u64,
    pub networks_flagged: u64,
    pub devices_all: u64,
    pub devices_flagged: u64,
}

/// A frequent flagged reason with the spans that triggered it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TopReason {
    pub reason: String,
    pub count: u64,
    pub terms: Vec<(u32, u32)>,
}

/// Everything an audit found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub rows: u64,
    pub flagged: Flagged,
    pub by_org: BTreeMap<String, Counts>,
    pub by_month: BTreeMap<String, Counts>,
    pub reach: Reach,
    pub top_reasons: Vec<TopReason>,
    pub files: Vec<FileReport>,
    #[serde(skip)]
    months: BTreeMap<Option<u32>, Counts>,
    #[serde(skip)]
    reasons: HashMap<String, (u64, Vec<(u32, u32)>)>,
    #[serde(skip)]
    other_reasons: u64,
}

/// What happened to each input file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileReport {
    pub path: String,
    pub format: String,
    pub rows: u64,
    pub flagged: u64,
    pub errors: Vec<String>,
    /// For a Cordon log: entries that are not access decisions (not screened).
    #[serde(skip_serializing_if = "is_zero")]
    pub other_entries: u64,
    /// For a Cordon log: how it was verified before it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One row's contribution.
pub struct RowFacts<'a> {
    pub reason: &'a str,
    pub org: &'a str,
    /// `YYYY * 100 + MM`, if the time could be read.
    pub month: Option<u32>,
    pub networks: Option<u64>,
    pub devices: Option<u64>,
}

impl Summary {
    pub fn add(&mut self, row: &RowFacts<'_>, f: &RowFindings) {
        self.rows += 1;
        self.flagged.add(f);
        let org = if row.org.trim().is_empty() {
            "(no organization)"
        } else {
            row.org.trim()
        };
        // Look up before inserting: most rows repeat an organization already seen, and
        // this is the per-row path.
        let c = match self.by_org.get_mut(org) {
            Some(c) => c,
            None => self.by_org.entry(org.to_string()).or_default(),
        };
        c.rows += 1;
        c.flagged.add(f);
        let m = self.months.entry(row.month).or_default();
        m.rows += 1;
        m.flagged.add(f);
        self.reach.networks_known += u64::from(row.networks.is_some());
        self.reach.devices_known += u64::from(row.devices.is_some());
        let (n, d) = (row.networks.unwrap_or(0), row.devices.unwrap_or(0));
        self.reach.networks_all += n;
        self.reach.devices_all += d;
        if f.flagged() {
            self.reach.networks_flagged += n;
            self.reach.devices_flagged += d;
        }
        if f.immigration_reason() {
            self.tally_reason(row.reason, &f.immigration_terms, 1);
        }
    }

    fn tally_reason(&mut self, reason: &str, terms: &[(u32, u32)], n: u64) {
        if let Some(e) = self.reasons.get_mut(reason) {
            e.0 += n;
        } else if self.reasons.len() < MAX_DISTINCT_REASONS {
            self.reasons.insert(reason.to_string(), (n, terms.to_vec()));
        } else {
            self.other_reasons += n;
        }
    }

    pub fn merge(&mut self, o: Summary) {
        self.rows += o.rows;
        self.flagged.merge(&o.flagged);
        for (k, v) in o.by_org {
            let c = self.by_org.entry(k).or_default();
            c.rows += v.rows;
            c.flagged.merge(&v.flagged);
        }
        for (k, v) in o.months {
            let c = self.months.entry(k).or_default();
            c.rows += v.rows;
            c.flagged.merge(&v.flagged);
        }
        self.reach.networks_known += o.reach.networks_known;
        self.reach.devices_known += o.reach.devices_known;
        self.reach.networks_all += o.reach.networks_all;
        self.reach.networks_flagged += o.reach.networks_flagged;
        self.reach.devices_all += o.reach.devices_all;
        self.reach.devices_flagged += o.reach.devices_flagged;
        for (reason, (n, terms)) in o.reasons {
            self.tally_reason(&reason, &terms, n);
        }
        self.other_reasons += o.other_reasons;
    }

    /// Fixes the list of top reasons; call once all rows are in.
    pub fn finish(&mut self) {
        self.by_month = self
            .months
            .iter()
            .map(|(k, v)| {
                (
                    k.map_or_else(|| "unknown".to_string(), crate::time::month_label),
                    v.clone(),
                )
            })
            .collect();
        let mut all: Vec<TopReason> = self
            .reasons
            .iter()
            .map(|(r, (n, t))| TopReason {
                reason: r.clone(),
                count: *n,
                terms: t.clone(),
            })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        all.truncate(TOP_REASONS);
        self.top_reasons = all;
    }
}
