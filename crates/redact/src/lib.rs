//! Streaming JSON redaction: drops every object member whose name (after unescaping) is
//! one of the redacted names, at any depth, from a JSON byte stream fed in chunks of any
//! size, in memory that does not grow with the body.
//!
//! It is a validating tokenizer, not a parser into values: it accepts and rejects exactly
//! what `serde_json::from_slice::<serde_json::Value>` does (nesting deeper than
//! [`MAX_DEPTH`], lone surrogates, invalid UTF-8, numbers out of `f64` range, trailing
//! characters), except that one number token may not be longer than the configured limit.
//! Its output is compact JSON (insignificant whitespace removed, commas fixed up) equal, as
//! a value, to parsing the input and removing those members.
#![forbid(unsafe_code)]

mod number;
mod text;

use number::{Next, Num};
use text::{Step, Text};

/// The deepest nesting accepted, as serde_json's default recursion limit allows.
pub const MAX_DEPTH: usize = 127;

/// Why the input is not JSON (or breaks the configured limit), and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {what}")]
pub struct JsonError {
    /// Bytes of input before the offending one.
    pub offset: u64,
    pub what: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// `any`: a member or element of it has already been written out, so the next one
    /// written needs a comma.
    Object {
        any: bool,
    },
    Array {
        any: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A value is due (top level, after `:`, after `,` in an array).
    Value,
    /// After `[`: a value or `]`.
    ArrayFirst,
    /// After `{`: a member name or `}`.
    ObjectFirst,
    /// After `,` in an object: a member name.
    Key,
    /// After a member name: `:`.
    Colon,
    /// After a value: `,`, a closing bracket, or (at the top) only whitespace.
    After,
    /// Inside a string value.
    Str,
    /// Inside a member name.
    KeyStr,
    Number(Num),
    Literal(&'static [u8], usize),
}

/// A member name being read: held (raw and decoded) while it could still be a redacted
/// name, written out as soon as it is too long to be one.
#[derive(Debug, Default)]
struct Name {
    raw: Vec<u8>,
    decoded: Vec<u8>,
    /// Already written out: the rest of its bytes go straight through.
    flushed: bool,
    /// False inside a removed value, where names are only checked.
    capturing: bool,
}

/// The streaming redactor for one JSON document.
#[derive(Debug)]
pub struct Redactor {
    fields: Vec<Vec<u8>>,
    longest: usize,
    max_token: usize,
    stack: Vec<Frame>,
    state: State,
    text: Text,
    /// Inside a removed member's value: the depth of the object it belonged to.
    skip: Option<usize>,
    name: Name,
    number: Vec<u8>,
    removed: u64,
    offset: u64,
    failed: Option<JsonError>,
}

impl Redactor {
    /// A redactor removing members named in `fields`; no number token may be longer than
    /// `max_token` bytes.
    pub fn new<S: AsRef<str>>(fields: &[S], max_token: usize) -> Redactor {
        let fields: Vec<Vec<u8>> = fields
            .iter()
            .map(|f| f.as_ref().as_bytes().to_vec())
            .collect();
        let longest = fields.iter().map(Vec::len).max().unwrap_or(0);
        Redactor {
            fields,
            longest,
            max_token,
            stack: Vec::new(),
            state: State::Value,
            text: Text::Plain,
            skip: None,
            name: Name::default(),
            number: Vec::new(),
            removed: 0,
            offset: 0,
            failed: None,
        }
    }

    /// How many members were removed so far (a removed member's value is not searched).
    pub fn removed(&self) -> u64 {
        self.removed
    }

    /// Bytes the redactor holds between chunks: its name and number buffers and its
    /// nesting stack. Bounded by the longest redacted name, the token limit and
    /// [`MAX_DEPTH`], whatever the input.
    pub fn held(&self) -> usize {
        self.name.raw.capacity()
            + self.name.decoded.capacity()
            + self.number.capacity()
            + self.stack.capacity() * std::mem::size_of::<Frame>()
    }

    /// Consumes a chunk, appending the redacted JSON it completes to `out`. After an
    /// error every later call fails with the same error.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), JsonError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut i = 0;
        while i < input.len() {
            let step = match self.state {
                State::Str => self.string(&input[i..], out),
                State::KeyStr => self.name(&input[i..], out),
                State::Number(Num::Int | Num::Frac | Num::Exp) => self.digits(&input[i..], out),
                _ => self.byte(input[i], out).map(usize::from),
            };
            match step {
                Ok(n) => i += n,
                Err(what) => return Err(self.fail(i, what)),
            }
        }
        self.offset += input.len() as u64;
        Ok(())
    }

    /// Ends the input: fails unless it was exactly one complete JSON value.
    pub fn finish(&mut self) -> Result<(), JsonError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if let State::Number(n) = self.state {
            if n.complete() {
                if let Err(what) = self.end_number() {
                    return Err(self.fail(0, what));
                }
            }
        }
        match (self.state, self.stack.is_empty()) {
            (State::After, true) => Ok(()),
            (State::Value, true) => Err(self.fail(0, "the body holds no JSON value")),
            _ => Err(self.fail(0, "the JSON ends before its value is complete")),
        }
    }

    fn fail(&mut self, at: usize, what: &'static str) -> JsonError {
        let e = JsonError {
            offset: self.offset + at as u64,
            what,
        };
        self.failed = Some(e.clone());
        e
    }

    fn emitting(&self) -> bool {
        self.skip.is_none()
    }

    /// Consumes string-value bytes from the start of `s`: a run of plain ASCII at once,
    /// or one byte. Returns how many.
    fn string(&mut self, s: &[u8], out: &mut Vec<u8>) -> Result<usize, &'static str> {
        if self.text.is_plain() {
            let run = text::plain_run(s);
            if run > 0 {
                if self.emitting() {
                    out.extend_from_slice(&s[..run]);
                }
                return Ok(run);
            }
        }
        let b = s[0];
        let step = self.text.step(b)?;
        if self.emitting() {
            out.push(b);
        }
        if step == Step::End {
            self.value_done();
        }
        Ok(1)
    }

    /// Consumes member-name bytes from the start of `s`: a run of plain ASCII at once, or
    /// one byte. Returns how many.
    fn name(&mut self, s: &[u8], out: &mut Vec<u8>) -> Result<usize, &'static str> {
        let run = if self.text.is_plain() {
            text::plain_run(s)
        } else {
            0
        };
        if run == 0 {
            self.name_byte(s[0], out)?;
            return Ok(1);
        }
        let plain = &s[..run];
        if !self.name.capturing {
            return Ok(run);
        }
        if self.name.flushed {
            out.extend_from_slice(plain);
            return Ok(run);
        }
        // Plain ASCII decodes to itself.
        self.name.raw.extend_from_slice(plain);
        self.name.decoded.extend_from_slice(plain);
        if self.name.decoded.len() > self.longest {
            self.flush_name(out);
        }
        Ok(run)
    }

    /// Consumes the digits at the start of `s` inside a number's integer, fraction or
    /// exponent, or else one byte. Returns how many.
    fn digits(&mut self, s: &[u8], out: &mut Vec<u8>) -> Result<usize, &'static str> {
        let run = number::digit_run(s);
        if run == 0 {
            return self.byte(s[0], out).map(usize::from);
        }
        if self.number.len() + run > self.max_token {
            return Err("a number is longer than the configured limit");
        }
        self.number.extend_from_slice(&s[..run]);
        if self.emitting() {
            out.extend_from_slice(&s[..run]);
        }
        Ok(run)
    }

    /// Consumes one byte outside a string value; false when the byte ended a number and
    /// must be read again in the state that follows.
    fn byte(&mut self, b: u8, out: &mut Vec<u8>) -> Result<bool, &'static str> {
        let ws = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.state {
            State::Str => {
                self.string(&[b], out)?;
            }
            State::KeyStr => self.name_byte(b, out)?,
            State::Number(n) => return self.number_byte(n, b, out),
            State::Literal(word, at) => {
                if word.get(at) != Some(&b) {
                    return Err("expected true, false or null");
                }
                self.put(out, b);
                if at + 1 == word.len() {
                    self.value_done();
                } else {
                    self.state = State::Literal(word, at + 1);
                }
            }
            _ if ws => {}
            State::Value => self.begin_value(b, out)?,
            State::ArrayFirst if b == b']' => self.close(out),
            State::ArrayFirst => self.begin_value(b, out)?,
            State::ObjectFirst if b == b'}' => self.close(out),
            State::ObjectFirst | State::Key if b == b'"' => self.begin_name(),
            State::ObjectFirst => return Err("expected a member name in quotes or '}'"),
            State::Key => return Err("expected a member name in quotes"),
            State::Colon if b == b':' => {
                self.put(out, b':');
                self.state = State::Value;
            }
            State::Colon => return Err("expected ':' after a member name"),
            State::After => self.after(b, out)?,
        }
        Ok(true)
    }

    fn put(&self, out: &mut Vec<u8>, b: u8) {
        if self.emitting() {
            out.push(b);
        }
    }

    fn after(&mut self, b: u8, out: &mut Vec<u8>) -> Result<(), &'static str> {
        match (self.stack.last(), b) {
            (None, _) => return Err("trailing characters after the JSON value"),
            (Some(Frame::Object { .. }), b',') => self.state = State::Key,
            (Some(Frame::Array { .. }), b',') => self.state = State::Value,
            (Some(Frame::Object { .. }), b'}') | (Some(Frame::Array { .. }), b']') => {
                self.close(out)
            }
            (Some(Frame::Object { .. }), _) => return Err("expected ',' or '}' after a member"),
            (Some(Frame::Array { .. }), _) => return Err("expected ',' or ']' after an element"),
        }
        Ok(())
    }

    fn begin_value(&mut self, b: u8, out: &mut Vec<u8>) -> Result<(), &'static str> {
        if self.emitting() && matches!(self.stack.last(), Some(Frame::Array { .. })) {
            self.comma(out);
        }
        self.state = match b {
            b'{' | b'[' => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err("the JSON is nested deeper than 127 levels");
                }
                if b == b'{' {
                    self.stack.push(Frame::Object { any: false });
                    State::ObjectFirst
                } else {
                    self.stack.push(Frame::Array { any: false });
                    State::ArrayFirst
                }
            }
            b'"' => {
                self.text = Text::Plain;
                State::Str
            }
            b'-' | b'0'..=b'9' => {
                self.number.clear();
                self.number.push(b);
                State::Number(Num::start(b))
            }
            b't' => State::Literal(b"true", 1),
            b'f' => State::Literal(b"false", 1),
            b'n' => State::Literal(b"null", 1),
            _ => return Err("expected a JSON value"),
        };
        self.put(out, b);
        Ok(())
    }

    /// Writes the comma a member or element needs if one was written before it.
    fn comma(&mut self, out: &mut Vec<u8>) {
        if let Some(Frame::Object { any } | Frame::Array { any }) = self.stack.last_mut() {
            if *any {
                out.push(b',');
            }
            *any = true;
        }
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        let bracket = match self.stack.pop() {
            Some(Frame::Object { .. }) => b'}',
            _ => b']',
        };
        self.put(out, bracket);
        self.value_done();
    }

    /// A value is complete: if it was a removed member's, writing resumes.
    fn value_done(&mut self) {
        if self.skip == Some(self.stack.len()) {
            self.skip = None;
        }
        self.state = State::After;
    }

    fn begin_name(&mut self) {
        self.name.raw.clear();
        self.name.decoded.clear();
        self.name.flushed = false;
        self.name.capturing = self.emitting();
        self.text = Text::Plain;
        self.state = State::KeyStr;
    }

    fn name_byte(&mut self, b: u8, out: &mut Vec<u8>) -> Result<(), &'static str> {
        let step = self.text.step(b)?;
        if !self.name.capturing {
            if step == Step::End {
                self.state = State::Colon;
            }
            return Ok(());
        }
        if step == Step::End {
            self.end_name(out);
            return Ok(());
        }
        if self.name.flushed {
            out.push(b);
            return Ok(());
        }
        self.name.raw.push(b);
        match step {
            Step::Raw => self.name.decoded.push(b),
            Step::Inner(Some(c)) => {
                let mut utf8 = [0u8; 4];
                self.name
                    .decoded
                    .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
            Step::Inner(None) | Step::End => {}
        }
        if self.name.decoded.len() > self.longest {
            self.flush_name(out);
        }
        Ok(())
    }

    /// The name is too long to be a redacted one: it is kept, so it can go out now.
    fn flush_name(&mut self, out: &mut Vec<u8>) {
        self.comma(out);
        out.push(b'"');
        out.extend_from_slice(&self.name.raw);
        self.name.flushed = true;
    }

    fn end_name(&mut self, out: &mut Vec<u8>) {
        self.state = State::Colon;
        if self.name.flushed {
            out.push(b'"');
            return;
        }
        if self.fields.contains(&self.name.decoded) {
            self.removed += 1;
            self.skip = Some(self.stack.len());
            return;
        }
        self.comma(out);
        out.push(b'"');
        out.extend_from_slice(&self.name.raw);
        out.push(b'"');
    }

    fn number_byte(&mut self, n: Num, b: u8, out: &mut Vec<u8>) -> Result<bool, &'static str> {
        match n.step(b)? {
            Next::More(next) => {
                if self.number.len() >= self.max_token {
                    return Err("a number is longer than the configured limit");
                }
                self.number.push(b);
                self.put(out, b);
                self.state = State::Number(next);
                Ok(true)
            }
            Next::Ended => {
                self.end_number()?;
                Ok(false)
            }
        }
    }

    fn end_number(&mut self) -> Result<(), &'static str> {
        if !number::in_range(&self.number) {
            return Err("a number is out of range for a 64-bit float");
        }
        self.value_done();
        Ok(())
    }
}

/// Redacts a whole body at once: the output and how many members were removed.
pub fn redact_slice<S: AsRef<str>>(
    input: &[u8],
    fields: &[S],
    max_token: usize,
) -> Result<(Vec<u8>, u64), JsonError> {
    let mut r = Redactor::new(fields, max_token);
    let mut out = Vec::with_capacity(input.len());
    r.feed(input, &mut out)?;
    r.finish()?;
    Ok((out, r.removed()))
}
