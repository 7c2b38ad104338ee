//! The purpose headers: what a requester says they need the data for, read from
//! `Cordon-Purpose`, `Cordon-Reason`, `Cordon-Case`, `Cordon-Authority`,
//! `Cordon-Authority-Ref` and `Cordon-Authority-Record` (percent-encoded UTF-8).
use cordon_policy::{Authority, AuthorityKind, Purpose, PurposeCode};
use percent_encoding::percent_decode;

pub const PURPOSE: &str = "cordon-purpose";
pub const REASON: &str = "cordon-reason";
pub const CASE: &str = "cordon-case";
pub const AUTHORITY: &str = "cordon-authority";
pub const AUTHORITY_REF: &str = "cordon-authority-ref";
pub const AUTHORITY_RECORD: &str = "cordon-authority-record";

/// The headers a client may send to state its purpose; every other `Cordon-*` header is
/// Cordon's own and is stripped from requests.
pub const INPUT_HEADERS: [&str; 6] = [
    PURPOSE,
    REASON,
    CASE,
    AUTHORITY,
    AUTHORITY_REF,
    AUTHORITY_RECORD,
];

/// Longest decoded value of any purpose header, in bytes; keeps a log entry well under
/// the log's 64 KiB limit.
pub const MAX_VALUE_BYTES: usize = 1024;

/// The raw header values, as bytes off the wire.
#[derive(Debug, Default, Clone, Copy)]
pub struct PurposeFields<'a> {
    pub purpose: Option<&'a [u8]>,
    pub reason: Option<&'a [u8]>,
    pub case: Option<&'a [u8]>,
    pub authority: Option<&'a [u8]>,
    pub authority_ref: Option<&'a [u8]>,
    pub authority_record: Option<&'a [u8]>,
}

/// Why the purpose headers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurposeError {
    #[error("missing header Cordon-Purpose: send one of {}, e.g. `Cordon-Purpose: criminal_investigation`, with `Cordon-Reason: <why, percent-encoded UTF-8>` and `Cordon-Case: <case number>`", PurposeCode::WORDS.join(", "))]
    Missing,
    #[error("header {header} is not valid percent-encoded UTF-8: encode the text as UTF-8, then percent-encode bytes outside printable ASCII")]
    NotUtf8 { header: &'static str },
    #[error("header {header} is longer than {MAX_VALUE_BYTES} bytes after decoding: shorten it")]
    TooLong { header: &'static str },
    #[error("header {header} contains a control character: remove it")]
    Control { header: &'static str },
    #[error("header {header} has a malformed percent escape: use %XX with two hex digits")]
    BadEscape { header: &'static str },
    #[error("header {header} is percent-encoded twice (a %XX escape remains after decoding, which would hide the words from screening): encode it once")]
    EncodedTwice { header: &'static str },
}

impl PurposeError {
    /// The header at fault, for the JSON body of a refusal.
    pub fn header(&self) -> &'static str {
        match self {
            PurposeError::Missing => "Cordon-Purpose",
            PurposeError::NotUtf8 { header }
            | PurposeError::TooLong { header }
            | PurposeError::Control { header }
            | PurposeError::BadEscape { header }
            | PurposeError::EncodedTwice { header } => header,
        }
    }
}

/// Parses the purpose headers. Pure and total (never panics), so it is a fuzzing entry
/// point. Words outside a vocabulary are kept as sent: the policy denies them and its
/// answer lists the accepted words.
pub fn parse_purpose(f: PurposeFields<'_>) -> Result<(Purpose, Authority), PurposeError> {
    let code = text(f.purpose, "Cordon-Purpose")?
        .filter(|c| !c.trim().is_empty())
        .ok_or(PurposeError::Missing)?;
    let purpose = Purpose {
        code: Some(PurposeCode::parse(code.trim())),
        reason: text(f.reason, "Cordon-Reason")?.unwrap_or_default(),
        case: text(f.case, "Cordon-Case")?.filter(|c| !c.trim().is_empty()),
    };
    let kind = text(f.authority, "Cordon-Authority")?
        .filter(|k| !k.trim().is_empty())
        .map_or(AuthorityKind::None, |k| AuthorityKind::parse(k.trim()));
    let authority = Authority {
        kind,
        reference: text(f.authority_ref, "Cordon-Authority-Ref")?,
        record: text(f.authority_record, "Cordon-Authority-Record")?,
        ..Authority::default()
    };
    Ok((purpose, authority))
}

fn text(raw: Option<&[u8]>, header: &'static str) -> Result<Option<String>, PurposeError> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.len() > 3 * MAX_VALUE_BYTES {
        return Err(PurposeError::TooLong { header });
    }
    if has_bad_escape(raw) {
        return Err(PurposeError::BadEscape { header });
    }
    let decoded: Vec<u8> = percent_decode(raw).collect();
    if decoded.len() > MAX_VALUE_BYTES {
        return Err(PurposeError::TooLong { header });
    }
    let s = String::from_utf8(decoded).map_err(|_| PurposeError::NotUtf8 { header })?;
    if s.chars().any(char::is_control) {
        return Err(PurposeError::Control { header });
    }
    if has_escape(s.as_bytes()) {
        return Err(PurposeError::EncodedTwice { header });
    }
    Ok(Some(s))
}

/// A well-formed `%XX` anywhere in `b`.
fn has_escape(b: &[u8]) -> bool {
    b.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

fn has_bad_escape(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| {
        c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_reason_encoded_twice_is_refused_since_screening_would_read_the_escapes() {
        let f = PurposeFields {
            purpose: Some(b"criminal_investigation"),
            reason: Some(b"assist %2549CE"),
            ..PurposeFields::default()
        };
        let err = parse_purpose(f).unwrap_err();
        assert_eq!(err.header(), "Cordon-Reason");
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn a_missing_purpose_names_the_header_and_the_accepted_words() {
        let err = parse_purpose(PurposeFields::default()).unwrap_err();
        assert_eq!(err.header(), "Cordon-Purpose");
        assert!(err.to_string().contains("criminal_investigation"));
    }

    #[test]
    fn percent_encoded_utf8_reasons_are_decoded() {
        let f = PurposeFields {
            purpose: Some(b"criminal_investigation"),
            reason: Some(b"robo%20en%20la%20calle%20Pe%C3%B1a"),
            case: Some(b"JD-1"),
            ..Default::default()
        };
        let (p, a) = parse_purpose(f).unwrap();
        assert_eq!(p.reason, "robo en la calle Peña");
        assert_eq!(p.case.as_deref(), Some("JD-1"));
        assert_eq!(a.kind, AuthorityKind::None);
    }

    #[test]
    fn invalid_utf8_and_control_characters_are_refused_by_header() {
        let f = PurposeFields {
            purpose: Some(b"criminal_investigation"),
            reason: Some(b"%ff%fe"),
            ..Default::default()
        };
        assert_eq!(
            parse_purpose(f).unwrap_err(),
            PurposeError::NotUtf8 {
                header: "Cordon-Reason"
            }
        );
        let f = PurposeFields {
            purpose: Some(b"criminal_investigation"),
            case: Some(b"a%0Ab"),
            ..Default::default()
        };
        assert_eq!(parse_purpose(f).unwrap_err().header(), "Cordon-Case");
    }

    #[test]
    fn unknown_words_are_kept_for_the_policy_to_deny() {
        let f = PurposeFields {
            purpose: Some(b"ice_assist"),
            authority: Some(b"pinky_promise"),
            ..Default::default()
        };
        let (p, a) = parse_purpose(f).unwrap();
        assert!(!p.code.unwrap().is_recognized());
        assert!(!a.kind.is_recognized());
    }
}
