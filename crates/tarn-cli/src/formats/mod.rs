//! Row output formats for `tarn cat`: an aligned text table, CSV, NDJSON and Parquet.
//!
//! CSV, NDJSON and Parquet are made to be read back by `tarn write` (see [`crate::input`])
//! to exactly the same values: [`crate::value_text`] decides the text of each value, and
//! [`csv`] and [`json_values`] where it goes. The text table is for people only.
//!
//! This module decides how record batches become bytes, one batch at a time, so memory stays
//! bounded whatever the table's size (the text table holds at most its first
//! [`TABLE_SIZING_ROWS`] rows, to size its columns; Parquet holds one row group). It never
//! decides where the bytes go ([`crate::sink`]) or which rows are read.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_json::LineDelimitedWriter;
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::CliError;
use crate::sink::Sink;

mod csv;
mod json_values;

/// Rows the text table reads before it fixes its column widths.
pub(crate) const TABLE_SIZING_ROWS: usize = 1000;

/// How `tarn cat` prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned text with a header; the row count goes to stderr.
    Table,
    /// CSV with a header row (RFC 4180 quoting): NULL is an empty field, an empty string
    /// `""`, binary hex, nested values JSON.
    Csv,
    /// One JSON object per line; NaN and infinities as "NaN", "Infinity", "-Infinity".
    Ndjson,
    /// One Parquet file (zstd); needs --output.
    Parquet,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "CSV",
            Format::Ndjson => "NDJSON",
            Format::Parquet => "Parquet",
        }
    }

    /// A writer of this format for batches of `schema`.
    pub(crate) fn writer(
        self,
        schema: SchemaRef,
        sink: Sink,
    ) -> Result<Box<dyn RowWriter>, CliError> {
        Ok(match self {
            Format::Table => Box::new(TableWriter::new(&schema, sink)),
            Format::Csv => Box::new(csv::CsvWriter::new(schema, sink)),
            Format::Ndjson => Box::new(NdjsonWriter {
                writer: arrow_json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .with_encoder_factory(Arc::new(json_values::ExactText))
                    .build::<_, arrow_json::writer::LineDelimited>(sink),
            }),
            Format::Parquet => {
                let properties = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                let writer = ArrowWriter::try_new(sink, schema, Some(properties))
                    .map_err(|e| encode_error(Format::Parquet, e))?;
                Box::new(ParquetWriter { writer })
            }
        })
    }
}

fn encode_error(format: Format, reason: impl std::fmt::Display) -> CliError {
    CliError::Encode {
        format: format.name(),
        reason: reason.to_string(),
    }
}

/// Turns batches into output bytes.
pub(crate) trait RowWriter {
    /// Encodes one batch.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), CliError>;
    /// The sink the bytes go to.
    fn sink(&mut self) -> &mut Sink;
    /// Writes what comes after the last row and returns the sink, to be committed.
    fn finish(self: Box<Self>) -> Result<Sink, CliError>;
}

/// The error of a failed encoding step: the sink's I/O error naming the file if there was
/// one, else the encoder's.
fn check(
    sink: &mut Sink,
    format: Format,
    result: Result<(), impl std::fmt::Display>,
) -> Result<(), CliError> {
    match (sink.take_error(), result) {
        (Some(err), _) => Err(err),
        (None, Err(err)) => Err(encode_error(format, err)),
        (None, Ok(())) => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Text table
// ---------------------------------------------------------------------------------------------

/// An aligned text table: numbers right-aligned, everything else left-aligned, two spaces
/// between columns, `NULL` for nulls. The widths come from the header and the first
/// [`TABLE_SIZING_ROWS`] rows; a longer cell later on is printed whole.
struct TableWriter {
    sink: Sink,
    headers: Vec<String>,
    right_aligned: Vec<bool>,
    /// Rows held until the widths are fixed.
    held: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
    rows: u64,
}

/// A cell on one line: control characters (newlines, tabs) escaped.
fn one_line(text: String) -> String {
    if !text.chars().any(char::is_control) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _infallible = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

impl TableWriter {
    fn new(schema: &Schema, sink: Sink) -> Self {
        Self {
            sink,
            headers: schema
                .fields()
                .iter()
                .map(|f| one_line(f.name().clone()))
                .collect(),
            right_aligned: schema
                .fields()
                .iter()
                .map(|f| f.data_type().is_numeric())
                .collect(),
            held: Vec::new(),
            widths: None,
            rows: 0,
        }
    }

    fn cells(batch: &RecordBatch) -> Result<Vec<Vec<String>>, CliError> {
        let options = FormatOptions::new().with_null("NULL");
        let formatters = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| encode_error(Format::Table, e))?;
        Ok((0..batch.num_rows())
            .map(|row| {
                formatters
                    .iter()
                    .map(|f| one_line(f.value(row).to_string()))
                    .collect()
            })
            .collect())
    }

    fn line(&mut self, cells: &[String]) {
        let Some(widths) = &self.widths else { return };
        let mut text = String::new();
        let columns = cells.len();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if self.right_aligned[i] {
                text.extend(std::iter::repeat_n(' ', pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                if i + 1 < columns {
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        text.push('\n');
        let _never_fails = self.sink.write_all(text.as_bytes());
    }

    /// Fixes the widths from the header and the held rows, and prints them.
    fn release(&mut self) {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.held {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        self.widths = Some(widths);
        let headers = std::mem::take(&mut self.headers);
        self.line(&headers);
        for row in std::mem::take(&mut self.held) {
            self.line(&row);
        }
    }
}

impl RowWriter for TableWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), CliError> {
        let rows = Self::cells(batch)?;
        self.rows += rows.len() as u64;
        if self.widths.is_some() {
            for row in rows {
                self.line(&row);
            }
        } else {
            self.held.extend(rows);
            if self.held.len() >= TABLE_SIZING_ROWS {
                self.release();
            }
        }
        Ok(())
    }

    fn sink(&mut self) -> &mut Sink {
        &mut self.sink
    }

    fn finish(mut self: Box<Self>) -> Result<Sink, CliError> {
        if self.widths.is_none() {
            self.release();
        }
        if !self.sink.is_closed() {
            let rows = self.rows;
            eprintln!("{rows} {}", if rows == 1 { "row" } else { "rows" });
        }
        Ok(self.sink)
    }
}

// ---------------------------------------------------------------------------------------------
// NDJSON
// ---------------------------------------------------------------------------------------------

/// One JSON object per row through arrow-json, every column present (`null` for nulls),
/// values written by [`json_values`] so that they read back exactly.
struct NdjsonWriter {
    writer: LineDelimitedWriter<Sink>,
}

impl RowWriter for NdjsonWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), CliError> {
        let result = self.writer.write(batch);
        check(self.writer.get_mut(), Format::Ndjson, result)
    }

    fn sink(&mut self) -> &mut Sink {
        self.writer.get_mut()
    }

    fn finish(mut self: Box<Self>) -> Result<Sink, CliError> {
        let result = self.writer.finish();
        check(self.writer.get_mut(), Format::Ndjson, result)?;
        Ok(self.writer.into_inner())
    }
}

// ---------------------------------------------------------------------------------------------
// Parquet
// ---------------------------------------------------------------------------------------------

/// One Parquet file with the scan's schema, zstd-compressed.
struct ParquetWriter {
    writer: ArrowWriter<Sink>,
}

impl RowWriter for ParquetWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), CliError> {
        let result = self.writer.write(batch);
        check(self.writer.inner_mut(), Format::Parquet, result)
    }

    fn sink(&mut self) -> &mut Sink {
        self.writer.inner_mut()
    }

    fn finish(mut self: Box<Self>) -> Result<Sink, CliError> {
        // The last row group first, so that an I/O error names the file; then the footer.
        let result = self.writer.flush();
        check(self.writer.inner_mut(), Format::Parquet, result)?;
        self.writer
            .into_inner()
            .map_err(|e| encode_error(Format::Parquet, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("a\nb\tc".into()), "a\\nb\\tc");
        assert_eq!(one_line("plain".into()), "plain");
        assert_eq!(one_line("\u{1}".into()), "\\u{1}");
    }
}
