//! The rules that turn word roles into flags. Each rule is a sentence an auditor would
//! say ("ICE next to road is ice on the road"); they run in one pass over the words.

use super::lexicon::*;
use super::tokens::Token;
use super::{FlagKind, Hit};

/// What the whole reason contains, computed once so rules can ask in O(1).
struct Whole {
    any: Roles,
    victim: bool,
}

/// Appends to `out` one hit per trigger that its context does not explain away.
pub(crate) fn evaluate(text: &[u8], tokens: &[Token], out: &mut Vec<Hit>) {
    let any = tokens.iter().fold(Roles::NONE, |acc, t| acc.or(t.roles));
    if any.0 & TRIGGERS.0 == 0 {
        return;
    }
    let whole = Whole {
        any,
        victim: any.has(VICTIM) || any.has(VICTIM_FORM) || victim_visa(tokens),
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
        | IMM_ABBREVIATION.0,
);

/// The first rule that fires at word `i`: the flag and the last word of its span.
fn rule(text: &[u8], t: &[Token], i: usize, whole: &Whole) -> Option<(FlagKind, usize)> {
    use FlagKind::{CivilImmigration as Imm, ReproductiveHealth as Repro};
    let r = t[i].roles;
    let single = |ok: bool| ok.then_some((Imm, i));
    if r.has(CIVIL_PROCESS) {
        return single(true);
    }
    if r.has(ICE | AGENCY | AGENCY_MIXED) && names_a_business(t, i) {
        return None;
    }
    if r.has(ICE) && ice_is_the_agency(t, i, whole) {
        return single(true);
    }
    if r.has(AGENCY) && !aimed_at_the_agency(t, i, whole) {
        return single(true);
    }
    if r.has(AGENCY_MIXED) && !whole.any.has(CRIMINAL_CONTEXT) && !whole.victim {
        return single(!aimed_at_the_agency(t, i, whole));
    }
    if r.has(IMM_WORD) && immigration_as_purpose(t, i, whole) {
        return single(true);
    }
    if r.has(DEPORT) && !whole.victim {
        return single(true);
    }
    if r.has(ALIEN) && alien_as_status(t, i, whole) {
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
        (r.has(ILLEGAL), forward(t, i, 2, ILLEGAL_OBJECT)),
        (
            r.has(ILLEGAL) && !entry_into_premises(whole),
            forward(t, i, 2, ENTRY),
        ),
        (
            r.has(IMM_ABBREVIATION),
            forward(t, i, 1, ENFORCEMENT_CUE.or(ADMIN_CONTEXT).or(STATUS)),
        ),
        (r.has(REMOVAL) && !vehicle, around(t, i, 2, REMOVAL_CONTEXT)),
        (
            r.has(REMOVAL_CONTEXT) && !vehicle,
            forward(t, i, 2, REMOVAL),
        ),
        (r.has(ADMIN), forward(t, i, 3, ADMIN_CONTEXT)),
        (
            r.has(VISA) && visa_is_immigration_status(t, i),
            around(t, i, 2, VISA_CONTEXT),
        ),
        (
            r.has(VISA_CONTEXT),
            forward(t, i, 1, VISA).filter(|&j| visa_is_immigration_status(t, j)),
        ),
        (r.has(BORDER), forward(t, i, 1, PATROL)),
        (r.has(PATROL), forward(t, i, 1, BORDER)),
        (r.has(IVF), around(t, i, 2, IVF_CONTEXT)),
        (r.has(CAP), around(t, i, 2, CAP_CONTEXT)),
        (r.has(STATUS_QUALIFIER), forward(t, i, 1, STATUS)),
        (r.has(CITIZENSHIP), around(t, i, 2, CHECK)),
        (r.has(SECTION_287), adjacent(text, t, i, LETTER_G, b"( -")),
        (r.has(LETTER_I), adjacent(text, t, i, FORM_NUMBER, b"-")),
        (r.has(FORM_WORD), form_then_number(text, t, i)),
        (r.has(USC), forward(t, i, 2, IMMIGRATION_CODE)),
        (r.has(SIN), forward(t, i, 1, PAPELES)),
        (r.has(OPERATION_WORD), operation_name(text, t, i)),
    ];
    candidates
        .into_iter()
        .find_map(|(applies, last)| if applies { last } else { None })
        .filter(|_| !whole.victim || !r.has(ILLEGAL))
}

/// ICE is the agency unless frozen-water words sit beside it, or drug or "in case of
/// emergency" words are present with nothing that sounds like enforcement.
fn ice_is_the_agency(t: &[Token], i: usize, whole: &Whole) -> bool {
    if around(t, i, 2, ICE_THING).is_some() || prev_has(t, i, ICE_FROZEN_BEFORE) {
        return false;
    }
    let other_sense = whole.any.has(ICE_OTHER) && !whole.any.has(ENFORCEMENT_CUE);
    !(other_sense || whole.victim || aimed_at_the_agency(t, i, whole))
}

/// "assault on ICE officer", "vandalism at the HSI office": the agency is the victim or the place.
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
        return t[j].roles.has(PREPOSITION);
    }
    false
}

/// "alien" is a status word only beside words that make it one ("criminal alien", "alien
/// registration"); alone it is as likely a costume or a film.
fn alien_as_status(t: &[Token], i: usize, whole: &Whole) -> bool {
    !whole.victim && !near(t, i, 0, 1, SMUGGLING) && near(t, i, 2, 2, ALIEN_CONTEXT)
}

/// "Ero's Pizza", "ICE bar": a name followed by a business noun is a business.
fn names_a_business(t: &[Token], i: usize) -> bool {
    let mut j = i + 1;
    if t.get(j).is_some_and(|n| n.roles.has(POSSESSIVE_S)) {
        j += 1;
    }
    t.get(j).is_some_and(|n| n.roles.has(BUSINESS))
}

/// "immigration" names a purpose unless it names a lawyer, a clinic, a fraud or a protest,
/// or the reason is about a victim.
fn immigration_as_purpose(t: &[Token], i: usize, whole: &Whole) -> bool {
    !(whole.victim
        || next_has(t, i, NOT_ENFORCEMENT_NEXT)
        || prev_has(t, i, ANTI)
        || aimed_at_the_agency(t, i, whole))
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

/// `Form I 247A`: a space is accepted only after the word "form".
fn form_then_number(text: &[u8], t: &[Token], i: usize) -> Option<usize> {
    let letter = forward(t, i, 1, LETTER_I)?;
    adjacent(text, t, letter, FORM_NUMBER, b" -")
}

/// Named DHS operations, two words each.
fn operation_name(text: &[u8], t: &[Token], i: usize) -> Option<usize> {
    const NAMES: &[(&[u8], &[u8])] = &[
        (b"midway", b"blitz"),
        (b"tidal", b"wave"),
        (b"catahoula", b"crunch"),
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
    let next = t.get(i + 1).filter(|n| n.roles.has(role))?;
    let gap = text.get(t[i].end as usize..next.start as usize)?;
    (gap.is_empty() || (gap.len() == 1 && glue.contains(&gap[0]))).then_some(i + 1)
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
