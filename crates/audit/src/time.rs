//! Search times as exports write them: Flock's `MM/DD/YYYY, hh:mm:ss AM UTC` (month and
//! day possibly unpadded, the comma and the zone optional) and ISO 8601
//! (`2026-03-10T04:31:52.901Z`, with an offset, or a bare date), read as seconds since
//! 1970 in UTC. A time without a zone is read as UTC, as Flock writes its times.

/// Seconds since 1970-01-01T00:00:00Z, if the text is a time in a form exports use.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(fixed) = flock_fixed(t.as_bytes()) {
        return fixed;
    }
    if t.as_bytes().get(4) == Some(&b'-') {
        iso(t)
    } else {
        us(t)
    }
}

/// The shape of Flock's own times, `MM/DD/YYYY, hh:mm:ss AM UTC` (`9` a digit, `A` the
/// `A` or `P` of the half-day), as [`flock_fixed`] checks it.
const FLOCK_TIME: &[u8; 27] = b"99/99/9999, 99:99:99 AM UTC";

/// A time in exactly Flock's shape, read from fixed places (nearly every time in a Flock
/// export); `None` when the text has another shape, for the general reader. The answer
/// is the one [`us`] gives.
fn flock_fixed(t: &[u8]) -> Option<Option<i64>> {
    let t: &[u8; 27] = t.try_into().ok()?;
    let digits = [0, 1, 3, 4, 6, 7, 8, 9, 12, 13, 15, 16, 18, 19];
    let shaped = digits.iter().all(|&i| t[i].is_ascii_digit())
        && (t[21] == b'A' || t[21] == b'P')
        && t[2] == b'/'
        && t[5] == b'/'
        && &t[10..12] == b", "
        && t[14] == b':'
        && t[17] == b':'
        && t[20] == b' '
        && &t[22..] == b"M UTC";
    if !shaped {
        return None;
    }
    let n = |i: usize| i64::from(t[i] - b'0') * 10 + i64::from(t[i + 1] - b'0');
    let (m, d, y) = (n(0) as u32, n(3) as u32, n(6) * 100 + n(8));
    let (h, mi, sec) = (n(12), n(15), n(18));
    Some((|| {
        let day = day_number(y, m, d)?;
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let secs = twelve_hour(h * 3600 + mi * 60 + sec.min(59), t[21] == b'P')?;
        Some(day * 86_400 + secs)
    })())
}

/// The month key (`YYYY * 100 + MM`) of a time from [`parse_time`].
pub fn month_of_epoch(secs: i64) -> u32 {
    let (y, m, _) = civil_from_days(secs.div_euclid(86_400));
    (y as u32) * 100 + m
}

/// `YYYY-MM` for a month key.
pub fn month_label(key: u32) -> String {
    format!("{:04}-{:02}", key / 100, key % 100)
}

/// The hour of day (UTC, 0–23) of a time from [`parse_time`].
pub fn hour_of_day(secs: i64) -> usize {
    (secs.rem_euclid(86_400) / 3600) as usize
}

/// `YYYY-MM-DD HH:MM UTC` for a time from [`parse_time`].
pub fn format_utc(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        s / 3600,
        (s % 3600) / 60
    )
}

/// A Time Frame cell: a start and an end on two lines (`<start> -` newline `<end>`), or on
/// one line joined by ` to ` or ` - `.
pub fn parse_time_frame(text: &str) -> Option<(i64, i64)> {
    let t = text.trim();
    if let Some(fixed) = flock_frame(t.as_bytes()) {
        return fixed;
    }
    let (a, b) = t
        .split_once('\n')
        .or_else(|| t.split_once(" to "))
        .or_else(|| t.split_once(" - "))?;
    let a = a.trim().trim_end_matches('-');
    Some((parse_time(a)?, parse_time(b)?))
}

/// Days since 1970 of each month's first day from 1990 to 2100 (the years
/// [`days_from_civil`] accepts), and the month's length.
fn month_starts() -> &'static [(i64, u32)] {
    static TABLE: std::sync::OnceLock<Vec<(i64, u32)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (1990..=2100)
            .flat_map(|y| (1..=12).map(move |m| (y, m)))
            .map(|(y, m)| {
                let first = days_from_civil(y, m, 1).unwrap_or(0);
                let len = (28..=31)
                    .rev()
                    .find(|&d| days_from_civil(y, m, d).is_some())
                    .unwrap_or(28);
                (first, len)
            })
            .collect()
    })
}

/// [`days_from_civil`] read from a table: the same answer for every input.
fn day_number(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let i = usize::try_from((y - 1990) * 12).ok()? + (m - 1) as usize;
    let &(first, len) = month_starts().get(i)?;
    (d <= len).then_some(first + i64::from(d) - 1)
}

/// A Time Frame cell in exactly Flock's shape (two times in [`FLOCK_TIME`]'s shape, the
/// first followed by ` -` and a line feed), read from fixed places; `None` for any other
/// shape. The answer is the one the general reading gives.
fn flock_frame(t: &[u8]) -> Option<Option<(i64, i64)>> {
    if t.len() != 2 * FLOCK_TIME.len() + 3 || &t[27..30] != b" -\n" {
        return None;
    }
    let start = flock_fixed(&t[..27])?;
    let end = flock_fixed(&t[30..])?;
    Some(start.zip(end))
}

/// `M/D/YYYY[,] h:mm[:ss] [AM|PM] [UTC]`, or a bare `M/D/YYYY`: read byte by byte, as it
/// is read two or three times per row.
fn us(t: &str) -> Option<i64> {
    let mut c = Cursor(t.as_bytes());
    let m = c.number(1, 2)? as u32;
    c.expect(b'/')?;
    let d = c.number(1, 2)? as u32;
    c.expect(b'/')?;
    let y = c.number(4, 4)?;
    let day = days_from_civil(y, m, d)?;
    c.skip(b',');
    c.spaces();
    if c.0.is_empty() {
        return Some(day * 86_400);
    }
    let h = c.number(1, 2)?;
    c.expect(b':')?;
    let mi = c.number(2, 2)?;
    let sec = if c.skip(b':') { c.number(2, 2)? } else { 0 };
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut secs = h * 3600 + mi * 60 + sec.min(59);
    loop {
        c.spaces();
        let Some(word) = c.word() else { break };
        let is = |x: &[u8]| word.eq_ignore_ascii_case(x);
        if is(b"AM") || is(b"PM") {
            secs = twelve_hour(secs, is(b"PM"))?;
        } else if !(is(b"UTC") || is(b"Z") || is(b"GMT")) {
            return None;
        }
    }
    Some(day * 86_400 + secs)
}

/// What remains of a time being read.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    /// `min..=max` ASCII digits.
    fn number(&mut self, min: usize, max: usize) -> Option<i64> {
        let n = self
            .0
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n < min {
            return None;
        }
        let v = self.0[..n]
            .iter()
            .fold(0i64, |v, b| v * 10 + i64::from(b - b'0'));
        self.0 = &self.0[n..];
        Some(v)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        self.skip(b).then_some(())
    }

    fn skip(&mut self, b: u8) -> bool {
        let hit = self.0.first() == Some(&b);
        if hit {
            self.0 = &self.0[1..];
        }
        hit
    }

    fn spaces(&mut self) {
        while self.0.first().is_some_and(u8::is_ascii_whitespace) {
            self.0 = &self.0[1..];
        }
    }

    /// The next run of non-space bytes.
    fn word(&mut self) -> Option<&'a [u8]> {
        let n = self
            .0
            .iter()
            .take_while(|b| !b.is_ascii_whitespace())
            .count();
        if n == 0 {
            return None;
        }
        let (w, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(w)
    }
}

/// Moves a 12-hour clock reading to 24 hours: 12 AM is midnight, 12 PM is noon.
fn twelve_hour(secs: i64, pm: bool) -> Option<i64> {
    let h = secs / 3600;
    if !(1..=12).contains(&h) {
        return None;
    }
    let h24 = match (h, pm) {
        (12, false) => 0,
        (12, true) => 12,
        (h, false) => h,
        (h, true) => h + 12,
    };
    Some(h24 * 3600 + secs % 3600)
}

/// `YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|±hh[:]mm]`.
fn iso(t: &str) -> Option<i64> {
    let y: i64 = digits(t.get(..4)?, 4, 4)?;
    let m: u32 = digits(t.get(5..7)?, 2, 2)?;
    if t.as_bytes().get(7) != Some(&b'-') {
        return None;
    }
    let d: u32 = digits(t.get(8..10)?, 2, 2)?;
    let day = days_from_civil(y, m, d)?;
    let rest = t.get(10..)?;
    if rest.is_empty() {
        return Some(day * 86_400);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let clock = clock.trim();
    let clock = clock.split_once('.').map_or(clock, |(c, frac)| {
        if frac.bytes().all(|b| b.is_ascii_digit()) {
            c
        } else {
            "!"
        }
    });
    let secs = clock_secs(clock)?;
    Some(day * 86_400 + secs - offset_secs(zone.trim())?)
}

/// A zone suffix: empty (UTC), `Z`, `+hh:mm`, `-hhmm`, `+hh`.
fn offset_secs(zone: &str) -> Option<i64> {
    if zone.is_empty() || zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let body: String = zone[1..].chars().filter(|c| *c != ':').collect();
    let (h, m): (i64, i64) = match body.len() {
        2 => (digits(&body, 2, 2)?, 0),
        4 => (digits(&body[..2], 2, 2)?, digits(&body[2..], 2, 2)?),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// `h:mm` or `h:mm:ss`, as seconds into the day.
fn clock_secs(clock: &str) -> Option<i64> {
    let mut it = clock.split(':');
    let h: i64 = digits(it.next()?, 1, 2)?;
    let m: i64 = digits(it.next()?, 2, 2)?;
    let s: i64 = match it.next() {
        Some(s) => digits(s, 2, 2)?,
        None => 0,
    };
    if it.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(h * 3600 + m * 60 + s.min(59))
}

/// A run of `min..=max` ASCII digits, and nothing else.
fn digits<T: std::str::FromStr>(s: &str, min: usize, max: usize) -> Option<T> {
    let ok = (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

/// Days since 1970-01-01 of a calendar date in 1990–2100 (years outside are not search
/// times), or `None` for a date that does not exist.
fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1990..=2100).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let len = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > len[(m - 1) as usize] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The calendar date of a day count from [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(t: &str) -> Option<String> {
        parse_time(t).map(format_utc)
    }

    #[test]
    fn the_table_of_months_gives_days_from_civil() {
        for y in 1980..2110 {
            for m in 0..14 {
                for d in 0..33 {
                    assert_eq!(day_number(y, m, d), days_from_civil(y, m, d), "{y}-{m}-{d}");
                }
            }
        }
    }

    /// Times in Flock's exact shape are read from fixed places; the answer must be the
    /// general reader's, valid or not.
    #[test]
    fn flock_shaped_times_read_from_fixed_places_as_the_general_reader_does() {
        let mut seed = 7u64;
        let mut digit = |hi: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % hi
        };
        let mut checked = 0;
        for _ in 0..200_000 {
            let t = format!(
                "{:02}/{:02}/{:04}, {:02}:{:02}:{:02} {}M UTC",
                digit(14),
                digit(33),
                1985 + digit(120),
                digit(26),
                digit(62),
                digit(62),
                if digit(2) == 0 { "A" } else { "P" }
            );
            let fixed = flock_fixed(t.as_bytes()).expect("Flock's shape");
            assert_eq!(fixed, us(&t), "{t}");
            checked += u64::from(fixed.is_some());
            let end = t.replace("AM", "PM");
            let frame = format!("{t} -\n{end}");
            assert_eq!(
                flock_frame(frame.as_bytes()),
                Some(us(&t).zip(us(&end))),
                "{frame}"
            );
        }
        assert!(checked > 10_000, "{checked} valid times");
        for other in [
            "1/5/2025, 3:04:05 PM UTC",
            "11/14/2025, 09:53:36 am UTC",
            "11/14/2025 09:53:36 AM UTC",
        ] {
            assert_eq!(flock_fixed(other.as_bytes()), None, "{other}");
        }
        let one_line = "11/14/2025, 09:53:36 AM UTC to 11/14/2025, 09:53:36 PM UTC";
        assert_eq!(flock_frame(one_line.as_bytes()), None);
        assert!(parse_time_frame(one_line).is_some());
    }

    #[test]
    fn flock_times_in_every_spelling_seen() {
        assert_eq!(
            label("11/14/2025, 09:53:36 AM UTC").as_deref(),
            Some("2025-11-14 09:53 UTC")
        );
        assert_eq!(
            label("11/14/2025, 12:00:14 AM UTC").as_deref(),
            Some("2025-11-14 00:00 UTC")
        );
        assert_eq!(
            label("11/14/2025, 12:30:00 PM UTC").as_deref(),
            Some("2025-11-14 12:30 UTC")
        );
        assert_eq!(
            label("1/5/2025, 3:04:05 PM UTC").as_deref(),
            Some("2025-01-05 15:04 UTC")
        );
        assert_eq!(label("2/29/2024").as_deref(), Some("2024-02-29 00:00 UTC"));
        assert_eq!(label("13/01/2025, 01:00:00 AM UTC"), None);
        assert_eq!(label("2/29/2025, 01:00:00 AM UTC"), None);
        assert_eq!(label("01/02/2025, 13:00:00 PM UTC"), None);
        assert_eq!(label("***"), None);
        assert_eq!(label(""), None);
    }

    #[test]
    fn iso_8601_with_fractions_and_offsets() {
        assert_eq!(
            label("2026-03-10T04:31:52.901Z").as_deref(),
            Some("2026-03-10 04:31 UTC")
        );
        assert_eq!(
            label("2026-03-10T23:30:00-05:00").as_deref(),
            Some("2026-03-11 04:30 UTC")
        );
        assert_eq!(
            label("2026-03-10 04:31:52+0000").as_deref(),
            Some("2026-03-10 04:31 UTC")
        );
        assert_eq!(label("2026-03-10").as_deref(), Some("2026-03-10 00:00 UTC"));
        assert_eq!(label("2026-13-10T00:00:00Z"), None);
        assert_eq!(label("2026-03-10Tnoon"), None);
        let t = parse_time("2024-12-31T23:59:59Z").unwrap();
        assert_eq!(month_label(month_of_epoch(t)), "2024-12");
        assert_eq!(hour_of_day(t), 23);
    }

    #[test]
    fn time_frames_on_two_lines_or_one() {
        let two = "05/01/2025, 12:00:00 AM UTC -\n05/02/2025, 12:00:00 AM UTC";
        let (a, b) = parse_time_frame(two).unwrap();
        assert_eq!(b - a, 86_400);
        let one = "5/1/2025, 12:00:00 AM UTC to 5/1/2025, 6:00:00 AM UTC";
        let (a, b) = parse_time_frame(one).unwrap();
        assert_eq!(b - a, 6 * 3600);
        assert_eq!(parse_time_frame("x"), None);
    }
}
