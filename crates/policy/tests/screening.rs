//! Screening reads reasons the way a careful auditor would: it finds immigration
//! enforcement however it is written, leaves ordinary police work alone, and always
//! points at the words it acted on.

use cordon_policy::screen::eval::{parse_labeled, score};
use cordon_policy::{FlagKind, Screener};
use proptest::prelude::*;

fn flagged(text: &str) -> bool {
    Screener::new().screen(text).has(FlagKind::CivilImmigration)
}

fn report(file: &str) -> cordon_policy::screen::eval::Report {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = parse_labeled(&text).unwrap_or_else(|e| panic!("{e}"));
    score(&Screener::new(), &rows, FlagKind::CivilImmigration)
}

#[test]
fn held_out_reasons_reach_the_target_precision_and_recall() {
    let r = report("held-out-reasons.tsv");
    assert!(
        r.true_positive + r.false_negative >= 70,
        "too few positives to measure"
    );
    assert!(r.precision() >= 0.99 && r.recall() >= 0.99, "{r}");
}

/// The blind set: written from the requirement paragraph alone by someone who never saw
/// the rules, committed before the rules were changed. Its first score is the honest one
/// (crates/policy/BENCHMARKS.md); this test holds the rules to the targets on it.
#[test]
fn the_blind_set_meets_the_targets() {
    let r = report("blind-reasons.tsv");
    assert!(
        r.true_positive + r.false_negative >= 300,
        "the blind set needs at least 300 immigration examples"
    );
    assert!(r.precision() >= 0.99 && r.recall() >= 0.99, "{r}");
}

/// Reasons as officers type them, written by an outside reviewer with only the binary
/// (tests/data/outside-look-reasons.tsv). First score 77/80 found, 10 of 120 refused in
/// error; the rules were changed once after it, so this holds them where they now stand,
/// below the targets: names written "SURNAME, FIRST" and a plate with no plate word are
/// still refused, "NTA" and "final order" still missed (crates/policy/BENCHMARKS.md).
#[test]
fn an_outside_reviewers_realistic_reasons_stay_where_they_were_scored() {
    let r = report("outside-look-reasons.tsv");
    assert!(
        r.true_positive + r.false_negative >= 80 && r.true_negative + r.false_positive >= 120,
        "{r}"
    );
    assert!(r.false_negative <= 2 && r.false_positive <= 4, "{r}");
}

/// Real reasons from public releases (tests/data/precision-reasons.tsv says which, and how
/// they were scrubbed): almost all ordinary police work, so flags must stay near zero.
#[test]
fn real_reasons_from_public_releases_are_almost_never_flagged() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/precision-reasons.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let screener = Screener::new();
    let (mut searches, mut distinct) = (0u64, 0u64);
    let (mut flagged_searches, mut flagged) = (0u64, Vec::new());
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (count, reason) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let count: u64 = count.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"));
        searches += count;
        distinct += 1;
        if screener.screen(reason).has(FlagKind::CivilImmigration) {
            flagged_searches += count;
            flagged.push(reason.to_string());
        }
    }
    assert!(
        distinct >= 1000 && searches >= 40_000,
        "{distinct} reasons, {searches} searches"
    );
    let rate = flagged_searches as f64 / searches as f64;
    assert!(
        rate <= 0.001 && flagged.len() <= 2,
        "flag rate {rate:.4} over {searches} searches; flagged: {flagged:?}"
    );
}

#[test]
fn statutory_terms_are_read_in_any_spelling() {
    for text in [
        "expedited removal case",
        "removal reinstated - locate",
        "stipulated removal order",
        "fugitive alien locate",
        "harboring aliens",
        "alien smuggling 8 USC 1324",
        "EWI",
        "subj is e.w.i.",
        "entered without inspection",
        "unlawfully present",
        "unlawful presence",
        "out of status student",
        "no lawful status",
        "INS",
        "I.N.S. hold",
        "I N S",
        "A# lookup",
        "A-file",
        "A 123456789",
        "8USC1326",
        "INA 237",
        "I 213",
        "287 (g)",
        "visa overstay",
        "boarder patrol",
        "illegal allien",
        "reingreso ilegal",
        "orden de remoción",
        "Secure Communities",
        "voluntary departure",
    ] {
        assert!(flagged(text), "{text}");
    }
}

#[test]
fn look_alikes_of_the_statutory_terms_are_not_immigration() {
    for text in [
        "no ins",
        "proof of ins",
        "INS CARD EXPIRED",
        "crash on I-205 NB",
        "out of county detainer",
        "state parole detainer",
        "reentry program check-in",
        "A number of cars broken into",
        "ice pick",
        "Ice Palace parking lot theft",
        "ice skates",
        "removed from premises",
        "removed vehicle",
        "illegal U-turn",
        "out of state plate",
        "U visa certification",
        "I-918B victim certification",
        "ICAC",
        // Denied at the gateway before (an outside attack): falls and skids on ice.
        "slipped on ice",
        "pedestrian fell on ice outside store",
        "vehicle skidded on ice into pole",
        "ice scraper assault",
        "ice packs stolen",
        "ice jam flood",
        "slipped on the ice",
        "vehicle skidded on the ice",
        "tripped on ice outside store",
        "SLIPPED ON ICE OUTSIDE STORE",
        // Reported as false positives by an outside look: crashes, the interstate, a
        // rapper, car insurance.
        "lost control on ice",
        "crash on ice",
        "vehicle crashed on the ice",
        "car went through the ice",
        "child fell through the ice",
        "I-205 pursuit",
        "I205 crash",
        "Vanilla Ice concert",
        "Auto INS fraud",
    ] {
        assert!(!flagged(text), "{text}");
    }
    // A fall beside the agency does not excuse it (a fourth outside attack).
    for text in [
        "locate subject for ICE; subject slipped on ice",
        "ICE target slipped",
        "assist ICE fell on ice",
        "ICE skidded",
        "assist ICE ice packs",
        // A fifth: the acronym in capitals after a fall, or before "packs".
        "subject slipped on ICE radar",
        "fell on ICE watchlist",
        "ICE packs up family for removal",
        "I205 warrant",
        "went through ICE database",
        "INS hold",
    ] {
        assert!(flagged(text), "{text}");
    }
}

/// Frozen water excuses only the ice it is written beside, and a victim named somewhere in
/// the reason does not make ICE's request a victim's business (a fifth outside look).
#[test]
fn frozen_water_or_a_victim_elsewhere_does_not_excuse_the_agency() {
    for text in [
        "ice cream for ICE",
        "ICE ice rink",
        "ICE ICE RINK",
        "slipped on ice patch, ICE",
        "ICE requests victim address",
        "locate victim for ICE",
        "ICE wants victim's new address",
    ] {
        assert!(flagged(text), "{text}");
    }
    for text in [
        "ICE cream truck hit and run",
        "ice cream truck",
        "black ice crash",
        "ICE impersonator scam - victim report",
        "victim of ICE impersonation",
        "U visa certification signed by ICE - victim",
        "I-918B for victim, ICE certifying",
    ] {
        assert!(!flagged(text), "{text}");
    }
}

#[test]
fn the_regression_set_stays_correct() {
    let r = report("sealed-reasons.tsv");
    assert!(r.precision() >= 0.99 && r.recall() >= 0.99, "{r}");
}

#[test]
fn separators_and_dots_do_not_hide_an_agency() {
    for text in [
        "ICE+ERO",
        "ice/ero",
        "I.C.E.",
        "ICE_ERO",
        "HSI-ERO locate",
        "ice-ero",
        "E.R.O.",
        // Acronyms run together, as exports write them.
        "ICEERO",
        "assist ICEERO locate",
        "HSIICE",
        "iceHSI op",
        "DHSICEERO",
        "ICE2025-1",
        "ERO2025-1",
        // Acronyms joined to a word or a number, as a hurried hand writes them (a fourth
        // outside attack): capitals meeting small letters part there.
        "assistICE",
        "ICEagents",
        "ICEAgents at the door",
        "locate for ICEs",
        "2025ICE",
        "25ERO-114",
        "ICEs",
        "EOIR-2025-0412",
        "EOIR hearing",
    ] {
        assert!(flagged(text), "{text}");
    }
    // A word that only starts like them, or ICE doubled, is not an agency.
    for text in [
        "icecream truck",
        "iceice baby",
        "heroic rescue",
        "dhsmith",
        "ice2 cube",
        "Niceville",
        "NICEville",
        "PoliceDept",
        "SERVICE call",
        "2025 ice storm",
    ] {
        assert!(!flagged(text), "{text}");
    }
}

/// A reason that reads "ICE" to a person must read so to the screener: characters that
/// print as nothing inside the word, fullwidth letters and Cyrillic or Greek look-alikes
/// were each a way around it (found by an outside attack on the gateway's reason header).
#[test]
fn invisible_characters_fullwidth_and_look_alike_letters_do_not_hide_an_agency() {
    for text in [
        "assist I\u{200B}CE",
        "assist I\u{00AD}CE",
        "assist I\u{200D}C\u{2060}E E\u{200B}RO",
        "assist \u{0406}\u{0421}\u{0415}",
        "assist \u{FF29}\u{FF23}\u{FF25}",
        "\u{FF29}\u{FF4D}\u{FF4D}\u{FF49}\u{FF47}\u{FF52}\u{FF41}\u{FF54}\u{FF49}\u{FF4F}\u{FF4E}",
        "I\u{0307}CE",
        "deportacio\u{0301}n",
        "\u{FEFF}ICE ERO",
        // Found by a second outside attack.
        "search for \u{1D408}\u{1D402}\u{1D404}",
        "search for \u{24BE}\u{24B8}\u{24BA}",
        "search for \u{2160}CE",
        "search for \u{026A}\u{1D04}\u{1D07}",
        "search for I\u{3164}CE",
        "search for I\u{2800}CE",
        "search for I\u{0600}CE",
        "search for I-C-E",
        "search for I/C/E",
        "search for I\u{A0}C\u{A0}E",
        "search for I  C  E",
        "search for I_C_E",
        "imm\u{0131}grat\u{0131}on status",
        "\u{0130}CE",
        "search for \u{13A5}CE",
        // Found by a third: characters that print as nothing between words ran the words
        // together, and a right-to-left override shows reversed letters as the words.
        "assist\u{200B}ICE\u{200B}ERO",
        "assist\u{2060}ICE",
        "assist\u{FEFF}ICE\u{00AD}ERO locate",
        "deportation\u{200C}hold",
        "assist \u{202E}ORE ECI\u{202C} with locate",
        "\u{202E}1-52-ECI\u{202C}",
        // Form numbers with the dash a word processor puts for a hyphen, or a minus sign.
        "I\u{2013}213",
        "I\u{2010}247A",
        "I\u{2212}213",
        "I\u{FF0D}213",
        // Found by a fourth: the override read one way only hid the words as sent, and an
        // invisible character between every letter of run-together acronyms.
        "\u{202E}ICE ERO\u{202C}",
        "\u{202E}deportation\u{202C}",
        "x \u{202E}detainer ICE\u{202C}",
        "\u{202E}ICEERO\u{202C}",
        "\u{202E}ICE",
        "\u{202E}I-247A\u{202C}",
        "I\u{200B}C\u{200B}E\u{200B}E\u{200B}R\u{200B}O",
        "H\u{2060}S\u{2060}I\u{2060}I\u{2060}C\u{2060}E",
        // More invisible characters than the tokenizer once remembered in one word, and a
        // word longer than any known one run into the agency.
        "a\u{200B}b\u{200B}c\u{200B}d\u{200B}e\u{200B}ICE",
        "x\u{200B}x\u{200B}x\u{200B}x\u{200B}x\u{200B}x\u{200B}ICE\u{200B}ERO",
        "I\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}CE",
        "assistanceassistanceassistance\u{200B}ICE",
        "assistanceassistance\u{200B}ICE\u{200B}assistanceassistance",
        // Characters that print as nothing outside the first set, and spaces or dots of
        // other widths between the letters (a fifth outside look).
        "search for I\u{17B4}CE",
        "search for I\u{1BCA0}CE",
        "search for I\u{FFF9}CE",
        "search for I\u{202F}C\u{202F}E",
        "search for I\u{2002}C\u{2002}E",
        "search for I\u{3000}C\u{3000}E",
        "search for I\u{FF0E}C\u{FF0E}E\u{FF0E}",
        // Dotted acronyms run together, and the country before the agency.
        "I.C.E.E.R.O",
        "H.S.I.I.C.E. op",
        "USICE locate",
        "U.S.I.C.E.",
    ] {
        assert!(flagged(text), "{text:?}");
    }
    for text in [
        "ice\u{200B} cream truck",
        "\u{0411}\u{043B}\u{0430}\u{0433}\u{043E}",
    ] {
        assert!(!flagged(text), "{text:?}");
    }
}

/// A sixth outside look, at the rules above: a victim's visa named anywhere excused any
/// agency, drug words anywhere excused ICE, letters with a dot and a space ("I. C. E.")
/// were not joined, and frozen words before the acronym excused it. And false positives
/// on licence plates, rooms numbered like forms, crashes in capitals and criminal
/// detainers.
#[test]
fn a_victim_or_drug_words_elsewhere_do_not_excuse_what_is_done_to_a_person() {
    for text in [
        "U visa; ICE arrest",
        "U visa; ICE hold",
        "U visa; immigration hold",
        "I-918B; deportation officer wants address",
        "U visa, CBP wants address",
        "ICE removal VAWA",
        "ICE locate subject (victim has U visa pending)",
        "T visa: ICE wants location",
        "ICE requests address; subject has drug priors",
        "ICE collateral arrest, drug priors",
        "ICE at-large arrest, drug conviction",
        "ICE wants subject, prior meth conviction",
        "ICE wants subject, prior possession charge",
        "I. C. E. request",
        "E. R. O. request",
        "H. S. I.",
        "C. B. P.",
        "I .C .E request",
        "I:C:E request",
        "I*C*E request",
        "ice cream ICE request for address",
        "black ICE agents",
        "frozen ICE agents",
        "ICE hockey ICE agent",
        "ICE Storm operation locate subject",
        "ICE AGENT HOCKEY GAME",
        "ICE AGENTS ROAD",
        "deportarlo",
        "sin documentos",
        "orden de expulsi\u{F3}n",
        "deportee",
        "assist I.C.E. w/ locate",
        "I.\u{200B}C.\u{200B}E. request",
        "E.\u{200B}R.\u{200B}O. request",
        "I \u{200B}C E request",
        "I\u{2013}C\u{2013}E agents",
        "I\u{5B0}C\u{5B0}E request",
        "I\u{13430}C\u{13430}E request",
    ] {
        assert!(flagged(text), "{text:?}");
    }
    for text in [
        "Plate 7ICE402 stolen vehicle",
        "Stolen veh CA 8ICE221",
        "LPR hit 6HSI441",
        "Flock hit on plate 9ERO337",
        "Plate 5CBP900",
        "speeding on I-205",
        "shots fired I-205 overpass",
        "I205 SB hit and run",
        "pursuit on I 205",
        "Room I-205",
        "Suite I-200",
        "Unit I-213",
        "Apt I 213",
        "Locker I-213",
        "Evidence item I-213",
        "CRASH DUE TO ICE",
        "MVA ON ICE",
        "VEH SPUN OUT ON ICE",
        "UC BUY OF ICE",
        "ICE SALES",
        "1 OZ ICE",
        "DOC detainer",
        "BOP detainer",
        "USMS detainer",
        "federal detainer USMS",
        "detainer warrant from IDOC",
        "Interstate Agreement on Detainers",
        "U visa certification signed by ICE - victim",
        "I-918B for victim, ICE certifying",
        "U visa certification request from victim",
        "USCIS victim certification",
        "ICE (in case of emergency) contact for runaway",
        "ICE cream truck hit and run",
        "deportivo",
        "deportes",
        "Club Deportivo theft",
        "ice sale",
        "arrested for possession of ice",
        "ice possession arrest",
    ] {
        assert!(!flagged(text), "{text:?}");
    }
}

/// A seventh outside look, at the fixes above: a victim anywhere still excused
/// deportation and alien terms, "contact" excused ICE, "immigration law" was a topic even
/// when enforced, letters with two spaces or other separators were not joined; and crime
/// victims, Interstate 205, ice incidents in capitals, plates and criminal detainers were
/// refused.
#[test]
fn victims_excuse_only_the_words_beside_them_and_incidents_on_ice_are_not_immigration() {
    for text in [
        "enforce immigration law",
        "immigration law violation, locate subject",
        "immigration law violator, arrest",
        "civil immigration law, subject address",
        "victim: n/a. subject illegal alien for deportation, need home address",
        "no victims; illegal alien, plate reads",
        "victim: DHS, deportation",
        "U visa - victim's abuser is illegal alien, immigration enforcement",
        "victim; deportable alien, find him",
        "U visa cert signed; ICE deportation",
        "I-918B; ICE deport",
        "U visa cert signed ICE arresting",
        "U visa cert signed ICE removed",
        "U visa cert signed ICE detention",
        "contact ICE with plate reads",
        "ICE contact requested LPR hits",
        "ICE contact to arrest subject at home",
        "ICE contact to detain",
        "I.  C.  E. agents",
        "I . C . E . agents",
        "I - C - E agents",
        "I / C / E agents",
        "I;C;E",
        "I!C!E",
        "I=C=E",
        "I#C#E",
        "ICE TGT LAKE ST",
        "ICE OPERATION STORM",
        "ICE SUBJECT WATER ST",
        "I\u{200B}.C\u{200B}.E request",
        "I\u{3002}C\u{3002}E",
        "I\u{30FB}C\u{30FB}E",
        "I\u{2219}C\u{2219}E",
        "I\u{387}C\u{387}E",
        "I\u{2027}C\u{2027}E",
    ] {
        assert!(flagged(text), "{text:?}");
    }
    for text in [
        "U visa certification for victim; victim's immigration status pending, suspect in custody",
        "VAWA: victim seeking immigration relief, abuser in custody",
        "VAWA victim; husband threatened to call ICE on her, husband arrested",
        "DV: suspect threatened to report victim to immigration, locate suspect",
        "extortion: suspect threatened victim with deportation, locate suspect",
        "victim fears deportation, locate suspect",
        "man impersonating ICE agent, locate",
        "hit and run on I-205 near Airport Way",
        "stolen car recovered at I-205 and Division",
        "DUI on I-205 bridge",
        "shots fired on I-205",
        "road rage I-205",
        "ROLLOVER ON ICE",
        "JACKKNIFED ON ICE",
        "SNOWMOBILE THROUGH ICE",
        "PERSON THROUGH THE ICE",
        "FISHERMAN STRANDED ON ICE",
        "ICE RESCUE",
        "MVC ICE",
        "ACCIDENT ICE ON RD",
        "stolen vehicle TX plate ICE-1234",
        "NY plate ICE1234 hit and run",
        "IL plate ICE 4521 stolen",
        "PWID ICE",
        "overdose on ICE",
        "shard of ICE",
        "Schedule I, C, E controlled substances",
        "exhibits I, C, E",
        "IAD detainer from Ohio",
        "CDCR detainer",
        "TDCJ detainer",
        "FBI detainer",
        "DEA detainer",
        "sheriff detainer",
        "juvenile detainer",
        "ICE contact listed for missing juvenile",
        "ICE (in case of emergency) contact for runaway",
        "arrested for possession of ice",
        "ice sale",
    ] {
        assert!(!flagged(text), "{text:?}");
    }
}

/// An eighth outside look, with reasons as officers type them: "ICE REQ - NARCOTICS" was
/// read as meth, "IMM COURT", "FUG OPS", "LESC" and other shorthand were missed; names
/// ("AKA ICE", "MR ERO"), plates ("PLATE HSI 221"), meth ("POSS ICE"), traffic collisions,
/// sheriffs' detainers, a state's human services called DHS and threatened victims were
/// refused.
#[test]
fn shorthand_as_officers_type_it_is_read_both_ways() {
    for text in [
        "ICE REQ - NARCOTICS",
        "ICE REQ - DRUG TRAFFICKER",
        "ICE REQ DRUG CHARGES",
        "ICE REQ - DEALER",
        "ICE REQ - SALES",
        "ICE REQ - BUY",
        "ICE REQ - CRASH SUSP",
        "ICE REQ ARENA",
        "ICE TGT - PRIOR DRUG CONVICTION",
        "ICE TGT PRIOR METH CONV",
        "IMM CASE",
        "IMM VIOL",
        "IMM FUG",
        "IMM FUGITIVE",
        "IMM COURT",
        "IMM JUDGE ORDER",
        "FED IMM",
        "CHECK STATUS - IMM",
        "FEDERAL HOLD - IMM",
        "PAROLE VIOLATOR - IMM",
        "FUG OPS",
        "FUGOPS TGT",
        "FUGITIVE OPERATIONS TEAM",
        "CAP REQ",
        "CAP TGT",
        "ENF & REMOVAL",
        "LESC",
        "ISAP",
        "OPLA",
        "BPA REQ",
        "BP AGENT REQ LOC",
        "UNDOC SUBJ",
        "H1B OVERSTAY",
        "STUDENT VISA VIOL",
        "NOT LAWFULLY PRESENT",
        "NONCITIZEN LOCATE",
        "INADMISSIBLE",
        "IJ ORDER",
        "pull alien file",
        "ICE2025-1 plate reads",
    ] {
        assert!(flagged(text), "{text:?}");
    }
    for text in [
        "AKA ICE",
        "MONIKER ICE",
        "LIL ICE",
        "SUSP GOES BY ICE",
        "MR ERO",
        "SUBJ NAMED HSI",
        "PLATE HSI 221",
        "LPR HIT PLATE HSI4421",
        "PLATE ERO882",
        "TAG ERO 55",
        "TX PLT ERO4412",
        "PLT# ICE4421",
        "PLATE CBP123",
        "PLATE DHS 441",
        "POSS ICE",
        "POSS OF ICE",
        "ICE POSS",
        "NARCO - ICE",
        "NARCS ICE",
        "ICE LAB",
        "ICE TRAFFICKER",
        "ICE AND FENT",
        "TC ON ICE",
        "TC - ICE",
        "ICE HAZARD",
        "ICE PALACE",
        "DETAINER FROM LASO",
        "DETAINER - LASD",
        "DETAINER FROM ORANGE CO",
        "DETAINER FOR SMITH CO",
        "ADMIN HOLD - JAIL",
        "ADMIN WARRANT PAROLE",
        "CDCR ADMIN WARRANT",
        "DHS REFERRAL",
        "CPS/DHS REFERRAL",
        "DHS SUBJECT (DEPT HUMAN SVCS)",
        "EXTORTION - THREAT TO REPORT TO IMMIGRATION",
        "EXTORTION THREAT OF DEPORTATION",
        "VIC AFRAID OF DEPORTATION",
        "HSI ICAC",
        "REMOVAL ORDER DV",
        "REMOVAL ORDER - RESTRAINING",
        "RECKLESS DRIVING I-200",
        "OUT OF STATUS REG",
        "REG OUT OF STATUS",
        "LEGAL STATUS OF VEH",
        "DEPORTMENT",
        "IMM THREAT",
        "INS check",
        "DHS APS elder abuse",
        "pl HSI882",
        "CBP7731 lpr hit",
        "ERO1234 stolen plate",
        "ERO auto shop burglary",
        "IMM DANGER TO OFFICERS",
        "ICE SALES",
        "PWID ICE",
        "arrested for possession of ice",
    ] {
        assert!(!flagged(text), "{text:?}");
    }
}

#[test]
fn form_numbers_and_287g_are_read_in_any_spelling() {
    for text in [
        "I-247A",
        "i247a",
        "Form I 200",
        "I-205 warrant",
        "287(g)",
        "287g",
        "287 g task force",
        "CBP",
        "USBP",
        // Other separators between the letter and the number (a fourth outside attack).
        "I--247A",
        "I_213",
        "I.213",
        "I/213",
        "I - 247A",
        "I\u{200B}-\u{200B}247A",
    ] {
        assert!(flagged(text), "{text}");
    }
    for text in ["I 200 block of Main", "crash on I - 205"] {
        assert!(!flagged(text), "{text}");
    }
}

#[test]
fn spanish_and_misspellings_are_read() {
    for text in [
        "la migra",
        "inmigración",
        "deportación pendiente",
        "indocumentado",
        "imigration",
        "deportaton",
        "Immigraton",
    ] {
        assert!(flagged(text), "{text}");
    }
}

#[test]
fn look_alikes_are_not_immigration() {
    for text in [
        "police",
        "notice of violation",
        "Vice - prostitution",
        "black ice",
        "ice on road - crash",
        "Visa card fraud",
        "removal of an abandoned vehicle",
        "parking overstay",
        "Alienware laptop theft",
        "Deportivo jersey",
        "U visa certification - DV victim",
        "burglary at an immigration attorney's office",
        "assault on ICE officer",
        "ice cream truck robbery",
        "zero tolerance DUI",
        "I-90 crash",
    ] {
        assert!(!flagged(text), "{text}");
    }
}

#[test]
fn a_flag_points_at_the_words_as_written() {
    let screening = Screener::new().screen("Veh. locate per I.C.E. request");
    let flag = &screening.flags[0];
    assert_eq!(flag.term, "I.C.E");
    assert_eq!(
        &"Veh. locate per I.C.E. request"[flag.start..flag.end],
        "I.C.E"
    );
}

#[test]
fn an_abortion_search_raises_the_reproductive_health_flag_not_immigration() {
    let screening = Screener::new().screen("had an abortion, search for female");
    assert!(screening.has(FlagKind::ReproductiveHealth));
    assert!(!screening.has(FlagKind::CivilImmigration));
}

#[test]
fn the_screener_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Screener>();
    let screener = std::sync::Arc::new(Screener::new());
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let s = screener.clone();
            std::thread::spawn(move || s.screen("ICE hold").has(FlagKind::CivilImmigration))
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap_or(false));
    }
}

proptest! {
    #[test]
    fn any_text_screens_without_panicking_and_spans_lie_on_the_text(text in "\\PC{0,80}") {
        let screening = Screener::new().screen(&text);
        for flag in screening.flags {
            prop_assert!(flag.start < flag.end && flag.end <= text.len());
            prop_assert_eq!(text.get(flag.start..flag.end), Some(flag.term.as_str()));
        }
    }

    /// Except in the words whose capitals carry the meaning: `INS` the agency (not "ins",
    /// insurance), `INA` before a section number, `A` before "number", `Ice` before a
    /// capitalized name (a place or a business).
    #[test]
    fn screening_ignores_ascii_case(text in "[a-zA-Z0-9 +/._()-]{0,40}") {
        let case_matters = text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| ["ins", "ina", "a", "ice"].iter().any(|m| w.eq_ignore_ascii_case(m)));
        prop_assume!(!case_matters);
        let s = Screener::new();
        prop_assert_eq!(
            s.screen(&text.to_ascii_lowercase()).flags.len(),
            s.screen(&text.to_ascii_uppercase()).flags.len()
        );
    }

    #[test]
    fn an_immigration_phrase_is_found_inside_ordinary_text(
        before in "(stolen vehicle|burglary|hit and run|suspect) ",
        phrase in "(assist ICE|ICE detainer|I-247A|deportation|Border Patrol|287\\(g\\))",
        after in " (locate|request|follow up|veh)",
    ) {
        let text = format!("{before}{phrase}{after}");
        prop_assert!(flagged(&text), "{}", text);
    }
}
