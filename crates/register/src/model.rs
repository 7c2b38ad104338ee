//! What the register records: a federal request as received, what became of the person,
//! and corrections. Every field is validated on the way in, and each message names the
//! field and says what to write instead. No names: a subject is an internal reference.

use crate::error::{input, RegisterError};
use crate::when::When;
use cordon_policy::{Court, FederalAsk, FederalRequestKind, Matter};
use serde::{Deserialize, Serialize};

/// Longest free text accepted (agency unit, correction reason).
pub const MAX_TEXT: usize = 300;
/// Longest internal reference accepted.
pub const MAX_REFERENCE: usize = 64;

/// A federal request as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederalRequest {
    /// The main document.
    pub kind: FederalRequestKind,
    /// Documents that came with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<FederalRequestKind>,
    /// The requesting agency, a key of the deployment's agency registry (`ice-ero`).
    pub agency: String,
    /// The agency it asks for, when it asks on another's behalf (a Marshal asking for ICE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// The requesting unit or office (`Chicago Field Office`).
    pub unit: String,
    /// When it was received.
    pub received: When,
    /// The internal reference of the person it concerns (a booking or central booking
    /// number), never a name.
    pub subject: String,
    /// What it asks.
    pub asks: Vec<FederalAsk>,
    /// The document's own number, if any (a detainer or docket number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_ref: Option<String>,
    /// Who issued the judicial document among `kind` and `attached`. Entries recorded
    /// before courts were recorded lack it and read as `not_recorded`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub court: Court,
    /// What that judicial document is about.
    #[serde(default, skip_serializing_if = "is_default")]
    pub matter: Matter,
    /// The judicial document names the person this request concerns.
    #[serde(default, skip_serializing_if = "is_false")]
    pub names_subject: bool,
    /// The conviction that lets the agency use the discretion of Gov. Code 7282.5
    /// (California), recorded for the 7284.6(c)(2) annual report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conviction: Option<Conviction>,
}

/// A conviction that Gov. Code 7282.5 lets an agency act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conviction {
    /// The offense, as the record cites it (`Pen. Code 211`).
    pub offense: String,
    /// The paragraph of 7282.5 that allows acting on it (`7282.5(a)(1)`).
    pub ground: String,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl FederalRequest {
    /// Whether the documents include one a judge signs.
    pub fn has_judicial_document(&self) -> bool {
        self.kind.is_judicial() || self.attached.iter().any(FederalRequestKind::is_judicial)
    }

    /// A judicial document whose court was never recorded: every judicial warrant or court
    /// order in entries written before courts were recorded.
    pub fn court_not_recorded(&self) -> bool {
        self.has_judicial_document() && self.court == Court::NotRecorded
    }
}

/// What became of the person the request concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    /// Released from custody.
    Released,
    /// Handed over to another agency (say which in `transferred_to`).
    Transferred,
    /// Kept in custody on a criminal matter, not because of the request.
    HeldCriminal,
    /// Not in this agency's custody when the request came.
    NotInCustody,
}

impl OutcomeResult {
    pub const WORDS: [&'static str; 4] =
        ["released", "transferred", "held_criminal", "not_in_custody"];

    pub fn word(self) -> &'static str {
        match self {
            OutcomeResult::Released => "released",
            OutcomeResult::Transferred => "transferred",
            OutcomeResult::HeldCriminal => "held_criminal",
            OutcomeResult::NotInCustody => "not_in_custody",
        }
    }

    /// Words a report reader understands.
    pub fn words(self) -> &'static str {
        match self {
            OutcomeResult::Released => "released",
            OutcomeResult::Transferred => "transferred",
            OutcomeResult::HeldCriminal => "held on a criminal matter",
            OutcomeResult::NotInCustody => "not in custody",
        }
    }
}

/// Who a person was handed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transferee {
    pub agency: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
}

/// An outcome, recorded after the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub result: OutcomeResult,
    /// When the person was released or transferred (or, for the other results, when it
    /// was established).
    pub at: When,
    /// When bail was posted, if it was: time in custody after it is time held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bail_posted: Option<When>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_to: Option<Transferee>,
}

/// A correction of an earlier request or outcome entry: the replacement, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federal_request: Option<FederalRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

impl FederalRequest {
    /// Parses and validates a request body. Never panics on any input (a fuzz target).
    pub fn from_json(bytes: &[u8]) -> Result<FederalRequest, RegisterError> {
        let request: FederalRequest = parse_json(bytes, "federal request", REQUEST_FIELDS)?;
        request.validate()?;
        Ok(request)
    }

    /// Checks every field; the first problem found is returned, naming its field.
    pub fn validate(&self) -> Result<(), RegisterError> {
        known_kind("kind", &self.kind)?;
        for k in &self.attached {
            known_kind("attached", k)?;
        }
        text("agency", &self.agency, MAX_REFERENCE)?;
        if let Some(other) = &self.on_behalf_of {
            text("on_behalf_of", other, MAX_REFERENCE)?;
        }
        self.validate_court()?;
        if let Some(c) = &self.conviction {
            text("conviction.offense", &c.offense, MAX_TEXT)?;
            text("conviction.ground", &c.ground, MAX_TEXT)?;
        }
        text("unit", &self.unit, MAX_TEXT)?;
        reference("subject", &self.subject)?;
        if let Some(r) = &self.document_ref {
            reference("document_ref", r)?;
        }
        if self.asks.is_empty() {
            return Err(input(format!(
                "asks is empty: list what the request asks, from {}",
                FederalAsk::WORDS.join(", ")
            )));
        }
        for a in &self.asks {
            if let FederalAsk::Unrecognized(raw) = a {
                return Err(input(format!(
                    "asks: {raw:?} is not something the register records: use {}",
                    FederalAsk::WORDS.join(", ")
                )));
            }
        }
        not_future("received", &self.received)
    }
}

impl FederalRequest {
    /// A judicial document must say who issued it and what it is about: that is what
    /// decides whether it opens anything.
    fn validate_court(&self) -> Result<(), RegisterError> {
        if let Court::Unrecognized(raw) = &self.court {
            return Err(input(format!(
                "court: {raw:?} is not a court the register knows: use {}",
                Court::WORDS.join(", ")
            )));
        }
        if let Matter::Unrecognized(raw) = &self.matter {
            return Err(input(format!(
                "matter: {raw:?} is not a matter the register knows: use {}",
                Matter::WORDS.join(", ")
            )));
        }
        if self.has_judicial_document() && matches!(self.court, Court::NotRecorded | Court::None) {
            return Err(input(
                "court is missing: a judicial warrant, court order, probable-cause determination or judicial subpoena must say who issued it (federal, state, or immigration_court for an immigration judge's order)",
            ));
        }
        if self.has_judicial_document() && self.matter == Matter::NotRecorded {
            return Err(input(format!(
                "matter is missing: say what the judicial document is about ({})",
                Matter::WORDS[..3].join(", ")
            )));
        }
        Ok(())
    }
}

impl Outcome {
    pub fn from_json(bytes: &[u8]) -> Result<Outcome, RegisterError> {
        let outcome: Outcome = parse_json(bytes, "outcome", OUTCOME_FIELDS)?;
        outcome.validate()?;
        Ok(outcome)
    }

    pub fn validate(&self) -> Result<(), RegisterError> {
        not_future("at", &self.at)?;
        match (&self.result, &self.transferred_to) {
            (OutcomeResult::Transferred, None) => {
                return Err(input(
                    "transferred_to is missing: say to which agency (and unit) the person was transferred",
                ))
            }
            (OutcomeResult::Transferred, Some(t)) => {
                text("transferred_to.agency", &t.agency, MAX_REFERENCE)?;
                if !t.unit.is_empty() {
                    text("transferred_to.unit", &t.unit, MAX_TEXT)?;
                }
            }
            (other, Some(_)) => {
                return Err(input(format!(
                    "transferred_to is set but result is {:?}: set result to \"transferred\" or drop transferred_to",
                    other.word()
                )))
            }
            (_, None) => {}
        }
        if let Some(bail) = &self.bail_posted {
            not_future("bail_posted", bail)?;
            if bail.days() > self.at.days() || after_by_minutes(bail, &self.at) {
                return Err(input(format!(
                    "bail_posted {bail} is after at {}: bail is posted before release or transfer",
                    self.at
                )));
            }
        }
        Ok(())
    }
}

impl Correction {
    pub fn from_json(bytes: &[u8]) -> Result<Correction, RegisterError> {
        let c: Correction = parse_json(bytes, "correction", CORRECTION_FIELDS)?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), RegisterError> {
        text("reason", &self.reason, MAX_TEXT)?;
        match (&self.federal_request, &self.outcome) {
            (Some(r), None) => r.validate(),
            (None, Some(o)) => o.validate(),
            _ => Err(input(
                "a correction carries exactly one of federal_request (the whole corrected request) or outcome (the whole corrected outcome)",
            )),
        }
    }
}

const REQUEST_FIELDS: &str = "kind, attached, agency, on_behalf_of, unit, received, subject, asks, document_ref, court, matter, names_subject, conviction";
const OUTCOME_FIELDS: &str = "result, at, bail_posted, transferred_to";
const CORRECTION_FIELDS: &str = "reason, and one of federal_request or outcome";

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
    fields: &str,
) -> Result<T, RegisterError> {
    serde_json::from_slice(bytes).map_err(|e| {
        input(format!(
            "the {what} is not valid: {e} (a JSON object with {fields})"
        ))
    })
}

fn known_kind(field: &str, kind: &FederalRequestKind) -> Result<(), RegisterError> {
    match kind {
        FederalRequestKind::Unrecognized(raw) => Err(input(format!(
            "{field}: {raw:?} is not a document the register knows: use {}",
            FederalRequestKind::WORDS.join(", ")
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<(), RegisterError> {
    if value.trim().is_empty() {
        return Err(input(format!("{field} is empty: fill it in")));
    }
    if value.chars().count() > max {
        return Err(input(format!("{field} is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(input(format!(
            "{field} holds a control character (a line break or tab): write it on one line"
        )));
    }
    Ok(())
}

/// An internal reference: letters, digits and `- _ . / #`, at least one digit, no spaces,
/// so that a name cannot be typed where a reference belongs.
pub(crate) fn reference(field: &str, value: &str) -> Result<(), RegisterError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_./#".contains(c);
    let ok = !value.is_empty()
        && value.len() <= MAX_REFERENCE
        && value.chars().all(allowed)
        && value.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(input(format!(
            "{field} {value:?} is not an internal reference: use a booking or record number such as CB-2026-000123 (letters, digits and - _ . / #, at least one digit, no spaces, at most {MAX_REFERENCE} characters); never a person's name"
        )))
    }
}

fn not_future(field: &str, when: &When) -> Result<(), RegisterError> {
    // A day of slack: the paperwork is in local time, the clock in UTC.
    if when.days() > When::today().days() + 1 {
        return Err(input(format!("{field} {when} is in the future")));
    }
    Ok(())
}

/// `a` is after `b`, comparing times only when both have one.
fn after_by_minutes(a: &When, b: &When) -> bool {
    match (a.minutes(), b.minutes()) {
        (Some(x), Some(y)) => x > y,
        _ => false,
    }
}
