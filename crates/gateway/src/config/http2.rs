//! `[http2]`: whether clients may speak HTTP/2 (by ALPN over TLS, with prior knowledge on
//! a plain listener) and the per-connection limits that keep one client from holding the
//! gateway: concurrent streams and how long an idle connection stays open.
use serde::Deserialize;

/// HTTP/2 from clients, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http2Section {
    /// Offer `h2` by ALPN on the TLS listener (preferred when the client offers it).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Accept HTTP/2 with prior knowledge (h2c) on a plain listener, beside HTTP/1.1.
    /// Off unless set: plain-text HTTP/2 belongs behind a proxy that terminates TLS.
    #[serde(default)]
    pub h2c: bool,
    /// Most requests (streams) one HTTP/2 connection may have open at once.
    #[serde(default = "default_streams")]
    pub max_concurrent_streams: u32,
    /// An HTTP/2 connection with no request in flight and no bytes moving for this long
    /// is told to go away (GOAWAY) and closed.
    #[serde(default = "default_idle")]
    pub idle_timeout_ms: u64,
}

/// Above this many streams per connection the rapid-reset and memory exposure of one
/// client grows past what a records gateway needs.
pub const MAX_STREAMS_CEILING: u32 = 1000;

fn yes() -> bool {
    true
}
fn default_streams() -> u32 {
    100
}
fn default_idle() -> u64 {
    30_000
}

impl Default for Http2Section {
    fn default() -> Http2Section {
        Http2Section {
            enabled: true,
            h2c: false,
            max_concurrent_streams: default_streams(),
            idle_timeout_ms: default_idle(),
        }
    }
}

/// Checks the section against whether the data listener has TLS.
pub fn check(h: &Http2Section, has_tls: bool) -> Result<(), String> {
    if h.h2c && !h.enabled {
        return Err(
            "http2.h2c = true but http2.enabled = false: enable HTTP/2 or remove http2.h2c".into(),
        );
    }
    if h.h2c && has_tls {
        return Err(
            "http2.h2c is for a plain listener, but [tls] is configured: over TLS HTTP/2 is \
             negotiated by ALPN (http2.enabled); remove http2.h2c"
                .into(),
        );
    }
    if h.max_concurrent_streams == 0 || h.max_concurrent_streams > MAX_STREAMS_CEILING {
        return Err(format!(
            "http2.max_concurrent_streams is {}: give 1 to {MAX_STREAMS_CEILING} (default 100)",
            h.max_concurrent_streams
        ));
    }
    if h.idle_timeout_ms == 0 {
        return Err(
            "http2.idle_timeout_ms must be above 0: at 0 every HTTP/2 connection would close \
             at once; remove it to use the default (30000)"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Http2Section {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn http2_is_offered_over_tls_and_h2c_is_off_unless_configured() {
        let h = parse("");
        assert_eq!(h, Http2Section::default());
        assert!(h.enabled && !h.h2c);
        assert!(check(&h, true).is_ok() && check(&h, false).is_ok());
        assert!(check(&parse("h2c = true"), false).is_ok());
    }

    #[test]
    fn h2c_with_tls_or_without_http2_and_zero_or_huge_limits_are_refused() {
        for (text, tls, says) in [
            ("h2c = true", true, "remove http2.h2c"),
            ("h2c = true\nenabled = false", false, "enable HTTP/2"),
            ("max_concurrent_streams = 0", false, "1 to 1000"),
            ("max_concurrent_streams = 100000", false, "1 to 1000"),
            ("idle_timeout_ms = 0", false, "above 0"),
        ] {
            let e = check(&parse(text), tls).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert!(toml::from_str::<Http2Section>("h2 = true").is_err());
    }
}
