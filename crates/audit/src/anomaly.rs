//! Where to look when reasons say nothing: for each organization and user, what is usual
//! (the hours it searches in, how many networks its searches reach, how many searches it
//! runs in an active hour), and the searches far outside that. These are signals for a
//! reader to follow up, not findings: a night shift or a regional manhunt explains many.

use serde::Serialize;

use crate::fxhash::FxHashMap;
use crate::time::{format_utc, hour_of_day};

/// Reach buckets: bucket 0 holds a count of 0, bucket k (k ≥ 1) holds 2^(k-1) ..= 2^k - 1.
const REACH_BUCKETS: usize = 40;

/// Searches an entity needs before its usual hours are judged.
const MIN_TIMED_FOR_HOURS: u64 = 100;
/// An hour of the day in which an entity runs less than this share of its searches is
/// outside its usual hours.
const RARE_HOUR_SHARE: f64 = 0.01;
/// Searches an entity needs before its usual reach is judged.
const MIN_FOR_REACH: u64 = 20;
/// A search reaching this many reach buckets above the entity's median (16× its usual
/// number of networks) is far beyond its usual reach...
const REACH_BUCKETS_ABOVE: usize = 4;
/// ...when it also reaches at least 2^(this - 1) networks.
const REACH_MIN_BUCKET: usize = 8;
/// An hour with at least this many searches, and at least `BURST_FACTOR` times the
/// entity's median active hour, is a burst.
const BURST_MIN: u32 = 10;
const BURST_FACTOR: u32 = 5;
/// Anomalies listed per kind.
pub const LISTED_PER_KIND: usize = 20;

/// What is known of one organization's or user's searches.
#[derive(Clone, Debug)]
pub struct Activity {
    pub timed: u64,
    pub hours: [u32; 24],
    pub reach_known: u64,
    pub reach: [u32; REACH_BUCKETS],
    /// Searches per hour since 1970, for bursts. Bounded overall by the summary.
    pub hourly: FxHashMap<u32, u32>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            timed: 0,
            hours: [0; 24],
            reach_known: 0,
            reach: [0; REACH_BUCKETS],
            hourly: FxHashMap::default(),
        }
    }
}

fn bucket(n: u64) -> usize {
    (64 - n.leading_zeros() as usize).min(REACH_BUCKETS - 1)
}

fn bucket_floor(k: usize) -> u64 {
    if k == 0 {
        0
    } else {
        1u64 << (k - 1)
    }
}

impl Activity {
    /// Adds one search; `hourly_room` says whether a new hour may still be tracked.
    pub fn add(&mut self, time: Option<i64>, networks: Option<u64>, hourly_room: bool) -> bool {
        let mut new_hour = false;
        if let Some(t) = time {
            self.timed += 1;
            self.hours[hour_of_day(t)] += 1;
            let hour = u32::try_from(t.div_euclid(3600)).unwrap_or(0);
            if let Some(n) = self.hourly.get_mut(&hour) {
                *n += 1;
            } else if hourly_room {
                self.hourly.insert(hour, 1);
                new_hour = true;
            }
        }
        if let Some(n) = networks {
            self.reach_known += 1;
            self.reach[bucket(n)] += 1;
        }
        new_hour
    }

    /// Merges another entity's activity; returns the number of hours newly tracked.
    pub fn merge(&mut self, o: &Activity, hourly_room: &mut usize) -> usize {
        self.timed += o.timed;
        self.reach_known += o.reach_known;
        for (a, b) in self.hours.iter_mut().zip(o.hours.iter()) {
            *a += b;
        }
        for (a, b) in self.reach.iter_mut().zip(o.reach.iter()) {
            *a += b;
        }
        let mut added = 0;
        for (h, n) in &o.hourly {
            if let Some(m) = self.hourly.get_mut(h) {
                *m += n;
            } else if *hourly_room > 0 {
                *hourly_room -= 1;
                added += 1;
                self.hourly.insert(*h, *n);
            }
        }
        added
    }
}

/// One signal worth a look.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Anomaly {
    /// `off_hours`, `reach` or `burst`.
    pub kind: &'static str,
    /// The organization, or the user and organization.
    pub who: String,
    /// Searches the signal covers.
    pub searches: u64,
    /// What is unusual, against what is usual for this organization or user.
    pub detail: String,
}

/// Every signal in one entity's activity. `unit` names what was counted: "searches", or
/// "rows" once some rows repeat a search (overlapping files), when a count of rows is not
/// a count of searches.
pub fn detect(who: &str, a: &Activity, unit: &str, out: &mut Vec<Anomaly>) {
    out.extend(off_hours(who, a, unit));
    out.extend(reach(who, a, unit));
    bursts(who, a, unit, out);
}

fn hours_list(hours: &[usize]) -> String {
    hours
        .iter()
        .map(|h| format!("{h:02}:00"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn off_hours(who: &str, a: &Activity, unit: &str) -> Option<Anomaly> {
    if a.timed < MIN_TIMED_FOR_HOURS {
        return None;
    }
    let rare: Vec<usize> = (0..24)
        .filter(|&h| a.hours[h] > 0 && (a.hours[h] as f64) < RARE_HOUR_SHARE * a.timed as f64)
        .collect();
    let searches: u64 = rare.iter().map(|&h| u64::from(a.hours[h])).sum();
    if searches == 0 {
        return None;
    }
    let mut by_count: Vec<usize> = (0..24).collect();
    by_count.sort_by(|x, y| a.hours[*y].cmp(&a.hours[*x]).then(x.cmp(y)));
    let mut usual = Vec::new();
    let mut covered = 0u64;
    for h in by_count {
        if covered * 10 >= a.timed * 8 {
            break;
        }
        covered += u64::from(a.hours[h]);
        usual.push(h);
    }
    usual.sort_unstable();
    Some(Anomaly {
        kind: "off_hours",
        who: who.to_string(),
        searches,
        detail: format!(
            "{searches} {unit} in hours (UTC) in which it runs under 1% of its {} timed {unit}: {}; 80% of its {unit} start in the hours {}",
            a.timed,
            hours_list(&rare),
            hours_list(&usual)
        ),
    })
}

fn reach(who: &str, a: &Activity, unit: &str) -> Option<Anomaly> {
    if a.reach_known < MIN_FOR_REACH {
        return None;
    }
    let mut seen = 0u64;
    let median = (0..REACH_BUCKETS).find(|&k| {
        seen += u64::from(a.reach[k]);
        seen * 2 >= a.reach_known
    })?;
    let from = (median + REACH_BUCKETS_ABOVE).max(REACH_MIN_BUCKET);
    let searches: u64 = a.reach[from.min(REACH_BUCKETS)..]
        .iter()
        .map(|&n| u64::from(n))
        .sum();
    if searches == 0 {
        return None;
    }
    let typical = if median == 0 {
        "0".to_string()
    } else {
        format!("{}–{}", bucket_floor(median), bucket_floor(median + 1) - 1)
    };
    Some(Anomaly {
        kind: "reach",
        who: who.to_string(),
        searches,
        detail: format!(
            "{searches} {unit} reached {} or more networks; its median {} reaches {typical}",
            bucket_floor(from),
            if unit == "rows" { "row" } else { "search" }
        ),
    })
}

fn bursts(who: &str, a: &Activity, unit: &str, out: &mut Vec<Anomaly>) {
    if a.hourly.len() < 2 {
        return;
    }
    let mut counts: Vec<u32> = a.hourly.values().copied().collect();
    counts.sort_unstable();
    let median = counts[counts.len() / 2];
    let threshold = BURST_MIN.max(BURST_FACTOR.saturating_mul(median));
    let mut hot: Vec<(u32, u32)> = a
        .hourly
        .iter()
        .filter(|(_, &n)| n >= threshold)
        .map(|(&h, &n)| (h, n))
        .collect();
    hot.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    for (hour, n) in hot.into_iter().take(3) {
        out.push(Anomaly {
            kind: "burst",
            who: who.to_string(),
            searches: u64::from(n),
            detail: format!(
                "{n} {unit} in the hour from {}; its median active hour has {median}",
                format_utc(i64::from(hour) * 3600)
            ),
        });
    }
}

/// Keeps the strongest signals of each kind, strongest first.
pub fn rank(mut all: Vec<Anomaly>) -> Vec<Anomaly> {
    all.sort_by(|a, b| {
        a.kind
            .cmp(b.kind)
            .then(b.searches.cmp(&a.searches))
            .then_with(|| a.who.cmp(&b.who))
            .then_with(|| a.detail.cmp(&b.detail))
    });
    let mut out = Vec::new();
    let mut last: Option<&'static str> = None;
    let mut n = 0;
    for a in all {
        if last != Some(a.kind) {
            last = Some(a.kind);
            n = 0;
        }
        if n < LISTED_PER_KIND {
            out.push(a);
        }
        n += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const BASE: i64 = 20_000 * DAY; // 2024-10-04, midnight UTC

    #[test]
    fn searches_outside_usual_hours_are_found() {
        let mut a = Activity::default();
        for i in 0..300 {
            // Daytime: 14:00–21:59 UTC.
            a.add(
                Some(BASE + (i % 30) * DAY + (14 + i % 8) * 3600),
                Some(3),
                true,
            );
        }
        a.add(Some(BASE + 3 * 3600), Some(3), true);
        a.add(Some(BASE + DAY + 3 * 3600 + 60), Some(3), true);
        let mut out = Vec::new();
        detect("Example PD", &a, "searches", &mut out);
        let off: Vec<_> = out.iter().filter(|x| x.kind == "off_hours").collect();
        assert_eq!(off.len(), 1, "{out:?}");
        assert_eq!(off[0].searches, 2);
        assert!(off[0].detail.contains("03:00"), "{}", off[0].detail);
    }

    #[test]
    fn reach_far_beyond_the_usual_is_found() {
        let mut a = Activity::default();
        for i in 0..50 {
            a.add(Some(BASE + i * 3600), Some(2 + (i as u64 % 2)), true);
        }
        a.add(Some(BASE), Some(6674), true);
        let mut out = Vec::new();
        detect("Example PD", &a, "searches", &mut out);
        let r: Vec<_> = out.iter().filter(|x| x.kind == "reach").collect();
        assert_eq!(r.len(), 1, "{out:?}");
        assert_eq!(r[0].searches, 1);
        assert!(r[0].detail.contains("2–3"), "{}", r[0].detail);
    }

    #[test]
    fn a_burst_stands_out_from_quiet_hours() {
        let mut a = Activity::default();
        for i in 0..40 {
            a.add(Some(BASE + i * 5 * 3600), None, true);
        }
        for k in 0..25 {
            a.add(Some(BASE + 7 * DAY + k * 60), None, true);
        }
        let mut out = Vec::new();
        detect("Example PD", &a, "searches", &mut out);
        let b: Vec<_> = out.iter().filter(|x| x.kind == "burst").collect();
        assert_eq!(b.len(), 1, "{out:?}");
        assert_eq!(b[0].searches, 25);
        assert!(
            b[0].detail.contains("2024-10-11 00:00 UTC"),
            "{}",
            b[0].detail
        );
    }

    #[test]
    fn ordinary_activity_raises_nothing() {
        let mut a = Activity::default();
        for i in 0..500 {
            a.add(Some(BASE + i * 3600), Some(5 + (i as u64 % 3)), true);
        }
        let mut out = Vec::new();
        detect("Example PD", &a, "searches", &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
