//! The query string as the decision sees it: every parameter must be one the route
//! declares, once; record-naming parameters must agree with the path; limits and times
//! must parse. What comes out is one canonical serialization, and that, never the
//! client's bytes, is what is decided, logged and sent upstream.
use crate::config::{Binding, QueryParam};
use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::BTreeMap;

/// Longest query accepted, in bytes before decoding.
pub const MAX_QUERY_BYTES: usize = 4096;

/// Bytes escaped in canonical values: all but RFC 3986's unreserved characters, so every
/// parser reads a canonical query the same way.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The query, bound to the resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundQuery {
    /// `name=value&...` in name order, values percent-encoded canonically; empty when the
    /// request had no parameters.
    pub canonical: String,
    /// The record a `record` parameter names.
    pub record: Option<String>,
    pub time_from: Option<String>,
    pub time_to: Option<String>,
    pub limit: Option<u64>,
}

/// Why a query was refused (400); each message names the parameter and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is longer than {MAX_QUERY_BYTES} bytes: narrow the request")]
    TooLong,
    #[error("query parameter {name:?} is not one this route accepts{}", accepted_list(.accepted))]
    Undeclared { name: String, accepted: Vec<String> },
    #[error("query parameter {0:?} appears more than once: send it once")]
    Duplicate(String),
    #[error("query parameter {0:?} has no value: send {0}=<value>")]
    NoValue(String),
    #[error("query parameter {0:?} has a malformed percent escape: use %XX with two hex digits")]
    BadEscape(String),
    #[error("query parameter {0:?} is not valid UTF-8 after percent-decoding")]
    NotUtf8(String),
    #[error("query parameter {0:?} contains a control character")]
    Control(String),
    #[error("query parameter {name:?} names record {value:?}, but the path names {path:?}: name one record, in the path")]
    RecordMismatch {
        name: String,
        value: String,
        path: String,
    },
    #[error("query parameter {0:?} must name one record: not empty, '.', '..' or only '_', none of / * % ? [ ] , ; \\ (a service may read them as a wildcard, a list or a path), no spaces at either end or invisible characters")]
    BadRecord(String),
    #[error("query parameter {name:?} must be a whole number from 0 to {max}")]
    BadLimit { name: String, max: u64 },
    #[error("query parameter {0:?} must be an RFC 3339 date (2026-01-31) or date-time (2026-01-31T08:00:00Z)")]
    BadTime(String),
}

fn accepted_list(names: &[String]) -> String {
    if names.is_empty() {
        ": this route takes no query parameters".into()
    } else {
        format!(": it accepts {}", names.join(", "))
    }
}

/// Binds a raw query (without `?`) to the route's declared parameters. `path_record` is
/// the record the path already names, if any. Pure and total, so it is a fuzzing entry
/// point.
pub fn bind_query(
    raw: Option<&str>,
    declared: &BTreeMap<String, QueryParam>,
    path_record: Option<&str>,
) -> Result<BoundQuery, QueryError> {
    let Some(raw) = raw else {
        return Ok(BoundQuery::default());
    };
    if raw.len() > MAX_QUERY_BYTES {
        return Err(QueryError::TooLong);
    }
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = decode(raw_name, raw_name)?;
        let Some((decl_name, _)) = declared.get_key_value(name.as_str()) else {
            return Err(QueryError::Undeclared {
                name,
                accepted: declared.keys().cloned().collect(),
            });
        };
        if !piece.contains('=') {
            return Err(QueryError::NoValue(name));
        }
        let value = decode(raw_value, decl_name)?;
        if values.insert(decl_name.as_str(), value).is_some() {
            return Err(QueryError::Duplicate(name));
        }
    }
    let mut bound = BoundQuery::default();
    let mut canonical = Vec::with_capacity(values.len());
    for (name, value) in values {
        // Declared by construction: names come from `declared`'s own keys.
        let Some(param) = declared.get(name) else {
            continue;
        };
        let value = bind_one(&mut bound, name, &value, param, path_record)?;
        canonical.push(format!("{name}={}", utf8_percent_encode(&value, VALUE)));
    }
    bound.canonical = canonical.join("&");
    Ok(bound)
}

/// Binds one parameter and returns its canonical value.
fn bind_one(
    bound: &mut BoundQuery,
    name: &str,
    value: &str,
    param: &QueryParam,
    path_record: Option<&str>,
) -> Result<String, QueryError> {
    match param.bind {
        Binding::Record => {
            if !crate::path::names_one_record(value) {
                return Err(QueryError::BadRecord(name.to_owned()));
            }
            if let Some(p) = path_record.filter(|p| *p != value) {
                return Err(QueryError::RecordMismatch {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    path: p.to_owned(),
                });
            }
            bound.record = Some(value.to_owned());
        }
        Binding::Limit => {
            let max = param.max.unwrap_or(0);
            let bad = || QueryError::BadLimit {
                name: name.to_owned(),
                max,
            };
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let n: u64 = value.parse().map_err(|_| bad())?;
            if n > max {
                return Err(bad());
            }
            bound.limit = Some(n);
            // `05` and `5` are one limit: one spelling is decided and sent.
            return Ok(n.to_string());
        }
        Binding::TimeFrom | Binding::TimeTo => {
            if !is_rfc3339(value) {
                return Err(QueryError::BadTime(name.to_owned()));
            }
            let slot = if param.bind == Binding::TimeFrom {
                &mut bound.time_from
            } else {
                &mut bound.time_to
            };
            *slot = Some(value.to_owned());
        }
    }
    Ok(value.to_owned())
}

/// Percent-decodes one name or value; `+` is a space, as in HTML forms, so both readings
/// of a client's `+` end up as the same canonical `%20`.
fn decode(raw: &str, name: &str) -> Result<String, QueryError> {
    let b = raw.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err(QueryError::BadEscape(name.to_owned()));
        }
    }
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_decode(spaced.as_bytes()).collect();
    let s = String::from_utf8(bytes).map_err(|_| QueryError::NotUtf8(name.to_owned()))?;
    if s.chars().any(char::is_control) {
        return Err(QueryError::Control(name.to_owned()));
    }
    Ok(s)
}

/// `YYYY-MM-DD`, or that followed by `THH:MM:SS`, optional fraction, and `Z` or `±HH:MM`.
pub(crate) fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    if !date || !in_range(&s[5..7], 1, 12) || !in_range(&s[8..10], 1, 31) {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    let time = b.len() >= 20
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && in_range(&s[11..13], 0, 23)
        && in_range(&s[14..16], 0, 59)
        && in_range(&s[17..19], 0, 60);
    if !time {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && in_range(&rest[1..3], 0, 23)
                && in_range(&rest[4..6], 0, 59)
        }
        _ => false,
    }
}

/// The seconds from `from` to `to`, two values [`is_rfc3339`] accepted; the error says
/// what is wrong with the range.
pub(crate) fn seconds_between(from: &str, to: &str) -> Result<u64, String> {
    let at =
        |s: &str| instant(s).ok_or_else(|| format!("{s:?} is not a calendar date from 1970 on"));
    // An end with a fraction of a second ends after its whole second: rounded up, so
    // 24 h and 0.999 s is not taken for 24 h.
    let (a, b) = (at(from)?, at(to)? + i64::from(has_fraction(to)));
    u64::try_from(b - a)
        .map_err(|_| format!("the time range ends ({to}) before it begins ({from})"))
}

/// Whether a date-time has a fraction of a second other than zero.
fn has_fraction(s: &str) -> bool {
    s.get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|f| f.bytes().take_while(u8::is_ascii_digit).any(|d| d != b'0'))
}

/// Seconds since 1970 of an RFC 3339 date (midnight UTC) or date-time (its fraction
/// dropped, its offset applied).
fn instant(s: &str) -> Option<i64> {
    let days = cordon_register::when::When::parse(s.get(..10)?)
        .ok()?
        .days();
    let field = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let mut seconds = days * 86_400;
    if s.len() > 10 {
        seconds += field(11..13)? * 3600 + field(14..16)? * 60 + field(17..19)?;
        let offset = s.rfind(['+', '-']).filter(|&i| i >= 19);
        if let Some(i) = offset {
            let minutes = field(i + 1..i + 3)? * 60 + field(i + 4..i + 6)?;
            // 08:00+02:00 is 06:00Z.
            seconds -= if &s[i..=i] == "+" {
                minutes * 60
            } else {
                -minutes * 60
            };
        }
    }
    Some(seconds)
}

fn in_range(s: &str, lo: u32, hi: u32) -> bool {
    s.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_time_range_is_measured_in_seconds_across_offsets_and_dates() {
        assert_eq!(seconds_between("2026-11-01", "2026-11-02"), Ok(86_400));
        assert_eq!(
            seconds_between("2026-11-01T08:00:00+02:00", "2026-11-01T06:30:00.5Z"),
            Ok(1801)
        );
        assert_eq!(
            seconds_between("2026-12-31T23:00:00-01:00", "2027-01-01T00:00:00Z"),
            Ok(0)
        );
        assert_eq!(
            seconds_between("2026-11-01T00:00:00Z", "2026-11-02T00:00:00.999Z"),
            Ok(86_401),
            "a fraction past the window is past it"
        );
        assert_eq!(
            seconds_between("2026-11-01T00:00:00Z", "2026-11-02T00:00:00.000Z"),
            Ok(86_400)
        );
        assert!(seconds_between("2026-11-02", "2026-11-01")
            .unwrap_err()
            .contains("ends"));
        assert!(seconds_between("1960-01-01", "2026-11-01")
            .unwrap_err()
            .contains("1970"));
    }

    fn decl() -> BTreeMap<String, QueryParam> {
        let p = |bind, max| QueryParam { bind, max };
        BTreeMap::from([
            ("id".into(), p(Binding::Record, None)),
            ("since".into(), p(Binding::TimeFrom, None)),
            ("until".into(), p(Binding::TimeTo, None)),
            ("limit".into(), p(Binding::Limit, Some(100))),
        ])
    }

    #[test]
    fn a_query_naming_another_record_than_the_path_is_refused() {
        let e = bind_query(Some("id=P-999&fields=all"), &decl(), Some("P-1")).unwrap_err();
        // `fields` is undeclared: refused before anything else is considered.
        assert!(matches!(e, QueryError::Undeclared { ref name, .. } if name == "fields"));
        let e = bind_query(Some("id=P-999"), &decl(), Some("P-1")).unwrap_err();
        assert!(matches!(e, QueryError::RecordMismatch { .. }), "{e}");
        assert!(e.to_string().contains("P-999"));
    }

    #[test]
    fn duplicates_in_any_spelling_are_refused() {
        for q in ["id=P-1&id=P-2", "id=P-1&%69d=P-2", "limit=1&limit=1"] {
            assert!(
                matches!(
                    bind_query(Some(q), &decl(), None),
                    Err(QueryError::Duplicate(_))
                ),
                "{q}"
            );
        }
    }

    #[test]
    fn names_match_exactly_so_a_case_variant_is_undeclared() {
        assert!(matches!(
            bind_query(Some("ID=P-999"), &decl(), None),
            Err(QueryError::Undeclared { .. })
        ));
    }

    #[test]
    fn the_canonical_form_is_sorted_and_escaped_once() {
        let b = bind_query(
            Some("until=2026-02-01&limit=10&since=2026-01-01T00:00:00Z&id=O%27Brien+J"),
            &decl(),
            None,
        )
        .unwrap();
        assert_eq!(
            b.canonical,
            "id=O%27Brien%20J&limit=10&since=2026-01-01T00%3A00%3A00Z&until=2026-02-01"
        );
        assert_eq!(b.record.as_deref(), Some("O'Brien J"));
        assert_eq!(b.limit, Some(10));
        let b = bind_query(Some("limit=007"), &decl(), None).unwrap();
        assert_eq!(b.canonical, "limit=7");
    }

    #[test]
    fn limits_over_the_maximum_and_bad_times_are_refused() {
        assert!(matches!(
            bind_query(Some("limit=101"), &decl(), None),
            Err(QueryError::BadLimit { max: 100, .. })
        ));
        for q in [
            "limit=-1",
            "limit=1e3",
            "limit=",
            "limit=99999999999999999999999",
        ] {
            assert!(bind_query(Some(q), &decl(), None).is_err(), "{q}");
        }
        for t in [
            "2026-13-01",
            "2026-01-01 00:00",
            "yesterday",
            "2026-01-01T25:00:00Z",
        ] {
            let q = format!("since={t}");
            assert!(bind_query(Some(&q), &decl(), None).is_err(), "{t}");
        }
    }

    #[test]
    fn nul_control_and_overlong_utf8_are_refused() {
        for q in ["id=a%00b", "id=%C0%AE", "id=%zz", "id=a%0d%0aX-Injected:1"] {
            assert!(bind_query(Some(q), &decl(), None).is_err(), "{q}");
        }
    }

    proptest! {
        #[test]
        fn canonical_queries_bind_to_themselves(raw in "[a-z=&%0-9A-F+.~-]{0,40}") {
            if let Ok(b) = bind_query(Some(&raw), &decl(), None) {
                let again = bind_query(Some(&b.canonical), &decl(), None).unwrap();
                prop_assert_eq!(again, b);
            }
        }
    }
}
