//! Explained decisions by table outcome. A table lookup names the deciding policies; the
//! decision built from them (packs, rules, citations, obligations, explanation) is the
//! same every time those policies decide, so it is built once per outcome and copied
//! after, instead of being looked up and formatted again on every request.
use std::collections::HashMap;
use std::sync::RwLock;

use crate::decision::{Decision, Effect};

/// Outcomes kept; past this, decisions are built but not stored, so memory stays bounded
/// whatever combinations of policies a stack can produce.
const MAX_OUTCOMES: usize = 4096;

/// An outcome: the effect and the deciding policies' places in the table.
type Outcome = (Effect, Vec<usize>);

#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    built: RwLock<HashMap<Outcome, Decision>>,
}

impl Outcomes {
    /// The decision for `effect` decided by `rules`, built by `build` the first time.
    pub fn get_or_build(
        &self,
        effect: Effect,
        rules: Vec<usize>,
        build: impl FnOnce(&[usize]) -> Decision,
    ) -> Decision {
        let key = (effect, rules);
        // A poisoned lock only means another thread panicked mid-insert; the map is
        // still a valid map, so it is used as it is.
        if let Some(d) = self
            .built
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return d.clone();
        }
        let decision = build(&key.1);
        let mut built = self.built.write().unwrap_or_else(|p| p.into_inner());
        if built.len() < MAX_OUTCOMES {
            built.insert(key, decision.clone());
        }
        decision
    }

    /// Outcomes built so far.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.built.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Obligations;
    use std::cell::Cell;

    fn decision(effect: Effect, what: &str) -> Decision {
        Decision {
            decision: effect,
            policies: vec![what.to_string()],
            packs: Vec::new(),
            rules: Vec::new(),
            citations: Vec::new(),
            obligations: Obligations::default(),
            screen: Default::default(),
            explanation: vec![format!("decided by {what}")],
            problems: Vec::new(),
        }
    }

    #[test]
    fn an_outcome_is_explained_once_and_each_outcome_keeps_its_own_explanation() {
        let outcomes = Outcomes::default();
        let builds = Cell::new(0);
        let get = |effect, rules: Vec<usize>| {
            outcomes.get_or_build(effect, rules, |r| {
                builds.set(builds.get() + 1);
                decision(effect, &format!("{r:?}"))
            })
        };
        let first = get(Effect::Allow, vec![1, 2]);
        assert_eq!(get(Effect::Allow, vec![1, 2]), first);
        assert_eq!(builds.get(), 1);
        // Another set of rules, or the same rules with the other effect, is another outcome.
        assert_eq!(get(Effect::Allow, vec![1]).policies, ["[1]"]);
        assert_eq!(get(Effect::Deny, vec![1, 2]).decision, Effect::Deny);
        assert_eq!(builds.get(), 3);
        assert_eq!(outcomes.len(), 3);
    }
}
