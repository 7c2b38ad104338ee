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

/// Whether a complete number token is in range for serde_json: every number whose
/// integer part has at most 300 digits and no exponent is; others are parsed to see.
pub(crate) fn in_range(token: &[u8]) -> bool {
    let has_exponent = token.iter().any(|&b| b == b'e' || b == b'E');
    let int_digits = token
        .iter()
        .skip_while(|&&b| b == b'-')
        .take_while(|b| b.is_ascii_digit())
        .count();
    if !has_exponent && int_digits <= 300 {
        return true;
    }
    serde_json::from_slice::<serde_json::Value>(token).is_ok()
}
