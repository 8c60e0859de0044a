//! Rows for the `tarn cat` tests: the expected data of the fixtures, `cat` output parsed back
//! (an RFC 4180 CSV reader written here, NDJSON, Parquet), order-insensitive comparison, and a
//! table with many rows built in a temporary directory.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, RecordBatchReader, StringArray};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_json::writer::{EncoderOptions, make_encoder};
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value, json};

use super::{fixtures_dir, write_commit};

/// The batches of a Parquet file, and its schema.
pub(crate) fn read_parquet(path: &Path) -> (SchemaRef, Vec<RecordBatch>) {
    let file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().unwrap();
    (schema, batches)
}

/// The expected rows of a fixture table at a version (`expected/NAME/expected-vN.parquet`).
pub(crate) fn expected_batches(name: &str, version: u64) -> Vec<RecordBatch> {
    let path = fixtures_dir()
        .join("expected")
        .join(name)
        .join(format!("expected-v{version}.parquet"));
    read_parquet(&path).1
}

/// Every timestamp as microseconds in UTC, so that files differing in unit or time zone
/// annotation compare by instant.
fn canonical(column: &ArrayRef) -> ArrayRef {
    match column.data_type() {
        DataType::Timestamp(_, _) => arrow_cast::cast(
            column,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )
        .unwrap(),
        _ => Arc::clone(column),
    }
}

/// The rows as text cells (`null` for nulls: empty for CSV), of the named columns in that
/// order (all columns when `columns` is `None`), sorted.
pub(crate) fn text_rows(
    batches: &[RecordBatch],
    columns: Option<&[&str]>,
    null: &str,
) -> Vec<Vec<String>> {
    let options = FormatOptions::new().with_null(null);
    let mut rows = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let names: Vec<&str> = match columns {
            Some(names) => names.to_vec(),
            None => schema.fields().iter().map(|f| f.name().as_str()).collect(),
        };
        let arrays: Vec<ArrayRef> = names
            .iter()
            .map(|name| {
                canonical(
                    batch
                        .column_by_name(name)
                        .unwrap_or_else(|| panic!("no column {name} in {schema:?}")),
                )
            })
            .collect();
        let formatters: Vec<ArrayFormatter<'_>> = arrays
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &options).unwrap())
            .collect();
        let json_options = EncoderOptions::default().with_explicit_nulls(true);
        let fields: Vec<FieldRef> = arrays
            .iter()
            .map(|a| Arc::new(Field::new("", a.data_type().clone(), true)))
            .collect();
        let mut encoders: Vec<_> = arrays
            .iter()
            .zip(&fields)
            .map(|(a, f)| make_encoder(f, a.as_ref(), &json_options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells = arrays
                .iter()
                .zip(&formatters)
                .zip(&mut encoders)
                .map(|((array, formatter), encoder)| {
                    // Nested values as JSON text, as `cat --format csv` writes them.
                    if array.data_type().is_nested() && array.is_valid(row) {
                        let mut out = Vec::new();
                        encoder.encode(row, &mut out);
                        String::from_utf8(out).unwrap()
                    } else {
                        formatter.value(row).to_string()
                    }
                })
                .collect();
            rows.push(cells);
        }
    }
    rows.sort();
    rows
}

/// Parses CSV (RFC 4180: quoted fields with doubled quotes, CRLF or LF line ends): the header
/// and the rows, the rows sorted.
pub(crate) fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
            }
            '"' => panic!("a quote inside an unquoted CSV field:\n{text}"),
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    assert!(!quoted, "unterminated quoted CSV field:\n{text}");
    assert!(
        record.is_empty() && field.is_empty(),
        "CSV does not end with a line end:\n{text}"
    );
    assert!(!records.is_empty(), "CSV has no header");
    let header = records.remove(0);
    for row in &records {
        assert_eq!(
            row.len(),
            header.len(),
            "CSV row {row:?} vs header {header:?}"
        );
    }
    records.sort();
    (header, records)
}

/// One JSON value per row, as an object of column name to value, sorted by its text.
pub(crate) fn parse_ndjson(text: &str) -> Vec<Map<String, Value>> {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "NDJSON does not end with a line end"
    );
    let mut rows: Vec<Map<String, Value>> = text
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(object)) => object,
            other => panic!("NDJSON line is not an object ({other:?}): {line}"),
        })
        .collect();
    sort_json_rows(&mut rows);
    rows
}

fn sort_json_rows(rows: &mut [Map<String, Value>]) {
    rows.sort_by_cached_key(|row| {
        let sorted: std::collections::BTreeMap<&String, &Value> = row.iter().collect();
        serde_json::to_string(&sorted).unwrap()
    });
}

/// The rows as arrow-json writes them (every column present), sorted like [`parse_ndjson`].
pub(crate) fn json_rows(batches: &[RecordBatch]) -> Vec<Map<String, Value>> {
    let mut buffer = Vec::new();
    {
        let mut writer = arrow_json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow_json::writer::LineDelimited>(&mut buffer);
        for batch in batches {
            let columns: Vec<ArrayRef> = batch.columns().iter().map(canonical).collect();
            let fields: Vec<Field> = batch
                .schema()
                .fields()
                .iter()
                .zip(&columns)
                .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
                .collect();
            let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
            writer.write(&batch).unwrap();
        }
        writer.finish().unwrap();
    }
    parse_ndjson(std::str::from_utf8(&buffer).unwrap())
}

/// The number of rows in batches.
pub(crate) fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// A table of `rows` rows (`id` long 0.., `name` string `name-<id>`) in one Parquet file
/// with small row groups, in a temporary directory.
pub(crate) fn many_rows_table(rows: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let name = "part-00000-many-rows.parquet";
    let file = std::fs::File::create(dir.path().join(name)).unwrap();
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(10_000))
        .build();
    let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties)).unwrap();
    for start in (0..rows).step_by(10_000) {
        let end = (start + 10_000).min(rows);
        let ids: Int64Array = (start as i64..end as i64).map(Some).collect();
        let names: StringArray = (start..end).map(|i| Some(format!("name-{i}"))).collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(ids), Arc::new(names)])
            .unwrap();
        writer.write(&batch).unwrap();
    }
    writer.close().unwrap();
    let size = std::fs::metadata(dir.path().join(name)).unwrap().len();
    let delta_schema = json!({"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": true, "metadata": {}},
        {"name": "name", "type": "string", "nullable": true, "metadata": {}},
    ]});
    write_commit(
        dir.path(),
        0,
        &[
            json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}),
            json!({"metaData": {
                "id": "0e3f6a52-3f2b-4d8a-9a7e-3c1d2b4a5e60",
                "format": {"provider": "parquet", "options": {}},
                "schemaString": delta_schema.to_string(),
                "partitionColumns": [],
                "configuration": {},
                "createdTime": 1_700_000_000_000_i64,
            }}),
            json!({"add": {
                "path": name,
                "partitionValues": {},
                "size": size,
                "modificationTime": 1_700_000_000_000_i64,
                "dataChange": true,
                "stats": json!({"numRecords": rows}).to_string(),
            }}),
        ],
    );
    dir
}
