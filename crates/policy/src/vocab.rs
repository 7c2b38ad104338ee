//! The controlled vocabularies of a request: agency kinds, actions, purpose codes, authority kinds.
//!
//! A value outside a vocabulary is kept verbatim (so the log records what was asked) and is
//! never an error at decision time: it reaches the policies as `unrecognized` and is denied.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The word a policy sees for any value that is not in its vocabulary.
pub const UNRECOGNIZED: &str = "unrecognized";

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value outside the vocabulary, kept as sent; always denied.
            Unrecognized(String),
        }

        impl $name {
            /// Every value of the vocabulary, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The words of the vocabulary, for messages that say what would have been accepted.
            pub const WORDS: &'static [&'static str] = &[$($text),+];

            /// Reads a word; a word outside the vocabulary becomes `Unrecognized`.
            pub fn parse(word: &str) -> Self {
                match word {
                    $($text => $name::$variant,)+
                    other => $name::Unrecognized(other.to_owned()),
                }
            }

            /// The word policies see: the vocabulary word, or `unrecognized`.
            pub fn policy_word(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unrecognized(_) => UNRECOGNIZED,
                }
            }

            /// The word as sent (an unrecognized value is returned verbatim).
            pub fn as_sent(&self) -> &str {
                match self {
                    $name::Unrecognized(raw) => raw,
                    known => known.policy_word(),
                }
            }

            /// Whether the value belongs to the vocabulary.
            pub fn is_recognized(&self) -> bool {
                !matches!(self, $name::Unrecognized(_))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_sent())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok($name::parse(&word))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_sent())
            }
        }
    };
}

vocabulary! {
    /// What kind of body an agency is. It comes from the pack's agency registry, never the request.
    AgencyKind {
        /// City and county police and sheriffs.
        LocalPolice => "local_police",
        /// State police and highway patrol.
        StatePolice => "state_police",
        /// ICE (ERO, HSI), CBP (including Border Patrol) and USCIS.
        FederalImmigration => "federal_immigration",
        /// Other federal agencies (FBI, DEA, ATF, US Marshals, Secret Service).
        FederalOther => "federal_other",
        /// Anything else that is registered (a non-police city department, a vendor).
        Other => "other",
    }
}

vocabulary! {
    /// What the requester wants to do with the dataset.
    Action {
        /// Run a query over the dataset.
        Search => "search",
        /// Read one record.
        Read => "read",
        /// Take results out of the system.
        Export => "export",
        /// Copy the dataset or a large part of it.
        Bulk => "bulk",
    }
}

vocabulary! {
    /// Why the requester says they need the data.
    PurposeCode {
        /// Investigating a crime.
        CriminalInvestigation => "criminal_investigation",
        /// Traffic stops and crashes.
        TrafficEnforcement => "traffic_enforcement",
        /// Finding a missing person.
        MissingPerson => "missing_person",
        /// Serving a victim, including U and T visa certifications.
        VictimServices => "victim_services",
        /// An imminent threat to life or safety.
        PublicSafetyEmergency => "public_safety_emergency",
        /// Enforcing civil immigration law (arrest, detention, removal).
        CivilImmigrationEnforcement => "civil_immigration_enforcement",
        /// Records management, audit and other internal work.
        Administrative => "administrative",
    }
}

vocabulary! {
    /// The legal authority a requester presents.
    AuthorityKind {
        /// No legal process.
        None => "none",
        /// A warrant signed by a judge or magistrate on probable cause.
        JudicialWarrant => "judicial_warrant",
        /// An order of a court.
        CourtOrder => "court_order",
        /// A subpoena issued by or under a court (grand jury, trial).
        JudicialSubpoena => "judicial_subpoena",
        /// A DHS warrant signed by an officer, not a judge: I-200, I-203, I-205, I-286.
        AdministrativeWarrant => "administrative_warrant",
        /// An immigration detainer, I-247A (8 CFR 287.7).
        Detainer => "detainer",
        /// An ICE administrative subpoena, I-138.
        AdministrativeSubpoena => "administrative_subpoena",
        /// A hit in NCIC's Immigration Violator File.
        NcicImmigrationViolator => "ncic_immigration_violator",
    }
}

vocabulary! {
    /// The document a federal agency sends or presents when it asks something of the
    /// jurisdiction: what the federal request register records and the packs decide on.
    FederalRequestKind {
        /// An immigration detainer, DHS form I-247A (8 CFR 287.7).
        DetainerI247a => "detainer_i247a",
        /// Warrant for Arrest of Alien, I-200: signed by an immigration officer, not a judge.
        WarrantI200 => "warrant_i200",
        /// Order to Detain or Release Alien, I-203: administrative.
        WarrantI203 => "warrant_i203",
        /// Warrant of Removal/Deportation, I-205: administrative.
        WarrantI205 => "warrant_i205",
        /// Notice of Custody Determination, I-286: administrative.
        WarrantI286 => "warrant_i286",
        /// A hit in NCIC's Immigration Violator File.
        NcicImmigrationViolator => "ncic_immigration_violator",
        /// A warrant signed by a judge or magistrate.
        JudicialWarrant => "judicial_warrant",
        /// An order of a court, including a judicial probable-cause determination.
        CourtOrder => "court_order",
        /// A request for information or assistance with no document (a call, an email, an
        /// OEMC notification).
        RequestForAssistance => "request_for_assistance",
        /// An ICE administrative subpoena, I-138.
        AdministrativeSubpoena => "administrative_subpoena",
    }
}

vocabulary! {
    /// What a federal request asks the jurisdiction to tell or to do.
    FederalAsk {
        /// Whether a person is in custody.
        CustodyStatus => "custody_status",
        /// When a person will be released (including notice before release).
        ReleaseDate => "release_date",
        /// A home or work address or other contact information.
        Address => "address",
        /// Access to a person in custody, or to a facility, for an interview or an arrest.
        Access => "access",
        /// Keeping a person in custody past the time they would be released.
        Hold => "hold",
        /// Handing a person over to the requesting agency.
        Transfer => "transfer",
    }
}

// Written out because the enum comes from a macro shared with vocabularies that have no default.
#[allow(clippy::derivable_impls)]
impl Default for AuthorityKind {
    fn default() -> Self {
        AuthorityKind::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_words_are_kept_verbatim_but_seen_as_unrecognized() {
        let code = PurposeCode::parse("immigration_assist");
        assert_eq!(code.policy_word(), UNRECOGNIZED);
        assert_eq!(code.as_sent(), "immigration_assist");
        assert!(!code.is_recognized());
    }

    #[test]
    fn every_word_round_trips() {
        for (value, word) in AuthorityKind::ALL.iter().zip(AuthorityKind::WORDS) {
            assert_eq!(&AuthorityKind::parse(word), value);
            assert_eq!(value.policy_word(), *word);
        }
    }
}
