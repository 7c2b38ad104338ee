//! Reading a `.cedar` file into policies whose ids come from `@id`, each with the
//! citation, basis, source, explanation and redactions its annotations declare.

use crate::error::PolicyError;
use crate::pack::{policy_id, PolicyMeta};
use crate::vocab::Basis;
use cedar_policy::{Policy, PolicySet};
use std::path::Path;
use std::str::FromStr;

/// Parses one file; every policy must carry `@id`, `@citation`, `@basis`, `@source` and
/// `@explain`.
pub(crate) fn read_file(path: &Path, text: &str) -> Result<Vec<(Policy, PolicyMeta)>, PolicyError> {
    let parsed = PolicySet::from_str(text).map_err(|e| PolicyError::PolicyParse {
        path: path.to_owned(),
        message: crate::diagnostics::render(&e),
    })?;
    if parsed.templates().next().is_some() {
        return Err(PolicyError::PolicyParse {
            path: path.to_owned(),
            message: "templates are not supported in packs; write each policy out".into(),
        });
    }
    // Cedar numbers policies in source order ("policy0", "policy1", ...); sort to report
    // problems by their position in the file.
    let mut in_order: Vec<&Policy> = parsed.policies().collect();
    in_order.sort_by_key(|p| source_index(p.id().as_ref()));
    in_order
        .into_iter()
        .enumerate()
        .map(|(index, policy)| annotated(path, index + 1, policy))
        .collect()
}

fn source_index(generated_id: &str) -> usize {
    generated_id
        .trim_start_matches("policy")
        .parse()
        .unwrap_or(usize::MAX)
}

fn annotated(
    path: &Path,
    index: usize,
    policy: &Policy,
) -> Result<(Policy, PolicyMeta), PolicyError> {
    let required = |key: &str| {
        policy
            .annotation(key)
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| PolicyError::PolicyAnnotation {
                path: path.to_owned(),
                index,
                problem: format!("has no @{key}(\"...\") annotation; every pack policy needs @id, @citation, @basis, @source and @explain"),
            })
    };
    let problem = |problem: String| PolicyError::PolicyAnnotation {
        path: path.to_owned(),
        index,
        problem,
    };
    let id = required("id")?;
    if id.contains('/') || id == crate::compose::NO_RULE_PERMITS {
        return Err(problem(format!(
            "has @id({id:?}): an id may not contain \"/\" (it separates a pack's name from a rule's in a stack) nor be {:?} (Cordon's own)",
            crate::compose::NO_RULE_PERMITS
        )));
    }
    let basis = Basis::parse(required("basis")?.trim());
    if !basis.is_recognized() {
        return Err(problem(format!(
            "has @basis({:?}): use one of {}",
            basis.as_sent(),
            Basis::WORDS.join(", ")
        )));
    }
    let meta = PolicyMeta {
        pack: String::new(),
        basis,
        source: required("source")?,
        needs_counsel: policy
            .annotation("needs_counsel")
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned),
        citation: required("citation")?,
        explain: required("explain")?,
        redact: policy
            .annotation("redact")
            .map(|fields| {
                fields
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        file: path.to_owned(),
        id: id.clone(),
    };
    Ok((policy.new_id(policy_id(&id)), meta))
}
