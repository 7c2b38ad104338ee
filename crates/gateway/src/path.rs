//! Request-path normalization: one canonical form that both the decision and the
//! upstream see, so no spelling of a path can be decided as one thing and served as another.
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// Longest path accepted, in bytes before decoding.
pub const MAX_PATH_BYTES: usize = 2048;

/// Why a path was refused; each message says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path must start with '/'")]
    NotAbsolute,
    #[error("the path is longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
    #[error("the path contains ';' (path parameters are not accepted): remove it")]
    Semicolon,
    #[error("the path contains a backslash: use '/' between segments")]
    Backslash,
    #[error("the path contains a '..' segment: send the path it resolves to")]
    DotDot,
    #[error("the path is percent-encoded twice (a '%' remains after decoding): encode it once")]
    DoubleEncoded,
    #[error("the path contains a malformed percent escape: use %XX with two hex digits")]
    BadEscape,
    #[error("the path is not valid UTF-8 after percent-decoding")]
    NotUtf8,
    #[error("the path contains a control character")]
    Control,
    #[error("the path contains '*': name one record (a wildcard would be a bulk search the decision never saw)")]
    Wildcard,
    #[error("the path contains an encoded slash (%2F), which a service reads as two segments: send '/' between segments")]
    EncodedSlash,
    #[error("a path segment is blank, has spaces at an end, or holds an invisible character (zero-width space, soft hyphen, direction mark): send the record's name as printed")]
    Invisible,
}

/// Whether `value` can only name one record, the same for Cordon and for any service:
/// not empty, `.`, `..` or only underscores; none of the characters a service may read as
/// a wildcard, a list, a path or an escape (`*` `%` `?` `[` `]` `,` `;` `/` `\`: SQL `LIKE`
/// reads `%` as all records, a comma list as several); no spaces at either end (a service
/// that trims would read another record) and no invisible character.
pub fn names_one_record(value: &str) -> bool {
    !matches!(value, "" | "." | "..")
        && !value.chars().all(|c| c == '_')
        && !value.contains(['/', '*', '%', '?', '[', ']', ',', ';', '\\'])
        && is_visible_name(value)
}

/// No spaces at either end, and no character that prints as nothing: a name a person reads
/// as one thing must not be decided as another.
pub fn is_visible_name(value: &str) -> bool {
    value.trim() == value && !value.is_empty() && !value.chars().any(is_invisible)
}

/// Format characters that render as nothing (Unicode category Cf, as used to split or
/// disguise words) and the byte-order mark.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}' | '\u{2800}' | '\u{0600}'..='\u{0605}' | '\u{06DD}'
        | '\u{070F}' | '\u{08E2}' | '\u{110BD}' | '\u{110CD}')
}

/// A normalized path: decoded segments with no empty, `.` or `..` segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath {
    segments: Vec<String>,
}

/// The bytes that are escaped when a segment is sent on to the upstream.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

impl NormalPath {
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The decoded path, `/a/b`, as policies and the log see it.
    pub fn decoded(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }

    /// The path re-encoded for the upstream request line.
    pub fn encoded(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            out.extend(utf8_percent_encode(s, SEGMENT));
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// Normalizes a raw request path (without its query). Pure and total: it never panics on
/// any input, which makes it a fuzzing entry point.
///
/// Refused rather than repaired: `..`, `;`, backslashes, malformed or double percent
/// encoding, control characters and invalid UTF-8, because each is a known way to make a
/// gateway and a server disagree about which resource a path names. Repaired: empty and
/// `.` segments (`//`, `/./`), which every server reads the same way.
pub fn normalize_path(raw: &str) -> Result<NormalPath, PathError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let mut segments = Vec::new();
    for raw_seg in raw.split('/') {
        let seg = decode_segment(raw_seg)?;
        match seg.as_str() {
            "" | "." => {}
            ".." => return Err(PathError::DotDot),
            _ => segments.push(seg),
        }
    }
    Ok(NormalPath { segments })
}

fn decode_segment(raw: &str) -> Result<String, PathError> {
    check_escapes(raw)?;
    let bytes: Vec<u8> = percent_decode_str(raw).collect();
    let seg = String::from_utf8(bytes).map_err(|_| PathError::NotUtf8)?;
    if seg.contains('%') {
        return Err(PathError::DoubleEncoded);
    }
    if seg.contains(';') {
        return Err(PathError::Semicolon);
    }
    if seg.contains('\\') {
        return Err(PathError::Backslash);
    }
    // An encoded slash would split one segment into two at the upstream.
    if seg.contains('/') {
        return Err(PathError::EncodedSlash);
    }
    if seg.chars().any(char::is_control) {
        return Err(PathError::Control);
    }
    // A record named `*` is decided as one record and may be served as all of them, as
    // `?id=*` and a body's `"plate":"*"` already are not.
    if seg.contains('*') {
        return Err(PathError::Wildcard);
    }
    if !seg.is_empty() && !is_visible_name(&seg) {
        return Err(PathError::Invisible);
    }
    Ok(seg)
}

fn check_escapes(raw: &str) -> Result<(), PathError> {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(PathError::BadEscape);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_and_dot_segments_collapse() {
        let p = normalize_path("//alpr/./plates//ABC123").unwrap();
        assert_eq!(p.decoded(), "/alpr/plates/ABC123");
    }

    #[test]
    fn traversal_in_any_spelling_is_refused() {
        for raw in [
            "/alpr/../records/people/1",
            "/alpr/%2e%2e/records",
            "/alpr/%2E%2E/records",
            "/alpr/.%2e/records",
            "/alpr/%252e%252e/records",
            "/alpr/plates%2f..%2frecords",
        ] {
            assert!(normalize_path(raw).is_err(), "{raw} was accepted");
        }
    }

    #[test]
    fn path_parameters_backslashes_and_bad_escapes_are_refused() {
        assert_eq!(normalize_path("/alpr;x=1/p"), Err(PathError::Semicolon));
        assert_eq!(normalize_path("/alpr%3bx/p"), Err(PathError::Semicolon));
        assert_eq!(normalize_path("/alpr\\..\\r"), Err(PathError::Backslash));
        assert_eq!(normalize_path("/alpr/%zz"), Err(PathError::BadEscape));
        assert_eq!(normalize_path("/alpr/%ff"), Err(PathError::NotUtf8));
        assert_eq!(normalize_path("/alpr/%00"), Err(PathError::Control));
    }

    #[test]
    fn a_wildcard_in_any_spelling_is_refused() {
        for raw in [
            "/records/people/*",
            "/records/people/%2A",
            "/records/people/P-*",
            "/alpr/*/X",
        ] {
            assert_eq!(normalize_path(raw), Err(PathError::Wildcard), "{raw}");
        }
    }

    #[test]
    fn encoded_form_round_trips_through_the_normalizer() {
        let p = normalize_path("/records/people/O%27Brien%20J").unwrap();
        assert_eq!(p.decoded(), "/records/people/O'Brien J");
        assert_eq!(normalize_path(&p.encoded()).unwrap(), p);
    }

    proptest! {
        #[test]
        fn normalizing_is_idempotent_and_never_panics(raw in "/[a-zA-Z0-9%./;\\\\]{0,40}") {
            if let Ok(p) = normalize_path(&raw) {
                let again = normalize_path(&p.encoded()).unwrap();
                prop_assert_eq!(&again, &p);
                prop_assert!(!p.segments().iter().any(|s| s == ".." || s.is_empty()));
            }
        }
    }
}
