//! What the redactor holds does not grow with the body, the member names it compares are
//! the unescaped ones, and an error stays an error.
#![allow(clippy::unwrap_used)]
use cordon_redact::{redact_slice, Redactor};

const FIELDS: [&str; 2] = ["immigration_status", "place_of_birth"];

#[test]
fn memory_held_stays_bounded_whatever_the_body_size() {
    let record = r#"{"id":1,"name":"a long enough name to need a few chunks","\u0069mmigration_status":"x","nested":{"place_of_birth":"y","n":[1.5e3,-0,true]},"a_much_longer_member_name_than_any_redacted_one":"z"}"#;
    let mut r = Redactor::new(&FIELDS, 64);
    let mut out = Vec::new();
    r.feed(b"[", &mut out).unwrap();
    let mut most = 0;
    for i in 0..20_000 {
        let piece = if i == 0 {
            record.to_owned()
        } else {
            format!(",{record}")
        };
        for c in piece.as_bytes().chunks(7) {
            out.clear();
            r.feed(c, &mut out).unwrap();
            most = most.max(r.held());
        }
    }
    r.feed(b"]", &mut out).unwrap();
    r.finish().unwrap();
    assert_eq!(r.removed(), 40_000);
    assert!(most <= 512, "held {most} bytes at most");
}

#[test]
fn escaped_names_are_compared_unescaped_and_commas_stay_valid() {
    let input = br#"{"\u0069mmigration_status":1,"a":2,"place_of_bir\u0074h":{"x":[3]},"b":[{"immigration_status":4}],"\ud83d\ude00":5}"#;
    let (out, removed) = redact_slice(input, &FIELDS, 64).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"a":2,"b":[{}],"\ud83d\ude00":5}"#
    );
    assert_eq!(removed, 3);
}

#[test]
fn a_number_longer_than_the_limit_is_refused_and_the_error_sticks() {
    let mut r = Redactor::new(&FIELDS, 8);
    let mut out = Vec::new();
    let e = r.feed(b"[123456789", &mut out).unwrap_err();
    assert!(e.what.contains("configured limit"), "{e}");
    assert_eq!(r.feed(b"]", &mut out).unwrap_err(), e);
    assert_eq!(r.finish().unwrap_err(), e);
}
