//! A C2SP tlog-tiles transparency log: RFC 6962 hashing, hash tiles and entry bundles,
//! signed-note checkpoints, inclusion and consistency proofs, and a durable appender.
//!
//! The writer ([`Log`]) acknowledges an entry only once it is on disk, and integrates
//! entries into tiles and a newly signed checkpoint in the background. The reader side
//! ([`verify`]) trusts nothing but the verifier key it is given. Every file operation of
//! the writer goes through [`storage::Storage`], so [`simulate`] can cut the power under
//! it at every disk operation and check that nothing acknowledged is lost.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod checkpoint;
mod error;
pub mod fs;
pub mod hash;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod receipt;
pub mod simulate;
pub mod storage;
pub mod tile;
pub mod tree;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use error::{AppendError, LogError};
pub use hash::Hash;
pub use keys::{KeyError, NoteVerifier, Signer, Verifier};
pub use note::{Note, NoteError};
pub use proof::TlogProof;
pub mod log;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod wal;
pub mod witness;

pub use log::{
    create, create_on, read_checkpoint, read_checkpoint_on, FaultSwitch, Log, LogConfig,
    PendingAppend, Receipt, Recovery,
};
