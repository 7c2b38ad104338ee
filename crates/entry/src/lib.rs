//! The gateway's log entries: the canonical bytes written for each decision, each refusal
//! of an authenticated requester, each configuration reload and each allow that was never
//! served, and one reader that accepts every version ever written.
//!
//! Version 1 (until 2026-11) recorded decisions only: `v, time, via, auth, method, path,
//! request, decision`, with the query (if any) inside `path`. Version 2 adds `kind`, the
//! requester as authenticated, the client address, the canonical query apart from the
//! path, the SHA-256 of a decided body, the pack stack and routes that decided, the
//! registered authority that was honoured, refusals before a decision, reloads and
//! "not served" follow-ups. Readers take both; writers write only version 2.
#![forbid(unsafe_code)]

mod read;
mod render;
mod time;
mod write;

pub use read::{read, Entry, ReadError, Recorded};
pub use time::{now_rfc3339, rfc3339};
pub use write::{
    AuthorityUsed, DecisionEntry, NotServedEntry, Refusal, ReloadEntry, Requester, StackRef,
    ENTRY_VERSION,
};

/// Lower-case hex SHA-256 of `bytes`, the form every hash in an entry takes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";
