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

/// Every registration in a log, by reference, with revocations applied.
#[derive(Debug, Default, Clone)]
pub struct AuthorityBook {
    by_reference: HashMap<String, Vec<(u64, AuthorityRegistration)>>,
    revoked: HashSet<u64>,
}

impl AuthorityBook {
    /// Adds one register entry (in log order); entries of other steps are ignored.
    pub fn push(&mut self, index: u64, entry: &RegisterEntry) {
        match &entry.step {
            Step::Authority { authority } => self
                .by_reference
                .entry(authority.reference.clone())
                .or_default()
                .push((index, authority.clone())),
            Step::Revocation { of, .. } => {
                self.revoked.insert(*of);
            }
            _ => {}
        }
    }

    /// Whether `index` is a registration in the book (what a revocation may name).
    pub fn is_registration(&self, index: u64) -> bool {
        self.by_reference
            .values()
            .any(|list| list.iter().any(|(i, _)| *i == index))
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
