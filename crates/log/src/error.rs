//! The errors of opening, appending to and reading a log directory.
use std::path::PathBuf;
use thiserror::Error;

use crate::bundle::BundleError;
use crate::checkpoint::CheckpointError;
use crate::keys::KeyError;
use crate::merkle::ProofError;

/// Anything that can go wrong with a log on disk. Each variant names the file involved.
#[derive(Debug, Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Checkpoint {
        path: PathBuf,
        #[source]
        source: CheckpointError,
    },
    #[error("{path}: missing (a tree of size {size} needs it)")]
    MissingTile { path: PathBuf, size: u64 },
    #[error("{path}: {why}")]
    BadTile { path: PathBuf, why: String },
    #[error("{path}: {source}")]
    BadBundle {
        path: PathBuf,
        #[source]
        source: BundleError,
    },
    #[error("{path}: {why}")]
    Corrupt { path: PathBuf, why: String },
    #[error("{0}")]
    Proof(#[from] ProofError),
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("{path} already holds a log; choose an empty or new directory")]
    AlreadyExists { path: PathBuf },
    #[error("{path} is not a log directory (no checkpoint); create one with `cordon log init`")]
    NotALog { path: PathBuf },
    #[error("{path} is in use by another writer; only one process may append to a log")]
    Locked { path: PathBuf },
    #[error("the signer key {key} does not belong to this log (origin {origin})")]
    WrongKey { key: String, origin: String },
    /// An integration round (tiles and checkpoint) failed; the entries stay durable in
    /// the write-ahead file and a later round retries.
    #[error("{path}: integration failed: {why}")]
    Integration { path: PathBuf, why: String },
    /// The PostgreSQL backend's database refused or lost a statement.
    #[error("PostgreSQL ({what}): {why}")]
    Database { what: String, why: String },
}

impl LogError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LogError {
        let path = path.into();
        move |source| LogError::Io { path, source }
    }
}

/// Why an append was not acknowledged. An unacknowledged entry may or may not be in the
/// log after a crash; an acknowledged one always is.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AppendError {
    #[error("entry is {0} bytes; the log's entry bundles carry at most 65535 bytes per entry")]
    TooLarge(usize),
    #[error("the log could not make the entry durable: {0}")]
    Storage(String),
    /// The queue to the sequencer is full: the disk is not keeping up. Nothing was
    /// queued; the caller may retry later (a gateway answers 503).
    #[error("the log's queue is full ({depth} appends waiting for the disk); try again later")]
    QueueFull { depth: usize },
    #[error("the log is closed")]
    Closed,
}
