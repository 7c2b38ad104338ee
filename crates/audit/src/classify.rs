//! What a row says: whether its reason screens as immigration enforcement, whether the
//! searching organization is an immigration agency, and whether it is a side door (a
//! local agency searching with an immigration reason).
use cordon_policy::{FlagKind, Hit, Scratch, Screener};

use crate::cells::{reason_state, ReasonState};
use std::hash::BuildHasher;

use crate::fxhash::{FxBuild, FxHashMap, FxHashSet};

/// The findings for one row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowFindings {
    /// Byte spans in the reason that screened as civil immigration enforcement.
    pub immigration_terms: Vec<(u32, u32)>,
    /// The organization is a federal immigration agency (ICE, HSI, ERO, CBP, USBP, USCIS).
    pub immigration_agency: bool,
}

impl RowFindings {
    pub fn immigration_reason(&self) -> bool {
        !self.immigration_terms.is_empty()
    }

    /// A local (non-immigration) agency searching for an immigration purpose.
    pub fn side_door(&self) -> bool {
        self.immigration_reason() && !self.immigration_agency
    }

    pub fn flagged(&self) -> bool {
        self.immigration_reason() || self.immigration_agency
    }

    /// The flag names, as written into flagged.csv.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.immigration_reason() {
            v.push("immigration");
        }
        if self.immigration_agency {
            v.push("immigration_agency");
        }
        if self.side_door() {
            v.push("side_door");
        }
        v
    }
}

/// Classifies rows; one per worker thread (it holds reusable buffers).
pub struct Classifier<'s> {
    screener: &'s Screener,
    scratch: Scratch,
    hits: Vec<Hit>,
    /// Organization names repeat on nearly every row: remember each one's answer.
    agencies: FxHashMap<String, bool>,
    /// So do reasons ("investigation" is half of some logs): remember what each says,
    /// keyed by the reason's hash, which the seen-once set shares, so a reason is hashed
    /// once however it is answered.
    reasons: FxHashMap<u64, Remembered>,
    /// Hashes of reasons seen once and not yet remembered. Many reasons are one of a
    /// kind (a case number, a name): remembering those filled the map with text never
    /// asked for again, each an allocation, and pushed the common ones out of the cache.
    seen_once: FxHashSet<u64>,
}

/// A reason remembered with what it says.
struct Remembered {
    text: Box<str>,
    terms: Vec<(u32, u32)>,
    state: ReasonState,
}

/// Distinct reasons remembered per worker before the rest are screened anew each time.
const MAX_CACHED_REASONS: usize = 100_000;

/// Distinct organization names remembered per worker before the rest are worked out anew.
const MAX_CACHED_ORGS: usize = 50_000;

impl<'s> Classifier<'s> {
    pub fn new(screener: &'s Screener) -> Self {
        Classifier {
            screener,
            scratch: Scratch::default(),
            hits: Vec::new(),
            agencies: FxHashMap::default(),
            reasons: FxHashMap::default(),
            seen_once: FxHashSet::default(),
        }
    }

    pub fn classify(&mut self, reason: &str, org: &str) -> RowFindings {
        self.classify_with_state(reason, org).0
    }

    /// The findings and what the reason says (see [`reason_state`]).
    pub fn classify_with_state(&mut self, reason: &str, org: &str) -> (RowFindings, ReasonState) {
        let agency = self.agency(org);
        self.classify_reason(reason, reason.len(), agency)
    }

    /// As [`Classifier::classify_with_state`], for an organization already looked up.
    /// `reason` is everything screened; its first `stated` bytes are what the requester
    /// gave as the reason, which alone say whether a purpose was stated (a search prompt
    /// or filters after them are screened, not read as a reason).
    pub fn classify_reason(
        &mut self,
        reason: &str,
        stated: usize,
        agency: bool,
    ) -> (RowFindings, ReasonState) {
        let h = FxBuild::default().hash_one(reason);
        // `None`: never remembered; `Some(None)`: another reason with the same hash was.
        let known = self
            .reasons
            .get(&h)
            .map(|r| (*r.text == *reason).then(|| (r.terms.clone(), r.state)));
        let (terms, state) = match known {
            Some(Some(found)) => found,
            collided => {
                let terms = self.screen(reason);
                // A reason screening reads as immigration states a purpose, whatever its
                // words look like ("287g" is not a case number).
                let state = if terms.is_empty() {
                    reason_state(reason.get(..stated).unwrap_or(reason))
                } else {
                    ReasonState::Stated
                };
                if collided.is_none()
                    && self.reasons.len() < MAX_CACHED_REASONS
                    && self.seen_before(h)
                {
                    let text = reason.into();
                    let terms = terms.clone();
                    self.reasons.insert(h, Remembered { text, terms, state });
                }
                (terms, state)
            }
        };
        let findings = RowFindings {
            immigration_terms: terms,
            immigration_agency: agency,
        };
        (findings, state)
    }

    /// Whether a reason with hash `h` (probably) came before: a reason is remembered the
    /// second time it is screened. A hash collision only makes a reason remembered a time
    /// early.
    fn seen_before(&mut self, h: u64) -> bool {
        if self.seen_once.len() >= MAX_CACHED_REASONS {
            self.seen_once.clear();
        }
        !self.seen_once.insert(h)
    }

    /// The spans of `text` that screen as civil immigration enforcement, not remembered
    /// (for text that rarely repeats, such as a case number).
    pub fn screen_words(&mut self, text: &str) -> Vec<(u32, u32)> {
        self.screen(text)
    }

    fn screen(&mut self, reason: &str) -> Vec<(u32, u32)> {
        self.hits.clear();
        self.screener
            .scan(reason, &mut self.scratch, &mut self.hits);
        self.hits
            .iter()
            .filter(|h| h.kind == FlagKind::CivilImmigration)
            .map(|h| (h.start, h.end))
            .collect()
    }

    /// Whether an organization is an immigration agency (remembered per name).
    pub fn agency(&mut self, org: &str) -> bool {
        if let Some(&known) = self.agencies.get(org) {
            return known;
        }
        let answer = is_immigration_agency(org);
        if self.agencies.len() < MAX_CACHED_ORGS {
            self.agencies.insert(org.to_string(), answer);
        }
        answer
    }
}

/// Whole words that name an immigration agency or component in an organization name.
const AGENCY_WORDS: [&str; 8] = ["ice", "hsi", "ero", "cbp", "usbp", "uscis", "eoir", "hstf"];
/// Phrases that do, compared on lowercased words joined by single spaces.
const AGENCY_PHRASES: [&str; 15] = [
    "immigration and customs",
    "immigration enforcement",
    "immigration and naturalization",
    "us customs",
    "customs and border",
    "removal operations",
    "enforcement and removal",
    "homeland security task force",
    "287 g",
    "immigration and customs enforcement",
    "homeland security investigations",
    "enforcement and removal operations",
    "customs and border protection",
    "border patrol",
    "citizenship and immigration services",
];

/// Whether an organization name (as a Flock export writes it, e.g. "[Federal] U.S.
/// Immigration and Customs Enforcement (ICE)") is a federal immigration agency.
pub fn is_immigration_agency(org: &str) -> bool {
    // Read as reasons are (look-alike letters, invisible characters), and with "and" left
    // out: "Immigration & Customs Enforcement", "Immigration &amp; Customs Enforcement"
    // and "Immigration/Customs Enforcement" are one name.
    let folded = cordon_policy::screen::fold_words(org);
    let words = join_single_letters(
        folded
            .split(' ')
            .filter(|w| !matches!(*w, "and" | "amp" | ""))
            .collect(),
    );
    if words.iter().any(|w| made_of_agencies(w)) || names_immigration(&words) {
        return true;
    }
    // "BorderPatrol", "CustomsandBorderProtection": a phrase written as one word.
    let run_together = |p: &&str| {
        let joined: String = p.split(' ').collect();
        let without_and: String = p.split(' ').filter(|w| *w != "and").collect();
        words.iter().any(|w| *w == joined || *w == without_and)
    };
    if AGENCY_PHRASES.iter().any(run_together) {
        return true;
    }
    AGENCY_PHRASES.iter().any(|p| {
        let phrase: Vec<&str> = p.split(' ').filter(|w| *w != "and").collect();
        words.windows(phrase.len()).any(|w| {
            w.iter()
                .zip(&phrase)
                .all(|(said, full)| abbreviates(said, full))
        })
    })
}

/// "Immigration" in an organization's name, unless the name is a lawyer's, a clinic's or
/// an advocate's ("US Immigration", "Immigration Office", "Immigration Court").
fn names_immigration(words: &[String]) -> bool {
    // A city's office for immigrants ("Immigration Services Office - City of Chicago") is
    // no agency either; USCIS is matched by its full name above.
    const NOT_ENFORCEMENT: [&str; 13] = [
        "law",
        "legal",
        "lawyers",
        "attorney",
        "attorneys",
        "clinic",
        "advocates",
        "advocacy",
        "rights",
        "services",
        "city",
        "refugee",
        "resettlement",
    ];
    let enforces = words.iter().any(|w| w == "enforcement");
    words.iter().any(|w| w == "immigration")
        && (enforces || !words.iter().any(|w| NOT_ENFORCEMENT.contains(&w.as_str())))
}

/// Whether a word is agency acronyms run together ("iceero" from "I.C.E.-E.R.O."), perhaps
/// after "us" ("usice" from "U.S. I.C.E." or "USICE").
fn made_of_agencies(word: &str) -> bool {
    let mut rest = word
        .strip_prefix("us")
        .filter(|r| !r.is_empty())
        .unwrap_or(word);
    if AGENCY_WORDS.contains(&word) {
        return true;
    }
    while !rest.is_empty() {
        let Some(a) = AGENCY_WORDS.iter().find(|a| rest.starts_with(*a)) else {
            return false;
        };
        rest = &rest[a.len()..];
    }
    true
}

/// Initials written apart ("I C E", from "I.C.E.") as one word.
fn join_single_letters(words: Vec<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut run = String::new();
    for w in words {
        if w.len() == 1 {
            run.push_str(w);
            continue;
        }
        if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
        out.push(w.to_string());
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// Whether `said` is `full` or its abbreviation as agency names are cut short in exports
/// ("Enf", "Prot.", "Sec", "Invest", "Ops", "Ptl"): at least three of its letters, in
/// order, starting with its first.
fn abbreviates(said: &str, full: &str) -> bool {
    if said == full {
        return true;
    }
    let starts_alike = said.as_bytes().first() == full.as_bytes().first();
    let mut letters = full.bytes();
    let in_order = said.bytes().all(|b| letters.any(|f| f == b));
    // "Boarder": the full word with one letter slipped in.
    let mut typed = said.bytes();
    let one_extra = said.len() == full.len() + 1 && full.bytes().all(|b| typed.any(|s| s == b));
    said.len() >= 3 && starts_alike && (in_order || one_extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immigration_agencies_are_recognized_by_name_and_acronym() {
        for org in [
            "[Federal] U.S. Immigration and Customs Enforcement (ICE)",
            "ICE ERO Chicago",
            "DHS - HSI",
            "U.S. Border Patrol",
            "Customs and Border Protection",
            "USCIS Fraud Detection",
            "Immigration & Customs Enforcement",
            "U.S. Customs&Border Protection",
            "Enforcement & Removal Operations - Chicago",
            "Immigration &amp; Customs Enforcement",
            "Immigration/Customs Enforcement",
            "\u{0406}\u{0421}\u{0415} Chicago",
            "I\u{200B}CE",
            "\u{FF29}\u{FF23}\u{FF25}",
            "Immigration and Customs Enforce\u{00AD}ment",
            // Found by an outside attack on the audit: initials and cut-short names.
            "I.C.E.",
            "US Immigration & Customs Enf",
            "U.S. Customs & Border Prot.",
            "Enforcement & Removal Ops",
            "Homeland Sec Invest",
            // Found by a fourth outside attack.
            "U.S. I.C.E.",
            "USICE",
            "I.C.E.-E.R.O.",
            "Immigration & Customs",
            "Immigration Enforcement",
            "US Customs",
            "US Border Ptl",
            "U.S. Bdr Patrol",
            // Found by a sixth.
            "US Boarder Patrol",
            "Customs and Boarder Protection",
            "Customs & Border",
            "BorderPatrol",
            "CustomsandBorderProtection",
            "Immigration",
            "US Immigration",
            "Immigration Office",
            "Immigration and Naturalization Service",
            "Removal Operations",
            "DHS Enforcement & Removal",
            "HSTF Chicago",
            "Homeland Security Task Force - Chicago",
            "287(g) Task Force",
            "Department of Immigration",
            "Immigration Law Enforcement Unit",
        ] {
            assert!(is_immigration_agency(org), "{org}");
        }
        for org in [
            "Rice County Sheriff",
            "Chicago Police Department",
            "[Federal] Federal Bureau of Investigation (FBI)",
            "Office of Justice Services",
            "Danville PD",
            "Border County Sheriff",
            "I.C. Police",
            "Customs House Museum Security",
            "Usher County Sheriff",
            "Icelandic Consulate Security",
            "Border Protection Services LLC",
            "Customs Brokers Association",
            "Immigration Law Clinic",
            "US Marshals Service",
            "Custer County Sheriff",
            "Bordentown PD",
            "Borden County Sheriff",
            "Southwest Border HIDTA",
            "Alice PD",
            "Immigrant Legal Resource Center",
            "Immigration Rights Coalition",
            "Immigration Services Office - City of Chicago",
            "Homeland Park PD",
            "Border City PD",
        ] {
            assert!(!is_immigration_agency(org), "{org}");
        }
    }

    /// Filters and prompts are screened too: what they say about vehicles must not read
    /// as immigration.
    #[test]
    fn vehicle_filters_and_prompts_are_not_immigration() {
        let s = Screener::new();
        let mut c = Classifier::new(&s);
        for text in [
            "Vehicle Color: Ice Blue",
            "Color: ice white; Make: Toyota",
            "Hotlist: Stolen Vehicles",
            "Body Type: SUV, Color: Silver",
            "white pickup with ladder rack near Ice House Rd",
            "Out of State plates",
        ] {
            assert!(
                !c.classify_with_state(text, "Dallas PD").0.flagged(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_reason_screening_reads_as_immigration_is_not_also_counted_as_saying_nothing() {
        let s = Screener::new();
        let mut c = Classifier::new(&s);
        for reason in ["287g", "I-247A", "ICE"] {
            let (findings, state) = c.classify_with_state(reason, "Dallas PD");
            assert!(findings.flagged(), "{reason}");
            assert_eq!(state, ReasonState::Stated, "{reason}");
        }
    }

    #[test]
    fn a_reason_is_remembered_only_once_it_repeats_and_answers_the_same_either_way() {
        let s = Screener::new();
        let mut c = Classifier::new(&s);
        let once = c.classify_with_state("ICE ERO case 2024-118", "Dallas PD");
        assert!(
            c.reasons.is_empty(),
            "a one-of-a-kind reason was remembered"
        );
        let twice = c.classify_with_state("ICE ERO case 2024-118", "Dallas PD");
        assert_eq!(c.reasons.len(), 1, "a repeated reason was not remembered");
        let remembered = c.classify_with_state("ICE ERO case 2024-118", "Dallas PD");
        assert_eq!(once, twice);
        assert_eq!(once, remembered);
        assert!(once.0.immigration_reason());
    }

    #[test]
    fn a_reason_whose_hash_another_holds_is_screened_not_answered_from_memory() {
        let s = Screener::new();
        let mut c = Classifier::new(&s);
        let reason = "ICE ERO detainer";
        let h = FxBuild::default().hash_one(reason);
        // What a collision looks like: another reason remembered under this one's hash.
        c.reasons.insert(
            h,
            Remembered {
                text: "stolen vehicle".into(),
                terms: Vec::new(),
                state: ReasonState::Stated,
            },
        );
        for _ in 0..3 {
            let (f, _) = c.classify_with_state(reason, "Dallas PD");
            assert!(
                f.immigration_reason(),
                "answered with the other reason's findings"
            );
        }
        assert_eq!(
            &*c.reasons[&h].text, "stolen vehicle",
            "the first was replaced"
        );
    }

    #[test]
    fn a_local_agency_with_an_immigration_reason_is_a_side_door() {
        let s = Screener::new();
        let mut c = Classifier::new(&s);
        let f = c.classify("ICE+ERO", "Dallas PD");
        assert!(f.immigration_reason() && f.side_door() && f.flagged());
        let f = c.classify("stolen vehicle", "ICE ERO");
        assert!(f.immigration_agency && !f.side_door() && f.flagged());
        let f = c.classify("black ice crash", "Dallas PD");
        assert!(!f.flagged(), "{f:?}");
    }
}
