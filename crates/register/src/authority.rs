//! Registered authorities: the legal process records staff checked (who signed it, what it
//! is about, the records and dates it names, its expiry, the document's SHA-256), kept in
//! the log like every register step; and the book the gateway asks, so that only a
//! registered authority opens a door and a typed one that matches no registration opens
//! nothing.

use crate::entry::{RegisterEntry, Step};
use crate::error::{input, RegisterError};
use crate::model::{parse_json, reference, text, MAX_REFERENCE, MAX_TEXT};
use crate::when::When;
use cordon_policy::{Authority, AuthorityKind, Court, Matter, Registration};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Most records one registration may name: a warrant names records, not a database.
pub const MAX_RECORDS: usize = 64;

/// A document records staff registered after checking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityRegistration {
    pub kind: AuthorityKind,
    /// Who issued it (`none` for a document no court issued, such as consent).
    pub court: Court,
    pub matter: Matter,
    /// The issuing court or office in words (`U.S. District Court, N.D. Ill.`).
    pub issued_by: String,
    /// The docket, warrant or form number: what a requester sends as Cordon-Authority-Ref.
    pub reference: String,
    /// The agency that presented it and may use it.
    pub agency: String,
    /// The exact records (resource paths) it names.
    pub records: Vec<String>,
    /// The first and last day it may be used.
    pub valid_from: When,
    pub expires: When,
    /// SHA-256 of the document as registered, lowercase hex.
    pub sha256: String,
}

impl AuthorityRegistration {
    /// Parses and validates a registration. Never panics on any input.
    pub fn from_json(bytes: &[u8]) -> Result<AuthorityRegistration, RegisterError> {
        let r: AuthorityRegistration = parse_json(
            bytes,
            "authority registration",
            "kind, court, matter, issued_by, reference, agency, records, valid_from, expires, sha256",
        )?;
        r.validate()?;
        Ok(r)
    }

    /// Checks every field; the message names the field and what to write instead.
    pub fn validate(&self) -> Result<(), RegisterError> {
        self.validate_words()?;
        text("issued_by", &self.issued_by, MAX_TEXT)?;
        reference("reference", &self.reference)?;
        text("agency", &self.agency, MAX_REFERENCE)?;
        self.validate_records()?;
        if self.expires < self.valid_from {
            return Err(input(format!(
                "expires {} is before valid_from {}: check the dates",
                self.expires, self.valid_from
            )));
        }
        let hex = self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(input(
                "sha256 is not a SHA-256: give the document's digest as 64 lowercase hex digits (sha256sum document.pdf)",
            ));
        }
        Ok(())
    }

    fn validate_words(&self) -> Result<(), RegisterError> {
        if !self.kind.is_recognized() || self.kind == AuthorityKind::None {
            return Err(input(format!(
                "kind {:?} is not a document the register records: use one of {}",
                self.kind.as_sent(),
                AuthorityKind::WORDS[1..].join(", ")
            )));
        }
        if !self.court.is_recognized() || self.court == Court::NotRecorded {
            return Err(input(format!(
                "court {:?}: say who issued it, one of none, federal, state, immigration_court",
                self.court.as_sent()
            )));
        }
        if !self.matter.is_recognized() {
            return Err(input(format!(
                "matter {:?}: use one of {}",
                self.matter.as_sent(),
                Matter::WORDS.join(", ")
            )));
        }
        let judicial = self.kind.is_judicial();
        if judicial == (self.court == Court::None) {
            return Err(input(if judicial {
                "court is none, but a judicial warrant, court order, probable-cause determination or judicial subpoena is issued by a court: say which (federal, state, immigration_court)"
            } else {
                "court is set, but this kind of document is not issued by a court: set court to none"
            }));
        }
        Ok(())
    }

    fn validate_records(&self) -> Result<(), RegisterError> {
        if self.records.is_empty() || self.records.len() > MAX_RECORDS {
            return Err(input(format!(
                "records: list the records the document names (1 to {MAX_RECORDS} resource paths such as arrests/2024-001234)"
            )));
        }
        for r in &self.records {
            text("records", r, MAX_TEXT)?;
            if r.contains('*') {
                return Err(input(format!(
                    "records: {r:?} is a pattern; a document opens the records it names, one by one"
                )));
            }
        }
        Ok(())
    }
}

/// A registration that covers a request: the register entry that vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAuthority {
    /// The log index of the registration entry.
    pub entry: u64,
    pub registration: AuthorityRegistration,
}

/// Why a typed authority opened nothing. Each reason says what the requester can do; none
/// echoes what a registration names beyond what the requester sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmatched {
    /// A kind was typed with no reference to look up.
    NoReference,
    /// No registration has this reference.
    NotRegistered { reference: String },
    /// Registered for another agency only.
    OtherAgency { reference: String },
    /// Registered for this agency, but not naming the record asked for.
    OtherRecord { reference: String, record: String },
    /// Its first day has not come.
    NotYetValid { reference: String, from: When },
    /// Its last day has passed.
    Expired { reference: String, expired: When },
    /// Records staff revoked it.
    Revoked { reference: String, entry: u64 },
    /// The register could not be read, so no registration is trusted (a revocation might
    /// have been missed).
    RegisterUnavailable,
}

impl std::fmt::Display for Unmatched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmatched::NoReference => write!(f, "no Cordon-Authority-Ref was sent, so there is no registered document to look up"),
            Unmatched::NotRegistered { reference } => write!(f, "{reference:?} is not registered: records staff have not registered a document with this reference"),
            Unmatched::OtherAgency { reference } => write!(f, "{reference:?} is registered for another agency, not yours"),
            Unmatched::OtherRecord { reference, record } => write!(f, "{reference:?} does not name the record {record:?}"),
            Unmatched::NotYetValid { reference, from } => write!(f, "{reference:?} may be used only from {from}"),
            Unmatched::Expired { reference, expired } => write!(f, "{reference:?} expired on {expired}"),
            Unmatched::Revoked { reference, entry } => write!(f, "{reference:?} was revoked (revocation of register entry {entry})"),
            Unmatched::RegisterUnavailable => write!(f, "the register of authorities cannot be read right now, so no registration is honoured"),
        }
    }
}

impl Unmatched {
    /// What the requester can do about it.
    pub fn what_to_do(&self) -> &'static str {
        match self {
            Unmatched::NoReference => "send the document's reference in Cordon-Authority-Ref, exactly as records staff registered it",
            Unmatched::RegisterUnavailable => "try again shortly; if this persists, tell the operator",
            Unmatched::Expired { .. } | Unmatched::Revoked { .. } => "a new or renewed document must be checked and registered by records staff before it opens anything",
            _ => "give the document to records staff: they check it and register it (its court, the records and dates it names, its SHA-256); then send its reference in Cordon-Authority-Ref",
        }
    }
}

/// Every registration in a log, by reference, with revocations applied.
#[derive(Debug, Default, Clone)]
pub struct AuthorityBook {
    by_reference: HashMap<String, Vec<(u64, AuthorityRegistration)>>,
    /// Every registration's index, so that reading an entry twice changes nothing.
    registrations: HashSet<u64>,
    revoked: HashSet<u64>,
}

impl AuthorityBook {
    /// Adds one register entry (in log order); entries of other steps are ignored.
    pub fn push(&mut self, index: u64, entry: &RegisterEntry) {
        match &entry.step {
            // An entry read a second time is already in the book.
            Step::Authority { authority } if self.registrations.insert(index) => {
                let list = self
                    .by_reference
                    .entry(authority.reference.clone())
                    .or_default();
                list.push((index, authority.clone()));
                // Kept in log order whatever order entries arrive in, so "newest" is the
                // highest index.
                list.sort_by_key(|(i, _)| *i);
            }
            Step::Revocation { of, .. } => {
                self.revoked.insert(*of);
            }
            _ => {}
        }
    }

    /// Whether `index` is a registration in the book (what a revocation may name).
    pub fn is_registration(&self, index: u64) -> bool {
        self.registrations.contains(&index)
    }

    /// The registration that lets `agency` use the document `reference` for `record` on
    /// day `on`: not revoked, naming the record, within its dates; the newest if several.
    pub fn verify(
        &self,
        reference: &str,
        agency: &str,
        record: &str,
        on: When,
    ) -> Option<VerifiedAuthority> {
        let on_day = on.days();
        self.by_reference
            .get(reference)?
            .iter()
            .rev()
            .find(|(index, r)| {
                !self.revoked.contains(index)
                    && r.agency == agency
                    && r.records.iter().any(|x| x == record)
                    && r.valid_from.days() <= on_day
                    && on_day <= r.expires.days()
            })
            .map(|(index, r)| VerifiedAuthority {
                entry: *index,
                registration: r.clone(),
            })
    }

    /// Why no registration lets `agency` use `reference` for `record` on day `on`: the
    /// reason of the registration that came closest (agency, then record, then dates, then
    /// revocation), the newest on a tie. `None` when one does.
    pub fn why_not(
        &self,
        reference: &str,
        agency: &str,
        record: &str,
        on: When,
    ) -> Option<Unmatched> {
        let Some(list) = self.by_reference.get(reference) else {
            return Some(Unmatched::NotRegistered {
                reference: reference.to_owned(),
            });
        };
        let reference = reference.to_owned();
        let on_day = on.days();
        let mut best: Option<(u8, Unmatched)> = None;
        for (index, r) in list.iter().rev() {
            let (rank, why) = if r.agency != agency {
                (
                    0,
                    Unmatched::OtherAgency {
                        reference: reference.clone(),
                    },
                )
            } else if !r.records.iter().any(|x| x == record) {
                (
                    1,
                    Unmatched::OtherRecord {
                        reference: reference.clone(),
                        record: record.to_owned(),
                    },
                )
            } else if on_day < r.valid_from.days() {
                (
                    2,
                    Unmatched::NotYetValid {
                        reference: reference.clone(),
                        from: r.valid_from,
                    },
                )
            } else if on_day > r.expires.days() {
                (
                    2,
                    Unmatched::Expired {
                        reference: reference.clone(),
                        expired: r.expires,
                    },
                )
            } else if self.revoked.contains(index) {
                (
                    3,
                    Unmatched::Revoked {
                        reference: reference.clone(),
                        entry: *index,
                    },
                )
            } else {
                return None;
            };
            if best.as_ref().is_none_or(|(b, _)| rank > *b) {
                best = Some((rank, why));
            }
        }
        best.map(|(_, why)| why)
    }

    /// [`AuthorityBook::authority_for`], and why a typed authority opened nothing when it
    /// did not (`None` when nothing was typed or a registration covers it).
    pub fn resolve(
        &self,
        typed: &Authority,
        agency: &str,
        record: &str,
        on: When,
    ) -> (Authority, Option<Unmatched>) {
        let authority = self.authority_for(typed, agency, record, on);
        if authority.registration.is_some() {
            return (authority, None);
        }
        let why = match typed.reference.as_deref().filter(|r| !r.trim().is_empty()) {
            Some(reference) => self.why_not(reference, agency, record, on),
            None if typed.kind != AuthorityKind::None => Some(Unmatched::NoReference),
            None => None,
        };
        (authority, why)
    }

    /// The authority a request carries, given what the requester typed: the registered
    /// document when one covers it (its kind, court, matter and registration come from the
    /// register), otherwise what was typed with no court, no matter and no registration,
    /// which opens nothing.
    pub fn authority_for(
        &self,
        typed: &Authority,
        agency: &str,
        record: &str,
        on: When,
    ) -> Authority {
        let found = typed
            .reference
            .as_deref()
            .and_then(|r| self.verify(r, agency, record, on));
        match found {
            Some(v) => Authority {
                kind: v.registration.kind.clone(),
                court: v.registration.court.clone(),
                matter: v.registration.matter.clone(),
                reference: Some(v.registration.reference.clone()),
                record: Some(record.to_owned()),
                registration: Some(Registration {
                    entry: v.entry,
                    sha256: v.registration.sha256.clone(),
                    expires: v.registration.expires.to_string(),
                }),
            },
            None => Authority {
                kind: typed.kind.clone(),
                court: Court::NotRecorded,
                matter: Matter::NotRecorded,
                reference: typed.reference.clone(),
                record: typed.record.clone(),
                registration: None,
            },
        }
    }
}
