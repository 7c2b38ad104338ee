//! What a cell holds before what it says: blank, masked (`***`, `REDACTED`, `###`), a
//! placeholder (`n/a`, `-`), or a value; and whether a reason states a purpose at all
//! ("investigation", "inv", a bare case number say nothing a reader can check).
use serde::Serialize;

/// The state of one cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellState {
    Empty,
    /// Masked by the vendor or the agency: the value existed and was withheld.
    Redacted,
    Value,
}

/// Whether a cell is blank, masked or holds a value. Masks seen in public releases: `***`
/// (Flock's), `* * *`, `###`, block glyphs, and `REDACTED` / `[REDACTED]` in any case.
pub fn cell_state(cell: &str) -> CellState {
    cell_state_bytes(cell.as_bytes())
}

/// [`cell_state`] on a cell's bytes, valid UTF-8 or not (the per-cell path).
pub fn cell_state_bytes(cell: &[u8]) -> CellState {
    if cannot_be_a_mask(cell) {
        return CellState::Value;
    }
    if cell.is_empty() {
        return CellState::Empty;
    }
    let t = cell.trim_ascii();
    match t.first() {
        None => CellState::Empty,
        Some(_) if is_mask(t) => CellState::Redacted,
        Some(_) => CellState::Value,
    }
}

/// Most cells, told from their first two bytes: not blank, no space to trim, and no mask
/// starts so (`b7c` needs a digit after its b, `XXXX` a second x).
fn cannot_be_a_mask(cell: &[u8]) -> bool {
    let Some(&b) = cell.first() else {
        return false;
    };
    let second = cell.get(1).copied().unwrap_or(0);
    match b {
        b'*' | b'#' | b'[' | b'<' | b'(' | b'{' | b'-' | b'r' | b'R' | 0xE2 => false,
        b'b' | b'B' => !second.is_ascii_digit(),
        b'x' | b'X' => !matches!(second, b'x' | b'X'),
        b'w' | b'W' => !matches!(second, b'i' | b'I'),
        _ => !b.is_ascii_whitespace(),
    }
}

/// The block glyph █ in UTF-8.
const BLOCK: &[u8] = "█".as_bytes();

fn is_mask(t: &[u8]) -> bool {
    if t[0] == b'*' || t[0] == b'#' || t.starts_with(BLOCK) {
        let mut rest = t;
        while let Some((&b, tail)) = rest.split_first() {
            rest = if matches!(b, b'*' | b'#' | b' ') {
                tail
            } else if rest.starts_with(BLOCK) {
                &rest[BLOCK.len()..]
            } else {
                return false;
            };
        }
        return true;
    }
    // XXXX or XX-XXXX: a value overwritten letter by letter (three x's and fewer are a
    // filler).
    let xs = t.iter().filter(|b| matches!(b, b'x' | b'X')).count();
    if xs >= 4 && t.iter().all(|b| matches!(b, b'x' | b'X' | b'-' | b' ')) {
        return true;
    }
    if is_foia_exemption(t) {
        return true;
    }
    // REDACTED or WITHHELD, bracketed or set off by dashes: [..], <..>, (..), {..}, — .. —.
    let inner = std::str::from_utf8(t)
        .unwrap_or("")
        .trim_matches(|c: char| {
            matches!(
                c,
                '[' | ']' | '<' | '>' | '(' | ')' | '{' | '}' | '-' | '—' | '–' | ' '
            )
        });
    inner.eq_ignore_ascii_case("redacted") || inner.eq_ignore_ascii_case("withheld")
}

/// A FOIA exemption cited in place of the value, as federal releases do: `(b)(6)`,
/// `(b)(7)(C)`, `b7c`, or several with commas or spaces (`(b)(6), (b)(7)(C)`).
fn is_foia_exemption(t: &[u8]) -> bool {
    // Without the brackets, spaces and commas: "b6", "b7c" or "b6b7c", each a b, a digit
    // 1 to 9, and after a 7 a letter a to f. Read without copying: this runs on every
    // cell that starts with a b.
    let mut rest = t
        .iter()
        .filter(|b| !matches!(b, b'(' | b')' | b' ' | b','))
        .map(u8::to_ascii_lowercase)
        .peekable();
    let mut any = false;
    while let Some(b) = rest.next() {
        let Some(d @ b'1'..=b'9') = (b == b'b').then(|| rest.next()).flatten() else {
            return false;
        };
        if d == b'7' && rest.peek().is_some_and(|c| (b'a'..=b'f').contains(c)) {
            rest.next();
        }
        any = true;
    }
    any
}

/// Why a reason tells a reader nothing, or that it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonState {
    /// Blank.
    Missing,
    /// Masked (`***`, `REDACTED`).
    Redacted,
    /// `n/a`, `none`, `-`, `test`, `x`: a filler.
    Placeholder,
    /// Only a case or report number.
    CaseNumberOnly,
    /// Only generic words: "investigation", "inv", "criminal investigation", "other - not
    /// applicable", "agency assist".
    Vague,
    /// Says something specific (a crime, a person missing, a warrant), true or not.
    Stated,
}

impl ReasonState {
    pub const ALL: [ReasonState; 6] = [
        ReasonState::Missing,
        ReasonState::Redacted,
        ReasonState::Placeholder,
        ReasonState::CaseNumberOnly,
        ReasonState::Vague,
        ReasonState::Stated,
    ];

    /// Whether the reason gives no checkable purpose.
    pub fn says_nothing(self) -> bool {
        self != ReasonState::Stated
    }

    pub fn key(self) -> &'static str {
        match self {
            ReasonState::Missing => "missing",
            ReasonState::Redacted => "redacted",
            ReasonState::Placeholder => "placeholder",
            ReasonState::CaseNumberOnly => "case_number_only",
            ReasonState::Vague => "vague",
            ReasonState::Stated => "stated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReasonState::Missing => "blank",
            ReasonState::Redacted => "masked (***, REDACTED)",
            ReasonState::Placeholder => "a filler (n/a, none, -, test)",
            ReasonState::CaseNumberOnly => "a case number only",
            ReasonState::Vague => "generic words only (investigation, inv, other, agency assist)",
            ReasonState::Stated => "a stated purpose",
        }
    }
}

const PLACEHOLDERS: &[&str] = &[
    "none",
    "n/a",
    "na",
    "-",
    "--",
    "xxx",
    "x",
    "*",
    ".",
    "0",
    "test",
    "null",
    "nil",
    "n.a.",
    "tbd",
    "unknown",
    "?",
    "undefined",
    "nan",
    "#n/a",
    "#value!",
    "#ref!",
    "#name?",
    "none given",
    "no reason",
    "same",
    "various",
];

/// Words that name no purpose on their own (sorted, for a binary search). A reason made only of these (and of case
/// numbers) is vague; one more word ("stolen", "warrant", "missing") makes it a stated
/// purpose. "Agency assist" is here on purpose: a search for another agency with no
/// stated purpose is exactly what a side door looks like.
const GENERIC: &[&str] = &[
    "a",
    "active",
    "agency",
    "an",
    "and",
    "applicable",
    "assist",
    "assisting",
    "business",
    "case",
    "cases",
    "cid",
    "crim",
    "criminal",
    "det",
    "detective",
    "detectives",
    "enforcement",
    "follow",
    "followup",
    "for",
    "general",
    "incident",
    "info",
    "information",
    "intel",
    "intelligence",
    "inv",
    "invest",
    "investigate",
    "investigating",
    "investigation",
    "investigations",
    "investigative",
    "invg",
    "invst",
    "invstg",
    "law",
    "le",
    "lead",
    "leads",
    "leo",
    "lookup",
    "nbr",
    "no",
    "not",
    "num",
    "number",
    "of",
    "official",
    "ongoing",
    "open",
    "other",
    "outside",
    "pending",
    "per",
    "police",
    "purpose",
    "purposes",
    "query",
    "related",
    "report",
    "request",
    "requested",
    "research",
    "routine",
    "rpt",
    "search",
    "see",
    "the",
    "up",
    "w",
    "with",
    "work",
];

/// Suffixes of statute sections typed with their number ("487pc", "10851vc", "893.13fs"):
/// a code section names an offense, so it is a stated purpose, not a case number.
const STATUTE_SUFFIXES: &[&str] = &[
    "pc", "cvc", "vc", "hs", "hsc", "bp", "wi", "wic", "fs", "ilcs", "rcw", "usc",
];

fn is_statute(word: &str) -> bool {
    // On bytes, without lowercasing a copy: this runs on every word of every reason that is
    // screened afresh, and most of those words start with no digit, so are no section.
    let w = word.as_bytes();
    if !w.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    STATUTE_SUFFIXES.iter().any(|s| {
        w.len() > s.len() && {
            let (number, suffix) = w.split_at(w.len() - s.len());
            suffix.eq_ignore_ascii_case(s.as_bytes()) && number.iter().all(u8::is_ascii_digit)
        }
    })
}

fn is_generic(word: &str) -> bool {
    let mut buf = [0u8; 16];
    let Some(slot) = buf.get_mut(..word.len()) else {
        return false;
    };
    slot.copy_from_slice(word.as_bytes());
    slot.make_ascii_lowercase();
    let lower = std::str::from_utf8(slot).unwrap_or("");
    GENERIC.binary_search(&lower).is_ok()
}

/// Classifies a reason cell.
pub fn reason_state(reason: &str) -> ReasonState {
    let t = reason.trim();
    match cell_state(t) {
        CellState::Empty => return ReasonState::Missing,
        CellState::Redacted => return ReasonState::Redacted,
        CellState::Value => {}
    }
    if !t.chars().any(char::is_alphanumeric)
        || PLACEHOLDERS.iter().any(|p| t.eq_ignore_ascii_case(p))
    {
        return ReasonState::Placeholder;
    }
    let mut numbers = 0;
    let mut generic = 0;
    for word in t
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if is_statute(word) {
            return ReasonState::Stated;
        } else if word.bytes().any(|b| b.is_ascii_digit()) {
            numbers += 1;
        } else if is_generic(word) {
            generic += 1;
        } else {
            return ReasonState::Stated;
        }
    }
    if generic == 0 && numbers > 0 {
        ReasonState::CaseNumberOnly
    } else {
        ReasonState::Vague
    }
}

/// Flock's verdict on a search (`Moderation`): its own screening of the reason or prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moderation {
    Blank,
    Allow,
    Warn,
    Block,
    /// A value Cordon does not know; counted as unreadable.
    Other,
}

pub fn moderation(cell: &str) -> Moderation {
    let t = cell.trim();
    if t.is_empty() {
        return Moderation::Blank;
    }
    let l = t.to_ascii_lowercase();
    match l.as_str() {
        "allow" | "allowed" | "pass" | "passed" => Moderation::Allow,
        "warn" | "warned" | "warning" => Moderation::Warn,
        "block" | "blocked" | "deny" | "denied" => Moderation::Block,
        _ => Moderation::Other,
    }
}

#[cfg(test)]
mod windows_1252_tests {
    use super::windows_1252;

    #[test]
    fn windows_1252_reads_spanish_and_the_windows_punctuation() {
        assert_eq!(windows_1252(b"deportaci\xF3n"), "deportación");
        assert_eq!(
            windows_1252(b"MIGRACI\xD3N \x93ICE\x94 \x80"),
            "MIGRACIÓN “ICE” €"
        );
        assert_eq!(windows_1252(b"plain"), "plain");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_told_from_blanks_and_values() {
        for masked in [
            "***",
            " * * * ",
            "###",
            "REDACTED",
            "[Redacted]",
            "█████",
            "<redacted>",
            "XXXX",
            "xxxxxxx",
            "(b)(6)",
            "(b)(7)(C)",
            "(b)(6), (b)(7)(C)",
            "b7c",
            "(REDACTED)",
            "{redacted}",
            "— redacted —",
            "Withheld",
            "[withheld]",
            "XX-XXXX",
        ] {
            assert_eq!(cell_state(masked), CellState::Redacted, "{masked}");
        }
        assert_eq!(cell_state("  "), CellState::Empty);
        for value in [
            "*ABC123",
            "9***999",
            "Redacted plate follow-up",
            "ICE",
            "XXX123",
            "(b)(7)(C) withheld? no: burglary",
            "b7 road",
            "bb",
            "robbery",
            "x",
        ] {
            assert_eq!(cell_state(value), CellState::Value, "{value}");
        }
    }

    #[test]
    fn reasons_that_say_nothing_are_told_apart_from_stated_ones() {
        use ReasonState::*;
        let cases = [
            ("", Missing),
            ("***", Redacted),
            ("n/a", Placeholder),
            ("--", Placeholder),
            ("25-136102", CaseNumberOnly),
            ("#00074", CaseNumberOnly),
            ("487pc", Stated),
            ("26-09001, 211PC", Stated),
            ("Investigation", Vague),
            ("inv", Vague),
            ("Criminal Investigation", Vague),
            ("Other - Not Applicable", Vague),
            ("investigation 25-1234", Vague),
            ("agency assist", Vague),
            ("stolen vehicle", Stated),
            ("Warrant", Stated),
            ("ICE+ERO", Stated),
            ("narcotics investigation", Stated),
            ("undefined", Placeholder),
            ("NaN", Placeholder),
            ("#N/A", Placeholder),
            ("None given", Placeholder),
            ("various", Placeholder),
            ("withheld per 7(c)", Stated),
            ("(b)(7)(C)", Redacted),
            ("XXXX", Redacted),
        ];
        for (reason, want) in cases {
            assert_eq!(reason_state(reason), want, "{reason:?}");
        }
    }

    /// The reading of statute sections before it was made to work on bytes: lowercase a
    /// copy, then compare.
    fn is_statute_by_lowercasing(word: &str) -> bool {
        let lower = word.to_ascii_lowercase();
        STATUTE_SUFFIXES.iter().any(|s| {
            lower.len() > s.len()
                && lower.ends_with(s)
                && lower[..lower.len() - s.len()]
                    .bytes()
                    .all(|b| b.is_ascii_digit())
        })
    }

    proptest::proptest! {
        #[test]
        fn statute_sections_are_read_as_lowercasing_a_copy_reads_them(
            word in "[0-9]{0,4}[0-9a-zA-Z\u{e9}\u{130}.]{0,2}(pc|PC|Vc|ilcs|USC|wic|x|)"
        ) {
            proptest::prop_assert_eq!(is_statute(&word), is_statute_by_lowercasing(&word));
        }
    }

    #[test]
    fn statute_sections_in_any_case_are_stated_purposes() {
        for word in ["487pc", "10851VC", "13Fs", "720ILCS"] {
            assert!(is_statute(word), "{word}");
        }
        for word in ["pc", "487", "pc487", "4a87pc", "487p", "\u{e9}87pc"] {
            assert!(!is_statute(word), "{word}");
        }
    }

    #[test]
    fn the_generic_words_are_sorted_for_their_binary_search() {
        assert!(GENERIC.windows(2).all(|w| w[0] < w[1]));
        assert!(is_generic("INVESTIGATION") && !is_generic("stolen"));
    }

    #[test]
    fn moderation_verdicts_in_their_spellings() {
        assert_eq!(moderation("allow"), Moderation::Allow);
        assert_eq!(moderation(" Blocked "), Moderation::Block);
        assert_eq!(moderation("warn"), Moderation::Warn);
        assert_eq!(moderation(""), Moderation::Blank);
        assert_eq!(moderation("maybe"), Moderation::Other);
    }
}

/// Bytes as Windows-1252 text (the WHATWG encoding standard's `windows-1252`: Latin-1,
/// with 0x80–0x9F the punctuation and letters Windows put there). Every byte is a
/// character, so nothing is lost; ASCII is unchanged.
pub fn windows_1252(bytes: &[u8]) -> String {
    // 0x80..=0x9F; the five bytes Windows leaves undefined map to the C1 control of the
    // same number, as the standard says.
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}
