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

/// Places where characters that print as nothing fell inside one word, remembered to split
/// it there when the whole is no known word. Breaks at one place are merged and a word is
/// cut at a break once it is longer than any known word, so at most one per letter.
const MAX_BREAKS: usize = MAX_WORD;

/// The word being read: its folded letters and where it starts, whether it was written
/// under a right-to-left override (shown reversed), and where characters that print as
/// nothing fell inside it.
#[derive(Default)]
struct Word {
    letters: [u8; MAX_WORD],
    /// Where each letter starts in the text (a letter may be several bytes, and characters
    /// that print as nothing may stand between letters).
    letter_at: [usize; MAX_WORD],
    len: usize,
    start: usize,
    reversed: bool,
    /// (letters before it, its byte offset, its length in bytes).
    breaks: [(usize, usize, usize); MAX_BREAKS],
    n_breaks: usize,
}

impl Word {
    fn begin(&mut self, at: usize, reversed: bool) {
        self.len = 0;
        self.start = at;
        self.reversed = reversed;
        self.n_breaks = 0;
    }

    fn push(&mut self, byte: u8, at: usize) {
        if self.len < MAX_WORD {
            self.letters[self.len] = byte;
            self.letter_at[self.len] = at;
        }
        self.len += 1;
    }

    fn note_break(&mut self, at: usize, width: usize) {
        if let Some(last) = self.breaks[..self.n_breaks].last_mut() {
            // "I\u{200B}\u{200B}CE": two characters at one place are one break.
            if last.0 == self.len && last.1 + last.2 == at {
                last.2 += width;
                return;
            }
        }
        if self.n_breaks < MAX_BREAKS {
            self.breaks[self.n_breaks] = (self.len, at, width);
            self.n_breaks += 1;
        }
    }

    /// The roles of letters `from..to`; under an override, those of either reading.
    fn classify(&self, lexicon: &Lexicon, from: usize, to: usize) -> Roles {
        if to > MAX_WORD {
            return Roles::NONE;
        }
        if !self.reversed {
            return lexicon.classify(&self.letters[from..to]);
        }
        let mut letters = [0u8; MAX_WORD];
        let part = &mut letters[..to - from];
        part.copy_from_slice(&self.letters[from..to]);
        part.reverse();
        // Both readings: as shown, and as sent (what a viewer without bidi shows).
        lexicon
            .classify(part)
            .or(lexicon.classify(&self.letters[from..to]))
    }
}

/// Tokenizes `text` into `out` (cleared first), classifying each word with `lexicon`.
pub(crate) fn tokenize(text: &str, lexicon: &Lexicon, out: &mut Vec<Token>) {
    out.clear();
    let mut word = Word::default();
    let mut in_word = false;
    // Under U+202E (right-to-left override) letters are shown in reverse: "ORE ECI"
    // reads "ICE ERO" on screen. Such words are read both ways round.
    let mut reversed = false;
    for (at, ch) in text.char_indices() {
        if is_ignorable(ch) {
            match ch {
                '\u{202E}' => reversed = true,
                '\u{202C}' | '\u{202D}' => reversed = false,
                _ => {}
            }
            // Inside a word it is part of the word ("I\u{200B}CE" is "ICE") unless the
            // whole is no word and its parts are ("assist\u{200B}ICE"); between words it
            // separates nothing.
            if in_word {
                if word.len >= MAX_WORD {
                    // Longer than any known word, so never one whole: what follows the
                    // break is read as a word of its own (its letters would not fit).
                    in_word = false;
                    push(out, lexicon, &word, text.as_bytes(), at);
                } else {
                    word.note_break(at, ch.len_utf8());
                }
            }
            continue;
        }
        if ch == '\n' {
            reversed = false;
        }
        match fold(ch) {
            Some(byte) => {
                if !in_word {
                    in_word = true;
                    word.begin(at, reversed);
                }
                word.push(byte, at);
            }
            None if in_word => {
                in_word = false;
                push(out, lexicon, &word, text.as_bytes(), at);
            }
            None => {}
        }
    }
    if in_word {
        push(out, lexicon, &word, text.as_bytes(), text.len());
    }
    join_dotted_acronyms(text.as_bytes(), lexicon, out);
}

fn push(out: &mut Vec<Token>, lexicon: &Lexicon, word: &Word, text: &[u8], end: usize) {
    let (len, start) = (word.len, word.start);
    let roles = word.classify(lexicon, 0, len);
    if roles == Roles::NONE {
        if let Some(cuts) = acronym_in_capitals(lexicon, word, text) {
            push_cut(out, lexicon, word, end, cuts);
            return;
        }
        let run_together = word.letters.get(..len).and_then(run_together_agencies);
        if let Some(parts) = run_together {
            let mut from = 0;
            for part in parts {
                let to = from + part.len();
                let until = word.letter_at.get(to).filter(|_| to < len).copied();
                out.push(Token {
                    start: offset(word.letter_at[from]),
                    end: offset(until.unwrap_or(end)),
                    roles: lexicon.classify(part),
                });
                from = to;
            }
            return;
        }
        if word.n_breaks > 0 {
            push_parts(out, lexicon, word, end);
            return;
        }
    }
    out.push(Token {
        start: offset(start),
        end: offset(end),
        roles,
    });
}

/// Acronyms an agency writes in capitals, which stay one when joined to a word in small
/// letters ("assistICE", "ICEagents", "ICEs", "ICEAgents").
const IN_CAPITALS: Roles = ICE.or(AGENCY).or(AGENCY_MIXED);

/// Where an agency's acronym, written in capitals, meets small letters inside one word:
/// the letters `from..to` it takes. Case is read from the text as written, so an export
/// in capitals ("ASSISTICE") is not split (it could be any word).
fn acronym_in_capitals(lexicon: &Lexicon, word: &Word, text: &[u8]) -> Option<(usize, usize)> {
    let len = word.len;
    if !(4..=MAX_WORD).contains(&len) {
        return None;
    }
    let case = |k: usize| text.get(word.letter_at[k]).copied().unwrap_or(0);
    let upper = |k: usize| case(k).is_ascii_uppercase();
    let lower = |k: usize| k < len && case(k).is_ascii_lowercase();
    let mut a = 0;
    while a < len {
        if !upper(a) {
            a += 1;
            continue;
        }
        let mut b = a;
        while b < len && upper(b) {
            b += 1;
        }
        // The whole run beside small letters ("assistICE", "ICEs"), or all of it but the
        // last capital, which begins the next word ("ICEAgents").
        let ends = [(b, (a > 0 && lower(a - 1)) || lower(b)), (b - 1, lower(b))];
        for (to, beside_small) in ends {
            let acronym = beside_small
                && to >= a + 3
                && lexicon.classify(&word.letters[a..to]).has(IN_CAPITALS);
            if acronym {
                return Some((a, to));
            }
        }
        a = b;
    }
    None
}

/// The word as up to three tokens: before letters `from..to`, those letters, and after.
fn push_cut(
    out: &mut Vec<Token>,
    lexicon: &Lexicon,
    word: &Word,
    end: usize,
    (from, to): (usize, usize),
) {
    let at = |k: usize| if k < word.len { word.letter_at[k] } else { end };
    for (a, b) in [(0, from), (from, to), (to, word.len)] {
        if b > a {
            out.push(Token {
                start: offset(at(a)),
                end: offset(at(b)),
                roles: word.classify(lexicon, a, b),
            });
        }
    }
}

/// A word that is no word as a whole, split where characters that print as nothing fell.
fn push_parts(out: &mut Vec<Token>, lexicon: &Lexicon, word: &Word, end: usize) {
    let (mut from, mut at) = (0, word.start);
    let breaks = word.breaks[..word.n_breaks].iter().copied();
    for (to, until, next) in breaks.chain([(word.len, end, 0)]) {
        if to > from {
            out.push(Token {
                start: offset(at),
                end: offset(until),
                roles: word.classify(lexicon, from, to),
            });
        }
        from = to;
        at = until + next;
    }
}

/// Agency acronyms that are never an English word's letters run together, so a word made
/// only of them is those acronyms written without a space ("ICEERO", "HSIICE").
const RUN_TOGETHER: &[&str] = &["ice", "ero", "hsi", "cbp", "dhs", "uscis", "usbp", "dro"];

/// `word` as acronyms of [`RUN_TOGETHER`] written without a space, and the number written
/// straight before or after them ("ICE2025", a case number): when it is wholly made of
/// them, and it is more than ICE doubled (a song, not an agency).
fn run_together_agencies(word: &[u8]) -> Option<Vec<&[u8]>> {
    let mut parts: Vec<&[u8]> = Vec::new();
    // A number written straight before them too ("2025ICE").
    let digits = word.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == word.len() {
        return None;
    }
    // Digits on both sides is a licence plate ("7ICE402", "6HSI441"), not a case number.
    if digits > 0 && word.last().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if digits > 0 {
        parts.push(&word[..digits]);
    }
    let mut rest = &word[digits..];
    // "USICE", "U.S.I.C.E.": the country before the agency.
    if digits == 0
        && rest.len() > 2
        && rest.starts_with(b"us")
        && RUN_TOGETHER
            .iter()
            .any(|a| rest[2..].starts_with(a.as_bytes()))
        && !RUN_TOGETHER.iter().any(|a| rest.starts_with(a.as_bytes()))
    {
        parts.push(&rest[..2]);
        rest = &rest[2..];
    }
    while let Some(part) = RUN_TOGETHER.iter().find(|a| rest.starts_with(a.as_bytes())) {
        parts.push(part.as_bytes());
        rest = &rest[part.len()..];
    }
    let numbered = !rest.is_empty() && rest.iter().all(u8::is_ascii_digit);
    if !rest.is_empty() && !numbered {
        return None;
    }
    let agencies = parts
        .iter()
        .filter(|p| RUN_TOGETHER.iter().any(|a| a.as_bytes() == **p))
        .count();
    if numbered {
        parts.push(rest);
    }
    let more_than_ice = parts.iter().any(|p| *p != b"ice");
    (agencies >= 1 && parts.len() > 1 && more_than_ice).then_some(parts)
}

/// Offsets are stored as `u32` to keep tokens small; reasons beyond 4 GiB saturate, which
/// only blurs a span, never a flag.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// `text` as screening reads its letters: lower-case ASCII words (look-alike, fullwidth
/// and compatibility letters folded, characters that print as nothing dropped) separated
/// by single spaces. For matching names (an organization) the way reasons are matched.
pub fn fold_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for ch in text.chars() {
        if is_ignorable(ch) {
            continue;
        }
        match fold(ch) {
            Some(b) => {
                if gap && !out.is_empty() {
                    out.push(' ');
                }
                gap = false;
                out.push(char::from(b));
            }
            None => gap = true,
        }
    }
    out
}

/// Characters that print as nothing or only mark the letter before them: format
/// characters (zero-width space and joiners, soft hyphen, direction marks, the byte-order
/// mark, variation selectors) and combining marks (a decomposed accent, the dot of
/// "I\u{307}"). Read as if absent, so they cannot split a word a reader sees whole.
#[inline]
pub(crate) fn is_ignorable(ch: char) -> bool {
    // Most text is ASCII, and no ASCII character is ignorable: one test instead of twenty.
    !ch.is_ascii()
        && (matches!(ch,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{E0000}'..='\u{E0FFF}'
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}' | '\u{08E2}'
        | '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}'
        | '\u{17B4}' | '\u{17B5}' | '\u{FFF9}'..='\u{FFFB}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{0890}' | '\u{0891}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}')
        // Every other combining mark (Hebrew points, Indic signs) marks the letter before.
        || unicode_normalization::char::is_combining_mark(ch))
}

/// Lower-cases ASCII letters and digits, reads fullwidth forms ("ＩＣＥ") as ASCII and the
/// Cyrillic and Greek capitals and small letters that look like Latin ones ("ІСЕ") as
/// those, and folds the accented letters Spanish uses; every other character separates
/// words.
#[inline]
fn fold(ch: char) -> Option<u8> {
    if ch.is_ascii() {
        // Every other ASCII character separates words (no table below holds one).
        return ch
            .is_ascii_alphanumeric()
            .then(|| ch.to_ascii_lowercase() as u8);
    }
    if let Some(ascii) = fullwidth(ch) {
        return Some(ascii);
    }
    if let Some(latin) = look_alike(ch) {
        return Some(latin);
    }
    if let Some(ascii) = compatible(ch) {
        return Some(ascii);
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

/// A fullwidth letter or digit (U+FF10–U+FF5A) as its lower-case ASCII.
fn fullwidth(ch: char) -> Option<u8> {
    let c = u32::from(ch);
    if !(0xFF10..=0xFF5A).contains(&c) {
        return None;
    }
    let ascii = u8::try_from(c - 0xFEE0).ok()?;
    ascii
        .is_ascii_alphanumeric()
        .then(|| ascii.to_ascii_lowercase())
}

/// A letter whose Unicode compatibility form is a Latin one (𝐈 mathematical bold, Ⓘ
/// circled, ᴵ superscript, Ⅰ the Roman numeral, ℐ script): that letter. Accented letters
/// are folded before this (their form starts with the letter too).
fn compatible(ch: char) -> Option<u8> {
    if ch.is_ascii() {
        return None;
    }
    let mut first = None;
    unicode_normalization::char::decompose_compatible(ch, |d| {
        first.get_or_insert(d);
    });
    first
        .filter(char::is_ascii_alphanumeric)
        .map(|d| d.to_ascii_lowercase() as u8)
}

/// Cyrillic and Greek letters drawn like a Latin letter in common fonts (Unicode's
/// confusables for these scripts), as that letter.
fn look_alike(ch: char) -> Option<u8> {
    Some(match ch {
        'А' | 'а' | 'Α' | 'α' => b'a',
        'В' | 'Β' | 'в' => b'b',
        'С' | 'с' | 'Ϲ' | 'ϲ' => b'c',
        'Е' | 'е' | 'Ε' | 'Ѐ' | 'ѐ' | 'Ё' | 'ё' => b'e',
        'Н' | 'Η' | 'н' => b'h',
        'І' | 'і' | 'Ι' | 'ι' | 'Ї' | 'ї' | 'Ӏ' | 'ӏ' => b'i',
        'Ј' | 'ј' => b'j',
        'К' | 'Κ' | 'к' | 'κ' => b'k',
        'М' | 'Μ' | 'м' => b'm',
        'Ν' => b'n',
        'О' | 'о' | 'Ο' | 'ο' => b'o',
        'Р' | 'р' | 'Ρ' | 'ρ' => b'p',
        'Ѕ' | 'ѕ' => b's',
        'Т' | 'Τ' | 'т' => b't',
        'Х' | 'х' | 'Χ' | 'χ' => b'x',
        'У' | 'у' | 'Υ' | 'Ү' | 'ү' => b'y',
        'Ζ' => b'z',
        // Dotless i, and the small capitals (ɪᴄᴇ) no compatibility form makes Latin.
        'ı' => b'i',
        'ᴀ' => b'a',
        'ʙ' => b'b',
        'ᴄ' => b'c',
        'ᴅ' => b'd',
        'ᴇ' => b'e',
        'ɢ' => b'g',
        'ʜ' => b'h',
        'ɪ' => b'i',
        'ᴊ' => b'j',
        'ᴋ' => b'k',
        'ʟ' => b'l',
        'ᴍ' => b'm',
        'ɴ' => b'n',
        'ᴏ' => b'o',
        'ᴘ' => b'p',
        'ʀ' => b'r',
        'ꜱ' => b's',
        'ᴛ' => b't',
        'ᴜ' => b'u',
        'ᴠ' => b'v',
        'ᴡ' => b'w',
        'ʏ' => b'y',
        'ᴢ' => b'z',
        // Cherokee letters drawn as Latin capitals.
        'Ꭺ' => b'a',
        'Ᏼ' => b'b',
        'Ꮯ' => b'c',
        'Ꭼ' => b'e',
        'Ꮋ' => b'h',
        'Ꭵ' => b'i',
        'Ꮶ' => b'k',
        'Ꮮ' => b'l',
        'Ꮇ' => b'm',
        'Ꮲ' => b'p',
        'Ꮪ' => b's',
        'Ꭲ' => b't',
        'Ꮩ' => b'v',
        'Ꮃ' => b'w',
        'Ꮓ' => b'z',
        _ => return None,
    })
}

/// Joins runs like `I.C.E.`, `H.S.I` or `I C E` (single letters separated by single dots
/// or spaces) into one word, so an abbreviation written letter by letter reads as the
/// abbreviation. A run with spaces joins only into an agency or a term of art.
fn join_dotted_acronyms(text: &[u8], lexicon: &Lexicon, tokens: &mut Vec<Token>) {
    let mut i = 0;
    while i + 1 < tokens.len() {
        let (run, first_spaced) = dotted_run(text, &tokens[i..]);
        if run < 2 {
            i += 1;
            continue;
        }
        let mut word = [0u8; MAX_WORD];
        let letters = run.min(MAX_WORD);
        for (slot, token) in word.iter_mut().zip(&tokens[i..i + letters]) {
            *slot = byte_at(text, token.start).to_ascii_lowercase();
        }
        // The longest run of the letters that means something: "I.C.E. w/ locate" is ICE
        // and then a word.
        if let Some(joined) = (2..=letters)
            .rev()
            .find_map(|len| meaning(lexicon, &word[..len], first_spaced < len - 1))
        {
            let at = |from: usize, to: usize, roles| Token {
                start: tokens[i + from].start,
                end: tokens[i + to - 1].end,
                roles,
            };
            let parts: Vec<Token> = joined.iter().map(|&(a, b, r)| at(a, b, r)).collect();
            let (taken, n) = (joined.last().map_or(0, |p| p.1), parts.len());
            tokens.splice(i..i + taken, parts);
            i += n;
            continue;
        }
        if first_spaced == usize::MAX {
            // Letters with dots alone, no word: one word still ("A.B.C."), not letters.
            let joined = Token {
                start: tokens[i].start,
                end: tokens[i + run - 1].end,
                roles: Roles::NONE,
            };
            tokens.splice(i..i + run, [joined]);
        }
        i += 1;
    }
}

/// What `letters` mean joined: one word (`(0, len, roles)`), or acronyms run together
/// ("I.C.E.E.R.O."), one part each; `None` if nothing, or if the letters are `spaced` and
/// are no agency or term of art.
fn meaning(lexicon: &Lexicon, letters: &[u8], spaced: bool) -> Option<Vec<(usize, usize, Roles)>> {
    let roles = lexicon.classify(letters);
    if roles != Roles::NONE {
        return (!spaced || roles.has(SPACED_JOINABLE)).then(|| vec![(0, letters.len(), roles)]);
    }
    let parts = run_together_agencies(letters)?;
    let mut from = 0;
    Some(
        parts
            .iter()
            .map(|part| {
                let to = from + part.len();
                let p = (from, to, lexicon.classify(part));
                from = to;
                p
            })
            .collect(),
    )
}

/// How many single-letter tokens, each followed by a dot or a separator of
/// [`letter_gap`], start this slice; and the first gap (counted from 0) that is not a lone
/// dot (`usize::MAX` if none).
fn dotted_run(text: &[u8], tokens: &[Token]) -> (usize, usize) {
    let single_letter = |t: &Token| {
        // One letter, perhaps with characters that print as nothing after it ("I\u{200B}.").
        let rest = text
            .get(t.start as usize + 1..t.end as usize)
            .unwrap_or_default();
        let invisible = || std::str::from_utf8(rest).is_ok_and(|r| r.chars().all(is_ignorable));
        byte_at(text, t.start).is_ascii_alphabetic() && (rest.is_empty() || invisible())
    };
    let mut run = 0;
    let mut first_spaced = usize::MAX;
    for (n, pair) in tokens.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        let gap = text
            .get(a.end as usize..b.start as usize)
            .and_then(|g| std::str::from_utf8(g).ok())
            .unwrap_or("");
        let Some(dotted) = letter_gap(gap) else {
            break;
        };
        if !(single_letter(a) && single_letter(b)) {
            break;
        }
        if !dotted {
            first_spaced = first_spaced.min(n);
        }
        run = if run == 0 { 2 } else { run + 1 };
    }
    (run, first_spaced)
}

/// What may stand between the letters of an abbreviation written letter by letter: one
/// dot (`Some(true)`), or one to three of a space, dot, hyphen, slash, underscore, plus,
/// middle dot and other separators (`Some(false)`: such runs join only into an agency or
/// a term of art, as spaced letters do).
fn letter_gap(gap: &str) -> Option<bool> {
    // Characters that print as nothing are not there to a reader ("I.\u{200B}C.\u{200B}E.").
    let visible: String;
    let gap = if gap.is_ascii() {
        gap
    } else {
        visible = gap.chars().filter(|&c| !is_ignorable(c)).collect();
        &visible
    };
    // A full stop, or one drawn like it (fullwidth, one-dot leader, small full stop).
    if matches!(gap, "." | "\u{FF0E}" | "\u{2024}" | "\u{FE52}") {
        return Some(true);
    }
    let n = gap.chars().count();
    let separators = gap.chars().all(|c| {
        matches!(
            c,
            ' ' | '\u{A0}' | '-' | '\u{2010}'..='\u{2015}' | '/' | '_' | '+' | '·' | '\u{2022}'
            // A dot with a space or two ("I. C. E.", "I.  C.  E."), and other punctuation
            // put between letters. Not a comma: "Schedule I, C, E" is a list.
            | '.' | ':' | ';' | '*' | '\t' | '|' | '~' | '!' | '=' | '#' | '\''
            // Dots drawn otherwise: fullwidth, ideographic, katakana middle, bullet
            // operator, Greek ano teleia, hyphenation point.
            | '\u{FF0E}' | '\u{3002}' | '\u{30FB}' | '\u{2219}' | '\u{0387}' | '\u{2027}'
            // Spaces of other widths: en, em, thin, hair, narrow no-break, ideographic.
            | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{1680}'
        )
    });
    ((1..=3).contains(&n) && separators).then_some(false)
}

fn byte_at(text: &[u8], at: u32) -> u8 {
    text.get(at as usize).copied().unwrap_or(0)
}
