//! JSON numbers, byte by byte: the grammar of RFC 8259, and serde_json's refusal of a
//! number too large for an `f64`, checked on the whole token once it ends.

/// Where in a number's grammar the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Num {
    /// After `-`: a digit is due.
    Minus,
    /// After a leading `0`: no more integer digits may follow.
    Zero,
    Int,
    /// After `.`: a digit is due.
    Dot,
    Frac,
    /// After `e` or `E`: a sign or digit is due.
    E,
    /// After the exponent's sign: a digit is due.
    ESign,
    Exp,
}

/// What a byte did to a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// The byte is part of the number.
    More(Num),
    /// The number ended before this byte, which belongs to what follows.
    Ended,
}

impl Num {
    /// The state after a first byte `-` or a digit.
    pub(crate) fn start(b: u8) -> Num {
        match b {
            b'-' => Num::Minus,
            b'0' => Num::Zero,
            _ => Num::Int,
        }
    }

    /// Whether the number may end here.
    pub(crate) fn complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::Exp)
    }

    pub(crate) fn step(self, b: u8) -> Result<Next, &'static str> {
        let next = match (self, b) {
            (Num::Minus, b'0') => Num::Zero,
            (Num::Minus, b'1'..=b'9') => Num::Int,
            (Num::Int, b'0'..=b'9') => Num::Int,
            (Num::Zero | Num::Int, b'.') => Num::Dot,
            (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
            (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::E,
            (Num::E, b'+' | b'-') => Num::ESign,
            (Num::E | Num::ESign | Num::Exp, b'0'..=b'9') => Num::Exp,
            (Num::Zero, b'0'..=b'9') => return Err("a number has a leading zero"),
            (s, _) if s.complete() => return Ok(Next::Ended),
            _ => return Err("a number is cut short (a digit is missing)"),
        };
        Ok(Next::More(next))
    }
}

/// Whether a complete number token is in range for serde_json. A number below 10^307 in
/// magnitude surely is (its integer digits plus a positive exponent of at most 4 digits
/// say so), and one with a negative exponent only shrinks; the rest is parsed to see.
pub(crate) fn in_range(token: &[u8]) -> bool {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    let int_digits = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    let exponent = token
        .iter()
        .position(|&b| b == b'e' || b == b'E')
        .map(|at| &token[at + 1..]);
    let surely = match exponent {
        None => int_digits <= 300,
        Some(e) if e.first() == Some(&b'-') => int_digits <= 300,
        Some(e) => {
            let e = e.strip_prefix(b"+").unwrap_or(e);
            e.len() <= 4
                && int_digits
                    + e.iter()
                        .fold(0usize, |n, &d| n * 10 + usize::from(d - b'0'))
                    <= 300
        }
    };
    surely || serde_json::from_slice::<serde_json::Value>(token).is_ok()
}

/// Length of the run of ASCII digits at the start of `s`.
pub(crate) fn digit_run(s: &[u8]) -> usize {
    s.iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len())
}
