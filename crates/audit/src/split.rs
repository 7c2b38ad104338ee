//! Splitting a chunk of CSV text into records, for the per-row path: the same fields and
//! the same line numbers as the `csv` crate's reader with its default settings (a comma,
//! or the delimiter the header showed; double quote, doubled quotes as escapes, CR, LF or CRLF ending a record, blank lines
//! skipped, a leading byte-order mark dropped), but reading a field at a time rather
//! than a byte at a time through a state machine: quoted fields are searched for their
//! closing quote with `memchr`, and line numbers are counted only for the rows that need
//! one (flagged or damaged rows).

/// One record's fields: most are spans of the chunk itself; a field whose quotes had
/// to be undone (a doubled quote, text after the closing quote) is copied out.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    input: &'a [u8],
    /// Fields copied out of the chunk.
    data: Vec<u8>,
    spans: Vec<Span>,
    /// Where in the chunk the reader stood when it began this record (before skipping
    /// blank lines), which is what the record's line is counted from.
    start: usize,
    /// A quoted field was never closed, or had text after its closing quote: read as the
    /// `csv` crate reads it, but likely a stray quote that joined lines into one record.
    stray_quote: bool,
}

/// Where a field's bytes are: `from..to` of the chunk, or of the record's copies.
#[derive(Clone, Copy, Debug)]
struct Span {
    from: usize,
    to: usize,
    copied: bool,
}

impl<'a> Record<'a> {
    /// An empty record for reading the records of `input` into.
    pub fn new(input: &'a [u8]) -> Record<'a> {
        Record {
            input,
            data: Vec::new(),
            spans: Vec::new(),
            start: 0,
            stray_quote: false,
        }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let s = self.spans.get(i)?;
        if s.copied {
            self.data.get(s.from..s.to)
        } else {
            self.input.get(s.from..s.to)
        }
    }

    /// Field `i` as text when it is a span of `text` (the chunk, known to be UTF-8): no
    /// second validation. `None` for a copied field or one out of range.
    pub fn get_str<'t>(&self, text: &'t str, i: usize) -> Option<&'t str> {
        let s = self.spans.get(i)?;
        if s.copied {
            None
        } else {
            text.get(s.from..s.to)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.spans.len()).filter_map(|i| self.get(i))
    }

    /// The chunk offset the record's line is counted from (see [`Lines`]).
    pub fn start(&self) -> usize {
        self.start
    }

    fn clear(&mut self) {
        self.data.clear();
        self.spans.clear();
        self.stray_quote = false;
    }

    /// Whether a quote in the record was not closed as CSV closes one (see `stray_quote`).
    pub fn has_stray_quote(&self) -> bool {
        self.stray_quote
    }

    fn borrowed(&mut self, from: usize, to: usize) {
        self.spans.push(Span {
            from,
            to,
            copied: false,
        });
    }

    /// Ends a field whose bytes were copied to `data` from `from` on.
    fn copied(&mut self, from: usize) {
        self.spans.push(Span {
            from,
            to: self.data.len(),
            copied: true,
        });
    }
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Reads the records of one chunk in order.
pub struct Splitter<'a> {
    input: &'a [u8],
    pos: usize,
    /// The byte between fields: a comma, or what the header showed (see
    /// [`crate::input::Source::delimiter`]).
    delim: u8,
}

/// Where a field stopped.
enum Stop {
    /// At the delimiter: another field follows.
    Delimiter,
    /// At a line break or the end of the input: the record is complete.
    EndOfRecord,
}

impl<'a> Splitter<'a> {
    /// A splitter over `input`, dropping a byte-order mark at its very start as the
    /// `csv` reader does.
    pub fn new(input: &'a [u8]) -> Splitter<'a> {
        Splitter::with_delimiter(input, b',')
    }

    /// A splitter whose fields are separated by `delim` (a semicolon, tab or bar in
    /// exports saved by spreadsheets set to other locales) instead of a comma.
    pub fn with_delimiter(input: &'a [u8], delim: u8) -> Splitter<'a> {
        let pos = if input.len() >= BOM.len() && input.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        Splitter { input, pos, delim }
    }

    /// Where the next record begins: just past the last one read and its line break.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Reads the next record into `rec` (made for this splitter's input); false at the
    /// end of the input.
    pub fn next_record(&mut self, rec: &mut Record<'a>) -> bool {
        rec.clear();
        rec.start = self.pos;
        let input = self.input;
        while let Some(b'\r' | b'\n') = input.get(self.pos) {
            self.pos += 1;
        }
        if self.pos >= input.len() {
            return false;
        }
        loop {
            // At the end of the input after a delimiter, the unquoted branch reads the last,
            // empty field.
            let stop = if input.get(self.pos) == Some(&b'"') {
                self.quoted(rec)
            } else {
                let from = self.pos;
                let stop = self.unquoted();
                rec.borrowed(from, self.pos);
                stop
            };
            match stop {
                Stop::Delimiter => self.pos += 1,
                Stop::EndOfRecord => break,
            }
        }
        self.end_record();
        true
    }

    /// Steps over an unquoted field (or the rest of one after a closing quote), up to a
    /// comma, a line break or the end.
    fn unquoted(&mut self) -> Stop {
        let (input, delim) = (self.input, self.delim);
        let len = input[self.pos..]
            .iter()
            .position(|&b| b == delim || matches!(b, b'\r' | b'\n'))
            .unwrap_or(input.len() - self.pos);
        self.pos += len;
        match input.get(self.pos) {
            Some(&b) if b == delim => Stop::Delimiter,
            _ => Stop::EndOfRecord,
        }
    }

    /// Reads a quoted field: the text between the quotes with each doubled quote made
    /// one, then anything after the closing quote up to the next comma or line break.
    /// A field with neither (nearly all) stays a span of the chunk.
    fn quoted(&mut self, rec: &mut Record<'a>) -> Stop {
        let input = self.input;
        let from = self.pos + 1;
        let Some(q) = memchr::memchr(b'"', &input[from..]) else {
            // Never closed: the field runs to the end of the input.
            rec.stray_quote = true;
            rec.borrowed(from, input.len());
            self.pos = input.len();
            return Stop::EndOfRecord;
        };
        let to = from + q;
        match input.get(to + 1) {
            Some(&b) if b == self.delim => {
                rec.borrowed(from, to);
                self.pos = to + 1;
                return Stop::Delimiter;
            }
            None | Some(b'\r' | b'\n') => {
                rec.borrowed(from, to);
                self.pos = to + 1;
                return Stop::EndOfRecord;
            }
            Some(_) => {}
        }
        let start = rec.data.len();
        self.pos = from;
        let stop = self.copy_quoted(rec);
        rec.copied(start);
        stop
    }

    /// Copies a quoted field from just after its opening quote, undoing doubled quotes
    /// and keeping what follows the closing quote.
    fn copy_quoted(&mut self, rec: &mut Record<'a>) -> Stop {
        let input = self.input;
        loop {
            let rest = &input[self.pos..];
            let Some(q) = memchr::memchr(b'"', rest) else {
                rec.stray_quote = true;
                rec.data.extend_from_slice(rest);
                self.pos = input.len();
                return Stop::EndOfRecord;
            };
            rec.data.extend_from_slice(&rest[..q]);
            self.pos += q + 1;
            match input.get(self.pos) {
                Some(b'"') => {
                    rec.data.push(b'"');
                    self.pos += 1;
                }
                Some(&b) if b == self.delim => return Stop::Delimiter,
                None | Some(b'\r' | b'\n') => return Stop::EndOfRecord,
                Some(_) => {
                    rec.stray_quote = true;
                    let from = self.pos;
                    let stop = self.unquoted();
                    rec.data.extend_from_slice(&input[from..self.pos]);
                    return stop;
                }
            }
        }
    }

    /// Steps over the line break ending a record: a LF, or a lone CR (a LF after it is
    /// skipped with the blank lines before the next record, as the `csv` reader does,
    /// which is why the next record's line is counted before it).
    fn end_record(&mut self) {
        if let Some(b'\r' | b'\n') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }
}

/// Line numbers of records, counted on demand: the line a record's first byte is on, one
/// more than the line feeds before it. Not the `csv` reader's own count, which begins a
/// record where it began reading it, before the LF of a CRLF and any blank lines, and so
/// numbers every record of a CRLF file (most exports from Windows) one line too early.
#[derive(Debug, Default)]
pub struct Lines {
    upto: usize,
    feeds: u64,
}

impl Lines {
    /// The 1-based line (within `input`) of the record the reader began at `start`.
    pub fn line_of(&mut self, input: &[u8], start: usize) -> u64 {
        let start = first_content(input, start);
        if start < self.upto {
            *self = Lines::default();
        }
        self.feeds += count_byte(&input[self.upto..start], b'\n');
        self.upto = start;
        self.feeds + 1
    }
}

/// Where the record begun at `start` has its first byte: past the line break the reader
/// had not yet stepped over and any blank lines.
pub fn first_content(input: &[u8], start: usize) -> usize {
    let start = start.min(input.len());
    input[start..]
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .map_or(input.len(), |n| start + n)
}

/// Occurrences of `a` and of `b` in `bytes`, in one pass: counting both where two passes
/// would each read the bytes (a 4 MiB chunk is larger than the cache) took two thirds of
/// the time.
pub fn count_two_bytes(bytes: &[u8], a: u8, b: u8) -> (u64, u64) {
    let (mut total_a, mut total_b) = (0u64, 0u64);
    // Per run of 255 bytes, so that the byte-wide counters the compiler vectorizes with
    // cannot overflow.
    for run in bytes.chunks(255) {
        let (mut n_a, mut n_b) = (0u8, 0u8);
        for &x in run {
            n_a += u8::from(x == a);
            n_b += u8::from(x == b);
        }
        total_a += u64::from(n_a);
        total_b += u64::from(n_b);
    }
    (total_a, total_b)
}

/// Occurrences of `byte` in `bytes`, written so the compiler vectorizes it.
pub fn count_byte(bytes: &[u8], byte: u8) -> u64 {
    bytes
        .chunks(255)
        .map(|c| u64::from(c.iter().fold(0u8, |n, &b| n + u8::from(b == byte))))
        .sum()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn two_bytes_are_counted_in_one_pass_as_in_two(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b'"', b'\n', b',', b'a']), 0..2000
            )
        ) {
            let (quotes, feeds) = count_two_bytes(&bytes, b'"', b'\n');
            prop_assert_eq!(quotes, count_byte(&bytes, b'"'));
            prop_assert_eq!(feeds, count_byte(&bytes, b'\n'));
        }
    }

    /// Every record of `input` as the `csv` crate reads it: its fields and its line.
    fn by_csv(input: &[u8], delim: u8) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delim)
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            // The line a text editor shows the record's first byte on: the csv crate's
            // position is where it began reading, before a CRLF's LF and blank lines.
            let at = record.position().map_or(0, |p| p.byte() as usize);
            // The csv crate places the first record at 0 even when a byte-order mark it
            // skipped comes first.
            let at = if at == 0 && input.starts_with(b"\xef\xbb\xbf") {
                3
            } else {
                at
            };
            let first = at
                + input[at..]
                    .iter()
                    .take_while(|b| **b == b'\r' || **b == b'\n')
                    .count();
            let line = 1 + input[..first].iter().filter(|b| **b == b'\n').count() as u64;
            out.push((record.iter().map(<[u8]>::to_vec).collect(), line));
        }
        out
    }

    #[test]
    fn records_of_a_crlf_file_are_numbered_by_the_line_they_are_on() {
        let input = b"a,b\r\nc,d\r\n\r\n\"e\r\nf\",g\r\nh,i\r\n";
        let lines: Vec<u64> = by_splitter(input, b',').iter().map(|r| r.1).collect();
        assert_eq!(lines, [1, 2, 4, 6]);
    }

    fn by_splitter(input: &[u8], delim: u8) -> Vec<(Vec<Vec<u8>>, u64)> {
        let mut split = Splitter::with_delimiter(input, delim);
        let mut lines = Lines::default();
        let mut rec = Record::new(input);
        let mut out = Vec::new();
        while split.next_record(&mut rec) {
            let line = lines.line_of(input, rec.start());
            if let Ok(text) = std::str::from_utf8(input) {
                for i in 0..rec.len() {
                    if let Some(s) = rec.get_str(text, i) {
                        assert_eq!(Some(s.as_bytes()), rec.get(i));
                    }
                }
            }
            out.push((rec.iter().map(<[u8]>::to_vec).collect(), line));
        }
        out
    }

    #[test]
    fn tricky_quoting_splits_as_the_csv_crate_does() {
        let cases: &[&[u8]] = &[
            b"a,b\nc,d\n",
            b"\xef\xbb\xbfa,b\n",
            b"\xef\xbb",
            b"\"a,b\",\"c\"\"d\"\n\"\"\n",
            b"\"two\nlines\",x\n\n\nnext\n",
            b"a\r\nb\r\n\r\nc",
            b"a\rb\r\rc\n",
            b"\"abc\"def,g\n",
            b"\"abc\"de\"f,g\n",
            b"ab\"c\"d,e\n",
            b"\"unclosed,field\nrest",
            b"a,\n,\n,,",
            b"\"\"\"\",\"\"\n",
            b"x,\"y\"\r\n\"z\"\r",
            b"",
            b"\n\r\n",
        ];
        for input in cases {
            assert_eq!(
                by_splitter(input, b','),
                by_csv(input, b','),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn semicolon_and_tab_separated_text_splits_as_the_csv_crate_does() {
        let cases: &[&[u8]] = &[
            b"a;b\nc;\"d;e\"\n",
            b"a,b;c\n\"x\"\"y\";z\r\n",
            b"\xef\xbb\xbfID\tReason\n1\t\"ICE\tERO\"\n",
            b"a\t\n\t\t",
        ];
        for input in cases {
            for delim in [b';', b'\t', b'|'] {
                assert_eq!(
                    by_splitter(input, delim),
                    by_csv(input, delim),
                    "{:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn any_text_of_csv_metacharacters_splits_as_the_csv_crate_does(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b'a'), Just(b','), Just(b'"'), Just(b'\r'), Just(b'\n'),
                    Just(0xef), Just(0xbb), Just(0xbf), Just(b' '),
                ],
                0..80,
            )
        ) {
            prop_assert_eq!(by_splitter(&input, b','), by_csv(&input, b','));
        }

        #[test]
        fn any_semicolon_separated_text_splits_as_the_csv_crate_does(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b'a'), Just(b','), Just(b';'), Just(b'"'), Just(b'\r'), Just(b'\n'),
                ],
                0..80,
            )
        ) {
            prop_assert_eq!(by_splitter(&input, b';'), by_csv(&input, b';'));
        }
    }
}
