//! Search times as exports write them (`MM/DD/YYYY, hh:mm:ss AM UTC`, or ISO 8601), reduced
//! to the month they fall in — all the report needs.

/// The `YYYY-MM` month of a timestamp, if it is in a form exports use.
pub fn month_of(text: &str) -> Option<String> {
    month_key(text).map(month_label)
}

/// The month as `YYYY * 100 + MM`: a key that sorts by time and costs no allocation.
pub fn month_key(text: &str) -> Option<u32> {
    let t = text.trim();
    us_month(t).or_else(|| iso_month(t))
}

/// `YYYY-MM` for a key from [`month_key`].
pub fn month_label(key: u32) -> String {
    format!("{:04}-{:02}", key / 100, key % 100)
}

/// `MM/DD/YYYY...`
fn us_month(t: &str) -> Option<u32> {
    let mut parts = t.splitn(3, '/');
    let m: u32 = parts.next()?.trim().parse().ok()?;
    let _d: u32 = parts.next()?.trim().parse().ok()?;
    let rest = parts.next()?;
    let y: u32 = rest.get(..4)?.parse().ok()?;
    valid(y, m)
}

/// `YYYY-MM-DD...`
fn iso_month(t: &str) -> Option<u32> {
    let y: u32 = t.get(..4)?.parse().ok()?;
    if t.as_bytes().get(4) != Some(&b'-') {
        return None;
    }
    let m: u32 = t.get(5..7)?.parse().ok()?;
    valid(y, m)
}

fn valid(y: u32, m: u32) -> Option<u32> {
    ((1990..=2100).contains(&y) && (1..=12).contains(&m)).then_some(y * 100 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flock_and_iso_times_give_their_month() {
        assert_eq!(
            month_of("01/15/2025, 03:04:05 PM UTC").as_deref(),
            Some("2025-01")
        );
        assert_eq!(
            month_of(" 12/31/2024, 11:59:59 PM UTC").as_deref(),
            Some("2024-12")
        );
        assert_eq!(month_of("2025-03-02T10:00:00Z").as_deref(), Some("2025-03"));
        assert_eq!(month_of("***"), None);
        assert_eq!(month_of("13/01/2025, 00:00:00 AM UTC"), None);
        assert_eq!(month_of(""), None);
    }
}
