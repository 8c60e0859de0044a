//! CSV output: a header row, then one record per row, quoted as RFC 4180 says.
//!
//! A null is an empty unquoted field and an empty string (or empty binary) is `""`, as Spark
//! and PostgreSQL write them, so that the two read back apart. Leaves take their text from
//! [`crate::value_text`] (binary as hex, floats with `NaN`/`Infinity`); nested values
//! (structs, lists, maps) are written as their JSON text, exactly as NDJSON writes them. A
//! field is quoted when it is empty or holds a comma, a quote, a carriage return or a line
//! feed; quotes inside are doubled.

use arrow_array::{Array, RecordBatch};
use arrow_json::writer::{EncoderOptions, NullableEncoder, make_encoder};
use arrow_schema::{FieldRef, SchemaRef};
use std::io::Write as _;

use super::json_values::encoder_options;
use super::{Format, RowWriter, check, encode_error};
use crate::CliError;
use crate::sink::Sink;
use crate::value_text::LeafWriter;

pub(super) struct CsvWriter {
    sink: Sink,
    schema: SchemaRef,
    header_written: bool,
    options: EncoderOptions,
    /// The batch's text, written to the sink at once.
    buffer: Vec<u8>,
    /// One field's text before quoting.
    field: Vec<u8>,
}

/// How one column's values become text.
enum Cells<'a> {
    Leaf(LeafWriter<'a>),
    Json(NullableEncoder<'a>),
}

impl CsvWriter {
    pub(super) fn new(schema: SchemaRef, sink: Sink) -> Self {
        Self {
            sink,
            schema,
            header_written: false,
            options: encoder_options(),
            buffer: Vec::new(),
            field: Vec::new(),
        }
    }

    fn header(&mut self) {
        for (i, field) in self.schema.fields().iter().enumerate() {
            if i > 0 {
                self.buffer.push(b',');
            }
            push_field(&mut self.buffer, field.name().as_bytes());
        }
        self.buffer.push(b'\n');
        self.header_written = true;
    }

    fn encode(&mut self, batch: &RecordBatch) -> Result<(), CliError> {
        let fields: Vec<FieldRef> = batch.schema().fields().iter().cloned().collect();
        let mut cells = Vec::with_capacity(batch.num_columns());
        for (column, field) in batch.columns().iter().zip(&fields) {
            cells.push(match LeafWriter::new(column.as_ref()) {
                Some(leaf) => Cells::Leaf(leaf),
                None => Cells::Json(
                    make_encoder(field, column.as_ref(), &self.options)
                        .map_err(|e| encode_error(Format::Csv, e))?,
                ),
            });
        }
        for row in 0..batch.num_rows() {
            for (i, (column, cell)) in batch.columns().iter().zip(&mut cells).enumerate() {
                if i > 0 {
                    self.buffer.push(b',');
                }
                if column.is_null(row) {
                    continue;
                }
                self.field.clear();
                match cell {
                    Cells::Leaf(leaf) => leaf.write(row, &mut self.field),
                    Cells::Json(encoder) => encoder.encode(row, &mut self.field),
                }
                push_field(&mut self.buffer, &self.field);
            }
            self.buffer.push(b'\n');
        }
        Ok(())
    }
}

/// Appends one non-null field, quoted if it must be.
fn push_field(out: &mut Vec<u8>, text: &[u8]) {
    let quote = text.is_empty()
        || text
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !quote {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    for &b in text {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

impl RowWriter for CsvWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), CliError> {
        self.buffer.clear();
        if !self.header_written {
            self.header();
        }
        self.encode(batch)?;
        let result = self.sink.write_all(&self.buffer);
        check(&mut self.sink, Format::Csv, result)
    }

    fn sink(&mut self) -> &mut Sink {
        &mut self.sink
    }

    fn finish(mut self: Box<Self>) -> Result<Sink, CliError> {
        if !self.header_written {
            // No rows: the header alone.
            self.buffer.clear();
            self.header();
            let result = self.sink.write_all(&self.buffer);
            check(&mut self.sink, Format::Csv, result)?;
        }
        Ok(self.sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        let quoted = |text: &str| {
            let mut out = Vec::new();
            push_field(&mut out, text.as_bytes());
            String::from_utf8(out).unwrap_or_default()
        };
        assert_eq!(quoted("plain text"), "plain text");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("a,b"), "\"a,b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("two\nlines"), "\"two\nlines\"");
        assert_eq!(quoted(" padded "), " padded ");
    }
}
