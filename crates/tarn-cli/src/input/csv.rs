//! CSV input: a header row, then one record per row.
//!
//! An unquoted empty field is a null; a quoted empty field (`""`) is an empty string (or
//! empty binary), as Spark and PostgreSQL read them and as `tarn cat` writes them. A column
//! the table types as a struct, list or map holds each value's JSON text, read as NDJSON
//! reads it. Records are split by [`csv_records`](super::csv_records), which knows which
//! fields were quoted, and every value is converted by [`convert`](super::convert), the
//! conversion NDJSON uses, so both refuse the same values. A value that does not convert is
//! reported with its file, line (of its record's first line; the header is line 1), column
//! and text. In a file of one column, a blank line is a null; otherwise blank lines are
//! skipped.
//!
//! The types of the columns a table does not have (and of every column of a new table) are
//! inferred by arrow-csv from the first [`INFER_ROWS`] rows.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_json::reader::ReaderBuilder;
use arrow_schema::{Field, Schema, SchemaRef};
use tarn::protocol::schema::StructType;

use super::convert::{BadValue, ConvertError, convert, text_type};
use super::csv_records::{Record, RecordError, Records};
use super::{
    BATCH_ROWS, Counting, INFER_ROWS, InputFile, InputFormat, arrow_reason, bad_value_error,
    format_error, normalize_inferred, open_error, table_type,
};
use crate::CliError;
use crate::value_text::type_name;

/// The header's columns, typed as the table's columns where the table has them and as
/// inferred from the first rows otherwise.
pub(super) fn schema(
    path: &Path,
    display: &str,
    table: Option<&StructType>,
) -> Result<SchemaRef, CliError> {
    // When the table has every column, nothing is inferred, so that a malformed record among
    // the first rows is reported by the reader, with its line, rather than by arrow-csv.
    let header = header(path, display)?;
    let typed: Option<Vec<Field>> = header
        .iter()
        .map(|name| table_type(table, name).map(|(_, ty)| Field::new(name, ty, true)))
        .collect();
    if let Some(fields) = typed.filter(|fields| !fields.is_empty()) {
        return Ok(Arc::new(Schema::new(fields)));
    }
    let file = File::open(path).map_err(|source| open_error(display, source))?;
    let (inferred, _) = arrow_csv::reader::Format::default()
        .with_header(true)
        .infer_schema(BufReader::new(file), Some(INFER_ROWS))
        .map_err(|e| format_error(display, InputFormat::Csv, arrow_reason(&e)))?;
    if inferred.fields().is_empty() {
        return Err(format_error(
            display,
            InputFormat::Csv,
            "there is no header row",
        ));
    }
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|field| {
            let data_type = match table_type(table, field.name()) {
                Some((_, data_type)) => data_type,
                None => normalize_inferred(field.data_type()),
            };
            Field::new(field.name(), data_type, true)
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// The names in the first line that is not blank (none in an empty file).
fn header(path: &Path, display: &str) -> Result<Vec<String>, CliError> {
    let file = File::open(path).map_err(|source| open_error(display, source))?;
    let mut records = Records::new(BufReader::new(file));
    let mut record = Record::default();
    loop {
        if !records
            .next_into(&mut record)
            .map_err(|e| record_error(display, e))?
        {
            return Ok(Vec::new());
        }
        if !record.is_blank() {
            break;
        }
    }
    (0..record.len())
        .map(|index| {
            let (bytes, _) = record.field(index);
            String::from_utf8(bytes.to_vec()).map_err(|err| CliError::InputLine {
                path: display.to_owned(),
                line: record.line(),
                reason: format!("the CSV header is not UTF-8 text: {err}"),
            })
        })
        .collect()
}

/// Reads the file, handing each batch to `send` with the bytes consumed so far. Returns
/// `false` when `send` asked to stop.
pub(super) fn read(
    file: &InputFile,
    send: &mut dyn FnMut(RecordBatch, u64) -> bool,
) -> Result<bool, CliError> {
    let handle = File::open(&file.path).map_err(|source| open_error(&file.display, source))?;
    let (counting, consumed) = Counting::new(handle);
    let mut records = Records::new(BufReader::with_capacity(1 << 16, counting));
    let mut record = Record::default();
    let columns = file.schema.fields().len();
    let next = |records: &mut Records<_>, record: &mut Record| {
        records
            .next_into(record)
            .map_err(|e| record_error(&file.display, e))
    };
    // The header: the first line that is not blank.
    loop {
        if !next(&mut records, &mut record)? {
            return Ok(true);
        }
        if !record.is_blank() {
            break;
        }
    }
    if record.len() != columns {
        return Err(CliError::InputLine {
            path: file.display.clone(),
            line: record.line(),
            reason: format!(
                "the CSV header has {} fields, but {columns} were read from it when the file \
                 was opened",
                record.len()
            ),
        });
    }
    let mut batch = TextBatch::new(columns);
    while next(&mut records, &mut record)? {
        if record.is_blank() && columns > 1 {
            continue;
        }
        if record.len() != columns {
            return Err(CliError::InputLine {
                path: file.display.clone(),
                line: record.line(),
                reason: format!(
                    "the CSV record has {} fields, the header has {columns}",
                    record.len()
                ),
            });
        }
        batch.push(&record, file)?;
        if batch.lines.len() >= BATCH_ROWS {
            let typed = batch.finish(file)?;
            if !send(typed, consumed.load(Ordering::Relaxed)) {
                return Ok(false);
            }
        }
    }
    if !batch.lines.is_empty() {
        let typed = batch.finish(file)?;
        return Ok(send(typed, consumed.load(Ordering::Relaxed)));
    }
    Ok(true)
}

fn record_error(display: &str, err: RecordError) -> CliError {
    match err {
        RecordError::Io(source) => open_error(display, source),
        RecordError::Syntax { line, reason } => CliError::InputLine {
            path: display.to_owned(),
            line,
            reason: format!("not CSV: {reason}"),
        },
    }
}

/// The fields of the records of one batch, as text columns, and each record's line.
struct TextBatch {
    columns: Vec<StringBuilder>,
    lines: Vec<u64>,
}

impl TextBatch {
    fn new(columns: usize) -> Self {
        Self {
            columns: (0..columns).map(|_| StringBuilder::new()).collect(),
            lines: Vec::with_capacity(BATCH_ROWS),
        }
    }

    /// Adds a record of the right number of fields: an unquoted empty field as a null.
    fn push(&mut self, record: &Record, file: &InputFile) -> Result<(), CliError> {
        for (index, column) in self.columns.iter_mut().enumerate() {
            let (bytes, quoted) = record.field(index);
            if bytes.is_empty() && !quoted {
                column.append_null();
                continue;
            }
            match std::str::from_utf8(bytes) {
                Ok(text) => column.append_value(text),
                Err(err) => {
                    return Err(CliError::InputLine {
                        path: file.display.clone(),
                        line: record.line(),
                        reason: format!(
                            "column `{}` is not UTF-8 text: {err}",
                            file.schema.field(index).name()
                        ),
                    });
                }
            }
        }
        self.lines.push(record.line());
        Ok(())
    }

    /// The batch with every column converted to its type; empties the text columns.
    fn finish(&mut self, file: &InputFile) -> Result<RecordBatch, CliError> {
        let mut typed: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (column, field) in self.columns.iter_mut().zip(file.schema.fields()) {
            let text: ArrayRef = Arc::new(column.finish());
            let converted = if field.data_type().is_nested() {
                decode_json(&text, field).and_then(|json| convert(&json, field))
            } else {
                convert(&text, field)
            };
            typed.push(converted.map_err(|err| convert_error(file, &self.lines, &text, err))?);
        }
        self.lines.clear();
        RecordBatch::try_new(Arc::clone(&file.schema), typed)
            .map_err(|e| format_error(&file.display, InputFormat::Csv, arrow_reason(&e)))
    }
}

/// The error of a column that did not convert; `lines` are its rows' lines.
fn convert_error(file: &InputFile, lines: &[u64], text: &ArrayRef, err: ConvertError) -> CliError {
    match err {
        ConvertError::Value(mut bad) => {
            let line = lines.get(bad.row).copied().unwrap_or(0);
            let field_text = text
                .as_any()
                .downcast_ref::<StringArray>()
                .filter(|t| t.is_valid(bad.row))
                .map(|t| t.value(bad.row));
            if field_text == Some("") {
                bad.reason = "a quoted empty field (\"\") is an empty string; leave the \
                                  field empty, unquoted, for NULL"
                    .to_owned();
            }
            bad_value_error(&file.display, line, bad)
        }
        ConvertError::Unsupported(reason) => format_error(&file.display, InputFormat::Csv, reason),
    }
}

/// Decodes a column of JSON texts (a null for a null) as [`text_type`] of the column's type,
/// as NDJSON decodes a value; each field must hold exactly one JSON value.
fn decode_json(text: &ArrayRef, field: &Field) -> Result<ArrayRef, ConvertError> {
    let texts = text
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| ConvertError::Unsupported("CSV fields are not text".to_owned()))?;
    let json_field = Field::new(field.name(), text_type(field.data_type()), true);
    let decoder = || {
        ReaderBuilder::new_with_field(json_field.clone())
            .with_batch_size(texts.len() + 1)
            .with_coerce_primitive(true)
            .with_strict_mode(true)
            .build_decoder()
            .map_err(|e| ConvertError::Unsupported(arrow_reason(&e)))
    };
    let refused = |row: usize, reason: String| {
        ConvertError::Value(BadValue {
            row,
            column: field.name().clone(),
            value: texts.value(row).to_owned(),
            expected: type_name(field.data_type()),
            reason,
        })
    };
    let mut all = decoder()?;
    for row in 0..texts.len() {
        let value = if texts.is_null(row) {
            "null"
        } else {
            texts.value(row)
        };
        feed(&mut all, value).map_err(|reason| refused(row, reason))?;
    }
    match all.flush() {
        Ok(Some(batch)) => Ok(Arc::clone(batch.column(0))),
        Ok(None) => Ok(arrow_array::new_empty_array(
            &json_field.data_type().clone(),
        )),
        Err(err) => {
            // Decode the rows one at a time to find the one at fault.
            for row in (0..texts.len()).filter(|&row| texts.is_valid(row)) {
                let mut single = decoder()?;
                let result = feed(&mut single, texts.value(row))
                    .and_then(|()| single.flush().map_err(|e| arrow_reason(&e)));
                if let Err(reason) = result {
                    return Err(refused(row, reason));
                }
            }
            Err(ConvertError::Unsupported(arrow_reason(&err)))
        }
    }
}

/// Feeds one field's text to the decoder; fails unless it is exactly one JSON value.
fn feed(decoder: &mut arrow_json::reader::Decoder, text: &str) -> Result<(), String> {
    let not_one = || "expected one JSON value".to_owned();
    let before = decoder.len();
    let used = decoder
        .decode(text.as_bytes())
        .map_err(|e| arrow_reason(&e))?;
    // A number is only complete once something follows it.
    let ended = decoder.decode(b"\n").map_err(|e| arrow_reason(&e))?;
    if used != text.len() || ended != 1 || decoder.has_partial_record() {
        return Err(not_one());
    }
    if decoder.len() != before + 1 {
        return Err(not_one());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use arrow_schema::DataType;

    fn input(dir: &tempfile::TempDir, text: &str, schema: Vec<Field>) -> InputFile {
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        InputFile {
            display: "in.csv".to_owned(),
            format: InputFormat::Csv,
            size: text.len() as u64,
            schema: Arc::new(Schema::new(schema)),
            path,
        }
    }

    fn read_all(file: &InputFile) -> Result<Vec<RecordBatch>, CliError> {
        let mut batches = Vec::new();
        read(file, &mut |batch, _| {
            batches.push(batch);
            true
        })?;
        Ok(batches)
    }

    #[test]
    fn a_bad_value_names_its_line_column_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let schema = vec![
            Field::new("id", DataType::Int64, true),
            Field::new("day", DataType::Date32, true),
        ];
        // Line 3 starts a quoted field spanning two lines; the bad value is on line 5.
        let text = "id,day\n1,2026-01-01\n\"2\n\",2026-01-02\n3,soon\n";
        let file = input(&dir, text, schema.clone());
        match read_all(&file) {
            Err(CliError::InputValue(bad)) => assert_eq!(
                (bad.line, bad.column.as_str(), bad.value.as_str()),
                (5, "day", "soon")
            ),
            other => panic!("unexpected {other:?}"),
        }
        // The bad value is itself a quoted field spanning lines: the line its record starts on.
        let text = "id,day\n1,2026-01-01\n2,\"2026-01-\n02\"\n3,soon\n";
        let file = input(&dir, text, schema.clone());
        match read_all(&file) {
            Err(CliError::InputValue(bad)) => {
                assert_eq!(bad.line, 3);
                assert_eq!(
                    (bad.column.as_str(), bad.value.as_str()),
                    ("day", "2026-01-\n02")
                );
                assert_eq!(bad.expected, "date");
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = "id,day\n1,2026-01-01\n\"x,y\",\"2026-01-02\"\n";
        let file = input(&dir, text, schema);
        match read_all(&file) {
            Err(CliError::InputValue(bad)) => {
                assert_eq!((bad.line, bad.value.as_str()), (3, "x,y"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn null_and_empty_string_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let schema = vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::Binary, true),
        ];
        let file = input(&dir, "s,b\n,\n\"\",\"\"\nx,00ff\n", schema);
        let batches = read_all(&file).unwrap();
        let s = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(s.is_null(0));
        assert_eq!((s.value(1), s.value(2)), ("", "x"));
        let b = batches[0]
            .column(1)
            .as_any()
            .downcast_ref::<arrow_array::BinaryArray>()
            .unwrap();
        assert!(b.is_null(0));
        assert_eq!((b.value(1), b.value(2)), (&b""[..], &[0u8, 255][..]));
    }

    #[test]
    fn a_quoted_empty_field_in_a_number_column_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = input(
            &dir,
            "n\n1\n\"\"\n",
            vec![Field::new("n", DataType::Int64, true)],
        );
        match read_all(&file) {
            Err(CliError::InputValue(bad)) => {
                assert_eq!((bad.line, bad.value.as_str()), (3, ""));
                assert!(bad.reason.contains("unquoted, for NULL"), "{}", bad.reason);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_bad_value_past_the_first_batch_names_its_physical_line() {
        let dir = tempfile::tempdir().unwrap();
        // Every record spans two lines.
        let mut text = String::from("n,s\n");
        for i in 0..BATCH_ROWS + 10 {
            text.push_str(&format!("{i},\"two\nlines\"\n"));
        }
        text.push_str("2.5,x\n");
        let schema = vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ];
        let file = input(&dir, &text, schema);
        match read_all(&file) {
            Err(CliError::InputValue(bad)) => {
                assert_eq!(bad.line, 2 + 2 * (BATCH_ROWS as u64 + 10));
                assert_eq!(bad.value, "2.5");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn one_column_files_read_blank_lines_as_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let file = input(
            &dir,
            "n\n1\n\n3\n",
            vec![Field::new("n", DataType::Int64, true)],
        );
        let batches = read_all(&file).unwrap();
        assert_eq!(batches[0].num_rows(), 3);
        assert!(batches[0].column(0).is_null(1));
    }
}
