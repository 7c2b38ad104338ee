//! What can go wrong reading an export: each error names the file and, where it can, the line.
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: no {column:?} column in the header ({found}); name it with --map {key}=COLUMN"
    )]
    MissingColumn {
        path: PathBuf,
        column: String,
        key: String,
        found: String,
    },
    #[error("{path}, line {line}: {why}")]
    BadRow {
        path: PathBuf,
        line: u64,
        why: String,
    },
    #[error("{path}: {why}")]
    NotThisFormat { path: PathBuf, why: String },
    #[error("--map {0:?}: expected KEY=COLUMN, with KEY one of id, user, org, time, time_frame, time_frame_start, time_frame_end, networks, devices, plate, reason, case, offense, filters, search_type, text_prompt, moderation")]
    BadMap(String),
    #[error("--map names {key} twice ({first:?} and {second:?}): name each field once")]
    MapTwice {
        key: String,
        first: String,
        second: String,
    },
}

impl AuditError {
    /// The same error, naming `path` (the file a user gave) instead of a converted copy.
    pub fn for_path(self, path: &std::path::Path) -> AuditError {
        let path = path.to_path_buf();
        match self {
            AuditError::Io { source, .. } => AuditError::Io { path, source },
            AuditError::MissingColumn {
                column, key, found, ..
            } => AuditError::MissingColumn {
                path,
                column,
                key,
                found,
            },
            AuditError::BadRow { line, why, .. } => AuditError::BadRow { path, line, why },
            AuditError::NotThisFormat { why, .. } => AuditError::NotThisFormat { path, why },
            other @ (AuditError::BadMap(_) | AuditError::MapTwice { .. }) => other,
        }
    }
}
