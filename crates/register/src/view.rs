//! The register as it stands: every request with its current facts, answer and outcomes,
//! rebuilt from the log's entries in order. Corrections replace what they correct in the
//! current view; the originals stay, and so does every correction, with its reason.

use crate::entry::{Recorder, RegisterEntry, Step};
use crate::model::{FederalRequest, Outcome};
use cordon_policy::ResponseDecision;
use serde::Serialize;
use std::collections::HashMap;

/// One request in the register.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    /// The log index of the entry that recorded it: its permanent reference.
    pub index: u64,
    pub recorded: String,
    pub by: Recorder,
    pub pack: String,
    /// Whether an immigration agency asked (or was asked for); `None` in version 1 entries.
    pub immigration_agency: Option<bool>,
    /// The facts as corrected (or as recorded, if never corrected).
    pub request: FederalRequest,
    pub response: ResponseDecision,
    /// The facts and answer as first recorded.
    pub original: FederalRequest,
    pub original_response: ResponseDecision,
    /// Log indexes of the corrections applied, oldest first.
    pub corrected_by: Vec<u64>,
    pub outcomes: Vec<OutcomeView>,
}

/// One outcome of a request.
#[derive(Debug, Clone, Serialize)]
pub struct OutcomeView {
    pub index: u64,
    pub outcome: Outcome,
    pub original: Outcome,
    pub corrected_by: Vec<u64>,
}

/// One correction, as logged.
#[derive(Debug, Clone, Serialize)]
pub struct CorrectionView {
    pub index: u64,
    pub of: u64,
    pub recorded: String,
    pub by: Recorder,
    pub reason: String,
}

impl RequestView {
    /// Whether the TRUST Act's §25 report counts it as a request from DHS: an immigration
    /// agency asked or was asked for. A version 1 entry, which did not record it, counts
    /// (and its row says so), so that the report never under-counts.
    pub fn from_dhs(&self) -> bool {
        self.immigration_agency.unwrap_or(true)
    }

    /// The newest outcome, as corrected.
    pub fn last_outcome(&self) -> Option<&Outcome> {
        self.outcomes.last().map(|o| &o.outcome)
    }
}

/// The whole register.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Register {
    pub requests: Vec<RequestView>,
    pub corrections: Vec<CorrectionView>,
    /// Entries that refer to something they cannot apply to; a log written through
    /// Cordon has none, and reports refuse a register that does.
    pub anomalies: Vec<String>,
}

/// Builds a [`Register`] from entries fed in log order.
#[derive(Debug, Default)]
pub struct RegisterBuilder {
    register: Register,
    /// Request entry index → position in `requests`.
    requests: HashMap<u64, usize>,
    /// Outcome entry index → (request position, outcome position).
    outcomes: HashMap<u64, (usize, usize)>,
}

impl RegisterBuilder {
    pub fn push(&mut self, index: u64, entry: RegisterEntry) {
        let RegisterEntry { time, by, step, .. } = entry;
        match step {
            Step::Request {
                pack,
                federal_request,
                response,
                immigration_agency,
            } => {
                self.requests.insert(index, self.register.requests.len());
                self.register.requests.push(RequestView {
                    index,
                    recorded: time,
                    by,
                    pack,
                    immigration_agency,
                    original: federal_request.clone(),
                    original_response: response.clone(),
                    request: federal_request,
                    response,
                    corrected_by: Vec::new(),
                    outcomes: Vec::new(),
                });
            }
            Step::Outcome { of, outcome } => match self.requests.get(&of) {
                Some(&r) => {
                    let outcomes = &mut self.register.requests[r].outcomes;
                    self.outcomes.insert(index, (r, outcomes.len()));
                    outcomes.push(OutcomeView {
                        index,
                        original: outcome.clone(),
                        outcome,
                        corrected_by: Vec::new(),
                    });
                }
                None => self.anomaly(index, of, "an outcome"),
            },
            Step::Authority { .. } | Step::Revocation { .. } => {}
            Step::Correction {
                of,
                reason,
                federal_request,
                response,
                immigration_agency,
                outcome,
            } => {
                let applied = match (federal_request, response, outcome) {
                    (Some(request), Some(response), None) => {
                        self.correct_request(index, of, request, response, immigration_agency)
                    }
                    (None, None, Some(outcome)) => self.correct_outcome(index, of, outcome),
                    _ => false,
                };
                if applied {
                    self.register.corrections.push(CorrectionView {
                        index,
                        of,
                        recorded: time,
                        by,
                        reason,
                    });
                } else {
                    self.anomaly(index, of, "a correction");
                }
            }
        }
    }

    fn correct_request(
        &mut self,
        index: u64,
        of: u64,
        request: FederalRequest,
        response: ResponseDecision,
        immigration_agency: Option<bool>,
    ) -> bool {
        let Some(&r) = self.requests.get(&of) else {
            return false;
        };
        let view = &mut self.register.requests[r];
        view.request = request;
        view.immigration_agency = immigration_agency.or(view.immigration_agency);
        view.response = response;
        view.corrected_by.push(index);
        true
    }

    fn correct_outcome(&mut self, index: u64, of: u64, outcome: Outcome) -> bool {
        let Some(&(r, o)) = self.outcomes.get(&of) else {
            return false;
        };
        let view = &mut self.register.requests[r].outcomes[o];
        view.outcome = outcome;
        view.corrected_by.push(index);
        true
    }

    fn anomaly(&mut self, index: u64, of: u64, what: &str) {
        self.register.anomalies.push(format!(
            "entry {index} is {what} of entry {of}, which is not a register entry it can apply to"
        ));
    }

    pub fn finish(self) -> Register {
        self.register
    }
}
