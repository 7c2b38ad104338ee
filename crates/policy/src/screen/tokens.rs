//! Splits a reason into words: case-folded, accent-folded, split on any punctuation
//! (`ICE+ERO`, `ice/ero`, `ICE_ERO`), with dotted acronyms (`I.C.E.`) joined back into one word.

use super::lexicon::{Lexicon, Roles, AGENCY, AGENCY_MIXED, CIVIL_PROCESS, ICE, INS_WORD};

/// What letters written apart (`I C E`, `E R O`) may join into: an agency or a term that
/// is never anything else. Other spaced letters (`U T visa`) stay apart.
const SPACED_JOINABLE: Roles = ICE
    .or(AGENCY)
    .or(AGENCY_MIXED)
    .or(CIVIL_PROCESS)
    .or(INS_WORD);

/// Words longer than this are never in the lexicon, so they are kept unnormalized.
pub(crate) const MAX_WORD: usize = 24;

/// One word of a reason: where it is in the original text and what it can mean.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub start: u32,
    pub end: u32,
    pub roles: Roles,
}

/// Tokenizes `text` into `out` (cleared first), classifying each word with `lexicon`.
pub(crate) fn tokenize(text: &str, lexicon: &Lexicon, out: &mut Vec<Token>) {
    out.clear();
    let mut word = [0u8; MAX_WORD];
    let mut len = 0usize;
    let mut start = 0usize;
    let mut in_word = false;
    for (at, ch) in text.char_indices() {
        match fold(ch) {
            Some(byte) => {
                if !in_word {
                    in_word = true;
                    start = at;
                    len = 0;
                }
                if len < MAX_WORD {
                    word[len] = byte;
                }
                len += 1;
            }
            None if in_word => {
                in_word = false;
                push(out, lexicon, &word, len, start, at);
            }
            None => {}
        }
    }
    if in_word {
        push(out, lexicon, &word, len, start, text.len());
    }
    join_dotted_acronyms(text.as_bytes(), lexicon, out);
}

fn push(
    out: &mut Vec<Token>,
    lexicon: &Lexicon,
    word: &[u8; MAX_WORD],
    len: usize,
    start: usize,
    end: usize,
) {
    let roles = if len <= MAX_WORD {
        lexicon.classify(&word[..len])
    } else {
        Roles::NONE
    };
    out.push(Token {
        start: offset(start),
        end: offset(end),
        roles,
    });
}

/// Offsets are stored as `u32` to keep tokens small; reasons beyond 4 GiB saturate, which
/// only blurs a span, never a flag.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// Lower-cases ASCII letters and digits and folds the accented letters Spanish uses; every
/// other character separates words.
fn fold(ch: char) -> Option<u8> {
    if ch.is_ascii_alphanumeric() {
        return Some(ch.to_ascii_lowercase() as u8);
    }
    let folded = match ch {
        'á' | 'à' | 'â' | 'ä' | 'Á' | 'À' | 'Â' | 'Ä' => b'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => b'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => b'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'Ó' | 'Ò' | 'Ô' | 'Ö' => b'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => b'u',
        'ñ' | 'Ñ' => b'n',
        'ç' | 'Ç' => b'c',
        _ => return None,
    };
    Some(folded)
}

/// Joins runs like `I.C.E.`, `H.S.I` or `I C E` (single letters separated by single dots
/// or spaces) into one word, so an abbreviation written letter by letter reads as the
/// abbreviation. A run with spaces joins only into an agency or a term of art.
fn join_dotted_acronyms(text: &[u8], lexicon: &Lexicon, tokens: &mut Vec<Token>) {
    let mut i = 0;
    while i + 1 < tokens.len() {
        let (run, spaced) = dotted_run_len(text, &tokens[i..]);
        if run < 2 {
            i += 1;
            continue;
        }
        let mut word = [0u8; MAX_WORD];
        let letters = run.min(MAX_WORD);
        for (slot, token) in word.iter_mut().zip(&tokens[i..i + letters]) {
            *slot = byte_at(text, token.start).to_ascii_lowercase();
        }
        let joined = Token {
            start: tokens[i].start,
            end: tokens[i + run - 1].end,
            roles: lexicon.classify(&word[..letters]),
        };
        if spaced && !joined.roles.has(SPACED_JOINABLE) {
            i += 1;
            continue;
        }
        tokens.splice(i..i + run, [joined]);
        i += 1;
    }
}

/// How many single-letter tokens, each followed by exactly one dot or space, start this
/// slice; and whether any separator was a space.
fn dotted_run_len(text: &[u8], tokens: &[Token]) -> (usize, bool) {
    let single_letter =
        |t: &Token| t.end == t.start + 1 && byte_at(text, t.start).is_ascii_alphabetic();
    let mut run = 0;
    let mut spaced = false;
    for pair in tokens.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let sep = byte_at(text, a.end);
        let one_between = b.start == a.end + 1 && (sep == b'.' || sep == b' ');
        if !(single_letter(a) && single_letter(b) && one_between) {
            break;
        }
        spaced |= sep == b' ';
        run = if run == 0 { 2 } else { run + 1 };
    }
    (run, spaced)
}

fn byte_at(text: &[u8], at: u32) -> u8 {
    text.get(at as usize).copied().unwrap_or(0)
}
