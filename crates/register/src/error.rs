//! What can go wrong recording to or reading the register; every message names the field,
//! entry or file at fault and what to do.

/// A register error.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The submitted JSON is not a valid register input.
    #[error("{0}")]
    Input(String),
    /// An outcome or correction names an entry it cannot apply to.
    #[error("{0}")]
    Target(String),
    /// The log could not be read or does not verify.
    #[error("the log cannot be read")]
    Log(#[from] cordon_log::LogError),
    /// An entry in the log claims to be a register entry but does not parse as one.
    #[error("log entry {index} is marked as a register entry but is not one: {why}")]
    BadEntry { index: u64, why: String },
    /// A report's totals disagree between the register view and the raw log.
    #[error("the report's totals do not match the log, so no report was written: {0}")]
    Totals(String),
    #[error("the entry could not be serialized")]
    Serialize(#[from] serde_json::Error),
}

pub(crate) fn input(message: impl Into<String>) -> RegisterError {
    RegisterError::Input(message.into())
}
