//! The one code path that turns a staff member's input into a register entry, shared by
//! `POST /requests` on the gateway and `cordon requests` on a log directory: validate,
//! let the pack answer, check what an outcome or correction refers to, serialize. The
//! caller appends the bytes and waits until they are durable.

use crate::authority::{AuthorityBook, AuthorityRegistration};
use crate::entry::{now_rfc3339, Recorder, RegisterEntry, Step, REGISTER_VERSION};
use crate::error::RegisterError;
use crate::model::{Correction, FederalRequest, Outcome};
use cordon_policy::{AgencyKind, FederalQuestion, PolicyError, RequestStack, ResponseDecision};
use std::path::Path;

/// An entry ready to append.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub entry: RegisterEntry,
    pub bytes: Vec<u8>,
}

impl Prepared {
    /// The pack's answer, for a request or a corrected request.
    pub fn response(&self) -> Option<&ResponseDecision> {
        match &self.entry.step {
            Step::Request { response, .. } => Some(response),
            Step::Correction { response, .. } => response.as_ref(),
            Step::Outcome { .. } | Step::Authority { .. } | Step::Revocation { .. } => None,
        }
    }
}

/// Records to the register under a stack's response policies.
#[derive(Debug)]
pub struct Registrar {
    policies: RequestStack,
    via: &'static str,
}

impl Registrar {
    /// Loads the stack of packs (in order); `via` is `cli` or `gateway`.
    pub fn load<P: AsRef<Path>>(packs: &[P], via: &'static str) -> Result<Registrar, PolicyError> {
        Ok(Registrar {
            policies: RequestStack::load(packs)?,
            via,
        })
    }

    /// Uses a stack's response policies already loaded.
    pub fn new(policies: RequestStack, via: &'static str) -> Registrar {
        Registrar { policies, via }
    }

    pub fn policies(&self) -> &RequestStack {
        &self.policies
    }

    /// Registers legal process records staff checked.
    pub fn authority(
        &self,
        by: Recorder,
        authority: AuthorityRegistration,
    ) -> Result<Prepared, RegisterError> {
        authority.validate()?;
        if self.policies.registry().agency(&authority.agency).is_none() {
            return Err(RegisterError::Input(format!(
                "agency {:?} is not in the deployment's agency registry: register it in a pack's agencies.json first",
                authority.agency
            )));
        }
        self.prepare(by, Step::Authority { authority })
    }

    /// Revokes the registration at `of`; `book` is the log's registrations so far.
    pub fn revocation(
        &self,
        by: Recorder,
        of: u64,
        book: &AuthorityBook,
        reason: String,
    ) -> Result<Prepared, RegisterError> {
        crate::model::text("reason", &reason, crate::model::MAX_TEXT)?;
        if !book.is_registration(of) {
            return Err(RegisterError::Target(format!(
                "entry {of} is not an authority registration: give the index returned when the document was registered"
            )));
        }
        self.prepare(by, Step::Revocation { of, reason })
    }

    /// A new request, with the pack's answer.
    pub fn request(
        &self,
        by: Recorder,
        request: FederalRequest,
    ) -> Result<Prepared, RegisterError> {
        request.validate()?;
        let response = self.answer(&by, &request);
        let immigration_agency = Some(self.is_immigration(&request));
        self.prepare(
            by,
            Step::Request {
                pack: self.policies.name().to_owned(),
                federal_request: request,
                response,
                immigration_agency,
            },
        )
    }

    /// An outcome of the request entry at `of`, whose bytes are `target`.
    pub fn outcome(
        &self,
        by: Recorder,
        of: u64,
        target: &[u8],
        outcome: Outcome,
    ) -> Result<Prepared, RegisterError> {
        outcome.validate()?;
        let request = match target_step(of, target)? {
            Step::Request {
                federal_request, ..
            } => federal_request,
            other => {
                return Err(RegisterError::Target(format!(
                    "entry {of} is a register {} entry: an outcome belongs to the request entry (its index is the receipt returned when the request was recorded)",
                    other.word()
                )))
            }
        };
        not_before_received(&outcome, &request)?;
        self.prepare(by, Step::Outcome { of, outcome })
    }

    /// A correction of the request or outcome entry at `of`, whose bytes are `target`.
    pub fn correction(
        &self,
        by: Recorder,
        of: u64,
        target: &[u8],
        correction: Correction,
    ) -> Result<Prepared, RegisterError> {
        correction.validate()?;
        let wrong = |what: &str, other: &str| {
            RegisterError::Target(format!(
                "entry {of} is a register {what} entry, so its correction carries {other}"
            ))
        };
        let step = match (target_step(of, target)?, correction) {
            (Step::Request { .. }, Correction { reason, federal_request: Some(r), .. }) => {
                let response = self.answer(&by, &r);
                let immigration_agency = Some(self.is_immigration(&r));
                Step::Correction { of, reason, federal_request: Some(r), response: Some(response), immigration_agency, outcome: None }
            }
            (Step::Outcome { .. }, Correction { reason, outcome: Some(o), .. }) => {
                Step::Correction { of, reason, federal_request: None, response: None, immigration_agency: None, outcome: Some(o) }
            }
            (Step::Request { .. }, _) => return Err(wrong("request", "federal_request (the whole corrected request)")),
            (Step::Outcome { .. }, _) => return Err(wrong("outcome", "outcome (the whole corrected outcome)")),
            (Step::Correction { of: original, .. }, _) => {
                return Err(RegisterError::Target(format!(
                    "entry {of} is itself a correction: correct the original entry {original} instead (the newest correction wins)"
                )))
            }
            (Step::Authority { .. } | Step::Revocation { .. }, _) => {
                return Err(RegisterError::Target(format!(
                    "entry {of} is an authority registration or revocation: revoke it and register the document again instead"
                )))
            }
        };
        self.prepare(by, step)
    }

    fn answer(&self, by: &Recorder, r: &FederalRequest) -> ResponseDecision {
        self.policies.respond(&FederalQuestion {
            recorded_by: &by.id,
            agency: &r.agency,
            on_behalf_of: r.on_behalf_of.as_deref(),
            kind: &r.kind,
            attached: &r.attached,
            court: &r.court,
            matter: &r.matter,
            names_subject: r.names_subject,
            asks: &r.asks,
            conviction: r.conviction.is_some(),
        })
    }

    /// An immigration agency asks, or is asked for (an unregistered one counts, so that a
    /// report never under-counts).
    fn is_immigration(&self, r: &FederalRequest) -> bool {
        let immigration = |id: &str| match self.policies.registry().kind_of(id) {
            Some(AgencyKind::FederalImmigration | AgencyKind::ImmigrationTaskForce) | None => true,
            Some(_) => false,
        };
        immigration(&r.agency) || r.on_behalf_of.as_deref().is_some_and(immigration)
    }

    fn prepare(&self, by: Recorder, step: Step) -> Result<Prepared, RegisterError> {
        let entry = RegisterEntry {
            register: REGISTER_VERSION,
            time: now_rfc3339(),
            via: self.via.to_owned(),
            by,
            step,
        };
        let bytes = entry.to_bytes()?;
        Ok(Prepared { entry, bytes })
    }
}

/// The register step of the entry an outcome or correction refers to.
fn target_step(of: u64, bytes: &[u8]) -> Result<Step, RegisterError> {
    match RegisterEntry::parse(of, bytes)? {
        Some(entry) => Ok(entry.step),
        None => Err(RegisterError::Target(format!(
            "entry {of} is not in the federal request register (it is an access decision or another record): give the index of the register entry, as returned when it was recorded"
        ))),
    }
}

fn not_before_received(outcome: &Outcome, request: &FederalRequest) -> Result<(), RegisterError> {
    if outcome.at.days() < request.received.days() {
        return Err(RegisterError::Input(format!(
            "at {} is before the request was received ({}): check the dates",
            outcome.at, request.received
        )));
    }
    Ok(())
}
