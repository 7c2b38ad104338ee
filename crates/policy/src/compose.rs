//! Layering packs into one Cedar policy set with exactly the stack's meaning: a pack that
//! governs a request must permit it and none may forbid it, and at least one pack must
//! govern it. Deciding and proving use this same set, so what the SMT proof checks is
//! what the gateway enforces.
//!
//! Each pack's policies are renamed `<pack>/<id>` and given one more `when` clause, the
//! pack's "governs" condition; each pack gets a forbid `<pack>/no-rule-permits` that fires
//! where it governs and none of its rules (permit or forbid) would; the stack gets a forbid
//! `stack/no-pack-governs` that fires where no pack governs.

use crate::error::PolicyError;
use crate::pack::{PolicyMeta, Scope};
use crate::vocab::Basis;
use cedar_policy::{Policy, PolicyId, PolicySet};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;

/// The id of each pack's "nothing here permits it" forbid (reserved: no pack may use it).
pub const NO_RULE_PERMITS: &str = "no-rule-permits";
/// The pseudo-pack name of the stack's own rule.
pub const STACK: &str = "stack";
/// The id of the stack's "no pack governs it" forbid.
pub const NO_PACK_GOVERNS: &str = "no-pack-governs";

/// One pack as the composition sees it.
pub(crate) struct Member<'a> {
    pub pack: &'a str,
    pub title: &'a str,
    pub policies: &'a PolicySet,
    pub meta: &'a HashMap<String, PolicyMeta>,
    /// Where the pack governs, as a Cedar JSON expression; `None` for everywhere.
    pub governs: Option<Value>,
}

/// The composed set and the meta of every policy in it, by qualified id.
pub(crate) struct Composed {
    pub policies: PolicySet,
    pub meta: HashMap<String, PolicyMeta>,
}

/// The qualified id of a pack's rule.
pub fn qualified(pack: &str, id: &str) -> String {
    format!("{pack}/{id}")
}

pub(crate) fn compose(members: &[Member<'_>]) -> Result<Composed, PolicyError> {
    let mut policies = Vec::new();
    let mut meta = HashMap::new();
    for m in members {
        let mut permits = Vec::new();
        let mut forbids = Vec::new();
        for policy in m.policies.policies() {
            let local = policy.id().to_string();
            let mut est = to_json(policy)?;
            match policy.effect() {
                cedar_policy::Effect::Permit => permits.push(condition(&est, &local)?),
                cedar_policy::Effect::Forbid => forbids.push(condition(&est, &local)?),
            }
            if let Some(g) = &m.governs {
                push_condition(&mut est, "when", g.clone());
            }
            let id = qualified(m.pack, &local);
            policies.push(from_json(&id, est)?);
            if let Some(pm) = m.meta.get(&local) {
                meta.insert(id, pm.clone());
            }
        }
        let id = qualified(m.pack, NO_RULE_PERMITS);
        policies.push(from_json(
            &id,
            no_rule_permits(m.governs.clone(), permits, forbids),
        )?);
        meta.insert(id, no_rule_permits_meta(m));
    }
    let governs: Vec<Value> = members
        .iter()
        .map(|m| m.governs.clone().unwrap_or(json!({"Value": true})))
        .collect();
    let id = qualified(STACK, NO_PACK_GOVERNS);
    let mut est = forbid_all();
    push_condition(&mut est, "unless", any(governs));
    policies.push(from_json(&id, est)?);
    meta.insert(id, no_pack_governs_meta());
    let policies = PolicySet::from_policies(policies).map_err(|e| PolicyError::PolicySet {
        message: crate::diagnostics::render(&e),
    })?;
    Ok(Composed { policies, meta })
}

/// The Cedar JSON expression for what a manifest's `governs` covers.
pub(crate) fn governs_expr(dataset_kinds: &Scope, actions: &Scope) -> Option<Value> {
    let mut parts = Vec::new();
    if let Scope::Only(kinds) = dataset_kinds {
        let set: Vec<Value> = kinds.iter().map(|k| json!({"Value": k})).collect();
        parts.push(json!({"contains": {
            "left": {"Set": set},
            "right": {".": {"left": {"Var": "context"}, "attr": "dataset_kind"}}
        }}));
    }
    if let Scope::Only(words) = actions {
        let set: Vec<Value> = words.iter().map(|a| action_value(a)).collect();
        parts.push(json!({"in": {"left": {"Var": "action"}, "right": {"Set": set}}}));
    }
    (!parts.is_empty()).then(|| all(parts))
}

fn action_value(id: &str) -> Value {
    json!({"Value": {"__entity": {"type": "Action", "id": id}}})
}

fn to_json(policy: &Policy) -> Result<Value, PolicyError> {
    policy.to_json().map_err(|e| PolicyError::PolicySet {
        message: format!("policy {} cannot be layered: {e}", policy.id()),
    })
}

fn from_json(id: &str, est: Value) -> Result<Policy, PolicyError> {
    Policy::from_json(Some(PolicyId::new(id)), est).map_err(|e| PolicyError::PolicySet {
        message: format!("layered policy {id} does not assemble: {e}"),
    })
}

fn push_condition(est: &mut Value, kind: &str, body: Value) {
    if let Some(conditions) = est.get_mut("conditions").and_then(Value::as_array_mut) {
        conditions.push(json!({"kind": kind, "body": body}));
    } else if let Some(map) = est.as_object_mut() {
        map.insert("conditions".into(), json!([{"kind": kind, "body": body}]));
    }
}

/// The whole condition of a permit as one expression: its action scope, every `when`,
/// the negation of every `unless`. Layering needs unscoped principals and resources.
fn condition(est: &Value, id: &str) -> Result<Value, PolicyError> {
    let unsupported = |what: &str| {
        PolicyError::PolicySet {
        message: format!(
            "policy {id} scopes its {what}; rules in a pack leave principal and resource unscoped (write conditions on context instead)"
        ),
    }
    };
    for scope in ["principal", "resource"] {
        if est[scope]["op"] != "All" {
            return Err(unsupported(scope));
        }
    }
    let mut parts = Vec::new();
    let action = &est["action"];
    match action["op"].as_str() {
        Some("All") => {}
        Some("==") => parts.push(json!({"==": {
            "left": {"Var": "action"}, "right": {"Value": {"__entity": action["entity"].clone()}}
        }})),
        Some("in") => {
            let right = match action.get("entities").and_then(Value::as_array) {
                Some(list) => {
                    json!({"Set": list.iter().map(|e| json!({"Value": {"__entity": e}})).collect::<Vec<_>>()})
                }
                None => json!({"Value": {"__entity": action["entity"].clone()}}),
            };
            parts.push(json!({"in": {"left": {"Var": "action"}, "right": right}}));
        }
        _ => return Err(unsupported("action in a way layering does not read")),
    }
    for c in est["conditions"].as_array().into_iter().flatten() {
        let body = c["body"].clone();
        match c["kind"].as_str() {
            Some("when") => parts.push(body),
            Some("unless") => parts.push(json!({"!": {"arg": body}})),
            _ => return Err(unsupported("condition of an unknown kind")),
        }
    }
    Ok(all(parts))
}

fn all(parts: Vec<Value>) -> Value {
    fold(parts, "&&", true)
}

fn any(parts: Vec<Value>) -> Value {
    fold(parts, "||", false)
}

fn fold(parts: Vec<Value>, op: &str, empty: bool) -> Value {
    let mut iter = parts.into_iter();
    let Some(first) = iter.next() else {
        return json!({"Value": empty});
    };
    iter.fold(
        first,
        |left, right| json!({op: {"left": left, "right": right}}),
    )
}

fn forbid_all() -> Value {
    json!({
        "effect": "forbid",
        "principal": {"op": "All"},
        "action": {"op": "All"},
        "resource": {"op": "All"},
        "conditions": []
    })
}

/// Fires where the pack governs, none of its permits would and none of its own forbids
/// does (a forbid already says why, so the denial names the law, not the default).
fn no_rule_permits(governs: Option<Value>, permits: Vec<Value>, forbids: Vec<Value>) -> Value {
    let mut est = forbid_all();
    if let Some(g) = governs {
        push_condition(&mut est, "when", g);
    }
    push_condition(
        &mut est,
        "unless",
        any(permits.into_iter().chain(forbids).collect()),
    );
    est
}

fn no_rule_permits_meta(m: &Member<'_>) -> PolicyMeta {
    PolicyMeta {
        id: NO_RULE_PERMITS.into(),
        pack: m.pack.into(),
        citation: format!("{}: no rule of this pack permits this request", m.title),
        basis: Basis::AgencyChoice,
        source: format!("the pack's own rules (policies/{})", m.pack),
        needs_counsel: None,
        explain: format!(
            "No rule of the {} pack permits this combination of agency, action, purpose and authority, so it is denied by default.",
            m.title
        ),
        redact: Vec::new(),
        file: PathBuf::from(m.pack),
    }
}

fn no_pack_governs_meta() -> PolicyMeta {
    PolicyMeta {
        id: NO_PACK_GOVERNS.into(),
        pack: STACK.into(),
        citation: "Cordon: a request that no pack of the deployment governs is denied".into(),
        basis: Basis::AgencyChoice,
        source: "the deployment's stack of packs".into(),
        needs_counsel: None,
        explain:
            "No pack of this deployment governs this dataset and action, so nothing may allow it."
                .into(),
        redact: Vec::new(),
        file: PathBuf::from(STACK),
    }
}
