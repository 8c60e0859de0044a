//! CSV input: a header row, then one record per line; empty fields are nulls.
//!
//! Columns are read as text and then converted to their types, so that a value that does
//! not convert is reported with its file, line, column and text. Line numbers count the
//! header as line 1 and assume no quoted field spans lines.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use tarn::protocol::schema::StructType;

use super::{
    BATCH_ROWS, Counting, INFER_ROWS, InputFile, InputFormat, arrow_reason, format_error,
    normalize_inferred, open_error, table_type,
};
use crate::CliError;

/// The header's columns, typed as the table's columns where the table has them and as
/// inferred from the first rows otherwise.
pub(super) fn schema(
    path: &Path,
    display: &str,
    table: Option<&StructType>,
) -> Result<SchemaRef, CliError> {
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
    let fields = inferred
        .fields()
        .iter()
        .map(|field| {
            let data_type = match table_type(table, field.name()) {
                Some((_, data_type)) if data_type.is_nested() => {
                    return Err(CliError::InputColumnType {
                        path: display.to_owned(),
                        format: InputFormat::Csv.name(),
                        column: field.name().clone(),
                        reason: format!(
                            "the table's column is {data_type}, which CSV cannot hold; write \
                             Parquet or NDJSON"
                        ),
                    });
                }
                Some((_, data_type)) => data_type,
                None => normalize_inferred(field.data_type()),
            };
            Ok(Field::new(field.name(), data_type, true))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// Reads the file, handing each batch to `send` with the bytes consumed so far. Returns
/// `false` when `send` asked to stop.
pub(super) fn read(
    file: &InputFile,
    send: &mut dyn FnMut(RecordBatch, u64) -> bool,
) -> Result<bool, CliError> {
    let text_schema = Schema::new(
        file.schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let handle = File::open(&file.path).map_err(|source| open_error(&file.display, source))?;
    let (counting, consumed) = Counting::new(handle);
    let reader = arrow_csv::ReaderBuilder::new(Arc::new(text_schema))
        .with_header(true)
        .with_batch_size(BATCH_ROWS)
        .build(BufReader::new(counting))
        .map_err(|e| format_error(&file.display, InputFormat::Csv, arrow_reason(&e)))?;
    // 0-based index of the next record after the header.
    let mut record = 0u64;
    for batch in reader {
        let batch =
            batch.map_err(|e| format_error(&file.display, InputFormat::Csv, arrow_reason(&e)))?;
        let typed = convert(&batch, &file.schema, &file.display, record)?;
        record += u64::try_from(batch.num_rows()).unwrap_or(0);
        if !send(typed, consumed.load(Ordering::Relaxed)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Converts a batch of text columns to `schema`'s types; `first_record` is the index of its
/// first record in the file.
fn convert(
    batch: &RecordBatch,
    schema: &SchemaRef,
    display: &str,
    first_record: u64,
) -> Result<RecordBatch, CliError> {
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (column, field) in batch.columns().iter().zip(schema.fields()) {
        if field.data_type() == &DataType::Utf8 {
            columns.push(Arc::clone(column));
            continue;
        }
        match cast_with_options(column, field.data_type(), &strict) {
            Ok(converted) => columns.push(converted),
            Err(err) => {
                return Err(bad_value(
                    column,
                    field,
                    display,
                    first_record,
                    &arrow_reason(&err),
                ));
            }
        }
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| format_error(display, InputFormat::Csv, arrow_reason(&e)))
}

/// The error for a column that does not convert: the first value that a lenient conversion
/// turns into a null names the line.
fn bad_value(
    column: &ArrayRef,
    field: &Field,
    display: &str,
    first_record: u64,
    reason: &str,
) -> CliError {
    let lenient = arrow_cast::cast(column, field.data_type()).ok();
    let text = column.as_any().downcast_ref::<StringArray>();
    let bad = lenient.as_ref().and_then(|converted| {
        (0..column.len()).find(|&i| column.is_valid(i) && converted.is_null(i))
    });
    match (bad, text) {
        (Some(row), Some(text)) => CliError::InputValue {
            path: display.to_owned(),
            // Line 1 is the header.
            line: first_record + u64::try_from(row).unwrap_or(0) + 2,
            column: field.name().clone(),
            value: text.value(row).to_owned(),
            expected: type_name(field.data_type()),
        },
        _ => CliError::InputLine {
            path: display.to_owned(),
            line: first_record + 2,
            reason: format!("column `{}`: {reason}", field.name()),
        },
    }
}

/// A reader's name for an Arrow type: `long`, `date`, `timestamp`, ...
fn type_name(data_type: &DataType) -> String {
    match tarn::protocol::schema::DataType::try_from(data_type) {
        Ok(delta) => format!("{delta}"),
        Err(_) => data_type.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn a_bad_value_names_its_line_column_and_text() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("day", DataType::Date32, true),
        ]));
        let text = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, true),
                Field::new("day", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(StringArray::from(vec![Some("1"), None, Some("3")])),
                Arc::new(StringArray::from(vec![
                    Some("2026-01-01"),
                    Some("2026-01-02"),
                    Some("soon"),
                ])),
            ],
        )
        .unwrap();
        match convert(&text, &schema, "in.csv", 10) {
            Err(CliError::InputValue {
                line,
                column,
                value,
                expected,
                ..
            }) => {
                assert_eq!((line, column.as_str()), (14, "day"));
                assert_eq!(value, "soon");
                assert_eq!(expected, "date");
            }
            other => panic!("unexpected {other:?}"),
        }
        let good = text.slice(0, 2);
        let converted = convert(&good, &schema, "in.csv", 0).unwrap();
        assert_eq!(converted.schema(), schema);
        assert!(converted.column(0).is_null(1));
    }
}
