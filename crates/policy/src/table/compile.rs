//! Compiling one policy into leaves joined by `and`, `or` and `not`. A policy small enough
//! is one leaf, tabulated whole. A larger one (a pack's "no rule permits" forbid reads
//! nearly everything) is split where Cedar's semantics make the split exact: the policy
//! is satisfied when its scope matches, every `when` holds and no `unless` does, and
//! `&&`, `||` and `!` mean what they say on values that are never errors, which filling
//! every leaf checks.

use super::domain::{Classes, Domain};
use super::leaf::Leaf;
use super::scan::Reads;
use crate::engine::Engine;
use cedar_policy::{Policy, PolicyId, PolicySet};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The most cells one leaf may have. Larger conditions are split; keeps a stack load to
/// a few thousand Cedar evaluations.
pub(crate) const LEAF_CELLS: u64 = 256;

#[derive(Debug)]
pub(crate) enum Node {
    Leaf(usize),
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
}

impl Node {
    /// The node's value; `seen` caches leaves shared between policies (0 unknown, 1
    /// false, 2 true).
    pub fn value(&self, leaves: &[Leaf], g: &Classes, seen: &mut [u8]) -> bool {
        match self {
            Node::Leaf(i) => match seen.get(*i).copied() {
                Some(1) => false,
                Some(2) => true,
                _ => {
                    let v = leaves.get(*i).is_some_and(|l| l.value(g));
                    if let Some(s) = seen.get_mut(*i) {
                        *s = 1 + u8::from(v);
                    }
                    v
                }
            },
            Node::All(parts) => parts.iter().all(|p| p.value(leaves, g, seen)),
            Node::Any(parts) => parts.iter().any(|p| p.value(leaves, g, seen)),
            Node::Not(inner) => !inner.value(leaves, g, seen),
        }
    }
}

pub(crate) struct Compiler<'a> {
    pub domain: &'a Domain,
    pub engine: &'a Engine,
    pub leaves: Vec<Leaf>,
    known: HashMap<String, usize>,
}

impl<'a> Compiler<'a> {
    pub fn new(domain: &'a Domain, engine: &'a Engine) -> Self {
        Compiler {
            domain,
            engine,
            leaves: Vec::new(),
            known: HashMap::new(),
        }
    }

    /// The policy as a tree of leaves.
    pub fn policy(&mut self, policy: &Policy, est: &Value) -> Result<Node, String> {
        let reads = Reads::of_policy(est)?;
        if reads.cells() <= LEAF_CELLS {
            let set = PolicySet::from_policies([policy.clone()]).map_err(|e| e.to_string())?;
            return self.leaf(format!("policy {est}"), &set, &reads);
        }
        let mut head = est.clone();
        head["conditions"] = json!([]);
        head["effect"] = json!("permit");
        let mut parts = vec![self.whole(head)?];
        for c in est["conditions"].as_array().into_iter().flatten() {
            let body = self.expr(&c["body"])?;
            parts.push(match c["kind"].as_str() {
                Some("unless") => Node::Not(Box::new(body)),
                _ => body,
            });
        }
        Ok(Node::All(parts))
    }

    /// A policy written as JSON, tabulated whole.
    fn whole(&mut self, est: Value) -> Result<Node, String> {
        let reads = Reads::of_policy(&est)?;
        if reads.cells() > LEAF_CELLS {
            return Err(format!(
                "has a scope of {} combinations, too many to tabulate",
                reads.cells()
            ));
        }
        let key = format!("policy {est}");
        let policy =
            Policy::from_json(Some(PolicyId::new("leaf")), est).map_err(|e| e.to_string())?;
        let set = PolicySet::from_policies([policy]).map_err(|e| e.to_string())?;
        self.leaf(key, &set, &reads)
    }

    /// A condition: one leaf if small enough, else split at its top connective.
    fn expr(&mut self, e: &Value) -> Result<Node, String> {
        let reads = Reads::of_expr(e)?;
        if reads.cells() <= LEAF_CELLS {
            let est = json!({
                "effect": "permit",
                "principal": {"op": "All"},
                "action": {"op": "All"},
                "resource": {"op": "All"},
                "conditions": [{"kind": "when", "body": e}],
            });
            return self.whole(est);
        }
        let split = e
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next());
        match split {
            Some((op, body)) if op == "&&" => {
                let parts = vec![self.expr(&body["left"])?, self.expr(&body["right"])?];
                return Ok(flatten_all(parts));
            }
            Some((op, body)) if op == "||" => {
                let parts = vec![self.expr(&body["left"])?, self.expr(&body["right"])?];
                return Ok(flatten_any(parts));
            }
            Some((op, body)) if op == "!" => {
                return Ok(Node::Not(Box::new(self.expr(&body["arg"])?)));
            }
            _ => {}
        }
        Err(format!(
            "has a condition of {} combinations that is not a conjunction, disjunction or negation, too many to tabulate",
            reads.cells()
        ))
    }

    fn leaf(&mut self, key: String, set: &PolicySet, reads: &Reads) -> Result<Node, String> {
        if let Some(&i) = self.known.get(&key) {
            return Ok(Node::Leaf(i));
        }
        let leaf = Leaf::fill(set, reads, self.domain, self.engine)?;
        self.leaves.push(leaf);
        let i = self.leaves.len() - 1;
        self.known.insert(key, i);
        Ok(Node::Leaf(i))
    }
}

fn flatten_all(parts: Vec<Node>) -> Node {
    Node::All(
        parts
            .into_iter()
            .flat_map(|p| match p {
                Node::All(inner) => inner,
                other => vec![other],
            })
            .collect(),
    )
}

fn flatten_any(parts: Vec<Node>) -> Node {
    Node::Any(
        parts
            .into_iter()
            .flat_map(|p| match p {
                Node::Any(inner) => inner,
                other => vec![other],
            })
            .collect(),
    )
}
