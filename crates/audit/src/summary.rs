//! The counts an audit produces, built per chunk of rows and merged, then written as
//! summary.json (the machine-readable findings) and read by the HTML report.
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::anomaly::{Activity, Anomaly};
use crate::cells::{Moderation, ReasonState};
use crate::classify::RowFindings;
use crate::fxhash::FxHashMap;

/// How many distinct flagged reasons are tallied before the rest count as "other".
const MAX_DISTINCT_REASONS: usize = 100_000;
/// How many of the most frequent flagged reasons the report lists.
pub const TOP_REASONS: usize = 25;
/// Distinct users whose habits are tracked; beyond, users are not judged one by one
/// (their organizations still are).
const MAX_USERS: usize = 100_000;
/// (organization or user, hour) pairs tracked for bursts over the whole audit: about 40
/// bytes each, so bursts cost at most ~40 MB whatever the input's size.
pub const MAX_TRACKED_HOURS: usize = 1_000_000;
/// Distinct reasons remembered per moderation verdict.
const MAX_MODERATED_REASONS: usize = 10_000;

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
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub rows: u64,
    #[serde(flatten)]
    pub flagged: Flagged,
    /// Rows whose reason gives no checkable purpose (blank, masked, filler, a case number,
    /// generic words).
    pub reason_says_nothing: u64,
    #[serde(skip)]
    activity: Activity,
}

impl Counts {
    fn merge(&mut self, o: &Counts, hourly_room: &mut usize) {
        self.rows += o.rows;
        self.flagged.merge(&o.flagged);
        self.reason_says_nothing += o.reason_says_nothing;
        self.activity.merge(&o.activity, hourly_room);
    }
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
    /// Flagged rows, and those of them whose export gave a count: the flagged sums are a
    /// lower bound when fewer gave one.
    pub flagged_rows: u64,
    pub networks_known_flagged: u64,
    pub devices_known_flagged: u64,
}

impl Reach {
    fn merge(&mut self, o: &Reach) {
        self.flagged_rows += o.flagged_rows;
        self.networks_known_flagged += o.networks_known_flagged;
        self.devices_known_flagged += o.devices_known_flagged;
        self.networks_known += o.networks_known;
        self.devices_known += o.devices_known;
        self.networks_all += o.networks_all;
        self.networks_flagged += o.networks_flagged;
        self.devices_all += o.devices_all;
        self.devices_flagged += o.devices_flagged;
    }
}

/// A frequent flagged reason with the spans that triggered it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TopReason {
    pub reason: String,
    pub count: u64,
    pub terms: Vec<(u32, u32)>,
}

/// Flock's own screening of searches (the Moderation column), where the export has it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ModerationCounts {
    /// Rows from files that have a Moderation column.
    pub rows: u64,
    pub allowed: u64,
    pub warned: u64,
    pub blocked: u64,
    /// Rows with no verdict (Flock moderates only some searches).
    pub blank: u64,
    /// Verdicts Cordon does not know (listed as unreadable in the file's columns).
    pub other: u64,
    /// The reasons of blocked searches, most frequent first.
    pub blocked_reasons: Vec<(String, u64)>,
    pub warned_reasons: Vec<(String, u64)>,
    #[serde(skip)]
    blocked_tally: HashMap<String, u64>,
    #[serde(skip)]
    warned_tally: HashMap<String, u64>,
}

impl ModerationCounts {
    fn add(&mut self, m: Moderation, reason: &str) {
        self.rows += 1;
        let tally = match m {
            Moderation::Blank => {
                self.blank += 1;
                return;
            }
            Moderation::Allow => {
                self.allowed += 1;
                return;
            }
            Moderation::Other => {
                self.other += 1;
                return;
            }
            Moderation::Warn => {
                self.warned += 1;
                &mut self.warned_tally
            }
            Moderation::Block => {
                self.blocked += 1;
                &mut self.blocked_tally
            }
        };
        bump(tally, reason.trim(), 1);
    }

    fn merge(&mut self, o: ModerationCounts) {
        self.rows += o.rows;
        self.allowed += o.allowed;
        self.warned += o.warned;
        self.blocked += o.blocked;
        self.blank += o.blank;
        self.other += o.other;
        for (r, n) in o.blocked_tally {
            bump(&mut self.blocked_tally, &r, n);
        }
        for (r, n) in o.warned_tally {
            bump(&mut self.warned_tally, &r, n);
        }
    }

    fn finish(&mut self) {
        self.blocked_reasons = most_frequent(&self.blocked_tally, TOP_REASONS);
        self.warned_reasons = most_frequent(&self.warned_tally, TOP_REASONS);
    }
}

fn bump(tally: &mut HashMap<String, u64>, reason: &str, n: u64) {
    if let Some(c) = tally.get_mut(reason) {
        *c += n;
    } else if tally.len() < MAX_MODERATED_REASONS {
        tally.insert(reason.to_string(), n);
    }
}

fn most_frequent(tally: &HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = tally.iter().map(|(r, c)| (r.clone(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Everything an audit found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub rows: u64,
    /// Rows united by search id: distinct searches, repeated rows, flagged searches.
    pub searches: crate::distinct::Searches,
    pub flagged: Flagged,
    /// What the immigration counts are: searches whose export says so. Searches run for
    /// immigration under a vague reason are not in them.
    pub counts_are: &'static str,
    /// Rows by what their reason says: `stated`, `vague`, `case_number_only`,
    /// `placeholder`, `redacted`, `missing`.
    pub reason_states: BTreeMap<&'static str, u64>,
    /// Rows whose reason gives no checkable purpose (every state but `stated`).
    pub reason_says_nothing: u64,
    pub moderation: ModerationCounts,
    /// Per organization; a hash map because every row looks one up (written sorted).
    #[serde(serialize_with = "sorted_by_key")]
    pub by_org: FxHashMap<String, Counts>,
    pub by_month: BTreeMap<String, Counts>,
    pub reach: Reach,
    pub top_reasons: Vec<TopReason>,
    /// Searches far outside an organization's or user's usual hours, reach or pace.
    pub anomalies: Vec<Anomaly>,
    /// Whether bursts were judged on every hour (false once `MAX_TRACKED_HOURS` was reached).
    pub bursts_complete: bool,
    /// Columns, in any file, that Cordon does not understand (carried into flagged.csv).
    pub unmapped_columns: Vec<String>,
    /// What the reader must know before trusting the figures (also on stderr).
    pub warnings: Vec<String>,
    pub files: Vec<FileReport>,
    #[serde(skip)]
    months: BTreeMap<Option<u32>, Counts>,
    #[serde(skip)]
    reasons: HashMap<String, (u64, Vec<(u32, u32)>)>,
    #[serde(skip)]
    other_reasons: u64,
    /// Organization → user → habits.
    #[serde(skip)]
    users: FxHashMap<String, Users>,
    #[serde(skip)]
    user_count: usize,
    #[serde(skip)]
    reason_counts: [u64; ReasonState::ALL.len()],
    #[serde(skip)]
    hourly_room: Option<usize>,
    #[serde(skip)]
    orgs: Orgs,
}

/// A chunk's organizations while its rows are added: each row finds its organization
/// once, by the name as written, instead of once in `by_org` and again in `users`. The
/// maps are filled from it when the chunk is sealed, in the order the rows first named
/// each organization (and each organization's first user), so they are the very maps
/// adding row by row would build, down to the order they are merged in.
#[derive(Clone, Debug, Default)]
struct Orgs {
    /// The organization as written → its slot, and whether it is an immigration agency.
    raw: FxHashMap<String, (usize, bool)>,
    /// The organization as counted (trimmed, or "(no organization)") → its slot.
    keys: FxHashMap<String, usize>,
    slots: Vec<OrgSlot>,
    /// Slots in the order their first user was seen.
    with_users: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
struct OrgSlot {
    key: String,
    counts: Counts,
    /// Boxed: a chunk's maps of users grow by rehashing, and an `Activity` is ~300 bytes.
    users: Option<Users>,
}

/// One organization's users and their habits.
type Users = FxHashMap<String, Box<Activity>>;

/// The name an organization is counted under.
fn org_key(org: &str) -> &str {
    if org.trim().is_empty() {
        "(no organization)"
    } else {
        org.trim()
    }
}

/// The cells of one column of one file: how many were blank, masked, or held something
/// that could not be read as what the column should hold.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ColumnReport {
    pub column: String,
    /// The field Cordon reads from it (`None`: not understood, carried through).
    pub field: Option<&'static str>,
    pub empty: u64,
    pub redacted: u64,
    /// Values that do not parse as the field's type (a time, a count, a verdict).
    pub unreadable: u64,
}

/// What happened to each input file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileReport {
    pub path: String,
    pub format: String,
    /// The export layout the header was recognized as.
    pub layout: String,
    pub rows: u64,
    pub flagged: u64,
    pub columns: Vec<ColumnReport>,
    pub unmapped_columns: Vec<String>,
    /// Fields every full Flock export carries that this one does not (withheld or not
    /// exported: officer names and plates since 2025-12-17, for one).
    pub absent_fields: Vec<&'static str>,
    /// Problems that make the figures for this file incomplete.
    pub warnings: Vec<String>,
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
    /// The reason as screened (reason and offense type together when both exist).
    pub reason: &'a str,
    pub reason_state: ReasonState,
    /// The organization's slot, from [`Summary::org`].
    pub org: usize,
    /// The user, when the export names one (not blank, not masked).
    pub user: Option<&'a str>,
    /// Seconds since 1970, if the time could be read.
    pub time: Option<i64>,
    pub networks: Option<u64>,
    pub devices: Option<u64>,
    /// `None` when the file has no Moderation column.
    pub moderation: Option<Moderation>,
}

pub const LOWER_BOUND: &str = "a lower bound: searches whose exported reason or searching agency says immigration; searches run for immigration under a vague or missing reason cannot be counted from an export";

impl Summary {
    /// The slot of a row's organization (for [`RowFacts::org`]) and whether it is an
    /// immigration agency, which `agency` works out the first time a name is seen.
    pub fn org(&mut self, raw: &str, agency: impl FnOnce(&str) -> bool) -> (usize, bool) {
        if let Some(&known) = self.orgs.raw.get(raw) {
            return known;
        }
        let key = org_key(raw);
        let slot = match self.orgs.keys.get(key) {
            Some(&slot) => slot,
            None => {
                self.orgs.slots.push(OrgSlot {
                    key: key.to_string(),
                    ..OrgSlot::default()
                });
                let slot = self.orgs.slots.len() - 1;
                self.orgs.keys.insert(key.to_string(), slot);
                slot
            }
        };
        let known = (slot, agency(raw));
        self.orgs.raw.insert(raw.to_string(), known);
        known
    }

    /// Moves the organizations' counts and users into `by_org` and `users` (done by
    /// [`Summary::merge`] and [`Summary::finish`]; rows added after start new slots).
    pub fn seal(&mut self) {
        let orgs = std::mem::take(&mut self.orgs);
        let mut users: Vec<(String, Option<Users>)> = Vec::new();
        for slot in orgs.slots {
            users.push((slot.key.clone(), slot.users));
            match self.by_org.get_mut(&slot.key) {
                Some(c) => c.merge(&slot.counts, &mut { usize::MAX }),
                None => {
                    self.by_org.insert(slot.key, slot.counts);
                }
            }
        }
        for i in orgs.with_users {
            let (key, theirs) = &mut users[i];
            let Some(theirs) = theirs.take() else {
                continue;
            };
            match self.users.get_mut(key.as_str()) {
                Some(mine) => {
                    for (user, a) in theirs {
                        mine.entry(user).or_default().merge(&a, &mut 0);
                    }
                }
                None => {
                    self.users.insert(std::mem::take(key), theirs);
                }
            }
        }
    }

    pub fn add(&mut self, row: &RowFacts<'_>, f: &RowFindings) {
        self.rows += 1;
        self.flagged.add(f);
        let nothing = row.reason_state.says_nothing();
        self.reason_counts[row.reason_state as usize] += 1;
        self.reason_says_nothing += u64::from(nothing);
        if let Some(m) = row.moderation {
            self.moderation.add(m, row.reason);
        }
        let slot = &mut self.orgs.slots[row.org];
        let c = &mut slot.counts;
        c.rows += 1;
        c.flagged.add(f);
        c.reason_says_nothing += u64::from(nothing);
        c.activity.add(row.time, row.networks, true);
        if let Some(user) = row.user {
            let users = match &mut slot.users {
                Some(u) => u,
                None => {
                    self.orgs.with_users.push(row.org);
                    slot.users.insert(FxHashMap::default())
                }
            };
            let user = user.trim();
            let a = match users.get_mut(user) {
                Some(a) => a,
                None => users.entry(user.to_string()).or_default(),
            };
            // Bursts are judged per organization; a user's hours and reach are enough.
            a.add(row.time, row.networks, false);
        }
        let m = self
            .months
            .entry(row.time.map(crate::time::month_of_epoch))
            .or_default();
        m.rows += 1;
        m.flagged.add(f);
        m.reason_says_nothing += u64::from(nothing);
        self.reach.networks_known += u64::from(row.networks.is_some());
        self.reach.devices_known += u64::from(row.devices.is_some());
        let (n, d) = (row.networks.unwrap_or(0), row.devices.unwrap_or(0));
        self.reach.networks_all += n;
        self.reach.devices_all += d;
        if f.flagged() {
            self.reach.networks_flagged += n;
            self.reach.devices_flagged += d;
            self.reach.flagged_rows += 1;
            self.reach.networks_known_flagged += u64::from(row.networks.is_some());
            self.reach.devices_known_flagged += u64::from(row.devices.is_some());
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

    pub fn merge(&mut self, mut o: Summary) {
        self.seal();
        o.seal();
        let room = self.hourly_room.get_or_insert(MAX_TRACKED_HOURS);
        self.rows += o.rows;
        self.flagged.merge(&o.flagged);
        for (a, b) in self.reason_counts.iter_mut().zip(o.reason_counts) {
            *a += b;
        }
        self.reason_says_nothing += o.reason_says_nothing;
        self.moderation.merge(o.moderation);
        for (k, v) in &o.by_org {
            match self.by_org.get_mut(k) {
                Some(c) => c.merge(v, room),
                None => {
                    let mut c = Counts::default();
                    c.merge(v, room);
                    self.by_org.insert(k.clone(), c);
                }
            }
        }
        for (k, v) in o.months {
            self.months.entry(k).or_default().merge(&v, &mut 0);
        }
        for (org, users) in o.users {
            let mine = self.users.entry(org).or_default();
            for (user, v) in users {
                if let Some(a) = mine.get_mut(&user) {
                    a.merge(&v, &mut 0);
                } else if self.user_count < MAX_USERS {
                    self.user_count += 1;
                    // What merging into a new entry keeps: all but the hours tracked for
                    // bursts (never any for a user).
                    let mut a = v;
                    a.hourly = FxHashMap::default();
                    mine.insert(user, a);
                }
            }
        }
        self.reach.merge(&o.reach);
        for (reason, (n, terms)) in o.reasons {
            self.tally_reason(&reason, &terms, n);
        }
        self.other_reasons += o.other_reasons;
        self.warnings.extend(o.warnings);
        for c in o.unmapped_columns {
            if !self.unmapped_columns.contains(&c) {
                self.unmapped_columns.push(c);
            }
        }
    }

    /// Fixes the lists and signals; call once all rows are in.
    pub fn finish(&mut self) {
        self.seal();
        self.counts_are = LOWER_BOUND;
        self.reason_states = ReasonState::ALL
            .iter()
            .map(|st| (st.key(), self.reason_counts[*st as usize]))
            .collect();
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
        self.moderation.finish();
        self.bursts_complete = self.hourly_room.is_none_or(|r| r > 0);
        let mut signals = Vec::new();
        let unit = crate::html::unit(self);
        let mut orgs: Vec<(&String, &Counts)> = self.by_org.iter().collect();
        orgs.sort_by_key(|(org, _)| *org);
        for (org, c) in orgs {
            if org != "(no organization)" {
                crate::anomaly::detect(
                    &format!("organization {org}"),
                    &c.activity,
                    unit,
                    &mut signals,
                );
            }
        }
        for (org, users) in &self.users {
            for (user, a) in users {
                crate::anomaly::detect(&format!("user {user} ({org})"), a, unit, &mut signals);
            }
        }
        self.anomalies = crate::anomaly::rank(signals);
    }
}

/// Writes a map in key order, so summary.json is the same for the same input.
fn sorted_by_key<S: serde::Serializer, V: Serialize>(
    map: &FxHashMap<String, V>,
    ser: S,
) -> Result<S::Ok, S::Error> {
    let sorted: BTreeMap<&String, &V> = map.iter().collect();
    sorted.serialize(ser)
}
