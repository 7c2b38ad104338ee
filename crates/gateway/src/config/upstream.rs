//! `upstream`: where allowed requests go, and how Cordon reaches it. Either a URL
//! (`upstream = "http://127.0.0.1:9000"`) or an `[upstream]` table with the URL, the TLS
//! trust and client certificate for an `https://` service, and the connection timeouts.
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::PathBuf;

/// The upstream as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// `http://host:port` or `https://host[:port]`: scheme, host and port only.
    pub url: String,
    /// PEM bundle of the CAs an `https://` upstream's certificate must chain to; absent,
    /// the system's roots.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// PEM certificate chain Cordon presents to an upstream that requires mutual TLS.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// The private key of `client_cert` (PEM).
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// The name the upstream's certificate must carry, when it is not the URL's host
    /// (e.g. the URL names an address and the certificate a DNS name).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Longest time to open a connection, TLS handshake included.
    #[serde(default = "default_connect")]
    pub connect_timeout_ms: u64,
    /// Longest time from sending a request (connecting included) to the upstream's
    /// response head.
    #[serde(default = "default_header")]
    pub header_timeout_ms: u64,
    /// Longest wait for more of a response body: responses stream, so it bounds each
    /// silence, not the whole transfer.
    #[serde(default = "default_body")]
    pub body_timeout_ms: u64,
    /// How long an idle kept-alive connection stays in the pool.
    #[serde(default = "default_idle")]
    pub idle_timeout_ms: u64,
    /// Most idle connections kept open to the upstream. Below the number of requests in
    /// flight, connections returned at a peak are closed and reopened a moment later.
    #[serde(default = "default_max_idle")]
    pub max_idle_connections: usize,
    /// Whether Cordon speaks HTTP/2 to the upstream; absent, HTTP/2 is offered by ALPN to
    /// an `https://` upstream and never spoken in the clear.
    #[serde(default)]
    pub http2: Option<UpstreamHttp2>,
    /// Request headers the service needs beyond those always passed on (content
    /// negotiation, caching validators, user agent, trace context): every other header a
    /// client sends is dropped. Identity, address, hop-by-hop and Cordon's own headers
    /// cannot be listed.
    #[serde(default)]
    pub forward_headers: Vec<String>,
}

/// `upstream.http2`: how HTTP/2 to the upstream is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamHttp2 {
    /// Offer `h2` and `http/1.1` by ALPN; the upstream chooses (`https://` only).
    Alpn,
    /// HTTP/1.1 only.
    Off,
    /// HTTP/2 with prior knowledge over plain TCP (`http://` only), for a service that
    /// speaks h2c beside Cordon.
    H2c,
}

fn default_connect() -> u64 {
    5_000
}
fn default_header() -> u64 {
    30_000
}
fn default_body() -> u64 {
    60_000
}
fn default_idle() -> u64 {
    30_000
}
fn default_max_idle() -> usize {
    // Measured: at 64 requests in flight, 32 made a connect() show in the profile.
    256
}

impl UpstreamSection {
    /// The section a bare URL stands for: every other setting at its default.
    pub fn from_url(url: &str) -> UpstreamSection {
        UpstreamSection {
            url: url.to_owned(),
            ca: None,
            client_cert: None,
            client_key: None,
            server_name: None,
            connect_timeout_ms: default_connect(),
            header_timeout_ms: default_header(),
            body_timeout_ms: default_body(),
            idle_timeout_ms: default_idle(),
            max_idle_connections: default_max_idle(),
            http2: None,
            forward_headers: Vec::new(),
        }
    }

    /// How HTTP/2 is chosen, with the default for the URL's scheme filled in.
    pub fn http2_mode(&self) -> UpstreamHttp2 {
        self.http2.unwrap_or(if self.is_https() {
            UpstreamHttp2::Alpn
        } else {
            UpstreamHttp2::Off
        })
    }

    /// Whether the upstream is reached over TLS.
    pub fn is_https(&self) -> bool {
        self.url.starts_with("https://")
    }

    /// `host[:port]` of the URL, once [`check`] has accepted it.
    pub fn authority(&self) -> &str {
        let rest = self
            .url
            .strip_prefix("https://")
            .or_else(|| self.url.strip_prefix("http://"))
            .unwrap_or(&self.url);
        rest.trim_end_matches('/')
    }
}

/// A string is a URL with default settings; a table is the whole section.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UpstreamSection>, D::Error> {
    struct UrlOrTable;
    impl<'de> Visitor<'de> for UrlOrTable {
        type Value = UpstreamSection;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a URL such as \"https://records.city.example\", or an [upstream] table with url = \"...\"")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<UpstreamSection, E> {
            Ok(UpstreamSection::from_url(v))
        }
        fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<UpstreamSection, M::Error> {
            UpstreamSection::deserialize(de::value::MapAccessDeserializer::new(m))
        }
    }
    d.deserialize_any(UrlOrTable).map(Some)
}

/// Checks the section; the message names the key and what to write instead.
pub fn check(u: &UpstreamSection) -> Result<(), String> {
    let rest = u
        .url
        .strip_prefix("https://")
        .or_else(|| u.url.strip_prefix("http://"))
        .ok_or_else(|| format!("upstream {:?} must start with http:// or https://", u.url))?;
    let authority = rest.trim_end_matches('/');
    let parsed = authority.parse::<hyper::http::uri::Authority>();
    // `Authority` accepts a port it cannot read as a number (99999) and reports none; the
    // connection would only fail when the first request is sent. (`[::1]` has no port.)
    let bad_port = authority
        .rsplit_once(':')
        .map(|(_, port)| port)
        .filter(|port| !port.ends_with(']'))
        .is_some_and(|port| port.parse::<u16>().is_err());
    if authority.is_empty()
        || authority.contains(['/', '?', '#', '@'])
        || parsed.is_err()
        || bad_port
    {
        return Err(format!(
            "upstream {:?}: give only scheme, host and port, e.g. https://records.city.example:8443",
            u.url
        ));
    }
    if !u.is_https() {
        let tls_keys = [
            ("ca", u.ca.is_some()),
            ("client_cert", u.client_cert.is_some()),
            ("client_key", u.client_key.is_some()),
            ("server_name", u.server_name.is_some()),
        ];
        if let Some((key, _)) = tls_keys.iter().find(|(_, set)| *set) {
            return Err(format!(
                "upstream.{key} is set but upstream.url {:?} is plain http://: use https:// \
                 (Cordon never sends a certificate or trusts a CA over plain HTTP)",
                u.url
            ));
        }
    }
    match (u.http2, u.is_https()) {
        (Some(UpstreamHttp2::Alpn), false) => {
            return Err(format!(
                "upstream.http2 = \"alpn\" needs an https:// upstream (ALPN is part of TLS), \
                 but upstream.url {:?} is plain http://: use \"h2c\" for a plain-text HTTP/2 \
                 service, or remove upstream.http2",
                u.url
            ))
        }
        (Some(UpstreamHttp2::H2c), true) => {
            return Err(
                "upstream.http2 = \"h2c\" is plain-text HTTP/2, but upstream.url is https://: \
                 over TLS HTTP/2 is negotiated by ALPN (\"alpn\", the default)"
                    .into(),
            )
        }
        _ => {}
    }
    if u.client_cert.is_some() != u.client_key.is_some() {
        return Err(
            "upstream.client_cert and upstream.client_key go together: give both (mutual TLS) or neither"
                .into(),
        );
    }
    if let Some(name) = &u.server_name {
        if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
            return Err(format!(
                "upstream.server_name {name:?} is not a DNS name or IP address"
            ));
        }
    }
    for name in &u.forward_headers {
        if let Some(why) = crate::proxy::never_forwarded(&name.to_ascii_lowercase()) {
            return Err(format!(
                "upstream.forward_headers: {name:?} cannot be passed on to the service: {why}; remove it from the list"
            ));
        }
    }
    for (key, v) in [
        ("connect_timeout_ms", u.connect_timeout_ms),
        ("header_timeout_ms", u.header_timeout_ms),
        ("body_timeout_ms", u.body_timeout_ms),
    ] {
        if v == 0 {
            return Err(format!("upstream.{key} must be at least 1"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "deserialize")]
        upstream: Option<UpstreamSection>,
    }

    fn parse(text: &str) -> Result<UpstreamSection, String> {
        let h: Holder = toml::from_str(text).map_err(|e| e.to_string())?;
        let u = h.upstream.unwrap();
        check(&u)?;
        Ok(u)
    }

    #[test]
    fn forward_headers_refuses_identity_address_and_cordon_headers_by_name() {
        let with = |names: &str| {
            parse(&format!(
                "[upstream]\nurl = \"http://127.0.0.1:9000\"\nforward_headers = [{names}]"
            ))
        };
        assert_eq!(
            with("\"X-Tenant\", \"Accept-Datetime\"")
                .unwrap()
                .forward_headers,
            ["X-Tenant", "Accept-Datetime"]
        );
        for (name, says) in [
            ("Authorization", "identity"),
            ("X-Forwarded-User", "identity"),
            ("X-Real-IP", "address"),
            ("Cordon-Agency", "Cordon's own"),
            ("X-HTTP-Method-Override", "method or URL"),
            ("X_Tenant", "letters, digits and hyphens"),
            ("Connection", "hop-by-hop"),
            ("Host", "Cordon sets it"),
        ] {
            let e = with(&format!("\"{name}\"")).unwrap_err();
            assert!(e.contains(name) && e.contains(says), "{name}: {e}");
        }
    }

    #[test]
    fn a_bare_url_and_a_table_both_configure_the_upstream() {
        let u = parse("upstream = \"http://127.0.0.1:9000\"").unwrap();
        assert_eq!(u, UpstreamSection::from_url("http://127.0.0.1:9000"));
        let u = parse(
            "[upstream]\nurl = \"https://records.example:8443\"\nca = \"ca.pem\"\nheader_timeout_ms = 5",
        )
        .unwrap();
        assert!(u.is_https());
        assert_eq!(u.authority(), "records.example:8443");
        assert_eq!(u.header_timeout_ms, 5);
        assert_eq!(u.connect_timeout_ms, default_connect());
    }

    #[test]
    fn http2_to_the_upstream_is_alpn_over_tls_and_h2c_only_when_configured() {
        let u = parse("upstream = \"https://a\"").unwrap();
        assert_eq!(u.http2_mode(), UpstreamHttp2::Alpn);
        let u = parse("upstream = \"http://a:1\"").unwrap();
        assert_eq!(u.http2_mode(), UpstreamHttp2::Off);
        let u = parse("[upstream]\nurl = \"http://a:1\"\nhttp2 = \"h2c\"").unwrap();
        assert_eq!(u.http2_mode(), UpstreamHttp2::H2c);
        let u = parse("[upstream]\nurl = \"https://a\"\nhttp2 = \"off\"").unwrap();
        assert_eq!(u.http2_mode(), UpstreamHttp2::Off);
    }

    #[test]
    fn tls_settings_on_a_plain_upstream_and_half_a_client_certificate_are_refused() {
        for (text, says) in [
            (
                "[upstream]\nurl = \"http://a:1\"\nca = \"x\"",
                "upstream.ca",
            ),
            (
                "[upstream]\nurl = \"https://a\"\nclient_cert = \"c\"",
                "go together",
            ),
            ("upstream = \"ftp://a\"", "http:// or https://"),
            ("upstream = \"https://a/b\"", "only scheme, host and port"),
            ("upstream = \"https://u@a\"", "only scheme, host and port"),
            // A port no socket can have, refused before the first request tries it.
            (
                "upstream = \"http://127.0.0.1:99999\"",
                "only scheme, host and port",
            ),
            (
                "[upstream]\nurl = \"https://a\"\nbody_timeout_ms = 0",
                "at least 1",
            ),
            (
                "[upstream]\nurl = \"https://a\"\nretries = 3",
                "unknown field",
            ),
            (
                "[upstream]\nurl = \"http://a:1\"\nhttp2 = \"alpn\"",
                "needs an https:// upstream",
            ),
            (
                "[upstream]\nurl = \"https://a\"\nhttp2 = \"h2c\"",
                "plain-text HTTP/2",
            ),
            (
                "[upstream]\nurl = \"https://a\"\nhttp2 = \"yes\"",
                "unknown variant",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
