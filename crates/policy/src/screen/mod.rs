//! Screening: reads a free-text reason the way a careful auditor would and returns flags,
//! each with the byte span and the words that triggered it. Deterministic: the same text
//! always gives the same flags, and every flag points at its words.

pub mod eval;
mod lexicon;

pub use lexicon::FxHasher;
mod rules;
mod tokens;
pub use tokens::fold_words;

use serde::{Deserialize, Serialize};

/// What a flag says about a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The reason states or implies civil immigration enforcement.
    CivilImmigration,
    /// The reason concerns abortion or other reproductive health care.
    ReproductiveHealth,
}

impl FlagKind {
    /// The word policies see in `context.flags`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::CivilImmigration => "civil_immigration",
            FlagKind::ReproductiveHealth => "reproductive_health",
        }
    }
}

/// A flag without its text, for callers that screen millions of rows and only count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub kind: FlagKind,
    /// Byte offset of the first triggering byte.
    pub start: u32,
    /// Byte offset just past the last triggering byte.
    pub end: u32,
}

/// A flag as reported and logged: the kind, the span and the words as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub flag: FlagKind,
    pub start: usize,
    pub end: usize,
    pub term: String,
}

/// The result of screening one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    pub flags: Vec<Flag>,
}

impl Screening {
    /// Whether any flag of this kind was raised.
    pub fn has(&self, kind: FlagKind) -> bool {
        self.flags.iter().any(|f| f.flag == kind)
    }
}

/// The words that name immigration enforcement by themselves, for baselines that scan
/// reasons with a keyword regex (the screener itself reads them in context).
pub fn keywords() -> Vec<&'static str> {
    lexicon::keywords()
}

/// Reusable buffers, so screening many rows allocates only when a reason is longer than
/// any seen before.
#[derive(Debug, Default)]
pub struct Scratch {
    tokens: Vec<tokens::Token>,
}

/// The classifier. Build once (it holds a word table) and share: it is `Send + Sync`.
pub struct Screener {
    lexicon: lexicon::Lexicon,
}

impl Default for Screener {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Screener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Screener")
    }
}

impl Screener {
    pub fn new() -> Self {
        Screener {
            lexicon: lexicon::Lexicon::new(),
        }
    }

    /// The fast path: appends the hits for `text` to `out`, reusing `scratch`.
    pub fn scan(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<Hit>) {
        tokens::tokenize(text, &self.lexicon, &mut scratch.tokens);
        rules::evaluate(text.as_bytes(), &scratch.tokens, out);
    }

    /// Screens one reason and returns its flags with the triggering words.
    pub fn screen(&self, text: &str) -> Screening {
        let mut scratch = Scratch::default();
        self.screen_with(text, &mut scratch)
    }

    /// As [`Screener::screen`], reusing `scratch`.
    pub fn screen_with(&self, text: &str, scratch: &mut Scratch) -> Screening {
        let mut hits = Vec::new();
        self.scan(text, scratch, &mut hits);
        let flags = hits
            .into_iter()
            .map(|hit| {
                let (start, end) = (hit.start as usize, hit.end as usize);
                Flag {
                    flag: hit.kind,
                    start,
                    end,
                    term: text.get(start..end).unwrap_or_default().to_owned(),
                }
            })
            .collect();
        Screening { flags }
    }
}
