//! The log entry the gateway appends for every decision: the canonical serialization of
//! the request, its screening and the decision, with the time and the enforcement point.
use cordon_policy::{AccessRequest, Decision};
use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// Version of the entry layout; bumped on any change to the fields below.
pub const ENTRY_VERSION: u32 = 1;

/// One decision as it is written to the log.
///
/// Canonical form: compact JSON (`serde_json::to_vec`) with the fields in exactly the
/// order declared here and, inside, the field order of [`AccessRequest`] and [`Decision`]
/// (the screening is `decision.screen`). Nothing is sorted or re-ordered at write time,
/// so the same decision always yields the same bytes.
#[derive(Debug, Serialize)]
pub struct LogEntry<'a> {
    /// [`ENTRY_VERSION`].
    pub v: u32,
    /// When the gateway decided, RFC 3339 UTC with milliseconds.
    pub time: String,
    /// The enforcement point: `proxy` or `forward_auth`.
    pub via: &'static str,
    /// How the requester was authenticated: `mtls`, `jwt` or `api_key`.
    pub auth: &'static str,
    /// The HTTP method and the normalized path the decision covers.
    pub method: &'a str,
    pub path: &'a str,
    pub request: &'a AccessRequest,
    pub decision: &'a Decision,
}

impl LogEntry<'_> {
    /// The canonical bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// Now as RFC 3339 UTC with milliseconds, without a date-time dependency.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs(), d.subsec_millis())
}

pub(crate) fn rfc3339(secs: u64, millis: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_795_910_399, 999), "2026-11-28T23:59:59.999Z");
    }
}
