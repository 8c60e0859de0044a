//! CSV records as RFC 4180 writes them, with what Arrow's and the `csv` crate's readers do not
//! report: whether each field was quoted, and the physical line each record starts on.
//!
//! A field that starts with `"` is quoted: it runs to the next `"` that is not doubled, may
//! hold commas, quotes (doubled) and line ends, and must be followed by a comma or the end of
//! its line. Any other field runs to the next comma or line end and is taken as it is (a `"`
//! inside it is an ordinary character). Lines end with `\n` or `\r\n`; the last line needs
//! no line end. Line numbers count physical lines, so a record after a quoted field that
//! spans lines still has its own line number. A blank line is a record of one unquoted empty
//! field: the reader decides whether that is a null or nothing.
//!
//! This module never interprets a field (UTF-8 included): it returns bytes.

use std::io::BufRead;

/// Reads records from CSV text.
pub(super) struct Records<R> {
    reader: R,
    /// Physical lines read so far.
    line: u64,
    /// The physical line being read, with its line end.
    raw: Vec<u8>,
}

/// One record: its fields' bytes (quotes removed, doubled quotes undoubled) and whether each
/// was quoted.
#[derive(Debug, Default)]
pub(super) struct Record {
    /// The physical line the record starts on (1 is the first).
    line: u64,
    text: Vec<u8>,
    /// Where each field ends in `text`.
    ends: Vec<usize>,
    quoted: Vec<bool>,
}

/// Why the text is not CSV.
#[derive(Debug)]
pub(super) enum RecordError {
    Io(std::io::Error),
    Syntax { line: u64, reason: String },
}

impl From<std::io::Error> for RecordError {
    fn from(err: std::io::Error) -> Self {
        RecordError::Io(err)
    }
}

impl Record {
    /// The physical line the record starts on.
    pub(super) fn line(&self) -> u64 {
        self.line
    }

    /// The number of fields.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of field `index` and whether it was quoted.
    pub(super) fn field(&self, index: usize) -> (&[u8], bool) {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        (&self.text[start..self.ends[index]], self.quoted[index])
    }

    /// Whether the record is a blank line: one unquoted empty field.
    pub(super) fn is_blank(&self) -> bool {
        self.ends == [0] && self.quoted == [false]
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.quoted.clear();
    }

    fn end_field(&mut self, quoted: bool) {
        self.ends.push(self.text.len());
        self.quoted.push(quoted);
    }
}

/// Where the reader is inside a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the first byte of a field.
    FieldStart,
    /// Inside a quoted field.
    Quoted,
    /// Just after a `"` inside a quoted field: a doubled quote or the field's end.
    AfterQuote,
}

impl<R: BufRead> Records<R> {
    pub(super) fn new(reader: R) -> Self {
        Self {
            reader,
            line: 0,
            raw: Vec::new(),
        }
    }

    /// Reads the next record into `record`. Returns `false` at the end of the text.
    pub(super) fn next_into(&mut self, record: &mut Record) -> Result<bool, RecordError> {
        record.clear();
        let mut state = State::FieldStart;
        let mut started = false;
        let mut quote_line = 0;
        loop {
            self.raw.clear();
            if self.reader.read_until(b'\n', &mut self.raw)? == 0 {
                return match state {
                    State::Quoted => Err(RecordError::Syntax {
                        line: quote_line,
                        reason: "the file ends inside the quoted field that starts on this line"
                            .to_owned(),
                    }),
                    // Every other state ends its record at its line's end.
                    State::FieldStart | State::AfterQuote => Ok(false),
                };
            }
            self.line += 1;
            if !started {
                started = true;
                record.line = self.line;
            }
            let raw = &self.raw;
            let mut pos = 0;
            while pos < raw.len() {
                match state {
                    State::FieldStart if raw[pos] == b'"' => {
                        state = State::Quoted;
                        quote_line = self.line;
                        pos += 1;
                    }
                    State::FieldStart => {
                        let end = raw[pos..]
                            .iter()
                            .position(|&b| b == b',' || b == b'\n')
                            .map_or(raw.len(), |at| pos + at);
                        let mut content = &raw[pos..end];
                        let at_line_end = end == raw.len() || raw[end] == b'\n';
                        if at_line_end {
                            content = content.strip_suffix(b"\r").unwrap_or(content);
                        }
                        record.text.extend_from_slice(content);
                        record.end_field(false);
                        if at_line_end {
                            return Ok(true);
                        }
                        pos = end + 1;
                        if pos == raw.len() {
                            // A comma ends the last line: one more, empty, field.
                            record.end_field(false);
                            return Ok(true);
                        }
                    }
                    State::Quoted => match raw[pos..].iter().position(|&b| b == b'"') {
                        Some(at) => {
                            record.text.extend_from_slice(&raw[pos..pos + at]);
                            pos += at + 1;
                            state = State::AfterQuote;
                        }
                        None => {
                            // The line end is part of the field; the record goes on.
                            record.text.extend_from_slice(&raw[pos..]);
                            pos = raw.len();
                        }
                    },
                    State::AfterQuote => match (raw[pos], raw.get(pos + 1)) {
                        (b'"', _) => {
                            record.text.push(b'"');
                            pos += 1;
                            state = State::Quoted;
                        }
                        (b',', _) => {
                            record.end_field(true);
                            pos += 1;
                            state = State::FieldStart;
                            if pos == raw.len() {
                                record.end_field(false);
                                return Ok(true);
                            }
                        }
                        (b'\n', _) | (b'\r', Some(b'\n')) => {
                            record.end_field(true);
                            return Ok(true);
                        }
                        (other, _) => {
                            return Err(RecordError::Syntax {
                                line: self.line,
                                reason: format!(
                                    "field {} is quoted, so its closing quote must be followed \
                                     by a comma or the line's end, not {:?}",
                                    record.len() + 1,
                                    char::from(other)
                                ),
                            });
                        }
                    },
                }
            }
            match state {
                State::Quoted => {}
                // The closing quote was the text's last byte.
                State::AfterQuote => {
                    record.end_field(true);
                    return Ok(true);
                }
                // Only reached by a record that ended above.
                State::FieldStart => return Ok(true),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// Every record as (line, [(text, quoted)]).
    fn records(text: &str) -> Vec<(u64, Vec<(String, bool)>)> {
        let mut reader = Records::new(text.as_bytes());
        let mut record = Record::default();
        let mut out = Vec::new();
        while reader.next_into(&mut record).unwrap() {
            let fields = (0..record.len())
                .map(|i| {
                    let (bytes, quoted) = record.field(i);
                    (String::from_utf8(bytes.to_vec()).unwrap(), quoted)
                })
                .collect();
            out.push((record.line(), fields));
        }
        out
    }

    fn f(text: &str, quoted: bool) -> (String, bool) {
        (text.to_owned(), quoted)
    }

    #[test]
    fn quoted_and_unquoted_fields_are_told_apart() {
        assert_eq!(
            records("a,b,c\n1,,\"\"\n"),
            vec![
                (1, vec![f("a", false), f("b", false), f("c", false)]),
                (2, vec![f("1", false), f("", false), f("", true)]),
            ]
        );
    }

    #[test]
    fn quoted_fields_hold_commas_quotes_and_line_ends_and_lines_stay_physical() {
        let text = "id,v\r\n1,\"a, \"\"b\"\"\nc\r\nd\"\r\n2,x\n3,\"\"\"\"";
        assert_eq!(
            records(text),
            vec![
                (1, vec![f("id", false), f("v", false)]),
                (2, vec![f("1", false), f("a, \"b\"\nc\r\nd", true)]),
                (5, vec![f("2", false), f("x", false)]),
                (6, vec![f("3", false), f("\"", true)]),
            ]
        );
    }

    #[test]
    fn edges_of_lines_and_files() {
        // No final line end; a comma at the end of the last line; a blank line.
        assert_eq!(
            records("a\n\nb,"),
            vec![
                (1, vec![f("a", false)]),
                (2, vec![f("", false)]),
                (3, vec![f("b", false), f("", false)]),
            ]
        );
        assert_eq!(
            records("x,\n"),
            vec![(1, vec![f("x", false), f("", false)])]
        );
        assert_eq!(records(""), vec![]);
        // A quote inside an unquoted field is an ordinary character.
        assert_eq!(records("ab\"c\n"), vec![(1, vec![f("ab\"c", false)])]);
        let mut record = Record::default();
        assert!(
            Records::new("\n".as_bytes())
                .next_into(&mut record)
                .unwrap()
        );
        assert!(record.is_blank());
    }

    #[test]
    fn malformed_quoting_names_the_line() {
        let mut record = Record::default();
        let mut reader = Records::new("a\n\"x\"y\n".as_bytes());
        assert!(reader.next_into(&mut record).unwrap());
        match reader.next_into(&mut record) {
            Err(RecordError::Syntax { line: 2, reason }) => {
                assert!(reason.contains("'y'"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let mut reader = Records::new("a\n1\n\"open\n\n".as_bytes());
        assert!(reader.next_into(&mut record).unwrap());
        assert!(reader.next_into(&mut record).unwrap());
        match reader.next_into(&mut record) {
            Err(RecordError::Syntax { line: 3, reason }) => {
                assert!(reason.contains("ends inside"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
