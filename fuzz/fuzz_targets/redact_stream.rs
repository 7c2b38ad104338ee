//! The streaming redactor against the full parse: whatever the bytes and wherever the
//! chunks are cut, it accepts exactly what serde_json accepts, and what it outputs is
//! JSON equal to the parsed value with the named members removed at every depth.
#![no_main]
use cordon_redact::Redactor;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const FIELDS: [&str; 3] = ["immigration_status", "place_of_birth", "é"];

fn remove(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !FIELDS.contains(&k.as_str()));
            m.values_mut().for_each(remove);
        }
        Value::Array(a) => a.iter_mut().for_each(remove),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte sets the chunk size, so splits land everywhere.
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut r = Redactor::new(&FIELDS, 4096);
    let mut out = Vec::new();
    let streamed = input
        .chunks(step)
        .try_for_each(|c| r.feed(c, &mut out))
        .and_then(|()| r.finish());
    match (serde_json::from_slice::<Value>(input), streamed) {
        (Ok(mut v), Ok(())) => {
            remove(&mut v);
            let got: Value = serde_json::from_slice(&out).expect("the output is JSON");
            assert_eq!(got, v);
        }
        (Err(_), Err(_)) => {}
        // A number longer than the token limit is the one documented difference.
        (Ok(_), Err(e)) => assert!(e.what.contains("configured limit"), "{e}"),
        (Err(e), Ok(())) => panic!("accepted invalid JSON: {e}"),
    }
});
