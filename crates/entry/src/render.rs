//! A decision inside an entry, rendered once per outcome. Most of a decision entry's bytes
//! are the decision's rules, citations and explanation, the same for every request the
//! same policies decide; escaping them afresh for every entry was a measured share of the
//! gateway's time per request. A rendering is reused only for a decision equal to the
//! one it was made from in every field but the screening (which is rendered per request),
//! and the bytes are exactly those `serde_json` writes for the decision (tested).
use std::cell::RefCell;

use cordon_policy::{Decision, Screening};

/// Renderings kept per thread: a stack has a handful of outcomes that recur.
const KEPT: usize = 32;

struct Rendered {
    /// The decision rendered, with a default screening and no problems.
    source: Decision,
    /// Its JSON up to the screening's value, and from after it to the end.
    before_screen: String,
    after_screen: String,
}

thread_local! {
    static RENDERED: RefCell<Vec<Rendered>> = const { RefCell::new(Vec::new()) };
}

/// Appends `d` as `serde_json` writes it. Decisions with problems (rare: unknown codes or
/// agencies) are written by `serde_json` directly.
pub(crate) fn write_decision(d: &Decision, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    if !d.problems.is_empty() {
        return serde_json::to_writer(out, d);
    }
    RENDERED.with(|cache| {
        let mut cache = cache.borrow_mut();
        let found = cache.iter().position(|r| same_but_screening(&r.source, d));
        let at = match found {
            Some(at) => at,
            None => match Rendered::of(d)? {
                Some(r) => {
                    if cache.len() == KEPT {
                        cache.remove(0);
                    }
                    cache.push(r);
                    cache.len() - 1
                }
                None => return serde_json::to_writer(&mut *out, d),
            },
        };
        let r = &cache[at];
        out.extend_from_slice(r.before_screen.as_bytes());
        serde_json::to_writer(&mut *out, &d.screen)?;
        out.extend_from_slice(r.after_screen.as_bytes());
        Ok(())
    })
}

impl Rendered {
    /// `None` if the screening's place cannot be found (it always can while `screen` is a
    /// field of the decision; the test below says so).
    fn of(d: &Decision) -> Result<Option<Rendered>, serde_json::Error> {
        let source = Decision {
            screen: Screening::default(),
            problems: Vec::new(),
            ..d.clone()
        };
        let text = serde_json::to_string(&source)?;
        // Inside a JSON string every quote is escaped, so this text can only be the
        // decision's own `screen` key with the default screening as its value.
        let key = ",\"screen\":";
        let needle = format!("{key}{}", serde_json::to_string(&source.screen)?);
        let Some(at) = text.find(&needle) else {
            return Ok(None);
        };
        if text.rfind(&needle) != Some(at) {
            return Ok(None);
        }
        Ok(Some(Rendered {
            before_screen: text[..at + key.len()].to_string(),
            after_screen: text[at + needle.len()..].to_string(),
            source,
        }))
    }
}

/// Whether `a` and `b` render alike apart from their screening. Destructured, so that a
/// field added to `Decision` must be placed here before this compiles.
fn same_but_screening(a: &Decision, b: &Decision) -> bool {
    let Decision {
        decision,
        policies,
        packs,
        rules,
        citations,
        obligations,
        screen: _,
        explanation,
        problems,
    } = a;
    *decision == b.decision
        && *policies == b.policies
        && *packs == b.packs
        && *rules == b.rules
        && *citations == b.citations
        && *obligations == b.obligations
        && *explanation == b.explanation
        && *problems == b.problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_policy::{Effect, Obligations};

    fn decision() -> Decision {
        Decision {
            decision: Effect::Deny,
            policies: vec!["pack/rule".into()],
            packs: vec!["pack".into()],
            rules: Vec::new(),
            citations: vec!["5 ILCS 805/15".into()],
            obligations: Obligations::default(),
            screen: Screening::default(),
            explanation: vec!["No \"rule\" permits it.".into()],
            problems: Vec::new(),
        }
    }

    fn kept() -> usize {
        RENDERED.with(|c| c.borrow().len())
    }

    #[test]
    fn a_decision_is_rendered_once_and_its_rendering_is_used_after() {
        let d = decision();
        let mut first = Vec::new();
        write_decision(&d, &mut first).unwrap();
        assert_eq!(kept(), 1);
        // Poison the kept rendering: a second write must copy it, not render afresh.
        RENDERED.with(|c| {
            c.borrow_mut()[0]
                .after_screen
                .insert_str(0, ",\"copied\":1")
        });
        let mut second = Vec::new();
        write_decision(&d, &mut second).unwrap();
        assert_eq!(kept(), 1);
        assert!(String::from_utf8_lossy(&second).contains("\"copied\":1"));
        assert_eq!(first, serde_json::to_vec(&d).unwrap());
    }

    #[test]
    fn renderings_are_bounded() {
        for i in 0..KEPT + 5 {
            let mut d = decision();
            d.policies.push(format!("pack/rule-{i}"));
            write_decision(&d, &mut Vec::new()).unwrap();
        }
        assert_eq!(kept(), KEPT);
    }
}
