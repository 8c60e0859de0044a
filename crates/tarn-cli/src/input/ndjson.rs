//! NDJSON input: one JSON object per line; a missing key is a null.
//!
//! Lines are fed to Arrow's JSON decoder one at a time with every leaf that is not a string
//! typed as a string and `coerce_primitive` on, so that a number reaches
//! [`convert`](super::convert) as the text the file spells it with (`1.239`, not the double
//! nearest to it) and is converted exactly as CSV converts it, at any depth. The strings
//! `"NaN"`, `"Infinity"` and `"-Infinity"` are floats, as `tarn cat` and Spark write them; a
//! number or boolean in a string column is read as its text.
//!
//! The line each row starts on is kept to name the line of a value that does not convert,
//! and the lines of the batch being built are kept, so that a batch that fails to decode can
//! be decoded again line by line to name the line at fault. Memory holds one batch of lines.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::RecordBatch;
use arrow_json::reader::{Decoder, ReaderBuilder, infer_json_schema};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};
use tarn::protocol::schema::StructType;

use super::convert::{ConvertError, convert, text_schema};
use super::{
    BATCH_ROWS, Counting, INFER_ROWS, InputFile, InputFormat, arrow_reason, bad_value_error,
    format_error, normalize_inferred, open_error, table_type,
};
use crate::CliError;

/// Every table column with the table's type (spelled as the file spells it), then the
/// keys of the first lines the table does not have, with inferred types. Without a table,
/// the inferred columns.
pub(super) fn schema(
    path: &Path,
    display: &str,
    table: Option<&StructType>,
) -> Result<SchemaRef, CliError> {
    // Arrow's inference sorts the keys; a new table takes them in the order the file has them.
    // Reading them first also names the line of a first-lines object that does not parse.
    let order = key_order(path, display)?;
    // Types are inferred only for keys the table lacks: Arrow's inference fails on some
    // values every table column reads (a list holding a null struct, `[{...}, null]`).
    let mut inferred: Vec<Field> = Vec::new();
    if table.is_none() || order.iter().any(|key| table_type(table, key).is_none()) {
        let file = File::open(path).map_err(|source| open_error(display, source))?;
        let (schema, _) = infer_json_schema(BufReader::new(file), Some(INFER_ROWS))
            .map_err(|e| format_error(display, InputFormat::Ndjson, arrow_reason(&e)))?;
        inferred = schema
            .fields()
            .iter()
            .filter(|f| table_type(table, f.name()).is_none())
            .map(|f| Field::new(f.name(), normalize_inferred(f.data_type()), true))
            .collect();
        inferred.sort_by_key(|f| order.get_index_of(f.name()).unwrap_or(usize::MAX));
    }
    let mut fields: Vec<Field> = Vec::new();
    if let Some(table) = table {
        for column in &table.fields {
            let data_type = arrow_schema::DataType::try_from(&column.data_type)
                .map_err(|e| format_error(display, InputFormat::Ndjson, e))?;
            let name = order
                .iter()
                .find(|key| *key == &column.name)
                .or_else(|| {
                    order
                        .iter()
                        .find(|key| key.eq_ignore_ascii_case(&column.name))
                })
                .map_or_else(|| column.name.clone(), Clone::clone);
            fields.push(Field::new(name, data_type, true));
        }
    }
    fields.extend(inferred);
    if fields.is_empty() {
        return Err(format_error(
            display,
            InputFormat::Ndjson,
            "no JSON object with a key in the first lines",
        ));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The top-level keys of the first [`INFER_ROWS`] lines, in the order they first appear.
/// Fails, naming the line, on a line among them that is not a JSON object.
fn key_order(path: &Path, display: &str) -> Result<indexmap::IndexSet<String>, CliError> {
    let file = File::open(path).map_err(|source| open_error(display, source))?;
    let mut keys = indexmap::IndexSet::new();
    let mut objects = 0;
    for (index, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|source| open_error(display, source))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let object =
            serde_json::from_slice::<indexmap::IndexMap<String, serde::de::IgnoredAny>>(&line)
                .map_err(|e| CliError::InputLine {
                    path: display.to_owned(),
                    line: u64::try_from(index).unwrap_or(0) + 1,
                    reason: format!("not a JSON object: {e}"),
                })?;
        keys.extend(object.into_keys());
        objects += 1;
        if objects >= INFER_ROWS {
            break;
        }
    }
    Ok(keys)
}

/// A decoder of `text_schema` ([`text_schema`] of the file's schema).
fn decoder(text_schema: &SchemaRef) -> Result<Decoder, ArrowError> {
    ReaderBuilder::new(Arc::clone(text_schema))
        .with_batch_size(BATCH_ROWS)
        .with_strict_mode(true)
        .with_coerce_primitive(true)
        .build_decoder()
}

/// Reads the file, handing each batch to `send` with the bytes consumed so far. Returns
/// `false` when `send` asked to stop.
pub(super) fn read(
    file: &InputFile,
    send: &mut dyn FnMut(RecordBatch, u64) -> bool,
) -> Result<bool, CliError> {
    let handle = File::open(&file.path).map_err(|source| open_error(&file.display, source))?;
    let (counting, consumed) = Counting::new(handle);
    let mut reader = BufReader::new(counting);
    let text_schema = text_schema(&file.schema);
    let mut batch = LineBatch {
        file,
        decoder: decoder(&text_schema)
            .map_err(|e| format_error(&file.display, InputFormat::Ndjson, arrow_reason(&e)))?,
        text_schema,
        lines: Vec::new(),
        row_lines: Vec::with_capacity(BATCH_ROWS),
    };
    let mut line_number = 0u64;
    loop {
        let mut line = Vec::new();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| open_error(&file.display, source))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut offset = 0;
        while offset < line.len() {
            if batch.decoder.len() >= BATCH_ROWS && !batch.flush(send, &consumed)? {
                return Ok(false);
            }
            let before = batch.decoder.len();
            let used = batch
                .decoder
                .decode(&line[offset..])
                .map_err(|e| line_error(file, line_number, &e))?;
            offset += used;
            // Rows are counted from their first byte: each new one starts on this line.
            let started = batch.decoder.len().saturating_sub(before);
            batch
                .row_lines
                .extend(std::iter::repeat_n(line_number, started));
        }
        batch.lines.push((line_number, line));
        if batch.decoder.len() >= BATCH_ROWS && !batch.flush(send, &consumed)? {
            return Ok(false);
        }
    }
    if batch.decoder.has_partial_record() {
        return Err(CliError::InputLine {
            path: file.display.clone(),
            line: line_number,
            reason: "the file ends inside a JSON object".to_owned(),
        });
    }
    batch.flush(send, &consumed)
}

/// The decoder, the lines it holds and the line each of its rows starts on.
struct LineBatch<'a> {
    file: &'a InputFile,
    text_schema: SchemaRef,
    decoder: Decoder,
    lines: Vec<(u64, Vec<u8>)>,
    row_lines: Vec<u64>,
}

impl LineBatch<'_> {
    /// Emits the decoded rows as a batch; returns whether to go on.
    fn flush(
        &mut self,
        send: &mut dyn FnMut(RecordBatch, u64) -> bool,
        consumed: &std::sync::atomic::AtomicU64,
    ) -> Result<bool, CliError> {
        match self.decoder.flush() {
            Ok(Some(text)) => {
                let batch = self.convert(&text)?;
                self.lines.clear();
                self.row_lines.clear();
                Ok(send(batch, consumed.load(Ordering::Relaxed)))
            }
            Ok(None) => Ok(true),
            Err(err) => Err(self.locate(&err)),
        }
    }

    /// The decoded batch with every column converted to its type.
    fn convert(&self, text: &RecordBatch) -> Result<RecordBatch, CliError> {
        let display = &self.file.display;
        let columns = text
            .columns()
            .iter()
            .zip(self.file.schema.fields())
            .map(|(column, field)| {
                convert(column, field).map_err(|err| match err {
                    ConvertError::Value(bad) => {
                        let line = self.row_lines.get(bad.row).copied().unwrap_or(0);
                        bad_value_error(display, line, bad)
                    }
                    ConvertError::Unsupported(reason) => {
                        format_error(display, InputFormat::Ndjson, reason)
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        RecordBatch::try_new(Arc::clone(&self.file.schema), columns)
            .map_err(|e| format_error(display, InputFormat::Ndjson, arrow_reason(&e)))
    }

    /// Decodes the held lines one at a time to find the first that fails.
    fn locate(&self, err: &ArrowError) -> CliError {
        for (line_number, line) in &self.lines {
            let Ok(mut single) = decoder(&self.text_schema) else {
                break;
            };
            if let Err(line_err) = single.decode(line).and_then(|_| single.flush()) {
                return line_error(self.file, *line_number, &line_err);
            }
        }
        CliError::InputLine {
            path: self.file.display.clone(),
            line: self.lines.first().map_or(0, |(n, _)| *n),
            reason: arrow_reason(err),
        }
    }
}

fn line_error(file: &InputFile, line: u64, err: &ArrowError) -> CliError {
    let mut reason = arrow_reason(err);
    if reason.contains("missing from schema") {
        reason.push_str(&format!(
            " (the columns read are the table's and the keys of the first {INFER_ROWS} lines)"
        ));
    }
    CliError::InputLine {
        path: file.display.clone(),
        line,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::DataType;

    #[test]
    fn a_bad_value_past_the_first_batch_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.ndjson");
        // Blank lines and a row spanning two lines shift line numbers from row numbers.
        let mut text = String::from("\n{\"n\":\n1}\n");
        for i in 0..BATCH_ROWS + 10 {
            text.push_str(&format!("{{\"n\":{i}}}\n\n"));
        }
        text.push_str("{\"n\":2.5}\n");
        std::fs::write(&path, &text).unwrap();
        let file = InputFile {
            display: "in.ndjson".to_owned(),
            format: InputFormat::Ndjson,
            size: text.len() as u64,
            schema: Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)])),
            path,
        };
        let mut rows = 0;
        let result = read(&file, &mut |batch, _| {
            rows += batch.num_rows();
            true
        });
        let want_line = text.lines().count() as u64;
        match result {
            Err(CliError::InputValue(bad)) => {
                assert_eq!((bad.line, bad.value.as_str()), (want_line, "2.5"));
                assert_eq!(bad.column, "n");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(rows, BATCH_ROWS, "the first batch went through");
    }
}
