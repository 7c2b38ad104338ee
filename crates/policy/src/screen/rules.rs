//! The rules that turn word roles into flags. Each rule is a sentence an auditor would
//! say ("ICE next to road is ice on the road"); they run in one pass over the words.

use super::lexicon::*;
use super::tokens::{is_ignorable, Token};
use super::{FlagKind, Hit};

/// What the whole reason contains, computed once so rules can ask in O(1).
struct Whole {
    any: Roles,
    victim: bool,
    /// A victim's visa certification is asked for (a U or T visa, I-918, I-914 or VAWA,
    /// and a word of certifying), and nothing is done to a person: the one business a
    /// victim has with ICE that is not enforcement.
    certification: bool,
}

/// Appends to `out` one hit per trigger that its context does not explain away.
pub(crate) fn evaluate(text: &[u8], tokens: &[Token], out: &mut Vec<Hit>) {
    let any = tokens.iter().fold(Roles::NONE, |acc, t| acc.or(t.roles));
    if any.0 & TRIGGERS.0 == 0 {
        return;
    }
    // A victim, or a victim's visa, explains the immigration words beside it (see
    // `victim_near`); a certification explains ICE only when nothing is done to a person
    // ("U visa cert signed; ICE deportation" is enforcement).
    let visa = any.has(VICTIM_FORM) || victim_visa(tokens);
    const DONE_TO_A_PERSON: Roles = ACTION
        .or(DEPORT)
        .or(REMOVAL)
        .or(DETAINER)
        .or(CIVIL_PROCESS)
        .or(ALIEN);
    let whole = Whole {
        any,
        victim: any.has(VICTIM) || visa,
        certification: visa && any.has(CERTIFY) && !any.has(DONE_TO_A_PERSON),
    };
    let mut covered_to = 0usize;
    for i in 0..tokens.len() {
        if i < covered_to {
            continue;
        }
        if let Some((kind, last)) = rule(text, tokens, i, &whole) {
            out.push(Hit {
                kind,
                start: tokens[i].start,
                end: tokens[last].end,
            });
            covered_to = last + 1;
        }
    }
}

const TRIGGERS: Roles = Roles(
    ICE.0
        | AGENCY.0
        | AGENCY_MIXED.0
        | IMM_WORD.0
        | DEPORT.0
        | CIVIL_PROCESS.0
        | ALIEN.0
        | ILLEGAL.0
        | REMOVAL.0
        | REMOVABLE.0
        | ADMIN.0
        | VISA.0
        | BORDER.0
        | PATROL.0
        | IVF.0
        | CAP.0
        | STATUS.0
        | CITIZENSHIP.0
        | SECTION_287.0
        | LETTER_I.0
        | FORM_WORD.0
        | USC.0
        | SIN.0
        | OPERATION_WORD.0
        | REPRO.0
        | REPRO_QUALIFIER.0
        | IMM_ABBREVIATION.0
        | INS_WORD.0
        | INA_WORD.0
        | DETAINER.0
        | REENTRY.0
        | LETTER_A.0
        | WITHOUT.0
        | OUT.0,
);

/// The first rule that fires at word `i`: the flag and the last word of its span.
fn rule(text: &[u8], t: &[Token], i: usize, whole: &Whole) -> Option<(FlagKind, usize)> {
    use FlagKind::{CivilImmigration as Imm, ReproductiveHealth as Repro};
    let r = t[i].roles;
    let single = |ok: bool| ok.then_some((Imm, i));
    if r.has(CIVIL_PROCESS) {
        // "I205" beside road words is the interstate, as "I-205" is.
        let interstate = whole.any.has(ROAD) && word(text, &t[i]).eq_ignore_ascii_case(b"i205");
        return single(!interstate);
    }
    if r.has(DETAINER) {
        return single(detainer_is_immigration(whole));
    }
    if r.has(INS_WORD) && ins_is_the_agency(text, t, i, whole) {
        return single(true);
    }
    if r.has(INA_WORD) && is_upper(word(text, &t[i])) && next_has(t, i, STATUTE_NUMBER) {
        return Some((Imm, i + 1));
    }
    if r.has(LETTER_A) {
        if let Some(last) = a_number(text, t, i) {
            return Some((Imm, last));
        }
    }
    if r.has(ICE | AGENCY | AGENCY_MIXED)
        && (names_a_business(t, i) || names_a_person(text, t, i) || a_plate(text, t, i))
    {
        return None;
    }
    if r.has(ICE) && ice_is_the_agency(text, t, i, whole) {
        return single(true);
    }
    if r.has(AGENCY) && !aimed_at_the_agency(t, i, whole) {
        return single(true);
    }
    // HSI or USCIS on criminal or social-service work, unless removal or deportation is
    // named too ("USCIS referral - removal").
    let criminal_work = whole.any.has(CRIMINAL_CONTEXT)
        && !whole
            .any
            .has(REMOVAL.or(DEPORT).or(DETAINER).or(CIVIL_PROCESS));
    if r.has(AGENCY_MIXED) && !criminal_work && !victim_near(text, t, i, whole) {
        return single(!aimed_at_the_agency(t, i, whole));
    }
    if r.has(IMM_WORD) && immigration_as_purpose(text, t, i, whole) {
        return single(true);
    }
    if r.has(DEPORT) && !victim_near(text, t, i, whole) {
        return single(true);
    }
    if r.has(ALIEN) && alien_as_status(text, t, i, whole) {
        return single(true);
    }
    if r.has(REMOVABLE) && !whole.any.has(VEHICLE_CONTEXT) {
        return single(true);
    }
    pair_rule(text, t, i, whole)
        .map(|last| (Imm, last))
        .or_else(|| {
            let repro = r.has(REPRO) && !whole.victim && !next_has(t, i, NOT_ENFORCEMENT_NEXT);
            if repro {
                return Some((Repro, i));
            }
            let qualified = r.has(REPRO_QUALIFIER) && next_has(t, i, REPRO_OBJECT);
            (qualified && !whole.victim).then_some((Repro, i + 1))
        })
}

/// Rules over two or three words; returns the last word of the phrase.
fn pair_rule(text: &[u8], t: &[Token], i: usize, whole: &Whole) -> Option<usize> {
    let r = t[i].roles;
    // Removal of cars, trees, graffiti or a trespasser from a shop is not deportation.
    let vehicle =
        whole.any.0 & (VEHICLE_CONTEXT.0 | PREMISES.0 | BUSINESS.0 | CRIME_AGAINST.0) != 0;
    let candidates = [
        (r.has(ILLEGAL), around(t, i, 3, ILLEGAL_OBJECT)),
        (
            r.has(ILLEGAL) && !entry_into_premises(whole),
            around(t, i, 2, ENTRY),
        ),
        (r.has(WITHOUT), without_inspection(t, i)),
        (
            r.has(OUT) && !whole.any.has(VEHICLE_CONTEXT),
            out_of_status(text, t, i),
        ),
        (
            r.has(REENTRY),
            around(
                t,
                i,
                3,
                ILLEGAL
                    .or(DEPORT)
                    .or(REMOVAL)
                    .or(ALIEN)
                    .or(IMMIGRATION_CODE),
            ),
        ),
        (r.has(IMM_ABBREVIATION), imm_abbreviation(t, i)),
        (r.has(REMOVAL) && !vehicle, around(t, i, 2, REMOVAL_CONTEXT)),
        (
            r.has(REMOVAL_CONTEXT) && !vehicle,
            forward(t, i, 2, REMOVAL),
        ),
        // "ADMIN HOLD - JAIL", "CDCR ADMIN WARRANT": a jail's or a prison's, as a detainer.
        (
            r.has(ADMIN) && detainer_is_immigration(whole),
            forward(t, i, 3, ADMIN_CONTEXT),
        ),
        (
            r.has(VISA) && visa_is_immigration_status(t, i),
            around(t, i, 3, VISA_CONTEXT),
        ),
        (
            r.has(VISA_CONTEXT),
            forward(t, i, 1, VISA).filter(|&j| visa_is_immigration_status(t, j)),
        ),
        (r.has(BORDER), forward(t, i, 1, PATROL)),
        (r.has(PATROL), forward(t, i, 1, BORDER)),
        (r.has(IVF), around(t, i, 2, IVF_CONTEXT)),
        (r.has(CAP), around(t, i, 2, CAP_CONTEXT)),
        (
            r.has(STATUS_QUALIFIER) && !whole.any.has(VEHICLE_CONTEXT),
            forward(t, i, 1, STATUS),
        ),
        (r.has(CITIZENSHIP), around(t, i, 2, CHECK)),
        (r.has(SECTION_287), joined(text, t, i, LETTER_G, b"( -", 2)),
        (
            r.has(LETTER_I) && !whole.any.has(ROAD),
            joined(text, t, i, FORM_NUMBER, b"- _./", 3)
                .filter(|&j| !an_address(text, t, j) && !on_the_interstate(text, t, j)),
        ),
        (r.has(FORM_WORD), form_then_number(text, t, i)),
        (r.has(USC), forward(t, i, 2, IMMIGRATION_CODE)),
        (r.has(SIN), forward(t, i, 1, PAPELES)),
        (r.has(OPERATION_WORD), operation_name(text, t, i)),
    ];
    candidates
        .into_iter()
        .find_map(|(applies, last)| if applies { last } else { None })
        .filter(|_| !r.has(ILLEGAL) || !victim_near(text, t, i, whole))
}

/// ICE is the agency unless frozen-water words sit beside it, it begins a name ("Ice
/// Mountain", "Ice House"), it is a tool ("ice pick", not "ICE pick up"), drug or "in
/// case of emergency" words are present with nothing that sounds like enforcement, or a
/// victim's visa certification is the business. A victim named elsewhere does not excuse
/// it ("ICE requests victim address").
fn ice_is_the_agency(text: &[u8], t: &[Token], i: usize, whole: &Whole) -> bool {
    let acronym = capitals_among_lower(text, &t[i]);
    // "ICE agents", "ICE hold": whatever frozen words are near, this one is the agency; and
    // written as the acronym, so is it when any word of enforcement is in the reason ("ICE
    // Storm operation, locate subject").
    let cue = ENFORCEMENT_CUE.or(ACTION);
    let acted_on = next_has(t, i, cue.or(REMOVAL_CONTEXT)) || (acronym && whole.any.has(cue));
    let frozen =
        frozen_beside(text, t, i, acronym) || (!acronym && prev_has(t, i, ICE_FROZEN_BEFORE));
    if frozen && !acted_on {
        return false;
    }
    if !acronym && !acted_on && (fell_on(text, t, i) || next_has(t, i, ICE_NOUN)) {
        return false;
    }
    if begins_a_name(text, t, i) || is_a_tool(text, t, i) || in_case_of(text, t, i) {
        return false;
    }
    if impersonated(text, t, i) {
        return false;
    }
    // "ICE contact listed", "ICE emergency contact": in case of emergency, unless anything
    // in the reason is enforcement ("ICE contact to arrest subject").
    let contact = forward(t, i, 2, ICE_CONTACT).is_some() && !whole.any.has(cue);
    if contact {
        return false;
    }
    // Drug words say "ice" is meth only near it: "ICE requests address; subject has drug
    // priors" is the agency.
    let other_sense =
        in_clause_near(text, t, i, 3, 3, ICE_OTHER) && !whole.any.has(ENFORCEMENT_CUE);
    !(other_sense || whole.certification || aimed_at_the_agency(t, i, whole))
}

/// A frozen-water word ("cream", "rink", "road") within two words of this ice, in the
/// same clause, with no other ice nearer it: "ice cream for ICE" and "ICE ice rink" keep
/// the agency. Written as the acronym among small letters, only the very next or previous
/// word counts ("ICE cream truck" is still ice cream).
fn frozen_beside(text: &[u8], t: &[Token], i: usize, acronym: bool) -> bool {
    // Written as the acronym, only the word after it: "ICE cream", not "cream ICE".
    let (before, after) = if acronym { (0, 1) } else { (2, 2) };
    in_clause_near(text, t, i, before, after, ICE_THING)
}

/// A word with `role` at most `before` words before or `after` words after word `i`, in
/// the same clause (no `,`, `;`, `|` or `.` between), with no other "ice" nearer it.
fn in_clause_near(
    text: &[u8],
    t: &[Token],
    i: usize,
    before: usize,
    after: usize,
    role: Roles,
) -> bool {
    let lo = i.saturating_sub(before);
    let hi = (i + after).min(t.len().saturating_sub(1));
    (lo..=hi).any(|j| {
        let (a, b) = (j.min(i), j.max(i));
        j != i
            && t[j].roles.has(role)
            && !t[a + 1..b].iter().any(|k| k.roles.has(ICE))
            && !text
                .get(t[a].end as usize..t[b].start as usize)
                .unwrap_or_default()
                .iter()
                .any(|c| matches!(c, b',' | b';' | b'|' | b'.'))
    })
}

/// A word in capitals in a text that has small letters ("slipped on ICE radar", "ICE packs
/// up family"): written as the acronym, so a fall or "packs" beside it does not make it
/// frozen water. In a text all in capitals, as many exports are, case tells nothing.
fn capitals_among_lower(text: &[u8], tok: &Token) -> bool {
    let word = text
        .get(tok.start as usize..tok.end as usize)
        .unwrap_or_default();
    word.iter().all(|b| !b.is_ascii_lowercase()) && text.iter().any(u8::is_ascii_lowercase)
}

/// "slipped on ice", "lost control on the ice", "went through the ice", "crash due to
/// ice": a fall, skid or crash then "on", or "through", or "due to", then perhaps an
/// article, straight before the word. Only in this order, so "ICE target slipped" and "assist ICE; subject fell
/// on ice" keep the agency.
fn fell_on(text: &[u8], t: &[Token], i: usize) -> bool {
    let word = |j: usize| {
        text.get(t[j].start as usize..t[j].end as usize)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let mut j = i;
    if j > 0 && t[j - 1].roles.has(ARTICLE) {
        j -= 1;
    }
    if j < 2 {
        return false;
    }
    let (preposition, before) = (word(j - 1), word(j - 2));
    // Anything "through the ice" fell through it (a person, a car, a snowmobile).
    (preposition == b"on" && t[j - 2].roles.has(FELL_ON))
        || preposition == b"through"
        || (preposition == b"to" && before == b"due")
}

/// "assault on ICE officer", "vandalism at the HSI office": the agency is the victim or the place.
/// Also "threatened to call ICE on her": the agency as the abuser's threat.
fn aimed_at_the_agency(t: &[Token], i: usize, whole: &Whole) -> bool {
    if !whole.any.has(CRIME_AGAINST) {
        return false;
    }
    let mut j = i;
    while j > 0 {
        j -= 1;
        if t[j].roles.has(ARTICLE) {
            continue;
        }
        return t[j].roles.has(PREPOSITION.or(THREAT_TO_CALL));
    }
    false
}

/// "man impersonating ICE agent", "fake ICE officer", "ICE impersonator": someone posing as
/// the agency, a crime against the public, not the agency at work.
fn impersonated(text: &[u8], t: &[Token], i: usize) -> bool {
    const BEFORE: &[&[u8]] = &[
        b"impersonating",
        b"impersonated",
        b"impersonate",
        b"posing",
        b"fake",
        b"pretending",
        b"pretended",
        b"bogus",
        b"phony",
        b"sham",
    ];
    const AFTER: &[&[u8]] = &[b"impersonator", b"impersonators", b"impersonation", b"scam"];
    let is = |k: Option<&Token>, words: &[&[u8]]| {
        k.is_some_and(|n| words.iter().any(|w| word(text, n).eq_ignore_ascii_case(w)))
    };
    let before = i.checked_sub(1).and_then(|k| t.get(k));
    let before_as = i.checked_sub(2).and_then(|k| t.get(k));
    let posing_as = is(before, &[b"as"]) && is(before_as, BEFORE);
    is(before, BEFORE) || posing_as || is(t.get(i + 1), AFTER)
}

/// "alien" is a status word only beside words that make it one, as the statutes use it
/// ("criminal alien", "alien registration", "fugitive alien", "alien smuggling",
/// "harboring aliens", "alien removal"); alone it is as likely a costume or a film.
fn alien_as_status(text: &[u8], t: &[Token], i: usize, whole: &Whole) -> bool {
    !victim_near(text, t, i, whole) && near(t, i, 2, 2, ALIEN_CONTEXT)
}

/// A detainer is ICE's unless the reason says it is a state, county, parole or court one
/// and nothing in it names immigration.
fn detainer_is_immigration(whole: &Whole) -> bool {
    const IMMIGRATION: Roles = ICE
        .or(AGENCY)
        .or(AGENCY_MIXED)
        .or(IMM_WORD)
        .or(DEPORT)
        .or(CIVIL_PROCESS)
        .or(INS_WORD)
        .or(ALIEN);
    !whole.any.has(LOCAL_CUSTODY) || whole.any.has(IMMIGRATION)
}

/// INS, the agency, is written in capitals (`INS`, `I.N.S.`); "no ins", "proof of ins" and
/// "ins policy" are insurance.
fn ins_is_the_agency(text: &[u8], t: &[Token], i: usize, whole: &Whole) -> bool {
    is_upper(word(text, &t[i])) && !whole.any.has(INSURANCE_CUE)
}

/// `A#`, `A-#`, `A-number`, `A-file`, `A number`, or `A` before a 8- or 9-digit number: the
/// alien registration number. "a number of cars" is not.
fn a_number(text: &[u8], t: &[Token], i: usize) -> Option<usize> {
    let end = t[i].end as usize;
    let after = text.get(end..).unwrap_or_default();
    if after.starts_with(b"#") || after.starts_with(b"-#") {
        return Some(i);
    }
    let next = t.get(i + 1)?;
    let next_word = word(text, next);
    let gap = text.get(end..next.start as usize).unwrap_or_default();
    let digits = next_word.iter().all(u8::is_ascii_digit);
    if digits && (gap.is_empty() || gap == b"-" || gap == b" ") {
        let run = digit_run(text, t, i + 1);
        return (8..=9).contains(&run).then_some(i + 1);
    }
    let named = |w: &[u8]| {
        [&b"number"[..], b"file", b"num", b"no"]
            .iter()
            .any(|x| w.eq_ignore_ascii_case(x))
    };
    if gap == b"-" && named(next_word) {
        return Some(i + 1);
    }
    let capital = word(text, &t[i]) == b"A";
    let of_follows = t
        .get(i + 2)
        .is_some_and(|n| word(text, n).eq_ignore_ascii_case(b"of"));
    (gap == b" " && capital && named(next_word) && next_word.len() > 2 && !of_follows)
        .then_some(i + 1)
}

/// Digits in the number that starts at token `j`, counting groups joined by single
/// dashes (`087-654-321`).
fn digit_run(text: &[u8], t: &[Token], j: usize) -> usize {
    let mut n = 0;
    let mut k = j;
    while let Some(tok) = t.get(k) {
        let w = word(text, tok);
        if !w.iter().all(u8::is_ascii_digit) {
            break;
        }
        n += w.len();
        let joined_by_dash = t
            .get(k + 1)
            .is_some_and(|nx| text.get(tok.end as usize..nx.start as usize) == Some(b"-"));
        if !joined_by_dash {
            break;
        }
        k += 1;
    }
    n
}

/// "entry without inspection", "present without admission".
fn without_inspection(t: &[Token], i: usize) -> Option<usize> {
    let next = forward(t, i, 1, INSPECTION)?;
    let before = i.saturating_sub(2)..i;
    before
        .into_iter()
        .any(|j| t[j].roles.has(ENTRY.or(ILLEGAL_OBJECT)))
        .then_some(next)
}

/// "out of status".
fn out_of_status(text: &[u8], t: &[Token], i: usize) -> Option<usize> {
    let of = t.get(i + 1)?;
    let status = t.get(i + 2)?;
    (word(text, of).eq_ignore_ascii_case(b"of") && status.roles.has(STATUS)).then_some(i + 2)
}

/// `Ice Mountain`, `Ice House`: "Ice" capitalized before a capitalized word that is not an
/// enforcement word begins a name.
fn begins_a_name(text: &[u8], t: &[Token], i: usize) -> bool {
    let w = word(text, &t[i]);
    let title = |w: &[u8]| {
        w.first().is_some_and(u8::is_ascii_uppercase)
            && w.len() > 1
            && w[1..].iter().all(|b| !b.is_ascii_uppercase())
    };
    let Some(next) = t.get(i + 1) else {
        return false;
    };
    let enforcement = ENFORCEMENT_CUE
        .or(AGENCY)
        .or(AGENCY_MIXED)
        .or(CIVIL_PROCESS)
        .or(DETAINER);
    title(w) && title(word(text, next)) && !next.roles.has(enforcement)
}

/// "TX plate ICE-1234", "PLATE HSI4421", "TAG ERO 55": letters of a licence plate, named as
/// one, with its digits straight after; or letters and three or four digits written as one
/// word ("HSI882", "DHS5524") in a reason that speaks of a plate anywhere.
fn a_plate(text: &[u8], t: &[Token], i: usize) -> bool {
    const PLATE: &[&[u8]] = &[
        b"plate", b"plates", b"plt", b"pl", b"tag", b"tags", b"lpr", b"lp",
    ];
    let is_plate_word = |k: &Token| PLATE.iter().any(|w| word(text, k).eq_ignore_ascii_case(w));
    let joined_digits = t.get(i + 1).is_some_and(|n| {
        let w = word(text, n);
        let rest = text.get(n.end as usize..).unwrap_or_default();
        n.start == t[i].end
            && (3..=4).contains(&w.len())
            && w.iter().all(u8::is_ascii_digit)
            && !rest
                .first()
                .is_some_and(|b| *b == b'-' || b.is_ascii_alphanumeric())
    });
    if joined_digits && t.iter().any(is_plate_word) {
        return true;
    }
    let plate_before = (i.saturating_sub(2)..i).any(|k| {
        PLATE
            .iter()
            .any(|w| word(text, &t[k]).eq_ignore_ascii_case(w))
    });
    let digits_after = t.get(i + 1).is_some_and(|n| {
        let w = word(text, n);
        (2..=4).contains(&w.len()) && w.iter().all(u8::is_ascii_digit)
    });
    plate_before && digits_after
}

/// "aka Ice", "Mr Ero", "goes by Ice", "moniker ICE": a person's name, not the agency.
fn names_a_person(text: &[u8], t: &[Token], i: usize) -> bool {
    let goes_by = i >= 2
        && word(text, &t[i - 1]).eq_ignore_ascii_case(b"by")
        && word(text, &t[i - 2]).eq_ignore_ascii_case(b"goes");
    prev_has(t, i, NAME_CUE) || goes_by
}

/// "IMM" is immigration beside an enforcement word, after it ("IMM HOLD", "IMM COURT",
/// "IMM CASE") or before it ("CHECK STATUS - IMM", "FED IMM"); alone it is as often
/// "immediate".
fn imm_abbreviation(t: &[Token], i: usize) -> Option<usize> {
    let cue = ENFORCEMENT_CUE
        .or(ADMIN_CONTEXT)
        .or(STATUS)
        .or(IMM_NEXT)
        .or(ACTION);
    forward(t, i, 1, cue.or(REMOVAL_CONTEXT)).or_else(|| {
        (i.saturating_sub(2)..i)
            .any(|j| t[j].roles.has(cue))
            .then_some(i)
    })
}

/// "ICE (in case of emergency) contact": the abbreviation spelled out after it.
fn in_case_of(text: &[u8], t: &[Token], i: usize) -> bool {
    let is = |k: usize, w: &[u8]| {
        t.get(k)
            .is_some_and(|n| word(text, n).eq_ignore_ascii_case(w))
    };
    is(i + 1, b"in") && is(i + 2, b"case") && is(i + 3, b"of")
}

/// "ice pick" the tool, not "ICE pick up".
fn is_a_tool(text: &[u8], t: &[Token], i: usize) -> bool {
    let is = |k: usize, w: &[u8]| {
        t.get(k)
            .is_some_and(|n| word(text, n).eq_ignore_ascii_case(w))
    };
    is(i + 1, b"pick") && !is(i + 2, b"up")
}

fn word<'t>(text: &'t [u8], tok: &Token) -> &'t [u8] {
    text.get(tok.start as usize..tok.end as usize)
        .unwrap_or_default()
}

/// No lower-case letter (`INS`, `I.N.S.`, `INA`).
fn is_upper(w: &[u8]) -> bool {
    w.iter().any(u8::is_ascii_alphabetic) && !w.iter().any(u8::is_ascii_lowercase)
}

/// "Ero's Pizza", "ICE bar": a name followed by a business noun is a business.
/// Also "ERO auto shop": one plain word between the name and the business noun.
fn names_a_business(t: &[Token], i: usize) -> bool {
    let mut j = i + 1;
    if t.get(j).is_some_and(|n| n.roles.has(POSSESSIVE_S)) {
        j += 1;
    }
    let plain = t
        .get(j)
        .is_some_and(|n| n.roles == Roles::NONE || n.roles.has(VEHICLE_CONTEXT));
    t.get(j).is_some_and(|n| n.roles.has(BUSINESS))
        || (plain && t.get(j + 1).is_some_and(|n| n.roles.has(BUSINESS)))
}

/// "immigration" names a purpose unless it names a lawyer, a clinic, a fraud or a protest
/// (and no immigration agency is named: "HSI - immigration fraud" is enforcement), or the
/// reason is about a victim.
fn immigration_as_purpose(text: &[u8], t: &[Token], i: usize, whole: &Whole) -> bool {
    // "enforce immigration law", "immigration law violation, locate subject" are not a topic.
    let enforced = AGENCY.or(AGENCY_MIXED).or(ACTION);
    let civil = i > 0 && word(text, &t[i - 1]).eq_ignore_ascii_case(b"civil");
    let topic = next_has(t, i, NOT_ENFORCEMENT_NEXT) && !whole.any.has(enforced) && !civil;
    !(victim_near(text, t, i, whole)
        || topic
        || prev_has(t, i, ANTI)
        || aimed_at_the_agency(t, i, whole))
}

/// A victim, a victim's visa or its certification written within five words of word `i`
/// in the same clause: "victim fears deportation" is about the victim, "victim: n/a.
/// subject illegal alien for deportation" is not.
fn victim_near(text: &[u8], t: &[Token], i: usize, whole: &Whole) -> bool {
    const VICTIMS: Roles = VICTIM.or(VICTIM_FORM).or(VICTIM_VISA_LETTER).or(CERTIFY);
    whole.victim && in_clause_near(text, t, i, 5, 5, VICTIMS)
}

/// "U visa", "T visa": certifications for victims, not enforcement.
fn victim_visa(t: &[Token]) -> bool {
    t.windows(2)
        .any(|w| w[0].roles.has(VICTIM_VISA_LETTER) && w[1].roles.has(VISA))
}

/// Visa the card brand is not a visa.
fn visa_is_immigration_status(t: &[Token], i: usize) -> bool {
    !next_has(t, i, CARD)
}

/// "illegal entry" into a house is burglary.
fn entry_into_premises(whole: &Whole) -> bool {
    whole.any.has(PREMISES) || whole.any.has(CRIME_AGAINST)
}

/// "200 block", "Room I-205", "evidence item I-213": the number is part of an address or a
/// label, not a form.
fn an_address(text: &[u8], t: &[Token], number: usize) -> bool {
    const AFTER: &[&[u8]] = &[b"block", b"blk"];
    const BEFORE: &[&[u8]] = &[
        b"room",
        b"rm",
        b"suite",
        b"ste",
        b"unit",
        b"apt",
        b"apartment",
        b"locker",
        b"item",
        b"section",
        b"sec",
        b"bldg",
        b"building",
        b"hall",
        b"lot",
        b"space",
        b"box",
        b"cell",
    ];
    let is = |k: Option<&Token>, words: &[&[u8]]| {
        k.is_some_and(|n| words.iter().any(|w| word(text, n).eq_ignore_ascii_case(w)))
    };
    let letter = number.checked_sub(1);
    let before = letter.and_then(|l| l.checked_sub(1)).and_then(|k| t.get(k));
    is(t.get(number + 1), AFTER) || is(before, BEFORE)
}

/// "on I-205", "at I-205 and Division": a place on Interstate 205, not the form.
fn on_the_interstate(text: &[u8], t: &[Token], number: usize) -> bool {
    const AT: &[&[u8]] = &[b"on", b"at", b"near", b"along", b"via"];
    let place = number
        .checked_sub(2)
        .and_then(|k| t.get(k))
        .is_some_and(|p| AT.iter().any(|w| word(text, p).eq_ignore_ascii_case(w)));
    place && word(text, &t[number]) == b"205"
}

/// `Form I 247A`: a space is accepted only after the word "form".
fn form_then_number(text: &[u8], t: &[Token], i: usize) -> Option<usize> {
    let letter = forward(t, i, 1, LETTER_I)?;
    adjacent(text, t, letter, FORM_NUMBER, b" -")
}

/// Named DHS operations and programs, and two-word terms of art, two words each.
fn operation_name(text: &[u8], t: &[Token], i: usize) -> Option<usize> {
    const NAMES: &[(&[u8], &[u8])] = &[
        (b"midway", b"blitz"),
        (b"tidal", b"wave"),
        (b"catahoula", b"crunch"),
        (b"secure", b"communities"),
        (b"voluntary", b"departure"),
        (b"fugitive", b"operations"),
        (b"fugitive", b"ops"),
        (b"fug", b"ops"),
        (b"ij", b"order"),
        (b"lawfully", b"present"),
        (b"bp", b"agent"),
        (b"bp", b"agents"),
    ];
    let next = t.get(i + 1)?;
    let word = |tok: &Token| {
        text.get(tok.start as usize..tok.end as usize)
            .unwrap_or_default()
    };
    let (a, b) = (word(&t[i]), word(next));
    NAMES
        .iter()
        .any(|(x, y)| a.eq_ignore_ascii_case(x) && b.eq_ignore_ascii_case(y))
        .then_some(i + 1)
}

/// The next word has `role` and is joined to word `i` by nothing or by one byte of `glue`.
fn adjacent(text: &[u8], t: &[Token], i: usize, role: Roles, glue: &[u8]) -> Option<usize> {
    joined(text, t, i, role, glue, 1)
}

/// The next word has `role` and is joined to word `i` by at most `max` bytes of `glue`.
fn joined(
    text: &[u8],
    t: &[Token],
    i: usize,
    role: Roles,
    glue: &[u8],
    max: usize,
) -> Option<usize> {
    let next = t.get(i + 1).filter(|n| n.roles.has(role))?;
    let gap = text.get(t[i].end as usize..next.start as usize)?;
    let gap = visible(gap);
    let glued = gap.len() <= max && gap.bytes().all(|b| glue.contains(&b));
    (glued || (glue.contains(&b'-') && is_one_dash(gap.as_bytes()))).then_some(i + 1)
}

/// The gap between two words without the characters that print as nothing
/// ("I\u{200B}-\u{200B}247A" is "I-247A" to a reader).
fn visible(gap: &[u8]) -> std::borrow::Cow<'_, str> {
    let text = String::from_utf8_lossy(gap);
    if text.is_ascii() {
        return text;
    }
    text.chars()
        .filter(|&c| !is_ignorable(c))
        .collect::<String>()
        .into()
}

/// One dash other than ASCII's: what word processors put for a typed hyphen ("I–213" with
/// an en dash), and the minus signs, which read the same.
fn is_one_dash(gap: &[u8]) -> bool {
    let mut chars = std::str::from_utf8(gap).unwrap_or_default().chars();
    matches!(
        (chars.next(), chars.next()),
        (
            Some('\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}'),
            None
        )
    )
}

fn forward(t: &[Token], i: usize, reach: usize, role: Roles) -> Option<usize> {
    (i + 1..=(i + reach).min(t.len().saturating_sub(1))).find(|&j| t[j].roles.has(role))
}

fn around(t: &[Token], i: usize, reach: usize, role: Roles) -> Option<usize> {
    let before = i.saturating_sub(reach)..i;
    before
        .into_iter()
        .find(|&j| t[j].roles.has(role))
        .map(|_| i)
        .or_else(|| forward(t, i, reach, role))
}

fn near(t: &[Token], i: usize, before: usize, after: usize, role: Roles) -> bool {
    let lo = i.saturating_sub(before);
    let hi = (i + after).min(t.len().saturating_sub(1));
    (lo..=hi).any(|j| j != i && t[j].roles.has(role))
}

fn next_has(t: &[Token], i: usize, role: Roles) -> bool {
    t.get(i + 1).is_some_and(|n| n.roles.has(role))
}

fn prev_has(t: &[Token], i: usize, role: Roles) -> bool {
    i > 0 && t[i - 1].roles.has(role)
}
