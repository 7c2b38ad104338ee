//! The decision table: a stack's policies compiled at load into tables over the finite
//! classes of everything they read, so that a decision is a few array lookups instead of a
//! run of Cedar's interpreter. Each table is filled by asking Cedar once per cell, which
//! is the proof, redone on every load, that the table answers as Cedar does; Cedar's own
//! combination (any satisfied forbid denies, else any satisfied permit allows, and the
//! satisfied policies of the winning effect are the reasons) is applied to the result. A
//! stack the compiler cannot tabulate exactly is refused with the reason, and decided by
//! Cedar.

mod compile;
mod dims;
mod domain;
mod leaf;
mod scan;

use crate::decision::Effect;
use crate::engine::{Engine, Facts};
use cedar_policy::PolicySet;
use compile::{Compiler, Node};
use domain::Domain;
use leaf::Leaf;
use scan::Reads;
use std::time::{Duration, Instant};

/// What compiling a stack's table did: its size and how long the load spent on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Policies compiled (the layered set, including the stack's own rules).
    pub policies: usize,
    /// Distinct tabulated expressions.
    pub leaves: usize,
    /// Cells over all leaves: the Cedar evaluations the load ran to fill them.
    pub cells: usize,
    /// Each read dimension and its number of classes, e.g. `agency_kind: 9`.
    pub dimensions: Vec<(String, usize)>,
    /// Time spent compiling and filling at load.
    pub took: Duration,
}

#[derive(Debug)]
struct Compiled {
    id: String,
    forbid: bool,
    node: Node,
}

/// A compiled stack.
pub(crate) struct Table {
    domain: Domain,
    leaves: Vec<Leaf>,
    /// In id order, so the reasons come out sorted as Cedar's path sorts them.
    rules: Vec<Compiled>,
    info: TableInfo,
}

impl std::fmt::Debug for Table {
    // Thousands of cells say nothing in a debug print; the summary does.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Table").field(&self.info).finish()
    }
}

impl Table {
    /// Compiles and fills the table for `policies`, or says which policy prevents it.
    pub fn compile(policies: &PolicySet, engine: &Engine) -> Result<Table, String> {
        let start = Instant::now();
        let mut list = Vec::new();
        let mut reads = Reads::default();
        for policy in policies.policies() {
            let id = policy.id().to_string();
            let est = policy
                .to_json()
                .map_err(|e| format!("policy {id} has no JSON form: {e}"))?;
            let r = Reads::of_policy(&est).map_err(|why| format!("policy {id} {why}"))?;
            reads.merge(&r);
            list.push((id, policy, est));
        }
        list.sort_by(|a, b| a.0.cmp(&b.0));
        let domain = Domain::new(&reads);
        let mut compiler = Compiler::new(&domain, engine);
        let mut rules = Vec::with_capacity(list.len());
        for (id, policy, est) in list {
            let node = compiler
                .policy(policy, &est)
                .map_err(|why| format!("policy {id} {why}"))?;
            let forbid = policy.effect() == cedar_policy::Effect::Forbid;
            rules.push(Compiled { id, forbid, node });
        }
        let leaves = compiler.leaves;
        let info = TableInfo {
            policies: rules.len(),
            leaves: leaves.len(),
            cells: leaves.iter().map(Leaf::cells).sum(),
            dimensions: domain
                .read()
                .iter()
                .map(|d| (d.name().to_owned(), domain.count(*d)))
                .collect(),
            took: start.elapsed(),
        };
        Ok(Table {
            domain,
            leaves,
            rules,
            info,
        })
    }

    pub fn info(&self) -> &TableInfo {
        &self.info
    }

    /// The effect and the policies that decided it, in id order; no reasons on a deny
    /// means nothing permitted.
    pub fn decide(&self, facts: &Facts<'_>) -> (Effect, Vec<&str>) {
        let (effect, rules) = self.decide_rules(facts);
        (effect, rules.iter().map(|&i| self.rule_id(i)).collect())
    }

    /// As [`Table::decide`], naming the deciding policies by their place in the table
    /// (see [`Table::rule_id`]).
    pub fn decide_rules(&self, facts: &Facts<'_>) -> (Effect, Vec<usize>) {
        let g = self.domain.classes(facts);
        let mut seen = vec![0u8; self.leaves.len()];
        let mut forbids = Vec::new();
        let mut permits = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.node.value(&self.leaves, &g, &mut seen) {
                if rule.forbid {
                    forbids.push(i);
                } else if forbids.is_empty() {
                    permits.push(i);
                }
            }
        }
        if forbids.is_empty() && !permits.is_empty() {
            (Effect::Allow, permits)
        } else {
            (Effect::Deny, forbids)
        }
    }

    /// The id of the policy at `i` in the table; `i` comes from [`Table::decide_rules`],
    /// so it is always in range (an empty id otherwise).
    pub fn rule_id(&self, i: usize) -> &str {
        self.rules.get(i).map_or("", |r| r.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn compile(text: &str) -> Result<Table, String> {
        let set = PolicySet::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        let engine = Engine::new().unwrap_or_else(|e| panic!("{e}"));
        Table::compile(&set, &engine)
    }

    #[test]
    fn a_cell_where_cedar_fails_refuses_the_table() {
        // Not a boolean when a case is given: Cedar reports an error for those requests,
        // which a table of yes and no cannot hold.
        let why = compile(
            r#"permit (principal, action, resource) when { if context.has_case then 1 else true };"#,
        )
        .err()
        .unwrap_or_else(|| panic!("a table was compiled"));
        assert!(why.contains("fails to evaluate"), "{why}");
    }

    #[test]
    fn a_forbid_overrides_a_permit_and_both_are_reasons_only_when_they_win() {
        let table = compile(
            r#"permit (principal, action, resource) when { context.has_case };
               forbid (principal, action, resource) when { context.purpose == "x" };"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let facts = |purpose, has_case| Facts {
            purpose,
            has_case,
            ..crate::bench::SAMPLE
        };
        assert_eq!(
            table.decide(&facts("y", true)),
            (Effect::Allow, vec!["policy0"])
        );
        assert_eq!(
            table.decide(&facts("x", true)),
            (Effect::Deny, vec!["policy1"])
        );
        assert_eq!(table.decide(&facts("y", false)), (Effect::Deny, vec![]));
    }
}
