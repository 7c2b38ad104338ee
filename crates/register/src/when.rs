//! Dates and times as a records office writes them: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`,
//! local time as on the paperwork (the log keeps its own UTC clock for each entry).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A validated date, with the time of day when it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct When {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    /// Minutes after midnight, when a time was given.
    pub minute: Option<u32>,
}

impl When {
    /// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`; the error says which form is expected.
    pub fn parse(text: &str) -> Result<When, String> {
        let bad =
            || format!("{text:?} is not a date: write YYYY-MM-DD, or YYYY-MM-DDTHH:MM with a time");
        let (date, time) = match text.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (text, None),
        };
        let num = |s: &str, len: usize| -> Option<u32> {
            (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let mut parts = date.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let (year, month, day) = match (num(y, 4), num(m, 2), num(d, 2)) {
            (Some(y), Some(m), Some(d)) => (y as i32, m, d),
            _ => return Err(bad()),
        };
        if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month)
        {
            return Err(format!("{text:?} is not a real calendar date"));
        }
        let minute = match time {
            None => None,
            Some(t) => {
                let (h, mi) = t.split_once(':').ok_or_else(bad)?;
                match (num(h, 2), num(mi, 2)) {
                    (Some(h), Some(mi)) if h < 24 && mi < 60 => Some(h * 60 + mi),
                    _ => {
                        return Err(format!(
                            "{text:?} has no valid time of day (HH:MM, 00:00 to 23:59)"
                        ))
                    }
                }
            }
        };
        Ok(When {
            year,
            month,
            day,
            minute,
        })
    }

    /// Days since 1970-01-01.
    pub fn days(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// Minutes since 1970-01-01 00:00, when the time of day is known.
    pub fn minutes(&self) -> Option<i64> {
        self.minute.map(|m| self.days() * 1440 + i64::from(m))
    }

    /// The calendar quarter, 1 to 4.
    pub fn quarter(&self) -> u32 {
        (self.month - 1) / 3 + 1
    }

    /// Today in UTC.
    pub fn today() -> When {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (year, month, day) = civil_from_days((secs / 86_400) as i64);
        When {
            year,
            month,
            day,
            minute: None,
        }
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if let Some(m) = self.minute {
            write!(f, "T{:02}:{:02}", m / 60, m % 60)?;
        }
        Ok(())
    }
}

impl Serialize for When {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        When::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days-from-civil (proleptic Gregorian).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((yoe + era * 400 + i64::from(m <= 2)) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_parse_and_print_back() {
        for text in ["2026-02-28", "2024-02-29T23:59", "1970-01-01T00:00"] {
            assert_eq!(
                When::parse(text).map(|w| w.to_string()),
                Ok(text.to_owned())
            );
        }
        assert_eq!(
            When::parse("2026-03-01")
                .map(|w| w.days() - When::parse("2026-02-28").map_or(0, |v| v.days())),
            Ok(1)
        );
    }

    #[test]
    fn impossible_dates_are_refused_with_the_form_to_use() {
        for text in [
            "2025-02-29",
            "2026-13-01",
            "26-01-01",
            "2026-01-01T24:00",
            "2026-01-01 10:00",
            "yesterday",
        ] {
            let err = When::parse(text).err().unwrap_or_default();
            assert!(err.contains(text), "{text}: {err}");
        }
    }
}
