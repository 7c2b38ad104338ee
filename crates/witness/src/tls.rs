//! HTTPS for the witness client and `cordon verify`: the system's trusted roots (plus any
//! private ones given), rustls with the ring provider the gateway also uses, and plain
//! http still allowed for a witness or mirror on a trusted network.
use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;

/// A connector for `http://` and `https://` URLs.
pub type Connector = HttpsConnector<HttpConnector>;

/// A connector trusting the operating system's roots and `extra_roots`, with
/// `timeout` to connect.
pub fn connector(timeout: Duration, extra_roots: &[CertificateDer<'static>]) -> Connector {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates leave fewer roots: HTTPS to a server they would
    // have vouched for then fails with a certificate error that names the server.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    roots.add_parsable_certificates(extra_roots.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring supports every default protocol version, so this cannot fail.
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
}
