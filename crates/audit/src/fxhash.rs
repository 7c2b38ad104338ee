//! Maps for the per-row path (hours, users, reasons, search ids), hashed with the
//! screener's multiplicative hasher: their keys are short or already hashed, so SipHash's
//! flood resistance buys nothing here and costs most of a lookup.
use std::hash::BuildHasherDefault;

pub use cordon_policy::screen::FxHasher;

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;
