//! The body of a 403: what was decided, each rule that denied with what it stands on (state
//! law, city ordinance, the agency's own choice, or a question for counsel) and its
//! citation, why a typed authority opened nothing, and what the requester can do. An
//! officer and a resident reading it can tell whether a refusal is the law or policy.
use cordon_policy::stack::{screened_field, ScreenedField};
use cordon_policy::{AccessRequest, Authority, Basis, Decision, Rule};
use cordon_register::Unmatched;
use serde_json::{json, Value};

/// A basis in words, as the public page and a 403 show it.
pub fn basis_words(basis: &Basis) -> &'static str {
    match basis {
        Basis::StateLaw => "state law",
        Basis::CityOrdinance => "city ordinance",
        Basis::AgencyChoice => "agency choice",
        Basis::Unrecognized(_) => "not stated",
    }
}

/// A rule's basis in words, with the open question when it needs counsel.
pub fn rule_basis(rule_basis: &Basis, needs_counsel: Option<&str>) -> String {
    match needs_counsel {
        Some(q) => format!("{} (needs counsel: {q})", basis_words(rule_basis)),
        None => basis_words(rule_basis).to_owned(),
    }
}

fn rule(r: &Rule) -> Value {
    let mut v = json!({
        "pack": r.pack,
        "id": r.id,
        "basis": r.basis,
        "basis_words": rule_basis(&r.basis, r.needs_counsel.as_deref()),
        "citation": r.citation,
        "source": r.source,
    });
    if let Some(q) = &r.needs_counsel {
        v["needs_counsel"] = json!(q);
    }
    v
}

/// What the refusal stands on, in words, each once: `["state law", "needs counsel"]`.
fn grounds(rules: &[Rule]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in rules {
        let words = basis_words(&r.basis);
        if !out.contains(&words) {
            out.push(words);
        }
        if r.needs_counsel.is_some() && !out.contains(&"needs counsel") {
            out.push("needs counsel");
        }
    }
    out
}

/// The header a requester wrote a screened field in.
fn header_of(field: ScreenedField) -> &'static str {
    match field {
        ScreenedField::Reason => "Cordon-Reason",
        ScreenedField::Case => "Cordon-Case",
        ScreenedField::AuthorityReference => "Cordon-Authority-Ref",
        ScreenedField::AuthorityRecord => "Cordon-Authority-Record",
    }
}

/// The screening, each flag with the header its words were written in: an officer whose
/// case number was refused is told so, not left rereading the reason.
fn screening(d: &Decision, request: &AccessRequest) -> Value {
    let mut v = json!(d.screen);
    if let Some(flags) = v.get_mut("flags").and_then(Value::as_array_mut) {
        for (flag, screened) in flags.iter_mut().zip(&d.screen.flags) {
            let field = screened_field(request, screened.start);
            flag["header"] = json!(header_of(field));
        }
    }
    v
}

/// The JSON body of a denial.
pub fn body(
    d: &Decision,
    request: &AccessRequest,
    unmatched: Option<&Unmatched>,
    receipt: u64,
    log: &str,
) -> Value {
    let what_to_do = match (d.problems.is_empty(), unmatched) {
        (false, _) => "fix the problems listed and send the request again",
        (true, Some(u)) => u.what_to_do(),
        (true, None) => "this access is not permitted for your agency and stated purpose; if you believe it is lawful, present legal process that records staff registered (Cordon-Authority-Ref) or contact your records officer, quoting the receipt",
    };
    let mut body = json!({
        "decision": "deny",
        "receipt": receipt,
        "log": log,
        "why": d.explanation,
        "grounds": grounds(&d.rules),
        "rules": d.rules.iter().map(rule).collect::<Vec<_>>(),
        "citations": d.citations,
        "policies": d.policies,
        "problems": d.problems,
        "screening": screening(d, request),
        "what_to_do": what_to_do,
    });
    if let Some(u) = unmatched {
        body["authority"] = json!({
            "honoured": false,
            "why": u.to_string(),
            "what_to_do": u.what_to_do(),
        });
    }
    body
}

/// Records in the decision (and so in its log entry) that the authority typed opened
/// nothing and why.
pub fn note_unmatched(d: &mut Decision, typed: &Authority, why: &Unmatched) {
    d.explanation.push(format!(
        "The authority presented ({}) matches no registration, so it was decided as no authority: {why}.",
        typed.kind.as_sent()
    ));
}
