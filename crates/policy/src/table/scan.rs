//! What a policy reads, from its JSON form: for each dimension, the literals it is
//! compared with. A text value that is only ever compared with literals (`==`, `!=`,
//! membership in a literal set) is told apart by which literal it equals, or none, so a
//! finite table covers every value it can take. Any other use of a request's text (a
//! `like`, a comparison of two attributes, the whole context) is refused, naming the
//! policy, and the stack is decided by Cedar instead: never a table that could be wrong.

use super::dims::{Dim, Kind};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// More flag words than this in one set makes the table too wide (2^n classes).
const MAX_WORDS: usize = 10;

/// The literals each read dimension is compared with (empty for yes/no dimensions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reads {
    pub lits: BTreeMap<Dim, BTreeSet<String>>,
}

impl Reads {
    /// What a whole policy reads: its scope and every condition.
    pub fn of_policy(est: &Value) -> Result<Reads, String> {
        let mut reads = Reads::default();
        for (scope, dim) in [
            ("principal", Dim::Principal),
            ("action", Dim::Action),
            ("resource", Dim::Dataset),
        ] {
            reads.scope(&est[scope], dim)?;
        }
        for c in est["conditions"].as_array().into_iter().flatten() {
            match c["kind"].as_str() {
                Some("when" | "unless") => reads.expr(&c["body"])?,
                _ => return Err("has a condition that is neither `when` nor `unless`".into()),
            }
        }
        Ok(reads)
    }

    /// What one expression reads.
    pub fn of_expr(e: &Value) -> Result<Reads, String> {
        let mut reads = Reads::default();
        reads.expr(e)?;
        Ok(reads)
    }

    pub fn merge(&mut self, other: &Reads) {
        for (dim, lits) in &other.lits {
            self.lits
                .entry(*dim)
                .or_default()
                .extend(lits.iter().cloned());
        }
    }

    /// How many classes a read dimension splits into.
    pub fn classes(&self, dim: Dim) -> usize {
        let n = self.lits.get(&dim).map_or(0, BTreeSet::len);
        match dim.kind() {
            Kind::Text => n + 1,
            Kind::YesNo => 2,
            Kind::Words => 1 << n.min(MAX_WORDS),
        }
    }

    /// The number of cells a table over these reads has (saturating).
    pub fn cells(&self) -> u64 {
        self.lits.keys().fold(1u64, |acc, d| {
            acc.saturating_mul(u64::try_from(self.classes(*d)).unwrap_or(u64::MAX))
        })
    }

    fn mark(&mut self, dim: Dim) {
        self.lits.entry(dim).or_default();
    }

    fn record(&mut self, dim: Dim, lit: &str) -> Result<(), String> {
        let set = self.lits.entry(dim).or_default();
        set.insert(lit.to_owned());
        if dim.kind() == Kind::Words && set.len() > MAX_WORDS {
            return Err(format!(
                "tests more than {MAX_WORDS} different screening flags"
            ));
        }
        Ok(())
    }

    fn scope(&mut self, scope: &Value, dim: Dim) -> Result<(), String> {
        match scope["op"].as_str() {
            Some("All") => Ok(()),
            Some("==" | "in") => {
                let list = match scope.get("entities").and_then(Value::as_array) {
                    Some(list) => list.iter().collect(),
                    None => vec![&scope["entity"]],
                };
                for entity in list {
                    let id = entity_id(entity).ok_or("scopes on something not an entity")?;
                    self.record(dim, id)?;
                }
                Ok(())
            }
            _ => Err(format!(
                "scopes {dim:?} in a way the decision table does not read"
            )),
        }
    }

    fn expr(&mut self, e: &Value) -> Result<(), String> {
        let (op, body) =
            single(e).ok_or_else(|| format!("has an expression of no known shape: {e}"))?;
        match op {
            "Value" => Ok(()),
            "Var" => Err(format!(
                "reads `{}` other than comparing it with a literal",
                body.as_str().unwrap_or("?")
            )),
            "." => self.attr(body),
            "has" if is_context(&body["left"]) => Ok(()),
            "==" | "!=" => self.compare(body),
            "contains" => self.contains(body),
            "containsAll" | "containsAny" => self.contains_words(body),
            "in" => self.membership(body),
            "&&" | "||" => {
                self.expr(&body["left"])?;
                self.expr(&body["right"])
            }
            "!" => self.expr(&body["arg"]),
            "if-then-else" => ["if", "then", "else"]
                .iter()
                .try_for_each(|k| self.expr(&body[*k])),
            "Set" => body
                .as_array()
                .into_iter()
                .flatten()
                .try_for_each(|v| self.expr(v)),
            _ if mentions_request(body) => Err(format!(
                "applies `{op}` to a request value: only comparisons with literals can be tabulated"
            )),
            _ => Ok(()),
        }
    }

    /// `context.<attr>` on its own: only a yes/no value may be used freely.
    fn attr(&mut self, body: &Value) -> Result<(), String> {
        if !is_context(&body["left"]) {
            return Err("reads an attribute of something other than the context".into());
        }
        let name = body["attr"].as_str().unwrap_or("?");
        let dim = Dim::of_context(name)
            .ok_or_else(|| format!("reads context.{name}, which requests do not carry"))?;
        if dim.kind() == Kind::YesNo {
            self.mark(dim);
            Ok(())
        } else {
            Err(format!(
                "reads context.{name} other than comparing it with literals"
            ))
        }
    }

    fn compare(&mut self, body: &Value) -> Result<(), String> {
        let (left, right) = (&body["left"], &body["right"]);
        for (a, b) in [(left, right), (right, left)] {
            if let Some(r) = reference(a) {
                if r.dim.kind() == Kind::Text {
                    if let Some(lit) = literal(b, r.entity) {
                        return self.record(r.dim, lit);
                    }
                }
            }
        }
        self.expr(left)?;
        self.expr(right)
    }

    /// `context.flags.contains("w")`, or `["a", "b"].contains(context.x)`.
    fn contains(&mut self, body: &Value) -> Result<(), String> {
        let (left, right) = (&body["left"], &body["right"]);
        if let (Some(r), Some(word)) = (reference(left), literal(right, false)) {
            if r.dim == Dim::Flags {
                return self.record(Dim::Flags, word);
            }
        }
        if let (Some(set), Some(r)) = (literal_set(left, false), reference(right)) {
            if r.dim.kind() == Kind::Text && !r.entity {
                return set.into_iter().try_for_each(|lit| self.record(r.dim, lit));
            }
        }
        self.expr(left)?;
        self.expr(right)
    }

    /// `context.flags.containsAny([...])` and `containsAll`.
    fn contains_words(&mut self, body: &Value) -> Result<(), String> {
        let (left, right) = (&body["left"], &body["right"]);
        if let (Some(r), Some(set)) = (reference(left), literal_set(right, false)) {
            if r.dim == Dim::Flags {
                return set.into_iter().try_for_each(|w| self.record(Dim::Flags, w));
            }
        }
        self.expr(left)?;
        self.expr(right)
    }

    /// `principal in E` or `action in [E, F]`: with no entity data loaded, plain equality.
    fn membership(&mut self, body: &Value) -> Result<(), String> {
        let (left, right) = (&body["left"], &body["right"]);
        if let Some(r) = reference(left).filter(|r| r.entity) {
            let ids = literal(right, true)
                .map(|id| vec![id])
                .or_else(|| literal_set(right, true));
            if let Some(ids) = ids {
                return ids.into_iter().try_for_each(|id| self.record(r.dim, id));
            }
        }
        self.expr(left)?;
        self.expr(right)
    }
}

/// A request value an expression names directly.
struct Reference {
    dim: Dim,
    /// `principal`, `action` or `resource`: compared with entity literals.
    entity: bool,
}

fn reference(e: &Value) -> Option<Reference> {
    let (op, body) = single(e)?;
    match op {
        "Var" => Dim::of_var(body.as_str()?).map(|dim| Reference { dim, entity: true }),
        "." if is_context(&body["left"]) => {
            Dim::of_context(body["attr"].as_str()?).map(|dim| Reference { dim, entity: false })
        }
        _ => None,
    }
}

/// The text of a string literal, or the id of an entity literal.
fn literal(e: &Value, entity: bool) -> Option<&str> {
    let value = e.get("Value")?;
    if entity {
        entity_id(value)
    } else {
        value.as_str()
    }
}

/// The members of a literal set, written as a set expression or a set value.
fn literal_set(e: &Value, entity: bool) -> Option<Vec<&str>> {
    if let Some(items) = e.get("Set").and_then(Value::as_array) {
        return items.iter().map(|v| literal(v, entity)).collect();
    }
    let items = e.get("Value")?.as_array()?;
    items
        .iter()
        .map(|v| if entity { entity_id(v) } else { v.as_str() })
        .collect()
}

fn entity_id(v: &Value) -> Option<&str> {
    let e = v.get("__entity").unwrap_or(v);
    e.get("id")?.as_str()
}

fn single(e: &Value) -> Option<(&str, &Value)> {
    let map: &Map<String, Value> = e.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.iter().next().map(|(k, v)| (k.as_str(), v))
}

fn is_context(e: &Value) -> bool {
    e.get("Var").and_then(Value::as_str) == Some("context")
}

/// Whether a subtree names any request variable.
fn mentions_request(e: &Value) -> bool {
    match e {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| (k == "Var" || k == "Slot" || k == "Unknown") || mentions_request(v)),
        Value::Array(items) => items.iter().any(mentions_request),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_policy::Policy;
    use std::str::FromStr;

    fn scan(text: &str) -> Result<Reads, String> {
        let policy = Policy::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        Reads::of_policy(&policy.to_json().unwrap_or_else(|e| panic!("{e}")))
    }

    fn lits(r: &Reads, dim: Dim) -> Vec<&str> {
        r.lits[&dim].iter().map(String::as_str).collect()
    }

    #[test]
    fn literals_compared_with_text_become_classes() {
        let r = scan(
            r#"permit (principal, action in [Action::"read", Action::"search"], resource)
               when { context.path == "x" && ["a", "b"].contains(context.purpose) &&
                      context.flags.contains("w") && context.has_case &&
                      principal != Principal::"p" && "k" == context.agency_kind };"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lits(&r, Dim::Action), ["read", "search"]);
        assert_eq!(lits(&r, Dim::Path), ["x"]);
        assert_eq!(lits(&r, Dim::Purpose), ["a", "b"]);
        assert_eq!(lits(&r, Dim::Flags), ["w"]);
        assert_eq!(lits(&r, Dim::Principal), ["p"]);
        assert_eq!(lits(&r, Dim::AgencyKind), ["k"]);
        assert!(r.lits[&Dim::HasCase].is_empty());
        assert_eq!(r.cells(), 3 * 2 * 3 * 2 * 2 * 2 * 2);
    }

    #[test]
    fn open_uses_of_request_text_are_refused() {
        for text in [
            r#"forbid (principal, action, resource) when { context.path like "arrests/*" };"#,
            r#"forbid (principal, action, resource) when { context.path == context.authority_record };"#,
            r#"forbid (principal, action, resource) when { context == {} };"#,
            r#"forbid (principal, action, resource) when { context.flags.isEmpty() };"#,
            r#"forbid (principal, action, resource) when { context.flags == ["a"] };"#,
            r#"forbid (principal, action, resource) when { principal is Principal };"#,
            r#"forbid (principal, action, resource) when { context.agency_kind };"#,
        ] {
            assert!(scan(text).is_err(), "not refused: {text}");
        }
    }
}
