//! TLS termination with optional client certificates (mutual TLS) checked against
//! revocation lists, using rustls with the ring provider; and reading the typed names a
//! verified client certificate carries.
use crate::config::{CertName, NameKind, TlsSection};
use crate::identity::CertNames;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no {what} in PEM form")]
    Empty { path: PathBuf, what: &'static str },
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

pub(crate) fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut bytes.as_slice())
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(certs)
}

/// A revocation list in PEM (`X509 CRL`) or DER form.
fn read_crl(path: &Path) -> Result<CertificateRevocationListDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    if !bytes.starts_with(b"-----") {
        return Ok(CertificateRevocationListDer::from(bytes));
    }
    let crl = rustls_pemfile::crls(&mut bytes.as_slice())
        .next()
        .and_then(Result::ok);
    crl.ok_or_else(|| TlsError::Empty {
        path: path.to_owned(),
        what: "certificate revocation list (-----BEGIN X509 CRL-----)",
    })
}

pub(crate) fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    rustls_pemfile::private_key(&mut bytes.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::Empty {
            path: path.to_owned(),
            what: "private key",
        })
}

/// The server's rustls config. With a client CA, client certificates are verified when
/// presented but not required, so bearer tokens work on the same port. With CRLs, every
/// certificate in a client's chain must have a listed CRL from its issuer and must not be
/// on it: a chain whose revocation status is unknown is refused, not waved through. With
/// `http2`, ALPN offers `h2` first, so a client that speaks it gets HTTP/2.
pub fn server_config(cfg: &TlsSection, http2: bool) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &cfg.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs(ca)? {
                roots.add(c).map_err(|e| TlsError::Rustls(e.to_string()))?;
            }
            let crls = cfg
                .crls
                .iter()
                .map(|p| read_crl(p))
                .collect::<Result<Vec<_>, _>>()?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .with_crls(crls)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(read_certs(&cfg.cert)?, read_key(&cfg.key)?)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    config.alpn_protocols = alpn(http2);
    Ok(Arc::new(config))
}

/// The protocols the TLS listener offers, most preferred first (rustls picks the first
/// the client also offers).
pub fn alpn(http2: bool) -> Vec<Vec<u8>> {
    let mut protocols = Vec::new();
    if http2 {
        protocols.push(ALPN_H2.to_vec());
    }
    protocols.push(b"http/1.1".to_vec());
    protocols
}

/// The ALPN name of HTTP/2 over TLS.
pub const ALPN_H2: &[u8] = b"h2";

/// The typed names of a certificate the TLS layer has already verified: its DNS, email
/// and URI subject alternative names and its subject common names, each kept with its
/// type so that one kind of name is never read as another.
pub fn cert_names(der: &[u8]) -> CertNames {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return CertNames::default();
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            let (kind, value) = match n {
                GeneralName::DNSName(s) => (NameKind::Dns, *s),
                GeneralName::RFC822Name(s) => (NameKind::Email, *s),
                GeneralName::URI(s) => (NameKind::Uri, *s),
                _ => continue,
            };
            names.push(CertName::new(kind, value));
        }
    }
    for cn in cert.subject().iter_common_name() {
        if let Ok(s) = cn.as_str() {
            names.push(CertName::new(NameKind::Cn, s));
        }
    }
    CertNames(names)
}
