//! Where a log is read from for verification: a directory, or a URL prefix that
//! serves the public side of the log (`checkpoint` and `tile/<L>/...`).
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use cordon_log::hash::Hash;
use cordon_log::tile::{TileId, FULL_TILE_BYTES, TILE_WIDTH};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::VerifyError;

/// Largest file fetched: a full tile is 8 KiB, a checkpoint with cosignatures far less.
const MAX_FETCH_BYTES: usize = 64 * 1024;

/// The log being verified.
#[derive(Clone)]
pub enum Source {
    Dir(PathBuf),
    Url { prefix: String, http: Http },
}

/// A keep-alive HTTP client with a per-request timeout.
#[derive(Clone)]
pub struct Http {
    /// Boxed: with HTTP/2 built into hyper (for the gateway) the client is hundreds of
    /// bytes, which would make every `Source` that large.
    client: Box<Client<crate::tls::Connector, Empty<Bytes>>>,
    timeout: Duration,
}

impl Http {
    /// HTTPS servers are checked against the system's trusted roots.
    pub fn new(timeout: Duration) -> Http {
        Http {
            client: Box::new(
                Client::builder(TokioExecutor::new()).build(crate::tls::connector(timeout, &[])),
            ),
            timeout,
        }
    }

    /// GETs `url`: `Ok(None)` on 404, the body on 200, an error otherwise.
    pub async fn get(&self, url: &str) -> Result<Option<Vec<u8>>, VerifyError> {
        let fail = |why: String| VerifyError::Fetch {
            what: url.to_string(),
            why,
        };
        let uri: Uri = url.parse().map_err(|_| fail("not a valid URL".into()))?;
        let exchange = async {
            let resp = self
                .client
                .get(uri)
                .await
                .map_err(|e| fail(error_chain(&e)))?;
            let status = resp.status();
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if status != StatusCode::OK {
                return Err(fail(format!("answered {status}")));
            }
            let body = Limited::new(resp.into_body(), MAX_FETCH_BYTES)
                .collect()
                .await
                .map_err(|e| fail(format!("reading the body: {e}")))?;
            Ok(Some(body.to_bytes().to_vec()))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| fail(format!("no answer within {:?}", self.timeout)))?
    }
}

impl Source {
    /// `https://…` or `http://…` is a URL prefix; anything else is a directory.
    pub fn parse(text: &str, timeout: Duration) -> Result<Source, VerifyError> {
        if text.starts_with("https://") || text.starts_with("http://") {
            return Ok(Source::Url {
                prefix: text.trim_end_matches('/').to_string(),
                http: Http::new(timeout),
            });
        }
        let dir = PathBuf::from(text);
        if !dir.is_dir() {
            return Err(VerifyError::Usage(format!(
                "{text} is neither a log directory nor an https:// or http:// URL"
            )));
        }
        Ok(Source::Dir(dir))
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Dir(d) => d.display().to_string(),
            Source::Url { prefix, .. } => prefix.clone(),
        }
    }

    /// The directory, when the entries may be readable there.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Source::Dir(d) => Some(d),
            Source::Url { .. } => None,
        }
    }

    pub async fn checkpoint(&self) -> Result<Vec<u8>, VerifyError> {
        let missing = || VerifyError::Fetch {
            what: format!("{}/checkpoint", self.describe()),
            why: "not found: is this a log?".into(),
        };
        match self {
            Source::Dir(d) => {
                let path = d.join("checkpoint");
                std::fs::read(&path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => missing(),
                    _ => VerifyError::Fetch {
                        what: path.display().to_string(),
                        why: e.to_string(),
                    },
                })
            }
            Source::Url { prefix, http } => http
                .get(&format!("{prefix}/checkpoint"))
                .await?
                .ok_or_else(missing),
        }
    }

    /// The hashes of tile `id` in a tree of `size`, falling back from a partial tile to
    /// the full one (a log may delete partials once the full tile exists).
    pub async fn hash_tile(&self, id: TileId, size: u64) -> Result<Vec<Hash>, VerifyError> {
        match self {
            Source::Dir(d) => {
                cordon_log::fs::read_hash_tile(d, id, size).map_err(|e| VerifyError::Fetch {
                    what: id.path(),
                    why: e.to_string(),
                })
            }
            Source::Url { prefix, http } => {
                let mut data = http.get(&format!("{prefix}/{}", id.path())).await?;
                if data.is_none() && !id.is_full() {
                    let full = TileId { width: 256, ..id };
                    data = http.get(&format!("{prefix}/{}", full.path())).await?;
                }
                let data = data.ok_or_else(|| VerifyError::Fetch {
                    what: format!("{prefix}/{}", id.path()),
                    why: format!("not found (a tree of size {size} needs it)"),
                })?;
                split_tile(&data, id)
            }
        }
    }
}

/// A tile's bytes as hashes: exactly `width` of them, or a full tile cut to `width`.
fn split_tile(data: &[u8], id: TileId) -> Result<Vec<Hash>, VerifyError> {
    let width = usize::from(id.width);
    if data.len() != width * 32 && data.len() != FULL_TILE_BYTES {
        return Err(VerifyError::Fetch {
            what: id.path(),
            why: format!(
                "has {} bytes; a tile of width {width} has {}",
                data.len(),
                width * 32
            ),
        });
    }
    debug_assert!(width as u64 <= TILE_WIDTH);
    Ok(data
        .chunks_exact(32)
        .take(width)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
