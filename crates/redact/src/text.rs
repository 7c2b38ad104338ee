//! The inside of a JSON string, byte by byte: escapes, `\u` surrogate pairs and UTF-8
//! sequences split anywhere across chunks, checked exactly as serde_json checks them.

/// What a byte inside a string turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Part of the string; `Some(c)` when it completed an escape that decodes to `c`.
    Inner(Option<char>),
    /// A raw byte of the string's UTF-8 text (decodes to itself).
    Raw,
    /// The closing quote.
    End,
}

/// Where inside an escape or a UTF-8 sequence the string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Text {
    #[default]
    Plain,
    /// After a backslash.
    Escape,
    /// Reading the hex digits of `\u`: how many read, value so far, and the high
    /// surrogate this escape must complete, if any.
    Hex {
        read: u8,
        value: u32,
        high: Option<u32>,
    },
    /// After a high-surrogate escape: a `\` must follow.
    PairBackslash { high: u32 },
    /// After a high surrogate and `\`: a `u` must follow.
    PairU { high: u32 },
    /// Inside a multi-byte UTF-8 sequence: continuation bytes still due, and the range
    /// the next one must fall in.
    Utf8 { due: u8, lo: u8, hi: u8 },
}

impl Text {
    /// Whether the string may end here (no escape or sequence open).
    pub(crate) fn is_plain(self) -> bool {
        self == Text::Plain
    }

    /// Consumes one byte of a string.
    pub(crate) fn step(&mut self, b: u8) -> Result<Step, &'static str> {
        match *self {
            Text::Plain => self.plain(b),
            Text::Escape => self.escape(b),
            Text::Hex { read, value, high } => self.hex(b, read, value, high),
            Text::PairBackslash { high } => {
                if b != b'\\' {
                    return Err(
                        "a \\u escape of a high surrogate is not followed by its low surrogate",
                    );
                }
                *self = Text::PairU { high };
                Ok(Step::Inner(None))
            }
            Text::PairU { high } => {
                if b != b'u' {
                    return Err(
                        "a \\u escape of a high surrogate is not followed by its low surrogate",
                    );
                }
                *self = Text::Hex {
                    read: 0,
                    value: 0,
                    high: Some(high),
                };
                Ok(Step::Inner(None))
            }
            Text::Utf8 { due, lo, hi } => {
                if b < lo || b > hi {
                    return Err("a string is not valid UTF-8");
                }
                *self = if due == 1 {
                    Text::Plain
                } else {
                    Text::Utf8 {
                        due: due - 1,
                        lo: 0x80,
                        hi: 0xBF,
                    }
                };
                Ok(Step::Raw)
            }
        }
    }

    fn plain(&mut self, b: u8) -> Result<Step, &'static str> {
        let (due, lo, hi) = match b {
            b'"' => return Ok(Step::End),
            b'\\' => {
                *self = Text::Escape;
                return Ok(Step::Inner(None));
            }
            0x00..=0x1F => return Err("a string contains a control character (U+0000 to U+001F)"),
            0x20..=0x7F => return Ok(Step::Raw),
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            _ => return Err("a string is not valid UTF-8"),
        };
        *self = Text::Utf8 { due, lo, hi };
        Ok(Step::Raw)
    }

    fn escape(&mut self, b: u8) -> Result<Step, &'static str> {
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                *self = Text::Hex {
                    read: 0,
                    value: 0,
                    high: None,
                };
                return Ok(Step::Inner(None));
            }
            _ => return Err("a string has an invalid escape"),
        };
        *self = Text::Plain;
        Ok(Step::Inner(Some(c)))
    }

    fn hex(
        &mut self,
        b: u8,
        read: u8,
        value: u32,
        high: Option<u32>,
    ) -> Result<Step, &'static str> {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err("a \\u escape has a character that is not a hex digit"),
        };
        let value = value << 4 | u32::from(digit);
        if read < 3 {
            *self = Text::Hex {
                read: read + 1,
                value,
                high,
            };
            return Ok(Step::Inner(None));
        }
        *self = Text::Plain;
        let code = match (high, value) {
            (Some(h), 0xDC00..=0xDFFF) => 0x10000 + ((h - 0xD800) << 10) + (value - 0xDC00),
            (Some(_), _) | (None, 0xDC00..=0xDFFF) => {
                return Err("a \\u escape is a lone surrogate")
            }
            (None, 0xD800..=0xDBFF) => {
                *self = Text::PairBackslash { high: value };
                return Ok(Step::Inner(None));
            }
            (None, v) => v,
        };
        char::from_u32(code)
            .map(|c| Step::Inner(Some(c)))
            .ok_or("a \\u escape is not a Unicode scalar value")
    }
}

/// Length of the run at the start of `s` of bytes that are plain printable ASCII inside a
/// string (no quote, backslash, control character or non-ASCII byte): they need no
/// state, so they are copied as a block.
pub(crate) fn plain_run(s: &[u8]) -> usize {
    s.iter()
        .position(|&c| !PLAIN[usize::from(c)])
        .unwrap_or(s.len())
}

/// Which bytes are plain inside a string: one load per byte in the hot loop.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x20;
    while c < 0x80 {
        t[c] = c != b'"' as usize && c != b'\\' as usize;
        c += 1;
    }
    t
};
