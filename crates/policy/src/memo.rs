//! Memoized decisions. A decision is a pure function of the facts the policies can see;
//! most requests repeat the same few low-cardinality facts (agency kind, action, purpose,
//! authority, flags), so Cedar runs once per distinct combination. The key holds only what
//! some policy reads, found by walking each policy's JSON form at load time; when that
//! walk cannot be sure, the key holds everything.

use crate::decision::Decision;
use crate::engine::Facts;
use cedar_policy::PolicySet;
use serde_json::Value;
use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Distinct keys kept; past this, decisions are computed but not stored, so memory stays
/// bounded whatever traffic arrives.
const CAPACITY: usize = 65_536;

/// What the pack's policies read, beyond the action (always part of the key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reads {
    principal: bool,
    resource: bool,
    /// `None`: the context is used whole somewhere, so every attribute counts.
    context: Option<BTreeSet<String>>,
}

impl Reads {
    pub fn of(policies: &PolicySet) -> Reads {
        let mut reads = Reads {
            context: Some(BTreeSet::new()),
            ..Reads::default()
        };
        for policy in policies.policies() {
            match policy.to_json() {
                Ok(json) => reads.walk(&json),
                Err(_) => return Reads::everything(),
            }
        }
        reads
    }

    fn everything() -> Reads {
        Reads {
            principal: true,
            resource: true,
            context: None,
        }
    }

    fn reads(&self, attr: &str) -> bool {
        self.context.as_ref().is_none_or(|set| set.contains(attr))
    }

    fn walk(&mut self, json: &Value) {
        match json {
            Value::Object(map) => {
                for scope in ["principal", "resource"] {
                    let constrained = map
                        .get(scope)
                        .and_then(|s| s.get("op"))
                        .is_some_and(|op| op != "All");
                    if constrained {
                        self.mark_var(scope);
                    }
                }
                if let Some(Value::String(var)) = map.get("Var") {
                    self.mark_var(var);
                }
                for (key, value) in map {
                    if (key == "." || key == "has") && self.context_attr(value) {
                        continue;
                    }
                    self.walk(value);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.walk(v)),
            _ => {}
        }
    }

    /// Records `context.attr` / `context has attr`; false if `value` is not of that shape.
    fn context_attr(&mut self, value: &Value) -> bool {
        let on_context =
            value.get("left").and_then(|l| l.get("Var")) == Some(&Value::from("context"));
        match (on_context, value.get("attr").and_then(Value::as_str)) {
            (true, Some(attr)) => {
                if let Some(set) = self.context.as_mut() {
                    set.insert(attr.to_owned());
                }
                true
            }
            _ => false,
        }
    }

    fn mark_var(&mut self, var: &str) {
        match var {
            "principal" => self.principal = true,
            "resource" => self.resource = true,
            // `context` outside an attribute access: every attribute may matter.
            "context" => self.context = None,
            _ => {}
        }
    }

    /// The key for `facts`: every value a policy can read, each length-prefixed so no two
    /// different fact sets share a key.
    pub fn key(&self, f: &Facts<'_>) -> String {
        let mut key = String::with_capacity(96);
        let mut put = |read: bool, value: &str| {
            if read {
                key.push_str(&value.len().to_string());
                key.push(':');
                key.push_str(value);
            }
            key.push('|');
        };
        let flag = |b: bool| if b { "1" } else { "0" };
        put(true, f.action);
        put(self.principal, f.principal);
        put(self.resource, f.dataset);
        put(self.reads("agency"), f.agency);
        put(self.reads("agency_kind"), f.agency_kind);
        put(self.reads("agency_in_state"), flag(f.agency_in_state));
        put(self.reads("alpr_declaration"), flag(f.alpr_declaration));
        put(self.reads("dataset"), f.dataset);
        put(self.reads("dataset_kind"), f.dataset_kind);
        put(self.reads("path"), f.path);
        put(self.reads("purpose"), f.purpose);
        put(self.reads("has_reason"), flag(f.has_reason));
        put(self.reads("has_case"), flag(f.has_case));
        put(self.reads("authority"), f.authority);
        put(self.reads("authority_court"), f.authority_court);
        put(self.reads("authority_matter"), f.authority_matter);
        put(
            self.reads("authority_registered"),
            flag(f.authority_registered),
        );
        put(self.reads("filters_status"), flag(f.filters_status));
        put(self.reads("authority_record"), f.authority_record);
        put(
            self.reads("authority_names_path"),
            flag(f.authority_names_path),
        );
        let flags = f.flags.join(",");
        put(self.reads("flags"), &flags);
        key
    }
}

/// The memo itself: decisions without their screening and problems, by key. Keyed by the
/// facts the policies read (a `String`, for Cedar's answers), or by a decision table's
/// outcome (its effect and deciding policies, for the explanation built from them).
#[derive(Debug)]
pub(crate) struct Memo<K = String> {
    decisions: RwLock<HashMap<K, Arc<Decision>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K> Default for Memo<K> {
    fn default() -> Self {
        Memo {
            decisions: RwLock::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }
}

impl<K: Eq + Hash> Memo<K> {
    /// A stored decision; a poisoned lock is treated as a miss, never a panic.
    pub fn get<Q>(&self, key: &Q) -> Option<Arc<Decision>>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let found = self
            .decisions
            .read()
            .ok()
            .and_then(|map| map.get(key).cloned());
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Lookups so far: (hits, misses).
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    pub fn put(&self, key: K, decision: Decision) {
        if let Ok(mut map) = self.decisions.write() {
            if map.len() < CAPACITY {
                map.insert(key, Arc::new(decision));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn reads(text: &str) -> Reads {
        Reads::of(&PolicySet::from_str(text).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn attribute_reads_are_found_and_nothing_else_counts() {
        let r = reads(
            r#"forbid (principal, action, resource) when { context.path == "x" && context has flags };"#,
        );
        assert_eq!(
            r.context,
            Some(BTreeSet::from(["flags".to_owned(), "path".to_owned()]))
        );
        assert!(!r.principal && !r.resource);
    }

    #[test]
    fn a_whole_context_or_a_scoped_principal_widens_the_key() {
        let r = reads(
            r#"permit (principal == Principal::"a", action, resource) when { context == {} };"#,
        );
        assert!(r.principal && r.context.is_none());
    }
}
