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
        /// A joint task force whose primary purpose is not immigration enforcement
        /// (Gov. Code 7284.6(b)(3)).
        TaskForce => "task_force",
        /// A joint task force whose primary purpose is immigration enforcement: treated as an
        /// immigration agency.
        ImmigrationTaskForce => "immigration_task_force",
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
    /// The legal process behind a request: what kind of document it is. Who issued it is
    /// [`Court`], what it is about is [`Matter`]; together they say who signed what.
    AuthorityKind {
        /// No legal process.
        None => "none",
        /// A warrant (arrest or search) signed by a judge or magistrate on probable cause.
        JudicialWarrant => "judicial_warrant",
        /// An order of a court.
        CourtOrder => "court_order",
        /// A judge's or magistrate's finding of probable cause (Gov. Code 7284.4(h)).
        ProbableCauseDetermination => "probable_cause_determination",
        /// A subpoena issued by or under a court (grand jury, trial).
        JudicialSubpoena => "judicial_subpoena",
        /// A DHS warrant signed by an officer, not a judge: I-200, I-203, I-205, I-286.
        AdministrativeWarrant => "administrative_warrant",
        /// A Notice to Appear (I-862): the charging document of removal proceedings, issued
        /// by DHS officers.
        NoticeToAppear => "notice_to_appear",
        /// An immigration detainer, I-247A (8 CFR 287.7).
        Detainer => "detainer",
        /// An ICE administrative subpoena, I-138.
        AdministrativeSubpoena => "administrative_subpoena",
        /// A hit in NCIC's Immigration Violator File.
        NcicImmigrationViolator => "ncic_immigration_violator",
        /// The person's own written consent to the disclosure (MCC 2-173-030(a)).
        WrittenConsent => "written_consent",
    }
}

vocabulary! {
    /// Who issued a document. An immigration court belongs to the Department of Justice's
    /// Executive Office for Immigration Review: its judges' orders are administrative, and
    /// no statute Cordon encodes treats them as a court's (CPD Special Order S06-14-03).
    Court {
        /// No court: an administrative document, a detainer, consent, or no process.
        None => "none",
        /// A United States district court, including its magistrate judges.
        Federal => "federal",
        /// A court of a State.
        State => "state",
        /// An immigration court (EOIR): not a court for these laws.
        ImmigrationCourt => "immigration_court",
        /// Not recorded: what every authority typed before courts were recorded reads as.
        NotRecorded => "not_recorded",
    }
}

vocabulary! {
    /// What a document is about.
    Matter {
        /// A crime other than one of entry, re-entry or presence.
        Criminal => "criminal",
        /// A federal crime of immigration (8 USC 1325, 1326): what Gov. Code 7284.4(h)-(i)
        /// calls federal criminal immigration law.
        CriminalImmigration => "criminal_immigration",
        /// A civil matter, including civil immigration (removal).
        Civil => "civil",
        /// Not recorded.
        NotRecorded => "not_recorded",
    }
}

vocabulary! {
    /// What a rule stands on: the law, or the deploying agency's own choice. Shown in every
    /// decision so a resident and an officer can see whether a refusal is the law or policy.
    Basis {
        /// A state statute.
        StateLaw => "state_law",
        /// A city ordinance.
        CityOrdinance => "city_ordinance",
        /// The agency's own policy, which it may change.
        AgencyChoice => "agency_choice",
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
        /// A Notice to Appear, I-862: administrative.
        NoticeToAppear => "notice_to_appear",
        /// A hit in NCIC's Immigration Violator File.
        NcicImmigrationViolator => "ncic_immigration_violator",
        /// A warrant signed by a judge or magistrate (say which court and matter).
        JudicialWarrant => "judicial_warrant",
        /// An order of a court (say which court: an immigration judge's order is
        /// `court_order` from `immigration_court`).
        CourtOrder => "court_order",
        /// A judge's or magistrate's finding of probable cause.
        ProbableCauseDetermination => "probable_cause_determination",
        /// A subpoena issued by or under a court.
        JudicialSubpoena => "judicial_subpoena",
        /// A request for information or assistance with no document (a call, an email, an
        /// OEMC notification).
        RequestForAssistance => "request_for_assistance",
        /// An ICE administrative subpoena, I-138.
        AdministrativeSubpoena => "administrative_subpoena",
        /// A request to certify a crime or trafficking victim for a U visa (I-918 Supplement
        /// B) or T visa (I-914 Supplement B): victim services, not enforcement.
        VictimCertification => "victim_certification",
        /// The person's written consent (to an interview, or to a disclosure).
        WrittenConsent => "written_consent",
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
        /// A person's criminal history (Gov. Code 7284.6(b)(2)).
        CriminalHistory => "criminal_history",
        /// Access to interview a person in custody (the TRUTH Act; Gov. Code 7284.6(b)(5)).
        Interview => "interview",
        /// Access to a person in custody, or to a facility, for an arrest or any other end.
        Access => "access",
        /// Keeping a person in custody past the time they would be released.
        Hold => "hold",
        /// Handing a person over to the requesting agency.
        Transfer => "transfer",
        /// Signing a U or T visa certification for a victim.
        Certification => "certification",
    }
}

// Written out because the enum comes from a macro shared with vocabularies that have no default.
#[allow(clippy::derivable_impls)]
impl Default for AuthorityKind {
    fn default() -> Self {
        AuthorityKind::None
    }
}

#[allow(clippy::derivable_impls)]
impl Default for Court {
    fn default() -> Self {
        Court::NotRecorded
    }
}

#[allow(clippy::derivable_impls)]
impl Default for Matter {
    fn default() -> Self {
        Matter::NotRecorded
    }
}

impl Court {
    /// A court of law for the laws Cordon encodes: a federal or a State court.
    pub fn is_court_of_law(&self) -> bool {
        matches!(self, Court::Federal | Court::State)
    }
}

impl AuthorityKind {
    /// Kinds a judge signs, so that who signed them (the court) must be recorded.
    pub fn is_judicial(&self) -> bool {
        matches!(
            self,
            AuthorityKind::JudicialWarrant
                | AuthorityKind::CourtOrder
                | AuthorityKind::ProbableCauseDetermination
                | AuthorityKind::JudicialSubpoena
        )
    }
}

impl FederalRequestKind {
    /// Kinds a judge signs, so that the court must be recorded.
    pub fn is_judicial(&self) -> bool {
        matches!(
            self,
            FederalRequestKind::JudicialWarrant
                | FederalRequestKind::CourtOrder
                | FederalRequestKind::ProbableCauseDetermination
                | FederalRequestKind::JudicialSubpoena
        )
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
